"""Pure logic of the CQL modules: the cdc extension codec, CDC option normalisation, CQL quoting and
statements, grant parsing and plans, connection settings and failure wording."""
# ruff: noqa: S105, S106 - fake passwords and password-named options are what these tests follow

from __future__ import annotations

import importlib
import ssl
import struct
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit


# ansible_collections.cdc.pipeline is importable: tests/unit/conftest.py puts it on sys.path.

from ansible_collections.cdc.pipeline.plugins.module_utils import cql  # noqa: E402
from ansible_collections.cdc.pipeline.plugins.module_utils import scylla_cdc_options as cdc_options  # noqa: E402

from tests.tools.scylla_cdc_standin import encode_cdc_extension  # noqa: E402  (what ScyllaDB stores)

scylla_cdc, scylla_role = (
    importlib.import_module("ansible_collections.cdc.pipeline.plugins.modules." + name)
    for name in ("scylla_cdc", "scylla_role")
)


def params(**overrides) -> dict:
    base = {
        "login_hosts": ["10.0.0.31", "10.0.0.32"],
        "login_port": 9142,
        "login_user": "cdc_admin",
        "login_password": "admin-secret",
        "ssl": True,
        "validate_certs": True,
        "ca_cert": None,
        "client_cert": None,
        "client_key": None,
        "connect_timeout": 10,
    }
    base.update(overrides)
    return base


# -- the cdc extension blob -----------------------------------------------------------------------
# Vectors are built by hand from ScyllaDB's format (serializer.hh / serializer_impl.hh: a
# little-endian uint32 count, then uint32 length + bytes for each key and value), not with the
# module's own encoder.


def u32(value: int) -> bytes:
    return struct.pack("<I", value)


def entry(key: str, value: str) -> bytes:
    return u32(len(key.encode())) + key.encode() + u32(len(value.encode())) + value.encode()


ENABLED_ONLY = bytes.fromhex("01000000" + "07000000") + b"enabled" + bytes.fromhex("04000000") + b"true"

FULL_MAP = (
    u32(5)
    + entry("delta", "full")
    + entry("enabled", "true")
    + entry("postimage", "true")
    + entry("preimage", "full")
    + entry("ttl", "86400")
)


def test_decode_a_literal_vector_byte_for_byte() -> None:
    assert cdc_options.decode_cdc_extension(ENABLED_ONLY) == {"enabled": "true"}


def test_decode_the_complete_map_scylladb_stores_for_an_enabled_table() -> None:
    assert cdc_options.decode_cdc_extension(FULL_MAP) == {
        "delta": "full",
        "enabled": "true",
        "postimage": "true",
        "preimage": "full",
        "ttl": "86400",
    }


def test_decode_an_empty_map_and_a_missing_extension() -> None:
    assert cdc_options.decode_cdc_extension(u32(0)) == {}
    assert cdc_options.decode_cdc_extension(None) == {}


def test_decode_keeps_unknown_keys_and_utf8() -> None:
    blob = u32(2) + entry("enabled", "true") + entry("zukünftig", "ä")
    assert cdc_options.decode_cdc_extension(blob) == {"enabled": "true", "zukünftig": "ä"}


def test_encode_is_the_inverse_and_matches_the_hand_built_vector() -> None:
    options = {"enabled": "true", "preimage": "full", "postimage": "true", "delta": "full", "ttl": "86400"}
    assert encode_cdc_extension(options) == FULL_MAP
    assert encode_cdc_extension({"enabled": "true"}) == ENABLED_ONLY
    assert cdc_options.decode_cdc_extension(encode_cdc_extension(options)) == options


