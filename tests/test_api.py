"""An OA system drives zhenggai over HTTP: signed requests, the engine's rules, and the ways
a request is refused — each against a real server on a loopback port."""

from __future__ import annotations

import json
import threading

import pytest
import requests
from apiclient import Api, SignedAuth
from serverhelpers import SERVER_KEY, as_
from storyhelpers import SHA

from zhenggai.api import signing

pytest.importorskip("fastapi", reason="the server extra is not installed: pip install -e '.[dev]'")


def test_health_and_the_openapi_document_need_no_signature(live):
    assert requests.get(live.base + "/health", timeout=10).json() == {"status": "ok"}
    assert requests.get(live.base + "/ready", timeout=10).json() == {"status": "ok"}
    doc = requests.get(live.base + "/openapi.json", timeout=10).json()
    assert "/issues/{code}/transitions/{trigger}" in doc["paths"]
    assert "409" in doc["paths"]["/issues/{code}/transitions/{trigger}"]["post"]["responses"]


def test_a_problem_is_planned_signed_off_and_started_over_http(opened):
    owner, lead = as_(opened, "li", ["owner"], ["省局/财务处"]), as_(opened, "zhao", ["unit_lead"], ["省局"])
    r = owner.post(
        "/issues/P1/measures", {"text": "清查补缴", "owner": "li", "due_date": "2026-06-30", "target": "100%"}
    )
    assert r.status_code == 200 and r.json()["measures"][0]["text"] == "清查补缴"
    r = owner.post("/issues/P1/transitions/plan", {})
    assert r.status_code == 200 and r.json()["state"] == "planned"
    r = lead.post("/issues/P1/signoffs", {"role": "unit_lead", "comment": "同意"})
    assert r.status_code == 200 and r.json()["signoffs"][0]["role"] == "unit_lead"
    r = owner.post("/issues/P1/transitions/start", {})
    assert r.status_code == 200 and r.json()["state"] == "in_progress"
    r = owner.post("/issues/P1/measures/1/done", {})
    assert r.json()["measures"][0]["done"] is True
    r = owner.post("/issues/P1/evidence", {"uri": "oa://files/1", "sha256": SHA, "note": "凭证"})
    assert r.status_code == 200 and len(r.json()["evidence"]) == 1
    r = owner.post("/issues/P1/mechanisms", {"title": "补贴发放内控办法", "reference": "财发〔2026〕3号"})
    assert r.status_code == 200 and r.json()["mechanisms"][0]["title"] == "补贴发放内控办法"
    detail = owner.get("/issues/P1")
    assert detail.status_code == 200 and detail.headers["ETag"] == f'"{detail.json()["version"]}"'
    submit = next(t for t in detail.json()["triggers"] if t["trigger"] == "submit_self_check")
    assert submit["available"] is True
    hist = owner.get("/issues/P1/history?verify=true").json()
    assert [e["kind"] for e in hist["events"]][:3] == ["created", "measure_added", "transition"]
    assert hist["verification"]["ok"] is True
    office = as_(opened, "wang", ["inspection_office"])
    r = office.post("/issues/P1/assignment", {"owner": "qian"})
    assert r.status_code == 200 and r.json()["owner"] == "qian"
    assert office.get("/rounds/R1").json()["issues"] == 2
    assert office.get("/rounds/R1/stats?by=unit").json()["total"] == 2
    assert {w["name"] for w in office.get("/workflows").json()} == {"rectification", "audit"}
    assert "stateDiagram" in office.get("/workflows/rectification/diagram").text
    assert office.get("/workflows/rectification").text.startswith("#")
    assert office.get("/rounds").json()[0]["code"] == "R1"


def test_a_refused_transition_lists_every_failed_rule_as_problem_json(opened):
    owner = as_(opened, "li", ["owner"], ["省局/财务处"])
    r = owner.post("/issues/P1/transitions/start", {})
    assert r.status_code == 409 and r.headers["Content-Type"].startswith("application/problem+json")
    body = r.json()
    assert body["code"] == "refused" and body["status"] == 409 and body["message"]["zh"] and body["message"]["en"]
    r = owner.post("/issues/P1/transitions/plan", {})
    rules = [x["rule"] for x in r.json()["reasons"]]
    assert r.status_code == 409 and rules == ["has_measures"]


