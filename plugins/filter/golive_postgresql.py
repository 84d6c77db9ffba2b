# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cdc.pipeline maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The go-live probes of PostgreSQL, judged from one read of the postgresql role's state entry
point (postgresql_state): the settings in force (pg_settings), pgaudit recording DDL and role
changes (pgaudit_enabled), the sink tables' primary keys and declared indexes (pg_indexes_present),
the declared row-level security policies (pg_policies_present), vacuum and analyze keeping up
(vacuum_recent), and the pgBackRest repositories: encrypted
(backup_encrypted), kept 30-90 days (backup_retention), off this host (backup_offsite).
Unit-tested in tests/unit/test_golive_postgresql_filters.py.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

COMMAND = (
    "cdc.pipeline.postgresql state (pg_file_settings, pg_settings, pg_class, pg_index, pg_policies,"
    " pg_stat_user_tables) on %s"
)
# What a declared object waits for when the sink has not created its table yet.
NOT_YET = "table %s does not exist yet (the role creates the %s on its next run after the sink creates the table)"
# The tuning the checklist names: the role's file must set each.
TUNING = ("shared_buffers", "work_mem")
# The statement classes the audit trail needs: schema changes and role (privilege) changes.
PGAUDIT_CLASSES = ("ddl", "role")
REPO_SETTING = re.compile(r"^repo([0-9]+)-(.+)$")
# Repository types that are not a directory of the host itself.
OFF_HOST_TYPES = ("s3", "gcs", "azure", "sftp")
# Autovacuum starts a table at its trigger; a table past twice its trigger has waited for more than a
# passing moment, so vacuum is not keeping up with it.
BEHIND = 2.0


def _result(state, passed, found, at):
    return {"passed": bool(passed), "command": COMMAND % state.get("host"), "result": found, "at": at}


def _pg_settings(state, at):
    rows = state.get("file_settings") or []
    if not rows:
        return _result(
            state,
            False,
            "the server reads no setting from %s: the role's settings file is missing or not included"
            % state.get("settings_file"),
            at,
        )
    offenders = []
    for row in rows:
        if row.get("error"):
            offenders.append("%s = %s: %s" % (row.get("name"), row.get("setting"), row["error"]))
        elif not row.get("applied"):
            offenders.append(
                "%s = %s is not in force (overridden by ALTER SYSTEM or a later file)"
                % (row.get("name"), row.get("setting"))
            )
    names = set(row.get("name") for row in rows)
    offenders += ["%s is not set by %s" % (name, state.get("settings_file")) for name in TUNING if name not in names]
    pending = state.get("pending_restart") or []
    if pending:
        offenders.append("waiting for a restart: %s" % ", ".join(pending))
    if offenders:
        return _result(state, False, offenders, at)
    tuning = ", ".join("%s=%s" % (row["name"], row.get("setting")) for row in rows if row.get("name") in TUNING)
    return _result(
        state,
        True,
        "%d settings of %s in force (%s); none waits for a restart" % (len(rows), state.get("settings_file"), tuning),
        at,
    )


def _pgaudit(state, wanted, at):
    server = state.get("server") or {}
    loaded = [name.strip() for name in (server.get("preload") or "").split(",")]
    classes = [name.strip().lower() for name in (server.get("pgaudit_log") or "").split(",") if name.strip()]
    if "pgaudit" not in loaded:
        return _result(
            state, False, "pgaudit is not loaded (shared_preload_libraries = %s)" % server.get("preload"), at
        )
    missing = [kind for kind in wanted if kind not in classes and "all" not in classes]
    if missing:
        return _result(
            state,
            False,
            "pgaudit.log = %s records no %s" % (server.get("pgaudit_log") or "none", ", ".join(missing)),
            at,
        )
    return _result(state, True, "pgaudit loaded; pgaudit.log = %s" % server.get("pgaudit_log"), at)


