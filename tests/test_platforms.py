"""The platforms an office's people live in — DingTalk (钉钉), WeCom (企业微信), 泛微 e-cology —
each reached in its own documented format and signature, checked by a local receiver that
plays the platform; a platform that refuses a message keeps it in the outbox until it takes it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import urllib.parse
from pathlib import Path

import pytest
from receivers import Request, receiver
from storyhelpers import add, reviewed, started

from zhenggai import Engine
from zhenggai.config import add_notifiers
from zhenggai.engine.errors import InvalidInput
from zhenggai.engine.notifiers import (
    DingTalkRobotNotifier,
    DingTalkTodoNotifier,
    EcologyTodoNotifier,
    Notice,
    WeComAppNotifier,
    WeComRobotNotifier,
    configured_notifiers,
)

ROBOT_SECRET = "SEC0123456789abcdef0123456789abcdef"


def deliver_all(engine: Engine) -> None:
    while engine.deliver().delivered:
        pass


def reminded(engine: Engine, cast, clock) -> None:
    """P1, a phased item due 30 June, reaches its reminder on 23 June."""
    clock.set("2026-03-12")
    started(engine, cast, "P1", "phased", due="2026-06-30")
    clock.set("2026-06-23")
    engine.sweep()


def dingtalk_robot_answer(r: Request) -> tuple[int, dict]:
    """DingTalk's check of a signed robot call: the timestamp within an hour, the sign right."""
    ts = r.query.get("timestamp", "")
    expected = base64.b64encode(
        hmac.new(ROBOT_SECRET.encode(), f"{ts}\n{ROBOT_SECRET}".encode(), hashlib.sha256).digest()
    ).decode()
    if r.query.get("access_token") != "tok" or r.query.get("sign") != expected:
        return 200, {"errcode": 310000, "errmsg": "sign not match"}
    if abs(time.time() * 1000 - int(ts)) > 3_600_000:
        return 200, {"errcode": 310000, "errmsg": "timestamp expired"}
    return 200, {"errcode": 0, "errmsg": "ok"}


def test_a_dingtalk_group_robot_is_sent_signed_markdown_mentioning_the_owner(engine: Engine, cast, round_, clock):
    with receiver(dingtalk_robot_answer) as rec:
        engine.notifiers.add(
            DingTalkRobotNotifier(
                f"{rec.url}/robot/send?access_token=tok", ROBOT_SECRET, {"li": "ding-li", "zhao": "13800000000"}
            )
        )
        engine.channels = ["dingtalk_robot"]
        reminded(engine, cast, clock)
        deliver_all(engine)
    assert rec.requests and all(n["status"] == "delivered" for n in engine.outbox())
    to_li = [r.json() for r in rec.requests if "ding-li" in r.json()["at"]["atUserIds"]]
    assert to_li, "the owner is mentioned"
    msg = to_li[0]
    assert msg["msgtype"] == "markdown" and msg["markdown"]["title"].startswith("【")
    assert "P1" in msg["markdown"]["text"] and "@ding-li" in msg["markdown"]["text"]
    assert "Issue P1" in msg["markdown"]["text"]  # Chinese first, English after
    assert msg["at"]["atMobiles"] == [] and msg["at"]["isAtAll"] is False
    # the lead is known by a mobile number: mentioned by it
    lead = DingTalkRobotNotifier("https://x/robot/send?access_token=t", ROBOT_SECRET, {"zhao": "13800000000"})
    note = Notice("P1:9:unit_lead:dingtalk_robot", "dingtalk_robot", {"user": "zhao", "role": "unit_lead"}, {"issue": "P1", "message": {"zh": "告诫", "en": "caution"}})  # fmt: skip
    at = lead.message(note)["at"]
    assert at == {"atUserIds": [], "atMobiles": ["13800000000"], "isAtAll": False}


