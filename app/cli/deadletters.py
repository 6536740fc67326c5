"""``careloop deadletters``: what ingest rejected, newest first, with counts by reason."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from careloop.settings import Settings


def register(sub: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser(
        "deadletters",
        help="list messages ingest rejected (newest first) and counts by reason",
        description="List the dead letters ingest kept: every rejected message with when, the "
        "topic, the reason (e.g. less_than_equal:heart_rate, unknown_device, spoofed, "
        "influx_rejected), the error and the start of the raw payload. Payloads may hold "
        "personal data: treat the output accordingly.",
    )
    p.add_argument("--reason", help="only this reason")
    p.add_argument("--limit", type=int, default=20, help="how many to list (20)")
    p.add_argument("--json", action="store_true", help="JSON instead of a table")
    p.add_argument(
        "--path",
        type=Path,
        help="dead-letter file (default DATA_DIR/ingest/deadletters.sqlite3, or "
        "the database_url's schema ingest on PostgreSQL)",
    )
    return p


def run(args: argparse.Namespace, settings: Settings) -> int:
    from ingest import DeadLetterStore

    path = args.path or settings.paths.deadletters
    url = "" if args.path else settings.store_url  # --path names a file: read that file
    if not url and not path.exists():
        print(f"no dead letters ({path} does not exist)")
        return 0
    with DeadLetterStore(path, url=url, durable=False) as store:
        counts = store.counts()
        letters = store.latest(reason=args.reason, limit=max(0, args.limit))
    if args.json:
        out = {
            "counts": counts,
            "total": sum(counts.values()),
            "dead_letters": [
                {
                    "id": d.id,
                    "received_at": d.received_at,
                    "topic": d.topic,
                    "reason": d.reason,
                    "detail": d.detail,
                    "size": d.size,
                    "payload": d.payload.decode("utf-8", "replace"),
                }
                for d in letters
            ],
        }
        print(json.dumps(out, ensure_ascii=False, indent=2))
        return 0
    print(f"{sum(counts.values())} dead letters")
    for reason, n in counts.items():
        print(f"  {n:>8}  {reason}")
    if letters:
        print()
    for d in letters:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(d.received_at / 1000))
        preview = d.payload[:80].decode("utf-8", "replace").replace("\n", " ")
        print(f"#{d.id} {when}  {d.reason}  {d.topic}  ({d.size} bytes)")
        print(f"    {d.detail[:200]}")
        print(f"    {preview}{'...' if d.size > 80 else ''}")
    return 0
