"""InfluxDB spoken through ``/write`` (line protocol) and ``/query`` (InfluxQL) only.

That one path is served natively by InfluxDB 1.x and for compatibility by 2.x and 3.x, so
careloop works against all three (``influxdb-client`` writes to ``/api/v2``, which 1.x
answers with 404; see docs/ingest.md). This is careloop's one InfluxDB client: ingest's
writers, the API's queries, retention, erasure, the benchmarks and the test servers all go
through it, so quoting, authentication, TLS and the reading of InfluxDB's answers are
written once. Errors::

    CareloopError
    └── InfluxError              InfluxDB did not do what was asked
        ├── InfluxUnavailable    down, unreachable, 5xx, 429, auth, database missing: retry
        └── InfluxRejected       400/413/422 or a statement error: the same request will
                                 fail again (ingest splits and dead-letters such points)

:class:`InfluxClient` is synchronous over one keep-alive ``http.client`` connection (the
least overhead per request on ingest's hot path; not thread-safe: one per thread).
:class:`AsyncInfluxClient` is the same protocol over ``httpx`` for the asyncio API. Build
either from settings with :func:`connect` / :func:`connect_async`.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import ssl
import urllib.parse
from base64 import b64encode
from typing import TYPE_CHECKING, Any, Self

from careloop.errors import CareloopError

if TYPE_CHECKING:
    from careloop.settings import InfluxSettings

#: Statuses that mean "these points are refused", not "InfluxDB is unwell".
REJECTED = frozenset({400, 413, 422})


class InfluxError(CareloopError):
    """InfluxDB did not store the points or answer the query."""

    def __init__(self, reason: str, *, status: int | None = None) -> None:
        self.reason = reason
        self.status = status
        #: The shard that failed, when there are several (:mod:`careloop.shards`).
        self.shard: str | None = None
        shown = f"HTTP {status}: " if status is not None else ""
        super().__init__(f"{shown}{reason}")


class InfluxUnavailable(InfluxError):
    """InfluxDB is down or not accepting requests right now; the same request may work later."""


class InfluxRejected(InfluxError):
    """InfluxDB refused the request for good; sending the same bytes will fail again."""


# -- InfluxQL quoting ----------------------------------------------------------------------------
def ident(name: str) -> str:
    """A double-quoted InfluxQL identifier (database, measurement, field, policy)."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def literal(value: str) -> str:
    """A single-quoted InfluxQL string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def first_series(answer: dict[str, Any]) -> list[dict[str, Any]]:
    """The ``series`` of the first statement's result (empty when it has none)."""
    results = answer.get("results") or [{}]
    series: list[dict[str, Any]] = results[0].get("series") or []
    return series


def error_text(body: bytes) -> str:
    """InfluxDB's ``{"error": "..."}`` message, or the start of whatever it said."""
    try:
        answer = json.loads(body)
        if isinstance(answer, dict) and "error" in answer:
            return str(answer["error"])[:1000]
    except ValueError:
        pass
    return body[:1000].decode("utf-8", "replace") or "(empty answer)"


def check_write(status: int, body: bytes) -> None:
    """Raise the error a ``/write`` answer means (204 and 200 are success)."""
    if status in (200, 204):
        return
    if status in REJECTED:
        raise InfluxRejected(error_text(body), status=status)
    raise InfluxUnavailable(error_text(body), status=status)


def check_query(status: int, body: bytes) -> dict[str, Any]:
    """The decoded answer of a ``/query``, or the error it means.

    InfluxDB answers statement errors with HTTP 200 and an ``error`` per result, so those
    are read too. A missing database is a statement error on 1.x ("database not found").
    """
    if status >= 500 or status in (401, 403, 429):
        raise InfluxUnavailable(error_text(body), status=status)
    try:
        answer: dict[str, Any] = json.loads(body)
    except ValueError as exc:
        raise InfluxUnavailable(f"not JSON: {body[:200]!r}", status=status) from exc
    if not isinstance(answer, dict):
        raise InfluxUnavailable("answer is not a JSON object", status=status)
    errors = [str(answer["error"])] if "error" in answer else []
    errors += [str(r["error"]) for r in answer.get("results", []) if "error" in r]
    if errors or status >= 400:
        raise InfluxRejected("; ".join(errors) or error_text(body), status=status)
    return answer


def auth_header(token: str | None, username: str | None, password: str | None) -> str | None:
    """``Authorization`` for InfluxDB: a 2.x/3.x token, or 1.x user and password (Basic)."""
    if token:
        return f"Token {token}"
    if username:
        raw = f"{username}:{password or ''}".encode()
        return "Basic " + b64encode(raw).decode("ascii")
    return None


def tls_context(ca_file: str | None = None) -> ssl.SSLContext:
    """A verifying client context (the system's CAs, or ``ca_file``'s)."""
    return ssl.create_default_context(cafile=ca_file)


