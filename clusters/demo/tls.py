"""A throwaway PKI for serving the demo cluster over HTTPS, made with the ``openssl`` command.

Real clusters are reached over TLS with a cluster CA, and often with client certificates, so the
demo has to be able to look like that too: a CA, a server certificate for 127.0.0.1/localhost
signed by it, a client certificate (CN=tidewatch, O=viewers: the user and group a kube-apiserver
would read from it) and a second, unrelated CA for testing a kubeconfig that trusts the wrong one.

The ``openssl`` binary is used rather than a Python crypto library so the project needs no extra
dependency. The certificates carry the extensions strict verifiers insist on (key identifiers,
critical basic constraints, key and extended key usages), so they pass as real ones would.
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DAYS = 30
CLIENT_USER = "tidewatch"
CLIENT_GROUP = "viewers"

# `-subj` supplies the names, so [dn] stays empty. Leaf key usage is digitalSignature only: EC
# keys sign, they never encipher.
_OPENSSL_CONFIG = """\
[req]
distinguished_name = dn
[dn]
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, IP:::1, DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[client]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
"""


class PkiError(RuntimeError):
    """openssl is missing or refused to make a key or certificate."""


@dataclass(frozen=True)
class Pki:
    """PEM files of a test PKI. ``other_ca_cert`` signed nothing here: trusting it must fail."""

    directory: Path
    ca_cert: Path
    ca_key: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    other_ca_cert: Path


def make_test_pki(directory: Path, *, days: int = DEFAULT_DAYS) -> Pki:
    """Create a fresh CA, server and client certificates (EC P-256) under ``directory``.

    Existing files are overwritten. Keys are written mode 0600.
    """
    openssl = shutil.which("openssl")
    if openssl is None:
        raise PkiError("the openssl command is needed to make TLS certificates; install openssl")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / "openssl.cnf"
    config.write_text(_OPENSSL_CONFIG, encoding="utf-8")
    pki = Pki(
        directory=directory,
        ca_cert=directory / "ca.crt",
        ca_key=directory / "ca.key",
        server_cert=directory / "server.crt",
        server_key=directory / "server.key",
        client_cert=directory / "client.crt",
        client_key=directory / "client.key",
        other_ca_cert=directory / "other-ca.crt",
    )
    run = _Runner(openssl, config, days)
    run.self_signed_ca(pki.ca_cert, pki.ca_key, "tidewatch-demo-ca")
    run.leaf(pki.server_cert, pki.server_key, "/CN=kube-apiserver", "server", pki)
    run.leaf(pki.client_cert, pki.client_key, f"/O={CLIENT_GROUP}/CN={CLIENT_USER}", "client", pki)
    run.self_signed_ca(pki.other_ca_cert, directory / "other-ca.key", "some-other-ca")
    return pki


class _Runner:
    def __init__(self, openssl: str, config: Path, days: int) -> None:
        self.openssl = openssl
        self.config = config
        self.days = str(days)

    def __call__(self, *args: str | Path) -> None:
        command = [self.openssl, *map(str, args)]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise PkiError(f"{' '.join(command[:2])} failed: {result.stderr.strip()}")

    def key(self, path: Path) -> None:
        # P-256 instead of RSA: key generation is instant, which matters for per-test PKIs.
        self("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", path)
        path.chmod(0o600)

    def self_signed_ca(self, cert: Path, key: Path, common_name: str) -> None:
        self.key(key)
        self(
            "req", "-x509", "-new", "-key", key, "-subj", f"/CN={common_name}",
            "-days", self.days, "-set_serial", _serial(),
            "-config", self.config, "-extensions", "ca", "-out", cert,
        )  # fmt: skip

    def leaf(self, cert: Path, key: Path, subject: str, section: str, pki: Pki) -> None:
        self.key(key)
        csr = cert.with_suffix(".csr")
        self("req", "-new", "-key", key, "-subj", subject, "-config", self.config, "-out", csr)
        self(
            "x509", "-req", "-in", csr, "-CA", pki.ca_cert, "-CAkey", pki.ca_key,
            "-days", self.days, "-set_serial", _serial(),
            "-extfile", self.config, "-extensions", section, "-out", cert,
        )  # fmt: skip
        csr.unlink()


def _serial() -> str:
    # Positive and unique per certificate, so a client never sees two certs with one serial.
    return f"0x{secrets.randbits(63) | 1 << 62:x}"
