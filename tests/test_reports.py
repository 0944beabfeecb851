"""After the concentrated period the committee and its Party secretary send their reports:
a unit gets charts and a first draft of both, and a public version it may disclose."""

from __future__ import annotations

import subprocess
import warnings
from pathlib import Path

import pytest
from storyhelpers import add, reviewed
from system import need

from zhenggai import Engine
from zhenggai.engine.errors import InvalidInput, Unavailable

docx = pytest.importorskip("docx", reason="the report extra is not installed: pip install -e '.[dev]'")


@pytest.fixture
def needs_font() -> None:
    need(cjk_font=True)


@pytest.fixture
def progressed(engine: Engine, cast, round_, clock) -> str:
    """A round a month in: one problem closed with its mechanism, an audit finding under way,
    a confidential case, and one not yet planned."""
    clock.set("2026-03-11")
    reviewed(engine, cast, "P1", "immediate")
    engine.sign_off("P1", "inspection_office", actor=cast.office)
    engine.add_mechanism(
        "P1", "奖金补贴发放内控办法", reference="财发〔2026〕3号", adopted_on="2026-03-25", actor=cast.owner
    )
    clock.set("2026-03-26")
    engine.fire("P1", "close", actor=cast.office)
    engine.add_issue(
        round_, "P2", title="专项资金审计发现挪用问题", category="phased", unit="省局/财务处", owner="li",
        lead="zhao", due_date="2026-05-31", source="audit", description="需与纪检沟通核实", actor=cast.office,
    )  # fmt: skip
    engine.add_issue(
        round_, "P3", title="某某案件线索处置", category="phased", unit="省局/稽查局", owner="sun", lead="zhao",
        due_date="2026-05-31", confidential=True, actor=cast.office,
    )  # fmt: skip
    add(engine, cast, "P4", "phased", due="2026-05-31", unit="省局/稽查局", owner="sun")
    clock.set("2026-04-10")
    return round_


def text_of(path: Path) -> str:
    d = docx.Document(str(path))
    cells = [c.text for t in d.tables for row in t.rows for c in row.cells]
    return "\n".join([p.text for p in d.paragraphs] + cells)


@pytest.mark.usefixtures("needs_font")
def test_the_charts_show_chinese_without_a_missing_glyph(engine: Engine, cast, progressed, tmp_path):
    from matplotlib.image import imread

    from zhenggai.reporting.charts import draw_all
    from zhenggai.reporting.draft import chart_data

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib warns "Glyph ... missing from font" for each empty box
        paths = draw_all(chart_data(engine, progressed, actor=cast.office), tmp_path)
    assert sorted(paths) == ["burn_down", "lights_by_unit", "progress_by_unit"]
    for p in paths.values():
        img = imread(p)
        assert img.shape[0] > 300 and img.shape[1] > 800  # a real picture, 150 dpi
        assert img.std() > 0.05  # not a blank canvas


def test_a_font_without_chinese_glyphs_is_refused_with_the_way_out(monkeypatch, tmp_path):
    import matplotlib

    from zhenggai.reporting import fonts

    latin = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
    monkeypatch.setenv("ZHENGGAI_CJK_FONT", str(latin))
    fonts.cjk_font.cache_clear()
    try:
        with pytest.raises(Unavailable) as exc:
            fonts.cjk_font()
        assert "not a font file with Chinese glyphs" in exc.value.text.en
    finally:
        fonts.cjk_font.cache_clear()


@pytest.mark.usefixtures("needs_font")
def test_the_committees_draft_in_word_has_every_problem_the_numbers_and_the_charts(
    engine: Engine, cast, progressed, tmp_path
):
    from zhenggai.reporting.draft import draft_report

    out = tmp_path / "整改报告.docx"
    info = draft_report(engine, progressed, out, actor=cast.office)
    assert (info.format, info.kind, info.problems, info.charts) == (
        "docx",
        "committee",
        4,
        ["burn_down", "lights_by_unit", "progress_by_unit"],
    )
    d = docx.Document(str(out))
    assert len(d.inline_shapes) == 3  # the charts are embedded
    first = next(p.text for p in d.paragraphs if p.text.strip())
    assert first.startswith("草稿：集中整改期至2026年6月10日，尚未结束")  # said on the first page
    body = text_of(out)
    assert "中共省局委员会关于省委巡视组反馈整改进展情况的报告" in body
    assert "反馈问题共 4 个，已完成整改并销号 1 个，整改完成率 25.0%" in body
    for title in ("问题P1", "专项资金审计发现挪用问题", "某某案件线索处置", "问题P4"):
        assert title in body
    assert "审计发现问题" in body and "巡视反馈问题" in body  # both sources, one report
    assert "奖金补贴发放内控办法（财发〔2026〕3号）" in body
    assert "{{" not in body and "{%" not in body


