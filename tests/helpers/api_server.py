"""The HTTP API served by a real uvicorn in a thread of the test process, on a free port."""

from __future__ import annotations

import threading
import time
from typing import Any

import uvicorn


class ThreadServer(uvicorn.Server):
    """uvicorn without signal handlers (it runs in a thread; the test owns the process)."""

    def install_signal_handlers(self) -> None:  # pragma: no cover - older uvicorn
        pass


def serve_in_thread(app: Any) -> tuple[ThreadServer, threading.Thread, int]:
    """Start ``app`` (its lifespan too) on a free loopback port; (server, thread, port).

    Stop it with ``server.should_exit = True`` and ``thread.join()``.
    """
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    server = ThreadServer(config)
    thread = threading.Thread(target=server.run, name="api-under-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the API server did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    return server, thread, port
