"""Hostile input for the OpenBao (vault_*) and CQL (scylla_*) modules, without a server.

Each test here failed on the code before the all-or-nothing work: the keys file of vault_init proven
writable only after the cluster was initialised, a PEM bundle whose key belongs to another CA written
before it failed, an intermediate key left behind by a failed signing, paths that HTTP reads as
something else, CQL names checked only after connecting, and a role reported as "nothing applied"
when the server had created it. The modules' main() also run here in-process with arguments that
fail Ansible's own type validation: no secret may appear anywhere in what they print.
The same classes run against the real OpenBao and Cassandra in tests/integration.
"""
# ruff: noqa: S105, S106 - fake secrets and secret-named options are what these tests follow

from __future__ import annotations

import contextlib
import datetime
import importlib
import json
import os
import re
import resource
import signal
import socket
from types import SimpleNamespace

import pytest

pytest.importorskip("hvac")
cryptography = pytest.importorskip("cryptography")

from ansible.module_utils.testing import patch_module_args  # noqa: E402
from ansible_collections.cdc.pipeline.plugins.module_utils import cql  # noqa: E402
from ansible_collections.cdc.pipeline.plugins.module_utils import vault as vu  # noqa: E402


def plugin(name):
    return importlib.import_module("ansible_collections.cdc.pipeline.plugins.modules." + name)


vault_init, vault_mount, vault_object, vault_pki_ca = (
    plugin(name) for name in ("vault_init", "vault_mount", "vault_object", "vault_pki_ca")
)
scylla_cdc, scylla_role = plugin("scylla_cdc"), plugin("scylla_role")

pytestmark = pytest.mark.unit


def module(check_mode=False, **params):
    return SimpleNamespace(params=params, check_mode=check_mode)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class FakeVault:
    """Answers GETs from a dict; records every other request; fail_on: {(method, path prefix): VaultError}."""

    url = "https://vault.test:8200"
    timeout = 5

    def __init__(self, objects=None, answers=None, fail_on=None):
        self.objects = objects or {}
        self.answers = answers or {}
        self.fail_on = fail_on or {}
        self.calls = []

    def preflight(self, **kwargs):
        self.calls.append(("PREFLIGHT", ""))
        return {}

    def read(self, path, params=None):
        return self.request("GET", path, params=params)

    def request(self, method, path, data=None, params=None):
        self.calls.append((method, path))
        for (fail_method, prefix), error in self.fail_on.items():
            if method == fail_method and path.startswith(prefix):
                raise error
        if method == "GET":
            return self.objects.get(path)
        return self.answers.get((method, path), {})

    def write(self, path, data):
        return self.request("POST", path, data)

    def delete(self, path):
        return self.request("DELETE", path)

    @property
    def writes(self):
        return [call for call in self.calls if call[0] in ("POST", "PUT", "DELETE")]


# -- vault_init: the keys file is proven writable before the cluster is initialised ------------------


INIT_ANSWER = {"keys": ["aa" * 33] * 3, "keys_base64": ["QUFB" * 11] * 3, "root_token": "s.root-token-of-the-test"}


def init_params(keys_file, **overrides):
    params = {
        "keys_file": str(keys_file),
        "secret_shares": 3,
        "secret_threshold": 2,
        "pgp_keys": None,
        "root_token_pgp_key": None,
    }
    params.update(overrides)
    return params


def init_vault(**kwargs):
    return FakeVault({"sys/init": {"initialized": False}}, answers={("PUT", "sys/init"): INIT_ANSWER}, **kwargs)


@contextlib.contextmanager
def file_size_limit(size):
    """Writes beyond size bytes fail with EFBIG, as on a full disk (SIGXFSZ ignored meanwhile)."""
    previous_handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    previous = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, previous[1]))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, previous)
        signal.signal(signal.SIGXFSZ, previous_handler)


