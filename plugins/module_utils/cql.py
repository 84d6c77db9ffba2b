# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cdc.pipeline maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared logic of the cdc.pipeline CQL modules (scylla_cdc, scylla_role).

One place for: the connection options and a cassandra-driver session whose every failure
becomes ONE message naming the fix (unreachable nodes, refused login, TLS verification, TLS
against a plain port or the reverse, missing permission), the server flavour (ScyllaDB or
Apache Cassandra), CQL quoting, the codec of ScyllaDB's `cdc` schema extension, the CDC option
normalisation, and the role grant plans. Nothing here calls fail_json: errors are raised as
CqlModuleError.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import logging
import re
import socket
import ssl
import struct
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
    from cassandra.query import dict_factory
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
    if name in ("OperationTimedOut", "ReadTimeout", "WriteTimeout", "Unavailable", "NoHostAvailable"):
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
        options = dict(
            contact_points=hosts,
            port=self.params.get("login_port") or DEFAULT_PORT,
            execution_profiles={EXEC_PROFILE_DEFAULT: profile},
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


def run_module(module, body):
    """Connect, run body(module, client) and exit; every CqlModuleError becomes one fail_json."""
    require_driver(module)
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


def not_scylla_message(flavour, params):
    return (
        "the CQL server at %s port %s is not a ScyllaDB server: it is Apache Cassandra %s (its keyspace system has "
        "no scylla_* tables). CDC as this module manages it (the table option cdc = {...}, read by the ScyllaDB CDC "
        "source connector) exists only in ScyllaDB: point login_hosts at the ScyllaDB nodes"
        % (", ".join(params.get("login_hosts") or []), params.get("login_port"), flavour.get("release_version"))
    )


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


def apply_statements(client, statements):
    """Run statements in order; a failure names what was already applied (there is no CQL transaction)."""
    done = []
    for statement in statements:
        try:
            client.execute(statement.text, statement.what)
        except CqlModuleError as exc:
            applied = "; ".join(s.shown for s in done) or "nothing"
            raise CqlModuleError("%s. Applied before the failure: %s" % (exc, applied), kind=exc.kind) from exc
        done.append(statement)
    return [statement.shown for statement in done]


# --------------------------------------------------------------------------------------------
# ScyllaDB CDC options
# --------------------------------------------------------------------------------------------

CDC_EXTENSION = "cdc"
LOG_TABLE_SUFFIX = "_scylla_cdc_log"
# Order of the keys in the statements and results (ScyllaDB's cdc::options::to_map has these five).
CDC_KEYS = ("enabled", "preimage", "postimage", "delta", "ttl")
# ScyllaDB's defaults (cdc/cdc_options.hh): what a table gets for a key the map leaves out.
CDC_DEFAULTS = {"enabled": "false", "preimage": "false", "postimage": "false", "delta": "full", "ttl": "86400"}
CDC_TTL_MAX = 2147483647  # ScyllaDB parses ttl with std::stoi into an int
_TRUE_TEXTS = ("true", "1", "yes", "on")
_FALSE_TEXTS = ("false", "0", "no", "off")


def decode_cdc_extension(blob, where="the cdc extension"):
    """ScyllaDB's serialised cdc options (system_schema.tables.extensions['cdc']) as a dict of strings.

    The format is ScyllaDB's IDL serialisation of std::map<sstring, sstring>
    (cdc/cdc_extension.hh: ser::serialize_to_buffer(options.to_map())): a uint32 entry count,
    then per entry a uint32 byte length and the UTF-8 key, a uint32 byte length and the UTF-8
    value; every integer little-endian (serializer.hh serialize_integral: cpu_to_le;
    serializer_impl.hh serializer<std::map> and serializer<sstring>). None (no extension) is {}.
    Anything else that does not parse exactly raises CqlModuleError.
    """
    if blob is None:
        return {}
    data = bytes(blob)
    reader = _BlobReader(data, where)
    count = reader.uint32("entry count")
    # Each entry takes at least 8 bytes (two lengths): a larger count cannot be real.
    if count > (len(data) - 4) // 8:
        reader.fail("entry count %d does not fit in %d bytes" % (count, len(data)))
    options = {}
    for index in range(count):
        key = reader.text("key %d" % index)
        value = reader.text("value of %r" % key)
        if key in options:
            reader.fail("key %r appears twice" % key)
        options[key] = value
    if reader.remaining():
        reader.fail("%d bytes left after %d entries" % (reader.remaining(), count))
    return options


def encode_cdc_extension(options):
    """The inverse of decode_cdc_extension (keys in std::map order): what ScyllaDB stores for options."""
    parts = [struct.pack("<I", len(options))]
    for key in sorted(options):
        for text in (key, options[key]):
            encoded = str(text).encode("utf-8")
            parts.append(struct.pack("<I", len(encoded)) + encoded)
    return b"".join(parts)


class _BlobReader:
    def __init__(self, data, where):
        self.data = data
        self.where = where
        self.offset = 0

    def remaining(self):
        return len(self.data) - self.offset

    def fail(self, detail):
        shown = self.data[:48].hex() + ("..." if len(self.data) > 48 else "")
        raise CqlModuleError(
            "%s is not ScyllaDB's cdc options encoding (little-endian uint32 entry count, then uint32-length-prefixed "
            "UTF-8 key and value per entry): %s (%d bytes: %s). Check that the server is ScyllaDB and report these "
            "bytes with its version" % (self.where, detail, len(self.data), shown or "empty")
        )

    def uint32(self, what):
        if self.remaining() < 4:
            self.fail("%s: need 4 bytes at offset %d, %d left" % (what, self.offset, self.remaining()))
        (value,) = struct.unpack_from("<I", self.data, self.offset)
        self.offset += 4
        return value

    def text(self, what):
        length = self.uint32("length of " + what)
        if length > self.remaining():
            self.fail("%s: length %d at offset %d, only %d bytes left" % (what, length, self.offset, self.remaining()))
        raw = self.data[self.offset : self.offset + length]
        self.offset += length
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            self.fail("%s is not UTF-8" % what)


def _bool_text(value, option):
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value).strip().lower()
    if text in _TRUE_TEXTS:
        return "true"
    if text in _FALSE_TEXTS:
        return "false"
    raise CqlModuleError("%s must be true or false (got %r)" % (option, value))


