"""The console in a real browser (Debian's Chromium driven by Playwright), against a live
server on SQLite and PostgreSQL: the round from the office's dashboard to the item closed.

Each test saves screenshots of the pages a person sees under test-artifacts/."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from consolehelpers import shot, ticket_for
from serverhelpers import Live

from zhenggai.engine.definition.builtin import builtin

SHIPPED = builtin("rectification").version  # the version a fresh database deploys


@pytest.fixture
def person(chromium, ledger: Live) -> Iterator:
    """Open the console as someone, the way the OA's link does: ``person(user, roles, scope)``."""
    contexts = []

    def open_as(user: str, roles: list[str], scope: list[str] | None = None):
        ctx = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
        contexts.append(ctx)
        page = ctx.new_page()
        violations: list[str] = []
        page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
        page.violations = violations
        page.goto(f"{ledger.base}/ui/login?ticket={ticket_for(ledger, user, roles, scope)}")
        return page

    yield open_as
    for ctx in contexts:
        ctx.close()


def kind(live: Live) -> str:
    return "sqlite" if live.engine.db.is_sqlite else "postgresql"


def fire(page, trigger: str, comment: str = "") -> None:
    step = page.locator(f'.step[data-trigger="{trigger}"]')
    if comment:
        step.locator('input[name="comment"]').fill(comment)
    step.locator(f'button[name="fire-{trigger}"]').click()
    page.wait_for_load_state()


def test_the_office_sees_the_red_count_and_the_item_is_carried_to_closed(person, ledger: Live) -> None:
    office = person("wang", ["inspection_office"], ["*"])
    office.wait_for_selector('body[data-charts="drawn"]')
    assert office.locator("#red-count").inner_text() == "1"
    assert office.locator("#chart-lights svg").count() == 1  # ECharts drew under the CSP
    shot(office, f"01-dashboard-{kind(ledger)}")
    office.click("text=问题清单")
    office.click("a:text-is('P1')")
    assert office.locator("#state").inner_text() == "已识别"
    assert "哈希链校验通过" in office.locator("#chain").inner_text()

    # the owner: plan is refused until a measure exists, and the page says why
    li = person("li", ["owner"], ["省局/财务处"])
    li.goto(f"{ledger.base}/ui/issues/P1")
    plan = li.locator('.step[data-trigger="plan"]')
    assert "尚未制定整改措施" in plan.inner_text()
    assert plan.locator("button").count() == 0
    li.click("text=添加措施")
    li.fill('#measure-form textarea[name="text"]', "规范公务接待审批，清退超标准费用")
    li.fill('#measure-form input[name="target"]', "超标准费用全部清退")
    li.click("#measure-form button")
    fire(li, "plan")
    assert li.locator("#state").inner_text() == "已制定措施"
    start = li.locator('.step[data-trigger="start"]')
    assert "分管领导" in start.inner_text()  # needs the unit lead's sign-off first
    shot(li, f"02-dossier-refusal-{kind(ledger)}")

    # the unit lead signs off
    zhao = person("zhao", ["unit_lead"], ["省局"])
    zhao.goto(f"{ledger.base}/ui/issues/P1")
    zhao.fill('#signoff-form input[name="comment"]', "同意整改方案")
    zhao.click("#signoff-form button")
    assert "unit_lead · zhao" in zhao.locator("#signoffs").inner_text()

    # the owner starts, completes the measure, uploads the evidence and submits
    li.reload()
    fire(li, "start")
    li.click('button[name="done-1"]')
    li.set_input_files(
        '#evidence-form input[name="file"]',
        files=[{"name": "清退凭证.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4 refund voucher"}],
    )
    li.fill('#evidence-form input[name="note"]', "清退凭证")
    li.click("#evidence-form button")
    assert "清退凭证" in li.locator("#evidence").inner_text()
    with li.expect_download() as dl:
        li.click("#evidence a")
    assert dl.value.path().read_bytes() == b"%PDF-1.4 refund voucher"
    fire(li, "submit_self_check", "已全部清退")
    assert li.locator("#state").inner_text() == "已自查"

    # the reviewer finds it in the to-do and reviews it
    he = person("he", ["reviewer"], ["*"])
    he.goto(f"{ledger.base}/ui/todo")
    shot(he, f"03-todo-{kind(ledger)}")
    he.click("#todo a:text-is('P1')")
    fire(he, "review", "材料齐全")
    assert he.locator("#state").inner_text() == "已评审"

    # the office signs off and closes it (the concentrated period is over)
    office.goto(f"{ledger.base}/ui/issues/P1")
    office.select_option('#signoff-form select[name="role"]', "inspection_office")
    office.click("#signoff-form button")
    fire(office, "close", "同意销号")
    assert office.locator("#state").inner_text() == "已销号"
    timeline = office.locator(".timeline").inner_text()
    assert "close" in timeline and "review" in timeline
    assert "哈希链校验通过" in office.locator("#chain").inner_text()
    shot(office, f"04-dossier-closed-{kind(ledger)}")
    for p in (office, li, zhao, he):
        assert p.violations == []


