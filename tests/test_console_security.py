"""The console's security over HTTP: tickets, sessions, CSRF, scope, uploads, headers."""

from __future__ import annotations

import json
import time

import pytest
import requests
from consolehelpers import csrf_of, signed_in, ticket_for, version_of
from serverhelpers import Live

from zhenggai.engine.definition.builtin import builtin

LI = ("li", ["owner"], ["省局/财务处"])

SHIPPED = builtin("rectification").version  # the version a fresh database deploys
NEXT = SHIPPED + 1


def _xlsx_codes(content: bytes) -> list[str]:
    import io

    import openpyxl

    ws = openpyxl.load_workbook(io.BytesIO(content), read_only=True).active
    return [row[0] for row in ws.iter_rows(min_row=2, values_only=True)]


def test_a_ticket_signs_in_once_and_the_session_cookie_is_httponly_and_samesite(ledger: Live) -> None:
    t = ticket_for(ledger, *LI)
    s = requests.Session()
    r = s.get(f"{ledger.base}/ui/login", params={"ticket": t}, allow_redirects=False)
    assert r.status_code == 303
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/ui" in cookie
    assert "P1" in s.get(f"{ledger.base}/ui/issues").text
    again = requests.get(f"{ledger.base}/ui/login", params={"ticket": t}, allow_redirects=False)
    assert again.status_code == 401
    assert "已被使用过" in again.text


def test_an_expired_a_forged_and_a_too_long_lived_ticket_are_refused(ledger: Live) -> None:
    expired = ticket_for(ledger, *LI, lifetime=-1)
    forged = ticket_for(ledger, *LI)[:-4] + "0000"
    long = ticket_for(ledger, *LI, lifetime=600)
    for t, words in ((expired, "已过期"), (forged, "签名不正确"), (long, "超过 2 分钟"), ("v1.garbage", "格式")):
        r = requests.get(f"{ledger.base}/ui/login", params={"ticket": t}, allow_redirects=False)
        assert r.status_code == 401, t
        assert words in r.text
        assert "zhenggai_session" not in r.headers.get("set-cookie", "")


def test_a_ticket_cannot_name_more_than_the_clients_grant(ledger: Live) -> None:
    from zhenggai.api.clients import Clients
    from zhenggai.web.tickets import make_ticket

    _, secret = Clients(ledger.engine).add("oa-unit", roles=["owner"], scopes=["省局/财务处"], by="root")
    wider = make_ticket(secret, "oa-unit", user="li", roles=["owner"], scope=["省局"])
    r = requests.get(f"{ledger.base}/ui/login", params={"ticket": wider}, allow_redirects=False)
    assert r.status_code == 403
    office = make_ticket(secret, "oa-unit", user="li", roles=["inspection_office"], scope=["省局/财务处"])
    assert requests.get(f"{ledger.base}/ui/login", params={"ticket": office}, allow_redirects=False).status_code == 403


def test_revoking_the_client_ends_its_sessions(ledger: Live) -> None:
    from zhenggai.api.clients import Clients

    s = signed_in(ledger, *LI)
    assert s.get(f"{ledger.base}/ui/issues").status_code == 200
    Clients(ledger.engine).revoke("oa")
    r = s.get(f"{ledger.base}/ui/issues")
    assert r.status_code == 401
    assert "重新进入" in r.text


def test_signing_out_ends_the_session(ledger: Live) -> None:
    s = signed_in(ledger, *LI)
    token = csrf_of(s.get(f"{ledger.base}/ui/").text)
    assert s.post(f"{ledger.base}/ui/logout", data={"csrf": token}).status_code == 200
    assert s.get(f"{ledger.base}/ui/issues").status_code == 401


def test_a_form_posted_without_its_csrf_token_is_refused_and_changes_nothing(ledger: Live) -> None:
    s = signed_in(ledger, *LI)
    page = s.get(f"{ledger.base}/ui/issues/P1").text
    for data in ({"text": "措施", "target": "100%"}, {"text": "措施", "target": "100%", "csrf": "forged-token"}):
        r = s.post(f"{ledger.base}/ui/issues/P1/measures", data=data, allow_redirects=False)
        assert r.status_code == 403
        assert "CSRF" in r.text
    assert "尚无措施" in s.get(f"{ledger.base}/ui/issues/P1").text
    r = s.post(
        f"{ledger.base}/ui/issues/P1/measures",
        data={"text": "措施", "target": "100%", "csrf": csrf_of(page), "version": version_of(page)},
        allow_redirects=False,
    )
    assert r.status_code == 303


