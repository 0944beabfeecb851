"""What the messaging and OA platforms' notifiers share: JSON over HTTP with the platform's own
error field checked, the people's ids on the platform, and a notice as a short bilingual
Markdown message.

Each platform answers HTTP 200 with an error code in the body (DingTalk and WeCom ``errcode``,
泛微 ``operResult``): a non-zero code is a failed attempt (:class:`~.base.DeliveryFailed`), so
the outbox retries it and, after the last attempt, keeps it as dead — never silently lost.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any

from ...i18n import Text
from ..errors import InvalidInput
from .base import DeliveryFailed, Notice

JSON = dict[str, Any]


def call(
    url: str,
    payload: JSON | None = None,
    *,
    method: str | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = 10.0,
    ok: Callable[[JSON], bool] = lambda answer: answer.get("errcode", 0) == 0,
) -> JSON:
    """Send ``payload`` as JSON (POST unless ``method`` says otherwise; GET when there is none)
    and return the platform's answer;
    :class:`DeliveryFailed` when the HTTP status or the answer's own code says it failed."""
    data = None if payload is None else json.dumps(payload, ensure_ascii=False).encode("utf-8")
    req = urllib.request.Request(
        url,
        data=data,
        method=method or ("GET" if data is None else "POST"),
        headers={"Content-Type": "application/json; charset=utf-8", **(headers or {})},
    )
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        raw = resp.read()
        if not 200 <= resp.status < 300:
            raise DeliveryFailed(f"HTTP {resp.status}")
    try:
        answer = json.loads(raw or b"{}")
    except ValueError:
        raise DeliveryFailed(f"the platform's answer is not JSON: {raw[:200]!r}") from None
    if not isinstance(answer, dict) or not ok(answer):
        raise DeliveryFailed(f"the platform refused the message: {json.dumps(answer, ensure_ascii=False)[:500]}")
    return answer


def people(env: Mapping[str, str], field: str) -> dict[str, str]:
    """A JSON object in ``env[field]`` mapping user ids (or ``role@unit``, or roles) to the
    platform's ids; empty when absent."""
    raw = env.get(field)
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError as exc:
        value, why = None, str(exc)
    else:
        why = "not an object of strings"
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise InvalidInput(
            Text(
                f'{field} 应为 JSON 对象，如 {{"li.ming": "平台上的账号"}}：{why}',
                f'{field} must be a JSON object such as {{"li.ming": "id on the platform"}}: {why}',
            ),
            field=field,
        )
    return value


def required(env: Mapping[str, str], prefix: str, *names: str) -> dict[str, str] | None:
    """The variables ``prefix + _NAME``; ``None`` when none is set (the channel is not
    configured), a refusal naming the first one missing when only some are."""
    values = {n: env.get(f"{prefix}_{n}", "") for n in names}
    if not any(values.values()):
        return None
    for n, v in values.items():
        if not v:
            field = f"{prefix}_{n}"
            raise InvalidInput(
                Text(
                    f"缺少 {field}（配置 {prefix}_* 时须一并设置：{', '.join(f'{prefix}_{m}' for m in names)}）",
                    f"{field} is missing (setting {prefix}_* needs all of {', '.join(f'{prefix}_{m}' for m in names)})",
                ),
                field=field,
            )
    return values


def keys(recipient: Mapping[str, Any]) -> list[str]:
    """Whom a notice is for, most precise first: the user, the role within the unit, the role."""
    if recipient.get("user"):
        return [str(recipient["user"])]
    return [f"{recipient.get('role')}@{recipient.get('unit')}", str(recipient.get("role"))]


def platform_id(mapping: Mapping[str, str], recipient: Mapping[str, Any], *, default_to_user: bool = False) -> str:
    """The recipient's id on the platform; :class:`DeliveryFailed` when it has none (the notice
    ends up dead and visible, never "delivered" to nobody)."""
    ks = keys(recipient)
    for k in ks:
        if k in mapping:
            return mapping[k]
    if default_to_user and recipient.get("user"):
        return str(recipient["user"])
    raise DeliveryFailed(f"no account on the platform for {' or '.join(ks)}")


def who(recipient: Mapping[str, Any]) -> str:
    return keys(recipient)[0]


def markdown(notice: Notice, mention: str = "") -> tuple[str, str]:
    """A title and a Markdown text for a notice: Chinese first, then English, then whom it
    concerns (``mention``: the platform's way of calling them)."""
    p = notice.payload
    todo = p.get("todo")
    if isinstance(todo, dict):
        label = p.get("state_label") or {}
        title = f"【待办】{p.get('issue')} {p.get('title', '')}"
        zh = (
            f"问题 {p.get('issue')}「{p.get('title', '')}」（{p.get('unit', '')}）现为{label.get('zh', p.get('state'))}"
        )
        en = f"Issue {p.get('issue')} ({p.get('unit', '')}) is now {label.get('en', p.get('state'))}"
        if todo.get("action") == "open" and p.get("triggers"):
            zh += f"，待您处理：{'、'.join(p['triggers'])}"
            en += f"; for you to do: {', '.join(p['triggers'])}"
        elif todo.get("action") == "done":
            zh, en = zh + "，您的待办已完成", en + "; your to-do is done"
    elif isinstance(p.get("message"), dict):
        title = str(p.get("subject") or p.get("issue") or "zhenggai")
        zh, en = str(p["message"].get("zh", "")), str(p["message"].get("en", ""))
    else:  # an event of the change feed
        title = f"{p.get('issue')} {p.get('event', '')}"
        zh = f"问题 {p.get('issue')}：{p.get('event')}（{p.get('from') or ''} → {p.get('to') or p.get('state')}）"
        en = f"Issue {p.get('issue')}: {p.get('event')} ({p.get('from') or ''} → {p.get('to') or p.get('state')})"
    text = f"#### {title}\n\n{zh}\n\n{en}"
    if p.get("due_date"):
        text += f"\n\n整改时限 Due: {p['due_date']}"
    return title, text + (f"\n\n{mention}" if mention else "")
