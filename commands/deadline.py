"""``zhenggai deadline``: deadline changes (延期申请) — asked by the owner with a reason and a
new date, approved or refused by the role the workflow names; and an issue's list of them."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from .context import Ctx, actor_options, json_flag, out, pass_ctx

if TYPE_CHECKING:
    from ..engine.actors import Actor


def _measure_dates(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in value:
        no, sep, when = item.partition("=")
        if not sep or not no.strip().isdigit() or not when.strip():
            raise click.BadParameter(
                f"应为 措施编号=日期（如 2=2026-08-31），而不是 {item!r} / expected NO=DATE (e.g. 2=2026-08-31), not {item!r}"
            )
        out[no.strip()] = when.strip()
    return out


@click.group()
def deadline() -> None:
    """Deadline changes (延期申请): request, approve, refuse, list."""


@deadline.command("request")
@click.argument("code")
@click.argument("due_date", metavar="NEW_DATE")
@click.option("--reason", required=True, help="Why the deadline must move / 延期理由")
@click.option("--category", help="Recategorise with it, e.g. phased / 同时调整问题类别")
@click.option(
    "--measure", "measure_dates", multiple=True, callback=_measure_dates,
    help="Move a measure's date with it: NO=DATE, repeatable / 同时调整措施时限",
)  # fmt: skip
@actor_options(("owner",))
@json_flag
@pass_ctx
def deadline_request(
    c: Ctx, code: str, due_date: str, reason: str, category: str | None, measure_dates: dict[str, str], actor: Actor
) -> None:
    """Ask for a later deadline / 申请延期。"""
    no = c.engine().request_extension(
        code, due_date, reason=reason, category=category, measure_dates=measure_dates, actor=actor
    )
    out(
        c,
        {"issue": code, "no": no, "due_date": due_date, "status": "pending"},
        c.t(
            f"问题 {code} 已提交第 {no} 次延期申请（至 {due_date}），待审批",
            f"{code}: deadline change {no} to {due_date} asked, awaiting decision",
        ),
    )


def _decide(c: Ctx, code: str, approve: bool, comment: str | None, actor: Actor) -> None:
    data = c.engine().decide_extension(code, approve=approve, comment=comment, actor=actor)
    if approve:
        new = data.get("due_date", {}).get("to")
        text = c.t(
            f"问题 {code} 的延期申请已批准，整改时限改为 {new}", f"{code}: deadline change approved, now due {new}"
        )
    else:
        text = c.t(f"问题 {code} 的延期申请未获批准", f"{code}: deadline change refused")
    out(c, {"issue": code, "approved": approve, **data}, text)


@deadline.command("approve")
@click.argument("code")
@click.option("--comment", help="The decision's note / 审批意见")
@actor_options(("inspection_office",))
@json_flag
@pass_ctx
def deadline_approve(c: Ctx, code: str, comment: str | None, actor: Actor) -> None:
    """Approve the issue's pending deadline change / 批准延期。"""
    _decide(c, code, True, comment, actor)


@deadline.command("refuse")
@click.argument("code")
@click.option("--comment", required=True, help="Why it is refused / 不予延期的理由")
@actor_options(("inspection_office",))
@json_flag
@pass_ctx
def deadline_refuse(c: Ctx, code: str, comment: str, actor: Actor) -> None:
    """Refuse the issue's pending deadline change / 不予延期。"""
    _decide(c, code, False, comment, actor)


@deadline.command("list")
@click.argument("code")
@actor_options(("admin",))
@json_flag
@pass_ctx
def deadline_list(c: Ctx, code: str, actor: Actor) -> None:
    """An issue's deadline changes / 延期记录。"""
    changes = c.engine().deadline_changes(code, actor)
    status = {"pending": ("待审批", "pending"), "approved": ("已批准", "approved"), "refused": ("未批准", "refused")}

    def lines() -> str:
        if not changes:
            return c.t(f"问题 {code} 没有延期申请", f"{code} has no deadline changes")
        rows = []
        for x in changes:
            zh, en = status.get(x["status"], (x["status"], x["status"]))
            rows.append(
                c.t(
                    f"{x['no']}. {x['from_due_date']} → {x['due_date']}  {zh}  {x['requested_by']}：{x['reason']}",
                    f"{x['no']}. {x['from_due_date']} → {x['due_date']}  {en}  {x['requested_by']}: {x['reason']}",
                )
            )
        return "\n".join(rows)

    out(c, changes, lines)


COMMANDS = (deadline,)