def preimage_text(value):
    """preimage as ScyllaDB stores it: 'false', 'true' (changed columns) or 'full' (the whole row)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value).strip().lower()
    if text == "full":
        return "full"
    try:
        return _bool_text(text, "preimage")
    except CqlModuleError:
        raise CqlModuleError(
            "preimage must be false, true (changed columns) or full (whole row), got %r" % value
        ) from None


def delta_text(value):
    text = str(value).strip().lower()
    if text not in ("full", "keys"):
        raise CqlModuleError("delta must be full or keys (got %r)" % value)
    return text


def ttl_text(value):
    try:
        number = int(str(value).strip())
    except ValueError:
        raise CqlModuleError("ttl must be a number of seconds (got %r)" % value) from None
    if not 0 <= number <= CDC_TTL_MAX:
        raise CqlModuleError(
            "ttl must be between 0 (log rows never expire) and %d seconds (got %d)" % (CDC_TTL_MAX, number)
        )
    return str(number)


_NORMALISERS = {
    "enabled": lambda value: _bool_text(value, "enabled"),
    "preimage": preimage_text,
    "postimage": lambda value: _bool_text(value, "postimage"),
    "delta": delta_text,
    "ttl": ttl_text,
}


def stored_cdc_options(stored):
    """The five managed options of a table, complete, from its decoded extension map.

    ScyllaDB stores a disabled table as an empty map (older releases) or with enabled=false; a
    missing key has ScyllaDB's default. Unknown keys (newer releases keep internal state there)
    are left out: they are not options one can set. A value this module cannot read falls back
    to the raw text, so a diff shows it rather than failing.
    """
    lowered = dict((str(key).lower(), str(value).lower()) for key, value in (stored or {}).items())
    options = {}
    for key in CDC_KEYS:
        value = lowered.get(key, CDC_DEFAULTS[key])
        try:
            options[key] = _NORMALISERS[key](value)
        except CqlModuleError:
            options[key] = value
    return options


def wanted_cdc_options(requested, current):
    """The complete option map to send: requested values over the current ones.

    requested: {key: value or None} (None = not given). An enabled table keeps its current values
    for keys not given (tuning one option changes only that one); a disabled table starts from
    ScyllaDB's defaults, as ScyllaDB itself would.
    """
    base = dict(current) if current.get("enabled") == "true" else dict(CDC_DEFAULTS)
    for key in CDC_KEYS:
        if requested.get(key) is not None:
            base[key] = _NORMALISERS[key](requested[key])
    return dict((key, base[key]) for key in CDC_KEYS)


def cdc_changed_keys(current, wanted):
    """Keys whose value differs; nothing when CDC is off and stays off (a disabled table keeps no options)."""
    if current.get("enabled") != "true" and wanted.get("enabled") != "true":
        return []
    return [key for key in CDC_KEYS if current.get(key) != wanted.get(key)]


def alter_cdc_statement(keyspace, table, options):
    """ALTER TABLE with the complete cdc map: a map without `enabled` would silently mean "disabled"."""
    missing = [key for key in CDC_KEYS if key not in options]
    if missing:
        raise CqlModuleError("internal error: cdc options without %s" % ", ".join(missing))
    pairs = ", ".join("%s: %s" % (string_literal(key), string_literal(options[key])) for key in CDC_KEYS)
    return "ALTER TABLE %s WITH cdc = {%s}" % (qualified_table(keyspace, table), pairs)


def parse_table_name(text):
    """'ks.table' -> (ks, table); either part may be "double-quoted" (case-sensitive names)."""
    raw = str(text or "").strip()
    match = re.match(r'^("(?:[^"]|"")+"|[^".]+)\.("(?:[^"]|"")+"|[^".]+)$', raw)
    if not match:
        raise CqlModuleError(
            "tables entry %r is not keyspace.table: give each table as keyspace.table (names as system_schema "
            'stores them; "double-quote" a part with upper case)' % text
        )
    return unquote_identifier(match.group(1)), unquote_identifier(match.group(2))


# --------------------------------------------------------------------------------------------
# Role grants
# --------------------------------------------------------------------------------------------

PERMISSIONS = tuple("CREATE ALTER DROP SELECT MODIFY AUTHORIZE DESCRIBE EXECUTE UNMASK SELECT_MASKED".split())
_DATA_PERMISSIONS = frozenset(("CREATE", "ALTER", "DROP", "SELECT", "MODIFY", "AUTHORIZE", "UNMASK", "SELECT_MASKED"))
# What each resource accepts (Cassandra's DataResource/RoleResource applicablePermissions;
# ScyllaDB's auth/resource.cc has the same sets, without the masking permissions).
APPLICABLE_PERMISSIONS = {
    "all_keyspaces": _DATA_PERMISSIONS,
    "keyspace": _DATA_PERMISSIONS,
    "table": _DATA_PERMISSIONS - frozenset(["CREATE"]),
    "all_roles": frozenset(("CREATE", "ALTER", "DROP", "AUTHORIZE", "DESCRIBE")),
    "role": frozenset(("ALTER", "DROP", "AUTHORIZE")),
}
RESOURCE_FORMS = "ALL KEYSPACES, KEYSPACE <ks>, TABLE <ks>.<table>, ALL ROLES or ROLE <name>"


def parse_declared_resource(text):
    """A resource as the module's users write it -> a tuple (kind, names...)."""
    raw = " ".join(str(text or "").split())
    upper = raw.upper()
    if upper == "ALL KEYSPACES":
        return ("all_keyspaces",)
    if upper == "ALL ROLES":
        return ("all_roles",)
    word, _space, rest = raw.partition(" ")
    word = word.upper()
    if word == "KEYSPACE" and rest and "." not in rest.strip('"'):
        return ("keyspace", unquote_identifier(rest))
    if word == "TABLE" and rest:
        keyspace, table = parse_table_name(rest)
        return ("table", keyspace, table)
    if word == "ROLE" and rest:
        name = rest.strip()
        if len(name) >= 2 and name[0] == name[-1] == "'":
            name = name[1:-1].replace("''", "'")
        return ("role", unquote_identifier(name))
    raise CqlModuleError("permission resource %r is not one of %s" % (text, RESOURCE_FORMS))