def test_init_with_no_room_for_the_keys_refuses_before_initialising(tmp_path):
    vault = init_vault()
    with file_size_limit(300), pytest.raises(vu.VaultError) as caught:
        vault_init.run(module(**init_params(tmp_path / "init.json")), vault)
    assert ("PUT", "sys/init") not in vault.calls
    assert "nothing was initialised" in str(caught.value) and "keys_file" in str(caught.value)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("case", ["name-too-long", "dangling-symlink", "fifo"])
def test_init_with_an_unwritable_keys_file_refuses_before_initialising(tmp_path, case):
    keys_file = tmp_path / "init.json"
    if case == "name-too-long":
        keys_file = tmp_path / ("k" * 251 + ".json")  # one more than the file system takes
    elif case == "dangling-symlink":
        keys_file.symlink_to(tmp_path / "elsewhere" / "init.json")
    else:
        os.mkfifo(keys_file)
    vault = init_vault()
    with pytest.raises(vu.VaultError, match="keys_file"):
        vault_init.run(module(**init_params(keys_file)), vault)
    assert ("PUT", "sys/init") not in vault.calls


@pytest.mark.parametrize("name", ["init.json", "k" * 250 + ".json"], ids=["plain", "longest-name"])
def test_init_writes_the_keys_file_whole_and_leaves_no_reservation(tmp_path, name):
    vault = init_vault()
    result = vault_init.run(module(**init_params(tmp_path / name)), vault)
    assert result["changed"] and ("PUT", "sys/init") in vault.calls
    assert [p.name for p in tmp_path.iterdir()] == [name]
    assert json.loads((tmp_path / name).read_text())["root_token"] == INIT_ANSWER["root_token"]
    assert oct((tmp_path / name).stat().st_mode & 0o777) == "0o600"


def test_a_refused_init_removes_the_reservation(tmp_path):
    vault = init_vault(fail_on={("PUT", "sys/init"): vu.VaultError("Vault rejected PUT sys/init")})
    with pytest.raises(vu.VaultError, match="rejected"):
        vault_init.run(module(**init_params(tmp_path / "init.json")), vault)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("shares", "threshold"), [(256, 2), (0, 0), (-1, 1)])
def test_init_share_counts_out_of_range_are_refused_before_any_request(tmp_path, shares, threshold):
    vault = init_vault()
    with pytest.raises(vu.VaultError, match="secret_(shares|threshold)"):
        vault_init.run(
            module(**init_params(tmp_path / "i.json", secret_shares=shares, secret_threshold=threshold)), vault
        )
    assert vault.calls == []


# -- vault_pki_ca: the bundle is validated whole, and a failed signing leaves nothing behind ----------


