"""``careloop registry``: which resident and site each device belongs to."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from careloop.errors import SettingsError
from careloop.settings import Settings


def register(sub: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser(
        "registry",
        help="register devices to residents and sites (ingest rejects unknown devices)",
        description="Manage the device registry ingest checks every message against: a device "
        "may only send readings for the resident and site it is registered to. "
        "add: one device (--device, --resident, --site). list: every device. "
        "import FILE: JSON lines or CSV with columns device,resident,site[,kind]. "
        "remove: one device.",
    )
    p.add_argument("action", choices=["add", "list", "import", "remove"])
    p.add_argument("file", nargs="?", type=Path, help="for import: the JSON-lines or CSV file")
    p.add_argument("--device", help="device id")
    p.add_argument("--resident", help="resident id the device serves")
    p.add_argument("--kind", help="device kind or role, e.g. terminal or voice (optional)")
    p.add_argument("--json", action="store_true", help="list as JSON lines")
    return p


def run(args: argparse.Namespace, settings: Settings) -> int:
    from people import Device, DeviceRegistry, read_devices

    with DeviceRegistry(settings.paths.people, url=settings.store_url) as registry:
        if args.action == "add":
            if not args.device or not args.resident:
                raise SettingsError("device", "registry add needs --device and --resident")
            registry.add([Device(args.device, settings.site, args.resident, args.kind)])
            print(f"registered {args.device} -> resident {args.resident} at {settings.site}")
        elif args.action == "remove":
            if not args.device:
                raise SettingsError("device", "registry remove needs --device")
            gone = registry.remove(args.device)
            print(f"removed {args.device}" if gone else f"{args.device} was not registered")
        elif args.action == "import":
            if args.file is None:
                raise SettingsError("file", "registry import needs a FILE")
            devices = list(read_devices(args.file, site=settings.site))
            registry.add(devices)
            print(f"imported {len(devices)} devices from {args.file}")
        else:
            _list(registry.devices(), as_json=args.json)
    return 0


def _list(devices: list[Any], *, as_json: bool) -> None:
    if as_json:
        for d in devices:
            row = {"device": d.device, "resident": d.resident, "site": d.site, "kind": d.kind}
            print(json.dumps({**row, "registered_at": d.registered_at}))
        return
    print(f"{len(devices)} devices")
    for d in devices:
        print(f"  {d.device:<24} resident {d.resident:<16} site {d.site:<16} {d.kind or ''}")