def test_a_unit_user_never_reaches_another_units_issue(ledger: Live) -> None:
    sun = signed_in(ledger, "sun", ["owner"], ["省局/稽查局"])
    li = signed_in(ledger, *LI)
    page = li.get(f"{ledger.base}/ui/issues/P1").text
    r = li.post(
        f"{ledger.base}/ui/issues/P1/evidence",
        data={"csrf": csrf_of(page), "version": version_of(page), "note": "凭证"},
        files={"file": ("voucher.pdf", b"%PDF-1.4 evidence of P1", "application/pdf")},
        allow_redirects=False,
    )
    assert r.status_code == 303, r.text
    sha = __import__("hashlib").sha256(b"%PDF-1.4 evidence of P1").hexdigest()
    assert li.get(f"{ledger.base}/ui/issues/P1/files/{sha}").status_code == 200
    # by URL, list, export, chart, download
    by_url = sun.get(f"{ledger.base}/ui/issues/P1")
    assert by_url.status_code in (403, 404) and "问题P1" not in by_url.text
    # an issue shows in a list as its link (a page's random tokens may spell anything)
    assert "/ui/issues/P1" not in sun.get(f"{ledger.base}/ui/issues").text
    assert "/ui/issues/P1" not in sun.get(f"{ledger.base}/ui/issues?unit=省局/财务处").text
    assert "P1" not in sun.get(f"{ledger.base}/ui/issues/export.csv").text
    assert "P2" in sun.get(f"{ledger.base}/ui/issues/export.csv").text
    assert _xlsx_codes(sun.get(f"{ledger.base}/ui/issues/export.xlsx").content) == ["P2"]
    assert _xlsx_codes(li.get(f"{ledger.base}/ui/issues/export.xlsx").content) == ["P1", "P3"]
    dash = sun.get(f"{ledger.base}/ui/?round=R1").text
    assert "财务处" not in dash and 'id="total">1<' in dash
    download = sun.get(f"{ledger.base}/ui/issues/P1/files/{sha}")
    assert download.status_code in (403, 404) and download.content != b"%PDF-1.4 evidence of P1"
    token = csrf_of(sun.get(f"{ledger.base}/ui/").text)
    r = sun.post(f"{ledger.base}/ui/issues/P1/measures", data={"text": "x", "csrf": token}, allow_redirects=False)
    assert r.status_code in (403, 404)
    assert (
        ledger.engine.issue("P1", __import__("zhenggai").Actor("wang", frozenset({"inspection_office"}))).measures == []
    )


def test_uploaded_html_or_svg_is_refused_and_a_kept_file_is_only_ever_a_download(ledger: Live) -> None:
    li = signed_in(ledger, *LI)
    page = li.get(f"{ledger.base}/ui/issues/P1").text
    form = {"csrf": csrf_of(page), "version": version_of(page)}
    for name, body in (("x.html", b"<script>alert(1)</script>"), ("x.svg", b"<svg onload='alert(1)'/>")):
        r = li.post(f"{ledger.base}/ui/issues/P1/evidence", data=form, files={"file": (name, body, "text/html")})
        assert r.status_code == 422
        assert "不接受该类型" in r.text
    # content that is HTML under an allowed name is still only served as a download
    body = b"<html><script>alert(1)</script></html>"
    r = li.post(
        f"{ledger.base}/ui/issues/P1/evidence",
        data=form,
        files={"file": ("x.txt", body, "text/html")},
        allow_redirects=False,
    )
    assert r.status_code == 303
    sha = __import__("hashlib").sha256(body).hexdigest()
    got = li.get(f"{ledger.base}/ui/issues/P1/files/{sha}")
    assert got.content == body
    assert got.headers["content-type"] == "application/octet-stream"
    assert got.headers["content-disposition"].startswith("attachment")
    assert got.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in got.headers["content-security-policy"]


def test_an_upload_over_the_size_limit_is_refused(ledger: Live) -> None:
    li = signed_in(ledger, *LI)
    page = li.get(f"{ledger.base}/ui/issues/P1").text
    big = b"0" * (ledger.engine and 21 << 20)
    r = li.post(
        f"{ledger.base}/ui/issues/P1/evidence",
        data={"csrf": csrf_of(page)},
        files={"file": ("big.pdf", big, "application/pdf")},
    )
    assert r.status_code == 413


