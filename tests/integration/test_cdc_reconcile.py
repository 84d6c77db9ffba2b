"""cdc_reconcile against a real Cassandra 5 node and a real PostgreSQL server, both on loopback, both over TLS.

The sink tables are filled the way the pipeline's JDBC sink leaves them (same column names, PostgreSQL
types for the CQL ones: numeric for decimal, timestamptz for timestamp, bytea for blob, jsonb for a
set), then differences are injected with an independent client. The module runs through
ansible-playbook, as in production. Equal tables must report nothing; each injected difference must be
found and classified (the negative control: the same check that passed fails once a row is gone).
"""
# ruff: noqa: S105, S106 - fake passwords are what these tests follow

from __future__ import annotations

import datetime
import decimal
import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.tools.cassandra_server import ADMIN_USER, CassandraNode, started_cassandra
from tests.tools.playbook_runner import PlayResult, run_playbook
from tests.tools.postgres_server import PostgresServer, started_postgres

pytestmark = pytest.mark.integration

ITEMS = 1500
EVENTS = 600
SINK_USER, SINK_PASSWORD = "cdc_reconcile", "reconcile-test-password"
INSERT_ITEM = "INSERT INTO cdc.cdc_shop_items (id, name, qty, price, tags, updated_at) VALUES (%s, %s, %s, %s, %s, %s)"
NAMES = ("widget", "Grüße", "名前", "quote ' and \\", "")


@dataclass
class Env:
    node: CassandraNode
    pg: PostgresServer
    workdir: Path

    def args(self, **overrides) -> dict:
        args = {
            "login_hosts": [self.node.host],
            "login_port": self.node.port,
            "login_user": ADMIN_USER,
            "login_password": self.node.admin_password,
            "ca_cert": str(self.node.tls.ca_cert),
            "source_table": "shop.items",
            "sink_table": "cdc.cdc_shop_items",
            "sink_host": self.pg.host,
            "sink_port": self.pg.port,
            "sink_user": SINK_USER,
            "sink_password": SINK_PASSWORD,
            "sink_ca_cert": str(self.pg.tls.ca_cert),
            "token_ranges": 64,
            "page_size": 500,
        }
        args.update(overrides)
        return args


def item(key: int) -> dict:
    return {
        "id": key,
        "name": f"{NAMES[key % len(NAMES)]}-{key}",
        "qty": None if key % 17 == 0 else key * 3,
        "price": decimal.Decimal(f"{key}.50"),  # PostgreSQL numeric keeps 1.50; CQL decimal too: the forms differ
        "tags": None if key % 11 == 0 else f"t{key % 7}",
        "updated_at": datetime.datetime(2026, 12, 6, 12, 0, 0) + datetime.timedelta(milliseconds=key * 1001),
    }


def event(index: int) -> dict:
    return {
        "tenant": f"tenant-{index % 7}",
        "day": datetime.date(2026, 12, 1) + datetime.timedelta(days=index % 5),
        "seq": index,
        "payload": os.urandom(12) if index % 9 else b"",
        "flags": None if index % 4 == 0 else {f"f{index % 3}", "all"},
        "ok": index % 2 == 0,
        "uid": uuid.UUID(int=index * 7919),
        "ratio": index / 7,
    }


