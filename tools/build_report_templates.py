"""Build the shipped Word templates (reporting/templates/*.docx) with python-docx.

    python tools/build_report_templates.py

The .docx files are what an office opens in Word and restyles (fonts, letterhead, margins);
this script is how the shipped ones were made, so a change to their wording stays reviewable
as text.  Each paragraph is written as one run, so docxtpl sees every Jinja2 tag whole.
Fonts follow the usual layout of official documents (GB/T 9704): 方正小标宋 for the title,
黑体 and 楷体 for headings, 仿宋 for the body; where a machine lacks them, Word or LibreOffice
falls back to another Chinese font.
"""

from __future__ import annotations

from pathlib import Path

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Mm, Pt

OUT = Path(__file__).resolve().parent.parent / "reporting" / "templates"

# (kind, text): "title", "h1", "h2", "p" (body), "b" (bold body), "item" (indented),
# "tag" (a docxtpl paragraph tag: removed from the output), "right" (signature lines),
# "table" (headers, row cells, loop expression).
COMMON_HEAD = [
    ("tag", "{%p if draft_notice %}"),
    ("b", "{{ draft_notice }}"),
    ("tag", "{%p endif %}"),
    ("tag", "{%p if public %}"),
    (
        "b",
        "公开版：本版不含人员姓名、内部意见{% if withheld %}，另有 {{ withheld }} 个涉及不宜公开内容的问题未予列出{% endif %}。",
    ),
    ("tag", "{%p endif %}"),
]
CHART = [
    ("tag", "{%p if charts.progress_by_unit %}"),
    ("p", "{{ charts.progress_by_unit }}"),
    ("tag", "{%p endif %}"),
    ("tag", "{%p if charts.burn_down %}"),
    ("p", "{{ charts.burn_down }}"),
    ("tag", "{%p endif %}"),
    ("tag", "{%p if charts.lights_by_unit %}"),
    ("p", "{{ charts.lights_by_unit }}"),
    ("tag", "{%p endif %}"),
]
SOURCES_TABLE = (
    "table",
    (
        ["问题来源", "问题数", "已销号", "完成率"],
        ["{{ s.label }}", "{{ s.total }}", "{{ s.closed }}", "{{ s.rate }}"],
        "s in sources",
    ),
)
REMAINING_TABLE = (
    "table",
    (
        ["序号", "问题", "整改时限", "状态"],
        ["{{ p.number }}", "{{ p.title }}", "{{ p.due_date }}", "{{ p.state_label }}"],
        "p in remaining",
    ),
)
MECHANISMS = [
    ("tag", "{%p for m in mechanisms %}"),
    (
        "item",
        "{{ loop.index }}. {{ m.title }}{% if m.reference %}（{{ m.reference }}）{% endif %}{% if m.adopted_on %}，{{ m.adopted_on }}印发{% endif %}",
    ),
    ("tag", "{%p endfor %}"),
    ("tag", "{%p if not mechanisms %}"),
    ("p", "（尚未录入长效机制。）"),
    ("tag", "{%p endif %}"),
]

