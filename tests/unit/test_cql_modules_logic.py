"""Decision logic of scylla_cdc and scylla_role with a fake CQL client: what is read, checked, run and refused,
and what check mode predicts."""
# ruff: noqa: S105, S106 - fake passwords and password-named options are what these tests follow

from __future__ import annotations

import importlib
import json
import re

import pytest

# test_cql_utils puts the collection on sys.path, so the modules import after it.
from test_cql_utils import cdc_options, cql, encode_cdc_extension, params

scylla_cdc, scylla_role = (
    importlib.import_module("ansible_collections.cdc.pipeline.plugins.modules." + name)
    for name in ("scylla_cdc", "scylla_role")
)

pytestmark = pytest.mark.unit

SCYLLA_SYSTEM_TABLES = ["local", "peers", "scylla_local", "scylla_views_builds_in_progress"]
CASSANDRA_SYSTEM_TABLES = ["local", "peers", "peers_v2", "paxos"]
ENABLED = {"enabled": "true", "preimage": "false", "postimage": "true", "delta": "full", "ttl": "86400"}
MAP_PAIR = re.compile(r"'(\w+)': '([^']*)'")


class FakeClient:
    """Answers the statements the modules send from dicts; records every statement that changes something.

    keyspaces: {ks: {"tables": {table: stored cdc options or None}, "tablets": bool}}. ALTER TABLE ... cdc stores
    what ScyllaDB would (an empty map when disabled), so a read-back sees it.
    """

    def __init__(self, system_tables=None, keyspaces=None, roles=None, grants=None, fail_on=None, stores=None):
        self.system_tables = SCYLLA_SYSTEM_TABLES if system_tables is None else system_tables
        self.keyspaces = keyspaces or {}
        self.roles = roles or {}
        self.grants = grants or {}
        self.fail_on = fail_on
        self.stores = stores  # what a faulty server keeps instead of the sent map
        self.executed = []
        self.scylla_keyspaces_table = True

    # -- reads ----------------------------------------------------------------------------------

    def rows(self, statement, parameters=None, what=""):
        keyspace = parameters[0] if parameters else None
        for prefix, answer in self.answers():
            if statement.startswith(prefix):
                return answer(statement, keyspace)
        raise AssertionError("unexpected statement: %s" % statement)

    def answers(self):
        """(statement prefix, answer(statement, keyspace)) in the order they are tried."""
        return [
            ("SELECT table_name FROM system_schema.tables WHERE keyspace_name = 'system'", self.system_table_rows),
            ("SELECT release_version", lambda _s, _k: [{"release_version": "3.0.8" if self.is_scylla() else "5.0.9"}]),
            ("SELECT version FROM system.versions", lambda _s, _k: [{"version": "2025.1.4"}]),
            ("SELECT keyspace_name FROM system_schema.keyspaces", self.keyspace_rows),
            ("SELECT table_name, extensions FROM system_schema.tables", self.table_extension_rows),
            ("SELECT * FROM system_schema.scylla_keyspaces", lambda _s, keyspace: self.scylla_keyspaces(keyspace)),
            ("SELECT table_name FROM system_schema.tables", self.table_rows),
            ("SELECT view_name FROM system_schema.views", lambda _s, _k: []),
            ("LIST ROLES", self.role_rows),
            ("LIST ALL PERMISSIONS OF", self.permission_rows),
        ]

    def system_table_rows(self, _statement, _keyspace):
        return [{"table_name": name} for name in self.system_tables]

    def keyspace_rows(self, _statement, keyspace):
        return [{"keyspace_name": keyspace}] if keyspace in self.keyspaces else []

    def table_extension_rows(self, _statement, keyspace):
        return [
            {"table_name": name, "extensions": self.extensions(stored)}
            for name, stored in self.keyspaces[keyspace]["tables"].items()
        ]

    def table_rows(self, _statement, keyspace):
        return [{"table_name": name} for name in self.keyspaces[keyspace]["tables"]]

    def role_rows(self, _statement, _keyspace):
        return [{"role": name, "login": r["login"], "super": r["superuser"]} for name, r in self.roles.items()]

    def permission_rows(self, statement, _keyspace):
        role = re.search(r"OF '(.+)' NORECURSIVE", statement).group(1)
        return [
            {"role": role, "username": role, "permission": perm, "resource": res}
            for perm, res in self.grants.get(role, [])
        ]

    def is_scylla(self):
        return any("scylla" in name for name in self.system_tables)

    @staticmethod
    def extensions(stored):
        return {} if stored is None else {"cdc": encode_cdc_extension(stored)}

    def scylla_keyspaces(self, keyspace):
        if not self.scylla_keyspaces_table:
            raise cql.CqlModuleError("the server refused: unconfigured table scylla_keyspaces", kind="invalid")
        if self.keyspaces.get(keyspace, {}).get("tablets"):
            return [{"keyspace_name": keyspace, "initial_tablets": 0}]
        return []

    # -- writes ---------------------------------------------------------------------------------

    def execute(self, statement, what):
        if self.fail_on and self.fail_on in statement:
            raise cql.CqlModuleError("the server refused to %s: boom" % what, kind="invalid")
        self.executed.append(statement)
        match = re.match(r"ALTER TABLE (\w+)\.(\w+) WITH cdc = \{(.*)\}$", statement)
        if match:
            sent = dict(MAP_PAIR.findall(match.group(3)))
            stored = self.stores if self.stores is not None else (sent if sent["enabled"] == "true" else {})
            self.keyspaces[match.group(1)]["tables"][match.group(2)] = stored
        self.apply_role_statement(statement)

    def apply_role_statement(self, statement):
        """Keep roles and grants as the server would after CREATE/ALTER/DROP ROLE, GRANT and REVOKE."""
        match = re.match(r"(CREATE|ALTER|DROP) ROLE '((?:[^']|'')+)'(.*)$", statement)
        if match:
            verb, name, rest = match.group(1), match.group(2).replace("''", "'"), match.group(3)
            if verb == "DROP":
                self.roles.pop(name, None)
                self.grants.pop(name, None)
                return
            role = self.roles.setdefault(name, {"login": False, "superuser": False})
            for key, word in (("login", "LOGIN"), ("superuser", "SUPERUSER")):
                found = re.search(word + r" = (true|false)", rest)
                if found:
                    role[key] = found.group(1) == "true"
            return
        match = re.match(r"(GRANT|REVOKE) (\w+) ON (.+) (?:TO|FROM) '((?:[^']|'')+)'$", statement)
        if match:
            verb, permission, resource, name = match.groups()
            word, _space, names = resource.partition(" ")
            listed = "<%s>" % (resource.lower() if word == "ALL" else "%s %s" % (word.lower(), names.replace('"', "")))
            grants = self.grants.setdefault(name, [])
            if verb == "GRANT":
                grants.append((permission, listed))
            else:
                grants.remove((permission, listed))


