# Copyright: cdc.pipeline maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""scripts/check_dashboards.py --prometheus against a real, throwaway Prometheus on loopback.

Prometheus 2.42 from Debian's package (unpacked into .cache/bin by scripts/get_promtool.sh, never
installed) scrapes itself over TLS and requires a client certificate, as the prometheus role's web
endpoint does. A panel on `up` and a rate over $__rate_interval return data; a panel on a metric
nobody exports fails naming dashboard, panel and expression; a panel skipped by tag is printed as
SKIPPED with its reason; without the client certificate every query fails.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = REPO_ROOT / ".cache" / "bin" / "prometheus"
CHECKER = REPO_ROOT / "scripts" / "check_dashboards.py"
LOOPBACK = "127.0.0.1"
SCRAPE = "1s"


def _free_port() -> int:
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
    cert = builder.sign(issuer_key or key, hashes.SHA256())
    return key, cert


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


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory):
    """A TLS Prometheus scraping itself; yields (url, ca, client cert, client key)."""
    if not PROMETHEUS.is_file():
        setup = subprocess.run(
            [str(REPO_ROOT / "scripts" / "get_promtool.sh")], capture_output=True, text=True, check=False
        )
        if setup.returncode != 0 or not PROMETHEUS.is_file():
            pytest.skip(f"no Prometheus binary ({PROMETHEUS}): scripts/get_promtool.sh failed: {setup.stderr[-500:]}")
    work = tmp_path_factory.mktemp("prometheus")
    ca_key, ca_cert = _key_and_cert("test CA", ca=True)
    server_key, server_cert = _key_and_cert(LOOPBACK, ca_key, ca_cert.subject, server=True)
    client_key, client_cert = _key_and_cert("grafana", ca_key, ca_cert.subject)
    ca = _write(work / "ca.pem", cert=ca_cert)
    _write(work / "server.key", key=server_key)
    _write(work / "server.pem", cert=server_cert)
    client_key_path = _write(work / "client.key", key=client_key)
    client_cert_path = _write(work / "client.pem", cert=client_cert)
    port = _free_port()
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
    (work / "prometheus.yml").write_text(
        json.dumps(
            {
                "global": {"scrape_interval": SCRAPE, "evaluation_interval": SCRAPE},
                "scrape_configs": [
                    {
                        "job_name": "self",
                        "scheme": "https",
                        "tls_config": {
                            "ca_file": str(ca),
                            "cert_file": str(client_cert_path),
                            "key_file": str(client_key_path),
                        },
                        "static_configs": [{"targets": [f"{LOOPBACK}:{port}"], "labels": {"instance": "mon-1"}}],
                    }
                ],
            }
        )
    )
    log = (work / "prometheus.log").open("w")
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
    url = f"https://{LOOPBACK}:{port}"
    try:
        context = ssl.create_default_context(cafile=str(ca))
        context.load_cert_chain(str(client_cert_path), str(client_key_path))
        deadline = time.monotonic() + 60
        query = url + '/api/v1/query?query=count_over_time(up{job="self"}[1m])'
        while True:
            try:
                with urllib.request.urlopen(query, context=context, timeout=5) as answer:
                    result = json.load(answer)["data"]["result"]
                if result and float(result[0]["value"][1]) >= 5:  # enough samples for a rate
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                pytest.fail(f"Prometheus did not come up: {(work / 'prometheus.log').read_text()[-2000:]}")
            time.sleep(1)
        yield url, ca, client_cert_path, client_key_path
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def _panel(pid, title, expr, tags=()):
    source = {"type": "prometheus", "uid": "${datasource}"}
    return {
        "id": pid,
        "type": "timeseries",
        "title": title,
        "tags": list(tags),
        "gridPos": {"h": 4, "w": 8, "x": 0, "y": pid},
        "datasource": source,
        "targets": [{"refId": "A", "expr": expr, "datasource": source}],
    }


def _dashboard(panels):
    return {
        "uid": "live-test",
        "title": "Live test",
        "templating": {
            "list": [
                {"name": "datasource", "type": "datasource", "query": "prometheus"},
                {
                    "name": "instance",
                    "type": "query",
                    "datasource": {"type": "prometheus", "uid": "${datasource}"},
                    "query": 'label_values(up{job="self"}, instance)',
                    "includeAll": True,
                    "allValue": ".*",
                },
            ]
        },
        "panels": panels,
    }


def _check(directory: Path, prometheus, *extra, client=True):
    url, ca, cert, key = prometheus
    args = [sys.executable, str(CHECKER), "--dashboards", str(directory), "--prometheus", url, "--ca-cert", str(ca)]
    if client:
        args += ["--client-cert", str(cert), "--client-key", str(key)]
    args += ["--scrape-interval", SCRAPE, *extra]
    return subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)


GOOD = [
    _panel(1, "Targets up", 'up{job="self", instance=~"$instance"}'),
    _panel(2, "Scrapes per second", "sum(rate(prometheus_tsdb_head_samples_appended_total[$__rate_interval]))"),
]


def test_panels_with_data_pass(tmp_path, prometheus):
    (tmp_path / "good.json").write_text(json.dumps(_dashboard(GOOD)))
    result = _check(tmp_path, prometheus)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok      live-test / variable $instance" in result.stdout
    assert "ok      live-test / Targets up [A]" in result.stdout
    assert "ok      live-test / Scrapes per second [A]" in result.stdout


def test_a_missing_metric_fails_and_a_skip_is_printed(tmp_path, prometheus):
    panels = [
        *GOOD,
        _panel(3, "Nobody exports this", "sum(cdc_metric_nobody_exports_total)"),
        _panel(4, "Needs ScyllaDB", "scylla_reactor_utilization", tags=["source"]),
        _panel(5, "Bad query", "sum(("),
    ]
    (tmp_path / "mixed.json").write_text(json.dumps(_dashboard(panels)))
    result = _check(tmp_path, prometheus, "--skip-panel-tag", "source=ScyllaDB cannot run here")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "FAIL    live-test / Nobody exports this [A]: no data: sum(cdc_metric_nobody_exports_total)" in result.stdout
    assert "FAIL    live-test / Bad query [A]: query error: bad_data" in result.stdout
    assert "SKIPPED live-test / Needs ScyllaDB: tag source: ScyllaDB cannot run here" in result.stdout
    assert "ok      live-test / Targets up [A]" in result.stdout
    assert "3 queries with data, 2 failed, 1 panels skipped" in result.stdout


def test_without_the_client_certificate_every_query_fails(tmp_path, prometheus):
    (tmp_path / "good.json").write_text(json.dumps(_dashboard(GOOD)))
    result = _check(tmp_path, prometheus, client=False)
    assert result.returncode == 1
    assert "request failed" in result.stdout
    assert "0 queries with data" in result.stdout