def fill(env: Env) -> None:
    from cassandra.concurrent import execute_concurrent_with_args

    with env.node.session() as session:
        session.execute("CREATE KEYSPACE shop WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}")
        session.execute(
            "CREATE TABLE shop.items "
            "(id int PRIMARY KEY, name text, qty int, price decimal, tags text, updated_at timestamp)"
        )
        session.execute(
            "CREATE TABLE shop.events (tenant text, day date, seq bigint, payload blob, flags set<text>, ok boolean, "
            "uid uuid, ratio double, PRIMARY KEY ((tenant, day), seq))"
        )
        insert = session.prepare(
            "INSERT INTO shop.items (id, name, qty, price, tags, updated_at) VALUES (?, ?, ?, ?, ?, ?)"
        )
        execute_concurrent_with_args(session, insert, [tuple(item(k).values()) for k in range(ITEMS)], concurrency=32)
        insert = session.prepare(
            "INSERT INTO shop.events (tenant, day, seq, payload, flags, ok, uid, ratio) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
        )
        execute_concurrent_with_args(session, insert, [tuple(event(i).values()) for i in range(EVENTS)], concurrency=32)
        events = [dict(row) for row in session.execute("SELECT * FROM shop.events")]
    with env.pg.admin() as admin:
        admin.execute("CREATE DATABASE cdc")
        admin.execute(f"CREATE ROLE {SINK_USER} LOGIN PASSWORD '{SINK_PASSWORD}'")
    with env.pg.admin("cdc") as conn:
        conn.execute("CREATE SCHEMA cdc")
        conn.execute(
            "CREATE TABLE cdc.cdc_shop_items (id int PRIMARY KEY, name text, qty int, price numeric, tags text, "
            "updated_at timestamptz, __deleted text)"
        )
        conn.execute(
            "CREATE TABLE cdc.cdc_shop_events (tenant text, day date, seq bigint, payload bytea, flags jsonb, "
            "ok boolean, "
            "uid uuid, ratio double precision, PRIMARY KEY (tenant, day, seq))"
        )
        with conn.cursor() as cur:
            cur.executemany(
                INSERT_ITEM,
                [
                    (*list(row.values())[:5], row["updated_at"].replace(tzinfo=datetime.UTC))
                    for row in (item(k) for k in range(ITEMS))
                ],
            )
            cur.executemany(
                "INSERT INTO cdc.cdc_shop_events VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                [
                    (
                        row["tenant"],
                        row["day"].date(),
                        row["seq"],
                        row["payload"],
                        None if row["flags"] is None else json.dumps(sorted(row["flags"])),
                        row["ok"],
                        row["uid"],
                        row["ratio"],
                    )
                    for row in events
                ],
            )
        conn.execute(f"GRANT USAGE ON SCHEMA cdc TO {SINK_USER}")
        conn.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA cdc TO {SINK_USER}")
        # A table the reconciliation login may not read (no grant): a refusal, not a missing table.
        conn.execute("CREATE TABLE cdc.hidden (id int PRIMARY KEY)")


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> Iterator[Env]:
    with started_cassandra(tmp_path_factory.mktemp("cassandra")) as node, started_postgres() as pg:
        environment = Env(node=node, pg=pg, workdir=tmp_path_factory.mktemp("reconcile-play"))
        fill(environment)
        yield environment


def run(ansible_home, env: Env, *tasks: dict, check: bool = False, diff: bool = False) -> PlayResult:
    extra = (["--check"] if check else []) + (["--diff"] if diff else [])
    return run_playbook(
        ansible_home,
        env.workdir,
        [{"hosts": "localhost", "gather_facts": False, "tasks": list(tasks)}],
        extra_args=extra,
    )


def reconcile(ansible_home, env: Env, check: bool = False, diff: bool = False, **overrides) -> dict:
    result = run(
        ansible_home,
        env,
        {"name": "reconcile", "cdc.pipeline.cdc_reconcile": env.args(**overrides)},
        check=check,
        diff=diff,
    )
    assert not result.failed, result.failure_text
    return result.report["plays"][0]["tasks"][0]["hosts"]["localhost"]


def sample_keys(result: dict, kind: str) -> list:
    return [sample["key"] for sample in result["samples"][kind]]


def test_equal_tables_report_nothing(ansible_home, env: Env) -> None:
    """Same rows on both sides (their PostgreSQL forms differ: 1.50 in numeric, timestamptz, jsonb sets, bytea)."""
    items = reconcile(ansible_home, env)
    assert items["equal"], (items["counts"], items["samples"])
    assert (items["source_rows"], items["sink_rows"]) == (ITEMS, ITEMS)
    assert items["counts"] == {"missing": 0, "extra": 0, "different": 0}
    assert items["differing_slices"] == 0 and items["sink_passes"] == 1
    assert len(items["slices"]) == 64 and all(s["equal"] for s in items["slices"])
    assert items["columns"] == ["name", "price", "qty", "tags", "updated_at"] and items["key_columns"] == ["id"]
    assert not items["changed"]
    # A composite partition key (text, date): every sink row's token must be the one the node computes, or
    # rows would fall into other slices than the source's and equal tables would differ.
    events = reconcile(
        ansible_home, env, source_table="shop.events", sink_table="cdc.cdc_shop_events", token_ranges=256
    )
    assert events["equal"], (events["counts"], events["samples"])
    assert events["source_rows"] == EVENTS and events["key_columns"] == ["tenant", "day", "seq"]
    # Not given, the slices follow the table's size: a small table is read in the fewest (16) queries.
    auto = reconcile(ansible_home, env, token_ranges=None)
    assert auto["equal"] and len(auto["slices"]) == 16


