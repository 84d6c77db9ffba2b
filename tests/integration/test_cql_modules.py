"""The CQL modules against a real Cassandra 5 node (TLS, PasswordAuthenticator, CassandraAuthorizer) on loopback.

No ScyllaDB server can run here; Cassandra 5 speaks the same CQL for roles, grants and keyspaces, so
scylla_role meets a real server, and scylla_cdc must refuse it with "not a ScyllaDB server" (the CDC
logic itself is unit-tested: tests/unit/test_cql_modules_logic.py). Every module runs through
ansible-playbook, as in production; what it did is then checked with a separate cassandra-driver
session (as admin, or logged in as the roles the tests create), never with the modules themselves.
One node serves the whole file (cassandra_server.py).
"""
# ruff: noqa: S105, S106 - fake passwords are what these tests follow

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.tools.cassandra_server import ADMIN_USER, CassandraNode, random_password, started_cassandra
from tests.tools.local_services import free_ports
from tests.tools.playbook_runner import PlayResult, run_playbook

pytestmark = pytest.mark.integration


@dataclass
class Env:
    node: CassandraNode
    workdir: Path

    def conn(self, **overrides) -> dict:
        args = {
            "login_hosts": [self.node.host],
            "login_port": self.node.port,
            "login_user": ADMIN_USER,
            "login_password": self.node.admin_password,
            "ca_cert": str(self.node.tls.ca_cert),
            "connect_timeout": 10,
        }
        args.update(overrides)
        return args


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> Iterator[Env]:
    """One node for the whole file, with keyspace shop (tables orders and lines) to grant on."""
    with started_cassandra(tmp_path_factory.mktemp("cassandra")) as node:
        with node.session() as session:
            session.execute(
                "CREATE KEYSPACE shop WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}"
            )
            session.execute("CREATE TABLE shop.orders (id int PRIMARY KEY, total int)")
            session.execute("CREATE TABLE shop.lines (id int PRIMARY KEY, sku text)")
            session.execute("INSERT INTO shop.orders (id, total) VALUES (1, 42)")
        yield Env(node=node, workdir=tmp_path_factory.mktemp("cql-play"))


# -- running plays ---------------------------------------------------------------------------------


def task(name: str, module: str, args: dict, **extra) -> dict:
    return {"name": name, f"cdc.pipeline.{module}": args, **extra}


def run(ansible_home, env: Env, *tasks: dict, diff: bool = False) -> PlayResult:
    return run_playbook(
        ansible_home,
        env.workdir,
        [{"hosts": "localhost", "gather_facts": False, "tasks": list(tasks)}],
        extra_args=["--diff"] if diff else None,
    )


def results(result: PlayResult) -> dict[str, dict]:
    return {
        entry["task"]["name"]: entry["hosts"]["localhost"]
        for p in result.report["plays"]
        for entry in p["tasks"]
        if "localhost" in entry["hosts"]
    }


def output_of(result: PlayResult) -> str:
    return json.dumps(result.report) + result.stderr


def assert_ok(result: PlayResult) -> None:
    assert not result.failed, result.failure_text


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:6]}"


# -- checking with an independent client -----------------------------------------------------------


def roles_of(node: CassandraNode) -> dict[str, tuple[bool, bool]]:
    with node.session() as session:
        return {row["role"]: (row["login"], row["super"]) for row in session.execute("LIST ROLES")}


def grants_of(node: CassandraNode, role: str) -> set[tuple[str, str]]:
    with node.session() as session:
        rows = session.execute(f"LIST ALL PERMISSIONS OF '{role}' NORECURSIVE")
        return {(row["permission"], row["resource"]) for row in rows}


def login_as(node: CassandraNode, user: str, password: str) -> bool:
    """True when user/password log in over TLS, False when the node refuses the login."""
    from cassandra.cluster import NoHostAvailable

    try:
        with node.session(user, password):
            return True
    except NoHostAvailable as exc:
        if all(type(error).__name__ == "AuthenticationFailed" for error in exc.errors.values()):
            return False
        raise