def test_the_secretary_writes_in_the_first_person_and_the_committee_does_not(
    engine: Engine, cast, progressed, tmp_path
):
    from zhenggai.reporting.draft import draft_report

    mine = tmp_path / "书记.md"
    ours = tmp_path / "党委.md"
    draft_report(engine, progressed, mine, actor=cast.office, kind="secretary", charts=False)
    draft_report(engine, progressed, ours, actor=cast.office, kind="committee", charts=False)
    secretary, committee = mine.read_text(encoding="utf-8"), ours.read_text(encoding="utf-8")
    assert "我作为党委书记、整改第一责任人" in secretary and "我主持召开党委会" in secretary
    assert "我" not in committee.replace("我们", "")  # the committee speaks as 党委
    assert "党委坚决扛起整改主体责任" in committee


def test_the_public_version_leaves_out_names_notes_and_exempt_problems_and_says_how_many(
    engine: Engine, cast, progressed, tmp_path
):
    from zhenggai.reporting.draft import draft_report

    out = tmp_path / "公开版.md"
    info = draft_report(engine, progressed, out, actor=cast.office, public=True, charts=False)
    text = out.read_text(encoding="utf-8")
    assert info.withheld == 1 and info.problems == 3
    assert "另有 1 个涉及不宜公开内容的问题未予列出" in text
    assert "某某案件线索处置" not in text  # the confidential case
    assert "需与纪检沟通" not in text  # internal notes
    for name in ("li", "zhao", "sun"):
        assert f"：{name}" not in text
    full = tmp_path / "内部版.md"
    draft_report(engine, progressed, full, actor=cast.office, charts=False)
    internal = full.read_text(encoding="utf-8")
    assert "某某案件线索处置" in internal and "责任人：li" in internal and "需与纪检沟通" in internal


def test_what_is_public_is_cut_from_the_data_so_an_offices_own_template_cannot_leak_it(
    engine: Engine, cast, progressed, tmp_path
):
    from zhenggai.reporting.draft import draft_report

    own = tmp_path / "ours.md.j2"
    own.write_text(
        "{% for s in sources %}{% for p in s.problems %}{{ p.title }}|{{ p.owner }}|{{ p.lead }}|{{ p.note }}\n"
        "{% endfor %}{% endfor %}",
        encoding="utf-8",
    )
    out = tmp_path / "x.md"
    draft_report(engine, progressed, out, actor=cast.office, public=True, template=own, charts=False)
    lines = out.read_text(encoding="utf-8").splitlines()
    assert "专项资金审计发现挪用问题|||" in lines and len(lines) == 3


def test_a_broken_template_is_named_with_its_line_and_nothing_is_written(engine: Engine, cast, progressed, tmp_path):
    from zhenggai.reporting.draft import draft_report

    bad = tmp_path / "bad.md.j2"
    bad.write_text("第一行\n{% for p in %}\n", encoding="utf-8")
    out = tmp_path / "x.md"
    with pytest.raises(InvalidInput) as exc:
        draft_report(engine, progressed, out, actor=cast.office, template=bad, charts=False)
    assert f"{bad}:2" in exc.value.text.en and not out.exists()
    with pytest.raises(InvalidInput):
        draft_report(engine, progressed, tmp_path / "x.pdf", actor=cast.office)


def test_a_unit_sees_only_its_own_problems_in_a_report(engine: Engine, cast, progressed, tmp_path):
    from zhenggai import Actor
    from zhenggai.reporting.draft import draft_report

    finance = Actor("qian", frozenset({"secretary"}), ("省局/财务处",))
    out = tmp_path / "财务处.md"
    info = draft_report(engine, progressed, out, actor=finance, charts=False)
    text = out.read_text(encoding="utf-8")
    assert info.problems == 2 and "问题P1" in text and "某某案件线索处置" not in text and "问题P4" not in text