def test_each_injected_difference_is_found(ansible_home, env: Env, tmp_path: Path) -> None:
    with env.pg.admin("cdc") as conn:
        conn.execute("DELETE FROM cdc.cdc_shop_items WHERE id IN (5, 700, 1499)")  # lost by the sink
        conn.execute(
            "INSERT INTO cdc.cdc_shop_items (id, name) VALUES (90001, 'never at the source'), (90002, 'nor this')"
        )  # deleted at the source, the delete lost
        conn.execute("UPDATE cdc.cdc_shop_items SET qty = qty + 1 WHERE id = 12")
        conn.execute("UPDATE cdc.cdc_shop_items SET tags = NULL WHERE id = 13")  # a value lost to NULL
        conn.execute("UPDATE cdc.cdc_shop_items SET updated_at = updated_at + interval '1 millisecond' WHERE id = 14")
        # Two rows' names swapped: same count, same values overall, in the same slice or not
        conn.execute(
            "UPDATE cdc.cdc_shop_items SET name = CASE id WHEN 20 THEN 'swap-b' ELSE 'swap-a' END WHERE id IN (20, 21)"
        )
    found = reconcile(ansible_home, env)
    assert not found["equal"]
    assert found["counts"] == {"missing": 3, "extra": 2, "different": 5}, found["samples"]
    assert sample_keys(found, "missing") == [{"id": 5}, {"id": 700}, {"id": 1499}]
    assert sample_keys(found, "extra") == [{"id": 90001}, {"id": 90002}]
    different = {sample["key"]["id"]: sample["columns"] for sample in found["samples"]["different"]}
    assert different == {12: ["qty"], 13: ["tags"], 14: ["updated_at"], 20: ["name"], 21: ["name"]}
    assert 0 < found["differing_slices"] <= 10 and 0 < found["ranges_reread"] <= 10
    # The source's keys of the differing ranges looked up in one query; the sink read again for its extra rows.
    assert found["sink_lookups"] == 1 and found["sink_passes"] == 2
    assert found["differing_slices"] == sum(1 for s in found["slices"] if not s["equal"])

    # Samples are capped; the counts are not.
    capped = reconcile(ansible_home, env, sample_limit=1)
    assert capped["counts"] == found["counts"] and [
        len(capped["samples"][k]) for k in ("missing", "extra", "different")
    ] == [1, 1, 1]
    # A small memory bound means more batches (one range each here: more lookups), not another answer.
    bounded = reconcile(ansible_home, env, max_rows_in_memory=1)
    assert bounded["counts"] == found["counts"] and bounded["samples"] == found["samples"]
    assert bounded["sink_lookups"] > 1 and bounded["sink_passes"] >= 2

    # The re-emit file: not written in check mode, written once, then left alone.
    path = tmp_path / "items.reemit.jsonl"
    predicted = reconcile(ansible_home, env, check=True, diff=True, reemit_path=str(path))
    assert predicted["changed"] and predicted["reemit_keys"] == 10 and not path.exists()
    written = reconcile(ansible_home, env, reemit_path=str(path))
    assert written["changed"] and path.exists() and (path.stat().st_mode & 0o777) == 0o600
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert len(lines) == 10 and {"class": "missing", "key": {"id": 700}} in lines
    assert {"class": "different", "key": {"id": 13}} in lines and {"class": "extra", "key": {"id": 90002}} in lines
    assert not reconcile(ansible_home, env, reemit_path=str(path))["changed"]

    # Repaired, the same check passes again.
    with env.pg.admin("cdc") as conn:
        conn.execute("DELETE FROM cdc.cdc_shop_items WHERE id >= 90000 OR id IN (12, 13, 14, 20, 21)")
        with conn.cursor() as cur:
            cur.executemany(
                INSERT_ITEM,
                [
                    (*list(row.values())[:5], row["updated_at"].replace(tzinfo=datetime.UTC))
                    for row in (item(k) for k in (5, 700, 1499, 12, 13, 14, 20, 21))
                ],
            )
    assert reconcile(ansible_home, env)["equal"]