def select_as(node: CassandraNode, user: str, password: str, table: str) -> str:
    """Whether user may SELECT from table: "ok", else the name of the error the node answered with."""
    from cassandra import Unauthorized

    statement = "SELECT * FROM %s LIMIT 1" % table  # noqa: S608 - table names are the tests' own constants
    with node.session(user, password) as session:
        try:
            session.execute(statement)
        except Unauthorized:
            return "Unauthorized"
    return "ok"


# -- scylla_role -------------------------------------------------------------------------------------
# Task-level check_mode lets one play hold several steps: a check-mode step followed by the real one
# proves the former changed nothing when the latter still reports the change.


def test_role_lifecycle_is_idempotent_and_check_mode_predicts_it(ansible_home, env: Env) -> None:
    name, password = unique("connector"), random_password()
    role = {**env.conn(), "name": name, "password": password}
    orders_only = [{"permission": "SELECT", "resource": "TABLE shop.orders"}]
    keyspace_read = [
        {"permission": "SELECT", "resource": "KEYSPACE shop"},
        {"permission": "MODIFY", "resource": "TABLE shop.lines"},
    ]
    created = run(
        ansible_home,
        env,
        task("predict create", "scylla_role", {**role, "permissions": orders_only}, check_mode=True),
        task("create", "scylla_role", {**role, "permissions": orders_only}),
        task("create again", "scylla_role", {**role, "permissions": orders_only}),
        task("predict change", "scylla_role", {**role, "permissions": keyspace_read}, check_mode=True),
        task("change", "scylla_role", {**role, "permissions": keyspace_read}),
        task("change again", "scylla_role", {**role, "permissions": keyspace_read}),
        diff=True,
    )
    assert_ok(created)
    steps = results(created)
    assert steps["predict create"]["changed"] and steps["create"]["changed"]
    assert steps["predict create"]["statements"] == steps["create"]["statements"]
    assert steps["create"]["statements"][0] == (
        f"CREATE ROLE '{name}' WITH PASSWORD = '********' AND LOGIN = true AND SUPERUSER = false"
    )
    assert not steps["create again"]["changed"]
    assert steps["create again"]["password_reason"] == "the password logs in"
    assert steps["predict change"]["changed"] and steps["change"]["changed"]
    for key in ("granted", "revoked", "statements", "permissions"):
        assert steps["predict change"][key] == steps["change"][key], key
    assert steps["change"]["revoked"] == ["SELECT ON TABLE shop.orders"]
    assert sorted(steps["change"]["granted"]) == ["MODIFY ON TABLE shop.lines", "SELECT ON KEYSPACE shop"]
    assert not steps["change again"]["changed"]
    assert password not in output_of(created), "the password leaked into the output or the diff"

    assert roles_of(env.node)[name] == (True, False)
    assert grants_of(env.node, name) == {("SELECT", "<keyspace shop>"), ("MODIFY", "<table shop.lines>")}
    assert login_as(env.node, name, password)

    dropped = run(
        ansible_home,
        env,
        task("predict drop", "scylla_role", {**role, "state": "absent"}, check_mode=True),
        task("drop", "scylla_role", {**role, "state": "absent"}),
        task("drop again", "scylla_role", {**role, "state": "absent"}),
    )
    assert_ok(dropped)
    steps = results(dropped)
    assert steps["predict drop"]["changed"] and steps["drop"]["changed"]
    assert not steps["drop again"]["changed"]
    assert name not in roles_of(env.node)


