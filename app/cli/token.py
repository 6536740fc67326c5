"""``careloop token``: create, list and revoke API tokens (the raw token is shown once)."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from typing import Any

from careloop.settings import Settings

DAY_MS = 86_400_000


def register(sub: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser(
        "token",
        help="create, list or revoke API tokens",
        description="API tokens carry a role (admin, coordinator, volunteer, device) and the "
        "sites they may see. 'create' prints the token once; only its SHA-256 hash is kept. "
        "'list' shows ids, roles, subjects, sites and expiry (never tokens); 'revoke ID' "
        "ends one. A token expires after --days (default: the role's api.token_days_*).",
    )
    p.add_argument("action", choices=["create", "list", "revoke"])
    p.add_argument("id", nargs="?", help="token id, for 'revoke'")
    p.add_argument("--role", choices=["admin", "coordinator", "volunteer", "device", "family"])
    p.add_argument("--sites", help="comma-separated sites the token may see (default: --site)")
    p.add_argument(
        "--subject",
        help="who: the volunteer's or device's id, a name for admins/coordinators, or for "
        "a family token the id of the resident whose family it is",
    )
    p.add_argument(
        "--days",
        type=int,
        help="'create': days until the token expires (default: the role's api.token_days_*)",
    )
    p.add_argument("--note", default="", help="a free note shown by 'list'")
    p.add_argument("--all", action="store_true", help="'list': include revoked and expired")
    p.add_argument("--json", action="store_true", help="print JSON")
    return p


def run(args: argparse.Namespace, settings: Settings) -> int:
    from people import Directory, PeopleError

    with Directory(settings.paths.people, url=settings.store_url) as directory:
        if args.action == "create":
            if not args.role or not args.subject:
                raise PeopleError("create needs --role and --subject")
            named = [s.strip() for s in (args.sites or "").split(",") if s.strip()]
            sites = None if args.role == "admin" else (named or [settings.site])
            days = settings.api.token_days(args.role) if args.days is None else args.days
            if days < 1:
                raise PeopleError("--days must be at least 1")
            raw, record = directory.create_token(
                args.role, args.subject, sites, note=args.note, lifetime_ms=days * DAY_MS
            )
            expires = _iso(record.expires_at)
            if args.json:
                print(
                    json.dumps(
                        {"id": record.id, "token": raw, "role": record.role, "expires": expires}
                    )
                )
            else:
                print(raw)
                print(
                    f"(token {record.id}: {record.role} {record.subject}, expires {expires}; "
                    "shown once, keep it safe; revoke with 'careloop token revoke ID')",
                    flush=True,
                )
            return 0
        if args.action == "revoke":
            if not args.id:
                raise PeopleError("revoke needs the token id (see 'careloop token list')")
            directory.revoke_token(args.id)
            print(f"revoked {args.id}")
            return 0
        tokens = directory.tokens(include_revoked=args.all)
        rows = [
            {
                "id": t.id,
                "role": t.role,
                "subject": t.subject,
                "sites": None if t.sites is None else sorted(t.sites),
                "created": _iso(t.created_at),
                "revoked": _iso(t.revoked_at) if t.revoked_at else None,
                "expires": _iso(t.expires_at) if t.expires_at else None,
                "note": t.note,
            }
            for t in tokens
        ]
        if args.json:
            print(json.dumps(rows))
        else:
            for r in rows:
                shown = "*" if r["sites"] is None else ",".join(r["sites"])
                state = f" expires {r['expires']}" if r["expires"] else " never expires"
                state += f" revoked {r['revoked']}" if r["revoked"] else ""
                who = f"{r['role']:<11} {r['subject']:<20} {shown:<20}"
                print(f"{r['id']}  {who} {r['created']}{state}")
        return 0


def _iso(ms: int | None) -> str:
    return (
        "" if ms is None else datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="seconds")
    )
