"""The shard map in settings and the kernel's sharded InfluxDB clients, against two real
influxd: writes split by site tag, queries routed by site or fanned out and merged, and the
errors naming the shard."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from careloop.errors import SettingsError
from careloop.influx import InfluxRejected, InfluxUnavailable
from careloop.settings import load_settings
from careloop.shards import ShardMap, connect_sharded, connect_sharded_async, merge
from devservers import free_port


@pytest.mark.parametrize(
    ("influx", "message"),
    [
        ({"sites": {"home-a": "north"}}, "unknown shard 'north'; known shards: default"),
        ({"shards": {"b": "ftp://x"}}, "shard 'b': must be an http(s)://host"),
        ({"shards": {"b": "http://127.0.0.1:port"}}, "shard 'b': URL has a bad port"),
        ({"shards": {"b": "http://10.1.2.3:8086"}}, "would travel in clear"),
        ({"shards": {"default": "http://127.0.0.1:1"}}, "shard 'default' is influx.url"),
        ({"shards": {"b c": "http://127.0.0.1:1"}}, "shard: must match"),
        ({"shards": {"b": "http://127.0.0.1:1"}, "sites": {"a b": "b"}}, "site: must match"),
    ],
)
def test_a_bad_shard_map_is_refused_at_start_with_a_clear_error(influx, message):
    with pytest.raises(SettingsError, match="influx") as refused:
        load_settings(influx=influx)
    assert message in str(refused.value)


def test_the_default_is_one_server_and_the_map_reads_from_env(monkeypatch):
    single = ShardMap.of(load_settings().influx)
    assert single.single and single.names == ["default"]
    assert single.shard_of("anything") == "default"
    monkeypatch.setenv("CARELOOP_INFLUX__SHARDS", '{"b": "https://influx-b.example:8086"}')
    monkeypatch.setenv("CARELOOP_INFLUX__SITES", '{"home-b": "b"}')
    shards = ShardMap.of(load_settings().influx)
    assert shards.urls == {"default": "http://127.0.0.1:8086", "b": "https://influx-b.example:8086"}
    assert shards.shard_of("home-b") == "b" and shards.shard_of("home-a") == "default"
    assert shards.shards_of(["home-b", "home-a", "home-c"]) == ["default", "b"]
    assert shards.shards_of(["home-b"]) == ["b"]
    assert shards.shards_of(None) == ["default", "b"]


def test_merge_keeps_each_statements_series_apart():
    one = {"results": [{"statement_id": 0, "series": [{"name": "x"}]}, {"statement_id": 1}]}
    two = {"results": [{"statement_id": 0, "series": [{"name": "y"}]}, {"statement_id": 1}]}
    assert merge([one, two]) == {
        "results": [
            {"statement_id": 0, "series": [{"name": "x"}, {"name": "y"}]},
            {"statement_id": 1},
        ]
    }


def test_writes_and_queries_route_by_site_on_two_servers(influxdb, private_influxdb):
    db = f"t_{uuid.uuid4().hex[:8]}"
    settings = load_settings(
        influx={
            "url": influxdb.url,
            "database": db,
            "shards": {"b": private_influxdb.url},
            "sites": {"home-b": "b"},
        }
    ).influx
    with connect_sharded(settings) as client:
        client.create_database()
        try:
            body = "\n".join(
                f"vitals,device=d,resident=r,site={site} hr={n}.0 {1000 + n}"
                for n, site in enumerate(["home-a", "home-b", "home-a", "home-b", "home-c"])
            )
            client.write(body.encode())
            q = "SELECT count(hr) FROM vitals GROUP BY site"

            def counts(answer) -> dict[str, int]:
                series = answer["results"][0].get("series") or []
                return {s["tags"]["site"]: s["values"][0][1] for s in series}

            assert counts(influxdb.query(q, db)) == {"home-a": 2, "home-c": 1}
            assert counts(private_influxdb.query(q, db)) == {"home-b": 2}
            assert counts(client.query(q)) == {"home-a": 2, "home-c": 1, "home-b": 2}
            assert counts(client.query(q, sites=["home-b"])) == {"home-b": 2}
            assert counts(client.query(q, sites=["home-c"])) == {"home-a": 2, "home-c": 1}
            assert client.site("home-b") is client.clients["b"]

            async def read() -> tuple[dict, dict]:
                async with connect_sharded_async(settings) as reader:
                    return await reader.query(q), await reader.query(q, sites=["home-b"])

            every, only_b = asyncio.run(read())
            assert counts(every) == {"home-a": 2, "home-c": 1, "home-b": 2}
            assert counts(only_b) == {"home-b": 2}
        finally:
            client.drop_database()


def test_a_shard_without_the_database_has_no_points_and_a_down_one_is_named(
    influxdb, influx_db, private_influxdb
):
    settings = load_settings(
        influx={
            "url": influxdb.url,
            "database": influx_db,
            "shards": {"gone": f"http://127.0.0.1:{free_port()}"},
            "sites": {"home-g": "gone"},
        }
    ).influx
    influxdb.write(influx_db, ["vitals,site=home-a hr=1.0 1000"])
    with connect_sharded(settings) as client:
        q = "SELECT count(hr) FROM vitals"
        assert client.query(q, sites=["home-a"])["results"][0]["series"][0]["values"][0][1] == 1
        with pytest.raises(InfluxUnavailable, match=r"^shard gone: ") as down:
            client.query(q)
        assert down.value.shard == "gone"
        with pytest.raises(InfluxUnavailable, match="shard gone"):
            client.write(b"vitals,site=home-g hr=1.0 1\nvitals,site=home-a hr=2.0 2000")
        # the other shard's line was written all the same
        assert influxdb.query(q, influx_db)["results"][0]["series"][0]["values"][0][1] == 2
        assert {k: v is None for k, v in client.ping_each().items()} == {
            "default": True,
            "gone": False,
        }
    # A shard nobody has written to yet (no database): no points from it...
    fresh = settings.model_copy(update={"shards": {"new": private_influxdb.url}, "sites": {}})
    with connect_sharded(fresh) as client:
        assert client.query(q)["results"][0]["series"][0]["values"][0][1] == 2
    # ...and no shard with the database: the answer one server would give.
    missing = fresh.model_copy(update={"database": f"none_{uuid.uuid4().hex[:6]}"})
    with connect_sharded(missing) as client, pytest.raises(InfluxRejected, match="not found"):
        client.query(q)


def test_the_map_from_command_line_flags():
    from app.cli import build_parser
    from app.cli.common import settings_from_args

    parser = build_parser()
    args = parser.parse_args(
        ["ingest", "--influx-shard", "north=https://influx-2.example:8086",
         "--influx-shard", "south=https://influx-3.example:8086",
         "--influx-site", "rose-court=north", "--influx-site", "elm-house=south"]
    )  # fmt: skip
    influx = settings_from_args(args).influx
    assert influx.shards == {
        "north": "https://influx-2.example:8086",
        "south": "https://influx-3.example:8086",
    }
    assert influx.sites == {"rose-court": "north", "elm-house": "south"}
    bad = parser.parse_args(["ingest", "--influx-site", "rose-court"])
    with pytest.raises(SettingsError, match="expected SITE=SHARD, got 'rose-court'"):
        settings_from_args(bad)
    unknown = parser.parse_args(["ingest", "--influx-site", "rose-court=west"])
    with pytest.raises(SettingsError, match="unknown shard 'west'"):
        settings_from_args(unknown)