def test_a_role_is_denied_what_it_was_not_granted(ansible_home, env: Env) -> None:
    name, password = unique("reader"), random_password()
    result = run(
        ansible_home,
        env,
        task(
            "reader",
            "scylla_role",
            {
                **env.conn(),
                "name": name,
                "password": password,
                "permissions": [{"permission": "SELECT", "resource": "TABLE shop.orders"}],
            },
        ),
    )
    assert_ok(result)
    assert select_as(env.node, name, password, "shop.orders") == "ok"
    assert select_as(env.node, name, password, "shop.lines") == "Unauthorized"
    # what the docs promise the CDC connector without a grant: system.local and system_schema are readable
    assert select_as(env.node, name, password, "system.local") == "ok"
    assert select_as(env.node, name, password, "system_schema.tables") == "ok"


def test_passwords_wrong_ones_are_refused_and_drift_is_repaired(ansible_home, env: Env) -> None:
    name, password = unique("loader"), random_password()
    role = {**env.conn(), "name": name, "password": password}
    assert_ok(run(ansible_home, env, task("create", "scylla_role", role)))
    assert login_as(env.node, name, password)
    assert not login_as(env.node, name, "not-" + password)

    with env.node.session() as session:  # someone changes it by hand
        session.execute(f"ALTER ROLE '{name}' WITH PASSWORD = 'changed-by-hand'")
    result = run(
        ansible_home,
        env,
        task("predict repair", "scylla_role", role, check_mode=True),
        task("repair", "scylla_role", role),
        task("on_create leaves it", "scylla_role", {**role, "password": "other", "update_password": "on_create"}),
        task("admin with a wrong password", "scylla_role", {**role, "login_password": "wrong"}, ignore_errors=True),
    )
    steps = results(result)
    assert steps["predict repair"]["changed"] and steps["repair"]["changed"]
    assert steps["repair"]["password_reason"] == "the password does not log in"
    assert steps["repair"]["statements"] == [f"ALTER ROLE '{name}' WITH PASSWORD = '********'"]
    assert not steps["on_create leaves it"]["changed"]
    refused = steps["admin with a wrong password"]
    assert refused["failed"]
    assert f"refused the login of role '{ADMIN_USER}'" in refused["msg"]
    assert "Check login_user and login_password" in refused["msg"]
    assert login_as(env.node, name, password)
    assert not login_as(env.node, name, "changed-by-hand")
    assert password not in output_of(result)


def test_missing_resources_are_refused_before_anything_changes(ansible_home, env: Env) -> None:
    name = unique("early")
    args = {
        **env.conn(),
        "name": name,
        "password": random_password(),
        "permissions": [
            {"permission": "SELECT", "resource": "TABLE shop.orders"},
            {"permission": "SELECT", "resource": "TABLE shop.orders_scylla_cdc_log"},
        ],
    }
    result = run(ansible_home, env, task("refused", "scylla_role", args, ignore_errors=True))
    message = results(result)["refused"]["msg"]
    assert "nothing was changed" in message and "table shop.orders_scylla_cdc_log" in message
    assert name not in roles_of(env.node)


# -- hostile input: one battery, one play ------------------------------------------------------------
# Each case: one clear one-line message naming the option, roles, grants and tables unchanged (read back
# with the tests' own session), no password in the run's output. Derandomised: a fixed table.

HOSTILE_PASSWORD = "hunter2-hostile-Zq7-cql"


def cluster_state(node: CassandraNode) -> dict:
    with node.session() as session:
        roles = sorted((row["role"], row["login"], row["super"]) for row in session.execute("LIST ROLES"))
        grants = sorted(
            (row["role"], row["permission"], row["resource"]) for row in session.execute("LIST ALL PERMISSIONS")
        )
        tables = sorted(
            (row["table_name"], str(row["extensions"]), str(row["cdc"]))
            for row in session.execute(
                "SELECT table_name, extensions, cdc FROM system_schema.tables WHERE keyspace_name = 'shop'"
            )
        )
    return {"roles": roles, "grants": grants, "tables": tables}


