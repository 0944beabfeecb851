"""The console against a live server: signing people in with tickets, a browser, screenshots."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from serverhelpers import Live, as_

ARTIFACTS = Path(os.environ.get("ZHENGGAI_TEST_ARTIFACTS", Path(__file__).resolve().parent.parent / "test-artifacts"))
CHROMIUM = "/usr/bin/chromium"


def ticket_for(live: Live, user: str, roles: list[str], scope: list[str] | None = None, **kw) -> str:
    from zhenggai.web.tickets import make_ticket

    return make_ticket(live.secret, "oa", user=user, roles=roles, scope=scope or ["*"], **kw)


def signed_in(live: Live, user: str, roles: list[str], scope: list[str] | None = None) -> requests.Session:
    """An HTTP session signed in to the console as this person (as the OA's link would)."""
    s = requests.Session()
    r = s.get(f"{live.base}/ui/login", params={"ticket": ticket_for(live, user, roles, scope)}, allow_redirects=False)
    assert r.status_code == 303, r.text
    return s


def csrf_of(html: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m, "the page has no form token"
    return m.group(1)


def version_of(html: str) -> str:
    m = re.search(r'name="version" value="(\d+)"', html)
    assert m
    return m.group(1)


@pytest.fixture
def ui_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where the console keeps uploaded evidence in this test (set before the server starts)."""
    monkeypatch.setenv("ZHENGGAI_UI_FILES", str(tmp_path / "files"))
    return tmp_path / "files"


@pytest.fixture
def ledger(ui_files: Path, live: Live) -> Live:
    """Round R1 (its period over) with P1 (省局/财务处, li), P2 (省局/稽查局, sun) and P3
    (省局/财务处, overdue: red)."""
    office = as_(live, "wang", ["inspection_office"])
    r = office.post("/rounds", {"code": "R1", "title": "省委巡视组反馈", "org": "省局", "feedback_date": "2026-03-10"})
    assert r.status_code == 201, r.text
    for code, unit, owner, due in (
        ("P1", "省局/财务处", "li", "2026-12-31"),
        ("P2", "省局/稽查局", "sun", "2026-12-31"),
        ("P3", "省局/财务处", "li", "2026-05-29"),
    ):
        r = office.post(
            "/rounds/R1/issues",
            {"code": code, "title": f"问题{code}：公务接待超标准", "category": "phased", "unit": unit, "owner": owner,
             "lead": "zhao", "due_date": due},
        )  # fmt: skip
        assert r.status_code == 201, r.text
    return live


@pytest.fixture(scope="session")
def chromium() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        if os.environ.get("ZHENGGAI_REQUIRE_SYSTEM"):
            pytest.fail(f"{CHROMIUM} is missing (apt-get install chromium)")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


def shot(page, name: str) -> Path:
    """Save what the person sees (a test artifact, not committed)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