class Module:
    def __init__(self, check_mode=False, **module_params):
        self.params = module_params
        self.check_mode = check_mode
        self.warnings = []

    def warn(self, text):
        self.warnings.append(text)


# -- scylla_cdc -------------------------------------------------------------------------------------


def cdc_module(check_mode=False, **overrides):
    values = params(tables=["shop.orders"], enabled=True, preimage=None, postimage=None, delta=None, ttl=None)
    values.update(overrides)
    return Module(check_mode=check_mode, **values)


def shop(tables=None, tablets=False):
    return {"shop": {"tables": {"orders": None} if tables is None else tables, "tablets": tablets}}


@pytest.mark.parametrize("check_mode", [True, False])
def test_enable_sends_the_complete_map_and_check_mode_only_predicts(check_mode: bool) -> None:
    client = FakeClient(keyspaces=shop())
    result = scylla_cdc.run(cdc_module(check_mode, postimage=True, ttl=259200), client)
    statement = (
        "ALTER TABLE shop.orders WITH cdc = {'enabled': 'true', 'preimage': 'false', 'postimage': 'true', "
        "'delta': 'full', 'ttl': '259200'}"
    )
    assert result["changed"] is True
    assert result["statements"] == [statement]
    assert client.executed == ([] if check_mode else [statement])
    orders = result["tables"]["shop.orders"]
    assert orders["before"] == cdc_options.CDC_DEFAULTS
    assert orders["after"] == dict(ENABLED, ttl="259200")
    assert orders["changed_keys"] == ["enabled", "postimage", "ttl"]
    assert result["diff"]["after"]["shop.orders"]["postimage"] == "true"
    assert result["server"]["product"] == "scylladb"


