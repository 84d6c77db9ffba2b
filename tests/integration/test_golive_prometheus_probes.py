# Copyright: cdc.pipeline maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The golive role's Prometheus probes against a real Prometheus over mutual TLS.

The role asks every probe query of a server in one request (cdc.pipeline.golive_prometheus_batch) and splits the
answer (golive_prometheus_unbatch). Here, on a Prometheus holding series that make some probes fail:
- the batch, split, gives each query exactly what the query alone gives, at the same evaluation time;
- the role's `prometheus` entry point, run by ansible-playbook, judges every probe as asking each query alone
  would, and asks nothing alone while the batch is answered;
- with one query broken, the batch is refused, each query is asked alone, the broken probe fails with
  Prometheus's error as its evidence and every other probe is judged as before.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import jinja2
import pytest
import yaml

from tests.tools.collection_path import make_importable
from tests.tools.playbook_runner import run_playbook
from tests.tools.prometheus_server import tls_prometheus

make_importable()
from ansible_collections.cdc.pipeline.plugins.filter.golive import (  # noqa: E402
    golive_prometheus_batch,
    golive_prometheus_queries,
    golive_prometheus_results,
    golive_prometheus_unbatch,
)

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]
ROLE = REPO_ROOT / "roles" / "golive"
NOW = time.time()
# Series that pass some probes and fail others (a certificate near its end, an old offsets backup, a table
# that differs), so the comparison below compares answers that hold something.
EXPORTED = f"""\
cdc_certificate_expiry_timestamp_seconds{{service="kafka",host="kafka-1"}} {NOW + 3 * 86400:.0f}
cdc_certificate_expiry_timestamp_seconds{{service="postgresql",host="pg-1"}} {NOW + 200 * 86400:.0f}
cdc_pgbackrest_last_backup_timestamp_seconds{{stanza="cdc"}} {NOW - 3600:.0f}
cdc_run_last_completed_timestamp_seconds{{run="offsets_backup"}} {NOW - 40 * 3600:.0f}
cdc_run_last_completed_timestamp_seconds{{run="reconcile"}} {NOW - 3600:.0f}
cdc_reconcile_rows_differing{{source_table="shop.items",sink_table="cdc.cdc_shop_items"}} 3
cdc_reconcile_rows_differing{{source_table="shop.orders",sink_table="cdc.cdc_shop_orders"}} 0
kafka_server_replicamanager_underreplicatedpartitions 0
vault_core_unsealed 1
alertmanager_cluster_members 1
"""


def role_probes() -> dict:
    """golive_prometheus_probes as the role renders them with its defaults."""
    defaults = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
    probes = yaml.safe_load((ROLE / "vars" / "main.yml").read_text())["golive_prometheus_probes"]
    render = jinja2.Environment(undefined=jinja2.StrictUndefined)  # noqa: S701 - PromQL, not HTML
    return {
        name: {part: render.from_string(text).render(**defaults) for part, text in probe.items()}
        for name, probe in probes.items()
    }


PROBES = role_probes()
ITEMS = [item for name, probe in PROBES.items() for item in golive_prometheus_queries({"key": name, "value": probe})]


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory):
    with tls_prometheus(tmp_path_factory.mktemp("prometheus"), exporter_text=EXPORTED) as server:
        deadline = time.monotonic() + 30
        while not server.query("cdc_reconcile_rows_differing")["data"]["result"]:
            assert time.monotonic() < deadline, "the exporter's series never arrived"
            time.sleep(1)
        yield server


def series_set(body: dict) -> set:
    assert body["status"] == "success", body
    return {(json.dumps(one["metric"], sort_keys=True), one["value"][1]) for one in body["data"]["result"]}


def test_the_batch_split_is_each_query_alone(prometheus):
    at = time.time()
    answer = {"status": 200, "json": prometheus.query(golive_prometheus_batch(ITEMS), at)}
    split = golive_prometheus_unbatch(answer, ITEMS)
    assert [one["item"] for one in split] == ITEMS
    holding = 0
    for one in split:
        alone = series_set(prometheus.query(one["item"]["query"], at))
        assert series_set(one["json"]) == alone, one["item"]
        holding += bool(alone)
    assert holding >= 10, "too few queries return series for the comparison to mean anything"