_LISTED_PATTERNS = (
    (re.compile(r"^<all keyspaces>$"), lambda m: ("all_keyspaces",)),
    (re.compile(r"^<keyspace (.+)>$"), lambda m: ("keyspace", m.group(1))),
    (re.compile(r"^<table ([^.]+)\.(.+)>$"), lambda m: ("table", m.group(1), m.group(2))),
    (re.compile(r"^<all roles>$"), lambda m: ("all_roles",)),
    (re.compile(r"^<role (.+)>$"), lambda m: ("role", m.group(1))),
    (re.compile(r"^<all functions>$"), lambda m: ("all_functions",)),
    (re.compile(r"^<all functions in (?:keyspace )?(.+)>$"), lambda m: ("all_functions_in_keyspace", m.group(1))),
    (re.compile(r"^<function (.+)>$"), lambda m: ("function", m.group(1))),
    (re.compile(r"^<all mbeans>$"), lambda m: ("all_mbeans",)),
    (re.compile(r"^<mbean (.+)>$"), lambda m: ("mbean", m.group(1))),
)


def parse_listed_resource(text):
    """A resource as LIST PERMISSIONS prints it ('<table ks.t>', ...) -> the same tuples; ("unknown", text) else."""
    raw = str(text or "").strip()
    for pattern, build in _LISTED_PATTERNS:
        match = pattern.match(raw)
        if match:
            return build(match)
    return ("unknown", raw)


