"""/healthz, /readyz and /metrics on the real servers."""

from __future__ import annotations

import pytest

from tests.api.conftest import World


def test_healthz_and_readyz_are_public_and_ready(api: World) -> None:
    with api.client() as c:
        assert c.get("/healthz").json() == {"status": "ok"}
        ready = c.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {
        "ready": True,
        "checks": {"broker": True, "influxdb": True, "sqlite": True, "database": True},
    }


def test_metrics_count_requests_by_route_template_for_admins_only(api: World) -> None:
    with api.client("admin") as c:
        c.get(f"/api/v1/residents/{api.site_a}/r1")
        text = c.get("/metrics").text
    assert 'route="/api/v1/residents/{site}/{resident}"' in text
    assert "careloop_api_requests_total" in text
    assert "r1" not in text.split("careloop_api_audited_reads_total")[0].replace("r1'", "")
    with api.client("coord_a") as c:
        assert c.get("/metrics").status_code == 403
    with api.client() as c:
        assert c.get("/metrics").status_code == 401


def test_a_scrape_token_must_be_long_and_stays_secret() -> None:
    """``api.metrics_token`` is refused under 32 characters and never printed."""
    import pydantic

    from careloop.apisettings import ApiSettings

    with pytest.raises(pydantic.ValidationError, match="metrics_token"):
        ApiSettings(metrics_token="short")  # type: ignore[arg-type]
    settings = ApiSettings(metrics_token="m" * 32)  # type: ignore[arg-type]
    assert "m" * 32 not in repr(settings) and "m" * 32 not in settings.model_dump_json()