def test_bad_bodies_are_refused_naming_the_field(opened):
    office = as_(opened, "wang", ["inspection_office"])
    r = office.post("/rounds/R1/issues", {"code": "P9", "title": "", "category": "phased"})
    assert r.status_code == 422 and r.headers["Content-Type"].startswith("application/problem+json")
    assert r.json()["code"] == "invalid_input" and r.json()["field"] in ("title", "unit", "owner", "lead")
    fields = {e["field"] for e in r.json()["errors"]}
    assert {"title", "unit", "owner", "lead"} <= fields
    r = office.post(
        "/rounds/R1/issues",
        {"code": "P9", "title": "t", "category": "urgent", "unit": "省局", "owner": "a", "lead": "b"},
    )
    assert r.status_code == 422 and r.json()["field"] == "category"
    r = office.post("/issues/P1/evidence", {"uri": "oa://x", "sha256": "nothex"})
    assert r.status_code == 422 and r.json()["field"] == "sha256"
    big = office.post("/issues/P1/measures", {"text": "x" * (1 << 20)})
    assert big.status_code == 413 and big.json()["code"] == "payload_too_large"
    assert office.get("/nowhere").status_code == 404
    assert len(office.get("/issues").json()["items"]) == 2  # nothing was added


def _send(live, headers: dict[str, str], path: str = "/issues") -> requests.Response:
    return requests.get(live.base + path, headers=headers, timeout=10)


def test_unsigned_forged_stale_and_replayed_requests_are_refused(opened):
    secret = opened.secret
    assert _send(opened, {}).status_code == 401
    good = signing.signed_headers(secret, "oa", "GET", "/issues", user="wang", roles=["inspection_office"])
    assert _send(opened, good).status_code == 200
    replay = _send(opened, good)
    assert replay.status_code == 401 and replay.json()["reason"] == "replay"
    forged = signing.signed_headers("wrong-secret", "oa", "GET", "/issues", user="wang", roles=["inspection_office"])
    r = _send(opened, forged)
    assert r.status_code == 401 and r.json()["reason"] == "signature"
    old = signing.signed_headers(
        secret, "oa", "GET", "/issues", user="wang", roles=["inspection_office"], timestamp=1_700_000_000
    )
    r = _send(opened, old)
    assert r.status_code == 401 and r.json()["reason"] == "stale"
    # the signature covers the actor: a different user under the same signature is refused
    swapped = {**signing.signed_headers(secret, "oa", "GET", "/issues", user="wang", roles=["inspection_office"])}
    swapped[signing.ACTOR] = signing.encode_actor("root", ["admin"])
    assert _send(opened, swapped).json()["reason"] == "signature"
    # and the body: a signed transition with another body is refused
    h = signing.signed_headers(
        secret, "oa", "POST", "/issues/P1/measures", b'{"text": "a"}', user="li", roles=["owner"]
    )
    r = requests.post(
        opened.base + "/issues/P1/measures",
        data=b'{"text": "b"}',
        headers={**h, "Content-Type": "application/json"},
        timeout=10,
    )
    assert r.status_code == 401 and r.json()["reason"] == "signature"
    unknown = signing.signed_headers(secret, "nobody", "GET", "/issues", user="wang", roles=["inspection_office"])
    assert _send(opened, unknown).json()["reason"] == "client"