@pytest.mark.usefixtures("needs_font")
def test_the_word_draft_and_the_excel_ledger_open_in_libreoffice(engine: Engine, cast, progressed, tmp_path):
    need("soffice", "pdftotext")
    from zhenggai.reporting.draft import draft_report

    report = tmp_path / "report.docx"
    draft_report(engine, progressed, report, actor=cast.office)
    ledger = tmp_path / "ledger.xlsx"
    engine.export_ledger(progressed, ledger, actor=cast.office)
    for src in (report, ledger):
        subprocess.run(
            ["soffice", "--headless", f"-env:UserInstallation=file://{tmp_path}/lo", "--convert-to", "pdf",
             "--outdir", str(tmp_path), str(src)],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
    text = subprocess.run(
        ["pdftotext", str(tmp_path / "report.pdf"), "-"], check=True, capture_output=True, text=True
    ).stdout
    text = "".join(text.split())  # lines wrap anywhere in Chinese
    assert "整改进展情况的报告" in text and "专项资金审计发现挪用问题" in text
    sheet = subprocess.run(
        ["pdftotext", str(tmp_path / "ledger.pdf"), "-"], check=True, capture_output=True, text=True
    ).stdout
    assert "序号" in sheet and "问题P4" in sheet
    assert (tmp_path / "report.pdf").stat().st_size > 20_000  # the charts are in it


def test_drafts_and_charts_from_the_command_line(db_url: str, tmp_path, monkeypatch):
    import json

    import matplotlib
    from click.testing import CliRunner

    from zhenggai.cli import main
    from zhenggai.reporting import fonts

    data = Path(__file__).parent / "data"
    runner = CliRunner()

    def cli(*args: str):
        return runner.invoke(main, ["--db", db_url, "--lang", "en", *args], catch_exceptions=False)

    cli("init")
    cli(
        "round",
        "open",
        "R3",
        "--title",
        "巡视反馈",
        "--org",
        "省税务局",
        "--feedback-date",
        "2026-03-10",
        "--as",
        "wang",
    )
    cli("issue", "import", str(data / "problems-gbk.csv"), "--round", "R3", "--as", "wang")
    out = tmp_path / "r.md"
    r = cli("--json", "report", "draft", "--round", "R3", "-o", str(out), "--kind", "secretary", "--no-charts")
    assert r.exit_code == 0, r.output
    assert json.loads(r.output) | {"output": None} == {
        "output": None,
        "kind": "secretary",
        "format": "md",
        "public": False,
        "problems": 4,
        "withheld": 0,
        "charts": [],
        "period_over": True,
    }
    assert "我作为党委书记" in out.read_text(encoding="utf-8")
    r = cli("report", "draft", "--round", "R9", "-o", str(tmp_path / "x.md"))
    assert r.exit_code == 4 and "no round R9" in r.output
    # no Chinese font: refused with the way out, and no file
    monkeypatch.setenv("ZHENGGAI_CJK_FONT", str(Path(matplotlib.get_data_path()) / "fonts/ttf/DejaVuSans.ttf"))
    fonts.cjk_font.cache_clear()
    try:
        r = cli("report", "draft", "--round", "R3", "-o", str(tmp_path / "y.docx"))
        assert r.exit_code == 10 and "Chinese glyphs" in r.output
        assert not (tmp_path / "y.docx").exists()
        r = cli("report", "charts", "--round", "R3", "-o", str(tmp_path / "charts"))
        assert r.exit_code == 10 and "Chinese glyphs" in r.output
    finally:
        fonts.cjk_font.cache_clear()


def test_the_public_numbers_and_charts_leave_out_the_exempt_problem(engine: Engine, cast, progressed):
    from zhenggai.reporting.draft import build_context, chart_data

    ctx = build_context(engine, progressed, actor=cast.office, kind="committee", public=True)
    assert ctx["totals"]["total"] == 3 and ctx["withheld"] == 1
    assert {u["unit"]: u["total"] for u in ctx["units"]} == {"省局/财务处": 2, "省局/稽查局": 1}
    assert sum(s["total"] for s in ctx["sources"]) == 3
    data = chart_data(engine, progressed, actor=cast.office, public=True)
    assert data.units["省局/稽查局"]["total"] == 1 and sum(w["open"] for w in data.burn_down[-1:]) == 2
    internal = build_context(engine, progressed, actor=cast.office, kind="committee", public=False)
    assert internal["totals"]["total"] == 4 and {u["unit"]: u["total"] for u in internal["units"]}["省局/稽查局"] == 2