@pytest.mark.parametrize(
    ("blob", "detail"),
    [
        (b"", "entry count: need 4 bytes"),
        (b"\x01\x00\x00", "entry count: need 4 bytes"),
        (u32(3) + entry("enabled", "true"), "does not fit"),
        (u32(1) + u32(50) + b"enabled", "length 50"),
        (u32(1) + entry("enabled", "true") + b"\x00", "1 bytes left after 1 entries"),
        (u32(1) + u32(2) + b"\xff\xfe" + u32(4) + b"true", "is not UTF-8"),
        (u32(2) + entry("ttl", "1") + entry("ttl", "2"), "appears twice"),
        # the same map written big-endian (the network order CQL itself uses) is refused, not misread
        (struct.pack(">I", 1) + struct.pack(">I", 7) + b"enabled" + struct.pack(">I", 4) + b"true", "does not fit"),
    ],
)
def test_malformed_blobs_are_refused_with_the_format_and_the_bytes(blob: bytes, detail: str) -> None:
    with pytest.raises(cql.CqlModuleError) as caught:
        cdc_options.decode_cdc_extension(blob, where="extensions['cdc'] of shop.orders")
    message = str(caught.value)
    assert detail in message
    assert "extensions['cdc'] of shop.orders" in message
    assert "little-endian uint32 entry count" in message
    assert (blob[:48].hex() or "empty") in message


# -- CDC options --------------------------------------------------------------------------------------


def test_stored_options_of_a_disabled_table_are_scylladbs_defaults() -> None:
    assert cdc_options.stored_cdc_options({}) == cdc_options.CDC_DEFAULTS
    assert cdc_options.stored_cdc_options({"enabled": "false", "ttl": "5"})["enabled"] == "false"


def test_stored_options_are_normalised_and_unknown_keys_dropped() -> None:
    stored = {"Enabled": "TRUE", "preimage": "on", "postimage": "1", "ttl": "600", "tablet_merge_blocked": "true"}
    assert cdc_options.stored_cdc_options(stored) == {
        "enabled": "true",
        "preimage": "true",
        "postimage": "true",
        "delta": "full",
        "ttl": "600",
    }


def test_wanted_options_on_a_disabled_table_start_from_the_defaults() -> None:
    current = cdc_options.stored_cdc_options({})
    wanted = cdc_options.wanted_cdc_options({"enabled": True, "postimage": True}, current)
    assert wanted == {"enabled": "true", "preimage": "false", "postimage": "true", "delta": "full", "ttl": "86400"}
    assert cdc_options.cdc_changed_keys(current, wanted) == ["enabled", "postimage"]


def test_tuning_one_option_keeps_the_others() -> None:
    current = cdc_options.stored_cdc_options(
        {"enabled": "true", "preimage": "full", "postimage": "true", "ttl": "3600"}
    )
    wanted = cdc_options.wanted_cdc_options({"enabled": True, "ttl": 7200}, current)
    assert wanted == dict(current, ttl="7200")
    assert cdc_options.cdc_changed_keys(current, wanted) == ["ttl"]


def test_disabled_stays_disabled_whatever_the_other_options() -> None:
    current = cdc_options.stored_cdc_options({})
    wanted = cdc_options.wanted_cdc_options({"enabled": False, "postimage": True, "ttl": 5}, current)
    assert cdc_options.cdc_changed_keys(current, wanted) == []


def test_disabling_an_enabled_table_changes_enabled() -> None:
    current = cdc_options.stored_cdc_options({"enabled": "true", "postimage": "true"})
    wanted = cdc_options.wanted_cdc_options({"enabled": False}, current)
    assert cdc_options.cdc_changed_keys(current, wanted) == ["enabled"]
    assert wanted["postimage"] == "true"


@pytest.mark.parametrize(
    ("value", "expected"),
    [(False, "false"), (True, "true"), ("full", "full"), ("FULL", "full"), ("yes", "true"), ("off", "false")],
)
def test_preimage_values(value, expected: str) -> None:
    assert cdc_options.preimage_text(value) == expected


@pytest.mark.parametrize(
    ("requested", "message"),
    [
        ({"preimage": "changed"}, "preimage must be false, true (changed columns) or full"),
        ({"delta": "all"}, "delta must be full or keys"),
        ({"ttl": -1}, "ttl must be between 0"),
        ({"ttl": 2**31}, "ttl must be between 0"),
        ({"ttl": "a day"}, "ttl must be a number of seconds"),
        ({"postimage": "maybe"}, "postimage must be true or false"),
    ],
)
def test_bad_option_values_are_refused(requested: dict, message: str) -> None:
    with pytest.raises(cql.CqlModuleError, match=message.replace("(", r"\(").replace(")", r"\)")):
        cdc_options.wanted_cdc_options(dict(requested, enabled=True), cdc_options.CDC_DEFAULTS)


