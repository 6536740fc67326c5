"""Vitals and events of a resident over a time range, from the real InfluxDB (InfluxQL)."""

from __future__ import annotations

from tests.api.conftest import World

T = 1_767_000_000_000
MIN = 60_000


def _write(api: World, resident: str) -> None:
    site = api.site_a
    lines = [
        f"vitals,device=term-{resident},resident={resident},site={site} "
        f"heart_rate={70.0 + i},spo2={96.0 + (i % 2)} {T + i * MIN}"
        for i in range(10)
    ]
    lines.append(  # another resident, same site: must not show up
        f"vitals,device=term-x,resident={resident}x,site={site} heart_rate=150.0 {T}"
    )
    lines += [
        f"event,device=term-{resident},resident={resident},site={site},type=sos_button "
        f"confidence=1.0,n=1i {T + 2 * MIN}",
        f"event,device=term-{resident},resident={resident},site={site},type=door "
        f"n=1i {T + 3 * MIN}",
        f"event,device=term-{resident},resident={resident},site={site},type=door "
        f"n=1i {T + 4 * MIN}",
    ]
    api.influx.write(api.settings.influx.database, lines)


def test_vitals_raw_points_in_range(api: World) -> None:
    _write(api, "r1")
    with api.client("vol_a") as c:
        body = c.get(
            f"/api/v1/residents/{api.site_a}/r1/vitals",
            params={"start": T + MIN, "end": T + 5 * MIN, "fields": "heart_rate,spo2"},
        ).json()
    assert body["every_s"] is None
    assert body["series"]["heart_rate"] == [[T + i * MIN, 70.0 + i] for i in range(1, 5)]
    assert body["series"]["spo2"] == [[T + i * MIN, 96.0 + (i % 2)] for i in range(1, 5)]


def test_long_range_is_averaged_with_group_by_time(api: World) -> None:
    _write(api, "r1")
    with api.client("admin") as c:
        body = c.get(
            f"/api/v1/residents/{api.site_a}/r1/vitals",
            params={"start": T, "end": T + 10 * MIN, "fields": "heart_rate", "every": 300},
        ).json()
        auto = c.get(
            f"/api/v1/residents/{api.site_a}/r1/vitals",
            params={"start": T - 86_400_000, "end": T + 86_400_000, "fields": "heart_rate"},
        ).json()
    # 5-minute buckets from T (T is a multiple of 5 min): means of 70..74 and 75..79
    assert body["every_s"] == 300
    assert body["series"]["heart_rate"] == [[T, 72.0], [T + 5 * MIN, 77.0]]
    # two days: auto bucket (<= max_points per series), the same readings averaged
    assert auto["every_s"] == 87  # ceil(2 days / 2000 points)
    points = auto["series"]["heart_rate"]
    assert 7 <= len(points) <= 10  # 9 minutes of readings in 87 s buckets
    assert all(70.0 <= v <= 79.0 for _, v in points)
    assert all(isinstance(ts, int) for ts, _ in points)


def test_events_by_type_raw_and_counted(api: World) -> None:
    _write(api, "r1")
    with api.client("coord_a") as c:
        raw = c.get(
            f"/api/v1/residents/{api.site_a}/r1/events",
            params={"start": T, "end": T + 10 * MIN},
        ).json()
        counted = c.get(
            f"/api/v1/residents/{api.site_a}/r1/events",
            params={"start": T, "end": T + 10 * MIN, "every": 600},
        ).json()
    assert raw["series"] == {
        "door": [[T + 3 * MIN, 1.0], [T + 4 * MIN, 1.0]],
        "sos_button": [[T + 2 * MIN, 1.0]],
    }
    assert counted["series"] == {"door": [[T, 2.0]], "sos_button": [[T, 1.0]]}


def test_bad_ranges_and_fields_are_422(api: World) -> None:
    base = f"/api/v1/residents/{api.site_a}/r1/vitals"
    with api.client("admin") as c:
        backwards = c.get(base, params={"start": T, "end": T - 1})
        unknown = c.get(base, params={"start": T, "end": T + 1, "fields": "posture"})
        injection = c.get(base, params={"start": T, "end": T + 1, "fields": 'heart_rate" --'})
    assert backwards.status_code == 422
    assert unknown.status_code == 422
    assert injection.status_code == 422
