"""The go-live probes' judgements (plugins/filter/golive.py) and the golive role's probe lists."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from plugins.filter.golive import (
    golive_client_cert_result,
    golive_connector_result,
    golive_firewall_result,
    golive_group_sizes_result,
    golive_listener_targets,
    golive_login_result,
    golive_login_targets,
    golive_plaintext_result,
    golive_prometheus_batch,
    golive_prometheus_queries,
    golive_prometheus_results,
    golive_prometheus_unbatch,
    golive_retention_result,
)

pytestmark = pytest.mark.unit

REPO_ROOT = Path(__file__).resolve().parents[2]
ROLE = REPO_ROOT / "roles" / "golive"
AT = "2027-01-15T09:30:00Z"


def answer(probe, part, result=None, error=None, query="q"):
    item = {"probe": probe, "part": part, "query": query}
    if error:
        return {"item": item, "status": -1, "msg": error}
    return {"item": item, "status": 200, "json": {"status": "success", "data": {"result": result or []}}}


SERIES = {"metric": {"instance": "node-4", "stanza": "cdc"}, "value": [1800000000, "100000"]}


# --- Prometheus probes ---------------------------------------------------------------------------


def test_a_probe_passes_only_with_its_data_present_and_no_offender():
    results = golive_prometheus_results(
        [
            answer("backup_age", "offenders", query="time() - x > 26 * 3600"),
            answer("backup_age", "present", [SERIES], query="x"),
            answer("cert_validity", "offenders", [SERIES]),
            answer("cert_validity", "present", [SERIES, SERIES]),
        ],
        "10.0.0.61",
        AT,
    )
    assert results["backup_age"] == {
        "passed": True,
        "command": "Prometheus 10.0.0.61: time() - x > 26 * 3600",
        "result": "no offender among 1 series of x",
        "at": AT,
    }
    assert results["cert_validity"]["passed"] is False
    assert results["cert_validity"]["result"] == ["{instance=node-4, stanza=cdc} 100000"]


def test_missing_data_or_no_answer_fails_the_probe_instead_of_passing_on_silence():
    missing = golive_prometheus_results(
        [answer("backup_age", "offenders"), answer("backup_age", "present", query="x")], "p", AT
    )["backup_age"]
    assert (missing["passed"], missing["result"]) == (False, "no series of x: the data this probe reads is missing")
    down = golive_prometheus_results(
        [answer("up", "offenders", error="Connection refused"), answer("up", "present", [SERIES])], "p", AT
    )["up"]
    assert down["passed"] is False and "Connection refused" in down["result"]


def test_a_run_record_never_written_names_what_to_run():
    probe = {"key": "offsets_backup_age", "value": {"offenders": "age > 1", "present": "x", "missing": "run backup"}}
    items = golive_prometheus_queries(probe)
    assert "missing" not in items[0] and items[1]["missing"] == "run backup"
    result = golive_prometheus_results(
        [dict(answer("a", part), item=item) for part, item in zip("op", items, strict=True)], "p", AT
    )
    assert result["offsets_backup_age"]["result"] == "no series of x: the data this probe reads is missing; run backup"


def test_every_prometheus_probe_of_the_role_becomes_two_queries():
    probes = yaml.safe_load((ROLE / "vars" / "main.yml").read_text())["golive_prometheus_probes"]
    for name, queries in probes.items():
        items = golive_prometheus_queries({"key": name, "value": queries})
        assert [(item["probe"], item["part"]) for item in items] == [(name, "offenders"), (name, "present")]


@pytest.mark.parametrize(
    ("flag", "passed"),
    [
        ("30d", True),
        ("720h", True),
        ("12w", True),
        ("90d", True),
        ("15d", False),
        ("1y", False),
        ("30x", False),
        ("", False),
    ],
)
def test_retention_from_the_flag_prometheus_runs_with(flag, passed):
    answer = {"status": 200, "json": {"status": "success", "data": {"storage.tsdb.retention.time": flag}}}
    assert golive_retention_result(answer, 30, 90, AT)["passed"] is passed


def test_retention_without_an_answer_fails():
    result = golive_retention_result({"status": -1, "msg": "Connection refused"}, 30, 90, AT)
    assert (result["passed"], result["result"]) == (False, "Prometheus did not answer: Connection refused")


# --- firewall -------------------------------------------------------------------------------------


def nft(entries):
    return {"rc": 0, "stdout": json.dumps({"nftables": entries}), "stderr": ""}


def chain(hook, policy, table="cdc_filter"):
    return {"chain": {"family": "inet", "table": table, "name": hook, "hook": hook, "policy": policy}}


def test_the_firewall_denies_by_default_when_each_hook_has_a_dropping_chain():
    ruleset = nft(
        [
            {"metainfo": {}},
            chain("input", "drop"),
            chain("forward", "drop"),
            chain("input", "accept", "podman"),
        ]
    )
    result = golive_firewall_result(ruleset, AT)
    assert result["passed"] is True
    assert "inet podman input: hook input, policy accept" in result["result"]


@pytest.mark.parametrize(
    "entries",
    [
        [chain("input", "accept"), chain("forward", "drop")],
        [chain("input", "drop")],
        [],
    ],
)
def test_a_hook_without_a_dropping_chain_fails_and_is_named(entries):
    result = golive_firewall_result(nft(entries), AT)
    assert result["passed"] is False
    assert result["result"][-1].startswith("no chain drops by default on hook")


def test_no_nft_fails_the_probe_with_its_error():
    result = golive_firewall_result({"rc": 2, "stdout": "", "stderr": "No such file or directory: nft"}, AT)
    assert (result["passed"], result["result"]) == (False, ["nft failed: No such file or directory: nft"])


# --- connectors -----------------------------------------------------------------------------------


def connector(name, state="RUNNING", tasks=("RUNNING",)):
    return {"name": name, "state": state, "tasks": [{"id": i, "state": s} for i, s in enumerate(tasks)]}


def test_connectors_pass_only_when_each_runs_with_every_task_running():
    info = {"worker": {"url": "https://w:8083"}, "connectors": [connector("scylla-source"), connector("postgres-sink")]}
    assert golive_connector_result(info, AT)["passed"] is True
    for broken in (
        connector("postgres-sink", "STOPPED", ()),
        connector("postgres-sink", tasks=("FAILED",)),
        connector("postgres-sink", tasks=()),
    ):
        result = golive_connector_result(dict(info, connectors=[connector("scylla-source"), broken]), AT)
        assert result["passed"] is False
        assert any(line.startswith("postgres-sink:") for line in result["result"])
    assert golive_connector_result({"connectors": []}, AT)["passed"] is False


# --- plaintext ------------------------------------------------------------------------------------


def test_listeners_expand_over_their_group_with_the_hosts_own_port():
    targets = golive_listener_targets(
        [
            {
                "name": "PostgreSQL",
                "group": "postgresql",
                "port": 5432,
                "port_var": "postgresql_port",
                "protocol": "postgresql",
            }
        ],
        {"postgresql": ["pg-1", "pg-2"]},
        {"pg-1": {"cdc_address": "10.0.4.11"}, "pg-2": {"cdc_address": "10.0.4.12", "postgresql_port": 5433}},
    )
    assert [(t["host"], t["address"], t["port"], t["client_cert"]) for t in targets] == [
        ("pg-1", "10.0.4.11", 5432, False),
        ("pg-2", "10.0.4.12", 5433, False),
    ]


def http(status, text="", port=8200):
    return {
        "item": {"name": "x", "host": "h", "port": port, "protocol": "http"},
        "status": status,
        "msg": text,
        "content": "",
    }


def pg(available, error):
    return {
        "item": {"name": "PostgreSQL", "host": "pg-1", "port": 5432, "protocol": "postgresql"},
        "is_available": available,
        "conn_err_msg": error,
    }


@pytest.mark.parametrize(
    ("answers", "passed"),
    [
        ([http(-1, "Request failed: Remote end closed connection without response")], True),
        ([http(400, "Client sent an HTTP request to an HTTPS server.")], True),
        ([pg(False, 'no pg_hba.conf entry for host "10.0.0.1", user "u", database "postgres", no encryption')], True),
        ([pg(False, "FATAL:  SSL required")], True),
        # negative controls: a plain answer, nothing listening, a plaintext session reaching authentication
        ([http(200, "OK")], False),
        ([http(404, "Not Found")], False),
        ([http(-1, "Request failed: <urlopen error [Errno 111] Connection refused>")], False),
        ([pg(False, 'password authentication failed for user "u"')], False),
        ([pg(True, "")], False),
        ([], False),
    ],
)
def test_a_listener_passes_only_when_it_listens_and_refuses_plaintext(answers, passed):
    assert golive_plaintext_result(answers, AT)["passed"] is passed


@pytest.mark.parametrize(
    ("status", "message", "passed"),
    [
        (
            -1,
            "<urlopen error [SSL: TLSV13_ALERT_CERTIFICATE_REQUIRED] tlsv13 alert certificate required>",
            True,
        ),
        (-1, "Request failed: <urlopen error EOF occurred in violation of protocol (_ssl.c:2427)>", True),
        # negative controls: served without a certificate, nothing listening, a plain HTTP server
        (200, "OK", False),
        (401, "Unauthorized", False),
        (-1, "Request failed: <urlopen error [Errno 111] Connection refused>", False),
        (-1, "Request failed: <urlopen error [SSL: WRONG_VERSION_NUMBER] wrong version number>", False),
    ],
)
def test_a_listener_requiring_a_client_certificate_must_refuse_the_handshake_without_one(status, message, passed):
    answer = {"item": {"name": "Prometheus", "host": "mon-1", "port": 9090}, "status": status, "msg": message}
    assert golive_client_cert_result([answer], AT)["passed"] is passed
    assert golive_client_cert_result([], AT)["passed"] is False


# --- group sizes ----------------------------------------------------------------------------------


def test_group_sizes_need_enough_hosts_an_odd_quorum_and_every_host_answering():
    sizes = {"kafka": [3, True], "kafka_connect": [2, False]}
    groups = {"all": ["k1", "k2", "k3", "c1", "c2"], "kafka": ["k1", "k2", "k3"], "kafka_connect": ["c1", "c2"]}
    assert golive_group_sizes_result(groups, sizes, groups["all"], AT)["passed"] is True
    silent = golive_group_sizes_result(groups, sizes, ["k1", "k2", "k3", "c1"], AT)
    assert silent["passed"] is False and silent["result"][-1] == "did not answer: c2"
    even = dict(groups, kafka=["k1", "k2", "k3", "k4"])
    assert golive_group_sizes_result(even, sizes, groups["all"] + ["k4"], AT)["result"][0] == (
        "kafka: 4 host(s), needs 3 and an odd number"
    )


# --- the role's probe lists -----------------------------------------------------------------------


def test_the_role_runs_only_probes_the_map_names_and_lists_them_once():
    role_vars = yaml.safe_load((ROLE / "vars" / "main.yml").read_text())
    specs = yaml.safe_load((ROLE / "meta" / "argument_specs.yml").read_text())["argument_specs"]
    checklist = yaml.safe_load((REPO_ROOT / "playbooks" / "vars" / "readiness_checklist.yml").read_text())
    named = {item["probe"] for item in checklist["readiness_checklist"] if item.get("probe")}
    probes = role_vars["golive_all_probes"]
    assert len(probes) == len(set(probes)) and set(probes) <= named
    assert set(role_vars["golive_prometheus_probes"]) <= set(probes)
    for entry_point in specs.values():
        assert entry_point["options"]["golive_only_probes"]["choices"] == probes


# -- no_default_credentials, refuses_anonymous -------------------------------------------------------

LOGIN_ATTEMPTS = [
    {"probe": "no_default_credentials", "listener": "PostgreSQL", "user": "postgres", "password": "postgres"},
    {
        "probe": "no_default_credentials",
        "listener": "Grafana",
        "user": "admin",
        "password": "admin",
        "path": "/api/user",
    },
    {"probe": "refuses_anonymous", "listener": "OpenBao API", "path": "/v1/sys/mounts"},
]
LOGIN_TARGETS = [
    {"name": "PostgreSQL", "host": "db-1", "address": "10.0.0.4", "port": 5432, "protocol": "postgresql"},
    {"name": "OpenBao API", "host": "bao-1", "address": "10.0.0.1", "port": 8200, "protocol": "http"},
    {"name": "OpenBao API", "host": "bao-2", "address": "10.0.0.2", "port": 8200, "protocol": "http"},
]


def login_answers(postgres=None, openbao=(403, 403)):
    items = golive_login_targets(LOGIN_ATTEMPTS, LOGIN_TARGETS)
    answers = []
    for item in items:
        if item["protocol"] == "postgresql":
            answers.append(
                {
                    "item": item,
                    **(
                        postgres
                        or {
                            "is_available": False,
                            "conn_err_msg": 'FATAL:  password authentication failed for user "postgres"',
                        }
                    ),
                }
            )
        else:
            answers.append(
                {
                    "item": item,
                    "status": openbao[len([a for a in answers if a["item"]["protocol"] == "http"])],
                    "msg": "",
                }
            )
    return answers


def test_login_targets_pair_each_attempt_with_every_host_of_its_listener():
    items = golive_login_targets(LOGIN_ATTEMPTS, LOGIN_TARGETS)
    assert [(i["probe"], i["host"], i.get("user")) for i in items] == [
        ("no_default_credentials", "db-1", "postgres"),
        ("refuses_anonymous", "bao-1", None),
        ("refuses_anonymous", "bao-2", None),
    ]


def test_refused_logins_pass_and_a_disabled_listener_is_named_with_its_reason():
    answers = login_answers()
    defaults = golive_login_result(answers, "no_default_credentials", LOGIN_ATTEMPTS, AT, {"Grafana": "not installed"})
    assert defaults["passed"], defaults["result"]
    assert "Grafana: not tried (not installed)" in defaults["result"]
    anonymous = golive_login_result(answers, "refuses_anonymous", LOGIN_ATTEMPTS, AT)
    assert anonymous["passed"] and len(anonymous["result"]) == 2


@pytest.mark.parametrize(
    ("postgres", "seen"),
    [
        ({"is_available": True, "conn_err_msg": ""}, "accepted a login as postgres"),
        ({"is_available": False, "conn_err_msg": "could not connect: Connection refused"}, "nothing listens"),
        ({"is_available": False, "conn_err_msg": "SSL SYSCALL error: EOF detected"}, "not refused for its credentials"),
    ],
)
def test_an_accepted_or_unproven_default_login_fails(postgres, seen):
    result = golive_login_result(
        login_answers(postgres), "no_default_credentials", LOGIN_ATTEMPTS, AT, {"Grafana": "x"}
    )
    assert not result["passed"]
    assert seen in " ".join(result["result"])


def test_an_anonymous_read_answered_fails_and_a_listener_without_hosts_is_not_a_pass():
    answered = golive_login_result(login_answers(openbao=(403, 200)), "refuses_anonymous", LOGIN_ATTEMPTS, AT)
    assert not answered["passed"]
    assert "bao-2:8200: accepted a login without credentials" in " ".join(answered["result"])
    # Grafana is in the attempts but has no host and is not disabled: nothing was proven for it.
    nothing = golive_login_result(login_answers(), "no_default_credentials", LOGIN_ATTEMPTS, AT)
    assert not nothing["passed"]
    assert "Grafana: no host to try it on" in nothing["result"]


def test_the_pooler_passes_only_when_its_verified_tls_session_reached_the_login():
    attempts = [
        {
            "probe": "pooler_serves_tls",
            "listener": "PgBouncer",
            "user": "probe",
            "password": "",
            "ssl_mode": "verify-full",
        }
    ]
    target = {"name": "PgBouncer", "host": "db-1", "address": "10.0.0.4", "port": 6432, "protocol": "postgresql"}
    item = dict(target, **attempts[0])

    def judged(message):
        answer = {"item": item, "is_available": False, "conn_err_msg": message}
        return golive_login_result([answer], "pooler_serves_tls", attempts, AT)

    refused = judged('FATAL:  password authentication failed for user "probe"')
    assert refused["passed"] and "verify-full" in refused["command"]
    for message in (
        'server certificate for "db-1.example" does not match host name "10.0.0.4"',
        "SSL error: certificate verify failed",
        "server does not support SSL, but SSL was required",
    ):
        assert not judged(message)["passed"], message


def test_a_batch_is_every_query_labelled_by_position():
    items = [{"probe": "a", "part": "offenders", "query": "up == 0"}, {"probe": "a", "part": "present", "query": "up"}]
    assert golive_prometheus_batch(items) == (
        'label_replace((up == 0), "cdc_golive_query", "0", "", "")'
        ' or label_replace((up), "cdc_golive_query", "1", "", "")'
    )
    with pytest.raises(AnsibleFilterError):
        golive_prometheus_batch([])


def test_an_unbatched_answer_gives_each_query_its_series():
    items = [{"probe": "a", "part": "offenders", "query": "up == 0"}, {"probe": "a", "part": "present", "query": "up"}]
    series = {"metric": {"__name__": "up", "instance": "k1", "cdc_golive_query": "1"}, "value": [1, "1"]}
    answer = {"status": 200, "json": {"status": "success", "data": {"resultType": "vector", "result": [series]}}}
    offenders, present = golive_prometheus_unbatch(answer, items)
    assert offenders["item"] == items[0] and offenders["json"]["data"]["result"] == []
    assert present["json"]["data"]["result"] == [{"metric": {"__name__": "up", "instance": "k1"}, "value": [1, "1"]}]
    assert golive_prometheus_results([offenders, present], "mon-1", "now")["a"]["passed"]
    refused = {"status": 400, "json": {"status": "error", "error": "parse error"}}
    assert golive_prometheus_unbatch(refused, items) == []
    assert golive_prometheus_unbatch({"status": -1, "msg": "connection refused"}, items) == []
