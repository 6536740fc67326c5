"""Flags every subcommand shares, and the one place flags become :class:`Settings`."""

from __future__ import annotations

import argparse
from typing import Any

from careloop.errors import SettingsError
from careloop.settings import Settings, load_settings


def add_common_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("common settings (also CARELOOP_* env vars)")
    group.add_argument("--site", help="site id (CARELOOP_SITE; default demo-home)")
    group.add_argument("--data-dir", help="where local state lives (CARELOOP_DATA_DIR; var)")
    group.add_argument("--mqtt-host", help="broker host (CARELOOP_MQTT__HOST; 127.0.0.1)")
    group.add_argument(
        "--mqtt-port",
        type=int,
        help="broker port (CARELOOP_MQTT__PORT; 8883 with TLS, 1883 without)",
    )
    group.add_argument(
        "--mqtt-tls",
        action=argparse.BooleanOptionalAction,
        help="TLS to the broker, its certificate verified (CARELOOP_MQTT__TLS; on unless the "
        "host is loopback; --no-mqtt-tls is refused for any other host)",
    )
    group.add_argument(
        "--mqtt-ca-file",
        help="CA bundle (PEM) the broker's certificate must chain to "
        "(CARELOOP_MQTT__CA_FILE; the system's CAs)",
    )
    group.add_argument(
        "--mqtt-cert-file",
        help="client certificate (PEM), for a broker that requires one (CARELOOP_MQTT__CERT_FILE)",
    )
    group.add_argument(
        "--mqtt-key-file",
        help="the client certificate's private key (CARELOOP_MQTT__KEY_FILE; default: in the "
        "cert file)",
    )
    group.add_argument("--influx-url", help="InfluxDB URL (CARELOOP_INFLUX__URL)")
    group.add_argument("--influx-db", help="InfluxDB database (CARELOOP_INFLUX__DATABASE)")
    group.add_argument(
        "--influx-shard",
        action="append",
        metavar="NAME=URL",
        help="another InfluxDB server, a shard; repeat for more (CARELOOP_INFLUX__SHARDS, a "
        "JSON object; --influx-url is the shard 'default'; docs/scale-influx.md)",
    )
    group.add_argument(
        "--influx-site",
        action="append",
        metavar="SITE=SHARD",
        help="the shard holding a site's readings; repeat for more (CARELOOP_INFLUX__SITES; "
        "a site not named is on 'default')",
    )
    group.add_argument(
        "--people-db",
        help="the people database: residents, volunteers, devices, tokens "
        "(CARELOOP_PEOPLE__DB; DATA_DIR/people.sqlite3)",
    )
    group.add_argument("--log-level", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    group.add_argument("--log-format", choices=["text", "json"])


def settings_from_args(args: argparse.Namespace, **extra: Any) -> Settings:
    """Env vars, then the common flags, then a subcommand's own ``extra`` overrides."""
    overrides: dict[str, Any] = {
        "site": args.site,
        "data_dir": args.data_dir,
        "log_level": args.log_level,
        "log_format": args.log_format,
        "mqtt": {
            "host": args.mqtt_host,
            "port": args.mqtt_port,
            "tls": args.mqtt_tls,
            "ca_file": args.mqtt_ca_file,
            "cert_file": args.mqtt_cert_file,
            "key_file": args.mqtt_key_file,
        },
        "influx": {
            "url": args.influx_url,
            "database": args.influx_db,
            "shards": pairs(args.influx_shard, "influx.shards", "NAME=URL"),
            "sites": pairs(args.influx_site, "influx.sites", "SITE=SHARD"),
        },
        "people": {"db": args.people_db},
    }
    # Subcommand flags whose dest is "<section>__<name>" (e.g. edge__device) land in that
    # section, so a subcommand adds settings flags without touching this function.
    for dest, value in vars(args).items():
        if "__" in dest:
            section, name = dest.split("__", 1)
            overrides.setdefault(section, {})[name] = value
    for key, value in extra.items():
        overrides[key] = value
    return load_settings(**overrides)


def pairs(values: list[str] | None, setting: str, shape: str) -> dict[str, str] | None:
    """``["a=x", "b=y"]`` as ``{"a": "x", "b": "y"}`` (None when the flag was not given)."""
    if not values:
        return None
    out: dict[str, str] = {}
    for value in values:
        key, sep, rest = value.partition("=")
        if not (sep and key.strip() and rest.strip()):
            raise SettingsError(setting, f"expected {shape}, got {value!r}")
        out[key.strip()] = rest.strip()
    return out