def test_a_second_run_changes_nothing() -> None:
    client = FakeClient(keyspaces=shop({"orders": dict(ENABLED)}))
    result = scylla_cdc.run(cdc_module(postimage=True), client)
    assert result["changed"] is False and result["statements"] == [] and client.executed == []
    assert "diff" not in result


def test_tuning_the_ttl_keeps_the_other_options() -> None:
    client = FakeClient(keyspaces=shop({"orders": dict(ENABLED, preimage="full")}))
    result = scylla_cdc.run(cdc_module(ttl=604800), client)
    assert result["tables"]["shop.orders"]["changed_keys"] == ["ttl"]
    assert "'preimage': 'full', 'postimage': 'true'" in client.executed[0]


def test_disable_and_disabled_stays_unchanged() -> None:
    client = FakeClient(keyspaces={"shop": {"tables": {"orders": dict(ENABLED), "lines": None}, "tablets": False}})
    result = scylla_cdc.run(cdc_module(tables=["shop.orders", "shop.lines"], enabled=False), client)
    assert [key for key, t in result["tables"].items() if t["changed_keys"]] == ["shop.orders"]
    assert client.executed == [
        "ALTER TABLE shop.orders WITH cdc = {'enabled': 'false', 'preimage': 'false', 'postimage': 'true', "
        "'delta': 'full', 'ttl': '86400'}"
    ]
    assert client.keyspaces["shop"]["tables"]["orders"] == {}


def test_cassandra_is_refused_as_not_scylla() -> None:
    client = FakeClient(system_tables=CASSANDRA_SYSTEM_TABLES, keyspaces=shop())
    with pytest.raises(cql.CqlModuleError, match="not a ScyllaDB server: it is Apache Cassandra 5.0.9"):
        scylla_cdc.run(cdc_module(), client)
    assert client.executed == []


def test_every_problem_is_reported_at_once_and_nothing_changes() -> None:
    keyspaces = {
        "shop": {"tables": {"orders": None, "lines": None}, "tablets": False},
        "tab": {"tables": {"events": None}, "tablets": True},
    }
    client = FakeClient(keyspaces=keyspaces)
    module = cdc_module(tables=["shop.orders", "shop.missing", "nope.t", "tab.events"])
    with pytest.raises(cql.CqlModuleError) as caught:
        scylla_cdc.run(module, client)
    message = str(caught.value)
    assert message.startswith("nothing was changed: ")
    assert "table shop.missing does not exist" in message
    assert "keyspace nope does not exist" in message
    assert "keyspace tab uses tablets" in message and "'enabled': false" in message
    assert client.executed == []


def test_a_release_without_tablets_has_no_scylla_keyspaces_table() -> None:
    client = FakeClient(keyspaces=shop())
    client.scylla_keyspaces_table = False
    assert scylla_cdc.run(cdc_module(), client)["changed"] is True