# Readable (and, with quoted names, CQL) form of each resource kind.
_RESOURCE_TEMPLATES = {
    "all_keyspaces": "ALL KEYSPACES",
    "keyspace": "KEYSPACE {0}",
    "table": "TABLE {0}.{1}",
    "all_roles": "ALL ROLES",
    "role": "ROLE {0}",
    "all_functions": "ALL FUNCTIONS",
    "all_functions_in_keyspace": "ALL FUNCTIONS IN KEYSPACE {0}",
    "function": "FUNCTION {0}",
    "all_mbeans": "ALL MBEANS",
    "mbean": "MBEAN {0}",
}
# How each name of a resource is written in CQL; kinds missing here cannot be written by the module.
_CQL_NAME_QUOTING = {
    "all_keyspaces": (),
    "keyspace": (quote_identifier,),
    "table": (quote_identifier, quote_identifier),
    "all_roles": (),
    "role": (string_literal,),
    "all_functions": (),
    "all_functions_in_keyspace": (quote_identifier,),
    "all_mbeans": (),
    "mbean": (string_literal,),
}


def resource_text(resource):
    """The readable form used in results and diffs: 'TABLE ks.t'."""
    template = _RESOURCE_TEMPLATES.get(resource[0])
    return template.format(*resource[1:]) if template else str(resource[-1])


def resource_cql(resource):
    """The resource in CQL (quoted names), or None when the module cannot write it (a function signature, ...)."""
    quoting = _CQL_NAME_QUOTING.get(resource[0])
    if quoting is None:
        return None
    names = [quote(name) for quote, name in zip(quoting, resource[1:], strict=True)]
    return _RESOURCE_TEMPLATES[resource[0]].format(*names)


def normalize_permission(value):
    text = str(value or "").strip().upper().replace(" ", "_")
    if text in ("ALL", "ALL_PERMISSIONS"):
        raise CqlModuleError(
            "permission %s is not accepted: list the permissions the role needs one by one (least privilege), "
            "for example SELECT" % value
        )
    if text not in PERMISSIONS:
        raise CqlModuleError("permission %r is not one of %s" % (value, ", ".join(PERMISSIONS)))
    return text


def normalize_grant(entry):
    """One declared grant {permission, resource} -> (PERMISSION, resource tuple), checked for applicability."""
    if not isinstance(entry, dict) or not entry.get("permission") or not entry.get("resource"):
        raise CqlModuleError(
            "permissions entry %r needs permission and resource, e.g. {permission: SELECT, resource: TABLE ks.t}"
            % (entry,)
        )
    permission = normalize_permission(entry["permission"])
    resource = parse_declared_resource(entry["resource"])
    if permission not in APPLICABLE_PERMISSIONS[resource[0]]:
        raise CqlModuleError(
            "permission %s does not apply to %s (it takes %s)"
            % (permission, resource_text(resource), ", ".join(sorted(APPLICABLE_PERMISSIONS[resource[0]])))
        )
    return permission, resource


def grant_text(grant):
    return "%s ON %s" % (grant[0], resource_text(grant[1]))


def sort_grants(grants):
    return sorted(set(grants), key=lambda grant: (resource_text(grant[1]), grant[0]))


def plan_grants(wanted, current, exclusive):
    """(to_grant, to_revoke): what is missing, and with exclusive what is granted but not wanted."""
    wanted_set, current_set = set(wanted), set(current)
    to_grant = sort_grants(wanted_set - current_set)
    to_revoke = sort_grants(current_set - wanted_set) if exclusive else []
    return to_grant, to_revoke


def grant_statement(grant, role):
    return Statement("GRANT %s ON %s TO %s" % (grant[0], resource_cql(grant[1]), string_literal(role)))


def revoke_statement(grant, role):
    cql = resource_cql(grant[1])
    if cql is None:
        raise CqlModuleError(
            "role %s holds %s, which this module cannot revoke (it does not know how to write that resource in "
            "CQL): revoke it by hand, or run with exclusive=false" % (role, grant_text(grant))
        )
    return Statement("REVOKE %s ON %s FROM %s" % (grant[0], cql, string_literal(role)))
