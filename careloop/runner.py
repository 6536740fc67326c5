"""The one way a careloop command runs a long-lived service: signals, a prompt stop, exit codes.

Every ``careloop`` service (ingest, score, alerts, api, edge, simulate, demo) is an
``async def main(stop)`` handed to :func:`run`. The runner owns SIGINT and SIGTERM:

* the **first** signal sets ``stop``; ``main`` returns promptly (services keep their state
  durable as they go, so nothing needs draining beyond what their context managers do on
  exit);
* if ``main`` is still running ``grace`` seconds later, its task is **cancelled** (every
  loop unwinds through its ``async with`` exits); if even that has not finished after
  another ``grace``, the process **exits at once** with status 1;
* a **second** signal exits at once (status 130). Child servers die with the process
  (they are tied to it with ``PR_SET_PDEATHSIG``, see ``devservers``).

So Ctrl-C always ends a careloop process within ``2 * grace`` seconds, however busy it is.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import Callable, Coroutine
from contextlib import AbstractAsyncContextManager
from typing import Any

from careloop.logs import fields

log = logging.getLogger(__name__)

#: Seconds ``main`` has after the first signal before it is cancelled (and again before exit).
GRACE_S = 10.0

Main = Callable[[asyncio.Event], Coroutine[Any, Any, int | None]]


def run(main: Main, *, grace: float = GRACE_S) -> int:
    """Run ``main(stop)`` on a fresh event loop until it returns or the process is stopped."""
    return asyncio.run(_supervise(main, grace))


def run_service(service: AbstractAsyncContextManager[Any], *, grace: float = GRACE_S) -> int:
    """Run one async context manager (enter, wait for a signal, exit)."""

    async def main(stop: asyncio.Event) -> int:
        async with service:
            await stop.wait()
        return 0

    return run(main, grace=grace)


def _waiting(tasks: set[asyncio.Task[Any]]) -> str:
    """Where the unfinished tasks wait: ``file:line x count (a task's name)``, most first."""
    by_place: dict[str, list[str]] = {}
    for task in tasks:
        if not task.done():
            by_place.setdefault(_where(task), []).append(task.get_name())
    ranked = sorted(by_place.items(), key=lambda kv: -len(kv[1]))
    return "; ".join(f"{place} x{len(names)} ({names[0]})" for place, names in ranked)[:2000]


def _where(task: asyncio.Task[Any]) -> str:
    """The innermost line a task waits at (what a stuck stop waits for)."""
    where = "?"
    coro: Any = task.get_coro()
    for _ in range(50):  # follow ``await`` down to the innermost coroutine
        frame = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None)
        if frame is not None:
            where = f"{frame.f_code.co_filename.rsplit('/', 2)[-1]}:{frame.f_lineno}"
        inner = getattr(coro, "cr_await", None) or getattr(coro, "gi_yieldfrom", None)
        if inner is None:
            break
        coro = inner
    return where


def _exit_now(code: int, why: str) -> None:
    """Leave without unwinding: used only when a stop did not finish in time."""
    log.error("exiting without a clean stop", extra=fields(reason=why))
    for handler in logging.getLogger().handlers:
        handler.flush()
    sys.stderr.flush()
    os._exit(code)


async def _supervise(main: Main, grace: float) -> int:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    task = asyncio.create_task(main(stop), name="careloop:main")
    stopping: dict[str, Any] = {}

    def cancel_late() -> None:
        if not task.done():
            log.warning(
                "still stopping; cancelling every loop",
                extra=fields(after_s=grace, waiting=_waiting(asyncio.all_tasks(loop))),
            )
            task.cancel()
            stopping["exit"] = loop.call_later(
                grace, _exit_now, 1, f"not stopped {2 * grace:.0f} s after the signal"
            )

    def on_signal(signum: int) -> None:
        name = signal.Signals(signum).name
        if stopping:
            _exit_now(128 + signum, f"second {name}")
            return
        log.info("stopping", extra=fields(signal=name))
        stopping["signal"] = name
        stop.set()
        stopping["cancel"] = loop.call_later(grace, cancel_late)

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal, int(sig))
    try:
        result = await task
    except asyncio.CancelledError:
        if "signal" not in stopping:
            raise
        result = 0
    finally:
        for key in ("cancel", "exit"):
            handle = stopping.get(key)
            if handle is not None:
                handle.cancel()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    return int(result or 0)