def test_alter_statement_carries_the_complete_map_in_a_fixed_order() -> None:
    options = {"ttl": "600", "delta": "keys", "postimage": "true", "preimage": "full", "enabled": "true"}
    assert cdc_options.alter_cdc_statement("shop", "orders", options) == (
        "ALTER TABLE shop.orders WITH cdc = {'enabled': 'true', 'preimage': 'full', 'postimage': 'true', "
        "'delta': 'keys', 'ttl': '600'}"
    )
    with pytest.raises(cql.CqlModuleError, match="without enabled"):
        cdc_options.alter_cdc_statement(
            "shop", "orders", {key: "x" for key in cdc_options.CDC_KEYS if key != "enabled"}
        )


# -- quoting ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "quoted"),
    [
        ("orders", "orders"),
        ("order_lines2", "order_lines2"),
        ("Orders", '"Orders"'),
        ("select", '"select"'),
        ("table", '"table"'),
        ("2fa", '"2fa"'),
        ('we"ird', '"we""ird"'),
        ("with space", '"with space"'),
    ],
)
def test_quote_identifier(name: str, quoted: str) -> None:
    assert cql.quote_identifier(name) == quoted
    assert cql.unquote_identifier(quoted) == name


def test_string_literal_doubles_quotes() -> None:
    assert cql.string_literal("it's") == "'it''s'"


def test_statement_for_case_sensitive_names() -> None:
    assert cdc_options.alter_cdc_statement("Shop", "order", cdc_options.CDC_DEFAULTS).startswith(
        'ALTER TABLE "Shop"."order" WITH'
    )


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("shop.orders", ("shop", "orders")),
        ('"Shop"."Orders"', ("Shop", "Orders")),
        (' shop."Big_1" ', ("shop", "Big_1")),
    ],
)
def test_parse_table_name(text: str, parsed: tuple) -> None:
    assert cql.parse_table_name(text) == parsed


@pytest.mark.parametrize("text", ["orders", "a.b.c", ".orders", "shop.", "", None])
def test_parse_table_name_refuses_what_is_not_keyspace_dot_table(text) -> None:
    with pytest.raises(cql.CqlModuleError, match="is not keyspace.table"):
        cql.parse_table_name(text)


@pytest.mark.parametrize(
    "text", ['shop."a.b"', "shop.a b", "shop.t\u00e5ble", "shop.a;DROP", "k" * 49 + ".t", "shop." + "t" * 223]
)
def test_parse_table_name_refuses_names_cql_does_not_allow(text) -> None:
    with pytest.raises(cql.CqlModuleError, match="^tables entry .*(CQL does not allow|more than CQL allows)"):
        cql.parse_table_name(text)


# -- grants ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "resource"),
    [
        ("ALL KEYSPACES", ("all_keyspaces",)),
        ("all  keyspaces", ("all_keyspaces",)),
        ("KEYSPACE shop", ("keyspace", "shop")),
        ('keyspace "Shop"', ("keyspace", "Shop")),
        ("TABLE shop.orders", ("table", "shop", "orders")),
        (
            "TABLE system_distributed.cdc_streams_descriptions_v2",
            ("table", "system_distributed", "cdc_streams_descriptions_v2"),
        ),
        ("ALL ROLES", ("all_roles",)),
        ("ROLE cdc_reader", ("role", "cdc_reader")),
        ("ROLE 'It''s'", ("role", "It's")),
    ],
)
def test_declared_resources(text: str, resource: tuple) -> None:
    assert scylla_role.parse_declared_resource(text) == resource


@pytest.mark.parametrize("text", ["TABLES shop", "KEYSPACE", "TABLE orders", "FUNCTION ks.f(int)", ""])
def test_declared_resources_refuse_other_forms(text: str) -> None:
    with pytest.raises(cql.CqlModuleError):
        scylla_role.parse_declared_resource(text)