def make_ca(name, issuer=None):
    """(certificate, key) of a CA; self-signed unless issuer=(cert, key)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    issuer_cert, issuer_key = issuer if issuer else (None, key)
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_cert.subject if issuer_cert else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(issuer_key, hashes.SHA256())
    )
    return cert, key


def pem(cert=None, key=None, password=None):
    from cryptography.hazmat.primitives import serialization

    out = ""
    if cert is not None:
        out += cert.public_bytes(serialization.Encoding.PEM).decode()
    if key is not None:
        encryption = serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
        out += key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption).decode()
    return out


def pki_params(**overrides):
    params = {
        "root_mount": "pki_root",
        "root_common_name": None,
        "root_ttl": "87600h",
        "root_pem_bundle": None,
        "root_signer_cert": None,
        "root_signer_key": None,
        "intermediate_mount": "pki_int",
        "intermediate_common_name": "CDC Intermediate",
        "intermediate_ttl": "43800h",
        "key_type": "ec",
        "key_bits": None,
        "organization": None,
        "urls_base": None,
        "renew_before": "8760h",
    }
    params.update(overrides)
    return params


def pki_vault(root_pem=None, **kwargs):
    mounts = {"data": {"pki_root/": {"type": "pki"}, "pki_int/": {"type": "pki"}}}
    tune = {"data": {"max_lease_ttl": 10**9}}
    objects = {
        "sys/mounts": mounts,
        "sys/mounts/pki_root/tune": tune,
        "sys/mounts/pki_int/tune": tune,
        "pki_root/ca/pem": {"_raw": root_pem} if root_pem else None,
        "pki_root/issuer/default": {"data": {"key_id": "root-key"}},
    }
    return FakeVault(objects, **kwargs)


ROOT, ROOT_KEY = make_ca("CDC Root")
OTHER, OTHER_KEY = make_ca("Another Root")


@pytest.mark.parametrize(
    ("bundle", "message"),
    [
        (pem(ROOT) + pem(key=OTHER_KEY), "is not the key of its certificate"),
        (pem(ROOT, ROOT_KEY, password=b"pass-phrase"), "is encrypted"),
        (pem(ROOT) + pem(key=ROOT_KEY) + pem(key=OTHER_KEY), "exactly one private key"),
        (pem(ROOT, ROOT_KEY) + pem(OTHER), "not a chain"),
        (pem(make_ca("Signed", issuer=(OTHER, OTHER_KEY))[0]) + pem(key=ROOT_KEY), "is not the key"),
        ("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n" + pem(key=ROOT_KEY), "does not parse"),
        (pem(key=ROOT_KEY), "holds no PEM certificate"),
    ],
    ids=["key-of-another-ca", "encrypted-key", "two-keys", "broken-chain", "signed-not-self", "garbage", "key-only"],
)
def test_a_bad_root_bundle_is_refused_before_any_request(bundle, message):
    vault = pki_vault()
    with pytest.raises(vu.VaultError, match=message) as caught:
        vault_pki_ca.run(module(**pki_params(root_pem_bundle=bundle)), vault)
    assert "root_pem_bundle" in str(caught.value)
    assert vault.calls == []


def test_a_lone_certificate_must_be_a_self_signed_root():
    signed, signed_key = make_ca("Signed", issuer=(OTHER, OTHER_KEY))
    with pytest.raises(vu.VaultError, match="not self-signed"):
        vault_pki_ca.split_bundle(pem(signed, signed_key))
    assert vault_pki_ca.split_bundle(pem(ROOT, ROOT_KEY)) == ROOT


def test_a_failed_signing_removes_the_new_intermediate_key():
    vault = pki_vault(
        root_pem=pem(ROOT),
        answers={("POST", "pki_int/intermediate/generate/internal"): {"data": {"csr": "CSR", "key_id": "new-key"}}},
        fail_on={("POST", "pki_root/root/sign-intermediate"): vu.VaultError("Vault rejected the CSR")},
    )
    with pytest.raises(vu.VaultError, match="rejected the CSR; rolled back .*key new-key in pki_int"):
        vault_pki_ca.run(module(**pki_params()), vault)
    assert vault.writes[-1] == ("DELETE", "pki_int/key/new-key")


def test_a_root_generated_by_a_failing_run_is_removed_again():
    vault = pki_vault(
        answers={
            ("POST", "pki_root/root/generate/internal"): {"data": {"issuer_id": "i-root", "key_id": "k-root"}},
            ("POST", "pki_int/intermediate/generate/internal"): {"data": {"csr": "CSR", "key_id": "k-int"}},
        },
        fail_on={("POST", "pki_root/root/sign-intermediate"): vu.VaultError("the store went away")},
    )
    vault.objects["pki_root/ca/pem"] = None
    # the root reads back after it was generated
    original = vault.request

    def request(method, path, data=None, params=None):
        if (method, path) == ("GET", "pki_root/ca/pem") and ("POST", "pki_root/root/generate/internal") in vault.calls:
            vault.calls.append((method, path))
            return {"_raw": pem(ROOT)}
        return original(method, path, data, params)

    vault.request = request
    with pytest.raises(vu.VaultError, match="went away; rolled back"):
        vault_pki_ca.run(module(**pki_params(root_common_name="CDC Root")), vault)
    assert [call for call in vault.writes if call[0] == "DELETE"] == [
        ("DELETE", "pki_root/issuer/i-root"),
        ("DELETE", "pki_int/key/k-int"),
        ("DELETE", "pki_root/key/k-root"),
    ]


@pytest.mark.parametrize(
    ("overrides", "option"),
    [
        ({"root_mount": "pki/../sys"}, "root_mount"),
        ({"intermediate_mount": "pki_int/./x"}, "intermediate_mount"),
        ({"intermediate_mount": ""}, "intermediate_mount"),
        ({"intermediate_common_name": " "}, "intermediate_common_name"),
        ({"intermediate_common_name": "CA\nInjected: yes"}, "intermediate_common_name"),
        ({"root_common_name": "x" * 65}, "root_common_name"),
        ({"intermediate_ttl": "-5h"}, "intermediate_ttl"),
        ({"renew_before": "0"}, "renew_before"),
        ({"urls_base": "https://vault example"}, "urls_base"),
    ],
)
def test_pki_options_out_of_range_are_refused_before_any_request(overrides, option):
    vault = pki_vault()
    with pytest.raises(vu.VaultError) as caught:
        vault_pki_ca.run(module(**pki_params(**{"root_common_name": "CDC Root", **overrides})), vault)
    assert str(caught.value).startswith(option), str(caught.value)
    assert "\n" not in str(caught.value)
    assert vault.calls == []


# -- paths the HTTP layer would read as something else --------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "cdc/data/%2e%2e/%2e%2e/sys/policies/acl/x",
        "cdc/data/x?version=1",
        "cdc/data/x#frag",
        "cdc\\data",
        " cdc/data/x",
        "cdc/ data/x",
        "cdc/data/x\u0085",
        "cdc/data/x\x7f",
    ],
    ids=["percent-dots", "query", "fragment", "backslash", "leading-blank", "blank-segment", "nel", "del"],
)
def test_store_paths_http_would_reinterpret_are_refused_before_any_request(path):
    for run, params in (
        (
            vault_object.run,
            {"path": path, "data": {}, "secret_data": None, "nested_read_keys": [], "update_secret_data": "on_create"},
        ),
        (
            vault_mount.run,
            {"path": path, "kind": "secret", "type": "kv", "description": None, "options": None, "config": None},
        ),
    ):
        vault = FakeVault()
        with pytest.raises(vu.VaultError, match="^path ") as caught:
            run(module(state="present", **params), vault)
        assert "\n" not in str(caught.value)
        assert vault.calls == []


# -- CQL names: checked before connecting ---------------------------------------------------------


class StatefulCqlClient:
    """Roles and grants as a server keeps them; fail: {statement prefix: (kind, applied first?)}."""

    def __init__(self, fail=None):
        self.roles = {"cdc_admin": {"login": True, "superuser": True}}
        self.grants = {}
        self.fail = fail or {}
        self.executed = []

    def rows(self, statement, parameters=None, what=""):
        if statement == "LIST ROLES":
            return [{"role": n, "login": r["login"], "super": r["superuser"]} for n, r in self.roles.items()]
        if statement.startswith("LIST ALL PERMISSIONS OF"):
            role = re.search(r"OF '(.+)' NORECURSIVE", statement).group(1)
            return [{"role": role, "permission": p, "resource": r} for p, r in self.grants.get(role, [])]
        if statement.startswith("SELECT keyspace_name FROM system_schema.keyspaces"):
            return [{"keyspace_name": "shop"}] if parameters == ["shop"] else []
        if statement.startswith("SELECT table_name FROM system_schema.tables"):
            return [{"table_name": "orders"}]
        if statement.startswith("SELECT view_name"):
            return []
        raise AssertionError(statement)

    def execute(self, statement, what):
        for prefix, (kind, applied) in self.fail.items():
            if statement.startswith(prefix):
                if applied:
                    self.apply(statement)
                raise cql.CqlModuleError("no answer from the CQL nodes while trying to %s" % what, kind=kind)
        self.apply(statement)

    def apply(self, statement):
        self.executed.append(statement)
        created = re.match(r"CREATE ROLE '(\w+)' WITH .*LOGIN = (\w+) AND SUPERUSER = (\w+)", statement)
        if created:
            self.roles[created.group(1)] = {
                "login": created.group(2) == "true",
                "superuser": created.group(3) == "true",
            }
        granted = re.match(r"GRANT (\w+) ON TABLE (\w+)\.(\w+) TO '(\w+)'", statement)
        if granted:
            permission, keyspace, table, role = granted.groups()
            self.grants.setdefault(role, []).append((permission, "<table %s.%s>" % (keyspace, table)))


def role_params(**overrides):
    params = {
        "login_hosts": ["127.0.0.1"],
        "login_port": 9142,
        "login_user": "cdc_admin",
        "login_password": "admin-secret",
        "ssl": True,
        "validate_certs": True,
        "ca_cert": None,
        "client_cert": None,
        "client_key": None,
        "connect_timeout": 5,
        "name": "cdc_connector",
        "state": "present",
        "login": True,
        "superuser": False,
        "password": "connector-secret",
        "update_password": "on_mismatch",
        "permissions": [{"permission": "SELECT", "resource": "TABLE shop.orders"}],
        "exclusive": True,
    }
    params.update(overrides)
    return params


def test_a_role_created_before_the_server_stopped_answering_is_reported_created():
    client = StatefulCqlClient(fail={"CREATE ROLE": ("timeout", True)})
    with pytest.raises(cql.CqlModuleError) as caught:
        scylla_role.run(module(**role_params()), client)
    message = str(caught.value)
    assert "role cdc_connector created (LOGIN = true, SUPERUSER = false)" in message, message
    assert "Applied before the failure: nothing" not in message
    assert "connector-secret" not in message


def test_a_grant_the_server_did_not_answer_is_read_back():
    client = StatefulCqlClient(fail={"GRANT": ("timeout", True)})
    with pytest.raises(cql.CqlModuleError) as caught:
        scylla_role.run(module(**role_params()), client)
    assert "created" in str(caught.value) and "granted SELECT ON TABLE shop.orders" in str(caught.value)


def run_main(name, args, capsys):
    """Run a module's main() in-process with args; its printed JSON result."""
    with patch_module_args(args), pytest.raises(SystemExit):
        plugin(name).main()
    out = capsys.readouterr().out
    return json.loads(out[out.index("{") :]), out


