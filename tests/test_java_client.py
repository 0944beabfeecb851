"""The Java client (clients/java, JDK 17 alone) as an OA system's developers use it: compiled
with javac, run against a real server, and against a server that fails on purpose."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from receivers import Request, receiver
from standardwebhooks import Webhook
from system import need

from zhenggai import Actor
from zhenggai.api import signing
from zhenggai.engine.notifiers import Notice, WebhookNotifier, new_secret
from zhenggai.engine.notifiers.webhook import whsec

JAVA = Path(__file__).resolve().parent.parent / "clients" / "java"
MAIN = "zhenggai.example.TodoExample"


@pytest.fixture(scope="module")
def classes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    need("javac", "java")
    out = tmp_path_factory.mktemp("java")
    sources = [str(p) for p in sorted(JAVA.rglob("*.java"))]
    done = subprocess.run(
        ["javac", "-Xlint:all", "-Werror", "-d", str(out), *sources], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return out


def java(classes: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["java", "-cp", str(classes), MAIN, *args], capture_output=True, text=True, timeout=120)


def test_the_java_example_lists_a_users_to_dos_and_fires_a_transition_on_a_live_server(classes: Path, opened, cast):
    owner = Actor("li", frozenset({"owner"}))
    opened.engine.add_measure("P1", "措施", owner="li", due_date="2026-12-01", target="100%", actor=owner)
    done = java(classes, opened.base, "oa", opened.secret, "li", "P1", "plan")
    assert done.returncode == 0, done.stderr + done.stdout
    lines = done.stdout.splitlines()
    assert lines[0] == "to-dos of li: 1" and lines[1].startswith("  P1 问题P1 [identified]")
    assert "fired plan on P1: now planned" in done.stdout
    assert opened.engine.issue("P1", owner).state == "planned"
    # the same If-Match again: the engine's code and both messages reach the Java side
    refused = next(line for line in lines if line.startswith("refused:"))
    assert "412 precondition_failed" in refused and " | " in refused.split("precondition_failed", 1)[1]


def test_the_java_client_retries_a_write_under_the_same_key_sends_if_match_and_signs_each_attempt(classes: Path):
    secret = "client-secret-for-the-java-test"
    posts: list[Request] = []

    def server(r: Request) -> tuple:
        if r.method == "GET" and r.path.startswith("/todo"):
            item = {"code": "P1", "title": "问题", "state": "identified", "triggers": [{"trigger": "plan", "available": True}]}
            return 200, {"items": [item], "limit": 1000, "offset": 0}
        if r.method == "GET":
            triggers = [{"trigger": "plan", "available": len(posts) == 0}]
            return 200, {"code": "P1", "title": "问题", "state": "identified", "triggers": triggers}, {"ETag": '"3"'}
        posts.append(r)
        if len(posts) == 1:
            return 503, {"code": "unavailable", "message": {"zh": "稍后重试", "en": "retry later"}}
        if len(posts) == 2:
            return 200, {"code": "P1", "state": "planned"}, {"ETag": '"4"'}
        problem = {
            "code": "precondition_failed",
            "status": 412,
            "message": {"zh": "问题已被修改", "en": "the issue has changed"},
        }
        return 412, problem, {"Content-Type": "application/problem+json"}

    with receiver(server) as rec:
        done = java(classes, rec.url, "oa", secret, "li", "P1", "plan")
    assert done.returncode == 0, done.stderr
    assert "to-dos of li: 1" in done.stdout and "now planned (version 4)" in done.stdout
    assert "refused: 412 precondition_failed | 问题已被修改 | the issue has changed" in done.stdout
    first, retry, _ = posts
    assert first.headers["idempotency-key"] == retry.headers["idempotency-key"]  # the retry is the same request
    assert first.headers["x-zhenggai-nonce"] != retry.headers["x-zhenggai-nonce"]  # signed afresh
    for p in posts:
        assert p.headers["if-match"] == '"3"'
        expected = signing.sign(
            secret, "POST", p.path, p.body, p.headers["x-zhenggai-timestamp"], p.headers["x-zhenggai-nonce"], "oa",
            p.headers["x-zhenggai-actor"], signing.covered_values({k.title(): v for k, v in p.headers.items()} | {"If-Match": p.headers["if-match"], "Idempotency-Key": p.headers["idempotency-key"]}),
        )  # fmt: skip
        assert p.headers["x-zhenggai-signature"] == expected
        assert json.loads(p.body) == {"role": "owner"}


@pytest.mark.parametrize("kind", ["whsec", "plain", "plain that reads as base64"])
def test_the_java_client_verifies_a_webhook_delivery_and_refuses_a_tampered_one(classes: Path, tmp_path: Path, kind):
    # the secret as an office configures it: the whsec_ form, or a plain one the server reads as UTF-8
    secret = {"whsec": new_secret(), "plain": "a-plain-secret-of-24-chars", "plain that reads as base64": "abcdefghijklmnopqrstuvwx"}[kind]
    with receiver() as rec:
        WebhookNotifier(f"{rec.url}/hook", secret).send(
            Notice(
                "P1:2:feed",
                "webhook",
                {"feed": "events"},
                {"issue": "P1", "seq": 2, "event": "transition", "at": "2026-03-10T10:00:00+08:00"},
            )
        )
    [delivery] = rec.requests
    Webhook(whsec(secret)).verify(delivery.body, delivery.headers)  # the published library agrees
    headers = tmp_path / "headers.json"
    headers.write_text(json.dumps({k: v for k, v in delivery.headers.items() if k.startswith("webhook-")}))
    body = tmp_path / "body.json"
    body.write_bytes(delivery.body)
    done = java(classes, "verify-webhook", secret, str(headers), str(body))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "verified zhenggai.issue.event P1:2:feed"
    body.write_bytes(delivery.body.replace(b'"seq": 2', b'"seq": 3'))
    tampered = java(classes, "verify-webhook", secret, str(headers), str(body))
    assert tampered.returncode != 0 and "webhook_signature" in tampered.stderr