def _pg_indexes(state, at):
    tables = set(table["table"] for table in state.get("tables") or [])
    if not tables:
        return _result(
            state, False, "no table in schema %s: the sink has written nothing yet" % state.get("schema"), at
        )
    offenders = [
        "%s has no primary key (the sink upserts on it)" % table["table"]
        for table in state["tables"]
        if not table.get("primary_key")
    ]
    present = dict(((index["table"], index["index"]), index.get("valid")) for index in state.get("indexes") or [])
    for index in state.get("indexes") or []:
        if not index.get("valid"):
            offenders.append(
                "index %s on %s is invalid (a failed concurrent build): drop it and run the postgresql role again"
                % (index["index"], index["table"])
            )
    declared = state.get("declared_indexes") or []
    for index in declared:
        if index.get("table") not in tables:
            offenders.append("declared index %s: %s" % (index.get("name"), NOT_YET % (index.get("table"), "index")))
        elif (index.get("table"), index.get("name")) not in present:
            offenders.append(
                "declared index %s on %s does not exist: run the postgresql role"
                % (index.get("name"), index.get("table"))
            )
    if offenders:
        return _result(state, False, offenders, at)
    return _result(
        state,
        True,
        "%d tables in %s, each with a primary key; %d declared index(es) present and valid"
        % (len(tables), state.get("schema"), len(declared)),
        at,
    )


def _pg_policies(state, at):
    declared = state.get("declared_policies") or []
    if not declared:
        return _result(state, True, "no row-level security policy declared (postgresql_sink_row_security is empty)", at)
    tables = dict((table["table"], table) for table in state.get("tables") or [])
    present = set((policy["table"], policy["policy"]) for policy in state.get("policies") or [])
    offenders = []
    for policy in declared:
        table = tables.get(policy.get("table"))
        if table is None:
            offenders.append("policy %s: %s" % (policy.get("name"), NOT_YET % (policy.get("table"), "policy")))
        elif (policy.get("table"), policy.get("name")) not in present:
            offenders.append(
                "policy %s on %s does not exist: run the postgresql role" % (policy.get("name"), policy.get("table"))
            )
        elif not table.get("row_security"):
            offenders.append(
                "row-level security is disabled on %s, so policy %s is not enforced"
                % (policy.get("table"), policy.get("name"))
            )
    if offenders:
        return _result(state, False, offenders, at)
    return _result(state, True, "%d declared polic(ies) present and enforced" % len(declared), at)


def _ago(now, then):
    if not then:
        return "never"
    return "%.1f h ago" % ((now - then) / 3600.0)


def _vacuum(state, max_age_hours, at):
    server = state.get("server") or {}
    offenders = []
    for setting in ("autovacuum", "track_counts"):
        if server.get(setting) != "on":
            offenders.append("%s is %s" % (setting, server.get(setting)))
    if state.get("maintenance_timer") != "active":
        offenders.append(
            "the nightly VACUUM ANALYZE timer (cdc-postgresql-vacuum.timer) is %s"
            % (state.get("maintenance_timer") or "absent")
        )
    now = int(state.get("now") or 0)
    limit = max_age_hours * 3600
    tables = state.get("tables") or []
    for table in tables:
        for work, rows, trigger, last in (
            ("vacuum", "dead_rows", "vacuum_trigger", "last_vacuum"),
            ("analyze", "changed_since_analyze", "analyze_trigger", "last_analyze"),
        ):
            pending, starts = float(table.get(rows) or 0), float(table.get(trigger) or 0)
            done = table.get(last)
            if pending > BEHIND * starts and (not done or now - int(done) > limit):
                offenders.append(
                    "%s: %d rows waiting for %s (autovacuum starts at %d), last %s %s"
                    % (table["table"], pending, work, starts, work, _ago(now, done))
                )
    if offenders:
        return _result(state, False, offenders, at)
    return _result(
        state,
        True,
        "autovacuum on, the nightly timer active; %d tables within their vacuum and analyze triggers" % len(tables),
        at,
    )


def _repositories(state):
    """{repo number: {setting: value}} from the repoN-* settings of pgbackrest.conf."""
    repos = {}
    for key, value in (state.get("repo_settings") or {}).items():
        match = REPO_SETTING.match(key)
        if match:
            repos.setdefault(int(match.group(1)), {})[match.group(2)] = value
    return repos