def test_every_page_carries_a_csp_without_inline_script_and_the_configured_frame_ancestors(ledger: Live) -> None:
    s = signed_in(ledger, "wang", ["inspection_office", "admin"], ["*"])
    for path in ("/ui/", "/ui/issues", "/ui/issues/P1", "/ui/todo", "/ui/workflows", f"/ui/workflows/rectification/{SHIPPED}"):
        r = s.get(f"{ledger.base}{path}")
        assert r.status_code == 200, (path, r.text[:500])
        csp = r.headers["content-security-policy"]
        script = next(p for p in csp.split(";") if p.strip().startswith("script-src"))
        assert script.strip() == "script-src 'self'"
        assert "frame-ancestors 'self'" in csp
        assert "<script>" not in r.text and "onclick" not in r.text
        assert "http://" not in r.text.replace(ledger.base, "") and "https://" not in r.text


def test_frame_ancestors_name_the_oa_origin_configured(monkeypatch) -> None:
    from zhenggai.web.settings import UiSettings

    monkeypatch.setenv("ZHENGGAI_UI_FRAME_ANCESTORS", "'self' https://oa.example.gov.cn")
    assert "frame-ancestors 'self' https://oa.example.gov.cn" in UiSettings.from_env().csp()
    monkeypatch.setenv("ZHENGGAI_UI_FRAME_ANCESTORS", "javascript:alert(1)")
    import pytest

    from zhenggai.engine.errors import InvalidInput

    with pytest.raises(InvalidInput, match="FRAME_ANCESTORS"):
        UiSettings.from_env()


def test_the_ticket_expires_by_the_clock_not_by_use(ledger: Live) -> None:
    t = ticket_for(ledger, *LI, lifetime=1)
    time.sleep(1.5)
    assert requests.get(f"{ledger.base}/ui/login", params={"ticket": t}, allow_redirects=False).status_code == 401


def test_the_export_is_exactly_what_is_filtered_every_page_of_it(ledger: Live) -> None:
    office = signed_in(ledger, "wang", ["inspection_office"], ["*"])
    listed = office.get(f"{ledger.base}/ui/issues?limit=1&unit=省局/财务处")
    assert '/ui/issues/P1"' in listed.text and '/ui/issues/P3"' not in listed.text and 'id="next"' in listed.text  # one a page
    csv_text = office.get(f"{ledger.base}/ui/issues/export.csv?unit=省局/财务处").text
    assert [line.split(",")[0] for line in csv_text.strip().splitlines()[1:]] == ["P1", "P3"]
    red = office.get(f"{ledger.base}/ui/issues/export.xlsx?light=red").content
    assert _xlsx_codes(red) == ["P3"]


def _readme_block(after: str, lang: str) -> str:
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    block = re.search(re.escape(after) + r"\n\n```" + lang + r"\n(.*?)```", readme, re.S)
    assert block, f"the README's {lang} ticket example"
    return block.group(1)


def test_the_readmes_ticket_examples_sign_in(ledger: Live) -> None:
    """The README's Python and shell ticket makers, run as written: the server signs them in."""
    import shutil
    import subprocess

    scope: dict = {}
    exec(_readme_block("In Python:", "python"), scope)
    link = scope["console_link"](ledger.base, "oa", ledger.secret, "wang", ["inspection_office"], ["省局"])
    s = requests.Session()
    assert s.get(link, allow_redirects=False).status_code == 303
    assert s.get(link, allow_redirects=False).status_code == 401  # once
    assert "督办看板" in s.get(f"{ledger.base}/ui/").text
    assert shutil.which("openssl"), "openssl is needed for the README's shell example"
    script = _readme_block("and in a shell, for the console:", "sh")
    script = script.replace("CLIENT=oa-tax SECRET=…", f"CLIENT=oa SECRET={ledger.secret}")
    script = script.replace("http://127.0.0.1:8000", ledger.base).replace("省税务局", "省局")
    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    s = requests.Session()
    assert s.get(done.stdout.strip(), allow_redirects=False).status_code == 303
    assert "wang" in s.get(f"{ledger.base}/ui/").text


def test_an_administrator_without_an_oa_prints_a_link_that_signs_in_once(ledger: Live, db_url: str) -> None:
    from click.testing import CliRunner

    from zhenggai.cli import main

    args = ["--db", db_url, "ui", "link", "--client", "oa", "--base", ledger.base, "--as", "root", "--role", "admin"]
    r = CliRunner().invoke(main, args, catch_exceptions=False)
    assert r.exit_code == 0, r.output
    link = r.output.strip()
    s = requests.Session()
    assert s.get(link, allow_redirects=False).status_code == 303
    assert "root" in s.get(f"{ledger.base}/ui/workflows").text
    missing = CliRunner().invoke(
        main, ["--db", db_url, "ui", "link", "--client", "nobody", "--as", "root", "--role", "admin"]
    )
    assert missing.exit_code == 2 and "zhenggai client add nobody" in missing.output


