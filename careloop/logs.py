"""Structured logging without personal data.

Log records carry ids (site, device, resident id) and numbers, never names, utterance text
or raw payloads. ``json`` format writes one JSON object per line for log shippers; ``text``
is for people at a terminal. Extra fields go in ``extra={"fields": {...}}``.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

from careloop.files import open_private

_RESERVED = set(vars(logging.LogRecord("", 0, "", 0, "", (), None)))


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message and structured fields."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        out.update(getattr(record, "fields", {}) or {})
        for key, value in vars(record).items():
            if key not in _RESERVED and key != "fields":
                out[key] = value
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """``time level logger: message key=value ...`` for terminals."""

    def format(self, record: logging.LogRecord) -> str:
        fields = getattr(record, "fields", {}) or {}
        tail = " ".join(f"{k}={v}" for k, v in fields.items())
        base = (
            f"{time.strftime('%H:%M:%S', time.localtime(record.created))} "
            f"{record.levelname:<7} {record.name}: {record.getMessage()}"
        )
        text = f"{base} {tail}" if tail else base
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


def setup_logging(level: str = "INFO", fmt: str = "text") -> None:
    """Configure the root logger once per process (called by the CLI entry point)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # paho and httpx are chatty at INFO; their warnings still come through.
    for name in ("httpx", "httpcore", "uvicorn.access"):
        logging.getLogger(name).setLevel(logging.WARNING)


def log_to_file(path: Path, console_level: str = "WARNING") -> None:
    """Keep the terminal for what a person must see: the root logger's records also go to
    ``path`` (at the configured level), the console shows ``console_level`` and above.

    The demo runs a dozen components in one process; their INFO lines belong in a file,
    not between the user and the banner.
    """
    root = logging.getLogger()
    fmt = root.handlers[0].formatter if root.handlers else TextFormatter()
    for handler in root.handlers:
        handler.setLevel(console_level)
    open_private(path).close()  # FileHandler would create it with the umask's mode
    file_handler = logging.FileHandler(path, encoding="utf-8")
    file_handler.setFormatter(fmt)
    root.addHandler(file_handler)


def fields(**values: Any) -> dict[str, Any]:
    """``extra=`` for a log call: ``log.info("sent", extra=fields(device=d, n=3))``."""
    return {"fields": values}
