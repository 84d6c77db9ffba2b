"""alert_routes (plugins/filter/golive_alerting.py): the running Alertmanager's route tree walked for
each severity and service, against the configuration the alertmanager role renders."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from plugins.filter.golive_alerting import golive_alert_routes_result, receivers_for

pytestmark = pytest.mark.unit

AT = "2027-01-15T09:30:00Z"
SERVICES = ["connect", "postgresql"]
SEVERITIES = ["critical", "warning"]

# The shape of roles/alertmanager/templates/alertmanager.yml.j2 with Slack on for both severities,
# PagerDuty for critical, a per-service route for postgresql and the test webhook.
CONFIG = {
    "route": {
        "receiver": "cdc-warning",
        "routes": [
            {"receiver": "cdc-test-webhook", "matchers": ['test="true"']},
            {
                "matchers": ['service="postgresql"'],
                "receiver": "cdc-postgresql-warning",
                "routes": [{"matchers": ['severity="critical"'], "receiver": "cdc-postgresql-critical"}],
            },
            {"matchers": ['severity="critical"'], "receiver": "cdc-critical"},
            {"matchers": ['severity="warning"'], "receiver": "cdc-warning"},
        ],
    },
    "receivers": [
        {"name": "cdc-critical", "pagerduty_configs": [{"routing_key_file": "/x"}], "slack_configs": [{}]},
        {"name": "cdc-warning", "slack_configs": [{"api_url_file": "/y"}]},
        {"name": "cdc-postgresql-critical", "pagerduty_configs": [{}]},
        {"name": "cdc-postgresql-warning", "email_configs": [{"to": "dba@example.com"}]},
        {"name": "cdc-test-webhook", "webhook_configs": [{"url": "http://127.0.0.1:9097/webhook"}]},
    ],
}


def answer(config):
    return {"status": 200, "json": {"config": {"original": yaml.safe_dump(config)}}}


def test_the_tree_is_walked_as_alertmanager_does():
    route = CONFIG["route"]
    assert receivers_for(route, {"severity": "critical", "service": "postgresql"}) == ["cdc-postgresql-critical"]
    assert receivers_for(route, {"severity": "warning", "service": "postgresql"}) == ["cdc-postgresql-warning"]
    assert receivers_for(route, {"severity": "critical", "service": "connect"}) == ["cdc-critical"]
    assert receivers_for(route, {"severity": "info", "service": "connect"}) == ["cdc-warning"]
    assert receivers_for(route, {"test": "true", "severity": "critical"}) == ["cdc-test-webhook"]


def test_continue_and_regular_expressions_reach_more_than_one_receiver():
    route = {
        "receiver": "root",
        "routes": [
            {"matchers": ['service=~"conn.*"'], "receiver": "a", "continue": True},
            {"match_re": {"severity": "crit.*"}, "receiver": "b"},
            {"matchers": ['service!="connect"'], "receiver": "c"},
        ],
    }
    assert receivers_for(route, {"severity": "critical", "service": "connect"}) == ["a", "b"]
    assert receivers_for(route, {"severity": "warning", "service": "kafka"}) == ["c"]


def test_every_severity_and_service_reaching_an_integration_passes_and_says_where():
    result = golive_alert_routes_result(answer(CONFIG), "mon-1", SERVICES, SEVERITIES, AT)
    assert result["passed"], result
    assert "critical -> cdc-postgresql-critical (pagerduty): postgresql" in result["result"]
    assert "warning -> cdc-warning (slack): connect" in result["result"]
    assert result["command"].startswith("GET /api/v2/status of the Alertmanager on mon-1")


def test_a_receiver_without_integrations_fails_naming_what_reaches_it():
    # No credential stored: the role renders the receivers with no integration at all.
    silent = dict(CONFIG, receivers=[{"name": name} for name in ("cdc-critical", "cdc-warning")])
    result = golive_alert_routes_result(answer(silent), "mon-1", ["connect"], SEVERITIES, AT)
    assert not result["passed"]
    assert result["result"] == [
        "critical connect alerts reach cdc-critical, which notifies nobody",
        "warning connect alerts reach cdc-warning, which notifies nobody",
    ]


def test_the_test_webhook_alone_is_not_a_route():
    only_test = {"route": {"receiver": "cdc-test-webhook"}, "receivers": CONFIG["receivers"]}
    result = golive_alert_routes_result(answer(only_test), "mon-1", ["connect"], ["critical"], AT)
    assert not result["passed"] and "cdc-test-webhook, which notifies nobody" in result["result"][0]


def test_no_answer_fails():
    result = golive_alert_routes_result({"status": -1, "msg": "Connection refused"}, "mon-1", SERVICES, SEVERITIES, AT)
    assert not result["passed"] and "Connection refused" in result["result"]


def test_the_role_routes_every_service_and_severity_the_alert_rules_carry():
    root = Path(__file__).resolve().parents[2]
    defaults = yaml.safe_load((root / "roles/golive/defaults/main.yml").read_text())
    carried_services, carried_severities = set(), set()
    for path in (root / "roles/prometheus/files/rules").glob("*.yml"):
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                if "alert" in rule:
                    carried_severities.add(rule["labels"]["severity"])
                    service = rule["labels"]["service"]
                    if "$labels" not in service:
                        carried_services.add(service)
    assert carried_services <= set(defaults["golive_alert_route_services"])
    assert carried_severities == set(defaults["golive_alert_route_severities"])