def hostile_cql_cases(env: Env) -> list[tuple[str, str, dict, str]]:
    """(name, module, args, the option the message must name)."""
    role = {**env.conn(), "password": HOSTILE_PASSWORD}

    def grant(resource: object, permission: str = "SELECT") -> list[dict]:
        return [{"permission": permission, "resource": resource}]

    cdc = {**env.conn()}
    return [
        ("role name with a newline", "scylla_role", {**role, "name": "hostile\nadmin"}, "name"),
        ("role name with a blank", "scylla_role", {**role, "name": " hostile"}, "name"),
        ("role name empty", "scylla_role", {**role, "name": ""}, "name"),
        ("role name of 300 characters", "scylla_role", {**role, "name": "r" * 300}, "name"),
        (
            "resource with a statement",
            "scylla_role",
            {**role, "name": "hostile_r", "permissions": grant("TABLE shop.orders;DROP KEYSPACE shop")},
            "permissions",
        ),
        (
            "keyspace with a dash",
            "scylla_role",
            {**role, "name": "hostile_r", "permissions": grant("KEYSPACE sh-op")},
            "permissions",
        ),
        (
            "permission ALL",
            "scylla_role",
            {**role, "name": "hostile_r", "permissions": grant("KEYSPACE shop", "ALL")},
            "permission",
        ),
        ("permissions as a string", "scylla_role", {**role, "name": "hostile_r", "permissions": "ALL"}, "permissions"),
        (
            "resource as a list",
            "scylla_role",
            {**role, "name": "hostile_r", "permissions": grant(["TABLE shop.orders"])},
            "permissions",
        ),
        ("superuser as a word", "scylla_role", {**role, "name": "hostile_r", "superuser": "maybe"}, "superuser"),
        (
            "missing table",
            "scylla_role",
            {**role, "name": "hostile_r", "permissions": grant("TABLE shop.nope")},
            "permissions",
        ),
        (
            "cdc table with a statement",
            "scylla_cdc",
            {**cdc, "tables": ["shop.orders;DROP TABLE shop.orders"]},
            "tables",
        ),
        ("cdc unbalanced quote", "scylla_cdc", {**cdc, "tables": ['shop."orders']}, "tables"),
        ("cdc unicode table", "scylla_cdc", {**cdc, "tables": ["shop.t\u00e5ble"]}, "tables"),
        ("cdc tables as a dict", "scylla_cdc", {**cdc, "tables": {"shop": "orders"}}, "tables"),
        ("cdc negative ttl", "scylla_cdc", {**cdc, "tables": ["shop.orders"], "ttl": -5}, "ttl"),
        (
            "cdc preimage as a word",
            "scylla_cdc",
            {**cdc, "tables": ["shop.orders"], "preimage": "sometimes"},
            "preimage",
        ),
    ]


