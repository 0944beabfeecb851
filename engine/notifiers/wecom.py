"""WeCom (企业微信): the group robot, and application messages to the people concerned.

``wecom_robot`` posts the escalation rules' notices to a group as Markdown; the robot's key is
in its address (``/cgi-bin/webhook/send?key=…``), and the people concerned are mentioned as
``<@userid>`` (their WeCom user ids, from ``ZHENGGAI_WECOM_USERS``).

``wecom_app`` sends each notice as an application message (``/cgi-bin/message/send``) to the
person it is for, with the application's access token (``/cgi-bin/gettoken``, kept until
shortly before it expires; a token the platform reports expired is fetched again at once).
"""

from __future__ import annotations

import threading
import time
import urllib.parse
from collections.abc import Mapping
from typing import Self

from ...i18n import Text
from ..errors import InvalidInput
from .base import DeliveryFailed, Notice, Notifier
from .platform import call, keys, markdown, people, platform_id, required

ROBOT_URL = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send"
API = "https://qyapi.weixin.qq.com"
#: the token is invalid or expired: fetch another and send again
TOKEN_ERRORS = {40014, 42001}


class WeComRobotNotifier(Notifier):
    """A WeCom group robot.

    From the environment: ``ZHENGGAI_WECOM_ROBOT_KEY`` (the key in the robot's address), or
    ``ZHENGGAI_WECOM_ROBOT_URL`` (the whole address); optionally ``ZHENGGAI_WECOM_USERS``."""

    name = "wecom_robot"

    def __init__(self, url: str, users: Mapping[str, str] | None = None, timeout: float = 10.0) -> None:
        self.url, self.users, self.timeout = url, dict(users or {}), timeout

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Self | None:
        url, key = env.get("ZHENGGAI_WECOM_ROBOT_URL", ""), env.get("ZHENGGAI_WECOM_ROBOT_KEY", "")
        if not url and not key:
            return None
        if url and "key=" not in url:
            raise InvalidInput(
                Text(
                    "ZHENGGAI_WECOM_ROBOT_URL 须含机器人的 key（…/cgi-bin/webhook/send?key=…）",
                    "ZHENGGAI_WECOM_ROBOT_URL must carry the robot's key (…/cgi-bin/webhook/send?key=…)",
                ),
                field="ZHENGGAI_WECOM_ROBOT_URL",
            )
        return cls(url or f"{ROBOT_URL}?key={urllib.parse.quote(key, safe='')}", people(env, "ZHENGGAI_WECOM_USERS"))

    def message(self, notice: Notice) -> dict[str, object]:
        ids = [self.users[k] for k in keys(notice.recipient) if k in self.users][:1]
        _, text = markdown(notice, " ".join(f"<@{i}>" for i in ids))
        return {"msgtype": "markdown", "markdown": {"content": text}}

    def send(self, notice: Notice) -> None:
        call(self.url, self.message(notice), timeout=self.timeout)


class WeComAppNotifier(Notifier):
    """WeCom application messages to the person a notice is for.

    From the environment: ``ZHENGGAI_WECOM_CORP_ID``, ``ZHENGGAI_WECOM_APP_SECRET`` and
    ``ZHENGGAI_WECOM_AGENT_ID``; the people's WeCom user ids in ``ZHENGGAI_WECOM_USERS``
    (a user without an entry is sent to by their zhenggai id); optionally
    ``ZHENGGAI_WECOM_API``."""

    name = "wecom_app"

    def __init__(
        self,
        corp_id: str,
        secret: str,
        agent_id: int,
        users: Mapping[str, str],
        *,
        api: str = API,
        timeout: float = 10.0,
    ) -> None:
        self.corp_id, self.secret, self.agent_id, self.users = corp_id, secret, agent_id, dict(users)
        self.api, self.timeout = api.rstrip("/"), timeout
        self._token, self._expires, self._lock = "", 0.0, threading.Lock()

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Self | None:
        got = required(env, "ZHENGGAI_WECOM", "CORP_ID", "APP_SECRET", "AGENT_ID")
        if got is None:
            return None
        if not got["AGENT_ID"].isdigit():
            raise InvalidInput(
                Text(
                    "ZHENGGAI_WECOM_AGENT_ID 应为应用的数字 AgentId",
                    "ZHENGGAI_WECOM_AGENT_ID must be the application's numeric AgentId",
                ),
                field="ZHENGGAI_WECOM_AGENT_ID",
            )
        return cls(
            got["CORP_ID"],
            got["APP_SECRET"],
            int(got["AGENT_ID"]),
            people(env, "ZHENGGAI_WECOM_USERS"),
            api=env.get("ZHENGGAI_WECOM_API") or API,
        )

    def token(self, *, fresh: bool = False) -> str:
        with self._lock:
            if fresh or not self._token or time.time() > self._expires - 300:
                q = urllib.parse.urlencode({"corpid": self.corp_id, "corpsecret": self.secret})
                answer = call(f"{self.api}/cgi-bin/gettoken?{q}", None, timeout=self.timeout)
                self._token = str(answer["access_token"])
                self._expires = time.time() + float(answer.get("expires_in", 7200))
            return self._token

    def message(self, notice: Notice) -> dict[str, object]:
        _, text = markdown(notice)
        touser = platform_id(self.users, notice.recipient, default_to_user=True)
        return {"touser": touser, "msgtype": "markdown", "agentid": self.agent_id, "markdown": {"content": text}}

    def send(self, notice: Notice) -> None:
        body = self.message(notice)
        for fresh in (False, True):
            url = f"{self.api}/cgi-bin/message/send?access_token={urllib.parse.quote(self.token(fresh=fresh), safe='')}"
            answer = call(url, body, ok=lambda a: a.get("errcode", 0) in (0, *TOKEN_ERRORS), timeout=self.timeout)
            if answer.get("errcode", 0) == 0:
                if answer.get("invaliduser"):  # accepted, but not for this person: not delivered
                    raise DeliveryFailed(f"WeCom does not know the user {answer['invaliduser']}")
                return
        raise DeliveryFailed("WeCom kept refusing the access token")