@pytest.mark.parametrize(
    ("module_name", "args", "option"),
    [
        ("scylla_cdc", {"tables": ["shop.a b"]}, "tables"),
        ("scylla_cdc", {"tables": ["shop."]}, "tables"),
        ("scylla_cdc", {"tables": ['shop."orders']}, "tables"),
        ("scylla_cdc", {"tables": ["shop.orders;DROP KEYSPACE shop"]}, "tables"),
        ("scylla_cdc", {"tables": ["sh\u00f6p.orders"]}, "tables"),
        ("scylla_cdc", {"tables": ["k" * 49 + ".orders"]}, "tables"),
        ("scylla_cdc", {"tables": ["shop.orders"], "ttl": -1}, "ttl"),
        ("scylla_cdc", {"tables": ["shop.orders"], "preimage": "maybe"}, "preimage"),
        ("scylla_cdc", {"tables": []}, "tables"),
        ("scylla_role", {"name": "cdc\nadmin"}, "name"),
        ("scylla_role", {"name": " cdc"}, "name"),
        ("scylla_role", {"name": ""}, "name"),
        ("scylla_role", {"name": "r" * 257}, "name"),
        (
            "scylla_role",
            {"name": "r", "permissions": [{"permission": "SELECT", "resource": "KEYSPACE a-b"}]},
            "permissions",
        ),
        (
            "scylla_role",
            {"name": "r", "permissions": [{"permission": "SELECT", "resource": "TABLE a.b c"}]},
            "permissions",
        ),
        (
            "scylla_role",
            {"name": "r", "permissions": [{"permission": "ALTER", "resource": "ROLE \x1b[31m"}]},
            "permissions",
        ),
        (
            "scylla_role",
            {"name": "r", "permissions": [{"permission": "ALL", "resource": "KEYSPACE shop"}]},
            "permission",
        ),
        ("scylla_role", {"name": "r", "permissions": "ALL"}, "permissions"),
        ("scylla_role", {"name": "r", "permissions": ["SELECT"]}, "permissions"),
    ],
)
def test_cql_names_and_values_are_refused_before_connecting(module_name, args, option, capsys):
    base = {
        "login_hosts": ["127.0.0.1"],
        "login_port": closed_port(),
        "login_user": "admin",
        "login_password": "admin-secret-Zq7",
        "connect_timeout": 2,
        "ssl": False,
    }
    result, out = run_main(module_name, {**base, **args}, capsys)
    assert result["failed"]
    msg = result["msg"]
    assert msg.startswith(option), msg
    assert "cannot reach" not in msg and "\n" not in msg and "Traceback" not in out
    assert "admin-secret-Zq7" not in out


