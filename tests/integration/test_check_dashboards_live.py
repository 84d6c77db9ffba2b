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

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.tools.prometheus_server import SCRAPE, tls_prometheus

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]
CHECKER = REPO_ROOT / "scripts" / "check_dashboards.py"


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory):
    """A TLS Prometheus scraping itself; yields (url, ca, client cert, client key)."""
    with tls_prometheus(tmp_path_factory.mktemp("prometheus")) as server:
        yield server.url, server.ca, server.client_cert, server.client_key


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