@pytest.mark.parametrize(
    ("listed", "resource", "cql_text"),
    [
        ("<all keyspaces>", ("all_keyspaces",), "ALL KEYSPACES"),
        ("<keyspace shop>", ("keyspace", "shop"), "KEYSPACE shop"),
        ("<table shop.Orders>", ("table", "shop", "Orders"), 'TABLE shop."Orders"'),
        ("<all roles>", ("all_roles",), "ALL ROLES"),
        ("<role cdc_reader>", ("role", "cdc_reader"), "ROLE 'cdc_reader'"),
        ("<all functions>", ("all_functions",), "ALL FUNCTIONS"),
        ("<all functions in shop>", ("all_functions_in_keyspace", "shop"), "ALL FUNCTIONS IN KEYSPACE shop"),
        ("<function shop.f(int)>", ("function", "shop.f(int)"), None),
        ("<mbean org.apache:type=X>", ("mbean", "org.apache:type=X"), "MBEAN 'org.apache:type=X'"),
        ("<something new>", ("unknown", "<something new>"), None),
    ],
)
def test_listed_resources_as_list_permissions_prints_them(listed: str, resource: tuple, cql_text) -> None:
    assert scylla_role.parse_listed_resource(listed) == resource
    assert scylla_role.resource_cql(resource) == cql_text


def test_declared_and_listed_forms_meet() -> None:
    declared = scylla_role.normalize_grant({"permission": "select", "resource": "TABLE shop.orders"})
    listed = ("SELECT", scylla_role.parse_listed_resource("<table shop.orders>"))
    assert declared == listed
    assert scylla_role.grant_text(declared) == "SELECT ON TABLE shop.orders"


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"permission": "ALL", "resource": "KEYSPACE shop"}, "least privilege"),
        ({"permission": "READ", "resource": "KEYSPACE shop"}, "is not one of"),
        ({"permission": "CREATE", "resource": "TABLE shop.orders"}, "does not apply to TABLE shop.orders"),
        ({"permission": "DESCRIBE", "resource": "KEYSPACE shop"}, "does not apply"),
        ({"permission": "SELECT", "resource": "ROLE x"}, "does not apply"),
        ({"permission": "SELECT"}, "needs permission and resource"),
    ],
)
def test_grants_are_checked_before_use(entry: dict, message: str) -> None:
    with pytest.raises(cql.CqlModuleError, match=message):
        scylla_role.normalize_grant(entry)


def grant(permission: str, resource: str) -> tuple:
    return scylla_role.normalize_grant({"permission": permission, "resource": resource})


def test_plan_grants_exclusive_and_additive() -> None:
    wanted = [grant("SELECT", "TABLE shop.orders"), grant("SELECT", "KEYSPACE shop")]
    current = [grant("SELECT", "TABLE shop.orders"), grant("MODIFY", "TABLE shop.orders")]
    to_grant, to_revoke = scylla_role.plan_grants(wanted, current, exclusive=True)
    assert [scylla_role.grant_text(g) for g in to_grant] == ["SELECT ON KEYSPACE shop"]
    assert [scylla_role.grant_text(g) for g in to_revoke] == ["MODIFY ON TABLE shop.orders"]
    assert scylla_role.plan_grants(wanted, current, exclusive=False)[1] == []
    assert scylla_role.plan_grants(current, current, exclusive=True) == ([], [])


def test_grant_and_revoke_statements() -> None:
    select = grant("SELECT", 'TABLE "Shop".orders')
    assert scylla_role.grant_statement(select, "o'brien").text == "GRANT SELECT ON TABLE \"Shop\".orders TO 'o''brien'"
    assert scylla_role.revoke_statement(select, "r").text == "REVOKE SELECT ON TABLE \"Shop\".orders FROM 'r'"
    with pytest.raises(cql.CqlModuleError, match="cannot revoke"):
        scylla_role.revoke_statement(("EXECUTE", ("function", "shop.f(int)")), "r")


# -- server flavour -------------------------------------------------------------------------------