def test_a_platform_that_refuses_a_message_gets_it_again_until_it_takes_it(engine: Engine, cast, round_, clock):
    with receiver(dingtalk_robot_answer) as rec:
        wrong = DingTalkRobotNotifier(f"{rec.url}/robot/send?access_token=tok", "SECwrong")
        engine.notifiers.add(wrong)
        engine.channels = ["dingtalk_robot"]
        reminded(engine, cast, clock)
        first = engine.deliver()
        assert first.failed >= 1 and first.delivered == 0
        [notice, *_] = engine.outbox()
        assert notice["status"] == "pending" and "310000" in notice["last_error"]
        wrong.secret = ROBOT_SECRET  # the administrator corrects the secret
        clock.advance(hours=1)
        deliver_all(engine)
    assert all(n["status"] == "delivered" for n in engine.outbox())


class DingTalkTodos:
    """DingTalk's to-do API: an access token, then tasks created by source id and marked done."""

    def __init__(self) -> None:
        self.tasks: dict[str, dict] = {}

    def __call__(self, r: Request) -> tuple[int, dict]:
        if r.path == "/v1.0/oauth2/accessToken":
            ok = r.json() == {"appKey": "key", "appSecret": "secret"}
            return (200, {"accessToken": "at-1", "expireIn": 7200}) if ok else (400, {"code": "invalidClient"})
        if r.headers.get("x-acs-dingtalk-access-token") != "at-1":
            return 401, {"code": "InvalidAuthentication"}
        parts = [
            urllib.parse.unquote(p) for p in r.path.split("/")
        ]  # /v1.0/todo/users/{unionId}/tasks[/sources/{id} | /{taskId}]
        user = parts[4]
        if r.method == "POST":
            body = r.json()
            assert r.query["operatorId"] == "op-union" and body["executorIds"] == [user]
            task = self.tasks.setdefault(body["sourceId"], {"id": f"t{len(self.tasks) + 1}", "done": False, **body})
            return 200, {"id": task["id"]}
        if r.method == "GET":
            task = self.tasks.get(parts[7])
            return (200, {"id": task["id"]}) if task else (404, {"code": "taskNotExist"})
        task = next(t for t in self.tasks.values() if t["id"] == parts[6])
        task["done"] = r.json()["done"]
        return 200, {"result": True}


def test_dingtalk_to_dos_open_for_whoever_must_act_and_are_done_when_they_no_longer_must(engine: Engine, cast, round_):
    api = DingTalkTodos()
    with receiver(api) as rec:
        engine.notifiers.add(
            DingTalkTodoNotifier(
                "key",
                "secret",
                "op-union",
                {
                    "li": "u-li",
                    "zhao": "u-zhao",
                    "reviewer@省局/财务处": "u-rev",
                    "discipline": "u-jw",
                    "inspection_office": "u-office",
                },
                issue_url="https://oa.example/zg/{issue}",
                api=rec.url,
            )
        )
        engine.channels = ["dingtalk_todo"]
        add(engine, cast, "P1")
        started(engine, cast, "P2")
        deliver_all(engine)
    assert [n["last_error"] for n in engine.outbox(limit=100) if n["status"] != "delivered"] == []
    tasks = api.tasks
    li = tasks["zhenggai:P2:li"]
    assert li["executorIds"] == ["u-li"] and li["detailUrl"]["pcUrl"] == "https://oa.example/zg/P2"
    assert "P2" in li["subject"] and li["done"] is False  # the owner still has to carry it out
    assert tasks["zhenggai:P2:zhao"]["done"] is True  # the lead signed off: nothing more to do
    assert li["dueTime"] == 1780221600000  # 31 May 2026, 18:00 in Beijing
    tokens = [r for r in rec.requests if r.path.endswith("accessToken")]
    assert len(tokens) == 1  # one token for every call, until it is about to expire


def test_a_wecom_group_robot_gets_markdown_with_its_key_in_the_address(engine: Engine, cast, round_, clock):
    def answer(r: Request) -> tuple[int, dict]:
        ok = r.path == "/cgi-bin/webhook/send" and r.query.get("key") == "robot-key"
        return 200, {"errcode": 0 if ok else 93000, "errmsg": "ok" if ok else "invalid webhook url"}

    with receiver(answer) as rec:
        [robot] = configured_notifiers({"ZHENGGAI_WECOM_ROBOT_URL": f"{rec.url}/cgi-bin/webhook/send?key=robot-key", "ZHENGGAI_WECOM_USERS": '{"li": "LiMing"}'})  # fmt: skip
        engine.notifiers.add(robot)
        engine.channels = ["wecom_robot"]
        reminded(engine, cast, clock)
        deliver_all(engine)
    assert all(n["status"] == "delivered" for n in engine.outbox())
    bodies = [r.json() for r in rec.requests]
    assert all(b["msgtype"] == "markdown" for b in bodies)
    assert any("<@LiMing>" in b["markdown"]["content"] and "P1" in b["markdown"]["content"] for b in bodies)


