# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cdc.pipeline maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Transport and shared rules of the cdc.pipeline CQL modules (scylla_cdc, scylla_role) and the
scylla role's CQL helper (roles/scylla/files/cdc_scylla_cql.py).

One place for: the connection options and a cassandra-driver session whose every failure
becomes ONE message naming the fix (unreachable nodes, refused login, TLS verification, TLS
against a plain port or the reverse, missing permission), the server flavour (ScyllaDB or
Apache Cassandra), CQL quoting and table names, and statements applied in order. The CDC
options live in scylla_cdc_options.py, the role grant plans in the scylla_role module.
Nothing here calls fail_json: errors are raised as CqlModuleError.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import logging
import re
import socket
import ssl
import traceback

from ansible.module_utils.basic import missing_required_lib
from ansible_collections.cdc.pipeline.plugins.module_utils.client_module import run_module as run_client_module
from ansible_collections.cdc.pipeline.plugins.module_utils.client_module import tls_file_problem

CQL_IMPORT_ERROR = None
try:
    from cassandra import AuthenticationFailed, OperationTimedOut, Unauthorized
    from cassandra.auth import PlainTextAuthProvider
    from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile, NoHostAvailable
    from cassandra.policies import ConstantReconnectionPolicy, WhiteListRoundRobinPolicy
    from cassandra.query import dict_factory, tuple_factory
except ImportError:
    HAS_CQL_DRIVER = False
    CQL_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_CQL_DRIVER = True
    # The driver logs negotiation details (protocol downgrades, ...) as warnings: keep them out of
    # the module's stderr, every failure that matters is raised and worded below.
    logging.getLogger("cassandra").addHandler(logging.NullHandler())
    logging.getLogger("cassandra").propagate = False

PIP_PACKAGE = "cassandra-driver"
DEFAULT_PORT = 9142
# The execution profile that returns rows as tuples (a full-table read builds no dict per row).
TUPLE_ROWS = "tuple_rows"

FIREWALL_FIX = (
    "Check login_hosts and login_port (ScyllaDB: native_transport_port 9042 plain, native_transport_port_ssl 9142 "
    "TLS), that the nodes run, and that the firewall lets this controller reach that port"
)


class CqlModuleError(Exception):
    """A failure already worded for the operator: the message says what to fix.

    kind tells callers what class of failure it was, where they react to one: "invalid" (the
    server refused the statement), "unauthorized", "timeout", "auth", "connection".
    """

    def __init__(self, message, kind=None):
        Exception.__init__(self, message)
        self.kind = kind


def connection_argument_spec():
    """The options of the cdc.pipeline.cql doc fragment."""
    return dict(
        login_hosts=dict(type="list", elements="str", required=True, aliases=["login_host"]),
        login_port=dict(type="int", default=DEFAULT_PORT, aliases=["port"]),
        login_user=dict(type="str"),
        login_password=dict(type="str", no_log=True),
        ssl=dict(type="bool", default=True),
        validate_certs=dict(type="bool", default=True),
        ca_cert=dict(type="path"),
        client_cert=dict(type="path"),
        client_key=dict(type="path", no_log=False),
        connect_timeout=dict(type="int", default=10),
    )


def require_driver(module):
    if not HAS_CQL_DRIVER:
        module.fail_json(msg=missing_required_lib(PIP_PACKAGE), exception=CQL_IMPORT_ERROR)


# --------------------------------------------------------------------------------------------
# Connection settings
# --------------------------------------------------------------------------------------------


def validate_connection_params(params):
    """Refuse incomplete or impossible settings before any connection attempt; returns the host list."""
    hosts = [str(host).strip() for host in params.get("login_hosts") or [] if str(host).strip()]
    if not hosts:
        raise CqlModuleError("login_hosts is empty: list the ScyllaDB nodes (address or name, e.g. 10.0.0.31)")
    for host in hosts:
        if ":" in host and not _looks_like_ipv6(host):
            raise CqlModuleError(
                "login_hosts entry %r has a port: give the address alone and the port as login_port" % host
            )
    port = params.get("login_port")
    if port is None or not 0 < port < 65536:
        raise CqlModuleError("login_port %r is not a TCP port (1-65535)" % port)
    timeout = params.get("connect_timeout")
    if timeout is not None and timeout < 1:
        raise CqlModuleError("connect_timeout must be at least 1 (seconds)")
    if params.get("login_password") and not params.get("login_user"):
        raise CqlModuleError("login_password is set but login_user is not: give the role to log in as")
    problem = params.get("ssl", True) and tls_file_problem(
        params, "the PEM CA that signed the nodes' client_encryption_options certificates"
    )
    if problem:
        raise CqlModuleError(problem)
    return hosts


