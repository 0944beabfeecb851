"""DingTalk (钉钉): the group's custom robot, and a to-do for the person who must act.

``dingtalk_robot`` posts the escalation rules' notices to a group as Markdown, signed as the
robot's "加签" setting requires — ``timestamp`` (milliseconds) and
``sign`` = Base64(HmacSHA256(secret, timestamp + "\\n" + secret)), both in the query — and
``@``-mentions the people concerned (their DingTalk user ids, from ``ZHENGGAI_DINGTALK_USERS``).

``dingtalk_todo`` keeps one DingTalk to-do (待办) per issue and person: created when they must
act (``sourceId`` the to-do's id, so a retried creation is the same to-do), marked done when
they no longer must.  It calls the DingTalk open API with an application's access token
(``/v1.0/oauth2/accessToken``, kept until shortly before it expires).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
import time
import urllib.parse
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Self

from .base import Notice, Notifier
from .platform import call, markdown, people, platform_id, required

ROBOT_URL = "https://oapi.dingtalk.com/robot/send"
API = "https://api.dingtalk.com"


def robot_sign(secret: str, timestamp_ms: int) -> str:
    """The robot's ``sign``: Base64(HmacSHA256(secret, timestamp + "\\n" + secret)) (before
    URL-encoding)."""
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(mac).decode("ascii")


class DingTalkRobotNotifier(Notifier):
    """A DingTalk group's custom robot.

    From the environment: ``ZHENGGAI_DINGTALK_ROBOT_URL`` (the robot's address, with its
    ``access_token``) and ``ZHENGGAI_DINGTALK_ROBOT_SECRET`` (``SEC…``, the "加签" secret);
    optionally ``ZHENGGAI_DINGTALK_USERS`` (JSON: user id or ``role@unit`` → DingTalk user id,
    or mobile number)."""

    name = "dingtalk_robot"

    def __init__(self, url: str, secret: str, users: Mapping[str, str] | None = None, timeout: float = 10.0) -> None:
        self.url, self.secret, self.users, self.timeout = url, secret, dict(users or {}), timeout

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Self | None:
        got = required(env, "ZHENGGAI_DINGTALK_ROBOT", "URL", "SECRET")
        if got is None:
            return None
        return cls(got["URL"], got["SECRET"], people(env, "ZHENGGAI_DINGTALK_USERS"))

    def signed_url(self, now_ms: int | None = None) -> str:
        ts = int(time.time() * 1000) if now_ms is None else now_ms
        sep = "&" if "?" in self.url else "?"
        return f"{self.url}{sep}timestamp={ts}&sign={urllib.parse.quote_plus(robot_sign(self.secret, ts))}"

    def message(self, notice: Notice) -> dict[str, object]:
        """Markdown that mentions the people concerned: by DingTalk user id, or by mobile
        number where the mapping gives one (eleven digits)."""
        ids = [v for k, v in self.users.items() if k in _mentioned(notice)]
        mobiles = [i for i in ids if i.isdigit() and len(i) == 11]
        user_ids = [i for i in ids if i not in mobiles]
        title, text = markdown(notice, " ".join(f"@{i}" for i in ids))
        at = {"atUserIds": user_ids, "atMobiles": mobiles, "isAtAll": False}
        return {"msgtype": "markdown", "markdown": {"title": title, "text": text}, "at": at}

    def send(self, notice: Notice) -> None:
        call(self.signed_url(), self.message(notice), timeout=self.timeout)


def _mentioned(notice: Notice) -> set[str]:
    """The keys of the people a notice concerns: its recipient (user, role@unit)."""
    r = notice.recipient
    out = {str(r["user"])} if r.get("user") else set()
    if r.get("role"):
        out.add(f"{r['role']}@{r.get('unit') or notice.payload.get('unit')}")
    return out


class _Token:
    """An access token, fetched when missing or about to expire (thread-safe)."""

    def __init__(self) -> None:
        self.value, self.expires, self.lock = "", 0.0, threading.Lock()

    def get(self, fetch: Callable[[], tuple[str, float]]) -> str:
        with self.lock:
            if not self.value or time.time() > self.expires - 300:
                self.value, lifetime = fetch()
                self.expires = time.time() + lifetime
            return self.value


class DingTalkTodoNotifier(Notifier):
    """DingTalk to-dos (待办) for whoever must act.

    From the environment: ``ZHENGGAI_DINGTALK_APP_KEY``, ``ZHENGGAI_DINGTALK_APP_SECRET`` and
    ``ZHENGGAI_DINGTALK_OPERATOR`` (the unionId the to-dos are created as); the people's
    unionIds in ``ZHENGGAI_DINGTALK_USERS``; optionally ``ZHENGGAI_ISSUE_URL`` (the issue's page,
    ``{issue}`` replaced by its code) and ``ZHENGGAI_DINGTALK_API`` (default the public API)."""

    name = "dingtalk_todo"
    todos = True

    def __init__(
        self,
        app_key: str,
        app_secret: str,
        operator: str,
        users: Mapping[str, str],
        *,
        issue_url: str = "",
        api: str = API,
        timeout: float = 10.0,
    ) -> None:
        self.app_key, self.app_secret, self.operator = app_key, app_secret, operator
        self.users, self.issue_url, self.api, self.timeout = dict(users), issue_url, api.rstrip("/"), timeout
        self._token = _Token()

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Self | None:
        got = required(env, "ZHENGGAI_DINGTALK", "APP_KEY", "APP_SECRET", "OPERATOR")
        if got is None:
            return None
        return cls(
            got["APP_KEY"],
            got["APP_SECRET"],
            got["OPERATOR"],
            people(env, "ZHENGGAI_DINGTALK_USERS"),
            issue_url=env.get("ZHENGGAI_ISSUE_URL", ""),
            api=env.get("ZHENGGAI_DINGTALK_API") or API,
        )

    def _fetch_token(self) -> tuple[str, float]:
        answer = call(
            f"{self.api}/v1.0/oauth2/accessToken",
            {"appKey": self.app_key, "appSecret": self.app_secret},
            ok=lambda a: bool(a.get("accessToken")),
            timeout=self.timeout,
        )
        return str(answer["accessToken"]), float(answer.get("expireIn", 7200))

    def _headers(self) -> dict[str, str]:
        return {"x-acs-dingtalk-access-token": self._token.get(self._fetch_token)}

    def send(self, notice: Notice) -> None:
        p, todo = notice.payload, notice.payload["todo"]
        union_id = platform_id(self.users, notice.recipient)
        base = f"{self.api}/v1.0/todo/users/{urllib.parse.quote(union_id, safe='')}/tasks"
        op = f"operatorId={urllib.parse.quote(self.operator, safe='')}"
        ok = lambda a: "errcode" not in a and "code" not in a  # noqa: E731 - the open API answers errors with code
        if todo["action"] == "open":
            title, text = markdown(notice)
            task: dict[str, object] = {
                "sourceId": todo["id"],
                "subject": title,
                "description": text,
                "executorIds": [union_id],
                "isOnlyShowExecutor": True,
                "priority": 20,
            }
            if p.get("due_date"):
                task["dueTime"] = int(datetime.fromisoformat(f"{p['due_date']}T18:00:00+08:00").timestamp() * 1000)
            if self.issue_url:
                url = self.issue_url.replace("{issue}", urllib.parse.quote(str(p["issue"]), safe=""))
                task["detailUrl"] = {"appUrl": url, "pcUrl": url}
            call(f"{base}?{op}", task, headers=self._headers(), ok=ok, timeout=self.timeout)
            return
        # done: find the to-do by its source id, then mark it done (already gone: nothing to do)
        source = urllib.parse.quote(todo["id"], safe="")
        try:
            found = call(f"{base}/sources/{source}", None, headers=self._headers(), ok=ok, timeout=self.timeout)
        except Exception as exc:
            if getattr(exc, "code", None) == 404:
                return
            raise
        call(
            f"{base}/{urllib.parse.quote(str(found['id']), safe='')}?{op}",
            {"done": True},
            method="PUT",
            headers=self._headers(),
            ok=ok,
            timeout=self.timeout,
        )
