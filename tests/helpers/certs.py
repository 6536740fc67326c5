"""A private certificate authority for tests, made with the ``openssl`` command line.

Each test module makes its own CA (and a second, unrelated one to play the wrong CA), then
issues a server certificate for ``127.0.0.1``/``localhost`` and client certificates from
it. Keys are EC P-256 (fast to make); certificates carry the extensions strict verifiers
ask for (key identifiers, key usage, extended key usage, subject alternative names).
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from devservers import ServerTls

_CA_EXTENSIONS = """\
[req]
distinguished_name = dn
prompt = no
[dn]
CN = {name}
[ext]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
"""

_LEAF_EXTENSIONS = """\
[ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = {usage}
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid,issuer
{san}
"""


def _openssl(*args: str | Path) -> None:
    result = subprocess.run(
        ["openssl", *map(str, args)], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"openssl {args[0]} failed: {result.stderr.strip()}")


def _key(path: Path) -> Path:
    _openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", path)
    path.chmod(0o600)
    return path


@dataclass(frozen=True)
class Issued:
    """A certificate (PEM) and its private key (PEM)."""

    cert_file: Path
    key_file: Path


@dataclass(frozen=True)
class TestCA:
    """A CA's certificate and key, in a folder of its own, that issues certificates."""

    __test__ = False  # not a pytest test class

    root: Path
    ca_file: Path
    key_file: Path

    @classmethod
    def make(cls, root: Path, name: str = "careloop test CA") -> TestCA:
        root.mkdir(parents=True, exist_ok=True)
        config = root / "ca.cnf"
        config.write_text(_CA_EXTENSIONS.format(name=name))
        key = _key(root / "ca.key")
        ca = root / "ca.pem"
        _openssl(
            "req", "-x509", "-new", "-key", key, "-out", ca, "-days", "2", "-sha256",
            "-config", config, "-extensions", "ext",
        )  # fmt: skip
        return cls(root, ca, key)

    def issue(
        self, name: str, *, server: bool = True, hosts: tuple[str, ...] = ("127.0.0.1", "localhost")
    ) -> Issued:
        """A server certificate for ``hosts`` (``server``), or a client certificate whose
        subject is ``name``."""
        key = _key(self.root / f"{name}.key")
        csr = self.root / f"{name}.csr"
        cert = self.root / f"{name}.pem"
        _openssl("req", "-new", "-key", key, "-out", csr, "-subj", f"/CN={name}")
        names = ",".join(f"IP:{h}" if h[0].isdigit() or ":" in h else f"DNS:{h}" for h in hosts)
        ext = self.root / f"{name}.ext"
        ext.write_text(
            _LEAF_EXTENSIONS.format(
                usage="serverAuth" if server else "clientAuth",
                san=f"subjectAltName = {names}" if server else "",
            )
        )
        _openssl(
            "x509", "-req", "-in", csr, "-CA", self.ca_file, "-CAkey", self.key_file,
            "-CAcreateserial", "-out", cert, "-days", "2", "-sha256",
            "-extfile", ext, "-extensions", "ext",
        )  # fmt: skip
        return Issued(cert, key)

    def server_tls(self, name: str = "server", *, require_certificate: bool = False) -> ServerTls:
        """A devservers :class:`ServerTls` with a fresh server certificate from this CA."""
        issued = self.issue(name)
        return ServerTls(issued.cert_file, issued.key_file, self.ca_file, require_certificate)