def test_an_edit_made_from_a_stale_page_is_refused_on_the_page_and_loses_nothing(person, ledger: Live) -> None:
    li = person("li", ["owner"], ["省局/财务处"])
    li.goto(f"{ledger.base}/ui/issues/P1")
    other = li.context.new_page()
    other.goto(f"{ledger.base}/ui/issues/P1")
    for page, text in ((li, "第一条措施"), (other, "第二条措施")):
        page.click("text=添加措施")
        page.fill('#measure-form textarea[name="text"]', text)
        page.fill('#measure-form input[name="target"]', "100%")
        page.click("#measure-form button")
    refusal = other.locator(".refusal")
    assert refusal.count() == 1
    shot(other, f"05-stale-refused-{kind(ledger)}")
    measures = other.locator("#measures").inner_text()
    assert "第一条措施" in measures and "第二条措施" not in measures
    # what was typed is still in the form, ready to be sent again against the version now shown
    assert other.locator('#measure-form textarea[name="text"]').input_value() == "第二条措施"
    other.click("#measure-form button")
    assert "第二条措施" in other.locator("#measures").inner_text()


def test_a_unit_user_opening_another_units_issue_sees_a_refusal_and_none_of_it(person, ledger: Live) -> None:
    sun = person("sun", ["owner"], ["省局/稽查局"])
    sun.goto(f"{ledger.base}/ui/issues/P1")
    assert sun.locator(".refusal").count() == 1
    assert "问题P1" not in sun.content()
    sun.goto(f"{ledger.base}/ui/issues")
    assert sun.locator("#issues a:text-is('P2')").count() == 1
    assert sun.locator("#issues a:text-is('P1')").count() == 0
    shot(sun, f"06-other-unit-{kind(ledger)}")


def test_the_workflow_is_drawn_and_a_yaml_with_errors_shows_each_with_its_line(person, ledger: Live) -> None:
    admin = person("root", ["admin"], ["*"])
    admin.goto(f"{ledger.base}/ui/workflows/rectification/{SHIPPED}")
    admin.wait_for_selector('body[data-diagram="drawn"]')
    assert admin.locator("#diagram svg").count() == 1
    assert "挂牌督办" in admin.inner_text("main")
    shot(admin, f"07-workflow-{kind(ledger)}")
    admin.goto(f"{ledger.base}/ui/workflows")
    admin.fill("#check-form textarea", "name: broken\nversion: 1\nstates:\n  a: {zh: 甲, en: A}\ninitial: b\n")
    admin.click("#check-form button")
    errors = admin.locator("#check-errors").inner_text()
    assert "行" in errors
    shot(admin, f"08-workflow-check-{kind(ledger)}")
    assert admin.violations == []


def test_the_console_reads_in_english_and_on_a_phone(person, ledger: Live) -> None:
    office = person("wang", ["inspection_office"], ["*"])
    office.click("text=English")
    assert "Dashboard" in office.inner_text("h1")
    office.set_viewport_size({"width": 390, "height": 844})
    office.goto(f"{ledger.base}/ui/issues")
    shot(office, f"09-phone-en-{kind(ledger)}")
    assert office.evaluate("document.documentElement.scrollWidth") <= 420


