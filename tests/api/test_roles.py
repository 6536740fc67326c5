"""Every route × every role: 200/201/204 where allowed, else 401 (no token), 403 (wrong
role) or 404 (outside the caller's sites, or a resident the volunteer may not see).

Roles: admin; coordinator of site A; coordinator of site B; volunteer v1 of A; a device
token; anonymous. In site A, resident r1 consented to sharing details and vitals with
volunteers, r2 to nothing, r3 to details but not vitals.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tests.api.conftest import ROLES, World

#: Run on the SQLite and the PostgreSQL session server (tests/api/conftest.py).
BOTH_BACKENDS = True


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    #: A path template with {a} and {b} for the sites, and {u} for a fresh unique id.
    path: str
    expect: tuple[int, int, int, int, int, int]  # in ROLES order
    body: Callable[[World, str], Any] | None = None
    setup: Callable[[World, str], None] | None = None


def _site_body(w: World, u: str) -> Any:
    return {"id": f"s{u}", "name": "New"}


def _resident_body(w: World, u: str) -> Any:
    return {"site": w.site_a, "id": f"r{u}", "display_name": "New Person"}


def _volunteer_body(w: World, u: str) -> Any:
    return {"id": f"v{u}", "name": "New Volunteer", "sites": [w.site_a]}


def _rotation_body(w: World, u: str) -> Any:
    return {"site": w.site_a, "members": ["v1", "v2"], "start_ms": 0, "shift_ms": 43_200_000}


def _override_body(w: World, u: str) -> Any:
    return {"rotation": "a-days", "volunteer": "v2", "start_ms": 1, "end_ms": 2}


def _make_site(w: World, u: str) -> None:
    from people import Site

    w.directory.add_site(Site(f"s{u}", "Empty"))


def _make_volunteer(w: World, u: str) -> None:
    from people import Volunteer

    w.directory.add_volunteer(Volunteer(f"v{u}", "Leaving", (w.site_a,)))


def _make_rotation(w: World, u: str) -> None:
    from people import Rotation

    w.directory.put_rotation(Rotation(w.site_a, f"rot{u}", ("v1",), 0, 3_600_000))


def _make_override(w: World, u: str) -> None:
    _rotation(w)
    o = w.directory.add_override("a-days", "v2", 10, 20)
    w.extra[f"override-{u}"] = o.id


def _rotation(w: World) -> None:
    from people import NotFound, Rotation

    try:
        w.directory.rotation("a-days")
    except NotFound:
        w.directory.put_rotation(Rotation(w.site_a, "a-days", ("v1", "v2"), 0, 3_600_000))


R = "/api/v1/residents/{a}"
OK, NEW, GONE = 200, 201, 204
#               admin coord_a coord_b vol_a device public
CASES = [
    Case("list sites", "GET", "/api/v1/sites", (OK, OK, OK, OK, 403, 401)),
    Case("read site", "GET", "/api/v1/sites/{a}", (OK, OK, 404, OK, 403, 401)),
    Case("create site", "POST", "/api/v1/sites", (NEW, 403, 403, 403, 403, 401), _site_body),
    Case(
        "update site", "PATCH", "/api/v1/sites/{a}", (OK, OK, 404, 403, 403, 401),
        lambda w, u: {"name": "Rose Court"},
    ),
    Case(
        "delete site", "DELETE", "/api/v1/sites/s{u}", (GONE, 403, 403, 403, 403, 401),
        setup=_make_site,
    ),
    Case("on call", "GET", "/api/v1/sites/{a}/on-call", (OK, OK, 404, OK, 403, 401)),
    Case("list residents", "GET", "/api/v1/residents", (OK, OK, OK, OK, 403, 401)),
    Case(
        "create resident", "POST", "/api/v1/residents", (NEW, NEW, 404, 403, 403, 401),
        _resident_body,
    ),
    Case("read resident (consent)", "GET", R + "/r1", (OK, OK, 404, OK, 403, 401)),
    Case("read resident (no consent)", "GET", R + "/r2", (OK, OK, 404, 404, 403, 401)),
    Case("read resident (details only)", "GET", R + "/r3", (OK, OK, 404, OK, 403, 401)),
    Case(
        "update resident", "PATCH", R + "/r2", (OK, OK, 404, 403, 403, 401),
        lambda w, u: {"display_name": "Bob Birch"},
    ),
    Case("read care profile", "GET", R + "/r1/care-profile", (OK, OK, 404, OK, 403, 401)),
    Case("read care profile (no consent)", "GET", R + "/r2/care-profile",
         (OK, OK, 404, 404, 403, 401)),
    Case(
        "replace care profile", "PUT", R + "/r2/care-profile", (OK, OK, 404, 403, 403, 401),
        lambda w, u: {"language": "en"},
    ),
    Case("read consent", "GET", R + "/r1/consents", (OK, OK, 404, 403, 403, 401)),
    Case(
        "replace consent", "PUT", R + "/r2/consents", (OK, OK, 404, 403, 403, 401),
        lambda w, u: {},
    ),
    Case("vitals (consent)", "GET", R + "/r1/vitals", (OK, OK, 404, OK, 403, 401)),
    Case("vitals (details only)", "GET", R + "/r3/vitals", (OK, OK, 404, 404, 403, 401)),
    Case("vitals (no consent)", "GET", R + "/r2/vitals", (OK, OK, 404, 404, 403, 401)),
    Case("events", "GET", R + "/r1/events", (OK, OK, 404, OK, 403, 401)),
    Case("events (no consent)", "GET", R + "/r2/events", (OK, OK, 404, 404, 403, 401)),
    Case("needs", "GET", R + "/r1/needs", (OK, OK, 404, OK, 403, 401)),
    Case("needs (no consent)", "GET", R + "/r2/needs", (OK, OK, 404, 404, 403, 401)),
    Case("unknown resident", "GET", R + "/nobody", (404, 404, 404, 404, 403, 401)),
    Case("list volunteers", "GET", "/api/v1/volunteers", (OK, OK, OK, 403, 403, 401)),
    Case("my volunteer record", "GET", "/api/v1/volunteers/me", (404, OK, OK, OK, 403, 401)),
    Case("read volunteer", "GET", "/api/v1/volunteers/v1", (OK, OK, 404, OK, 403, 401)),
    Case("read another volunteer", "GET", "/api/v1/volunteers/v2", (OK, OK, 404, 404, 403, 401)),
    Case(
        "create volunteer", "POST", "/api/v1/volunteers", (NEW, NEW, 404, 403, 403, 401),
        _volunteer_body,
    ),
    Case(
        "update volunteer", "PATCH", "/api/v1/volunteers/v2", (OK, OK, 404, 403, 403, 401),
        lambda w, u: {"active": True},
    ),
    Case(
        "delete volunteer", "DELETE", "/api/v1/volunteers/v{u}", (GONE, GONE, 404, 403, 403, 401),
        setup=_make_volunteer,
    ),
    Case(
        "issue volunteer app credentials", "POST", "/api/v1/volunteers/v{u}/app-credentials",
        (NEW, NEW, 404, 403, 403, 401), setup=_make_volunteer,
    ),
    Case(
        "revoke volunteer app credentials (none issued)", "DELETE",
        "/api/v1/volunteers/v{u}/app-credentials", (404, 404, 404, 403, 403, 401),
        setup=_make_volunteer,
    ),
    Case("list rotations", "GET", "/api/v1/rotations", (OK, OK, OK, OK, 403, 401)),
    Case(
        "put rotation", "PUT", "/api/v1/rotations/rot{u}", (OK, OK, 404, 403, 403, 401),
        _rotation_body,
    ),
    Case(
        "read rotation", "GET", "/api/v1/rotations/rot{u}", (OK, OK, 404, OK, 403, 401),
        setup=_make_rotation,
    ),
    Case(
        "delete rotation", "DELETE", "/api/v1/rotations/rot{u}", (GONE, GONE, 404, 403, 403, 401),
        setup=_make_rotation,
    ),
    Case("list overrides", "GET", "/api/v1/overrides", (OK, OK, OK, OK, 403, 401)),
    Case(
        "create override", "POST", "/api/v1/overrides", (NEW, NEW, 404, 403, 403, 401),
        _override_body, setup=lambda w, u: _rotation(w),
    ),
    Case(
        "read override", "GET", "/api/v1/overrides/{o}", (OK, OK, 404, OK, 403, 401),
        setup=_make_override,
    ),
    Case(
        "delete override", "DELETE", "/api/v1/overrides/{o}", (GONE, GONE, 404, 403, 403, 401),
        setup=_make_override,
    ),
    Case("list alerts", "GET", "/api/v1/alerts", (OK, OK, OK, OK, 403, 401)),
    Case("list alerts of A", "GET", "/api/v1/alerts?site={a}", (OK, OK, 404, OK, 403, 401)),
    Case("unknown alert", "GET", "/api/v1/alerts/a-nope", (404, 404, 404, 404, 403, 401)),
    Case(
        "act on unknown alert", "POST", "/api/v1/alerts/a-nope/accept",
        (404, 404, 404, 404, 403, 401), lambda w, u: {},
    ),
    Case("sla", "GET", "/api/v1/sla", (OK, OK, OK, OK, 403, 401)),
    Case("sla of A", "GET", "/api/v1/sla?site={a}", (OK, OK, 404, OK, 403, 401)),
    Case("dead letters", "GET", "/api/v1/deadletters", (OK, OK, OK, 403, 403, 401)),
    Case("public board", "GET", "/api/v1/public/closed-loop", (OK, OK, OK, OK, OK, OK)),
    Case("session", "GET", "/api/v1/session", (OK, OK, OK, OK, OK, OK)),
    Case("healthz", "GET", "/healthz", (OK, OK, OK, OK, OK, OK)),
    Case("readyz", "GET", "/readyz", (OK, OK, OK, OK, OK, OK)),
    Case("metrics", "GET", "/metrics", (OK, 403, 403, 403, 403, 401)),
    Case("status page", "GET", "/status", (OK, OK, 404, 403, 403, 401)),
    Case("device status page", "GET", "/devices", (OK, OK, 404, 403, 403, 401)),
]  # fmt: skip


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_route_answers_each_role_as_documented(api: World, case: Case, role: str) -> None:
    u = uuid.uuid4().hex[:8]
    if case.setup is not None:
        case.setup(api, u)
    path = case.path.format(a=api.site_a, b=api.site_b, u=u, o=api.extra.get(f"override-{u}", 0))
    body = case.body(api, u) if case.body is not None else None
    with api.client(role) as c:
        response = c.request(case.method, path, json=body)
    expected = case.expect[ROLES.index(role)]
    assert response.status_code == expected, (case.name, role, response.text[:300])
    if expected >= 400:
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["status"] == expected
    if expected == 401:
        assert response.headers["www-authenticate"] == "Bearer"
