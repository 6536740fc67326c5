"""``careloop alerts``: care needs -> volunteers, with deadlines and escalation (docs/alerts.md)."""

from __future__ import annotations

import argparse
import dataclasses
import json
from typing import Any

from careloop.runner import run_service
from careloop.settings import Settings


def register(sub: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser(
        "alerts",
        help="turn care needs into alerts for on-call volunteers (tiers, deadlines, escalation)",
        description="Subscribe to care needs (careloop/needs/v1/<site>/+) and volunteers' "
        "replies, run every alert through its lifecycle (open, notified, accepted, resolved; "
        "declined, escalated, expired, cancelled) with the deadlines of the tier policy, and "
        "page volunteers on MQTT, e-mail and signed webhooks. State is in SQLite and survives "
        "kill -9. 'check' validates the policy and roster; 'closed-loop' prints the anonymised "
        "view of every alert (JSON); 'audit ALERT' prints one alert's audit log.",
    )
    p.add_argument(
        "action",
        nargs="?",
        default="run",
        choices=["run", "check", "closed-loop", "audit"],
        help="run the service (default), check the files, or print a view",
    )
    p.add_argument("alert", nargs="?", help="alert id, for 'audit'")
    g = p.add_argument_group("alerts")
    g.add_argument("--policy", dest="alerts__policy", help="tier policy TOML (default shipped)")
    g.add_argument(
        "--roster",
        dest="alerts__roster",
        help="import this roster TOML (volunteers, rotations) into the people database first",
    )
    g.add_argument("--db", dest="alerts__db", help="store (DATA_DIR/alerts/alerts.sqlite3)")
    g.add_argument("--client-id", dest="alerts__client_id", help="MQTT client id (alerts-SITE)")
    g.add_argument(
        "--all-sites",
        dest="alerts__sites",
        action="store_const",
        const="+",
        help="serve every site on the broker, not only --site",
    )
    g.add_argument("--metrics-port", dest="alerts__metrics_port", type=int, help="Prometheus")
    g.add_argument("--metrics-host", dest="alerts__metrics_host", help="metrics address")
    g.add_argument("--smtp-host", dest="alerts__smtp_host", help="SMTP server for e-mail pages")
    g.add_argument(
        "--smtp-port", dest="alerts__smtp_port", type=int,
        help="SMTP port (587 for starttls, 465 for tls, 25 for none)",
    )  # fmt: skip
    g.add_argument(
        "--smtp-tls", dest="alerts__smtp_tls", choices=("starttls", "tls", "none"),
        help="how e-mail is encrypted (starttls; none only for a relay on loopback)",
    )  # fmt: skip
    g.add_argument(
        "--smtp-ca-file", dest="alerts__smtp_ca_file",
        help="CA bundle the SMTP server's certificate must chain to (the system's CAs)",
    )  # fmt: skip
    g.add_argument("--smtp-from", dest="alerts__smtp_from", help="sender address")
    g.add_argument(
        "--no-push", dest="alerts__push", action="store_const", const=False,
        help="no Web Push to the volunteers' installed apps",
    )  # fmt: skip
    g.add_argument(
        "--vapid-subject", dest="alerts__vapid_subject",
        help="the contact push services see (mailto: or https:, RFC 8292)",
    )  # fmt: skip
    g.add_argument(
        "--sms-url", dest="alerts__sms_url",
        help='SMS gateway: POST {"to", "text"} as JSON here (https; off by default)',
    )  # fmt: skip
    g.add_argument(
        "--tick-interval", dest="alerts__tick_interval", type=float, help="deadline checks (0.2 s)"
    )
    g.add_argument(
        "--lease", dest="alerts__lease", type=float,
        help="seconds an outbox row is held by the replica sending it (5 s; "
        "docs/scale-alerts.md)",
    )  # fmt: skip
    g.add_argument(
        "--clock-offset-file",
        dest="alerts__clock_offset_file",
        help="TESTS AND DEMOS ONLY: seconds added to wall time, read from this file",
    )
    return p


def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.action == "check":
        return _check(settings)
    if args.action in ("closed-loop", "audit"):
        return _view(args, settings)
    from alerts import AlertService

    return run_service(AlertService(settings))


def _check(settings: Settings) -> int:
    from alerts import Policy
    from careloop.wire.needs import TIERS
    from people import load_roster_file

    policy = Policy.load(settings.alerts.policy)
    out: dict[str, Any] = {"policy": policy.source, "tiers": {}}
    for tier in TIERS:
        r = policy.rule(settings.site, tier, "help_request")
        out["tiers"][tier] = {
            "respond_s": r.respond_ms / 1000,
            "step_s": r.step_ms / 1000,
            "resolve_s": r.resolve_ms / 1000,
            "expire_s": r.expire_ms / 1000,
            "parallel": r.parallel,
            "chain": list(r.chain),
        }
    if settings.alerts.roster:
        roster = load_roster_file(settings.alerts.roster)
        out["volunteers"] = len(roster.volunteers)
        out["rotations"] = len(roster.rotations)
    print(json.dumps(out, indent=2))
    return 0


def _view(args: argparse.Namespace, settings: Settings) -> int:
    from alerts import AlertStore, closed_loop, summary

    store = AlertStore(settings.paths.alerts, url=settings.store_url)
    try:
        if args.action == "audit":
            entries = store.audit_log(args.alert)
            print(json.dumps([dataclasses.asdict(e) for e in entries]))
        else:
            records = closed_loop(store)
            print(json.dumps({"summary": summary(records), "data": records}))
    finally:
        store.close()
    return 0