def test_a_client_cannot_assert_roles_or_scopes_beyond_its_grant_and_revoked_clients_are_out(opened):
    from zhenggai.api.clients import Clients

    clients = Clients(opened.engine)
    _, secret = clients.add("oa-jicha", roles=["owner", "unit_lead"], scopes=["省局/稽查局"], by="root")
    narrow = as_(opened, "sun", ["owner"], ["省局/稽查局"], client="oa-jicha", secret=secret)
    assert narrow.get("/issues").status_code == 200
    r = as_(opened, "sun", ["admin"], ["省局/稽查局"], client="oa-jicha", secret=secret).get("/issues")
    assert r.status_code == 403 and r.json()["reason"] == "role_not_allowed"
    for scope in (["省局"], ["*"], ["省局/稽查局二"]):
        r = as_(opened, "sun", ["owner"], scope, client="oa-jicha", secret=secret).get("/issues")
        assert r.status_code == 403 and r.json()["reason"] == "scope_not_allowed", scope
    rotated = clients.rotate("oa-jicha")
    renewed = as_(opened, "sun", ["owner"], ["省局/稽查局"], client="oa-jicha", secret=rotated)
    assert renewed.get("/issues").status_code == 200
    assert narrow.get("/issues").status_code == 401  # the old secret no longer signs
    clients.revoke("oa-jicha")
    r = renewed.get("/issues")
    assert r.status_code == 401 and r.json()["reason"] == "client"
    # rotating is no way back in for a revoked client
    from zhenggai import Refused

    with pytest.raises(Refused):
        clients.rotate("oa-jicha")
    assert renewed.get("/issues").status_code == 401


def test_a_unit_sees_only_its_own_issues_in_lists_details_exports_and_stats(opened):
    jicha = as_(opened, "sun", ["owner", "secretary"], ["省局/稽查局"])
    assert [i["code"] for i in jicha.get("/issues").json()["items"]] == ["P2"]
    r = jicha.get("/issues/P1")
    assert r.status_code == 403 and r.json()["code"] == "forbidden"
    assert jicha.post("/issues/P1/measures", {"text": "越权"}).status_code == 403
    csv = jicha.get("/rounds/R1/ledger?format=csv")
    assert csv.status_code == 200 and "问题P2" in csv.text and "问题P1" not in csv.text
    assert jicha.get("/rounds/R1/stats").json()["total"] == 1
    assert jicha.get("/rounds/R1").json()["issues"] == 1 and jicha.get("/rounds").json()[0]["issues"] == 1
    r = jicha.get("/rounds/R1/ledger?format=csv&unit=省局/财务处")
    assert r.status_code == 403
    assert jicha.get("/issues/P1/history").status_code == 403


def test_a_retried_post_returns_the_first_answer_and_changes_nothing_more(opened):
    owner = as_(opened, "li", ["owner"], ["省局/财务处"])
    first = owner.post("/issues/P1/measures", {"text": "措施一"}, headers={"Idempotency-Key": "m-1"})
    again = owner.post("/issues/P1/measures", {"text": "措施一"}, headers={"Idempotency-Key": "m-1"})
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json() and again.headers["Idempotency-Replayed"] == "true"
    assert len(owner.get("/issues/P1").json()["measures"]) == 1
    other = owner.post("/issues/P1/measures", {"text": "措施二"}, headers={"Idempotency-Key": "m-1"})
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    # a refusal is an answer too: the retry gets the same 409, and nothing runs twice
    r1 = owner.post("/issues/P1/transitions/start", {}, headers={"Idempotency-Key": "s-1"})
    r2 = owner.post("/issues/P1/transitions/start", {}, headers={"Idempotency-Key": "s-1"})
    assert r1.status_code == r2.status_code == 409 and r1.json() == r2.json()


