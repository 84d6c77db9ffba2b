"""metrics_tls: what the TLS endpoints in front of plain-HTTP exporters are rendered to.

The behaviour (PKI certificate served, no certificate / a foreign one / plain HTTP refused, dropped from
a host outside the monitoring group) is proven against the lab in molecule/pipeline/verify_exporters.yml;
these pin the settings that behaviour rests on, so a template edit cannot drop one silently.
"""

from __future__ import annotations

import configparser
import re
from pathlib import Path

import jinja2
import yaml

REPO = Path(__file__).resolve().parents[2]
ROLE = REPO / "roles/metrics_tls"
ENDPOINTS = [
    {"name": "postgres-exporter", "port": 9187, "backend_port": 19187},
    {"name": "pgbouncer-exporter", "port": 9127, "backend_port": 19127},
]


def render(name: str, **variables) -> str:
    return jinja2.Template((ROLE / "templates" / name).read_text()).render(ansible_managed="managed", **variables)


def stunnel_sections() -> dict[str, dict[str, str]]:
    text = render(
        "stunnel.conf.j2",
        metrics_tls_endpoints=ENDPOINTS,
        metrics_tls_listen_address="10.0.0.4",
        metrics_tls_min_version="TLSv1.2",
        metrics_tls_pki_dir="/etc/cdc-pki/postgresql",
        metrics_tls_pki_service="postgresql",
        metrics_tls_account="stunnel4",
    )
    parser = configparser.ConfigParser(comment_prefixes=(";",), default_section="global")
    parser.read_string("[global]\n" + text)
    return {name: dict(parser[name]) for name in parser.sections()}


def test_every_endpoint_requires_a_client_certificate_chaining_to_the_ca():
    sections = stunnel_sections()
    assert sorted(sections) == ["pgbouncer-exporter", "postgres-exporter"]
    for section in sections.values():
        assert section["requirecert"] == "yes"
        assert section["verifychain"] == "yes"
        assert section["cafile"] == "/etc/cdc-pki/postgresql/ca.pem"
        assert section["sslversionmin"] == "TLSv1.2"


def test_the_exporter_is_reached_on_loopback_and_served_on_the_pipeline_address():
    sections = stunnel_sections()
    assert sections["postgres-exporter"]["accept"] == "10.0.0.4:9187"
    assert sections["postgres-exporter"]["connect"] == "127.0.0.1:19187"
    assert sections["pgbouncer-exporter"]["connect"] == "127.0.0.1:19127"


def test_it_reads_the_service_key_as_root_and_then_runs_as_stunnel4():
    unit = render("cdc-metrics-tls@.service.j2")
    sections = stunnel_sections()
    text = render(
        "stunnel.conf.j2",
        metrics_tls_endpoints=ENDPOINTS,
        metrics_tls_pki_dir="/etc/cdc-pki/postgresql",
        metrics_tls_pki_service="postgresql",
        metrics_tls_account="stunnel4",
    )
    assert re.search(r"(?m)^setuid = stunnel4$", text) and re.search(r"(?m)^setgid = stunnel4$", text)
    assert sections["postgres-exporter"]["key"] == "/etc/cdc-pki/postgresql/postgresql.key"
    assert sections["postgres-exporter"]["cert"] == "/etc/cdc-pki/postgresql/postgresql-fullchain.pem"
    assert not re.search(r"(?m)^User=", unit)
    assert re.search(r"(?m)^CapabilityBoundingSet=CAP_SETUID CAP_SETGID$", unit)


def test_a_renewed_chain_restarts_the_endpoints():
    path = render("cdc-metrics-tls-renewed@.path.j2")
    service = render("cdc-metrics-tls-renewed@.service.j2")
    assert re.search(r"(?m)^PathChanged=/etc/cdc-pki/%i/%i-fullchain\.pem$", path)
    assert "try-restart cdc-metrics-tls@%i.service" in service


def test_the_exporters_listen_on_loopback_only():
    """Each exporter's own listener is 127.0.0.1:<backend port>, never the pipeline address."""
    kafka_unit = (REPO / "roles/kafka/templates/kafka.service.j2").read_text()
    connect_unit = (REPO / "roles/kafka_connect/templates/kafka-connect.service.j2").read_text()
    pgbouncer_unit = (REPO / "roles/postgresql/templates/cdc-pgbouncer-exporter.service.j2").read_text()
    exporter_tasks = yaml.safe_load((REPO / "roles/postgresql/tasks/exporter.yml").read_text())
    assert "jmx_prometheus_javaagent.jar=127.0.0.1:{{ kafka_jmx_exporter_backend_port }}:" in kafka_unit
    assert "jmx_prometheus_javaagent.jar=127.0.0.1:{{ kafka_connect_jmx_exporter_backend_port }}:" in connect_unit
    assert "--listen-address=127.0.0.1 --port={{ postgresql_pgbouncer_exporter_backend_port }}" in pgbouncer_unit
    settings = next(task for task in exporter_tasks if task["name"] == "Exporter settings")
    listen = "--web.listen-address=127.0.0.1:{{ postgresql_exporter_backend_port }}"
    assert listen in settings["ansible.builtin.copy"]["content"]