def _looks_like_ipv6(host):
    return re.match(r"^[0-9A-Fa-f:.]+$", host) is not None and host.count(":") >= 2


def connection_warnings(params):
    """Settings that work but deserve a word (the modules pass these to module.warn)."""
    warnings = []
    if not params.get("ssl", True):
        if any(params.get(key) for key in ("ca_cert", "client_cert", "client_key")):
            warnings.append("ssl=false: ca_cert/client_cert/client_key are ignored")
        if params.get("login_password"):
            warnings.append("ssl=false sends login_password in clear text: use the TLS port (9142) with ssl=true")
    elif params.get("validate_certs") is False:
        warnings.append("validate_certs=false: the node certificates are not checked (anyone can pose as a node)")
    return warnings


def build_ssl_context(params):
    """The TLS client context for params (TLS 1.2+; certificate and host name checked unless validate_certs=false)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if params.get("validate_certs", True):
        context.check_hostname = True
        context.verify_mode = ssl.CERT_REQUIRED
        try:
            if params.get("ca_cert"):
                context.load_verify_locations(cafile=params["ca_cert"])
            else:
                context.load_default_certs()
        except (ssl.SSLError, OSError) as exc:
            raise CqlModuleError("ca_cert %s is not a PEM CA certificate: %s" % (params.get("ca_cert"), exc)) from exc
    else:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if params.get("client_cert"):
        try:
            context.load_cert_chain(certfile=params["client_cert"], keyfile=params["client_key"])
        except (ssl.SSLError, OSError) as exc:
            raise CqlModuleError(
                "client_cert %s and client_key %s do not load as a PEM certificate and its unencrypted key: %s"
                % (params["client_cert"], params["client_key"], exc)
            ) from exc
    return context


# --------------------------------------------------------------------------------------------
# Failure classification
# --------------------------------------------------------------------------------------------

AUTH = "auth"
TLS = "tls"
PROTOCOL = "protocol"
UNREACHABLE = "unreachable"

_PROTOCOL_HINTS = ("wrong version number", "unknown protocol", "record layer failure", "http request")
_TLS_HINTS = ("certificate verify failed", "hostname mismatch", "doesn't match", "certificate", "handshake", "ssl")
_PLAIN_ON_TLS_HINTS = ("connection reset", "connectionshutdown", "connection shutdown", "closed", "eof", "timed out")


def classify_connection_errors(errors, uses_tls):
    """(kind, detail) of a failed connection, from {host: exception} as NoHostAvailable carries them.

    A refused login and a failed TLS verification say what is wrong; a refused connection or a
    timeout only that the node was not reached. Plain CQL sent to a TLS port looks like a node
    closing the connection at once, so that is read as the wrong ssl setting.
    """
    ranked = []
    for host, error in (errors or {}).items():
        text = "%s: %s" % (host, error)
        lowered = ("%s %s" % (type(error).__name__, error)).lower()
        if type(error).__name__ == "AuthenticationFailed" or "bad credentials" in lowered:
            ranked.append((0, AUTH, text))
        elif uses_tls and any(hint in lowered for hint in _PROTOCOL_HINTS):
            ranked.append((1, PROTOCOL, text))
        elif uses_tls and any(hint in lowered for hint in _TLS_HINTS):
            ranked.append((2, TLS, text))
        elif not uses_tls and any(hint in lowered for hint in _PLAIN_ON_TLS_HINTS) and "refused" not in lowered:
            ranked.append((3, PROTOCOL, text))
        else:
            ranked.append((4, UNREACHABLE, text))
    if not ranked:
        return UNREACHABLE, ""
    _rank, kind, text = min(ranked, key=lambda item: item[0])
    return kind, text


def connection_failure_message(kind, detail, params, username):
    """One message naming the fix for a classified connection failure."""
    where = "%s port %s" % (", ".join(params.get("login_hosts") or []), params.get("login_port"))
    detail_part = (" (%s)" % detail) if detail else ""
    if kind == AUTH:
        if not username:
            return (
                "the CQL nodes (%s) require a login%s: set login_user and login_password (a superuser, or a role "
                "allowed what the module does)" % (where, detail_part)
            )
        return (
            "the CQL nodes (%s) refused the login of role %r%s. Check login_user and login_password, and that the "
            "role exists with LOGIN = true" % (where, username, detail_part)
        )
    if kind == TLS:
        return (
            "TLS handshake with the CQL nodes (%s) failed%s. Set ca_cert to the PEM CA that signed the nodes' "
            "client_encryption_options certificate and make sure each login_hosts address is in its subjectAltName "
            "(validate_certs=false only to debug); with client certificates check client_cert/client_key"
            % (where, detail_part)
        )
    if kind == PROTOCOL:
        if params.get("ssl", True):
            return (
                "the CQL nodes (%s) do not speak TLS on that port%s: use the TLS port (native_transport_port_ssl, "
                "9142 by convention) or set ssl=false for a plain port" % (where, detail_part)
            )
        return (
            "the CQL nodes (%s) closed the plain connection%s: that port expects TLS, set ssl=true (with ca_cert)"
            % (where, detail_part)
        )
    return "cannot reach any CQL node (%s)%s. %s" % (where, detail_part, FIREWALL_FIX)


def server_message(exc):
    """The server's own words from a driver exception (its message attribute), else str(exc)."""
    message = getattr(exc, "message", None)
    return str(message) if message else str(exc)


