"""Requests that read a whole round (its statistics, its ledger): bounded in number, and
stopped when their caller goes away.

Each worker process runs at most :data:`AT_ONCE` of them together (``ZHENGGAI_HEAVY_AT_ONCE``);
one more is answered ``503 busy`` at once, with Retry-After, rather than queued to pile up
memory.  While one runs, the client's connection is watched: when it closes, the work is asked
to stop (an export checks between chunks) instead of running on for a reader who left.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import AsyncIterator, Callable

from starlette.requests import Request

from ..engine.errors import Busy
from ..i18n import Text

AT_ONCE = max(1, int(os.environ.get("ZHENGGAI_HEAVY_AT_ONCE", "2")))
_slots = threading.BoundedSemaphore(AT_ONCE)
WATCH_EVERY = 0.2  # seconds between looks at the client's connection


@contextlib.asynccontextmanager
async def heavy(request: Request) -> AsyncIterator[Callable[[], bool]]:
    """A slot for one heavy request; yields ``should_stop`` (True once the client has gone)."""
    if not _slots.acquire(blocking=False):
        raise Busy(
            Text(
                f"同时进行的统计与导出已达上限（每个进程 {AT_ONCE} 个），未做任何处理，请稍后重试",
                f"{AT_ONCE} statistics or exports are already running in this process; nothing was done, retry shortly",
            )
        )
    gone = threading.Event()

    async def watch() -> None:
        while not gone.is_set():
            if await request.is_disconnected():
                gone.set()
                return
            await asyncio.sleep(WATCH_EVERY)

    watcher = asyncio.create_task(watch())
    try:
        yield gone.is_set
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
        _slots.release()
