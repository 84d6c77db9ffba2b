"""The scylla role without a ScyllaDB server: its templates rendered with Ansible's own templar for a
3-node inventory and read back as YAML (the security settings, ports, seeds, addresses, audit), the
config check the role runs before scylla.yaml goes live, the derived variables, the argument specs
against defaults/main.yml, and the decision logic of the role's CQL script (files/cdc_scylla_cql.py)
with a fake client. What needs a live ScyllaDB is in molecule/scylla (docs/scylla.md)."""
# ruff: noqa: S104, S105, S106 - fake passwords and a wildcard address are what these tests feed the checks

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

pytestmark = pytest.mark.unit

REPO_ROOT = Path(__file__).resolve().parents[2]
ROLE = REPO_ROOT / "roles" / "scylla"
HOSTS = {"scylla-1": "10.0.0.31", "scylla-2": "10.0.0.32", "scylla-3": "10.0.0.33"}
SEEDED_HASH = "$6$abcdefghijklmnop$hash"
TLS_DIR = "/etc/cdc-pki/scylla"


def _load_module(name: str, path: Path):
    """Import a file of the role (not a package) by path."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ansible_collections.cdc.pipeline is importable: tests/unit/conftest.py puts it on sys.path.

config_check = _load_module("cdc_scylla_config_check", ROLE / "files" / "cdc-scylla-config-check.py")
cql_script = _load_module("cdc_scylla_cql", ROLE / "files" / "cdc_scylla_cql.py")
cql = cql_script.cql


# --------------------------------------------------------------------------------------------
# rendering with Ansible's templar
# --------------------------------------------------------------------------------------------


def load_trusted(path: Path) -> dict:
    """A vars file as Ansible loads it: its strings may be templates."""
    return DataLoader().load_from_file(str(path), trusted_as_template=True) or {}


def host_vars(host: str, overrides: dict | None = None, extra_files: tuple[Path, ...] = ()) -> dict:
    """What the role sees on `host` of a 3-node inventory (defaults < group_vars < overrides, vars/ on top)."""
    variables = dict(load_trusted(ROLE / "defaults" / "main.yml"))
    for path in extra_files:
        variables.update(load_trusted(path))
    variables.update(overrides or {})
    variables.update(load_trusted(ROLE / "vars" / "main.yml"))
    node_facts = {}
    for name, address in HOSTS.items():
        scoped = dict(variables, inventory_hostname=name, cdc_address=address)
        templar = Templar(loader=DataLoader(), variables=scoped)
        node_facts[name] = {
            key: templar.template(variables[var])
            for key, var in (("address", "scylla_listen_address"), ("dc", "scylla_dc"), ("rack", "scylla_rack"))
        }
    hostvars = {name: {"inventory_hostname": name, "scylla_node_facts": facts} for name, facts in node_facts.items()}
    variables.update(
        inventory_hostname=host,
        cdc_address=HOSTS[host],
        groups={"scylla": list(HOSTS), "all": list(HOSTS)},
        hostvars=hostvars,
        scylla_node_facts=node_facts[host],
        scylla_admin_salted_password=SEEDED_HASH,
        ansible_managed="Managed by Ansible (test)",
        role_path=str(ROLE),
        cdc_vault_ca_cert="/controller/ca.pem",
        ansible_facts={"default_ipv4": {"address": "192.0.2.1"}},
    )
    return variables


def render(template: str, host: str = "scylla-1", **kwargs) -> str:
    variables = host_vars(host, **kwargs)
    text = (ROLE / "templates" / template).read_text(encoding="utf-8")
    return Templar(loader=DataLoader(), variables=variables).template(trust_as_template(text))


def value(expression: str, host: str = "scylla-1", **kwargs):
    """A variable or expression as the role sees it on host."""
    variables = host_vars(host, **kwargs)
    return Templar(loader=DataLoader(), variables=variables).template(trust_as_template("{{ %s }}" % expression))


def scylla_yaml(host: str = "scylla-1", **kwargs) -> dict:
    return yaml.safe_load(render("scylla.yaml.j2", host, **kwargs))


# --------------------------------------------------------------------------------------------
# scylla.yaml
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("host", sorted(HOSTS))
def test_scylla_yaml_addresses_seeds_and_topology(host):
    config = scylla_yaml(host)
    address = HOSTS[host]
    assert config["cluster_name"] == "cdc-pipeline"
    for key in ("listen_address", "broadcast_address", "rpc_address", "broadcast_rpc_address", "prometheus_address"):
        assert config[key] == address, key
    # One seed, the first node of the group, on every node (ScyllaDB: the first node is the seed).
    assert config["seed_provider"][0]["parameters"][0]["seeds"] == "10.0.0.31"
    assert config["seed_provider"][0]["class_name"] == "org.apache.cassandra.locator.SimpleSeedProvider"
    assert config["endpoint_snitch"] == "GossipingPropertyFileSnitch"
    assert config["tablets_mode_for_new_keyspaces"] == "disabled"
    assert config["developer_mode"] is False
    assert config["data_file_directories"] == ["/var/lib/scylla/data"]


def test_scylla_yaml_authentication_and_authorization():
    config = scylla_yaml()
    assert config["authenticator"] == "PasswordAuthenticator"
    assert config["authorizer"] == "CassandraAuthorizer"
    # The admin is seeded by a crypt hash, never by the password; no cassandra/cassandra.
    assert config["auth_superuser_name"] == "cdc_admin"
    assert config["auth_superuser_salted_password"] == SEEDED_HASH


def test_scylla_yaml_cql_is_tls_only():
    config = scylla_yaml()
    # Only the _ssl ports are set: ScyllaDB opens a plain listener only for a set plain port or when none is set.
    assert "native_transport_port" not in config
    assert "native_shard_aware_transport_port" not in config
    assert config["native_transport_port_ssl"] == 9142
    assert config["native_shard_aware_transport_port_ssl"] == 19142
    client = config["client_encryption_options"]
    assert client["enabled"] is True
    assert client["certificate"] == TLS_DIR + "/scylla-fullchain.pem"
    assert client["keyfile"] == TLS_DIR + "/scylla.key"
    assert client["truststore"] == TLS_DIR + "/ca.pem"
    assert client["require_client_auth"] is False
    assert client["priority_string"] == "SECURE128:+SECURE192:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"


def test_scylla_yaml_internode_mutual_tls_everywhere():
    config = scylla_yaml()
    server = config["server_encryption_options"]
    assert server["internode_encryption"] == "all"
    assert server["require_client_auth"] is True
    assert server["certificate"] == TLS_DIR + "/scylla-fullchain.pem"
    assert server["truststore"] == TLS_DIR + "/ca.pem"
    assert "-VERS-ALL" in server["priority_string"] and "+VERS-TLS1.1" not in server["priority_string"]
    assert config["ssl_storage_port"] == 7001
    assert "storage_port" not in config


def test_scylla_yaml_audit_and_local_endpoints():
    config = scylla_yaml(overrides={"scylla_keyspaces": [{"name": "shop"}, {"name": "billing"}]})
    assert config["audit"] == "syslog"
    assert config["audit_categories"] == "DCL,DDL,AUTH,ADMIN"
    assert config["audit_keyspaces"] == "shop,billing"
    assert config["audit_tables"] == ""
    assert config["api_address"] == "127.0.0.1"
    assert config["prometheus_port"] == 9180
    none = scylla_yaml(overrides={"scylla_audit": "none"})
    assert none["audit"] == "none" and "audit_categories" not in none


def test_scylla_yaml_switches_and_extra_settings():
    config = scylla_yaml(
        overrides={
            "scylla_client_require_client_auth": True,
            "scylla_developer_mode": True,
            "scylla_tablets_mode_for_new_keyspaces": "",
            "scylla_yaml_extra": {"compaction_throughput_mb_per_sec": 64, "read_request_timeout_in_ms": 4000},
        }
    )
    assert config["client_encryption_options"]["require_client_auth"] is True
    assert config["developer_mode"] is True
    assert "tablets_mode_for_new_keyspaces" not in config
    assert config["compaction_throughput_mb_per_sec"] == 64
    assert config["read_request_timeout_in_ms"] == 4000


def test_rendered_scylla_yaml_passes_the_config_check():
    assert config_check.check(scylla_yaml(), file_checks=False) == []


def test_config_check_script_exit_status(tmp_path):
    good = tmp_path / "scylla.yaml"
    good.write_text(render("scylla.yaml.j2"), encoding="utf-8")
    script = ROLE / "files" / "cdc-scylla-config-check.py"
    ok = subprocess.run(
        [sys.executable, script, "--skip-file-checks", good], check=False, capture_output=True, text=True
    )
    assert ok.returncode == 0, ok.stderr
    # With file checks the certificate paths of the template do not exist on this machine.
    missing = subprocess.run([sys.executable, script, good], check=False, capture_output=True, text=True)
    assert missing.returncode == 1 and "is not a readable file" in missing.stderr
    broken = tmp_path / "broken.yaml"
    broken.write_text("cluster_name: [unclosed\n", encoding="utf-8")
    parse = subprocess.run(
        [sys.executable, script, "--skip-file-checks", broken], check=False, capture_output=True, text=True
    )
    assert parse.returncode == 1 and "cannot be read as YAML" in parse.stderr


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda c: c.update(authenticator="AllowAllAuthenticator"), "authenticator must be PasswordAuthenticator"),
        (lambda c: c.update(authorizer="AllowAllAuthorizer"), "authorizer must be CassandraAuthorizer"),
        (lambda c: c.update(native_transport_port=9042), "native_transport_port is set"),
        (lambda c: c.update(native_shard_aware_transport_port=19042), "native_shard_aware_transport_port is set"),
        (lambda c: c["client_encryption_options"].update(enabled=False), "client_encryption_options.enabled"),
        (
            lambda c: c["client_encryption_options"].update(priority_string="NORMAL"),
            "allows VERS-TLS1.0, VERS-TLS1.1, VERS-SSL3.0",
        ),
        (
            lambda c: c["server_encryption_options"].update(priority_string="SECURE128:-VERS-ALL:+VERS-TLS1.1"),
            "allows VERS-TLS1.1",
        ),
        (lambda c: c["client_encryption_options"].pop("priority_string"), "priority_string is missing"),
        (
            lambda c: c["server_encryption_options"].update(internode_encryption="dc"),
            "internode_encryption must be all",
        ),
        (lambda c: c["server_encryption_options"].update(require_client_auth=False), "mutual TLS between nodes"),
        (lambda c: c["seed_provider"][0]["parameters"][0].update(seeds=""), "no seeds"),
        (lambda c: c.pop("listen_address"), "listen_address is missing"),
        (lambda c: c.update(audit="file"), "audit must be none, table or syslog"),
        (lambda c: c.update(api_address="0.0.0.0"), "keep it on loopback"),
    ],
)
def test_config_check_refuses_weakened_settings(change, problem):
    config = scylla_yaml()
    change(config)
    problems = config_check.check(config, file_checks=False)
    assert any(problem in line for line in problems), problems


def test_config_check_accepts_explicitly_disabled_old_versions_without_vers_all():
    assert config_check.priority_problems("x", "SECURE256:-VERS-SSL3.0:-VERS-TLS1.0:-VERS-TLS1.1") == []


# --------------------------------------------------------------------------------------------
# the other templates
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("host", sorted(HOSTS))
def test_rackdc_per_host(host):
    lines = render("cassandra-rackdc.properties.j2", host).splitlines()
    assert "dc=dc1" in lines and "rack=rack1" in lines and "prefer_local=true" in lines


def test_lab_group_vars_give_small_developer_nodes_a_rack_each():
    lab = (REPO_ROOT / "inventories" / "lab" / "group_vars" / "scylla.yml",)
    assert render("dev-mode.conf.j2", extra_files=lab).splitlines()[-1] == "DEV_MODE=--developer-mode=1"
    assert render("memory.conf.j2", extra_files=lab).splitlines()[-1] == "MEM_CONF=--memory 1G"
    assert render("cpuset.conf.j2", extra_files=lab).splitlines()[-1] == 'CPUSET="--smp 1 --overprovisioned"'
    assert "rack=rack-2" in render("cassandra-rackdc.properties.j2", "scylla-2", extra_files=lab).splitlines()
    assert value("scylla_required", extra_files=lab) is False
    assert scylla_yaml(extra_files=lab)["developer_mode"] is True


def test_production_start_options_are_empty():
    assert render("dev-mode.conf.j2").splitlines()[-1] == "DEV_MODE=--developer-mode=0"
    assert render("memory.conf.j2").splitlines()[-1] == "MEM_CONF="
    assert render("cpuset.conf.j2").splitlines()[-1] == 'CPUSET=""'


def test_io_properties_render_as_seastar_expects():
    disk = {"mountpoint": "/var/lib/scylla", "read_iops": 540317, "read_bandwidth": 1979753216}
    rendered = yaml.safe_load(render("io_properties.yaml.j2", overrides={"scylla_io_properties": [disk]}))
    assert rendered == {"disks": [disk]}
    assert "--io-properties-file=/etc/scylla.d/io_properties.yaml" in render("io.conf.j2")


def test_repository_list_and_pin():
    listing = render("scylla.list.j2").splitlines()[-1]
    assert listing == (
        "deb [signed-by=/etc/apt/keyrings/scylladb.asc] "
        "https://downloads.scylladb.com/downloads/scylla/deb/debian-ubuntu/scylladb-2025.1 stable main"
    )
    assert "Pin: version 2025.1.*" in render("scylla-pin.pref.j2")
    exact = render("scylla-pin.pref.j2", overrides={"scylla_package_version": "2025.1.4-0.1-1"})
    assert "Pin: version 2025.1.4-0.1-1" in exact
    assert value("scylla_package_specs", overrides={"scylla_package_version": "2025.1.4-0.1-1"})[0] == (
        "scylla-server=2025.1.4-0.1-1"
    )
    assert value("scylla_repo_probe_url").endswith("/scylladb-2025.1/dists/stable/InRelease")


def test_snapshot_script_and_settings(tmp_path):
    script = tmp_path / "snapshot.sh"
    script.write_text(render("cdc-scylla-snapshot.sh.j2"), encoding="utf-8")
    syntax = subprocess.run(["bash", "-n", script], check=False, capture_output=True, text=True)
    assert syntax.returncode == 0, syntax.stderr
    settings = render(
        "cdc-scylla-snapshot.conf.j2",
        overrides={
            "scylla_snapshot_keyspaces": ["shop", "audit"],
            "scylla_snapshot_upload_command": "/usr/local/bin/up 'x y'",
        },
    )
    assert "SNAPSHOT_KEEP=7" in settings
    assert "SNAPSHOT_KEYSPACES='shop audit'" in settings
    assert "SNAPSHOT_UPLOAD_COMMAND='/usr/local/bin/up '\"'\"'x y'\"'\"''" in settings
    timer = render("cdc-scylla-snapshot.timer.j2")
    assert "OnCalendar=*-*-* 01:30:00" in timer and "RandomizedDelaySec" not in timer


def test_snapshot_script_retention_and_upload_hook(tmp_path):
    """Run the rendered script with a fake nodetool: the hook gets the tag and manifest, old tags go."""
    data = tmp_path / "data"
    for tag in ("cdc-20260101T013000Z", "cdc-20260102T013000Z", "cdc-20260103T013000Z", "manual-1"):
        (data / "shop" / "orders-1234" / "snapshots" / tag).mkdir(parents=True)
    log = tmp_path / "nodetool.log"
    nodetool = tmp_path / "nodetool"
    nodetool.write_text(
        '#!/bin/bash\necho "$*" >>%s\n'
        'if [ "$1" = snapshot ]; then mkdir -p %s/shop/orders-1234/snapshots/"$3"; fi\n'
        'if [ "$1" = clearsnapshot ]; then rm -rf %s/shop/orders-1234/snapshots/"$3"; fi\n' % (log, data, data),
        encoding="utf-8",
    )
    nodetool.chmod(0o755)
    hook = tmp_path / "hook"
    hook.write_text('#!/bin/sh\necho "$1 $(cat "$2")" >%s/hook.out\n' % tmp_path, encoding="utf-8")
    hook.chmod(0o755)
    config = tmp_path / "snapshot.conf"
    metrics = tmp_path / "textfile"
    metrics.mkdir()
    overrides = {
        "scylla_snapshot_keep": 2,
        "scylla_data_root": str(tmp_path),
        "scylla_snapshot_upload_command": str(hook),
        "scylla_snapshot_keyspaces": ["shop"],
        "scylla_snapshot_metrics_dir": str(metrics),
    }
    config.write_text(render("cdc-scylla-snapshot.conf.j2", overrides=overrides), encoding="utf-8")
    script = tmp_path / "snapshot.sh"
    script.write_text(
        render("cdc-scylla-snapshot.sh.j2", overrides=overrides)
        .replace("/usr/bin/nodetool", str(nodetool))
        .replace("/etc/scylla/cdc-snapshot.conf", str(config)),
        encoding="utf-8",
    )
    run = subprocess.run(["bash", script], check=False, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    tags = sorted(p.name for p in (data / "shop" / "orders-1234" / "snapshots").iterdir())
    new_tag = [t for t in tags if t.startswith("cdc-") and t > "cdc-20260103T013000Z"]
    assert len(new_tag) == 1
    # Newest two of the script's tags stay; the operator's snapshot is untouched.
    assert tags == sorted(["cdc-20260103T013000Z", new_tag[0], "manual-1"])
    calls = log.read_text(encoding="utf-8").splitlines()
    assert calls[0] == "snapshot -t %s shop" % new_tag[0]
    assert sorted(calls[1:]) == ["clearsnapshot -t cdc-20260101T013000Z", "clearsnapshot -t cdc-20260102T013000Z"]
    hook_line = (tmp_path / "hook.out").read_text(encoding="utf-8").strip()
    assert hook_line == "%s %s/shop/orders-1234/snapshots/%s" % (new_tag[0], data, new_tag[0])
    # The run record, once everything completed, with the HELP text of playbooks/tasks/record_run.yml.
    assert [p.name for p in metrics.iterdir()] == ["cdc_run_scylla_snapshot.prom"]
    record = (metrics / "cdc_run_scylla_snapshot.prom").read_text(encoding="utf-8").splitlines()
    help_text = "When a cdc.pipeline operational run last completed, as a Unix time."
    assert record[:2] == [
        "# HELP cdc_run_last_completed_timestamp_seconds " + help_text,
        "# TYPE cdc_run_last_completed_timestamp_seconds gauge",
    ]
    assert re.fullmatch(r'cdc_run_last_completed_timestamp_seconds\{run="scylla_snapshot"\} [0-9]{10}', record[2])
    assert help_text in (REPO_ROOT / "playbooks/tasks/record_run.yml").read_text(encoding="utf-8")


# --------------------------------------------------------------------------------------------
# derived variables
# --------------------------------------------------------------------------------------------


def test_default_replication_is_rf3_per_datacenter():
    assert value("scylla_default_replication") == {"dc1": 3}
    assert value("scylla_seed_addresses") == ["10.0.0.31"]
    assert value("scylla_cluster_addresses") == list(HOSTS.values())


def test_connector_and_reconcile_grants():
    tables = {"scylla_cdc_tables": ["shop.orders", "shop.customers", "billing.invoices"]}
    assert value("scylla_connector_permissions", overrides=tables) == [
        "TABLE shop.orders",
        "TABLE shop.customers",
        "TABLE billing.invoices",
        "TABLE shop.orders_scylla_cdc_log",
        "TABLE shop.customers_scylla_cdc_log",
        "TABLE billing.invoices_scylla_cdc_log",
        "TABLE system_distributed.cdc_generation_timestamps",
        "TABLE system_distributed.cdc_streams_descriptions_v2",
    ]
    assert value("scylla_reconcile_permissions", overrides=tables) == ["KEYSPACE shop", "KEYSPACE billing"]


def test_compaction_per_table_defaults_and_overrides():
    overrides = {
        "scylla_cdc_tables": ["shop.orders", "shop.customers"],
        "scylla_table_compaction": {
            "shop.customers": {"class": "LeveledCompactionStrategy"},
            "shop.log": {"class": "auto"},
        },
    }
    assert value("scylla_table_compaction_all", overrides=overrides) == {
        "shop.orders": {"class": "auto"},
        "shop.customers": {"class": "LeveledCompactionStrategy"},
        "shop.log": {"class": "auto"},
    }


# --------------------------------------------------------------------------------------------
# argument specs against defaults/main.yml
# --------------------------------------------------------------------------------------------


def argument_specs() -> dict:
    return yaml.safe_load((ROLE / "meta" / "argument_specs.yml").read_text(encoding="utf-8"))["argument_specs"]


def test_every_default_has_a_spec_and_every_spec_a_default():
    defaults = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text(encoding="utf-8"))
    options = argument_specs()["main"]["options"]
    assert sorted(set(defaults) - set(options)) == []
    assert sorted(set(options) - set(defaults)) == []
    for name, spec in options.items():
        default = defaults[name]
        if isinstance(default, str) and "{{" in default:
            # A templated default cannot be a spec default: the description says what it is.
            assert "default" not in spec, name
            assert any("Default:" in line for line in spec["description"]), name
        else:
            assert spec.get("default") == default, name


def test_entry_points_and_their_options():
    specs = argument_specs()
    assert sorted(specs) == ["cdc", "main", "rolling_restart", "snapshot", "validate"]
    main = specs["main"]["options"]
    for entry, spec in specs.items():
        assert spec.get("short_description") and spec.get("description"), entry
        for name, option in (spec.get("options") or {}).items():
            assert option == main[name], (entry, name)
    # Every entry-point file exists.
    for entry in specs:
        assert (ROLE / "tasks" / (entry + ".yml")).is_file(), entry


# --------------------------------------------------------------------------------------------
# the role's CQL script (files/cdc_scylla_cql.py)
# --------------------------------------------------------------------------------------------


def test_keyspace_created_with_tablets_off_where_the_server_has_tablets():
    request = {"name": "shop", "replication": {"dc1": 3}}
    statements, repair, warnings = cql_script.plan_keyspace(request, None, True, False)
    assert [s.text for s in statements] == [
        "CREATE KEYSPACE shop WITH replication = {'class': 'NetworkTopologyStrategy', 'dc1': '3'} "
        "AND durable_writes = true AND tablets = {'enabled': false}"
    ]
    assert (repair, warnings) == (False, [])
    statements, _repair, _warnings = cql_script.plan_keyspace(request, None, False, False)
    assert "tablets" not in statements[0].text


def test_keyspace_unchanged_altered_and_refused():
    request = {"name": "shop", "replication": {"dc1": 3}}
    current = {
        "replication": cql_script.stored_replication(
            {"class": "org.apache.cassandra.locator.NetworkTopologyStrategy", "dc1": "3"}
        ),
        "durable_writes": True,
    }
    assert cql_script.plan_keyspace(request, current, True, False) == ([], False, [])
    lower = dict(current, replication={"class": "NetworkTopologyStrategy", "dc1": "1"})
    statements, repair, warnings = cql_script.plan_keyspace(request, lower, True, False)
    assert statements[0].text.startswith(
        "ALTER KEYSPACE shop WITH replication = {'class': 'NetworkTopologyStrategy', 'dc1': '3'}"
    )
    assert repair is True and "nodetool repair -full shop" in warnings[0]
    with pytest.raises(cql_script.Refused, match="uses tablets"):
        cql_script.plan_keyspace(request, current, True, True)
    with pytest.raises(cql_script.Refused, match="whole number"):
        cql_script.plan_keyspace({"name": "shop", "replication": {"dc1": "three"}}, None, True, False)


@pytest.mark.parametrize(
    ("version", "product", "strategy"),
    [
        ("2025.1.4", "scylladb", "IncrementalCompactionStrategy"),
        ("2024.1.9", "scylladb", "IncrementalCompactionStrategy"),
        ("6.2.3", "scylladb", "SizeTieredCompactionStrategy"),
        ("5.0.9", "cassandra", "SizeTieredCompactionStrategy"),
    ],
)
def test_compaction_auto_picks_ics_where_the_server_has_it(version, product, strategy):
    wanted = cql_script.wanted_compaction({"class": "auto"}, {"product": product, "version": version})
    assert wanted == {"class": strategy}


def test_compaction_compare_and_statement():
    wanted = cql_script.wanted_compaction({"class": "LeveledCompactionStrategy", "sstable_size_in_mb": 160}, {})
    stored = {"class": "org.apache.cassandra.db.compaction.LeveledCompactionStrategy", "sstable_size_in_mb": "160"}
    assert not cql_script.compaction_differs(stored, wanted)
    assert cql_script.compaction_differs({"class": "SizeTieredCompactionStrategy"}, wanted)
    assert cql_script.compaction_statement("shop", "orders", wanted).text == (
        "ALTER TABLE shop.orders WITH compaction = {'class': 'LeveledCompactionStrategy', 'sstable_size_in_mb': '160'}"
    )


class FakeNode:
    """A CqlClient stand-in: connect() fails with the exception given for the host, or logs in."""

    failures: dict = {}

    def __init__(self, params):
        self.host = params["login_hosts"][0]

    def connect(self):
        failure = self.failures.get(self.host)
        if failure:
            raise failure
        return self

    def rows(self, statement, parameters=None, what=""):
        return [{"release_version": "3.0.8"}]

    def close(self):
        pass


def test_probe_tells_refused_logins_from_silent_nodes():
    params = cql_script.connection_params(
        {"connection": {"login_hosts": list(HOSTS.values()), "login_user": "x"}}, "pw"
    )
    FakeNode.failures = {}
    answer = cql_script.probe(params, {}, FakeNode)
    assert answer["all_login"] and answer["all_answered"] and not answer["all_refused_login"]
    refused = cql.CqlModuleError("the CQL nodes refused the login", kind=cql.AUTH)
    FakeNode.failures = dict((address, refused) for address in HOSTS.values())
    answer = cql_script.probe(params, {}, FakeNode)
    assert answer["all_refused_login"] and answer["all_answered"] and not answer["all_login"]
    plain = cql.CqlModuleError("the CQL nodes (x port 9142) closed the plain connection", kind="connection")
    FakeNode.failures = {"10.0.0.31": plain, "10.0.0.32": refused}
    answer = cql_script.probe(params, {}, FakeNode)
    hosts = answer["hosts"]
    assert hosts["10.0.0.31"] == dict(hosts["10.0.0.31"], answered=False, kind="protocol")
    assert hosts["10.0.0.32"]["kind"] == "auth" and hosts["10.0.0.33"]["login"] is True
    assert not answer["all_answered"] and not answer["all_refused_login"]


def test_anonymous_probe_sends_no_password_and_errors_are_json():
    params = cql_script.connection_params({"connection": {"login_hosts": ["h"], "login_user": ""}}, "secret")
    assert params["login_user"] is None and params["login_password"] is None
    status, answer = cql_script.run(["x", "nope"], "{}", {})
    assert status == 2 and answer["failed"]
    status, answer = cql_script.run(["x", "keyspace"], '{"connection": {"login_hosts": []}, "name": "k"}', {})
    assert status == 1 and "login_hosts is empty" in answer["msg"]
