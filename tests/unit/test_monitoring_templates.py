"""The prometheus and alertmanager roles without a server: their target resolution and templates rendered
with Ansible's own templar for the lab's inventory, then read back (prometheus.yml also through
`promtool check config --syntax-only` when .cache/bin/promtool is there). What needs running servers
(dedup across the pair, a killed peer, amtool refusing a file) is in molecule/pipeline (verify_monitoring.yml)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

pytestmark = pytest.mark.unit

REPO_ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = REPO_ROOT / "roles" / "prometheus"
ALERTMANAGER = REPO_ROOT / "roles" / "alertmanager"
PROMTOOL = REPO_ROOT / ".cache" / "bin" / "promtool"
GROUPS = {
    "kafka": ["kafka-1", "kafka-2", "kafka-3"],
    "kafka_connect": ["connect-1", "connect-2"],
    "postgresql_primary": ["pg-1"],
    "postgresql_replica": ["pg-2"],
    "postgresql": ["pg-1", "pg-2"],
    "vault": ["vault-1", "vault-2", "vault-3"],
    "scylla": ["scylla-1"],
    "monitoring": ["mon-1", "mon-2"],
}
GROUPS["all"] = sorted({host for hosts in GROUPS.values() for host in hosts})
ADDRESSES = {host: "10.0.0.%d" % (10 + index) for index, host in enumerate(GROUPS["all"])}


def load_trusted(path: Path) -> dict:
    return DataLoader().load_from_file(str(path), trusted_as_template=True) or {}


def role_vars(role: Path, host: str, overrides: dict | None = None) -> dict:
    variables = dict(load_trusted(role / "defaults" / "main.yml"))
    variables.update(overrides or {})
    variables.update(load_trusted(role / "vars" / "main.yml"))
    hostvars = {name: {"inventory_hostname": name, "cdc_address": address} for name, address in ADDRESSES.items()}
    variables.update(
        inventory_hostname=host,
        cdc_address=ADDRESSES[host],
        groups=GROUPS,
        hostvars=hostvars,
        ansible_managed="Managed by Ansible (test)",
        role_path=str(role),
        ansible_facts={"default_ipv4": {"address": "192.0.2.1"}},
    )
    return variables


# The collection's host_addresses filter (tests/unit/test_firewall_filter.py) would need the collection
# loader, which must not be installed in this process (other tests import the collection from sys.path);
# here every host has cdc_address, which is what the filter returns for it.
HOST_ADDRESSES = "cdc.pipeline.host_addresses(hostvars)"
HOST_ADDRESSES_STAND_IN = "map('extract', hostvars, 'cdc_address') | list"


def template(variables: dict, text: str):
    text = text.replace(HOST_ADDRESSES, HOST_ADDRESSES_STAND_IN)
    return Templar(loader=DataLoader(), variables=variables).template(trust_as_template(text))


def prometheus_vars(host: str = "mon-1", **overrides) -> dict:
    variables = role_vars(PROMETHEUS, host, overrides)
    targets_task = load_trusted(PROMETHEUS / "tasks" / "targets.yml")[0]
    variables["prometheus_jobs_resolved"] = template(
        variables, targets_task["ansible.builtin.set_fact"]["prometheus_jobs_resolved"]
    )
    return variables


def prometheus_yml(host: str = "mon-1", **overrides) -> str:
    variables = prometheus_vars(host, **overrides)
    return template(variables, (PROMETHEUS / "templates" / "prometheus.yml.j2").read_text(encoding="utf-8"))


def alertmanager_yml(host: str = "mon-1", enabled=("slack",), credentials=None, **overrides) -> dict:
    variables = role_vars(ALERTMANAGER, host, overrides)
    variables.update(alertmanager_enabled=list(enabled), alertmanager_credentials=credentials or {})
    return yaml.safe_load(
        template(variables, (ALERTMANAGER / "templates" / "alertmanager.yml.j2").read_text(encoding="utf-8"))
    )


def jobs(config: dict) -> dict:
    return {job["job_name"]: job for job in config["scrape_configs"]}


def targets(job: dict) -> dict:
    """instance -> (address, labels) of a job."""
    return {entry["labels"]["instance"]: (entry["targets"][0], entry["labels"]) for entry in job["static_configs"]}


# --------------------------------------------------------------------------------------------
# prometheus.yml
# --------------------------------------------------------------------------------------------


def test_every_job_of_the_metric_contract_is_generated_from_the_inventory():
    config = yaml.safe_load(prometheus_yml())
    generated = jobs(config)
    assert set(generated) == {
        "node",
        "kafka",
        "kafka_connect",
        "postgresql",
        "pgbouncer",
        "vault",
        "scylla",
        "prometheus",
        "alertmanager",
    }
    assert set(targets(generated["node"])) == set(GROUPS["all"])
    assert targets(generated["kafka"])["kafka-2"][0] == ADDRESSES["kafka-2"] + ":9404"
    assert targets(generated["kafka_connect"])["connect-1"][0] == ADDRESSES["connect-1"] + ":9404"
    assert targets(generated["vault"])["vault-3"][0] == ADDRESSES["vault-3"] + ":8200"
    assert targets(generated["scylla"])["scylla-1"][0] == ADDRESSES["scylla-1"] + ":9180"


def test_postgresql_targets_carry_their_role_and_instance_is_the_host():
    generated = jobs(yaml.safe_load(prometheus_yml()))
    found = targets(generated["postgresql"])
    assert found["pg-1"][1] == {"instance": "pg-1", "role": "primary"}
    assert found["pg-2"][1] == {"instance": "pg-2", "role": "replica"}
    assert found["pg-1"][0] == ADDRESSES["pg-1"] + ":9187"
    # PgBouncer and its exporter run on the primary only: a replica would be a target always down.
    pooler = targets(generated["pgbouncer"])
    assert pooler == {"pg-1": (ADDRESSES["pg-1"] + ":9127", {"instance": "pg-1", "role": "primary"})}


def test_tls_client_certificates_and_the_vault_token():
    generated = jobs(yaml.safe_load(prometheus_yml()))
    # Every exporter of the pipeline speaks TLS with client certificates; only ScyllaDB's own metrics
    # port cannot (docs/hardening.md), and it stays firewalled to the monitoring hosts.
    for name in ("node", "kafka", "kafka_connect", "postgresql", "pgbouncer", "prometheus", "alertmanager"):
        job = generated[name]
        assert job["scheme"] == "https"
        assert job["tls_config"]["cert_file"] == "/etc/cdc-pki/monitoring/monitoring-fullchain.pem"
        assert job["tls_config"]["ca_file"] == "/etc/cdc-pki/monitoring/ca.pem"
    vault = generated["vault"]
    assert vault["metrics_path"] == "/v1/sys/metrics"
    assert vault["params"] == {"format": ["prometheus"]}
    assert vault["authorization"] == {"type": "Bearer", "credentials_file": "/run/cdc-secrets/monitoring/vault-token"}
    assert vault["tls_config"]["ca_file"] == "/etc/prometheus/tls/vault-ca.pem"
    assert "cert_file" not in vault["tls_config"]
    # OpenBao's own cluster label must not replace the pipeline's (external label, routing, inhibition).
    assert vault["metric_relabel_configs"] == [
        {"source_labels": ["cluster"], "target_label": "vault_cluster"},
        {"action": "labeldrop", "regex": "cluster"},
    ]
    assert generated["scylla"].get("scheme", "http") == "http"


def test_external_labels_and_alerts_to_every_peer_without_replica():
    config = yaml.safe_load(prometheus_yml("mon-2"))
    assert config["global"]["external_labels"] == {"cluster": "cdc", "replica": "mon-2"}
    assert config["alerting"]["alert_relabel_configs"] == [{"action": "labeldrop", "regex": "replica"}]
    peers = config["alerting"]["alertmanagers"][0]
    assert peers["static_configs"][0]["targets"] == [ADDRESSES["mon-1"] + ":9093", ADDRESSES["mon-2"] + ":9093"]
    assert peers["scheme"] == "https"


def test_a_disabled_job_is_left_out_and_a_port_variable_wins():
    overrides = {"prometheus_scrape_jobs_disabled": {"scylla": "no ScyllaDB here"}}
    variables = prometheus_vars(**overrides)
    variables["hostvars"]["kafka-1"]["kafka_jmx_exporter_port"] = 9999
    variables["prometheus_jobs_resolved"] = template(
        variables,
        load_trusted(PROMETHEUS / "tasks" / "targets.yml")[0]["ansible.builtin.set_fact"]["prometheus_jobs_resolved"],
    )
    generated = jobs(
        yaml.safe_load(
            template(variables, (PROMETHEUS / "templates" / "prometheus.yml.j2").read_text(encoding="utf-8"))
        )
    )
    assert "scylla" not in generated
    assert targets(generated["kafka"])["kafka-1"][0] == ADDRESSES["kafka-1"] + ":9999"
    assert targets(generated["kafka"])["kafka-2"][0] == ADDRESSES["kafka-2"] + ":9404"


# `make unit` fetches promtool first; a bare pytest run without it says so instead of passing.
@pytest.mark.skipif(not PROMTOOL.exists(), reason="no promtool: run scripts/get_promtool.sh")
def test_promtool_accepts_the_rendered_configuration(tmp_path):
    path = tmp_path / "prometheus.yml"
    path.write_text(prometheus_yml(), encoding="utf-8")
    result = subprocess.run(
        [str(PROMTOOL), "check", "config", "--syntax-only", str(path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


# --------------------------------------------------------------------------------------------
# alertmanager.yml
# --------------------------------------------------------------------------------------------


def test_routes_by_severity_and_service_with_the_test_receiver_first():
    config = alertmanager_yml(
        alertmanager_test_webhook_enabled=True,
        alertmanager_service_routes=[{"service": "postgresql", "slack_channel": "#db"}],
    )
    routes = config["route"]["routes"]
    assert routes[0] == {
        "receiver": "cdc-test-webhook",
        "matchers": ['test="true"'],
        "group_wait": "10s",
        "group_interval": "30s",
    }
    assert routes[1]["matchers"] == ['service="postgresql"']
    assert routes[1]["routes"][0]["receiver"] == "cdc-postgresql-critical"
    assert routes[2] == {"matchers": ['severity="critical"'], "receiver": "cdc-critical", "repeat_interval": "1h"}
    assert routes[3] == {"matchers": ['severity="warning"'], "receiver": "cdc-warning"}
    receivers = {receiver["name"]: receiver for receiver in config["receivers"]}
    assert receivers["cdc-postgresql-warning"]["slack_configs"][0]["channel"] == "#db"
    assert receivers["cdc-test-webhook"]["webhook_configs"][0]["url"] == "http://127.0.0.1:9097/webhook"


def test_only_enabled_receivers_and_credentials_by_file_only():
    config = alertmanager_yml(enabled=("slack",))
    receivers = {receiver["name"]: receiver for receiver in config["receivers"]}
    assert set(receivers["cdc-critical"]) == {"name", "slack_configs"}
    slack = receivers["cdc-warning"]["slack_configs"][0]
    assert slack["api_url_file"] == "/etc/prometheus/alertmanager-secrets/slack-webhook-url"
    assert "api_url" not in slack
    none = alertmanager_yml(enabled=())
    assert all(set(receiver) == {"name"} for receiver in none["receivers"])


def test_pagerduty_and_email_use_their_files():
    config = alertmanager_yml(
        enabled=("pagerduty", "email"),
        credentials={"email": {"auth_username": "alerts"}},
        alertmanager_email_to=["ops@example.com", "dba@example.com"],
        alertmanager_email_from="am@example.com",
        alertmanager_email_smarthost="smtp.example.com:587",
    )
    critical = {receiver["name"]: receiver for receiver in config["receivers"]}["cdc-critical"]
    assert (
        critical["pagerduty_configs"][0]["routing_key_file"]
        == "/etc/prometheus/alertmanager-secrets/pagerduty-routing-key"
    )
    email = critical["email_configs"][0]
    assert email["to"] == "ops@example.com, dba@example.com"
    assert email["auth_username"] == "alerts"
    assert email["auth_password_file"] == "/etc/prometheus/alertmanager-secrets/email-auth-password"  # noqa: S105
    warning = {receiver["name"]: receiver for receiver in config["receivers"]}["cdc-warning"]
    assert "pagerduty_configs" not in warning


def test_inhibition_rules():
    rules = alertmanager_yml()["inhibit_rules"]
    assert rules[0] == {
        "source_matchers": ['severity="critical"'],
        "target_matchers": ['severity="warning"'],
        "equal": ["cluster", "service", "instance"],
    }
    assert rules[1] == {
        "source_matchers": ['alertname="NodeDown"'],
        "target_matchers": ['alertname!="NodeDown"'],
        "equal": ["cluster", "instance"],
    }


def test_templates_make_runbook_links_absolute():
    variables = role_vars(
        ALERTMANAGER, "mon-1", {"alertmanager_runbook_base_url": "https://git.example.com/cdc/blob/main/"}
    )
    text = template(variables, (ALERTMANAGER / "templates" / "cdc.tmpl.j2").read_text(encoding="utf-8"))
    assert (
        '{{ define "cdc.runbook" }}{{ if match "^https?://" . }}{{ . }}'
        "{{ else if . }}https://git.example.com/cdc/blob/main/{{ . }}" in text
    )
    assert text.count("{{ define ") == 6


def test_peers_flags_list_every_other_peer():
    variables = role_vars(ALERTMANAGER, "mon-1")
    unit = template(
        variables, (ALERTMANAGER / "templates" / "alertmanager.service.conf.j2").read_text(encoding="utf-8")
    )
    assert "--cluster.peer=%s:9094" % ADDRESSES["mon-2"] in unit
    assert "--cluster.peer=%s:9094" % ADDRESSES["mon-1"] not in unit
    assert "--cluster.tls-config=/etc/prometheus/alertmanager-cluster-tls.yml" in unit
    assert "ConditionPathExists=/etc/prometheus/alertmanager-web.yml" in unit