def test_concurrent_retries_with_one_key_apply_once(opened):
    owner = as_(opened, "li", ["owner"], ["省局/财务处"])
    owner.post("/issues/P1/measures", {"text": "措施一", "owner": "li", "due_date": "2026-06-30", "target": "100%"})
    answers: list[int] = []

    def go() -> None:
        me = as_(opened, "li", ["owner"], ["省局/财务处"])
        answers.append(me.post("/issues/P1/transitions/plan", {}, headers={"Idempotency-Key": "plan-1"}).status_code)

    threads = [threading.Thread(target=go) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert set(answers) <= {200, 409} and 200 in answers
    events = owner.get("/issues/P1/history").json()["events"]
    assert [e["trigger"] for e in events if e["kind"] == "transition"] == ["plan"]


def test_a_write_against_a_stale_etag_is_refused_with_412(opened):
    owner = as_(opened, "li", ["owner"], ["省局/财务处"])
    etag = owner.get("/issues/P1").headers["ETag"]
    full = {"text": "措施一", "owner": "li", "due_date": "2026-06-30", "target": "100%"}
    r = owner.post("/issues/P1/measures", full, headers={"If-Match": etag})
    assert r.status_code == 200 and r.headers["ETag"] != etag
    stale = owner.post("/issues/P1/measures", {"text": "措施二"}, headers={"If-Match": etag})
    assert stale.status_code == 412 and stale.json()["code"] == "precondition_failed"
    assert len(owner.get("/issues/P1").json()["measures"]) == 1
    fresh = owner.post("/issues/P1/transitions/plan", {}, headers={"If-Match": r.headers["ETag"]})
    assert fresh.status_code == 200


def test_the_sweep_runs_for_the_system_role_over_every_unit_only(opened):
    assert as_(opened, "cron", ["system"]).post("/sweep", {"dry_run": True}).status_code == 200
    r = as_(opened, "li", ["owner"]).post("/sweep", {"dry_run": True})
    assert r.status_code == 403 and r.json()["code"] == "forbidden"
    r = as_(opened, "boss", ["admin"], ["省局/稽查局"]).post("/sweep", {"dry_run": True})
    assert r.status_code == 403  # the sweep touches every unit
    r = as_(opened, "cron", ["system"]).post("/sweep", {"as_of": "2099-01-01"})
    assert r.status_code == 422 and r.json()["field"] == "as_of"  # the future only as a dry run


def test_the_signature_covers_the_raw_query_and_garbage_signatures_are_refused(opened):
    secret = opened.secret
    signed = signing.signed_headers(secret, "oa", "GET", "/issues?limit=1&x=", user="wang", roles=["inspection_office"])
    import http.client
    from urllib.parse import urlsplit

    conn = http.client.HTTPConnection(urlsplit(opened.base).netloc, timeout=10)
    conn.request("GET", "/issues?limit=1&x=#&offset=1", headers=signed)  # sent as is, "#" and all
    answer = conn.getresponse()
    body = answer.read()
    # never the signed request with another offset: refused (h11 hands "#…" to the app), or
    # exactly what was signed (httptools drops the fragment, as a URL parser should)
    assert answer.status in (401, 422) or (answer.status == 200 and json.loads(body)["offset"] == 0), body
    conn.close()
    bad = {**signing.signed_headers(secret, "oa", "GET", "/issues", user="wang", roles=["inspection_office"])}
    bad[signing.SIGNATURE] = "é" * 2
    r = requests.get(opened.base + "/issues", headers={k: v.encode("latin-1") for k, v in bad.items()}, timeout=10)
    assert r.status_code == 401 and r.json()["reason"] == "signature"
    # a properly signed but hostile actor (nested 5,000 deep) is bad input, not a crash
    import base64
    import time as _time

    actor = base64.urlsafe_b64encode(b"[" * 5000).decode().rstrip("=")
    ts, nonce = str(int(_time.time())), "n0nce-hostile-1"
    sig = signing.sign(secret, "GET", "/issues", b"", ts, nonce, "oa", actor)
    headers = {
        signing.CLIENT: "oa",
        signing.ACTOR: actor,
        signing.TIMESTAMP: ts,
        signing.NONCE: nonce,
        signing.SIGNATURE: sig,
    }
    r = _send(opened, headers)
    assert r.status_code == 422 and r.json()["field"] == "actor"


def test_every_change_reaches_the_webhook_feed(engine, cast, round_):
    from storyhelpers import add

    engine.channels = ["webhook"]
    add(engine, cast, "P1")
    engine.add_measure("P1", "措施", owner="li", due_date="2026-05-01", actor=cast.owner)
    engine.fire("P1", "plan", actor=cast.owner)
    feed = sorted((n["payload"] for n in engine.outbox(limit=100) if n["channel"] == "webhook"), key=lambda p: p["seq"])
    assert [(p["seq"], p["event"], p.get("trigger")) for p in feed] == [
        (1, "created", None),
        (2, "measure_added", None),
        (3, "transition", "plan"),
    ]
    assert feed[-1]["from"] == "identified" and feed[-1]["to"] == "planned" and feed[-1]["actor"] == "li"


def test_the_signing_client_signs_what_it_sends(live):
    auth = SignedAuth("oa", live.secret, "wang", ["inspection_office"])
    r = requests.get(live.base + "/issues?limit=5&round=R1", auth=auth, timeout=10)
    assert r.status_code == 200 and r.json()["limit"] == 5


def test_clients_are_managed_and_the_server_started_from_the_command_line(tmp_path, monkeypatch):
    import json as _json
    import os
    import socket
    import subprocess
    import sys
    import time

    from click.testing import CliRunner

    from zhenggai.cli import main

    db = f"sqlite:///{tmp_path / 'z.db'}"
    monkeypatch.setenv("ZHENGGAI_API_KEY", SERVER_KEY)
    runner = CliRunner()

    def cli(*args: str):
        return runner.invoke(main, ["--db", db, "--lang", "en", *args], catch_exceptions=False)

    cli("init")
    grant = ["--allow-role", "owner", "--allow-scope", "省局/稽查局"]
    r = cli("--json", "client", "add", "oa-tax", *grant, "--as", "li", "--role", "owner")
    assert r.exit_code == 5  # only an administrator manages clients
    r = cli("--json", "client", "add", "oa-tax", *grant, "--as", "root")
    assert r.exit_code == 0, r.output
    added = _json.loads(r.output)
    assert added["roles"] == ["owner"] and added["scopes"] == ["省局/稽查局"] and len(added["secret"]) == 64
    assert "secret" not in cli("--json", "client", "list").output
    assert cli("client", "add", "oa-tax", "--allow-role", "owner", "--as", "root").exit_code == 2  # exists
    monkeypatch.delenv("ZHENGGAI_API_KEY")
    r = cli("client", "rotate", "oa-tax", "--as", "root")
    assert r.exit_code == 10 and "ZHENGGAI_API_KEY" in r.output
    monkeypatch.setenv("ZHENGGAI_API_KEY", SERVER_KEY)

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "ZHENGGAI_API_KEY": SERVER_KEY}
    proc = subprocess.Popen(
        [sys.executable, "-m", "zhenggai.cli", "--db", db, "serve", "--port", str(port), "--workers", "2"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        for _ in range(100):  # the socket listens before the workers have started
            try:
                if requests.get(f"http://127.0.0.1:{port}/health", timeout=5).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.1)
        else:
            raise AssertionError("zhenggai serve did not answer")
        api = Api(f"http://127.0.0.1:{port}", "oa-tax", added["secret"], "sun", ["owner"], ["省局/稽查局"])
        assert api.get("/issues").json()["items"] == []
        cli("client", "revoke", "oa-tax", "--as", "root")
        assert api.get("/issues").status_code == 401
    finally:
        proc.terminate()
        assert proc.wait(20) == 0  # SIGTERM reaches both workers and the server stops cleanly


def test_a_transition_can_answer_with_only_where_it_went(opened):
    owner = as_(opened, "li", ["owner"], ["省局/财务处"])
    owner.post("/issues/P1/measures", {"text": "措施一", "owner": "li", "due_date": "2026-06-30", "target": "100%"})
    r = owner.post("/issues/P1/transitions/plan", {}, headers={"Prefer": "return=minimal"})
    assert r.status_code == 200 and r.headers["Preference-Applied"] == "return=minimal"
    body = r.json()
    assert (body["code"], body["trigger"], body["source"], body["dest"]) == ("P1", "plan", "identified", "planned")
    assert r.headers["ETag"] == f'"{body["version"]}"' == owner.get("/issues/P1").headers["ETag"]


def test_idempotency_keys_are_forgotten_after_a_day_and_signatures_after_the_window(engine):
    from datetime import timedelta

    from zhenggai.api.store import ApiStore

    now = engine.clock.now()
    with engine.transaction(write=True) as conn:
        repo = ApiStore(conn)
        assert repo.claim_request("oa", "old", "h", now - timedelta(days=2))[1]  # a new claim
        repo.finish_request("oa", "old", 200, "{}")
        assert repo.claim_request("oa", "new", "h", now)[1]
        repo.finish_request("oa", "new", 200, "{}")
        hour_ago = now - timedelta(hours=1)
        assert repo.remember_signature("1" * 64, "oa", hour_ago, hour_ago, now - timedelta(minutes=10))
    with engine.transaction(write=True) as conn:
        repo = ApiStore(conn)
        assert repo.remember_signature("0" * 64, "oa", now, now, now - timedelta(minutes=10))  # a cleaning request
        assert not repo.remember_signature("0" * 64, "oa", now, now, now - timedelta(minutes=10))  # a replay
        assert repo.claim_request("oa", "old", "other", now)[1]  # forgotten: free again
        assert repo.claim_request("oa", "new", "other", now)[0].request_hash == "h"  # kept
        assert repo.remember_signature("1" * 64, "oa", now, now, now)  # the hour-old signature was forgotten


def test_an_owner_asks_why_a_problem_cannot_start_and_an_audit_finding_joins_the_round(opened):
    owner = as_(opened, "li", ["owner"], ["省局/财务处"])
    r = owner.post(
        "/issues/P1/measures", {"text": "清查补缴", "owner": "li", "due_date": "2026-06-30", "target": "100%"}
    )
    assert owner.post("/issues/P1/transitions/plan", {}).status_code == 200
    r = owner.get("/issues/P1/explain?trigger=start")
    assert r.status_code == 200, r.text
    (start,) = r.json()["triggers"]
    assert start["available"] is False
    assert [c["rule"] for c in start["checks"] if not c["ok"]] == ["signed_off: unit_lead"]
    assert r.json()["workflow"] == {"name": "rectification", "version": 3, "newest_version": 3, "deprecated": False}
    assert as_(opened, "sun", ["owner"], ["省局/稽查局"]).get("/issues/P1/explain").status_code == 403
    assert owner.get("/issues/P1/explain?trigger=Bad-Trigger").status_code == 422

    auditor = as_(opened, "qian", ["audit_office"])
    r = auditor.post(
        "/rounds/R1/issues",
        {"code": "A1", "title": "专项资金挪用", "category": "phased", "unit": "省局/财务处", "owner": "li",
         "lead": "zhao", "due_date": "2026-12-31", "workflow": "audit"},
    )  # fmt: skip
    assert r.status_code == 201, r.text
    assert (r.json()["workflow"], r.json()["state"]) == ("audit", "found")


def test_a_transition_whose_server_died_before_answering_is_not_applied_twice_by_the_retry(opened):
    from datetime import timedelta

    from sqlalchemy import text

    owner = as_(opened, "li", ["owner"], ["省局/财务处"])
    owner.post("/issues/P1/measures", {"text": "清查补缴", "owner": "li", "due_date": "2026-06-30", "target": "100%"})
    first = owner.post("/issues/P1/transitions/plan", {}, headers={"Idempotency-Key": "plan-1"})
    assert first.status_code == 200
    # the server died after the engine applied it and before the answer was kept: the claim
    # stays unanswered, and a retry six minutes later may take it over
    engine = opened.engine
    with engine.db.engine.begin() as conn:
        conn.execute(
            text("UPDATE api_requests SET status = NULL, response = NULL, created_at = :t WHERE key = 'plan-1'"),
            {"t": (engine.clock.now() - timedelta(minutes=6)).replace(tzinfo=None)},
        )
    retry = owner.post("/issues/P1/transitions/plan", {}, headers={"Idempotency-Key": "plan-1"})
    assert retry.status_code == 200 and retry.json()["state"] == "planned"
    plans = [e for e in owner.get("/issues/P1/history").json()["events"] if e.get("trigger") == "plan"]
    assert len(plans) == 1  # the engine recognised the key's request id: applied once
    # the same key from the same user in another role is another request
    lead = as_(opened, "li", ["unit_lead"], ["省局/财务处"])
    other = lead.post("/issues/P1/transitions/plan", {}, headers={"Idempotency-Key": "plan-1"})
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"


def test_my_to_do_over_http_lists_what_the_person_can_do_now_whatever_their_role(opened):
    discipline = as_(opened, "zhou", ["discipline"])  # not the owner of anything: may supervise both
    r = discipline.get("/todo")
    assert r.status_code == 200 and sorted(i["code"] for i in r.json()["items"]) == ["P1", "P2"]
    for user, scope, other in (("li", "省局/财务处", "P2"), ("sun", "省局/稽查局", "P1")):
        mine = as_(opened, user, ["owner"], [scope]).get("/todo").json()["items"]
        assert other not in {i["code"] for i in mine}  # never another unit's
