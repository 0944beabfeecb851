"""泛微 e-cology's unified to-do (统一待办): the issue in every receiver's e-cology to-do list.

Each to-do notice becomes one call of ``/rest/ofs/ReceiveRequestInfoByJson``: the issue is the
flow (``flowid`` its code, ``requestname`` its title, ``nodename`` its state), the person who
must act its receiver, ``isremark`` what the to-do is now — ``0`` 待办 (to do), ``2`` 已办
(done, the issue moved on), ``4`` 办结 (the issue is closed).  ``receivets`` orders the updates
of one to-do: the event's time in seconds × 10⁶ + its ``seq``, so e-cology, which keeps the
update with the greatest ``receivets``, is never set back by a late or retried one.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping
from datetime import datetime
from typing import Self

from ...i18n import Text
from ..errors import InvalidInput
from .base import Notice, Notifier
from .platform import call, people, platform_id, required

PATH = "/rest/ofs/ReceiveRequestInfoByJson"
TODO, DONE, FINISHED = "0", "2", "4"


def receivets(ts: str, seq: int) -> str:
    """The ordering stamp of an update: seconds of the event × 10⁶ + its seq."""
    return str(int(datetime.fromisoformat(ts).timestamp()) * 1_000_000 + seq)


class EcologyTodoNotifier(Notifier):
    """泛微 e-cology unified to-dos.

    From the environment: ``ZHENGGAI_ECOLOGY_URL`` (the e-cology server, e.g.
    ``http://oa.example``), ``ZHENGGAI_ECOLOGY_SYSCODE`` (the system code registered for
    zhenggai in 统一待办库) and ``ZHENGGAI_ISSUE_URL`` (the issue's page for ``pcurl`` and
    ``appurl``, ``{issue}`` replaced by its code); optionally ``ZHENGGAI_ECOLOGY_USERS``
    (user id or ``role@unit`` → e-cology login id; a user without one is their zhenggai id) and
    ``ZHENGGAI_ECOLOGY_WORKFLOW`` (the flow type's name, default 整改)."""

    name = "ecology_todo"
    todos = True

    def __init__(
        self,
        url: str,
        syscode: str,
        issue_url: str,
        users: Mapping[str, str] | None = None,
        *,
        workflow: str = "整改",
        timeout: float = 10.0,
    ) -> None:
        self.url = url.rstrip("/") + PATH if not url.endswith(PATH) else url
        self.syscode, self.issue_url, self.users = syscode, issue_url, dict(users or {})
        self.workflow, self.timeout = workflow, timeout

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Self | None:
        got = required(env, "ZHENGGAI_ECOLOGY", "URL", "SYSCODE")
        if got is None:
            return None
        issue_url = env.get("ZHENGGAI_ISSUE_URL", "")
        if "{issue}" not in issue_url:
            raise InvalidInput(
                Text(
                    "泛微统一待办须有 ZHENGGAI_ISSUE_URL（问题页面地址，含 {issue}），作为 pcurl/appurl",
                    "泛微 to-dos need ZHENGGAI_ISSUE_URL (the issue's page, with {issue}) for pcurl/appurl",
                ),
                field="ZHENGGAI_ISSUE_URL",
            )
        return cls(
            got["URL"],
            got["SYSCODE"],
            issue_url,
            people(env, "ZHENGGAI_ECOLOGY_USERS"),
            workflow=env.get("ZHENGGAI_ECOLOGY_WORKFLOW") or "整改",
        )

    def request(self, notice: Notice) -> dict[str, str]:
        p, todo = notice.payload, notice.payload["todo"]
        remark = TODO if todo["action"] == "open" else FINISHED if p.get("final") else DONE
        when = datetime.fromisoformat(todo["ts"])
        url = self.issue_url.replace("{issue}", urllib.parse.quote(str(p["issue"]), safe=""))
        label = p.get("state_label") or {}
        return {
            "syscode": self.syscode,
            "flowid": str(p["issue"]),
            "requestname": f"{p['issue']} {p.get('title', '')}",
            "workflowname": self.workflow,
            "nodename": str(label.get("zh") or p.get("state")),
            "pcurl": url,
            "appurl": url,
            "isremark": remark,
            "viewtype": "0",
            "creator": "zhenggai",
            "createdatetime": when.strftime("%Y-%m-%d %H:%M:%S"),
            "receiver": platform_id(self.users, notice.recipient, default_to_user=True),
            "receivedatetime": when.strftime("%Y-%m-%d %H:%M:%S"),
            "receivets": receivets(todo["ts"], int(todo["seq"])),
        }

    def send(self, notice: Notice) -> None:
        call(self.url, self.request(notice), ok=lambda a: str(a.get("operResult")) == "1", timeout=self.timeout)
