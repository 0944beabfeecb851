"""What a hostile client or a careless operator tries against the HTTP API, and what holds:
each against a real server on a loopback port, on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
import requests
from serverhelpers import as_
from storyhelpers import SHA
from system import need

from zhenggai import Actor
from zhenggai.api import signing

pytest.importorskip("fastapi", reason="the server extra is not installed: pip install -e '.[dev]'")

OWNER = ("li", ["owner"], ["省局/财务处"])


def _post(live, path: str, body: dict, *, sign_with: dict[str, str], send_with: dict[str, str]) -> requests.Response:
    """A POST signed as if it carried ``sign_with`` but sent with ``send_with``: what a man in
    the middle does to a captured request."""
    data = json.dumps(body).encode()
    auth = signing.signed_headers(live.secret, "oa", "POST", path, data, user=OWNER[0], roles=OWNER[1],
                                  scope=OWNER[2], headers=sign_with)  # fmt: skip
    return requests.post(
        live.base + path,
        data=data,
        headers={"Content-Type": "application/json", **auth, **send_with},
        timeout=10,
    )


def test_the_signature_covers_if_match_the_idempotency_key_and_the_preference(opened):
    path = "/issues/P1/measures"
    etag = as_(opened, *OWNER).get("/issues/P1").headers["ETag"]
    cases = [
        ({"Idempotency-Key": "k-1"}, {"Idempotency-Key": "k-2"}),  # the key changed
        ({}, {"Idempotency-Key": "k-3"}),  # a key added
        ({"Idempotency-Key": "k-4"}, {}),  # the key taken away
        ({"If-Match": etag}, {"If-Match": '"999"'}),  # the version changed
        ({}, {"If-Match": etag}),  # a precondition added
        ({"Prefer": "return=minimal"}, {"Prefer": "return=representation"}),  # the answer asked changed
    ]
    for signed, sent in cases:
        r = _post(opened, path, {"text": "措施"}, sign_with=signed, send_with=sent)
        assert r.status_code == 401 and r.json()["reason"] == "signature", (signed, sent, r.text)
    # signed as sent, the same request goes through
    ok = _post(opened, path, {"text": "措施"}, sign_with={"If-Match": etag}, send_with={"If-Match": etag})
    assert ok.status_code == 200, ok.text
    assert [m["text"] for m in ok.json()["measures"]] == ["措施"]  # nothing else got in


def test_a_key_used_again_after_it_was_forgotten_is_a_new_request_not_a_silent_no_op(opened, cast):
    from sqlalchemy import text

    engine = opened.engine
    engine.add_issue("R1", "P3", title="问题P3", category="phased", unit="省局/财务处", owner="li", lead="zhao",
                     due_date="2026-12-31", actor=cast.office)  # fmt: skip
    engine.add_measure("P3", "措施", owner="li", due_date="2026-06-30", target="100%", actor=cast.owner)
    engine.fire("P3", "plan", actor=cast.owner)
    engine.sign_off("P3", "unit_lead", actor=cast.lead)
    engine.fire("P3", "start", actor=cast.owner)
    engine.complete_measure("P3", 1, actor=cast.owner)
    engine.add_evidence("P3", "oa://files/3", SHA, actor=cast.owner)
    owner = as_(opened, *OWNER)
    reviewer = as_(opened, "he", ["reviewer"])
    first = owner.post("/issues/P3/transitions/submit_self_check", {}, headers={"Idempotency-Key": "submit-1"})
    assert first.status_code == 200 and first.json()["state"] == "self_checked"
    reviewer.post("/issues/P3/transitions/send_back", {"comment": "补充材料"})
    # a day later the key is forgotten (the API keeps keys for a day)
    with engine.db.engine.begin() as conn:
        conn.execute(text("DELETE FROM api_requests WHERE key = 'submit-1'"))
    again = owner.post("/issues/P3/transitions/submit_self_check", {}, headers={"Idempotency-Key": "submit-1"})
    assert again.status_code == 200 and "Idempotency-Replayed" not in again.headers
    assert again.json()["state"] == "self_checked"  # a new request, done: not an answer that moves nothing
    submits = [e for e in owner.get("/issues/P3/history").json()["events"] if e.get("trigger") == "submit_self_check"]
    assert len(submits) == 2


def test_a_write_refused_for_a_stale_version_is_not_kept_for_the_retry_with_the_version_read_again(opened):
    owner = as_(opened, *OWNER)
    stale = owner.get("/issues/P1").headers["ETag"]
    owner.post("/issues/P1/measures", {"text": "措施一"})  # the issue moves on
    r = owner.post("/issues/P1/measures", {"text": "措施二"}, headers={"Idempotency-Key": "m-2", "If-Match": stale})
    assert r.status_code == 412
    fresh = owner.get("/issues/P1").headers["ETag"]
    retry = owner.post("/issues/P1/measures", {"text": "措施二"}, headers={"Idempotency-Key": "m-2", "If-Match": fresh})
    assert retry.status_code == 200 and "Idempotency-Replayed" not in retry.headers
    assert [m["text"] for m in retry.json()["measures"]] == ["措施一", "措施二"]
    replay = owner.post(
        "/issues/P1/measures", {"text": "措施二"}, headers={"Idempotency-Key": "m-2", "If-Match": fresh}
    )
    assert replay.status_code == 200 and replay.headers["Idempotency-Replayed"] == "true"
    assert len(owner.get("/issues/P1").json()["measures"]) == 2  # and once only


def test_an_edit_whose_server_died_before_answering_is_not_applied_twice_by_the_retry(opened):
    from datetime import timedelta

    from sqlalchemy import text

    owner = as_(opened, *OWNER)
    first = owner.post("/issues/P1/measures", {"text": "清查补缴"}, headers={"Idempotency-Key": "m-9"})
    assert first.status_code == 200
    engine = opened.engine
    with engine.db.engine.begin() as conn:  # as if the server died after the commit, before the answer was kept
        conn.execute(
            text("UPDATE api_requests SET status = NULL, response = NULL, created_at = :t WHERE key = 'm-9'"),
            {"t": (engine.clock.now() - timedelta(minutes=6)).replace(tzinfo=None)},
        )
    retry = owner.post("/issues/P1/measures", {"text": "清查补缴"}, headers={"Idempotency-Key": "m-9"})
    assert retry.status_code == 200
    assert [m["text"] for m in retry.json()["measures"]] == ["清查补缴"]  # applied once
    assert engine.verify("P1", Actor("wang", frozenset({"inspection_office"}))).ok


def test_a_grant_widened_behind_the_api_is_refused_until_an_administrator_seals_it(opened):
    from sqlalchemy import text

    from zhenggai.api.clients import Clients

    clients = Clients(opened.engine)
    _, secret = clients.add("oa-jicha", roles=["owner"], scopes=["省局/稽查局"], by="root")
    narrow = as_(opened, "sun", ["owner"], ["省局/稽查局"], client="oa-jicha", secret=secret)
    assert narrow.get("/issues").status_code == 200
    with opened.engine.db.engine.begin() as conn:  # a database writer makes it an administrator over everything
        conn.execute(
            text("""UPDATE api_clients SET roles = '["admin", "owner"]', scopes = '["*"]' WHERE name = 'oa-jicha'""")
        )
    widened = as_(opened, "sun", ["admin"], ["*"], client="oa-jicha", secret=secret)
    for api in (widened, narrow):
        r = api.get("/issues")
        assert r.status_code == 401 and r.json()["reason"] == "grant", r.text
    assert clients.unsealed() == ["oa-jicha"]
    clients.seal("oa-jicha")  # an administrator checked it (and wanted it so)
    assert widened.get("/issues").status_code == 200 and clients.unsealed() == []
    with opened.engine.db.engine.begin() as conn:  # a revocation undone behind the API does not verify either
        clients.revoke("oa-jicha")
        conn.execute(text("UPDATE api_clients SET revoked_at = NULL WHERE name = 'oa-jicha'"))
    assert widened.get("/issues").json()["reason"] == "grant"


@pytest.mark.parametrize(
    "key",
    ["a" * 64, "0" * 40, " " * 32, "0123456789abcdef" * 4, "short-but-random-x9", "Zq8" * 16, "tab\tin the key" * 4],
    ids=["aaaa", "0000", "spaces", "repeated_block", "short", "repeated_three", "control"],
)
def test_a_weak_server_key_is_refused_before_any_secret_is_derived_from_it(key, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from zhenggai.cli import main

    db = f"sqlite:///{tmp_path / 'z.db'}"
    runner = CliRunner()
    assert runner.invoke(main, ["--db", db, "init"]).exit_code == 0
    monkeypatch.setenv("ZHENGGAI_API_KEY", key)
    r = runner.invoke(main, ["--db", db, "--json", "client", "add", "oa", "--allow-role", "owner", "--as", "root"])
    err = json.loads(r.output)["error"]
    assert r.exit_code == 2 and err["field"] == "ZHENGGAI_API_KEY", r.output
    assert "too weak" in err["message"]["en"] or "shorter than 32" in err["message"]["en"]
    assert runner.invoke(main, ["--db", db, "--json", "client", "list"]).output.strip() == "[]"  # nothing made
    monkeypatch.setenv("ZHENGGAI_API_KEY", "9f1c2e7a4b8d03e6f5a1c9b7d2e4f608a3b5c7d9e1f2a4c6b8d0e2f4a6c8b0d1")
    r = runner.invoke(main, ["--db", db, "--json", "client", "add", "oa", "--allow-role", "owner", "--as", "root"])
    assert r.exit_code == 0, r.output


def test_a_backup_whose_client_grant_was_widened_is_refused_by_restore(tmp_path, monkeypatch, cast):
    import sqlite3

    from click.testing import CliRunner

    from zhenggai import Engine
    from zhenggai.api.clients import Clients
    from zhenggai.cli import main

    monkeypatch.setenv("ZHENGGAI_API_KEY", "9f1c2e7a4b8d03e6f5a1c9b7d2e4f608a3b5c7d9e1f2a4c6b8d0e2f4a6c8b0d1")
    live_db = tmp_path / "office.db"
    engine = Engine(f"sqlite:///{live_db}")
    engine.init()
    Clients(engine).add("oa-jicha", roles=["owner"], scopes=["省局/稽查局"], by="root")
    backup = tmp_path / "backup.db"
    engine.backup(backup)
    engine.db.dispose()
    conn = sqlite3.connect(backup)
    conn.execute("""UPDATE api_clients SET roles = '["admin"]', scopes = '["*"]'""")
    conn.commit()
    conn.close()
    r = CliRunner().invoke(main, ["--db", str(live_db), "--json", "restore", str(backup), "--force"])
    out = json.loads(r.output)
    assert r.exit_code == 2 and "oa-jicha do not verify" in out["error"]["message"]["en"], r.output
    monkeypatch.delenv("ZHENGGAI_API_KEY")  # nor is a backup with clients restored unchecked
    r = CliRunner().invoke(main, ["--db", str(live_db), "--json", "restore", str(backup), "--force"])
    assert (
        r.exit_code == 2
        and "cannot be checked without ZHENGGAI_API_KEY" in json.loads(r.output)["error"]["message"]["en"]
    )
    monkeypatch.setenv("ZHENGGAI_API_KEY", "9f1c2e7a4b8d03e6f5a1c9b7d2e4f608a3b5c7d9e1f2a4c6b8d0e2f4a6c8b0d1")
    r = CliRunner().invoke(main, ["--db", str(live_db), "--json", "audit", "verify"])
    assert r.exit_code == 0 and json.loads(r.output)["unsealed_clients"] == []  # the live database is untouched


def test_a_replay_is_caught_even_when_the_nodes_clocks_disagree(db_url, monkeypatch):
    """Node B runs 30 s behind node A.  A request reaches B at the very start of its window; A
    forgets what has expired; the same request, captured, then reaches B again while B's clock
    still has it fresh: refused as the replay it is."""
    from datetime import timedelta

    from serverhelpers import SERVER_KEY

    from zhenggai import Engine, FixedClock
    from zhenggai.api.clients import Clients, Unauthenticated
    from zhenggai.api.store import ApiStore
    from zhenggai.engine.clock import to_utc

    monkeypatch.setenv("ZHENGGAI_API_KEY", SERVER_KEY)
    signed = to_utc("2026-03-10 10:00")
    node_a = Engine(db_url, clock=FixedClock(signed))
    node_a.init()
    _, secret = Clients(node_a).add("oa", roles=["owner"], scopes=["*"], by="root")
    headers = signing.signed_headers(secret, "oa", "GET", "/issues", user="li", roles=["owner"],
                                     timestamp=int(signed.timestamp()))  # fmt: skip
    node_b = Engine(db_url, clock=FixedClock(signed - timedelta(minutes=5)))  # the window's first moment, on B
    Clients(node_b).authenticate("GET", "/issues", b"", headers)
    node_a.clock.set(signed + timedelta(minutes=5, seconds=30))  # A, 30 s ahead of B, forgets what expired
    with node_a.transaction(write=True) as conn:
        ApiStore(conn).forget(node_a.clock.now(), node_a.clock.now() - timedelta(minutes=10))
    node_b.clock.set(signed + timedelta(minutes=4, seconds=59))  # still fresh on B's clock
    with pytest.raises(Unauthenticated) as exc:
        Clients(node_b).authenticate("GET", "/issues", b"", headers)
    assert exc.value.details["reason"] == "replay"
    node_a.db.dispose()
    node_b.db.dispose()


def _raw(live, request: bytes, *, timeout: float = 60) -> bytes:
    """Send ``request`` in pieces, as a client streaming it would, and read what the server
    answers — which may come, and the connection close, before all of it is sent."""
    import select
    import socket
    from urllib.parse import urlsplit

    u = urlsplit(live.base)
    out = b""
    with socket.create_connection((u.hostname, u.port), timeout=timeout) as s:
        for i in range(0, len(request), 16384):
            if select.select([s], [], [], 0)[0]:
                break  # the server has answered already
            try:
                s.sendall(request[i : i + 16384])
            except OSError:  # it has closed: its answer is waiting to be read
                break
        try:
            while chunk := s.recv(65536):
                out += chunk
        except ConnectionResetError:
            pass
    return out


def test_an_oversized_head_is_refused_before_it_is_read_and_the_service_goes_on(opened):
    import threading
    import time

    big = b"X-Filler: " + b"a" * (8 << 20) + b"\r\n"  # 8 MB of header, never signed
    answers: list[bytes] = []
    t = threading.Thread(
        target=lambda: answers.append(_raw(opened, b"GET /issues HTTP/1.1\r\nHost: x\r\n" + big + b"\r\n"))
    )
    t0 = time.monotonic()
    t.start()
    health = requests.get(opened.base + "/health", timeout=10)  # another connection, meanwhile
    t.join(30)
    assert health.status_code == 200
    assert answers and answers[0].startswith(b"HTTP/1.1 431"), answers[:1]
    assert b"headers_too_large" in answers[0]
    assert time.monotonic() - t0 < 30


def test_an_oversized_chunked_body_gets_413_as_documented(opened):
    chunk = b"a" * 65536
    body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(20)) + b"0\r\n\r\n"  # 1.25 MB streamed
    head = b"POST /issues/P1/measures HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\n"
    answer = _raw(opened, head + body)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b"payload_too_large" in answer


def test_what_an_unsigned_client_or_a_slash_or_a_lost_database_learns(opened, monkeypatch):
    r = requests.post(
        opened.base + "/rounds", data=b"{not json", headers={"Content-Type": "application/json"}, timeout=10
    )
    assert r.status_code == 401 and r.json()["code"] == "unauthenticated"  # not a JSON parser's message
    r = requests.get(opened.base + "/issues/", headers={"Host": "evil.example"}, timeout=10, allow_redirects=False)
    assert r.status_code in (401, 404) and "Location" not in r.headers
    from zhenggai.engine import views
    from zhenggai.engine.core import storage_error
    from zhenggai.storage.database import DatabaseUnavailable

    def down(*a, **kw):
        raise storage_error(DatabaseUnavailable('connection to server at "db.internal" (10.0.0.7), port 5432 failed'))

    monkeypatch.setattr(views, "issue", down)
    r = as_(opened, *OWNER).get("/issues/P1")
    assert r.status_code == 503 and r.json()["code"] == "storage_unavailable"
    assert "10.0.0.7" not in r.text and "db.internal" not in r.text and "5432" not in r.text


def test_heavy_requests_are_bounded_in_number_and_stop_when_their_client_goes_away(opened, cast, monkeypatch):
    import threading
    import time

    from zhenggai.api import heavy
    from zhenggai.engine import ledger

    for i in range(30):
        opened.engine.add_issue("R1", f"L{i}", title=f"问题{i}", category="phased", unit="省局/财务处", owner="li",
                                lead="zhao", due_date="2026-12-31", actor=cast.office)  # fmt: skip
    written: list[str] = []
    real_row = ledger.ledger_row

    def slow_row(issue, *a, **kw):
        time.sleep(0.1)  # a big round: each row takes its time
        written.append(issue.code)
        return real_row(issue, *a, **kw)

    monkeypatch.setattr(ledger, "ledger_row", slow_row)
    office = as_(opened, "wang", ["inspection_office"])
    answers: list[int] = []
    runs = [threading.Thread(target=lambda: answers.append(office.get("/rounds/R1/ledger?format=csv").status_code))
            for _ in range(heavy.AT_ONCE)]  # fmt: skip
    for t in runs:
        t.start()
    while len(written) < heavy.AT_ONCE:  # the allowed ones are running
        time.sleep(0.02)
    third = office.get("/rounds/R1/stats")
    assert third.status_code == 503 and third.json()["code"] == "busy" and third.headers["Retry-After"] == "1"
    for t in runs:
        t.join(60)
    assert answers == [200] * heavy.AT_ONCE
    # a client that goes away: its export stops instead of writing the rest for nobody
    written.clear()
    headers = signing.signed_headers(opened.secret, "oa", "GET", "/rounds/R1/ledger?format=csv", user="wang",
                                     roles=["inspection_office"])  # fmt: skip
    import socket
    from urllib.parse import urlsplit

    u = urlsplit(opened.base)
    s = socket.create_connection((u.hostname, u.port), timeout=10)
    s.sendall(b"GET /rounds/R1/ledger?format=csv HTTP/1.1\r\nHost: x\r\n"
              + b"".join(f"{k}: {v}\r\n".encode() for k, v in headers.items()) + b"\r\n")  # fmt: skip
    while len(written) < 3:
        time.sleep(0.02)
    s.close()
    time.sleep(2)
    stopped_at = len(written)
    time.sleep(1)
    assert stopped_at < 32 and len(written) == stopped_at  # it stopped, well before the round's end
    assert office.get("/rounds/R1/stats").status_code == 200  # and gave its slot back


def test_the_readmes_shell_example_signs_a_request_the_server_accepts(opened, cast, tmp_path):
    """The curl lines in the README, run as they are written (the client, secret and server
    put in): the signature they make is the one the server checks."""
    import re
    import subprocess
    from pathlib import Path

    need("curl", "openssl")
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    block = re.search(r"In a shell:\n\n```sh\n(.*?)```", readme, re.S)
    assert block, "the README's shell example"
    script = block.group(1).replace("CLIENT=oa-tax SECRET=…", f"CLIENT=oa SECRET={opened.secret}")
    script = script.replace("http://127.0.0.1:8000", opened.base)
    opened.engine.add_issue("R1", "XS03-01", title="问题", category="phased", unit="省税务局/财务处", owner="li.ming",
                            lead="zhao", due_date="2026-12-31", actor=cast.office)  # fmt: skip
    owner = Actor("li.ming", frozenset({"owner"}))
    opened.engine.add_measure("XS03-01", "措施", owner="li.ming", due_date="2026-12-01", target="100%", actor=owner)
    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer.get("state") == "planned", answer