def test_an_administrator_sees_the_diff_and_a_migrations_dry_run_that_moves_nothing(ledger: Live) -> None:
    import re
    from pathlib import Path

    from zhenggai import Actor

    admin = Actor("root", frozenset({"admin"}))
    source = (Path(__file__).resolve().parent.parent / "workflows" / "rectification.yaml").read_text(encoding="utf-8")
    source = re.sub(r"(?m)^version: \d+", f"version: {NEXT}", source).replace("已识别", "已认定", 1)
    ledger.engine.deploy_workflow(source, actor=admin)
    s = signed_in(ledger, "root", ["admin"], ["*"])
    page = s.get(f"{ledger.base}/ui/workflows/rectification/diff?a={SHIPPED}&b={NEXT}").text
    assert "已认定" in page
    r = s.post(f"{ledger.base}/ui/workflows/rectification/dry-run", data={"a": SHIPPED, "b": NEXT, "csrf": csrf_of(page)})
    assert r.status_code == 200
    assert "将迁移 3 个问题" in r.text
    office = Actor("wang", frozenset({"inspection_office"}))
    assert ledger.engine.issue("P1", office).workflow_version == SHIPPED  # a dry run: nothing moved
    refused = s.post(
        f"{ledger.base}/ui/workflows/rectification/dry-run",
        data={"a": SHIPPED, "b": NEXT, "mapping": "identified=nowhere", "csrf": csrf_of(page)},
    )
    assert refused.status_code >= 400 and 'class="refusal"' in refused.text
    owner = signed_in(ledger, *LI)
    r = owner.post(
        f"{ledger.base}/ui/workflows/rectification/dry-run",
        data={"a": SHIPPED, "b": NEXT, "csrf": csrf_of(owner.get(f"{ledger.base}/ui/").text)},
    )
    assert r.status_code in (403, 409) and "admin" in r.text  # the engine's own refusal, on the page
    shown = s.get(f"{ledger.base}/ui/workflows/rectification/{SHIPPED}").text
    assert "four_eyes" in shown and "neither the issue" in shown  # each guard in words


def test_operations_show_the_last_sweeps_and_verify_the_audit_for_operators_only(ledger: Live) -> None:
    from zhenggai import Actor

    li = Actor("li", frozenset({"owner"}), ("省局/财务处",))
    ledger.engine.add_measure("P3", "清退", owner="li", due_date="2026-05-29", target="100%", actor=li)
    ledger.engine.fire("P3", "plan", actor=li)
    report = ledger.engine.sweep()
    assert report.fired, "the overdue P3 is escalated"
    ops = signed_in(ledger, "ops", ["system"], ["*"])
    page = ops.get(f"{ledger.base}/ui/ops")
    assert page.status_code == 200
    sweeps = page.text.split('id="sweeps"')[1].split("</table>")[0]
    assert "P3" in sweeps and "P1" not in sweeps
    verified = ops.post(f"{ledger.base}/ui/ops/verify", data={"csrf": csrf_of(page.text)})
    assert verified.status_code == 200 and 'id="audit" class="ok"' in verified.text
    assert ops.post(f"{ledger.base}/ui/ops/verify", data={}).status_code == 403  # no token
    unit = signed_in(ledger, "zhao", ["unit_lead"], ["省局"])
    assert unit.get(f"{ledger.base}/ui/ops").status_code == 403
    office = signed_in(ledger, "wang", ["admin"], ["省局"])  # an administrator of one body only
    assert office.get(f"{ledger.base}/ui/ops").status_code == 403


def test_the_dashboard_as_of_a_past_date_shows_that_days_numbers(ledger: Live) -> None:
    office = signed_in(ledger, "wang", ["inspection_office"], ["*"])
    today = office.get(f"{ledger.base}/ui/?round=R1").text
    assert 'id="total">3<' in today and 'id="red-count">1<' in today
    before = office.get(f"{ledger.base}/ui/?round=R1&as_of=2026-03-15").text  # before any problem was entered
    assert 'id="total">0<' in before and "2026-03-15" in before
    bad = office.get(f"{ledger.base}/ui/?round=R1&as_of=someday")
    assert bad.status_code == 422 and 'class="refusal"' in bad.text


@pytest.fixture
def framed(monkeypatch: pytest.MonkeyPatch) -> str:
    """The console configured for an OA's iframe over HTTPS (set before the server starts)."""
    monkeypatch.setenv("ZHENGGAI_UI_FRAME_ANCESTORS", "'self' https://oa.example.gov.cn")
    monkeypatch.setenv("ZHENGGAI_UI_SECURE_COOKIE", "1")
    return "https://oa.example.gov.cn"