# -- no secret in any result, whatever argument fails Ansible's own validation ---------------------


def secret(name):
    return "hunter2-%s-Zq7" % name


VAULT = {"url": "https://127.0.0.1:1", "timeout": 1}
CQL = {"login_hosts": ["127.0.0.1"], "login_port": 1, "login_user": "admin", "connect_timeout": 1}
SECRET_CASES = [
    ("scylla_role", {**CQL, "login_password": secret("a"), "name": "r", "password": secret("b"), "permissions": "ALL"}),
    ("scylla_role", {**CQL, "login_password": secret("c"), "name": "r", "password": secret("d"), "permissions": ["x"]}),
    (
        "scylla_role",
        {
            **CQL,
            "login_password": secret("e"),
            "name": "r",
            "password": secret("f"),
            "permissions": [{"permission": "SELECT", "resource": ["TABLE shop.orders"]}],
        },
    ),
    ("scylla_role", {**CQL, "login_password": secret("g"), "name": "r", "password": secret("h"), "login": "maybe"}),
    ("scylla_cdc", {**CQL, "login_password": secret("i"), "tables": {"shop": "orders"}}),
    ("vault_object", {**VAULT, "token": secret("j"), "path": "cdc/data/x", "data": [secret("k")]}),
    (
        "vault_object",
        {**VAULT, "token": secret("l"), "path": "cdc/data/x", "data": {"password": secret("m")}, "state": 3},
    ),
    (
        "vault_object",
        {
            **VAULT,
            "token": secret("n"),
            "path": "cdc/data/x",
            "data": {"nested": {"db_password": secret("o")}},
            "state": "x",
        },
    ),
    ("vault_object", {**VAULT, "token": secret("p"), "path": "cdc/data/x", "secret_data": "password=" + secret("q")}),
    ("vault_object", {**VAULT, "token": secret("r"), "path": ["cdc"], "data": {"secret_id": secret("s")}}),
    (
        "vault_object",
        {**VAULT, "token": secret("t"), "path": "cdc/data/x", "data": {"password": 987654321}, "state": "x"},
    ),
    (
        "vault_pki_ca",
        {
            **VAULT,
            "token": secret("u"),
            "intermediate_common_name": "x",
            "root_pem_bundle": secret("v"),
            "key_bits": "big",
        },
    ),
    ("vault_unseal", {**VAULT, "keys": [secret("w"), secret("x")], "timeout": "soon"}),
    ("vault_mount", {**VAULT, "token": secret("y"), "path": "kv", "type": "kv", "config": "ttl"}),
    ("vault_cluster_info", {**VAULT, "token": secret("aa"), "extra": 1}),
]


@pytest.mark.parametrize(
    ("module_name", "args"), SECRET_CASES, ids=[f"{m}-{i}" for i, (m, _a) in enumerate(SECRET_CASES)]
)
def test_no_secret_in_any_failure(module_name, args, capsys):
    result, out = run_main(module_name, args, capsys)
    assert result["failed"], result
    assert "\n" not in result["msg"] and "Traceback" not in out
    secrets = set(re.findall(r"hunter2-\w+-Zq7", json.dumps(args))) | {"987654321"}
    leaked = sorted(value for value in secrets if value in out)
    assert not leaked, out
