"""A resident's five weeks in a real InfluxDB (the report's week, 2026-W02 in Taipei, and
the four before it), a people database and an alert store: what every report test reads.

The report week differs from the four before on purpose: heart rate at night is 20 bpm
higher on three nights (Tue, Wed, Thu), the resident walks a third less, takes their
medication on five of seven mornings, and two needs were raised.
"""

from __future__ import annotations

import math
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from alerts.model import Alert
from alerts.store import AlertStore
from devservers import InfluxDB
from people import CareProfile, Consent, Directory, Resident, Site, Volunteer

SITE = "home-tw"
TZ = ZoneInfo("Asia/Taipei")
WEEK = "2026-W02"
MONDAY = date(2026, 1, 5)
FIRST = MONDAY - timedelta(days=28)
STEP_MIN = 10
#: Nights (local dates) whose 00:00-06:00 heart rate is high.
HIGH_NIGHTS = {MONDAY + timedelta(days=d) for d in (1, 2, 3)}
#: Mornings without the medication event.
NO_MEDICATION = {MONDAY + timedelta(days=d) for d in (2, 5)}


def ms(day: date, hour: int = 0, minute: int = 0) -> int:
    local = datetime(day.year, day.month, day.day, hour, minute, tzinfo=TZ)
    return int(local.timestamp() * 1000)


def _lines(resident: str) -> list[str]:
    rng = random.Random(7)
    tags = f"device=term-{resident},resident={resident},site={SITE}"
    out = []
    day = FIRST
    while day < MONDAY + timedelta(days=7):
        this_week = day >= MONDAY
        for k in range(24 * 60 // STEP_MIN):
            hour, minute = divmod(k * STEP_MIN, 60)
            ts = ms(day, hour, minute)
            night = hour < 6
            hr = 66 + 6 * math.sin((hour - 9) / 24 * 2 * math.pi) + rng.gauss(0, 1.5)
            if this_week and night and day in HIGH_NIGHTS:
                hr += 20
            in_bed = hour >= 22 or hour < 7
            steps = 0 if in_bed else int((40 if this_week else 60) + rng.uniform(-5, 5))
            out.append(
                f"vitals,{tags} heart_rate={hr:.1f},spo2={96 + rng.uniform(-1, 1):.1f},"
                f"respiration_rate={15 + rng.gauss(0, 0.8):.1f},"
                f"temperature={36.6 + rng.gauss(0, 0.15):.2f},steps={steps}i,"
                f"bed_occupied={'true' if in_bed else 'false'} {ts}"
            )
        if not (this_week and day in NO_MEDICATION):
            out.append(f"event,{tags},type=medication_taken n=1i {ms(day, 8, 20)}")
        if day.weekday() in (0, 3):
            out.append(f"event,{tags},type=checkup_done n=1i {ms(day, 10, 10)}")
        day += timedelta(days=1)
    return out


PROFILE = CareProfile.model_validate(
    {
        "language": "zh-Hant",
        "utc_offset_min": 480,
        "expectations": [
            {"name": "早餐後服藥", "event": "medication_taken", "at": "08:00", "window_min": 60},
            {"name": "量血壓", "event": "checkup_done", "at": "10:00", "weekdays": ["mon", "thu"]},
        ],
        "family": [
            {"email": "daughter@example.tw", "language": "zh-TW"},
            {"email": "grandson@example.org", "language": "en"},
        ],
    }
)


@dataclass
class World:
    influx_url: str
    database: str
    data_dir: Path
    people_db: Path
    alert_db: Path

    def flags(self) -> list[str]:
        return [
            "--site", SITE, "--influx-url", self.influx_url, "--influx-db", self.database,
            "--people-db", str(self.people_db), "--data-dir", str(self.data_dir),
        ]  # fmt: skip


def _people(path: Path) -> None:
    with Directory(path) as d:
        d.add_site(Site(SITE, "松柏之家", timezone="Asia/Taipei"))
        # r1 shares everything with family; r2 only the report without health; r3 nothing.
        for rid, name in (("r1", "王美玲"), ("r2", "陳志明"), ("r3", "林秀英")):
            d.add_resident(Resident(SITE, rid, name, "zh-Hant", PROFILE))
        d.set_consent(Consent(SITE, "r1", share_reports_with_family=True,
                              share_vitals_with_family=True))  # fmt: skip
        d.set_consent(Consent(SITE, "r2", share_reports_with_family=True))
        d.add_volunteer(
            Volunteer(
                "c01",
                "Coordinator",
                (SITE,),
                email="coord@example.org",
                languages=("en",),
                coordinator=True,
            )
        )
        d.add_volunteer(Volunteer("v01", "Volunteer", (SITE,), email="v01@example.org"))


def _alerts(path: Path) -> None:
    with AlertStore(path) as store:
        opened = ms(MONDAY + timedelta(days=2), 3, 0)
        store.save(
            Alert(
                "a-1",
                SITE,
                "r1",
                "heart_rate_abnormal",
                "important",
                "resolved",
                "n-1",
                opened,
                accepted_ms=opened + 4 * 60_000,
                resolved_ms=opened + 30 * 60_000,
                closed_ms=opened + 30 * 60_000,
            ),
            new=True,
        )
        opened = ms(MONDAY + timedelta(days=4), 14, 0)
        store.save(
            Alert(
                "a-2",
                SITE,
                "r1",
                "missed_care_plan",
                "general",
                "expired",
                "n-2",
                opened,
                closed_ms=opened + 3_600_000,
                respond_breached=True,
            ),
            new=True,
        )
        before = ms(MONDAY - timedelta(days=3), 12, 0)  # the week before: not in the report
        store.save(Alert("a-0", SITE, "r1", "sos", "emergency", "resolved", "n-0", before),
                   new=True)  # fmt: skip


@pytest.fixture(scope="module")
def world(influxdb: InfluxDB, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """Seeded once per module: five weeks of r1's and r2's readings (about 10,000 points)."""
    root = tmp_path_factory.mktemp("reports")
    name = f"test_{uuid.uuid4().hex[:8]}"
    influxdb.create_database(name)
    for rid in ("r1", "r2"):
        lines = _lines(rid)
        for i in range(0, len(lines), 5000):
            influxdb.write(name, lines[i : i + 5000])
    w = World(influxdb.url, name, root, root / "people.sqlite3", root / "alerts" / "alerts.sqlite3")
    _people(w.people_db)
    w.alert_db.parent.mkdir(parents=True, exist_ok=True)
    _alerts(w.alert_db)
    yield w
    influxdb.drop_database(name)