def operation_error(exc, what, username):
    """A CqlModuleError for a failed statement, worded with its fix."""
    name = type(exc).__name__
    if name == "Unauthorized" or (HAS_CQL_DRIVER and isinstance(exc, Unauthorized)):
        return CqlModuleError(
            "role %r may not %s: %s. Log in as a superuser (login_user), or grant that role the permission"
            % (username, what, server_message(exc)),
            kind="unauthorized",
        )
    if name in (
        "OperationTimedOut",
        "ReadTimeout",
        "WriteTimeout",
        "Unavailable",
        "NoHostAvailable",
        "ConnectionShutdown",
        "ConnectionException",
        "ConnectionBusy",
    ):
        return CqlModuleError(
            "no answer from the CQL nodes while trying to %s (%s: %s): check that the nodes are up (nodetool "
            "status), then run again" % (what, name, server_message(exc)),
            kind="timeout",
        )
    return CqlModuleError("the server refused to %s: %s" % (what, server_message(exc)), kind="invalid")


# --------------------------------------------------------------------------------------------
# Client
# --------------------------------------------------------------------------------------------


class CqlClient:
    """A cassandra-driver session: every call returns rows (as dicts) or raises CqlModuleError.

    The driver talks only to login_hosts (WhiteListRoundRobinPolicy): admin statements need one
    coordinator, and a controller often cannot reach the addresses the nodes gossip. Schema and
    token metadata are not loaded, which keeps a connection to a big cluster quick; after DDL the
    driver still waits for schema agreement between the nodes.
    """

    def __init__(self, params, username=None, password=None):
        self.params = params
        self.username = params.get("login_user") if username is None else username
        self._password = params.get("login_password") if password is None else password
        self.timeout = int(params.get("connect_timeout") or 10)
        self.cluster = None
        self.session = None

    def _cluster(self, hosts):
        try:
            policy = WhiteListRoundRobinPolicy(hosts)
        except (socket.gaierror, OSError) as exc:
            raise CqlModuleError(
                "cannot resolve login_hosts %s: %s. Give addresses or names this controller resolves"
                % (", ".join(hosts), exc),
                kind="connection",
            ) from exc
        profile = ExecutionProfile(load_balancing_policy=policy, row_factory=dict_factory, request_timeout=self.timeout)
        tuples = ExecutionProfile(load_balancing_policy=policy, row_factory=tuple_factory, request_timeout=self.timeout)
        options = dict(
            contact_points=hosts,
            port=self.params.get("login_port") or DEFAULT_PORT,
            execution_profiles={EXEC_PROFILE_DEFAULT: profile, TUPLE_ROWS: tuples},
            connect_timeout=self.timeout,
            control_connection_timeout=self.timeout,
            max_schema_agreement_wait=max(self.timeout, 10),
            schema_metadata_enabled=False,
            token_metadata_enabled=False,
            reconnection_policy=ConstantReconnectionPolicy(1.0, max_attempts=0),
        )
        if self.username:
            options["auth_provider"] = PlainTextAuthProvider(username=self.username, password=self._password or "")
        if self.params.get("ssl", True):
            options["ssl_context"] = build_ssl_context(self.params)
        return Cluster(**options)

    def connect(self):
        """Connect and log in; returns self. Every failure is one CqlModuleError naming the fix."""
        hosts = validate_connection_params(self.params)
        self.cluster = self._cluster(hosts)
        try:
            self.session = self.cluster.connect()
        except NoHostAvailable as exc:
            self.close()
            kind, detail = classify_connection_errors(exc.errors, self.params.get("ssl", True))
            raise CqlModuleError(
                connection_failure_message(kind, detail, self.params, self.username),
                kind=AUTH if kind == AUTH else "connection",
            ) from exc
        except (AuthenticationFailed, OperationTimedOut, ssl.SSLError, OSError) as exc:
            self.close()
            kind, detail = classify_connection_errors({"cluster": exc}, self.params.get("ssl", True))
            raise CqlModuleError(
                connection_failure_message(kind, detail, self.params, self.username),
                kind=AUTH if kind == AUTH else "connection",
            ) from exc
        return self

    def login_succeeds(self):
        """True when username/password log in, False when the nodes refuse the login; other failures raise."""
        try:
            self.connect()
        except CqlModuleError as exc:
            if exc.kind == AUTH:
                return False
            raise
        finally:
            self.close()
        return True

    def rows(self, statement, parameters=None, what="run a query"):
        """Run one statement; its rows as a list of dicts."""
        try:
            return list(self.session.execute(statement, parameters))
        except Exception as exc:  # the driver raises many unrelated classes: all become one worded error
            raise operation_error(exc, what, self.username) from exc

    def execute(self, statement, what):
        self.rows(statement, what=what)

    def close(self):
        if self.cluster is not None:
            try:
                self.cluster.shutdown()
            finally:
                self.cluster = None
                self.session = None