def test_the_sink_is_read_whole_again_only_where_it_holds_extra_rows(ansible_home, env: Env) -> None:
    """The second pass looks the source's keys up in the sink by primary key; rows that differ only in a column need
    no other read, a range whose sink holds a row the source lacks is scanned."""
    with env.pg.admin("cdc") as conn:
        conn.execute("UPDATE cdc.cdc_shop_items SET price = price + 1 WHERE id IN (100, 900)")
    items = reconcile(ansible_home, env)
    assert items["counts"] == {"missing": 0, "extra": 0, "different": 2}, items["samples"]
    assert {s["key"]["id"]: s["columns"] for s in items["samples"]["different"]} == {100: ["price"], 900: ["price"]}
    assert items["sink_passes"] == 1 and items["sink_lookups"] == 1

    # A composite partition key (text, date) looked up with its clustering column: one row's key moved within its
    # partition (the same range, the same count: missing and extra at once), another's value changed.
    with env.pg.admin("cdc") as conn:
        conn.execute("UPDATE cdc.cdc_shop_items SET price = price - 1 WHERE id IN (100, 900)")
        conn.execute("UPDATE cdc.cdc_shop_events SET seq = 90007 WHERE seq = 7")
        conn.execute("UPDATE cdc.cdc_shop_events SET ok = NOT ok WHERE seq = 8")
    table = dict(source_table="shop.events", sink_table="cdc.cdc_shop_events", token_ranges=256)
    events = reconcile(ansible_home, env, **table)
    assert events["counts"] == {"missing": 1, "extra": 1, "different": 1}, events["samples"]
    assert [s["key"]["seq"] for s in events["samples"]["missing"]] == [7]
    assert [s["key"]["seq"] for s in events["samples"]["extra"]] == [90007]
    assert [(s["key"]["seq"], s["columns"]) for s in events["samples"]["different"]] == [(8, ["ok"])]
    assert events["samples"]["missing"][0]["key"]["tenant"] == events["samples"]["extra"][0]["key"]["tenant"]
    assert events["sink_passes"] == 2 and events["sink_lookups"] == 1

    with env.pg.admin("cdc") as conn:
        conn.execute("UPDATE cdc.cdc_shop_events SET seq = 7 WHERE seq = 90007")
        conn.execute("UPDATE cdc.cdc_shop_events SET ok = NOT ok WHERE seq = 8")
    assert reconcile(ansible_home, env)["equal"] and reconcile(ansible_home, env, **table)["equal"]


def test_a_sink_table_not_created_yet_holds_none_of_the_rows(ansible_home, env: Env) -> None:
    """The sink creates its table with the first record: before that, every source row is missing (a table with rows
    reports them all), and a source table without rows is equal (a new deployment's daily run passes)."""
    with env.node.session() as session:
        session.execute("CREATE TABLE IF NOT EXISTS shop.quiet (id int PRIMARY KEY, name text)")
    quiet = reconcile(ansible_home, env, source_table="shop.quiet", sink_table="cdc.cdc_shop_quiet")
    assert quiet["equal"] and quiet["sink_table_exists"] is False
    assert (quiet["source_rows"], quiet["sink_rows"]) == (0, 0)
    unsent = reconcile(ansible_home, env, sink_table="cdc.cdc_shop_items_not_yet", sample_limit=3)
    assert not unsent["equal"] and unsent["sink_table_exists"] is False
    assert unsent["counts"] == {"missing": ITEMS, "extra": 0, "different": 0}
    assert len(sample_keys(unsent, "missing")) == 3
    assert any("cdc.cdc_shop_items_not_yet does not exist" in warning for warning in unsent.get("warnings", []))


def test_bad_input_and_unreachable_services_are_one_clear_error(ansible_home, env: Env) -> None:
    cases = {
        "no such source table": (dict(source_table="shop.nope"), "source table shop.nope does not exist"),
        "a sink table the login may not read": (dict(sink_table="cdc.hidden"), "shows no column to cdc_reconcile"),
        "a sink without a source column": (
            dict(source_table="shop.events", sink_table="cdc.cdc_shop_items"),
            "has no column",
        ),
        "wrong sink password": (dict(sink_password="wrong-password"), "refused the login of cdc_reconcile"),
        "closed sink port": (dict(sink_port=1), "cannot reach PostgreSQL"),
        "another CA": (dict(sink_ca_cert=str(env.node.tls.other_ca_cert)), "TLS with PostgreSQL"),
        "malformed sink table": (dict(sink_table="items"), "is not schema.table"),
        "too many samples": (dict(sample_limit=101), "sample_limit must be between 0 and 100"),
    }
    tasks = [
        {"name": name, "cdc.pipeline.cdc_reconcile": env.args(**overrides), "ignore_errors": True}
        for name, (overrides, _message) in cases.items()
    ]
    result = run(ansible_home, env, *tasks)
    outcomes = {entry["task"]["name"]: entry["hosts"]["localhost"] for entry in result.report["plays"][0]["tasks"]}
    for name, (_overrides, message) in cases.items():
        assert outcomes[name].get("failed"), name
        assert message in outcomes[name]["msg"], (name, outcomes[name]["msg"])
    text = json.dumps(result.report) + result.stderr
    assert SINK_PASSWORD not in text and env.node.admin_password not in text
