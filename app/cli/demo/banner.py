"""What the demo prints and opens: the banner of links and commands, and the dashboard."""

from __future__ import annotations

import os
import sys

from app.cli.demo.seed import SHOWCASE
from careloop.settings import Settings
from simulators import CareHome


def open_browser(url: str) -> bool:
    """Open ``url`` in a desktop browser, if this looks like a desktop session; never fails.

    Only with a terminal on stdout (not under tests or a service manager) and a display (or
    macOS): on a bare console Python's webbrowser would start a text browser that takes over
    the very terminal showing the banner.
    """
    if not sys.stdout.isatty():
        return False
    if sys.platform != "darwin" and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    ):
        return False
    import webbrowser

    try:
        return webbrowser.open(url, new=2)
    except Exception:  # a missing or broken browser never stops the demo
        return False


def print_banner(
    settings: Settings,
    ports: dict[str, int],
    home: CareHome,
    speed: float,
    startup_s: float,
    dashboard: str,
    app: str,
    family: str,
) -> None:
    m, db = settings.mqtt, settings.influx.database
    port = settings.influx.url.rsplit(":", 1)[1]
    residents = len(home.profiles)
    shown = []
    for label in home.labels[: len(SHOWCASE)]:
        sim_s = (label.start - home.start_ms) / 1000
        if sim_s < 3600:  # a showcase episode, not the first of the default schedule
            wall_s = sim_s / speed if speed > 0 else 0.0
            shown.append(f"{label.resident} {label.scenario} at ~{wall_s:.0f} s")
    showcase = (",\n" + " " * 24).join(shown) or "off (default schedule only: episodes from day 2)"
    print(
        f"""
careloop demo is running (started in {startup_s:.1f} s)
  dashboard           : {dashboard}
                        (signs in as the demo site's coordinator: the live alert board,
                         residents' vitals, SLA charts; public board: /public)
  volunteer app       : {app}
                        (the volunteers' phone app, signed in once as simulated volunteer
                         v01, who ignores pages: answer them there; docs/app.md)
  family page         : {family}
                        (as the family of {home.profiles[0].id}: weekly report, requests,
                         complaints, thanks, ratings; docs/family.md)
  simulated residents : {residents} at site {settings.site!r} (labels: {settings.data_dir}/sim/)
  MQTT broker         : mqtt://{m.host}:{m.port}  (anonymous, no TLS: demo only)
      watch it        : mosquitto_sub -h {m.host} -p {m.port} -t 'careloop/v1/#' -v
  InfluxDB            : {settings.influx.url}  (database {db}, written by careloop ingest;
                        no authentication, no TLS: demo only)
      query it        : influx -port {port} -database {db} -precision rfc3339 -execute \\
                          "SELECT * FROM vitals WHERE resident='r001' ORDER BY time DESC LIMIT 5"
  ingest              : metrics http://127.0.0.1:{ports["ingest"]}/metrics
                        log {settings.data_dir}/ingest.log
  score               : care needs from the readings (careloop score)
      watch needs     : mosquitto_sub -h {m.host} -p {m.port} -t 'careloop/needs/v1/#' -v
      showcase        : {showcase}
                        metrics http://127.0.0.1:{ports["score"]}/metrics
                        log {settings.data_dir}/score.log
  alerts              : needs -> alerts -> simulated volunteers v01-v06 (v01 ignores pages,
                        v02 declines, v03 accepts), deadlines shortened to seconds
      watch pages     : mosquitto_sub -h {m.host} -p {m.port} -t 'careloop/alerts/v1/#' -v
                        log {settings.data_dir}/volunteers.log
  device status       : http://127.0.0.1:{ports["http"]}/devices   (JSON: /status)
  log                 : {settings.data_dir}/demo.log (this process: simulated devices, alerts)
  security            : DEMO USE ONLY. The broker and InfluxDB accept anyone, without TLS,
                        and the dashboard is plain HTTP with a non-Secure session cookie:
                        all on loopback (127.0.0.1), never reachable from another machine.
                        To deploy with TLS and passwords on every hop: docs/deploy.md
Press Ctrl-C to stop everything.
""",
        flush=True,
    )
