"""The go-live probes of PostgreSQL (plugins/filter/golive_postgresql.py), from the postgresql role's
state read."""

from __future__ import annotations

import copy

import pytest

from plugins.filter.golive_postgresql import golive_postgresql_results

pytestmark = pytest.mark.unit

AT = "2027-01-15T09:30:00Z"
NOW = 1_800_000_000
HOUR = 3600

HEALTHY = {
    "host": "node-4",
    "settings_file": "/etc/postgresql/15/main/conf.d/cdc-pipeline.conf",
    "file_settings": [
        {"name": "shared_buffers", "setting": "512MB", "applied": True, "error": ""},
        {"name": "work_mem", "setting": "8MB", "applied": True, "error": ""},
        {"name": "ssl", "setting": "on", "applied": True, "error": ""},
    ],
    "pending_restart": [],
    "server": {
        "autovacuum": "on",
        "track_counts": "on",
        "standby": False,
        "preload": "pg_stat_statements,pgaudit",
        "pgaudit_log": "ddl, role",
    },
    "primary": True,
    "schema": "cdc",
    "tables": [
        {
            "table": "cdc_shop_items",
            "row_security": True,
            "primary_key": True,
            "live_rows": 10000,
            "dead_rows": 400,
            "changed_since_analyze": 100,
            "last_vacuum": NOW - 2 * HOUR,
            "last_analyze": NOW - 2 * HOUR,
            "vacuum_trigger": 550.0,
            "analyze_trigger": 250.0,
        },
        {
            "table": "quiet",
            "row_security": False,
            "primary_key": True,
            "live_rows": 0,
            "dead_rows": 0,
            "changed_since_analyze": 0,
            "last_vacuum": None,
            "last_analyze": None,
            "vacuum_trigger": 50.0,
            "analyze_trigger": 50.0,
        },
    ],
    "indexes": [
        {"table": "cdc_shop_items", "index": "cdc_shop_items_pkey", "valid": True},
        {"table": "cdc_shop_items", "index": "items_by_sku", "valid": True},
    ],
    "policies": [{"table": "cdc_shop_items", "policy": "tenant_rows"}],
    "now": NOW,
    "maintenance_timer": "active",
    "declared_indexes": [{"table": "cdc_shop_items", "name": "items_by_sku", "columns": ["sku"]}],
    "declared_policies": [{"table": "cdc_shop_items", "name": "tenant_rows", "role": "reader", "using": "true"}],
    "backup_enabled": True,
    "backup_info": {"name": "cdc", "repo": [{"key": 1, "cipher": "aes-256-cbc", "status": {"code": 0}}]},
    "repo_settings": {
        "repo1-path": "/var/lib/pgbackrest",
        "repo1-host": "10.0.0.9",
        "repo1-cipher-type": "aes-256-cbc",
        "repo1-retention-full-type": "time",
        "repo1-retention-full": "30",
        "repo1-retention-diff": "7",
    },
}


def text(result):
    found = result["result"]
    return " ".join(found) if isinstance(found, list) else found


def judged(change=None, probe=None):
    state = copy.deepcopy(HEALTHY)
    if change:
        change(state)
    results = golive_postgresql_results(state, 26, AT)
    return results[probe] if probe else results


def test_the_healthy_primary_passes_every_probe_with_what_it_saw():
    results = judged()
    assert sorted(results) == [
        "backup_encrypted",
        "backup_offsite",
        "backup_retention",
        "pg_indexes_present",
        "pg_policies_present",
        "pg_settings",
        "pgaudit_enabled",
        "vacuum_recent",
    ]
    assert all(result["passed"] for result in results.values()), results
    assert "shared_buffers=512MB, work_mem=8MB" in results["pg_settings"]["result"]
    assert results["pg_settings"]["command"].endswith("on node-4")


def test_a_standby_answers_only_for_its_settings():
    assert list(judged(lambda s: s.update(primary=False, tables=[]))) == ["pg_settings", "pgaudit_enabled"]


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (lambda s: s.update(file_settings=[]), "reads no setting from"),
        (lambda s: s["file_settings"][2].update(applied=False), "ssl = on is not in force"),
        (lambda s: s["file_settings"][1].update(error="invalid value"), "work_mem = 8MB: invalid value"),
        (lambda s: s["file_settings"].pop(1), "work_mem is not set by"),
        (lambda s: s.update(pending_restart=["shared_buffers"]), "waiting for a restart: shared_buffers"),
    ],
)
def test_settings_not_in_force_fail_pg_settings(change, named):
    result = judged(change, "pg_settings")
    assert not result["passed"] and named in text(result)


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (lambda s: s.update(tables=[]), "no table in schema cdc"),
        (lambda s: s["tables"][1].update(primary_key=False), "quiet has no primary key"),
        (lambda s: s["indexes"][1].update(valid=False), "index items_by_sku on cdc_shop_items is invalid"),
        (lambda s: s["indexes"].pop(1), "declared index items_by_sku on cdc_shop_items does not exist"),
        (lambda s: s["declared_indexes"][0].update(table="orders"), "table orders does not exist yet"),
    ],
)
def test_missing_keys_and_indexes_fail_pg_indexes_present(change, named):
    result = judged(change, "pg_indexes_present")
    assert not result["passed"] and named in text(result)


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (lambda s: s.update(policies=[]), "policy tenant_rows on cdc_shop_items does not exist"),
        (lambda s: s["tables"][0].update(row_security=False), "row-level security is disabled on cdc_shop_items"),
        (lambda s: s["declared_policies"][0].update(table="orders"), "table orders does not exist yet"),
    ],
)
def test_declared_policies_must_exist_and_be_enforced(change, named):
    result = judged(change, "pg_policies_present")
    assert not result["passed"] and named in text(result)


