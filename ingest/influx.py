"""InfluxDB spoken through ``/write`` (line protocol) and ``/query`` (InfluxQL) only.

That one path is served natively by InfluxDB 1.x and for compatibility by 2.x and 3.x, so
ingest works against all three. (influxdb-client's write API uses ``/api/v2`` and gets 404
from 1.x, after which its batching writer silently stores nothing; it is not used here.)

One :class:`InfluxWriter` is one keep-alive HTTP connection (stdlib ``http.client``: the
least per-request overhead, and the hot path makes only a few requests a second). It is not
thread-safe: every writer thread makes its own. Answers are sorted into the two errors the
rest of ingest acts on: :class:`~ingest.errors.InfluxUnavailable` (try again later: down,
5xx, 429, auth, database missing) and :class:`~ingest.errors.InfluxRejected` (400/413/422:
these points will never be accepted).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import urllib.parse

from ingest.errors import InfluxRejected, InfluxUnavailable

#: Statuses that mean "these points are refused", not "InfluxDB is unwell".
REJECTED = frozenset({400, 413, 422})


class InfluxWriter:
    """POST line protocol to one database over one keep-alive connection."""

    def __init__(
        self, url: str, database: str, *, token: str | None = None, timeout: float = 10.0
    ) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"InfluxDB URL must be http(s)://host[:port], got {url!r}")
        self.url = url
        self.database = database
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port or (443 if self._https else 80)
        self._base = parts.path.rstrip("/")
        self._timeout = timeout
        query = urllib.parse.urlencode({"db": database, "precision": "ms"})
        self._write_path = f"{self._base}/write?{query}"
        #: Write paths per retention policy (``rp=``), built once each.
        self._rp_paths: dict[str, str] = {}
        self._headers = {"Content-Type": "text/plain; charset=utf-8"}
        if token:
            self._headers["Authorization"] = f"Token {token}"
        self._conn: http.client.HTTPConnection | None = None

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            cls = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
            self._conn = cls(self._host, self._port, timeout=self._timeout)
        return self._conn

    def _request(self, method: str, path: str, body: bytes, headers: dict[str, str]) -> tuple:
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
        the database's default); raises InfluxUnavailable/Rejected."""
        path = self._write_path
        if rp is not None:
            path = self._rp_paths.get(rp) or self._rp_paths.setdefault(
                rp, f"{path}&{urllib.parse.urlencode({'rp': rp})}"
            )
        status, text = self._request("POST", path, body, self._headers)
        if status in (200, 204):
            return
        reason = _error_text(text)
        if status in REJECTED:
            raise InfluxRejected(reason, status=status)
        raise InfluxUnavailable(reason, status=status)

    def query(self, q: str) -> dict:
        """Run InfluxQL through ``POST /query``; statement errors raise InfluxRejected."""
        body = urllib.parse.urlencode({"q": q, "db": self.database}).encode()
        headers = {**self._headers, "Content-Type": "application/x-www-form-urlencoded"}
        status, text = self._request("POST", f"{self._base}/query", body, headers)
        if status >= 500 or status in (401, 403, 429):
            raise InfluxUnavailable(_error_text(text), status=status)
        try:
            answer: dict = json.loads(text)
        except ValueError as exc:
            raise InfluxUnavailable(f"not JSON: {text[:200]!r}", status=status) from exc
        errors = [answer["error"]] if "error" in answer else []
        errors += [r["error"] for r in answer.get("results", []) if "error" in r]
        if errors or status >= 400:
            raise InfluxRejected("; ".join(errors) or _error_text(text), status=status)
        return answer

    def create_database(self) -> None:
        """``CREATE DATABASE`` (1.x; succeeds if it exists, 2.x/3.x refuse it)."""
        name = self.database.replace("\\", "\\\\").replace('"', '\\"')
        self.query(f'CREATE DATABASE "{name}"')

    def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(OSError):
                self._conn.close()
            self._conn = None


def _error_text(text: bytes) -> str:
    """InfluxDB's ``{"error": "..."}`` message, or the start of whatever it said."""
    try:
        answer = json.loads(text)
        if isinstance(answer, dict) and "error" in answer:
            return str(answer["error"])[:1000]
    except ValueError:
        pass
    return text[:1000].decode("utf-8", "replace") or "(empty answer)"