def test_filtering_the_list_updates_it_in_place_and_the_address_keeps_the_filter(person, ledger: Live) -> None:
    office = person("wang", ["inspection_office"], ["*"])
    office.goto(f"{ledger.base}/ui/issues")
    office.evaluate("window.stillHere = true")
    office.select_option('#filters select[name="light"]', "red")
    office.click("#filters button")
    office.wait_for_url("**light=red**")
    assert office.locator("#issues a:text-is('P1')").count() == 0
    assert office.locator("#issues a:text-is('P3')").count() == 1
    assert office.evaluate("window.stillHere") is True  # htmx swapped the table, no page load
    assert "light=red" in office.get_attribute("#export", "href")
    shot(office, f"10-list-filtered-{kind(ledger)}")
    office.select_option('#filters select[name="light"]', "")
    office.fill('#filters input[name="round"]', "R1")
    office.goto(f"{ledger.base}/ui/issues?limit=1")
    office.evaluate("window.stillHere = true")
    office.click("#next")
    office.wait_for_url("**after=**")
    assert office.locator("#issues a:text-is('P2')").count() == 1
    assert office.evaluate("window.stillHere") is True  # the next page came in place too
    office.click("#issues a:text-is('P2')")
    office.wait_for_url("**/ui/issues/P2")
    assert office.locator("#state").inner_text() == "已识别"


def test_the_dashboard_and_the_dossier_print_on_a4_without_the_navigation(person, ledger: Live, tmp_path) -> None:
    import shutil
    import subprocess

    office = person("wang", ["inspection_office"], ["*"])
    office.wait_for_selector('body[data-charts="drawn"]')
    texts = []
    for name, url in (("dashboard", "/ui/?round=R1"), ("dossier", "/ui/issues/P3")):
        office.goto(f"{ledger.base}{url}")
        if name == "dashboard":
            office.wait_for_selector('body[data-charts="drawn"]')
        pdf = tmp_path / f"{name}.pdf"
        office.emulate_media(media="print")
        office.pdf(path=str(pdf), format="A4", print_background=True)
        office.emulate_media(media="screen")
        assert pdf.read_bytes().startswith(b"%PDF")
        if shutil.which("pdftotext"):
            texts.append(subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout)
    if texts:
        dashboard, dossier = texts
        assert "督办看板" in dashboard and "单位排名" in dashboard
        assert "问题P3" in dossier and "哈希链校验通过" in dossier
        for printed in texts:
            assert "退出" not in printed and "我的待办" not in printed  # no navigation, no forms' buttons


def test_an_owner_asks_for_a_later_deadline_and_the_office_approves_it_on_the_dossier(person, ledger: Live) -> None:
    li = person("li", ["owner"], ["省局/财务处"])
    li.goto(f"{ledger.base}/ui/issues/P3")
    li.click("text=申请延期")
    li.fill('#extension-form input[name="due_date"]', "2026-05-01")  # earlier than the deadline it has
    li.fill('#extension-form textarea[name="reason"]', "资金需上级审批，预计次年一季度到位")
    li.click("#extension-form button")
    assert li.locator(".refusal").count() == 1  # refused on the page, with the engine's reason
    assert li.locator('#extension-form textarea[name="reason"]').input_value().startswith("资金需上级审批")
    li.fill('#extension-form input[name="due_date"]', "2027-03-31")
    li.click("#extension-form button")
    row = li.locator("#deadline-changes tbody tr").first
    assert "2026-05-29 → 2027-03-31" in row.inner_text() and "待审批" in row.inner_text()
    shot(li, f"08-deadline-asked-{kind(ledger)}")
    li.click('#decision-form button[value="approve"]')  # the owner may not decide their own request
    assert li.locator(".refusal").count() == 1 and "decide_extension" in li.locator(".refusal").inner_text()

    office = person("wang", ["inspection_office"], ["*"])
    office.goto(f"{ledger.base}/ui/issues/P3")
    office.fill('#decision-form input[name="comment"]', "同意延期")
    office.click('#decision-form button[value="approve"]')
    assert "已批准" in office.locator("#deadline-changes tbody tr").first.inner_text()
    facts = office.locator("dl.facts").inner_text()
    assert "2027-03-31" in facts
    shot(office, f"09-deadline-approved-{kind(ledger)}")
    issue = ledger.engine.issue("P3", _office())
    assert (str(issue.due_date), issue.extensions) == ("2027-03-31", 1)


def _office():
    from zhenggai import Actor

    return Actor("wang", frozenset({"inspection_office"}))
