"""Webhooks by the Standard Webhooks specification: an OA system verifies each delivery with the
published `standardwebhooks` library, and reads one documented CloudEvents envelope."""

from __future__ import annotations

import pytest
from receivers import receiver
from standardwebhooks import Webhook, WebhookVerificationError
from storyhelpers import add, started

from zhenggai import Engine
from zhenggai.engine.errors import InvalidInput
from zhenggai.engine.notifiers import Notice, WebhookNotifier, configured_notifiers, new_secret, whsec

SECRET = new_secret()


def _deliver_all(engine: Engine) -> None:
    while engine.deliver().delivered:
        pass


def test_an_oa_system_verifies_every_delivery_with_the_standard_webhooks_library(engine: Engine, cast, round_):
    with receiver() as rec:
        engine.notifiers.add(WebhookNotifier(f"{rec.url}/hook", SECRET))
        engine.channels = ["webhook"]
        add(engine, cast, "P1")
        started(engine, cast, "P2")
        _deliver_all(engine)
        assert len(rec.requests) >= 5
        hook = Webhook(SECRET)
        events = [hook.verify(r.body, r.headers) for r in rec.requests]
        assert {e["specversion"] for e in events} == {"1.0"}
        assert all(e["type"] == "zhenggai.issue.event" and e["source"] == "/zhenggai" for e in events)
        assert all(r.headers["webhook-id"] == e["id"] for r, e in zip(rec.requests, events, strict=True))
        p2 = [e for e in events if e["subject"] == "P2"]
        assert [e["data"]["seq"] for e in p2] == sorted(e["data"]["seq"] for e in p2)
        assert any(e["data"]["trigger"] == "start" and e["data"]["to"] == "in_progress" for e in p2)
        assert all(e["time"] == e["data"]["at"] for e in events)  # when it happened, the same on every retry
        # a body changed on the way, or another secret, does not verify
        tampered = rec.requests[0].body.replace(b'"P', b'"Q', 1)
        with pytest.raises(WebhookVerificationError):
            hook.verify(tampered, rec.requests[0].headers)
        with pytest.raises(WebhookVerificationError):
            Webhook(new_secret()).verify(rec.requests[0].body, rec.requests[0].headers)


def test_a_plain_secret_verifies_as_its_whsec_form_and_ids_in_chinese_travel_as_ascii() -> None:
    plain = "s3cret-s3cret-s3"
    with receiver() as rec:
        WebhookNotifier(f"{rec.url}/", plain, source="/省局").send(
            Notice(
                "巡-1:3:feed",
                "webhook",
                {"feed": "events"},
                {"issue": "巡-1", "seq": 3, "at": "2026-03-10T10:00:00+08:00"},
            )
        )
    [req] = rec.requests
    assert req.headers["webhook-id"].isascii() and req.headers["webhook-signature"].startswith("v1,")
    event = Webhook(whsec(plain)).verify(req.body, req.headers)
    assert event["id"] == "巡-1:3:feed" and event["subject"] == "巡-1" and event["source"] == "/省局"
    assert event["time"] == "2026-03-10T10:00:00+08:00"


def test_escalations_and_to_dos_are_typed_in_the_envelope(engine: Engine, cast, round_, clock):
    with receiver() as rec:
        engine.notifiers.add(WebhookNotifier(f"{rec.url}/hook", SECRET))
        engine.notifiers.add(WebhookNotifier(f"{rec.url}/todo", SECRET), name="oa_todo")
        engine.channels = ["webhook", "oa_todo"]
        clock.set("2026-03-12")
        started(engine, cast, "P1", "phased", due="2026-06-30")
        clock.set("2026-06-23")
        engine.sweep()
        _deliver_all(engine)
        hook = Webhook(SECRET)
        types = {(r.path, hook.verify(r.body, r.headers)["type"]) for r in rec.requests}
    assert ("/hook", "zhenggai.escalation.remind") in types  # the reminder, as its rule's action
    assert not any(t.startswith("zhenggai.escalation.") for p, t in types if p == "/todo")  # to-dos only there
    assert ("/todo", "zhenggai.todo.open") in types and ("/todo", "zhenggai.todo.done") in types
    assert ("/hook", "zhenggai.issue.event") in types


@pytest.mark.parametrize(
    ("secret", "en"),
    [
        ("short", "must have at least 16 characters"),
        ("whsec_!!!not-base64!!!", "the part after whsec_ is not Base64"),
        ("whsec_" + "c2hvcnQ=", "must have at least 16 characters"),
    ],
)
def test_a_webhook_secret_receivers_could_not_use_is_refused_naming_the_variable(secret: str, en: str) -> None:
    with pytest.raises(InvalidInput) as err:
        configured_notifiers({"ZHENGGAI_WEBHOOK_URL": "https://oa.example/hook", "ZHENGGAI_WEBHOOK_SECRET": secret})
    assert err.value.details == {"field": "ZHENGGAI_WEBHOOK_SECRET"} and en in err.value.text.en


def test_a_whsec_secret_from_the_environment_is_the_key_it_encodes() -> None:
    [hook] = configured_notifiers(
        {
            "ZHENGGAI_WEBHOOK_URL": "https://oa.example/hook",
            "ZHENGGAI_WEBHOOK_SECRET": SECRET,
            "ZHENGGAI_WEBHOOK_SOURCE": "/bureau",
        }
    )
    assert isinstance(hook, WebhookNotifier) and whsec(hook.secret) == SECRET and hook.source == "/bureau"
