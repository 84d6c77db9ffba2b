# Copyright: cdc.pipeline maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A real, throwaway Prometheus on loopback, secured as the prometheus role's web endpoint is.

Prometheus 2.42 from Debian's package (unpacked into .cache/bin by scripts/get_promtool.sh, never installed)
serves TLS and requires a client certificate of a CA made here. It scrapes itself over TLS and, when given
`exporter_text`, a small plain-HTTP exporter serving that text (the series a test needs). Stopped when the block
ends.
"""

from __future__ import annotations

import contextlib
import datetime
import http.server
import ipaddress
import json
import socket
import ssl
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

REPO_ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = REPO_ROOT / ".cache" / "bin" / "prometheus"
LOOPBACK = "127.0.0.1"
SCRAPE = "1s"


@dataclass
class PrometheusServer:
    url: str
    ca: Path
    client_cert: Path
    client_key: Path

    def context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(self.ca))
        context.load_cert_chain(str(self.client_cert), str(self.client_key))
        return context

    def query(self, expr: str, at: float | None = None) -> dict:
        """The API's JSON answer to an instant query (POST, as a long query needs), errors included."""
        form = {"query": expr, **({"time": repr(at)} if at is not None else {})}
        request = urllib.request.Request(self.url + "/api/v1/query", data=urllib.parse.urlencode(form).encode())
        try:
            with urllib.request.urlopen(request, context=self.context(), timeout=20) as answer:
                return json.load(answer)
        except urllib.error.HTTPError as error:
            return json.load(error)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def _key_and_cert(subject: str, issuer_key=None, issuer_name=None, ca=False, server=False):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer_name or name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    if server:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(LOOPBACK))]), critical=False
        )
    return key, builder.sign(issuer_key or key, hashes.SHA256())


def _write(path: Path, key=None, cert=None) -> Path:
    if key is not None:
        path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
    else:
        path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


@contextlib.contextmanager
def _exporter(text: str) -> Iterator[int]:
    body = text.encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the standard library's name
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args):
            pass

    server = http.server.ThreadingHTTPServer((LOOPBACK, 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def _require_binary() -> None:
    if PROMETHEUS.is_file():
        return
    script = REPO_ROOT / "scripts" / "get_promtool.sh"
    setup = subprocess.run([str(script)], capture_output=True, text=True, check=False)
    if setup.returncode != 0 or not PROMETHEUS.is_file():
        pytest.skip(f"no Prometheus binary ({PROMETHEUS}): scripts/get_promtool.sh failed: {setup.stderr[-500:]}")


@contextlib.contextmanager
def tls_prometheus(work: Path, exporter_text: str | None = None, min_samples: int = 5) -> Iterator[PrometheusServer]:
    """A TLS Prometheus in `work`, up once it holds `min_samples` scrapes of itself (enough for a rate)."""
    _require_binary()
    ca_key, ca_cert = _key_and_cert("test CA", ca=True)
    server_key, server_cert = _key_and_cert(LOOPBACK, ca_key, ca_cert.subject, server=True)
    client_key, client_cert = _key_and_cert("monitoring", ca_key, ca_cert.subject)
    ca = _write(work / "ca.pem", cert=ca_cert)
    _write(work / "server.key", key=server_key)
    _write(work / "server.pem", cert=server_cert)
    server = PrometheusServer(
        url="",
        ca=ca,
        client_cert=_write(work / "client.pem", cert=client_cert),
        client_key=_write(work / "client.key", key=client_key),
    )
    port = free_port()
    server.url = f"https://{LOOPBACK}:{port}"
    (work / "web.yml").write_text(
        json.dumps(
            {
                "tls_server_config": {
                    "cert_file": str(work / "server.pem"),
                    "key_file": str(work / "server.key"),
                    "client_auth_type": "RequireAndVerifyClientCert",
                    "client_ca_file": str(ca),
                }
            }
        )
    )
    with contextlib.ExitStack() as stack:
        jobs = [
            {
                "job_name": "self",
                "scheme": "https",
                "tls_config": {
                    "ca_file": str(ca),
                    "cert_file": str(server.client_cert),
                    "key_file": str(server.client_key),
                },
                "static_configs": [{"targets": [f"{LOOPBACK}:{port}"], "labels": {"instance": "mon-1"}}],
            }
        ]
        if exporter_text is not None:
            exporter_port = stack.enter_context(_exporter(exporter_text))
            jobs.append({"job_name": "exporter", "static_configs": [{"targets": [f"{LOOPBACK}:{exporter_port}"]}]})
        (work / "prometheus.yml").write_text(
            json.dumps({"global": {"scrape_interval": SCRAPE, "evaluation_interval": SCRAPE}, "scrape_configs": jobs})
        )
        log = stack.enter_context((work / "prometheus.log").open("w"))
        process = subprocess.Popen(
            [
                str(PROMETHEUS),
                f"--config.file={work / 'prometheus.yml'}",
                f"--web.config.file={work / 'web.yml'}",
                f"--web.listen-address={LOOPBACK}:{port}",
                f"--storage.tsdb.path={work / 'data'}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    result = server.query('count_over_time(up{job="self"}[1m])')["data"]["result"]
                    if result and float(result[0]["value"][1]) >= min_samples:
                        break
                except (OSError, KeyError, ValueError):
                    pass
                if time.monotonic() > deadline or process.poll() is not None:
                    pytest.fail(f"Prometheus did not come up: {(work / 'prometheus.log').read_text()[-2000:]}")
                time.sleep(1)
            yield server
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