def test_flavour_from_the_system_tables() -> None:
    cassandra_tables = ["local", "peers", "peers_v2", "paxos", "size_estimates"]
    scylla_tables = [*cassandra_tables, "scylla_local", "scylla_views_builds_in_progress"]
    assert cql.describe_flavour(cassandra_tables, "5.0.9")["product"] == "cassandra"
    scylla = cql.describe_flavour(scylla_tables, "3.0.8", "2025.1.4")
    assert scylla == {"product": "scylladb", "release_version": "3.0.8", "version": "2025.1.4"}


def test_not_scylla_message_names_the_server_and_the_fix() -> None:
    message = scylla_cdc.not_scylla_message({"release_version": "5.0.9"}, params())
    assert "not a ScyllaDB server" in message and "Apache Cassandra 5.0.9" in message
    assert "point login_hosts at the ScyllaDB nodes" in message


# -- connection settings and failures -------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"login_hosts": []}, "login_hosts is empty"),
        ({"login_hosts": ["10.0.0.31:9142"]}, "has a port"),
        ({"login_port": 0}, "is not a TCP port"),
        ({"connect_timeout": 0}, "at least 1"),
        ({"login_user": None}, "login_user is not"),
        ({"ca_cert": "/nonexistent/ca.pem"}, "does not exist on the controller"),
        ({"client_cert": "/nonexistent/c.pem"}, "go together"),
    ],
)
def test_connection_settings_are_refused_before_connecting(overrides: dict, message: str) -> None:
    with pytest.raises(cql.CqlModuleError, match=message):
        cql.validate_connection_params(params(**overrides))


def test_ipv6_hosts_are_not_mistaken_for_host_port() -> None:
    assert cql.validate_connection_params(params(login_hosts=["fd00::31", " 10.0.0.32 "])) == ["fd00::31", "10.0.0.32"]


def test_connection_warnings() -> None:
    assert any("clear text" in w for w in cql.connection_warnings(params(ssl=False)))
    assert any("not checked" in w for w in cql.connection_warnings(params(validate_certs=False)))
    assert cql.connection_warnings(params()) == []


def test_ssl_context_checks_certificates_unless_told_not_to(tmp_path: Path) -> None:
    strict = cql.build_ssl_context(params())
    assert strict.verify_mode == ssl.CERT_REQUIRED and strict.check_hostname
    assert strict.minimum_version == ssl.TLSVersion.TLSv1_2
    loose = cql.build_ssl_context(params(validate_certs=False))
    assert loose.verify_mode == ssl.CERT_NONE and not loose.check_hostname
    not_pem = tmp_path / "ca.pem"
    not_pem.write_text("not a certificate")
    with pytest.raises(cql.CqlModuleError, match="is not a PEM CA certificate"):
        cql.build_ssl_context(params(ca_cert=str(not_pem)))


def auth_failed():
    from cassandra import AuthenticationFailed

    return AuthenticationFailed(
        'Failed to authenticate to 127.0.0.1:9142: Error from server: code=0100 [Bad credentials] message="Provided '
        'username cdc_admin and/or password are incorrect"'
    )


# Error texts as cassandra-driver 3.30 reported them against Cassandra 5.0.9 on this machine.
WRONG_VERSION = PermissionError(
    "[Errno 1] Tried connecting to [('127.0.0.1', 19042)]. Last error: [SSL: WRONG_VERSION_NUMBER] wrong version "
    "number (_ssl.c:1006)"
)
VERIFY_FAILED = PermissionError(
    "[Errno 1] Tried connecting to [('127.0.0.1', 51981)]. Last error: [SSL: CERTIFICATE_VERIFY_FAILED] certificate "
    "verify failed: self-signed certificate in certificate chain (_ssl.c:1006)"
)
REFUSED = ConnectionRefusedError(
    "[Errno 111] Tried connecting to [('127.0.0.1', 19999)]. Last error: Connection refused"
)
RESET = ConnectionResetError("[Errno 104] Connection reset by peer")