class InfluxClient:
    """``/write`` and ``/query`` for one database over one keep-alive connection."""

    def __init__(
        self,
        url: str,
        database: str,
        *,
        token: str | None = None,
        username: str | None = None,
        password: str | None = None,
        ca_file: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InfluxRejected(f"InfluxDB URL must be http(s)://host[:port], got {url!r}")
        self.url = url
        self.database = database
        self._https = parts.scheme == "https"
        self._tls = tls_context(ca_file) if self._https else None
        self._host = parts.hostname
        self._port = parts.port or (443 if self._https else 80)
        self._base = parts.path.rstrip("/")
        self._timeout = timeout
        query = urllib.parse.urlencode({"db": database, "precision": "ms"})
        self._write_path = f"{self._base}/write?{query}"
        #: Write paths per retention policy (``rp=``), built once each.
        self._rp_paths: dict[str, str] = {}
        self._headers = {"Content-Type": "text/plain; charset=utf-8"}
        auth = auth_header(token, username, password)
        if auth:
            self._headers["Authorization"] = auth
        self._conn: http.client.HTTPConnection | None = None

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            if self._https:
                self._conn = http.client.HTTPSConnection(
                    self._host, self._port, timeout=self._timeout, context=self._tls
                )
            else:
                self._conn = http.client.HTTPConnection(
                    self._host, self._port, timeout=self._timeout
                )
        return self._conn

    def _request(
        self, method: str, path: str, body: bytes, headers: dict[str, str]
    ) -> tuple[int, bytes]:
        """One request; a keep-alive connection the server closed while idle is retried once."""
        for attempt in (0, 1):
            reused = self._conn is not None
            conn = self._connection()
            try:
                conn.request(method, path, body, headers)
                response = conn.getresponse()
                return response.status, response.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as exc:
                self.close()
                if reused and attempt == 0:
                    continue
                raise InfluxUnavailable(f"{type(exc).__name__}: {exc}") from exc
            except (OSError, http.client.HTTPException) as exc:
                self.close()
                raise InfluxUnavailable(f"{type(exc).__name__}: {exc}") from exc
        raise AssertionError("unreachable")

    def write(self, body: bytes, rp: str | None = None) -> None:
        """Store ``body`` (line protocol, ms precision) in retention policy ``rp`` (None:
        the database's default)."""
        path = self._write_path
        if rp is not None:
            path = self._rp_paths.get(rp) or self._rp_paths.setdefault(
                rp, f"{path}&{urllib.parse.urlencode({'rp': rp})}"
            )
        check_write(*self._request("POST", path, body, self._headers))

    def query(self, q: str, *, epoch: str | None = None, db: bool = True) -> dict[str, Any]:
        """Run InfluxQL through ``POST /query`` (``db=False``: without a database)."""
        params = {"q": q}
        if db:
            params["db"] = self.database
        if epoch is not None:
            params["epoch"] = epoch
        body = urllib.parse.urlencode(params).encode()
        headers = {**self._headers, "Content-Type": "application/x-www-form-urlencoded"}
        return check_query(*self._request("POST", f"{self._base}/query", body, headers))

    def create_database(self) -> None:
        """``CREATE DATABASE`` (1.x; succeeds if it exists, 2.x/3.x refuse it)."""
        self.query(f"CREATE DATABASE {ident(self.database)}", db=False)

    def drop_database(self) -> None:
        """``DROP DATABASE`` and all its points (succeeds if it does not exist)."""
        self.query(f"DROP DATABASE {ident(self.database)}", db=False)

    def ping(self) -> None:
        """Raise InfluxUnavailable unless ``/ping`` answers 204."""
        status, body = self._request("GET", f"{self._base}/ping", b"", self._headers)
        if status != 204:
            raise InfluxUnavailable(error_text(body), status=status)

    def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(OSError):
                self._conn.close()
            self._conn = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncInfluxClient:
    """The same protocol on asyncio (httpx); ``async with`` owns the connection pool."""

    def __init__(
        self,
        url: str,
        database: str,
        *,
        token: str | None = None,
        username: str | None = None,
        password: str | None = None,
        ca_file: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        import httpx

        self.url = url
        self.database = database
        auth = auth_header(token, username, password)
        self._http = httpx.AsyncClient(
            base_url=url,
            timeout=timeout,
            trust_env=False,  # an HTTP(S)_PROXY must not capture InfluxDB's URL
            verify=tls_context(ca_file) if url.startswith("https") else True,
            headers={"Authorization": auth} if auth else None,
        )

    async def query(self, q: str, *, epoch: str | None = "ms") -> dict[str, Any]:
        """Run InfluxQL (``GET /query``: reads only) against this client's database."""
        import httpx

        params = {"db": self.database, "q": q}
        if epoch is not None:
            params["epoch"] = epoch
        try:
            response = await self._http.get("/query", params=params)
        except httpx.HTTPError as exc:
            raise InfluxUnavailable(_unreachable(exc)) from exc
        return check_query(response.status_code, response.content)

    async def ping(self) -> None:
        import httpx

        try:
            response = await self._http.get("/ping")
        except httpx.HTTPError as exc:
            raise InfluxUnavailable(_unreachable(exc)) from exc
        if response.status_code != 204:
            raise InfluxUnavailable(error_text(response.content), status=response.status_code)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


def _unreachable(exc: Exception) -> str:
    """Why a request got no answer, with the cause (a certificate that failed verification
    says so: "unreachable: ConnectError" alone sends an operator looking at the network)."""
    cause = str(exc) or str(exc.__cause__ or exc.__context__ or "")
    return f"unreachable: {type(exc).__name__}: {cause}"[:500]


def options(settings: InfluxSettings) -> dict[str, Any]:
    """The credentials and CA of ``settings`` as client keyword arguments (every shard's)."""
    secret = settings.token.get_secret_value() if settings.token else None
    password = settings.password.get_secret_value() if settings.password else None
    ca = str(settings.ca_file) if settings.ca_file else None
    return {"token": secret, "username": settings.username, "password": password, "ca_file": ca}


def connect(settings: InfluxSettings, *, timeout: float = 10.0) -> InfluxClient:
    """A synchronous client for the configured database."""
    return InfluxClient(settings.url, settings.database, timeout=timeout, **options(settings))


def connect_async(settings: InfluxSettings, *, timeout: float = 10.0) -> AsyncInfluxClient:
    """An asyncio client for the configured database (enter it with ``async with``)."""
    return AsyncInfluxClient(settings.url, settings.database, timeout=timeout, **options(settings))
