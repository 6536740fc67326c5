"""The ``careloop`` command: one entry point, one subcommand module per job.

Each subcommand module exposes ``register(subparsers)`` (its flags and ``--help``) and a
``run(args, settings) -> int``. :func:`main` parses the flags, builds the process's one
:class:`~careloop.settings.Settings` from env vars plus flags, sets up logging, and
dispatches. Errors of ours become one clear line and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from app.cli import (
    alerts,
    api,
    bench,
    deadletters,
    demo,
    edge,
    ingest,
    people,
    registry,
    report,
    score,
    simulate,
    token,
    train,
)
from app.cli import eval as eval_cmd
from app.cli.common import add_common_flags, settings_from_args
from careloop import __version__
from careloop.errors import CareloopError
from careloop.logs import setup_logging

SUBCOMMANDS = (
    demo,
    simulate,
    edge,
    ingest,
    score,
    registry,
    people,
    deadletters,
    alerts,
    report,
    api,
    token,
    bench,
    eval_cmd,
    train,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="careloop",
        description="careloop: smart-care terminals and voice devices -> MQTT -> InfluxDB -> "
        "care needs -> volunteers. Settings come from CARELOOP_* env vars; flags override.",
    )
    parser.add_argument("--version", action="version", version=f"careloop {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in SUBCOMMANDS:
        sp = module.register(sub)
        add_common_flags(sp)
        sp.set_defaults(run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = settings_from_args(args)
        setup_logging(settings.log_level, settings.log_format)
        return int(args.run(args, settings) or 0)
    except CareloopError as exc:
        print(f"careloop {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