@pytest.mark.parametrize(
    ("error", "uses_tls", "kind", "words"),
    [
        (auth_failed(), True, cql.AUTH, "refused the login of role 'cdc_admin'"),
        (WRONG_VERSION, True, cql.PROTOCOL, "do not speak TLS on that port"),
        (VERIFY_FAILED, True, cql.TLS, "Set ca_cert to the PEM CA"),
        (REFUSED, True, cql.UNREACHABLE, "cannot reach any CQL node"),
        (REFUSED, False, cql.UNREACHABLE, "cannot reach any CQL node"),
        (RESET, False, cql.PROTOCOL, "that port expects TLS, set ssl=true"),
    ],
)
def test_connection_failures_are_classified_and_worded(error, uses_tls: bool, kind: str, words: str) -> None:
    found, detail = cql.classify_connection_errors({"127.0.0.1:9142": error}, uses_tls)
    assert found == kind
    message = cql.connection_failure_message(found, detail, params(ssl=uses_tls), "cdc_admin")
    assert words in message
    assert "10.0.0.31, 10.0.0.32 port 9142" in message


def test_a_refused_login_outranks_an_unreachable_node() -> None:
    kind, detail = cql.classify_connection_errors({"10.0.0.31": REFUSED, "10.0.0.32": auth_failed()}, True)
    assert kind == cql.AUTH and "10.0.0.32" in detail


def test_no_login_user_against_an_authenticating_server() -> None:
    message = cql.connection_failure_message(cql.AUTH, "requires authentication", params(login_user=None), None)
    assert "set login_user and login_password" in message


def test_operation_errors_are_worded_with_their_fix() -> None:
    from cassandra import OperationTimedOut, Unauthorized
    from cassandra.protocol import InvalidRequest

    denied = cql.operation_error(Unauthorized("User r has no SELECT permission"), "read x", "r")
    assert denied.kind == "unauthorized" and "role 'r' may not read x" in str(denied)
    assert "superuser" in str(denied)
    timeout = cql.operation_error(OperationTimedOut("timed out"), "read x", "r")
    assert timeout.kind == "timeout" and "nodetool status" in str(timeout)
    invalid = cql.operation_error(InvalidRequest("unconfigured table scylla_keyspaces"), "read y", "r")
    assert invalid.kind == "invalid" and "unconfigured table scylla_keyspaces" in str(invalid)


class RecordingClient:
    def __init__(self, fail_on: str | None = None):
        self.fail_on = fail_on
        self.executed: list[str] = []

    def execute(self, statement: str, what: str) -> None:
        if self.fail_on and self.fail_on in statement:
            raise cql.CqlModuleError("the server refused to %s: boom" % what, kind="invalid")
        self.executed.append(statement)


def test_apply_statements_names_what_was_applied_before_a_failure() -> None:
    statements = [
        cql.Statement("CREATE ROLE 'r' WITH PASSWORD = 'secret'", "CREATE ROLE 'r' WITH PASSWORD = '********'"),
        cql.Statement("GRANT SELECT ON KEYSPACE shop TO 'r'"),
    ]
    client = RecordingClient(fail_on="GRANT")
    with pytest.raises(cql.CqlModuleError) as caught:
        cql.apply_statements(client, statements)
    message = str(caught.value)
    assert "Applied before the failure: CREATE ROLE 'r' WITH PASSWORD = '********'" in message
    assert "secret" not in message


def test_a_server_refusal_keeps_the_servers_words() -> None:
    from cassandra.protocol import OverloadedErrorMessage

    # what Cassandra 5 answers to a second password change of a role within 5 s (seen live)
    refusal = OverloadedErrorMessage(1001, "Password for role loader can only be changed every 5000ms.", None)
    error = cql.operation_error(refusal, "alter role loader", "admin")
    assert str(error) == (
        "the server refused to alter role loader: Password for role loader can only be changed every 5000ms."
    )


def test_a_missing_driver_is_reported_with_the_pip_package(monkeypatch) -> None:
    class FailingModule:
        def fail_json(self, **kwargs):
            raise SystemExit(kwargs["msg"])

    monkeypatch.setattr(cql, "HAS_CQL_DRIVER", False)
    with pytest.raises(SystemExit, match="cassandra-driver"):
        cql.require_driver(FailingModule())
