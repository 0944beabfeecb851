"""``zhenggai demo``: one round's rectification told from feedback to closing, on SQLite.

Everything goes through the public Engine API with the clock moved by hand, so what the demo
shows is exactly what an OA system embedding zhenggai would see.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable
from pathlib import Path

from .commands import render
from .engine.actors import Actor
from .engine.clock import FixedClock
from .engine.errors import Refused
from .engine.labels import ACTION_LABELS
from .engine.service import Engine
from .i18n import Text

ORG = "省税务局"
DEMO_APPLICATION_ID = 0x5A474445  # "ZGDE", set in the SQLite header of databases the demo creates


class DemoRefused(Exception):
    def __init__(self, text: Text) -> None:
        super().__init__(text.render())
        self.text = text


def is_demo_database(path: Path) -> bool:
    """Whether ``path`` is a SQLite file an earlier demo created (read from its header, unopened)."""
    try:
        with path.open("rb") as f:
            header = f.read(100)
    except OSError:
        return False
    return header.startswith(b"SQLite format 3\x00") and int.from_bytes(header[68:72], "big") == DEMO_APPLICATION_ID


ROUND = "2026-XS03"


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def run_demo(path: str, *, lang: str = "zh", echo: Callable[[str], None] = print) -> Engine:
    db = Path(path)
    if db.exists() and not is_demo_database(db):
        raise DemoRefused(
            Text(
                f"{db} 已存在且不是演示数据库，演示不会覆盖它；请换一个文件名（--db）",
                f"{db} exists and is not a demo database; the demo will not overwrite it (choose another --db)",
            )
        )
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)

    def say(zh: str, en: str) -> None:
        indent = zh[: len(zh) - len(zh.lstrip())]
        echo(indent + Text(zh.strip(), en.strip()).render(lang))

    def step(zh: str, en: str) -> None:
        echo("")
        echo("▶ " + Text(zh, en).render(lang))

    def refused(fn: Callable[[], object]) -> None:
        try:
            fn()
        except Refused as exc:
            echo("  ✗ " + exc.render(lang).replace("\n", "\n    "))
        else:  # the story is written so that this step is refused; say so loudly if not
            raise AssertionError("the demo expected a refusal here")

    clock = FixedClock("2026-03-10")
    marker = sqlite3.connect(db)  # marked before WAL mode, so the header on disk says so at once:
    marker.execute(f"PRAGMA application_id = {DEMO_APPLICATION_ID}")  # a later demo may replace it
    marker.commit()
    marker.close()
    eng = Engine(f"sqlite:///{db}", clock=clock)
    eng.init()

    office = Actor("wang.jing", {"inspection_office"}, name="王静（巡视办）")
    secretary = Actor("chen.zhiguo", {"secretary"}, (ORG,), name="陈志国（党委书记）")
    discipline = Actor("zhou.lan", {"discipline"}, (ORG,), name="周岚（纪检组）")
    reviewer = Actor("he.ping", {"reviewer"}, name="何平（评审人）")
    li = Actor("li.ming", {"owner"}, (f"{ORG}/财务处",), name="李明")
    zhao = Actor("zhao.gang", {"unit_lead"}, (ORG,), name="赵刚（分管副局长）")
    sun = Actor("sun.li", {"owner"}, (f"{ORG}/稽查局",), name="孙丽")
    qian = Actor("qian.wei", {"unit_lead"}, (ORG,), name="钱伟（分管副局长）")
    wu = Actor("wu.fang", {"owner"}, (f"{ORG}/纳税服务处",), name="吴芳")
    zheng = Actor("zheng.hao", {"owner"}, (f"{ORG}/征管科技处",), name="郑浩")

    say(
        "zhenggai 演示：省委第三巡视组对省税务局党委的巡视反馈，从问题识别到对账销号。",
        "zhenggai demo: the provincial inspection of a tax bureau's Party committee, from findings to closing.",
    )
    say(f"数据库：{db}（SQLite）", f"database: {db} (SQLite)")

    step(
        "2026-03-10 巡视组反馈意见，开启整改轮次（集中整改期 3 个月）",
        "2026-03-10 the inspection team hands over its findings; a round opens (3-month concentrated period)",
    )
    r = eng.open_round(
        ROUND, title="省委第三巡视组巡视省税务局党委反馈意见", org=ORG, feedback_date="2026-03-10", actor=office
    )
    say(
        f"  轮次 {ROUND}：集中整改期至 {r['period_end']}",
        f"  round {ROUND}: concentrated period ends {r['period_end']}",
    )

    problems = [
        (
            "XS03-01",
            "奖金、补贴未按规定扣缴个人所得税",
            "immediate",
            "normal",
            f"{ORG}/财务处",
            "li.ming",
            "zhao.gang",
            "2026-04-30",
        ),
        (
            "XS03-02",
            "稽查案件未结案率呈上升态势",
            "phased",
            "serious",
            f"{ORG}/稽查局",
            "sun.li",
            "qian.wei",
            "2026-09-30",
        ),
        (
            "XS03-03",
            "各地加收滞纳金标准不一",
            "systemic",
            "normal",
            f"{ORG}/征管科技处",
            "zheng.hao",
            "zhao.gang",
            "2026-12-31",
        ),
        (
            "XS03-04",
            "群众满意度与经济强省地位不匹配",
            "long_term",
            "normal",
            f"{ORG}/纳税服务处",
            "wu.fang",
            "qian.wei",
            "2027-06-30",
        ),
        (
            "XS03-05",
            "历史欠税清缴受企业破产程序制约",
            "constrained",
            "normal",
            f"{ORG}/稽查局",
            "sun.li",
            "qian.wei",
            "2026-12-31",
        ),
    ]
    for code, title, cat, sev, unit, owner, lead, due in problems:
        eng.add_issue(
            ROUND,
            code,
            title=title,
            category=cat,
            severity=sev,
            unit=unit,
            owner=owner,
            lead=lead,
            due_date=due,
            actor=office,
        )
        d = eng.workflow("rectification")
        say(f"  录入 {code} [{d.categories[cat].zh}] {title}", f"  added {code} [{d.categories[cat].en}] {title}")

    step("立行立改：XS03-01 未扣缴个税", "Fix now: XS03-01 tax not withheld")
    say("  没有整改措施就制定计划，被拒绝：", "  planning without measures is refused:")
    refused(lambda: eng.fire("XS03-01", "plan", actor=li))
    eng.add_measure(
        "XS03-01",
        "全面清查2023年以来发放的奖金补贴，补扣补缴个人所得税",
        owner="li.ming",
        due_date="2026-04-15",
        target="补缴率100%",
        actor=li,
    )
    eng.add_measure(
        "XS03-01", "修订薪酬发放内控流程，财务系统增加代扣代缴校验", owner="li.ming", due_date="2026-04-30", actor=li
    )
    eng.fire("XS03-01", "plan", actor=li)
    say("  两项措施已制定，状态：已制定措施", "  two measures recorded; state: planned")
    say("  分管领导尚未签字就开始整改，被拒绝：", "  starting before the unit lead signs off is refused:")
    refused(lambda: eng.fire("XS03-01", "start", actor=li))
    say(
        "  责任人问为什么（zhenggai explain XS03-01 start）：", "  the owner asks why (zhenggai explain XS03-01 start):"
    )
    for check in eng.explain("XS03-01", "start", actor=li).triggers[0].checks:
        echo(f"    {'✓' if check.ok else '✗'} {check.rule}: {check.reason.render(lang)}")
    clock.set("2026-03-12")
    eng.sign_off("XS03-01", "unit_lead", actor=zhao, comment="同意整改方案")
    eng.fire("XS03-01", "start", actor=li)
    clock.set("2026-04-20")
    eng.complete_measure("XS03-01", 1, actor=li)
    eng.complete_measure("XS03-01", 2, actor=li)
    eng.add_evidence(
        "XS03-01", "oa://archive/2026/caiwu/qingcha-baogao.pdf", _sha("清查报告"), note="清查报告及补缴凭证", actor=li
    )
    eng.fire("XS03-01", "submit_self_check", actor=li)
    say("  责任人自己评审，被四眼原则拒绝：", "  the owner reviewing their own item is refused (four eyes):")
    refused(lambda: eng.fire("XS03-01", "review", actor=Actor("li.ming", {"reviewer"}), role="reviewer"))
    eng.fire("XS03-01", "review", actor=reviewer)
    eng.sign_off("XS03-01", "inspection_office", actor=office)
    eng.fire("XS03-01", "close", actor=office)
    say(
        "  2026-04-20 评审通过并销号：立行立改问题完成一个、销号一个",
        "  2026-04-20 reviewed and closed: an immediate item closes as soon as it is done",
    )

    step("长期整改：XS03-04 群众满意度", "Long-term: XS03-04 public satisfaction")
    eng.add_measure(
        "XS03-04",
        "推行“非接触式”办税，扩大网上办税事项范围",
        owner="wu.fang",
        due_date="2026-05-31",
        target="网上办税率≥95%",
        actor=wu,
    )
    eng.add_measure(
        "XS03-04", "建立12366热线满意度回访制度", owner="wu.fang", due_date="2026-05-31", target="满意度≥90%", actor=wu
    )
    eng.fire("XS03-04", "plan", actor=wu)
    eng.sign_off("XS03-04", "unit_lead", actor=qian)
    eng.fire("XS03-04", "start", actor=wu)
    clock.set("2026-05-28")
    eng.complete_measure("XS03-04", 1, actor=wu)
    eng.complete_measure("XS03-04", 2, actor=wu)
    eng.add_evidence("XS03-04", "https://oa.example.gov.cn/files/nsfw-2026-05.pdf", _sha("满意度调查"), actor=wu)
    eng.fire("XS03-04", "submit_self_check", actor=wu)
    eng.fire("XS03-04", "review", actor=reviewer)
    eng.sign_off("XS03-04", "inspection_office", actor=office)
    say(
        "  集中整改期内、且未建立长效机制就销号，被拒绝（两条理由一并列出）：",
        "  closing inside the concentrated period without a long-term mechanism is refused (both reasons at once):",
    )
    refused(lambda: eng.fire("XS03-04", "close", actor=office))

    step(
        "专项整治：XS03-03 滞纳金标准不一，措施须有量化目标",
        "Systemic: XS03-03 needs quantified targets in its measures",
    )
    eng.add_measure("XS03-03", "统一全省加收滞纳金执行口径", due_date="2026-08-31", actor=zheng)
    say(
        "  措施缺少责任人和量化目标，制定计划被拒绝：",
        "  a measure without an owner or a quantified target is refused:",
    )
    refused(lambda: eng.fire("XS03-03", "plan", actor=zheng))

    step(
        "严重问题：XS03-02 未结案率上升，评审前须党委书记签字",
        "Serious: XS03-02 rising unclosed cases needs the secretary's sign-off before review",
    )
    eng.add_measure(
        "XS03-02",
        "对2024年以来未结案件逐案建立台账，明确结案时限",
        owner="sun.li",
        due_date="2026-07-31",
        target="未结案率降至5%以下",
        actor=sun,
    )
    eng.fire("XS03-02", "plan", actor=sun)
    eng.sign_off("XS03-02", "unit_lead", actor=qian)
    eng.fire("XS03-02", "start", actor=sun)
    clock.set("2026-07-30")
    eng.complete_measure("XS03-02", 1, actor=sun)
    eng.add_evidence("XS03-02", "oa://archive/2026/jicha/taizhang.xlsx", _sha("结案台账"), actor=sun)
    eng.fire("XS03-02", "submit_self_check", actor=sun)
    refused(lambda: eng.fire("XS03-02", "review", actor=reviewer))
    eng.sign_off("XS03-02", "secretary", actor=secretary, comment="已听取专题汇报")
    eng.fire("XS03-02", "review", actor=reviewer)
    say("  书记签字后评审通过", "  reviewed once the secretary signed off")

    step("受客观条件制约：XS03-05 挂牌督办", "Constrained: XS03-05 under supervised handling")
    eng.fire("XS03-05", "escalate", actor=discipline, comment="受破产程序制约，纪检组挂牌督办")
    say("  XS03-05 进入挂牌督办", "  XS03-05 is now supervised")

    step(
        "2026-08-03 集中整改期已于 6 月 10 日结束，对账销号",
        "2026-08-03 the concentrated period ended on 10 June: items are closed against the list",
    )
    clock.set("2026-08-03")
    eng.add_mechanism(
        "XS03-04", "纳税服务满意度常态化回访制度", reference="税发〔2026〕18号", adopted_on="2026-06-20", actor=wu
    )
    eng.fire("XS03-04", "close", actor=office)
    eng.sign_off("XS03-02", "inspection_office", actor=office)
    eng.fire("XS03-02", "close", actor=office)
    say("  XS03-04 建立长效机制后销号；XS03-02 销号", "  XS03-04 closed with its long-term mechanism; XS03-02 closed")

    step(
        "回头看：XS03-01 问题反弹，重新整改并计入再犯次数",
        "Looking back: XS03-01 recurs; it is reopened and the recurrence counted",
    )
    clock.set("2026-10-15")
    eng.fire("XS03-01", "reopen", actor=discipline, comment="回头看发现10月仍有补贴未扣缴个税")

    step(
        "定时督办：红黄绿灯与逐级督办（2026-12-01 巡检）",
        "Scheduled escalation: traffic lights and the ladder (the sweep of 2026-12-01)",
    )
    clock.set("2026-12-01")
    report = eng.sweep()
    for f in report.fired:
        act = ACTION_LABELS[f["action"]]
        until = f.get("new_deadline")
        say(
            f"  {f['issue']}：{act.zh}（规则 {f['rule']}）" + (f"，最后期限 {until}" if until else ""),
            f"  {f['issue']}: {act.en} (rule {f['rule']})" + (f", final deadline {until}" if until else ""),
        )
    say(
        f"  待发送通知 {len(eng.outbox(status='pending', limit=10_000))} 条；再次巡检不会重复督办",
        f"  {len(eng.outbox(status='pending', limit=10_000))} notices queued; a second sweep repeats nothing",
    )
    assert not eng.sweep().fired

    step("整改台账", "Rectification ledger")
    views = eng.issues(office, round_code=ROUND)
    echo(render.ledger(views, lang, eng.workflow, bilingual=False))

    step("历史可查、不可篡改：逐条校验哈希链", "History that cannot be quietly changed: every hash chain verified")
    rows = []
    for v in views:
        rep = eng.verify(v.code, office)
        rows.append((v.code, rep.events, rep.ok))
    echo(render.verified_chains(rows, lang))
    echo("")
    say(
        f"查看详情：zhenggai --db {db} issue show XS03-04    历史：zhenggai --db {db} history XS03-01 --verify",
        f"look closer: zhenggai --db {db} issue show XS03-04    history: zhenggai --db {db} history XS03-01 --verify",
    )
    return eng