COMMITTEE = [
    *COMMON_HEAD,
    ("title", "中共{{ round.org }}委员会关于{{ round.title }}整改进展情况的报告"),
    (
        "p",
        "根据统一部署，{{ round.feedback_date }}向{{ round.org }}党委反馈了{{ round.title }}。党委坚决扛起整改主体责任，"
        "把抓好整改作为重大政治任务，对反馈指出的问题逐条建立台账、明确措施、压实责任。现将截至{{ as_of }}的整改进展情况报告如下。",
    ),
    ("h1", "一、整改工作总体情况"),
    (
        "p",
        "反馈问题共 {{ totals.total }} 个，已完成整改并销号 {{ totals.closed }} 个，整改完成率 {{ totals.rate }}；"
        "其中立行立改问题 {{ totals.immediate_total }} 个，完成率 {{ totals.immediate_rate }}。尚在推进的 {{ totals.open }} 个问题中，"
        "逾期 {{ totals.overdue }} 个，挂牌督办 {{ totals.supervised }} 个{% if totals.recurrences %}；销号后反弹重新整改 {{ totals.recurrences }} 次{% endif %}。"
        "集中整改期至{{ round.period_end }}（含当日）{% if period_over %}，已经结束{% else %}，尚未结束{% endif %}。",
    ),
    SOURCES_TABLE,
    *CHART,
    ("h1", "二、反馈问题整改情况"),
    ("tag", "{%p for s in sources %}"),
    ("h2", "（{{ loop.index }}）{{ s.label }}"),
    ("tag", "{%p for p in s.problems %}"),
    ("b", "{{ p.number }}. {{ p.title }}{% if p.category_label %}（{{ p.category_label }}）{% endif %}"),
    ("tag", "{%p if p.unit %}"),
    (
        "item",
        "责任单位：{{ p.unit }}{% if p.lead %}；责任领导：{{ p.lead }}{% endif %}{% if p.owner %}；责任人：{{ p.owner }}{% endif %}",
    ),
    ("tag", "{%p endif %}"),
    ("tag", "{%p if p.due_date %}"),
    ("item", "整改时限：{{ p.due_date }}"),
    ("tag", "{%p endif %}"),
    ("tag", "{%p if p.progress %}"),
    ("item", "整改进度：{{ p.progress }}"),
    ("tag", "{%p endif %}"),
    ("tag", "{%p for m in p.measures %}"),
    (
        "item",
        "措施{{ m.no }}：{{ m.text }}{% if m.target %}（目标：{{ m.target }}）{% endif %}——{{ '已完成' if m.done else '推进中' }}",
    ),
    ("tag", "{%p endfor %}"),
    ("tag", "{%p if p.state_label %}"),
    ("item", "整改状态：{{ p.state_label }}"),
    ("tag", "{%p endif %}"),
    ("tag", "{%p if p.note %}"),
    ("item", "备注：{{ p.note }}"),
    ("tag", "{%p endif %}"),
    ("tag", "{%p endfor %}"),
    ("tag", "{%p endfor %}"),
    ("h1", "三、尚需持续推进的问题"),
    ("tag", "{%p if remaining %}"),
    REMAINING_TABLE,
    ("tag", "{%p else %}"),
    ("p", "反馈问题均已整改销号。"),
    ("tag", "{%p endif %}"),
    ("h1", "四、建立健全的长效机制"),
    *MECHANISMS,
    ("h1", "五、下一步工作打算"),
    (
        "p",
        "对尚未完成的问题，党委将坚持目标不变、标准不降、力度不减，按照整改台账逐项推进，完成一个、销号一个；"
        "对已完成的问题适时组织“回头看”，巩固整改成果，防止问题反弹。",
    ),
    ("right", "中共{{ round.org }}委员会"),
    ("right", "{{ as_of }}"),
]