def test_a_log_table_is_not_a_target_and_a_squatter_blocks_enabling() -> None:
    with pytest.raises(cql.CqlModuleError, match="is a CDC log table: manage CDC on its base table shop.orders"):
        scylla_cdc.run(cdc_module(tables=["shop.orders_scylla_cdc_log"]), FakeClient(keyspaces=shop()))
    squatted = FakeClient(keyspaces=shop({"orders": None, "orders_scylla_cdc_log": None}))
    with pytest.raises(cql.CqlModuleError, match="already exists, and ScyllaDB needs that name"):
        scylla_cdc.run(cdc_module(), squatted)


def test_a_malformed_extension_is_a_clear_error() -> None:
    client = FakeClient(keyspaces=shop())
    client.extensions = lambda stored: {"cdc": b"\x01\x00"}
    with pytest.raises(cql.CqlModuleError, match=r"extensions\['cdc'\] of shop.orders is not ScyllaDB's cdc options"):
        scylla_cdc.run(cdc_module(), client)


def test_a_server_that_stores_something_else_fails_the_task() -> None:
    client = FakeClient(keyspaces=shop(), stores={"enabled": "true"})
    with pytest.raises(cql.CqlModuleError, match="accepted the change but stores"):
        scylla_cdc.run(cdc_module(postimage=True), client)


def test_a_refused_alter_names_the_tables_already_changed() -> None:
    client = FakeClient(keyspaces={"shop": {"tables": {"a": None, "b": None}, "tablets": False}}, fail_on="shop.b")
    with pytest.raises(
        cql.CqlModuleError,
        match=r"Applied before the failure \(read back from the server\): new CDC options on shop\.a; "
        r"not applied on shop\.b",
    ):
        scylla_cdc.run(cdc_module(tables=["shop.a", "shop.b"]), client)


def test_duplicate_and_quoted_table_names() -> None:
    assert scylla_cdc.target_tables(["shop.orders", '"shop"."orders"', "Shop.T"]) == [
        ("shop", "orders"),
        ("Shop", "T"),
    ]
    with pytest.raises(cql.CqlModuleError, match="tables is empty"):
        scylla_cdc.target_tables([])


# -- scylla_role ------------------------------------------------------------------------------------


def role_module(check_mode=False, **overrides):
    values = params(
        name="cdc_connector",
        state="present",
        login=True,
        superuser=False,
        password="connector-secret",
        update_password="on_mismatch",
        permissions=None,
        exclusive=True,
    )
    values.update(overrides)
    return Module(check_mode=check_mode, **values)


CONNECTOR_GRANTS = [
    {"permission": "SELECT", "resource": "TABLE shop.orders"},
    {"permission": "SELECT", "resource": "TABLE shop.orders_scylla_cdc_log"},
]
ADMIN = {"cdc_admin": {"login": True, "superuser": True}}


def role_client(**overrides):
    values = dict(keyspaces=shop({"orders": None, "orders_scylla_cdc_log": None}), roles=dict(ADMIN))
    values.update(overrides)
    return FakeClient(**values)


@pytest.fixture
def probe(monkeypatch):
    """Stands in for the login test of update_password=on_mismatch; records each call."""
    calls = []
    outcome = {"logs_in": True}

    def password_matches(module_params):
        calls.append(module_params["name"])
        return outcome["logs_in"]

    monkeypatch.setattr(scylla_role, "password_matches", password_matches)
    return calls, outcome