def test_wecom_application_messages_reach_each_person_and_an_expired_token_is_renewed(
    engine: Engine, cast, round_, clock
):
    tokens = iter(["old", "new"])
    sent: list[dict] = []

    def answer(r: Request) -> tuple[int, dict]:
        if r.path == "/cgi-bin/gettoken":
            assert r.query == {"corpid": "ww01", "corpsecret": "app-secret"}
            return 200, {"errcode": 0, "access_token": next(tokens), "expires_in": 7200}
        if r.query.get("access_token") != "new":
            return 200, {"errcode": 42001, "errmsg": "access_token expired"}
        sent.append(r.json())
        return 200, {"errcode": 0, "errmsg": "ok", "invaliduser": ""}

    with receiver(answer) as rec:
        engine.notifiers.add(WeComAppNotifier("ww01", "app-secret", 1000002, {"li": "LiMing"}, api=rec.url))
        engine.channels = ["wecom_app"]
        reminded(engine, cast, clock)
        deliver_all(engine)
    assert all(n["status"] == "delivered" for n in engine.outbox())
    assert sent and all(m["agentid"] == 1000002 and m["msgtype"] == "markdown" for m in sent)
    assert {m["touser"] for m in sent} >= {"LiMing"}


def test_ecology_unified_to_dos_open_move_on_and_are_finished_when_the_issue_closes(engine: Engine, cast, round_):
    held: dict[tuple[str, str], dict] = {}

    def ofs(r: Request) -> tuple[int, dict]:
        """e-cology's 统一待办: keeps, per flow and receiver, the update with the greatest receivets."""
        body = r.json()
        need = {"syscode", "flowid", "requestname", "workflowname", "nodename", "pcurl", "appurl", "isremark", "receiver", "receivets", "createdatetime", "receivedatetime"}  # fmt: skip
        if r.path != "/rest/ofs/ReceiveRequestInfoByJson" or not need <= body.keys() or body["syscode"] != "ZG":
            return 200, {"operResult": "0", "message": "参数错误"}
        key = (body["flowid"], body["receiver"])
        if key not in held or int(body["receivets"]) > int(held[key]["receivets"]):
            held[key] = body
        return 200, {"operResult": "1", "message": "成功"}

    with receiver(ofs) as rec:
        engine.notifiers.add(
            EcologyTodoNotifier(
                rec.url,
                "ZG",
                "https://zg.example/issues/{issue}",
                {"inspection_office": "wangjing", "reviewer": "sunli", "discipline": "zhoujw"},
            )
        )
        engine.channels = ["log", "ecology_todo"]
        reviewed(engine, cast, "P1")
        deliver_all(engine)
        assert held[("P1", "li")]["isremark"] == "2"  # the owner's part is done
        assert held[("P1", "sunli")]["isremark"] == "0"  # reviewed: the reviewer may still send it back
        office = held[("P1", "wangjing")]
        assert office["isremark"] == "0" and office["pcurl"] == "https://zg.example/issues/P1"
        assert office["requestname"] == "P1 问题P1" and office["nodename"]
        engine.sign_off("P1", "inspection_office", actor=cast.office)
        engine.fire("P1", "close", actor=cast.office)
        deliver_all(engine)
        assert held[("P1", "wangjing")]["isremark"] == "4"  # 办结: the issue is closed
        assert held[("P1", "sunli")]["isremark"] == "4"
        # a late copy of the office's first update does not reopen it
        stale = {**office, "isremark": "0"}
        import urllib.request

        urllib.request.urlopen(
            urllib.request.Request(
                f"{rec.url}/rest/ofs/ReceiveRequestInfoByJson", data=json.dumps(stale).encode(), method="POST"
            ),
            timeout=5,
        ).close()
    assert held[("P1", "wangjing")]["isremark"] == "4"
    assert all(n["status"] == "delivered" for n in engine.outbox(limit=200))


