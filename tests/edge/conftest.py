"""Edge test helpers: settings pointing at a test broker."""

from __future__ import annotations

from pathlib import Path

from careloop.settings import Settings, load_settings


def edge_settings(broker, site: str, data_dir: Path, **edge) -> Settings:
    return load_settings(
        site=site,
        data_dir=str(data_dir),
        mqtt={
            "host": broker.host,
            "port": broker.port,
            "backoff_initial": 0.1,
            "backoff_max": 1.0,
            "publish_timeout": 5.0,
        },
        edge={"synchronous": "normal", **edge},
    )
