"""A real OpenBao server on loopback for the Vault module tests: TLS, raft storage, one node.

The binary is the staged artifact (`make artifacts`); the certificates are made here with
`cryptography` (a CA and a server certificate for IP 127.0.0.1), so the modules are tested
against the same TLS verification they do in production. Nothing listens beyond 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import os
import socket
import ssl
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

LOOPBACK = "127.0.0.1"
BAO_VERSION = "2.7.2"
START_TIMEOUT_S = 30


def bao_binary() -> Path:
    """The staged OpenBao binary, or skip (a failure under CDC_NO_SKIP=1) naming the fix."""
    artifacts = Path(os.environ.get("CDC_ARTIFACT_DIR") or Path(__file__).resolve().parents[2] / ".cache/artifacts")
    binary = artifacts / f"bao-{BAO_VERSION}-linux-amd64"
    if not (binary.is_file() and os.access(binary, os.X_OK)):
        pytest.skip(f"OpenBao binary {binary} missing or not executable: run make artifacts")
    return binary


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def closed_port() -> int:
    """A loopback port with nothing listening (bound, then released)."""
    return free_port()


def make_tls(directory: Path) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for IP 127.0.0.1 signed by it: (ca.pem, server.pem, server-key.pem)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "cdc test listener CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, LOOPBACK)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(LOOPBACK))]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    ca_path, cert_path, key_path = directory / "ca.pem", directory / "server.pem", directory / "server-key.pem"
    ca_path.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    key_path.chmod(0o600)
    return ca_path, cert_path, key_path


@dataclass
class OpenBaoServer:
    """One OpenBao node: start(), stop(), restart() (it comes back sealed), url and ca_cert."""

    binary: Path
    workdir: Path
    port: int = field(default_factory=free_port)
    cluster_port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    def __post_init__(self) -> None:
        self.ca_cert, cert, key = make_tls(self.workdir / "tls")
        data = self.workdir / "raft"
        data.mkdir(parents=True, exist_ok=True)
        self.config = self.workdir / "bao.hcl"
        self.config.write_text(
            f'storage "raft" {{\n  path = "{data}"\n  node_id = "bao-test-1"\n}}\n'
            f'listener "tcp" {{\n  address = "{LOOPBACK}:{self.port}"\n'
            f'  cluster_address = "{LOOPBACK}:{self.cluster_port}"\n'
            f'  tls_cert_file = "{cert}"\n  tls_key_file = "{key}"\n  tls_min_version = "tls12"\n}}\n'
            f'api_addr = "https://{LOOPBACK}:{self.port}"\n'
            f'cluster_addr = "https://{LOOPBACK}:{self.cluster_port}"\n'
            "disable_mlock = true\n"
            'log_level = "warn"\n'
        )
        self.log = self.workdir / "bao.log"

    @property
    def url(self) -> str:
        return f"https://{LOOPBACK}:{self.port}"

    def start(self) -> None:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(self.workdir)}
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [str(Path(self.binary).resolve()), "server", f"-config={self.config}"],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=self.workdir,
            )
        self.wait_ready()

    def health(self) -> dict:
        import json

        context = ssl.create_default_context(cafile=str(self.ca_cert))
        query = "standbyok=true&sealedcode=200&uninitcode=200"
        with urllib.request.urlopen(f"{self.url}/v1/sys/health?{query}", context=context, timeout=2) as resp:
            return json.loads(resp.read())

    def wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        last = None
        while time.monotonic() < deadline:
            if self.process and self.process.poll() is not None:
                pytest.fail(f"bao server exited with {self.process.returncode}:\n{self.log.read_text()[-3000:]}")
            try:
                self.health()
                return
            except OSError as exc:
                last = exc
                time.sleep(0.2)
        self.stop()
        pytest.fail(f"bao server did not answer /v1/sys/health in {START_TIMEOUT_S}s ({last}):\n{self.log.read_text()}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()


@contextlib.contextmanager
def started_openbao(workdir: Path):
    """An OpenBao node (uninitialised) started in workdir, stopped when the block ends."""
    server = OpenBaoServer(binary=bao_binary(), workdir=workdir)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def openbao(tmp_path_factory):
    """A started OpenBao node for a whole test module (import it, or use started_openbao)."""
    with started_openbao(tmp_path_factory.mktemp("openbao")) as server:
        yield server
