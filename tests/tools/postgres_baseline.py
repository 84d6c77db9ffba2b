#!/usr/bin/env python
# Copyright: cdc.pipeline maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The automatable controls of dev-sec's postgres-baseline, applied to a converged host.

Runs on the database host as root (Molecule copies it there): reads the server through psql as
postgres and the files directly, prints one JSON report and exits 1 when a control fails.
Controls are adapted where the baseline predates PostgreSQL 10 (SCRAM instead of MD5, TLS on
instead of the baseline's test-only "ssl off"); waivers are listed with their reason here and in
docs/postgresql.md#dev-sec-postgres-baseline. Only the Python standard library is used.

    postgres_baseline.py --version 15 --cluster main [--waive-createrole vault_admin]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import stat
import subprocess
import sys
from dataclasses import dataclass

WEAK_CIPHER_CLASSES = (("ADH", "aNULL"), ("LOW",), ("EXP", "EXPORT"), ("MD5",))
ALLOWED_HBA_METHODS = {"scram-sha-256", "peer", "reject", "cert"}
MAX_PEER_LINES = 2


@dataclass
class Result:
    control: str
    title: str
    status: str  # pass, fail or waived
    detail: str = ""


def verdict(control: str, title: str, ok: bool, detail: str = "") -> Result:
    return Result(control, title, "pass" if ok else "fail", detail)


# --- pure checks (unit tested) -------------------------------------------------------------------


def parse_hba(text: str) -> list[list[str]]:
    """pg_hba.conf lines as token lists, comments and blank lines dropped."""
    rules = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            rules.append(line.split())
    return rules


def hba_method(rule: list[str]) -> str:
    """The method token: after DATABASE USER for local lines, after ADDRESS (and MASK) otherwise."""
    index = 3 if rule[0] == "local" else 4
    if rule[0] != "local" and index < len(rule) and re.fullmatch(r"[0-9.]+", rule[index]) and "/" not in rule[3]:
        index += 1  # address given with a separate netmask
    return rule[index] if index < len(rule) else ""


def check_hba(rules: list[list[str]]) -> tuple[bool, str]:
    """Only strong methods; TCP only with TLS (hostssl) unless the line rejects."""
    problems = []
    for rule in rules:
        method = hba_method(rule)
        if method not in ALLOWED_HBA_METHODS:
            problems.append("%s: method %s" % (" ".join(rule), method or "missing"))
        if rule[0] in ("host", "hostnossl", "hostgssenc", "hostnogssenc") and method != "reject":
            problems.append("%s: TCP without TLS" % " ".join(rule))
    return not problems, "; ".join(problems) or "%d rules, all TLS+SCRAM, peer or reject" % len(rules)


def count_peer_lines(rules: list[list[str]]) -> int:
    return sum(1 for rule in rules if hba_method(rule) in ("peer", "ident"))


def check_ciphers(ciphers: str) -> tuple[bool, str]:
    """Every weak class (ADH/aNULL, LOW, EXP, MD5) is excluded with '!' (or only HIGH is allowed)."""
    tokens = re.split(r"[:, ]+", ciphers.strip())
    negated = {token[1:] for token in tokens if token.startswith("!")}
    positive = [token for token in tokens if token and token[0] not in "!-+@"]
    missing = [alts[0] for alts in WEAK_CIPHER_CLASSES if not negated.intersection(alts)]
    # HIGH alone never selects LOW, EXPORT or MD5 suites; aNULL must still be excluded.
    if positive == ["HIGH"]:
        missing = [name for name in missing if name == "ADH"]
    return not missing, "not excluded: %s" % ", ".join(missing) if missing else ciphers


def check_log_line_prefix(prefix: str) -> tuple[bool, str]:
    """Time, user, database and client host in every log line (the baseline's '%t %u %d %h')."""
    needed = {"time (%t or %m)": ("%t", "%m"), "user": ("%u",), "database": ("%d",), "host": ("%h", "%r")}
    missing = [name for name, codes in needed.items() if not any(code in prefix for code in codes)]
    return not missing, "missing: %s" % ", ".join(missing) if missing else prefix


def privileged_roles_verdict(roles: list[str], waived: dict[str, str]) -> Result:
    title = "Only the DBA has SUPERUSER, CREATEDB or CREATEROLE"
    others = sorted(set(roles) - {"postgres"})
    if "postgres" in roles and not others:
        return Result("postgres-07", title, "pass", "postgres only")
    if "postgres" in roles and all(role in waived for role in others):
        return Result("postgres-07", title, "waived", "; ".join("%s: %s" % (r, waived[r]) for r in others))
    return Result("postgres-07", title, "fail", "privileged roles: %s" % ", ".join(sorted(roles)))


def mode_is_private(mode: int, directory: bool) -> bool:
    """0700 for a directory, 0600 (or stricter) for a file: nothing for group or others."""
    return not (mode & (stat.S_IRWXG | stat.S_IRWXO)) and (not directory or bool(mode & stat.S_IXUSR))


# --- collection on the host ------------------------------------------------------------------------


class Server:
    def __init__(self, version: str, cluster: str, port: int):
        self.version, self.cluster, self.port = version, cluster, port
        self.config_dir = "/etc/postgresql/%s/%s" % (version, cluster)

    def sql(self, query: str, database: str = "postgres") -> list[list[str]]:
        out = subprocess.run(
            [
                "runuser",
                "-u",
                "postgres",
                "--",
                "psql",
                "--no-psqlrc",
                "-XAt",
                "-F",
                "\t",
                "-p",
                str(self.port),
                "-d",
                database,
                "-v",
                "ON_ERROR_STOP=1",
                "-c",
                query,
            ],
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        ).stdout
        return [line.split("\t") for line in out.splitlines() if line]

    def value(self, query: str, database: str = "postgres") -> str:
        rows = self.sql(query, database)
        return rows[0][0] if rows else ""

    def setting(self, name: str) -> str:
        if not re.fullmatch(r"[a-z_.]+", name):
            raise ValueError("not a setting name: %r" % name)
        return self.value("SELECT setting FROM pg_settings WHERE name = '%s'" % name)  # noqa: S608 - checked above


def process_controls(server: Server) -> list[Result]:
    results = []
    active = subprocess.run(
        ["systemctl", "is-active", "postgresql@%s-%s" % (server.version, server.cluster)],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    results.append(verdict("postgres-01", "PostgreSQL is running", active == "active", active))

    version = subprocess.run(["psql", "-V"], capture_output=True, text=True, check=True).stdout.strip()
    num = int(server.setting("server_version_num"))
    results.append(
        verdict(
            "postgres-02",
            "Stable, supported version",
            not re.search(r"RC|DEVEL|BETA", version) and num >= 130000,
            version,
        )
    )

    postmasters = subprocess.run(
        ["pgrep", "-x", "-P", "1", "postgres"], capture_output=True, text=True, check=False
    ).stdout.split()
    results.append(
        verdict("postgres-03", "One instance per host", len(postmasters) == 1, "%d postmaster(s)" % len(postmasters))
    )

    untrusted = server.value(
        "SELECT count(*) FROM pg_language WHERE NOT lanpltrusted AND lanname NOT IN ('internal', 'c')"
    )
    results.append(verdict("postgres-04", "Only c and internal as untrusted languages", untrusted == "0", untrusted))

    return results


def account_controls(server: Server, waived_createrole: dict[str, str]) -> list[Result]:
    results = []
    no_password = [row[0] for row in server.sql("SELECT usename FROM pg_shadow WHERE passwd IS NULL")]
    results.append(
        verdict(
            "postgres-05", "Every login role has a password", not no_password, ", ".join(no_password) or "all have one"
        )
    )

    not_scram = [row[0] for row in server.sql("SELECT usename FROM pg_shadow WHERE passwd NOT LIKE 'SCRAM-SHA-256$%'")]
    encryption = server.setting("password_encryption")
    results.append(
        verdict(
            "postgres-06",
            "Passwords stored as salted SCRAM-SHA-256 hashes",
            not not_scram and encryption == "scram-sha-256",
            "password_encryption=%s; not SCRAM: %s" % (encryption, ", ".join(not_scram) or "none"),
        )
    )

    privileged = [
        row[0]
        for row in server.sql("SELECT rolname FROM pg_roles WHERE rolsuper OR rolcreaterole OR rolcreatedb ORDER BY 1")
    ]
    results.append(privileged_roles_verdict(privileged, waived_createrole))
    superusers = [row[0] for row in server.sql("SELECT rolname FROM pg_roles WHERE rolsuper")]
    results.append(
        verdict("superuser-count", "Exactly one superuser", superusers == ["postgres"], ", ".join(superusers))
    )

    acl = server.value("SELECT coalesce(relacl::text, '') FROM pg_class WHERE oid = 'pg_catalog.pg_authid'::regclass")
    results.append(
        verdict(
            "postgres-08",
            "Only the DBA has privileges on pg_authid",
            acl in ("", "{postgres=arwdDxt/postgres}"),
            acl or "owner only (no grants)",
        )
    )

    return results


def file_controls(server: Server) -> list[Result]:
    results = []
    data_dir = server.setting("data_directory")
    loose = []
    for root, dirs, files in os.walk(data_dir):
        for name in dirs + files:
            path = os.path.join(root, name)
            info = os.lstat(path)
            if stat.S_ISLNK(info.st_mode):
                continue
            if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO) or info.st_uid != _uid("postgres"):
                loose.append(path)
    results.append(
        verdict("postgres-09", "Data directory belongs to postgres alone", not loose, ", ".join(loose[:5]) or data_dir)
    )

    config_paths = [
        server.config_dir,
        os.path.join(server.config_dir, "postgresql.conf"),
        os.path.join(server.config_dir, "pg_hba.conf"),
    ]
    config_paths += [
        os.path.join(server.config_dir, "conf.d", n) for n in os.listdir(os.path.join(server.config_dir, "conf.d"))
    ]
    bad_config = [
        p
        for p in config_paths
        if os.stat(p).st_uid != _uid("postgres") or not mode_is_private(os.stat(p).st_mode, os.path.isdir(p))
    ]
    results.append(
        verdict(
            "postgres-10",
            "Configuration directory and files belong to postgres alone",
            not bad_config,
            ", ".join(bad_config) or "0700/0600 postgres",
        )
    )

    return results


def connection_controls(server: Server) -> list[Result]:
    results = []
    ssl, min_tls = server.setting("ssl"), server.setting("ssl_min_protocol_version")
    results.append(
        verdict(
            "postgres-11",
            "TLS on, 1.2 or newer (inverted from the baseline's test-only 'off')",
            ssl == "on" and min_tls in ("TLSv1.2", "TLSv1.3"),
            "ssl=%s min=%s" % (ssl, min_tls),
        )
    )

    ok, detail = check_ciphers(server.setting("ssl_ciphers"))
    results.append(verdict("postgres-12", "No ADH, LOW, EXP or MD5 ciphers", ok, detail))

    with open(server.setting("hba_file"), encoding="utf-8") as handle:
        rules = parse_hba(handle.read())
    ok, detail = check_hba(rules)
    results.append(verdict("postgres-13", "Strong authentication only (SCRAM over TLS; peer locally)", ok, detail))
    peers = count_peer_lines(rules)
    results.append(verdict("postgres-14", "At most two peer/ident lines", peers <= MAX_PEER_LINES, "%d" % peers))

    logging_ok = all(
        server.setting(name) == "on" for name in ("logging_collector", "log_connections", "log_disconnections")
    )
    prefix_ok, prefix_detail = check_log_line_prefix(server.setting("log_line_prefix"))
    results.append(
        verdict(
            "postgres-15",
            "Logging collector, connections, disconnections, line prefix",
            logging_ok and prefix_ok,
            prefix_detail,
        )
    )
    results.append(
        Result(
            "postgres-15b",
            "log_duration and log_hostname",
            "waived",
            "log_duration would log every statement of the sink (thousands per second): "
            "log_min_duration_statement logs the slow ones and pgaudit the DDL and role changes; "
            "log_hostname costs a DNS lookup per connection, %h logs the client address",
        )
    )

    return results


def grant_controls(server: Server) -> list[Result]:
    results = []
    public_db = [
        row[0]
        for row in server.sql(
            "SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate "
            "AND (datacl IS NULL OR datacl::text ~ '(^|[{,])=[^,}]*[cT]')"
        )
    ]
    public_objects = []
    for database in [row[0] for row in server.sql("SELECT datname FROM pg_database WHERE datallowconn")]:
        public_objects += [
            "%s: schema %s" % (database, row[0])
            for row in server.sql(
                "SELECT nspname FROM pg_namespace WHERE nspname NOT IN ('pg_catalog', 'information_schema') "
                "AND nspname NOT LIKE 'pg_toast%' AND nspname NOT LIKE 'pg_temp%' "
                "AND nspacl::text ~ '(^|[{,])=[^,}]*[UC]'",
                database,
            )
        ]
        public_objects += [
            "%s: %s" % (database, row[0])
            for row in server.sql(
                "SELECT DISTINCT table_schema || '.' || table_name FROM information_schema.role_table_grants "
                "WHERE grantee = 'PUBLIC' AND table_schema NOT IN ('pg_catalog', 'information_schema')",
                database,
            )
        ]
    results.append(
        verdict(
            "public-grants",
            "No PUBLIC access to databases, schemas or tables",
            not public_db and not public_objects,
            ", ".join(["database " + d for d in public_db] + public_objects) or "none",
        )
    )

    definer = []
    for database in [row[0] for row in server.sql("SELECT datname FROM pg_database WHERE datallowconn")]:
        definer += [
            "%s: %s" % (database, row[0])
            for row in server.sql(
                "SELECT n.nspname || '.' || p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                "WHERE p.prosecdef AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
                # event-trigger functions cannot be called by users (only fired by DDL)
                "AND p.prorettype <> 'event_trigger'::regtype",
                database,
            )
        ]
    results.append(
        verdict("security-definer", "No SECURITY DEFINER functions", not definer, ", ".join(definer) or "none")
    )
    return results


def run_controls(server: Server, waived_createrole: dict[str, str]) -> list[Result]:
    return (
        process_controls(server)
        + account_controls(server, waived_createrole)
        + file_controls(server)
        + connection_controls(server)
        + grant_controls(server)
    )


def _uid(user: str) -> int:
    import pwd  # noqa: PLC0415 - only on the host

    return pwd.getpwnam(user).pw_uid


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--version", default="15")
    parser.add_argument("--cluster", default="main")
    parser.add_argument("--port", type=int, default=5432)
    parser.add_argument(
        "--waive-createrole",
        action="append",
        default=[],
        metavar="ROLE",
        help="a role allowed CREATEROLE (the secrets store's account rotates passwords)",
    )
    args = parser.parse_args(argv)
    waived = {
        role: "CREATEROLE only, so the secrets store can set the service users' passwords (static roles); "
        "not SUPERUSER, not CREATEDB"
        for role in args.waive_createrole
    }
    results = run_controls(Server(args.version, args.cluster, args.port), waived)
    failed = [r for r in results if r.status == "fail"]
    print(json.dumps({"failed": len(failed), "controls": [r.__dict__ for r in results]}, indent=1))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