def test_hostile_inputs_are_refused_whole_and_change_nothing(ansible_home, env: Env) -> None:
    started = cpu_seconds(), time.monotonic()
    limited_password = random_password()
    with env.node.session() as session:
        session.execute(f"CREATE ROLE hostile_limited WITH PASSWORD = '{limited_password}' AND LOGIN = true")
        session.execute("GRANT CREATE ON ALL ROLES TO hostile_limited")
        session.execute("GRANT DESCRIBE ON ALL ROLES TO hostile_limited")
    cases = hostile_cql_cases(env)
    # Passes every check, but the login may create roles and not grant on shop.orders: CREATE ROLE is applied,
    # the GRANT refused. The message must say exactly that (the old one said "nothing" in such cases).
    midway = {
        **env.conn(login_user="hostile_limited", login_password=limited_password),
        "name": "hostile_created",
        "password": HOSTILE_PASSWORD,
        "permissions": [{"permission": "SELECT", "resource": "TABLE shop.orders"}],
    }
    before = cluster_state(env.node)
    try:
        result = run(
            ansible_home,
            env,
            *(task(name, module, args, ignore_errors=True) for name, module, args, _o in cases),
            task("grant refused midway", "scylla_role", midway, ignore_errors=True),
        )
        answers = results(result)
        problems = []
        for name, _module, _args, option in cases:
            msg = str(answers[name].get("msg", ""))
            if not answers[name].get("failed") or option not in msg or "\n" in msg or "Traceback" in msg:
                problems.append(f"{name}: {msg!r}")
        assert not problems, "\n".join(problems)
        midway_msg = answers["grant refused midway"]["msg"]
        assert "may not grant" in midway_msg or "Unauthorized" in midway_msg or "may not" in midway_msg, midway_msg
        assert "role hostile_created created (LOGIN = true, SUPERUSER = false)" in midway_msg, midway_msg
        assert "granted" not in midway_msg.split("read back from the server")[-1], midway_msg
        after = cluster_state(env.node)
        created = [r for r in after["roles"] if r not in before["roles"]]
        assert created == [("hostile_created", True, False)]  # exactly what the message says
        assert after["tables"] == before["tables"]
        assert [g for g in after["grants"] if g[0] != "hostile_limited"] == [
            g for g in before["grants"] if g[0] != "hostile_limited"
        ]
        output = output_of(result)
        leaked = [p for p in (HOSTILE_PASSWORD, env.node.admin_password, limited_password) if p in output]
        assert not leaked, "passwords in the output of the battery"
    finally:
        with env.node.session() as session:
            session.execute("DROP ROLE IF EXISTS hostile_created")
            session.execute("DROP ROLE IF EXISTS hostile_limited")
    cpu, wall = cpu_seconds() - started[0], time.monotonic() - started[1]
    print(f"CQL hostile battery: {len(cases) + 1} cases, {wall:.1f} s wall, {cpu:.1f} s CPU (pytest and its plays)")


def cpu_seconds() -> float:
    """CPU of this process and of its finished children (the ansible-playbook runs)."""
    import resource

    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


# -- scylla_cdc and connection failures ------------------------------------------------------------------


def test_scylla_cdc_refuses_cassandra(ansible_home, env: Env) -> None:
    args = {**env.conn(), "tables": ["shop.orders"], "postimage": True}
    result = run(
        ansible_home,
        env,
        task("check mode", "scylla_cdc", args, check_mode=True, ignore_errors=True),
        task("for real", "scylla_cdc", args, ignore_errors=True),
    )
    for step in results(result).values():
        assert step["failed"]
        assert "is not a ScyllaDB server: it is Apache Cassandra 5.0.9" in step["msg"]
        assert "point login_hosts at the ScyllaDB nodes" in step["msg"]
    with env.node.session() as session:
        row = session.execute(
            "SELECT extensions, cdc FROM system_schema.tables WHERE keyspace_name = 'shop' AND table_name = 'orders'"
        ).one()
    assert not row["extensions"] and not row["cdc"]


def test_connection_failures_are_one_clear_message(ansible_home, env: Env) -> None:
    (closed_port,) = free_ports(1)
    role = {"name": unique("never"), "password": random_password()}
    result = run(
        ansible_home,
        env,
        task("unreachable", "scylla_role", {**env.conn(login_port=closed_port), **role}, ignore_errors=True),
        task(
            "unknown CA",
            "scylla_role",
            {**env.conn(ca_cert=str(env.node.tls.other_ca_cert)), **role},
            ignore_errors=True,
        ),
        task("plain to the TLS port", "scylla_role", {**env.conn(ssl=False), **role}, ignore_errors=True),
        task(
            "cdc unreachable",
            "scylla_cdc",
            {**env.conn(login_port=closed_port), "tables": ["shop.orders"]},
            ignore_errors=True,
        ),
    )
    steps = results(result)
    expected = {
        "unreachable": "cannot reach any CQL node",
        "unknown CA": "TLS handshake with the CQL nodes",
        "plain to the TLS port": "that port expects TLS, set ssl=true",
        "cdc unreachable": "cannot reach any CQL node",
    }
    for name, words in expected.items():
        assert steps[name]["failed"], name
        assert words in steps[name]["msg"], (name, steps[name]["msg"])
        assert "Traceback" not in steps[name]["msg"], name
    assert role["name"] not in roles_of(env.node)
