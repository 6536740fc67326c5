"""``careloop api`` serving HTTPS itself with a test-made certificate, and the session cookie
``Secure`` by default (docs/deploy.md); plain HTTP stays for loopback only by choice."""

from __future__ import annotations

import os
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest

from app.api.server import make_server
from app.cli import build_parser
from app.cli.common import settings_from_args
from careloop.errors import SettingsError
from devservers import careloop_command, free_port
from people import Directory
from tests.helpers.certs import TestCA


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    root = tmp_path_factory.mktemp("pki")
    ca = TestCA.make(root / "ca")
    return SimpleNamespace(
        ca=ca, wrong=TestCA.make(root / "wrong", "someone else's CA"), server=ca.issue("api")
    )


@pytest.fixture(scope="module")
def https_api(
    tmp_path_factory: pytest.TempPathFactory, pki: SimpleNamespace, mosquitto, influxdb
) -> Iterator[SimpleNamespace]:
    """``careloop api --tls-cert-file ... --tls-key-file ...`` in a child process, with an
    admin token in its people database; no cookie flag: the default."""
    data = tmp_path_factory.mktemp("api")
    with Directory(data / "people.sqlite3") as directory:
        token = directory.create_token("admin", "root", None)[0]
    port = free_port()
    log = data / "api.log"
    args = careloop_command(
        "api", "--no-alerts", "--host", "127.0.0.1", "--port", str(port),
        "--tls-cert-file", str(pki.server.cert_file), "--tls-key-file", str(pki.server.key_file),
        "--data-dir", str(data), "--mqtt-host", mosquitto.host,
        "--mqtt-port", str(mosquitto.port), "--influx-url", influxdb.url,
    )  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARELOOP_")}
    with log.open("ab") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=out, env=env)
    base = f"https://127.0.0.1:{port}"
    verify = ssl.create_default_context(cafile=str(pki.ca.ca_file))
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, log.read_text()[-2000:]
            assert time.monotonic() < deadline, log.read_text()[-2000:]
            try:
                if httpx.get(f"{base}/healthz", verify=verify, timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        yield SimpleNamespace(base=base, port=port, token=token, verify=verify, log=log)
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_https_serves_healthz_and_the_login_sets_a_secure_cookie(https_api):
    with httpx.Client(base_url=https_api.base, verify=https_api.verify) as client:
        assert client.get("/healthz").status_code == 200
        response = client.post("/api/v1/session", json={"token": https_api.token})
        assert response.status_code == 200, response.text
        cookie = response.headers["set-cookie"]
        attributes = {part.strip().lower() for part in cookie.split(";")}
        assert cookie.startswith("careloop_token=")
        assert {"secure", "httponly", "samesite=strict"} <= attributes, cookie
        # The cookie the browser keeps signs the next request in.
        assert client.get("/api/v1/session").json()["role"] == "admin"


def test_the_certificate_is_what_clients_verify(https_api, pki):
    wrong = ssl.create_default_context(cafile=str(pki.wrong.ca_file))
    with pytest.raises(httpx.ConnectError, match="certificate verify failed"):
        httpx.get(f"{https_api.base}/healthz", verify=wrong, timeout=5)
    with pytest.raises(httpx.TransportError):  # plain HTTP on the HTTPS port gets nothing
        httpx.get(f"http://127.0.0.1:{https_api.port}/healthz", timeout=5)


def test_settings_and_flags():
    def api(*flags: str):
        return settings_from_args(build_parser().parse_args(["api", *flags])).api

    assert api().cookie_secure is True and api().tls_cert_file is None
    assert api("--no-cookie-secure").cookie_secure is False
    https = api("--tls-cert-file", "/etc/careloop/api.pem", "--tls-key-file", "/etc/k.pem")
    assert (str(https.tls_cert_file), str(https.tls_key_file)) == (
        "/etc/careloop/api.pem",
        "/etc/k.pem",
    )


def test_a_certificate_that_cannot_be_loaded_fails_at_start(pki, tmp_path: Path):
    with pytest.raises(SettingsError, match=r"api\.tls_cert_file"):
        make_server(object(), host="127.0.0.1", port=0, tls_cert_file=tmp_path / "none.pem")
    other = pki.ca.issue("other")  # a key that does not match the certificate
    with pytest.raises(SettingsError, match=r"api\.tls_cert_file"):
        make_server(
            object(), host="127.0.0.1", port=0, tls_cert_file=pki.server.cert_file,
            tls_key_file=other.key_file,
        )  # fmt: skip