def _no_backups(state, at):
    if not state.get("backup_enabled"):
        return _result(state, False, "backups are off on this primary (postgresql_backup_enabled is false)", at)
    if not _repositories(state):
        return _result(state, False, "no repository in /etc/pgbackrest.conf", at)
    if state.get("backup_info_error"):
        return _result(state, False, "pgbackrest info failed: %s" % state["backup_info_error"], at)
    return None


def _backup_encrypted(state, at):
    off = _no_backups(state, at)
    if off:
        return off
    offenders, seen = [], []
    ciphers = dict((repo.get("key"), repo.get("cipher")) for repo in (state.get("backup_info") or {}).get("repo") or [])
    for number, repo in sorted(_repositories(state).items()):
        cipher = repo.get("cipher-type") or "none"
        if cipher == "none":
            offenders.append("repo%d is not encrypted (repo%d-cipher-type)" % (number, number))
        elif ciphers.get(number) not in (None, cipher):
            offenders.append("repo%d: pgbackrest info reports cipher %s" % (number, ciphers.get(number)))
        else:
            seen.append("repo%d %s" % (number, cipher))
    if offenders:
        return _result(state, False, offenders, at)
    return _result(state, True, "every pgBackRest repository encrypted: %s" % ", ".join(seen), at)


def _backup_retention(state, min_days, max_days, at):
    off = _no_backups(state, at)
    if off:
        return off
    offenders, seen = [], []
    for number, repo in sorted(_repositories(state).items()):
        kind, full = repo.get("retention-full-type", "count"), repo.get("retention-full")
        if kind != "time":
            offenders.append(
                "repo%d keeps %s full backups by count, not by days (repo%d-retention-full-type=time sets days)"
                % (number, full or "every", number)
            )
        elif not full or not str(full).isdigit() or not min_days <= int(full) <= max_days:
            offenders.append("repo%d keeps full backups %s days; allowed %d-%d" % (number, full, min_days, max_days))
        else:
            seen.append("repo%d %s days" % (number, full))
    if offenders:
        return _result(state, False, offenders, at)
    return _result(state, True, "full backups kept %s" % ", ".join(seen), at)


def _backup_offsite(state, at):
    off = _no_backups(state, at)
    if off:
        return off
    offenders, seen = [], []
    for number, repo in sorted(_repositories(state).items()):
        if repo.get("host"):
            seen.append("repo%d on repository host %s" % (number, repo["host"]))
        elif repo.get("type") in OFF_HOST_TYPES:
            seen.append("repo%d in %s" % (number, repo["type"]))
        else:
            offenders.append(
                "repo%d is a directory of this host (%s): losing the host loses its backups"
                % (number, repo.get("path"))
            )
    if offenders:
        return _result(state, False, offenders, at)
    return _result(state, True, "; ".join(seen), at)


def golive_postgresql_results(state, max_vacuum_age_hours, at, backup_retention_days=(30, 90)):
    """pg_settings and pgaudit_enabled from any server; from the primary also pg_indexes_present, pg_policies_present,
    vacuum_recent and the backup probes (a standby's state has no tables read, and gives only pg_settings)."""
    results = {"pg_settings": _pg_settings(state, at), "pgaudit_enabled": _pgaudit(state, PGAUDIT_CLASSES, at)}
    if state.get("primary"):
        results["pg_indexes_present"] = _pg_indexes(state, at)
        results["pg_policies_present"] = _pg_policies(state, at)
        results["vacuum_recent"] = _vacuum(state, max_vacuum_age_hours, at)
        results["backup_encrypted"] = _backup_encrypted(state, at)
        low, high = backup_retention_days
        results["backup_retention"] = _backup_retention(state, int(low), int(high), at)
        results["backup_offsite"] = _backup_offsite(state, at)
    return results


class FilterModule(object):
    def filters(self):
        return {"golive_postgresql_results": golive_postgresql_results}