def run_entry_point(ansible_home, workdir: Path, prometheus, extra_args=()):
    tls = workdir / "tls"
    tls.mkdir(parents=True, exist_ok=True)
    (tls / "ca.pem").write_bytes(prometheus.ca.read_bytes())
    (tls / "monitoring-fullchain.pem").write_bytes(prometheus.client_cert.read_bytes())
    (tls / "monitoring.key").write_bytes(prometheus.client_key.read_bytes())
    out = workdir / "results.json"
    play = [
        {
            "hosts": "localhost",
            "gather_facts": False,
            "vars": {
                "cdc_address": "127.0.0.1",
                "prometheus_port": int(prometheus.url.rsplit(":", 1)[1]),
                "golive_monitoring_tls_dir": str(tls),
                "golive_only_probes": sorted(PROBES),
            },
            "tasks": [
                {"ansible.builtin.include_role": {"name": "cdc.pipeline.golive", "tasks_from": "prometheus"}},
                {"ansible.builtin.copy": {"content": "{{ golive_host_results | to_json }}", "dest": str(out)}},
            ],
        }
    ]
    result = run_playbook(ansible_home, workdir, play, extra_args=list(extra_args))
    assert not result.failed, result.failure_text
    asked_alone = [
        host
        for p in result.report["plays"]
        for task in p["tasks"]
        if "Each probe's queries alone" in task["task"]["name"]
        for host in task["hosts"].values()
        if not host.get("skipped") and any(not item.get("skipped") for item in host.get("results", []))
    ]
    return json.loads(out.read_text()), bool(asked_alone)


def judged_alone(prometheus) -> dict:
    """Every probe judged from each query asked alone, as the role did before it asked them in one request."""
    answers = [{"item": item, "status": 200, "json": prometheus.query(item["query"])} for item in ITEMS]
    return golive_prometheus_results(answers, "127.0.0.1", "now")


def test_the_entry_point_judges_as_the_queries_alone(ansible_home, tmp_path, prometheus):
    results, asked_alone = run_entry_point(ansible_home, tmp_path, prometheus)
    assert not asked_alone, "the batch was answered, yet queries were asked alone"
    expected = judged_alone(prometheus)
    assert {name: one["passed"] for name, one in results.items()} == {
        name: one["passed"] for name, one in expected.items()
    }
    # what the exported series make of them: the failures are the ones planted
    assert not results["cert_validity"]["passed"] and "kafka-1" in json.dumps(results["cert_validity"]["result"])
    assert not results["offsets_backup_age"]["passed"]
    assert not results["tables_reconciled"]["passed"] and "shop.items" in json.dumps(results["tables_reconciled"])
    assert results["backup_age"]["passed"] and results["reconciliation_age"]["passed"]
    assert not results["restore_drill_age"]["passed"]  # never recorded: its data is missing


def test_a_refused_batch_is_asked_query_by_query(ansible_home, tmp_path, prometheus):
    broken = {
        **PROBES,
        "cert_validity": {**PROBES["cert_validity"], "offenders": "cdc_certificate_expiry_timestamp_seconds +"},
    }
    results, asked_alone = run_entry_point(
        ansible_home, tmp_path, prometheus, ["-e", json.dumps({"golive_prometheus_probes": broken})]
    )
    assert asked_alone, json.dumps(results["cert_validity"])
    assert not results["cert_validity"]["passed"]
    assert "Prometheus did not answer" in json.dumps(results["cert_validity"]["result"])
    assert "parse error" in json.dumps(results["cert_validity"]["result"])
    expected = judged_alone(prometheus)
    others = sorted(set(PROBES) - {"cert_validity"})
    assert {name: results[name]["passed"] for name in others} == {name: expected[name]["passed"] for name in others}