def run_module(module, body, validate=None):
    """Check the arguments, connect, run body(module, client) and exit; every CqlModuleError becomes one fail_json.

    validate(params), when given, runs before any connection: names and values the server would refuse (or
    read otherwise) are refused without touching the cluster.
    """
    require_driver(module)
    try:
        validate_connection_params(module.params)
        if validate is not None:
            validate(module.params)
    except CqlModuleError as exc:
        module.fail_json(msg=str(exc))
    run_client_module(module, CqlModuleError, _connected_client, body, connection_warnings(module.params))


def _connected_client(module):
    client = CqlClient(module.params)
    try:
        client.connect()
    except CqlModuleError:
        client.close()
        raise
    return client


# --------------------------------------------------------------------------------------------
# Server flavour
# --------------------------------------------------------------------------------------------

SCYLLA = "scylladb"
CASSANDRA = "cassandra"


def describe_flavour(system_table_names, release_version, scylla_version=None):
    """{"product", "release_version", "version"} from the names of the tables in keyspace `system`.

    ScyllaDB keeps tables of its own there (scylla_local, scylla_views_builds_in_progress, ...),
    Cassandra has none whose name contains "scylla": the check ScyllaDB's own cql-pytest suite
    uses (test/cqlpy/util.py is_scylla). release_version does not tell them apart: ScyllaDB
    reports a Cassandra-compatible 3.0.8 there.
    """
    is_scylla = any("scylla" in str(name) for name in system_table_names or [])
    return {
        "product": SCYLLA if is_scylla else CASSANDRA,
        "release_version": release_version,
        "version": scylla_version if is_scylla else release_version,
    }


def server_flavour(client):
    names = [
        row["table_name"]
        for row in client.rows(
            "SELECT table_name FROM system_schema.tables WHERE keyspace_name = 'system'",
            what="list the tables of keyspace system (to tell ScyllaDB from Cassandra)",
        )
    ]
    local = client.rows("SELECT release_version FROM system.local", what="read system.local")
    release = local[0].get("release_version") if local else None
    scylla_version = None
    if any("scylla" in name for name in names):
        try:
            versions = client.rows("SELECT version FROM system.versions", what="read system.versions")
            scylla_version = versions[0].get("version") if versions else None
        except CqlModuleError:
            scylla_version = None  # only informative: older ScyllaDB releases lack the table
    return describe_flavour(names, release, scylla_version)


# --------------------------------------------------------------------------------------------
# CQL text
# --------------------------------------------------------------------------------------------

# Reserved words of CQL (Cassandra's "Appendix A: CQL Keywords", reserved column; ScyllaDB's
# grammar reserves the same): an identifier equal to one of them must be quoted.
RESERVED_WORDS = frozenset(
    """
    add allow alter and apply asc authorize batch begin by columnfamily create default delete desc describe drop
    entries execute from full grant if in index infinity insert into is keyspace limit mbean mbeans modify nan
    norecursive not null of on or order primary rename replace revoke schema select set table to token truncate
    unlogged unset update use using view where with
    """.split()
)
_PLAIN_IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]*$")