def test_inside_the_oas_iframe_the_cookie_is_samesite_none_and_secure_and_the_oa_may_frame(
    framed: str, ledger: Live
) -> None:
    r = requests.get(f"{ledger.base}/ui/login", params={"ticket": ticket_for(ledger, *LI)}, allow_redirects=False)
    assert r.status_code == 303
    cookie = r.headers["set-cookie"]
    assert "SameSite=none" in cookie and "Secure" in cookie and "HttpOnly" in cookie
    assert f"frame-ancestors 'self' {framed}" in r.headers["content-security-policy"]


def test_the_list_sorted_by_deadline_pages_through_every_issue_once(ledger: Live) -> None:
    import re

    office = signed_in(ledger, "wang", ["inspection_office"], ["*"])
    seen, url = [], f"{ledger.base}/ui/issues?sort=due&limit=1"
    while url:
        html = office.get(url).text
        seen += re.findall(r'<td><a href="/ui/issues/(P\d)">', html)
        nxt = re.search(r'id="next" href="([^"]+)"', html)
        url = f"{ledger.base}{nxt.group(1).replace('&amp;', '&')}" if nxt else ""
    assert seen == ["P3", "P1", "P2"]  # the earliest deadline first, then as entered
    exported = office.get(f"{ledger.base}/ui/issues/export.csv?sort=due").text.strip().splitlines()[1:]
    assert [line.split(",")[0] for line in exported] == ["P3", "P1", "P2"]
    for bad in ("sort=due&after=7", "after=2026-01-01.3", "sort=sideways"):
        r = office.get(f"{ledger.base}/ui/issues?{bad}")
        assert r.status_code == 422 and 'class="refusal"' in r.text, bad


def test_a_kept_file_is_reached_only_through_the_evidence_that_recorded_it(ledger: Live) -> None:
    """Another unit cannot reach a file kept for P1 by naming its address in P2's evidence."""
    import hashlib

    from serverhelpers import as_

    li = signed_in(ledger, *LI)
    page = li.get(f"{ledger.base}/ui/issues/P1").text
    body = b"%PDF-1.4 P1's own file"
    form = {"csrf": csrf_of(page), "version": version_of(page)}
    r = li.post(f"{ledger.base}/ui/issues/P1/evidence", data=form, files={"file": ("v.pdf", body, "application/pdf")},
                allow_redirects=False)  # fmt: skip
    assert r.status_code == 303
    sha = hashlib.sha256(body).hexdigest()
    sun = as_(ledger, "sun", ["owner"], ["省局/稽查局"])
    for recorded in ("0" * 64, sha):
        r = sun.post("/issues/P2/evidence", {"uri": f"zhenggai://files/{sha}.pdf", "sha256": recorded})
        assert r.status_code == 422 and "console" in r.text  # only the console records kept files
    viewer = signed_in(ledger, "sun", ["owner"], ["省局/稽查局"])
    assert viewer.get(f"{ledger.base}/ui/issues/P2/files/{sha}").status_code == 404
    assert viewer.get(f"{ledger.base}/ui/issues/P1/files/{sha}").status_code in (403, 404)


def test_a_ticket_with_an_absurd_expiry_is_refused_not_a_crash(ledger: Live) -> None:
    import base64
    import json

    for exp in (1e400, 10**13):
        raw = base64.urlsafe_b64encode(json.dumps({"c": "oa", "a": "x", "exp": exp, "n": "abcdefgh"}).encode())
        r = requests.get(f"{ledger.base}/ui/login", params={"ticket": f"v1.{raw.decode().rstrip('=')}.{'0' * 64}"})
        assert r.status_code == 401, (exp, r.status_code)


def test_a_session_widened_behind_the_console_opens_nothing(ledger: Live) -> None:
    from sqlalchemy import text

    li = signed_in(ledger, *LI)
    assert li.get(f"{ledger.base}/ui/issues/P1").status_code == 200
    widened = json.dumps({"id": "li", "roles": ["owner", "admin", "nobody_granted"], "scope": ["*"]})
    with ledger.engine.db.engine.begin() as conn:
        conn.execute(text("UPDATE ui_sessions SET actor = :a"), {"a": widened})
    assert li.get(f"{ledger.base}/ui/issues/P2", allow_redirects=False).status_code in (303, 401)


def test_only_the_upload_route_takes_a_large_body(ledger: Live) -> None:
    big = b"0" * (2 << 20)  # over the API's 1 MB, under the upload allowance
    r = requests.post(f"{ledger.base}/ui/anything", data=big, headers={"Content-Type": "application/octet-stream"})
    assert r.status_code == 413