def test_every_platform_is_configured_from_the_environment_or_a_settings_file(engine: Engine, tmp_path: Path):
    settings = tmp_path / "notifiers.toml"
    settings.write_text(
        """
ZHENGGAI_DINGTALK_ROBOT_URL = "https://oapi.dingtalk.com/robot/send?access_token=t"
ZHENGGAI_DINGTALK_ROBOT_SECRET = "SECxyz"
ZHENGGAI_DINGTALK_APP_KEY = "k"
ZHENGGAI_DINGTALK_APP_SECRET = "s"
ZHENGGAI_DINGTALK_OPERATOR = "op"
ZHENGGAI_WECOM_CORP_ID = "ww01"
ZHENGGAI_WECOM_APP_SECRET = "s"
ZHENGGAI_WECOM_AGENT_ID = 1000002
ZHENGGAI_ECOLOGY_URL = "http://oa.example"
ZHENGGAI_ECOLOGY_SYSCODE = "ZG"
ZHENGGAI_ISSUE_URL = "https://zg.example/issues/{issue}"

[ZHENGGAI_DINGTALK_USERS]
"li.ming" = "u-li"
""",
        encoding="utf-8",
    )
    add_notifiers(engine, {"ZHENGGAI_NOTIFIERS_FILE": str(settings), "ZHENGGAI_WECOM_ROBOT_KEY": "k1"})
    assert set(engine.channels) >= {"dingtalk_robot", "dingtalk_todo", "wecom_robot", "wecom_app", "ecology_todo"}
    robot = engine.notifiers.get("dingtalk_robot")
    assert isinstance(robot, DingTalkRobotNotifier) and robot.users == {"li.ming": "u-li"}
    ecology = engine.notifiers.get("ecology_todo")
    assert (
        isinstance(ecology, EcologyTodoNotifier)
        and ecology.url == "http://oa.example/rest/ofs/ReceiveRequestInfoByJson"
    )
    wecom = engine.notifiers.get("wecom_app")
    assert isinstance(wecom, WeComAppNotifier) and wecom.agent_id == 1000002
    assert isinstance(engine.notifiers.get("wecom_robot"), WeComRobotNotifier)


@pytest.mark.parametrize(
    ("env", "field"),
    [
        ({"ZHENGGAI_DINGTALK_ROBOT_URL": "https://x/robot/send?access_token=t"}, "ZHENGGAI_DINGTALK_ROBOT_SECRET"),
        ({"ZHENGGAI_DINGTALK_APP_KEY": "k", "ZHENGGAI_DINGTALK_APP_SECRET": "s"}, "ZHENGGAI_DINGTALK_OPERATOR"),
        ({"ZHENGGAI_WECOM_ROBOT_URL": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send"}, "ZHENGGAI_WECOM_ROBOT_URL"),
        (
            {"ZHENGGAI_WECOM_CORP_ID": "w", "ZHENGGAI_WECOM_APP_SECRET": "s", "ZHENGGAI_WECOM_AGENT_ID": "x"},
            "ZHENGGAI_WECOM_AGENT_ID",
        ),
        ({"ZHENGGAI_ECOLOGY_URL": "http://oa", "ZHENGGAI_ECOLOGY_SYSCODE": "ZG"}, "ZHENGGAI_ISSUE_URL"),
        ({"ZHENGGAI_WECOM_ROBOT_KEY": "k", "ZHENGGAI_WECOM_USERS": '["li"]'}, "ZHENGGAI_WECOM_USERS"),
        ({"ZHENGGAI_NOTIFIERS_FILE": "/nonexistent/notifiers.toml"}, "ZHENGGAI_NOTIFIERS_FILE"),
    ],
)
def test_a_platform_setting_that_is_wrong_or_missing_is_refused_naming_it(engine: Engine, env: dict, field: str):
    with pytest.raises(InvalidInput) as err:
        add_notifiers(engine, env)
    assert err.value.details == {"field": field}
    assert (field in err.value.text.zh and field in err.value.text.en) or field == "ZHENGGAI_NOTIFIERS_FILE"
    assert engine.channels == ["log"]  # nothing half-configured