@pytest.mark.parametrize("check_mode", [True, False])
def test_create_a_role_with_its_grants(check_mode: bool, probe) -> None:
    client = role_client()
    result = scylla_role.run(role_module(check_mode, permissions=CONNECTOR_GRANTS), client)
    expected = [
        "CREATE ROLE 'cdc_connector' WITH PASSWORD = '********' AND LOGIN = true AND SUPERUSER = false",
        "GRANT SELECT ON TABLE shop.orders TO 'cdc_connector'",
        "GRANT SELECT ON TABLE shop.orders_scylla_cdc_log TO 'cdc_connector'",
    ]
    assert result["statements"] == expected
    if check_mode:
        assert client.executed == []
    else:
        assert client.executed[0] == (
            "CREATE ROLE 'cdc_connector' WITH PASSWORD = 'connector-secret' AND LOGIN = true AND SUPERUSER = false"
        )
        assert client.executed[1:] == expected[1:]
    assert result["changed"] and not result["existed"] and result["password_changed"]
    assert result["permissions"] == ["SELECT ON TABLE shop.orders", "SELECT ON TABLE shop.orders_scylla_cdc_log"]
    assert result["diff"]["before"] == {}
    assert probe[0] == []  # a new role is not probed
    assert "connector-secret" not in json.dumps(result)


def test_an_unchanged_role_runs_nothing(probe) -> None:
    client = role_client(
        roles=dict(ADMIN, cdc_connector={"login": True, "superuser": False}),
        grants={"cdc_connector": [("SELECT", "<table shop.orders>"), ("SELECT", "<table shop.orders_scylla_cdc_log>")]},
    )
    result = scylla_role.run(role_module(permissions=CONNECTOR_GRANTS), client)
    assert result["changed"] is False and result["statements"] == [] and client.executed == []
    assert result["password_reason"] == "the password logs in"
    assert probe[0] == ["cdc_connector"]


def test_exclusive_revokes_what_is_not_declared_and_check_mode_predicts_it(probe) -> None:
    client = role_client(
        roles=dict(ADMIN, cdc_connector={"login": True, "superuser": False}),
        grants={"cdc_connector": [("SELECT", "<table shop.orders>"), ("MODIFY", "<keyspace shop>")]},
    )
    result = scylla_role.run(role_module(True, permissions=CONNECTOR_GRANTS), client)
    assert result["revoked"] == ["MODIFY ON KEYSPACE shop"]
    assert result["granted"] == ["SELECT ON TABLE shop.orders_scylla_cdc_log"]
    assert result["statements"] == [
        "REVOKE MODIFY ON KEYSPACE shop FROM 'cdc_connector'",
        "GRANT SELECT ON TABLE shop.orders_scylla_cdc_log TO 'cdc_connector'",
    ]
    assert client.executed == []
    assert result["diff"]["before"]["permissions"] == ["MODIFY ON KEYSPACE shop", "SELECT ON TABLE shop.orders"]
    additive = scylla_role.run(role_module(True, permissions=CONNECTOR_GRANTS, exclusive=False), client)
    assert additive["revoked"] == []


def test_a_grant_the_module_cannot_revoke_stops_everything(probe) -> None:
    client = role_client(
        roles=dict(ADMIN, cdc_connector={"login": True, "superuser": False}),
        grants={"cdc_connector": [("EXECUTE", "<function shop.f(int)>")]},
    )
    with pytest.raises(cql.CqlModuleError, match="cannot revoke"):
        scylla_role.run(role_module(permissions=CONNECTOR_GRANTS), client)
    assert client.executed == []


def test_a_missing_resource_stops_everything() -> None:
    client = role_client(keyspaces=shop({"orders": None}))
    grants = [
        *CONNECTOR_GRANTS,
        {"permission": "SELECT", "resource": "KEYSPACE gone"},
        {"permission": "ALTER", "resource": "ROLE ghost"},
    ]
    with pytest.raises(cql.CqlModuleError) as caught:
        scylla_role.run(role_module(permissions=grants), client)
    message = str(caught.value)
    assert "nothing was changed" in message
    assert "keyspace gone, role ghost, table shop.orders_scylla_cdc_log" in message
    assert "enable CDC with cdc.pipeline.scylla_cdc" in message
    assert client.executed == []