SECRETARY = [
    *COMMON_HEAD,
    ("title", "{{ round.org }}党委书记关于组织落实{{ round.title }}整改情况的报告"),
    (
        "p",
        "{{ round.feedback_date }}，{{ round.title }}向{{ round.org }}党委反馈后，我作为党委书记、整改第一责任人，"
        "把抓好整改作为必须完成的政治任务，亲自研究部署、亲自协调推进、亲自督查落实。现将我组织落实整改的情况报告如下。",
    ),
    ("h1", "一、我履行整改第一责任人职责的情况"),
    (
        "p",
        "我主持召开党委会研究整改工作，对反馈的 {{ totals.total }} 个问题逐条审定整改措施、责任领导和完成时限，"
        "对重点难点问题亲自领题、一抓到底。截至{{ as_of }}，已整改销号 {{ totals.closed }} 个，整改完成率 {{ totals.rate }}；"
        "立行立改问题 {{ totals.immediate_total }} 个，完成率 {{ totals.immediate_rate }}。对逾期的 {{ totals.overdue }} 个问题，"
        "我逐一过问原因；对挂牌督办的 {{ totals.supervised }} 个问题，我定期听取进展汇报。"
        "集中整改期至{{ round.period_end }}（含当日）{% if period_over %}，已经结束{% else %}，尚未结束{% endif %}。",
    ),
    SOURCES_TABLE,
    *CHART,
    ("h1", "二、我督促推进的重点问题"),
    ("tag", "{%p for s in sources %}"),
    ("tag", "{%p for p in s.problems %}"),
    (
        "b",
        "{{ p.number }}. {{ p.title }}{% if p.state_label %}：{{ p.state_label }}{% endif %}"
        "{% if p.progress %}（{{ p.progress }}）{% endif %}",
    ),
    ("tag", "{%p for m in p.measures %}"),
    (
        "item",
        "{{ m.text }}{% if m.target %}（目标：{{ m.target }}）{% endif %}——{{ '已完成' if m.done else '推进中' }}",
    ),
    ("tag", "{%p endfor %}"),
    ("tag", "{%p endfor %}"),
    ("tag", "{%p endfor %}"),
    ("h1", "三、尚未完成的问题和我的打算"),
    ("tag", "{%p if remaining %}"),
    REMAINING_TABLE,
    ("p", "对上述问题，我将继续盯住不放，定期调度，确保按期完成。"),
    ("tag", "{%p else %}"),
    ("p", "反馈问题均已整改销号，我将组织“回头看”，防止问题反弹。"),
    ("tag", "{%p endif %}"),
    ("h1", "四、建立长效机制的情况"),
    *MECHANISMS,
    ("right", "{{ round.org }}党委书记（签名）："),
    ("right", "{{ as_of }}"),
]

FONTS = {"title": ("方正小标宋简体", 22), "h1": ("黑体", 16), "h2": ("楷体", 16)}
BODY = ("仿宋", 16)


def _font(run, family: str, size: int, bold: bool = False) -> None:  # type: ignore[no-untyped-def]
    run.font.name = family
    run.font.size = Pt(size)
    run.font.bold = bold
    run._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), family)


def build(spec: list, path: Path) -> None:  # type: ignore[type-arg]
    doc = Document()
    sec = doc.sections[0]
    sec.page_height, sec.page_width = Mm(297), Mm(210)
    sec.top_margin, sec.bottom_margin, sec.left_margin, sec.right_margin = Mm(37), Mm(35), Mm(28), Mm(26)
    for kind, content in spec:
        if kind == "table":
            headers, cells, loop = content
            table = doc.add_table(rows=4, cols=len(headers))
            table.style = "Table Grid"
            for i, h in enumerate(headers):
                _font(table.cell(0, i).paragraphs[0].add_run(h), "黑体", 12)
            table.cell(1, 0).paragraphs[0].add_run(f"{{%tr for {loop} %}}")
            for i, c in enumerate(cells):
                _font(table.cell(2, i).paragraphs[0].add_run(c), BODY[0], 12)
            table.cell(3, 0).paragraphs[0].add_run("{%tr endfor %}")
            continue
        para = doc.add_paragraph()
        run = para.add_run(content)
        if kind == "title":
            para.alignment = WD_ALIGN_PARAGRAPH.CENTER
            _font(run, *FONTS["title"])
        elif kind in ("h1", "h2"):
            _font(run, *FONTS[kind])
        elif kind == "right":
            para.alignment = WD_ALIGN_PARAGRAPH.RIGHT
            _font(run, *BODY)
        else:
            _font(run, *BODY, bold=kind == "b")
            if kind in ("p", "item", "b"):
                para.paragraph_format.first_line_indent = Pt(32)
    doc.save(str(path))


if __name__ == "__main__":
    build(COMMITTEE, OUT / "committee.docx")
    build(SECRETARY, OUT / "secretary.docx")
    print(f"wrote {OUT / 'committee.docx'} and {OUT / 'secretary.docx'}")
