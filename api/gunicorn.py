"""``zhenggai serve`` on gunicorn: its arbiter, uvicorn workers, the app built in each worker.

The worker is uvicorn's own for gunicorn (the ``uvicorn-worker`` package) with zhenggai's HTTP
protocol (heads bounded before they are parsed whole) and no lifespan; the application is
loaded in each worker after the fork (no preloading: each has its own engine and pool).
"""

from __future__ import annotations

from typing import Any

from gunicorn.app.base import BaseApplication
from uvicorn_worker import UvicornWorker

from .limits import LimitedHttpToolsProtocol


class Worker(UvicornWorker):
    CONFIG_KWARGS: dict[str, Any] = {"loop": "auto", "http": LimitedHttpToolsProtocol, "lifespan": "off"}  # noqa: RUF012


class Application(BaseApplication):  # type: ignore[misc]  # gunicorn has no type hints
    def __init__(self, options: dict[str, Any], app: str) -> None:
        self.options = options
        self.app = app
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        import importlib

        module, _, factory = self.app.partition(":")
        return getattr(importlib.import_module(module), factory)()


def run(
    host: str, port: int, workers: int, log_level: str, timeout: int, *, app: str = "zhenggai.api.app:app_from_env"
) -> None:
    """Serve ``app`` (``module:factory``, called in each worker) until SIGTERM."""
    bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    Application(
        {
            "bind": bind,
            "workers": workers,
            "worker_class": f"{__name__}.Worker",
            "timeout": timeout,  # a worker silent this long is killed and replaced
            "graceful_timeout": 30,  # SIGTERM / SIGHUP: requests in hand get this long to finish
            "keepalive": 5,
            "backlog": 2048,
            "loglevel": log_level,
            "accesslog": None,
            "errorlog": "-",
            "preload_app": False,
            "proc_name": "zhenggai",
        },
        app,
    ).run()