@pytest.mark.parametrize(
    ("update_password", "logs_in", "sets", "probed"),
    [
        ("on_mismatch", False, True, True),
        ("on_mismatch", True, False, True),
        ("always", True, True, False),
        ("on_create", False, False, False),
    ],
)
def test_password_updates(probe, update_password: str, logs_in: bool, sets: bool, probed: bool) -> None:
    calls, outcome = probe
    outcome["logs_in"] = logs_in
    client = role_client(roles=dict(ADMIN, cdc_connector={"login": True, "superuser": False}))
    result = scylla_role.run(role_module(update_password=update_password), client)
    assert result["password_changed"] is sets and result["changed"] is sets
    assert bool(calls) is probed
    if sets:
        assert client.executed == ["ALTER ROLE 'cdc_connector' WITH PASSWORD = 'connector-secret'"]
        assert result["statements"] == ["ALTER ROLE 'cdc_connector' WITH PASSWORD = '********'"]
        assert result["diff"]["after"]["password"] == "******** (set again)"
    assert "connector-secret" not in json.dumps(result)


def test_a_role_without_login_is_not_probed_and_granting_login_sets_the_password(probe) -> None:
    client = role_client(roles=dict(ADMIN, cdc_connector={"login": False, "superuser": False}))
    unchanged = scylla_role.run(role_module(login=False), client)
    assert unchanged["changed"] is False and probe[0] == []
    granted = scylla_role.run(role_module(), client)
    assert client.executed == ["ALTER ROLE 'cdc_connector' WITH PASSWORD = 'connector-secret' AND LOGIN = true"]
    assert granted["password_reason"].startswith("LOGIN is being granted")


def test_login_and_superuser_changes(probe) -> None:
    client = role_client(roles=dict(ADMIN, cdc_connector={"login": True, "superuser": True}))
    result = scylla_role.run(role_module(password=None), client)
    assert client.executed == ["ALTER ROLE 'cdc_connector' WITH SUPERUSER = false"]
    assert result["superuser"] is False


def test_a_new_login_role_needs_a_password() -> None:
    with pytest.raises(cql.CqlModuleError, match="give password"):
        scylla_role.run(role_module(password=None), role_client())
    group = scylla_role.run(role_module(password=None, login=False), role_client())
    assert group["statements"] == ["CREATE ROLE 'cdc_connector' WITH LOGIN = false AND SUPERUSER = false"]


def test_drop_and_drop_again(probe) -> None:
    client = role_client(roles=dict(ADMIN, cdc_connector={"login": True, "superuser": False}))
    checked = scylla_role.run(role_module(True, state="absent"), client)
    assert checked["changed"] and checked["statements"] == ["DROP ROLE 'cdc_connector'"] and client.executed == []
    scylla_role.run(role_module(state="absent"), client)
    assert client.executed == ["DROP ROLE 'cdc_connector'"]
    gone = scylla_role.run(role_module(state="absent"), role_client())
    assert gone["changed"] is False and gone["existed"] is False


def test_the_module_does_not_drop_or_demote_its_own_login() -> None:
    client = role_client()
    with pytest.raises(cql.CqlModuleError, match="refusing to drop role cdc_admin"):
        scylla_role.run(role_module(name="cdc_admin", state="absent"), client)
    with pytest.raises(cql.CqlModuleError, match="refusing to take LOGIN or SUPERUSER"):
        scylla_role.run(role_module(name="cdc_admin", superuser=False), client)
    assert client.executed == []


def test_a_failed_grant_names_what_was_applied_without_the_password(probe) -> None:
    client = role_client(fail_on="GRANT SELECT ON TABLE shop.orders_scylla_cdc_log")
    with pytest.raises(cql.CqlModuleError) as caught:
        scylla_role.run(role_module(permissions=CONNECTOR_GRANTS), client)
    message = str(caught.value)
    assert "Applied before the failure (read back from the server): role cdc_connector created (LOGIN = true" in message
    assert "password of role cdc_connector set; granted SELECT ON TABLE shop.orders;" in message
    assert "granted SELECT ON TABLE shop.orders_scylla_cdc_log" not in message
    assert "connector-secret" not in message
