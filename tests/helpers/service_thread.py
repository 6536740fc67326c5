"""Run one of careloop's async services (an async context manager with a ``connected``
event) in a thread of its own, with its own event loop, so synchronous tests can drive it."""

from __future__ import annotations

import asyncio
import queue
import threading
from typing import Any


class ServiceThread:
    """Enters ``service``, waits until it is connected to the broker, and keeps it running
    until :meth:`stop`; an exception raised inside the service is re-raised by ``stop``."""

    def __init__(self, service: Any, name: str, *, start_timeout: float = 15.0) -> None:
        self.service = service
        self._ready = threading.Event()
        self._errors: queue.Queue[BaseException] = queue.Queue()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()
        if not self._ready.wait(start_timeout) or not self._errors.empty():
            raise RuntimeError(f"{name} did not start: {list(self._errors.queue)}")

    def _run(self) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            async with self.service as svc:
                await asyncio.wait_for(svc.connected.wait(), 10)
                self._ready.set()
                await self._stop.wait()

        try:
            asyncio.run(main())
        except BaseException as exc:
            self._errors.put(exc)
            self._ready.set()

    @property
    def alive(self) -> bool:
        """Whether the service is still running (it has not stopped or failed)."""
        return self._thread.is_alive() and self._errors.empty()

    def stop(self, timeout: float = 20.0) -> None:
        """Exit the service (idempotent); raise what it raised, if anything."""
        if self._thread.is_alive():
            if self._loop is not None and self._stop is not None:
                self._loop.call_soon_threadsafe(self._stop.set)
            self._thread.join(timeout)
            assert not self._thread.is_alive(), f"{self._thread.name} did not stop"
        if not self._errors.empty():
            raise self._errors.get()