def quote_identifier(name):
    """A keyspace/table/column name for CQL: as is when CQL would read it back unchanged, else "double-quoted".

    Unquoted identifiers are lower-cased by CQL, so any upper case, other character or reserved
    word needs the quotes to reach the name as system_schema stores it.
    """
    text = str(name)
    if _PLAIN_IDENTIFIER.match(text) and text not in RESERVED_WORDS:
        return text
    return '"%s"' % text.replace('"', '""')


def unquote_identifier(text):
    """'"Ks"' -> 'Ks' (a quoted CQL identifier as written), anything else unchanged."""
    text = str(text).strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return text[1:-1].replace('""', '"')
    return text


def string_literal(text):
    """A CQL string literal: 'it''s'."""
    return "'%s'" % str(text).replace("'", "''")


def qualified_table(keyspace, table):
    return "%s.%s" % (quote_identifier(keyspace), quote_identifier(table))


# What CQL allows as a keyspace or table name, quoted or not (Cassandra's and ScyllaDB's schema checks): ASCII
# letters, digits and _; a keyspace name has at most 48 characters, a table name at most 222 (Cassandra 5).
_SCHEMA_NAME = re.compile(r"^[A-Za-z0-9_]+$")
KEYSPACE_NAME_LENGTH = 48
TABLE_NAME_LENGTH = 222


def schema_name_problem(name, what):
    """Why name cannot be a keyspace/table name (what: "keyspace" or "table"), or None."""
    limit = KEYSPACE_NAME_LENGTH if what == "keyspace" else TABLE_NAME_LENGTH
    if not _SCHEMA_NAME.match(name):
        return "%s name %r has characters CQL does not allow (only letters, digits and _)" % (what, name)
    if len(name) > limit:
        return "%s name %s... has %d characters, more than CQL allows (%d)" % (what, name[:20], len(name), limit)
    return None


def parse_table_name(text, option="tables"):
    """'ks.table' -> (ks, table); either part may be "double-quoted" (case-sensitive names); checked as CQL allows."""
    raw = str(text or "").strip() if isinstance(text, str) else ""
    match = re.match(r'^("(?:[^"]|"")+"|[^".]+)\.("(?:[^"]|"")+"|[^".]+)$', raw)
    if not match:
        raise CqlModuleError(
            "%s entry %r is not keyspace.table: give each table as keyspace.table (names as system_schema "
            'stores them; "double-quote" a part with upper case)' % (option, text)
        )
    keyspace, table = unquote_identifier(match.group(1)), unquote_identifier(match.group(2))
    problem = schema_name_problem(keyspace, "keyspace") or schema_name_problem(table, "table")
    if problem:
        raise CqlModuleError(
            "%s entry %r: %s; give each table as keyspace.table with the names as system_schema stores them"
            % (option, text, problem)
        )
    return keyspace, table


class Statement:
    """A CQL statement and the text that may be shown (secrets masked)."""

    def __init__(self, text, shown=None, what=None):
        self.text = text
        self.shown = text if shown is None else shown
        self.what = what or self.shown

    def __repr__(self):
        return "Statement(%r)" % self.shown

    def __eq__(self, other):
        return isinstance(other, Statement) and (self.text, self.shown) == (other.text, other.shown)

    def __hash__(self):
        return hash((self.text, self.shown))


class ApplyError(CqlModuleError):
    """A statement of apply_statements failed: done lists the statements that ran before it, failed is that one.

    A statement the server did not answer (kind "timeout" or "connection") may have been applied all the same.
    """

    def __init__(self, message, kind, done, failed, cause):
        CqlModuleError.__init__(self, message, kind=kind)
        self.done = done
        self.failed = failed
        self.cause = cause


def apply_statements(client, statements):
    """Run statements in order; a failure names what was already applied (there is no CQL transaction).

    Without an answer from the server the failed statement itself may have been applied: the message says
    so; callers that can read the state back (scylla_role, scylla_cdc) replace it with what they read.
    """
    done = []
    for statement in statements:
        try:
            client.execute(statement.text, statement.what)
        except CqlModuleError as exc:
            applied = "; ".join(s.shown for s in done) or "nothing"
            unsure = ""
            if exc.kind in ("timeout", "connection"):
                unsure = " (and perhaps %s itself: the server did not answer)" % statement.shown
            raise ApplyError(
                "%s. Applied before the failure: %s%s" % (exc, applied, unsure), exc.kind, list(done), statement, exc
            ) from exc
        done.append(statement)
    return [statement.shown for statement in done]