def test_no_policy_declared_passes_and_says_so():
    result = judged(lambda s: s.update(declared_policies=[], policies=[]), "pg_policies_present")
    assert result["passed"] and "no row-level security policy declared" in result["result"]


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (lambda s: s["server"].update(autovacuum="off"), "autovacuum is off"),
        (lambda s: s.update(maintenance_timer="inactive"), "cdc-postgresql-vacuum.timer) is inactive"),
        # Past twice its trigger, vacuumed 30 h ago: behind.
        (lambda s: s["tables"][0].update(dead_rows=1200, last_vacuum=NOW - 30 * HOUR), "1200 rows waiting for vacuum"),
        # Past twice its trigger and never analyzed.
        (lambda s: s["tables"][1].update(changed_since_analyze=500), "last analyze never"),
    ],
)
def test_vacuum_or_analyze_falling_behind_fails_vacuum_recent(change, named):
    result = judged(change, "vacuum_recent")
    assert not result["passed"] and named in text(result)


def test_a_table_past_its_trigger_but_vacuumed_lately_is_not_behind():
    # Autovacuum just ran (1 h ago): rows written since are its next run's, not a backlog.
    result = judged(lambda s: s["tables"][0].update(dead_rows=5000, last_vacuum=NOW - HOUR), "vacuum_recent")
    assert result["passed"], result


def test_the_backup_probes_say_what_they_saw():
    results = judged()
    assert results["backup_encrypted"]["result"] == "every pgBackRest repository encrypted: repo1 aes-256-cbc"
    assert results["backup_retention"]["result"] == "full backups kept repo1 30 days"
    assert results["backup_offsite"]["result"] == "repo1 on repository host 10.0.0.9"


@pytest.mark.parametrize(
    ("probe", "change", "named"),
    [
        (
            "backup_encrypted",
            lambda s: s["repo_settings"].update({"repo1-cipher-type": "none"}),
            "repo1 is not encrypted",
        ),
        ("backup_encrypted", lambda s: s["repo_settings"].pop("repo1-cipher-type"), "repo1 is not encrypted"),
        ("backup_encrypted", lambda s: s["backup_info"]["repo"][0].update(cipher="none"), "reports cipher none"),
        (
            "backup_retention",
            lambda s: s["repo_settings"].update({"repo1-retention-full": "7"}),
            "7 days; allowed 30-90",
        ),
        ("backup_retention", lambda s: s["repo_settings"].update({"repo1-retention-full": "120"}), "allowed 30-90"),
        ("backup_retention", lambda s: s["repo_settings"].pop("repo1-retention-full-type"), "by count, not by days"),
        ("backup_offsite", lambda s: s["repo_settings"].pop("repo1-host"), "repo1 is a directory of this host"),
        ("backup_offsite", lambda s: s.update(backup_enabled=False), "backups are off"),
        ("backup_retention", lambda s: s.update(repo_settings={}), "no repository in /etc/pgbackrest.conf"),
        (
            "backup_encrypted",
            lambda s: s.update(backup_info={}, backup_info_error="stanza 'cdc' does not exist"),
            "pgbackrest info failed: stanza",
        ),
    ],
)
def test_an_unencrypted_short_lived_or_local_repository_fails(probe, change, named):
    result = judged(change, probe)
    assert not result["passed"] and named in text(result), result


def test_an_object_store_is_off_the_host():
    def to_s3(state):
        state["repo_settings"].pop("repo1-host")
        state["repo_settings"]["repo1-type"] = "s3"

    assert judged(to_s3, "backup_offsite")["result"] == "repo1 in s3"


@pytest.mark.parametrize(
    ("change", "passed", "named"),
    [
        (None, True, "pgaudit loaded; pgaudit.log = ddl, role"),
        (lambda s: s["server"].update(pgaudit_log="all"), True, "pgaudit.log = all"),
        (lambda s: s["server"].update(preload="pg_stat_statements"), False, "pgaudit is not loaded"),
        (lambda s: s["server"].update(pgaudit_log="ddl"), False, "records no role"),
        (lambda s: s["server"].update(pgaudit_log=""), False, "pgaudit.log = none records no ddl, role"),
    ],
)
def test_pgaudit_must_be_loaded_and_record_ddl_and_role_changes(change, passed, named):
    result = judged(change, "pgaudit_enabled")
    assert result["passed"] is passed and named in text(result), result
