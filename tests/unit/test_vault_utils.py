"""Shared logic of the Vault modules: comparison, keys file, passwords, error messages."""
# ruff: noqa: S105 - the fake secrets and secret-named keys are what these tests compare

from __future__ import annotations

import importlib
import json
import os
import stat
import string

import pytest

pytestmark = pytest.mark.unit


# ansible_collections.cdc.pipeline is importable: tests/unit/conftest.py puts it on sys.path.

hvac = pytest.importorskip("hvac")
requests = pytest.importorskip("requests")

from ansible_collections.cdc.pipeline.plugins.lookup import vault_secret  # noqa: E402
from ansible_collections.cdc.pipeline.plugins.module_utils import vault as vu  # noqa: E402

vault_init, vault_mount, vault_unseal = (
    importlib.import_module("ansible_collections.cdc.pipeline.plugins.modules." + name)
    for name in ("vault_init", "vault_mount", "vault_unseal")
)

URL = "https://10.213.40.51:8200"


# -- durations and comparison ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("72h", 259200), ("30m", 1800), ("2160h", 7776000), ("1h30m", 5400), (259200, 259200), ("0", 0), ("10s", 10)],
)
def test_duration_seconds(value, seconds):
    assert vu.duration_seconds(value) == seconds


@pytest.mark.parametrize("value", ["abc", "", None, True, "12x", "h"])
def test_not_a_duration(value):
    assert vu.duration_seconds(value) is None


@pytest.mark.parametrize(
    ("wanted", "current"),
    [
        ("72h", 259200),
        ("0", 0),
        ("768h", "2764800"),
        (True, "true"),
        (False, False),
        ("384", 384),
        (2, "2"),
        (["b", "a"], ["a", "b"]),
        (["a", "b"], "a,b"),
        ("a,b", ["b", "a"]),
        ('path "x" {\n  capabilities = ["read"]\n}\n', 'path "x" {  \n  capabilities = ["read"]\n}'),
        ([], None),
        ({"version": "2"}, {"version": "2", "other": "x"}),
        # token_bound_cidrs: OpenBao reads a host CIDR back as the bare address (checked against 2.7.2).
        (["10.213.43.1/32", "10.0.0.0/24"], ["10.0.0.0/24", "10.213.43.1"]),
        (["fd00::1/128"], ["fd00::1"]),
    ],
)
def test_values_equal(wanted, current):
    assert vu.values_equal(wanted, current)


@pytest.mark.parametrize(
    ("wanted", "current"),
    [
        ("72h", 3600),
        (True, "false"),
        (["10.0.0.0/24"], ["10.0.0.0"]),
        (["10.213.43.1/32"], ["10.213.43.2"]),
        (["a", "b"], ["a"]),
        (["a"], None),
        ("x", "y"),
        ({"version": "2"}, {"version": "1"}),
        ("path a", "path b"),
        (256, 384),
    ],
)
def test_values_differ(wanted, current):
    assert not vu.values_equal(wanted, current)


def test_changed_keys_skips_keys_vault_does_not_return_only_when_asked():
    wanted = {"token_ttl": "1h", "verify_connection": False, "max_ttl": "2h"}
    current = {"token_ttl": 3600, "max_ttl": 3600}
    assert vu.changed_keys(wanted, current) == ["max_ttl", "verify_connection"]
    assert vu.changed_keys(wanted, current, skip_missing=True) == ["max_ttl"]


def test_options_as_strings():
    assert vault_mount.options_as_strings({"version": 2, "flag": True}) == {"version": "2", "flag": "true"}


# -- keys file ---------------------------------------------------------------------------------


def test_keys_file_written_0600_and_never_overwritten(tmp_path):
    path = tmp_path / "init.json"
    vault_init.check_keys_file_target(str(path))
    vault_init.write_keys_file(str(path), {"root_token": "r", "keys": ["k"]})
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text())["root_token"] == "r"
    assert [p.name for p in tmp_path.iterdir()] == ["init.json"]  # no temporary file left
    with pytest.raises(vu.VaultError, match="belongs to another cluster"):
        vault_init.check_keys_file_target(str(path))
    with pytest.raises(OSError):
        vault_init.write_keys_file(str(path), {"root_token": "other"})
    assert json.loads(path.read_text())["root_token"] == "r"


def test_empty_placeholder_keys_file_is_replaced(tmp_path):
    path = tmp_path / "init.json"
    path.touch()
    vault_init.check_keys_file_target(str(path))
    vault_init.write_keys_file(str(path), {"root_token": "r"})
    assert json.loads(path.read_text()) == {"root_token": "r"}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_keys_file_directory_must_exist_and_be_writable(tmp_path):
    with pytest.raises(vu.VaultError, match="does not exist"):
        vault_init.check_keys_file_target(str(tmp_path / "missing" / "init.json"))
    if os.geteuid() != 0:  # root may write anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        with pytest.raises(vu.VaultError, match="not writable"):
            vault_init.check_keys_file_target(str(locked / "init.json"))


def test_read_keys_file_errors_name_the_file(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("not json")
    with pytest.raises(vu.VaultError, match="not the JSON written by vault_init"):
        vault_unseal.read_keys_file(str(bad))
    with pytest.raises(vu.VaultError, match="cannot read keys_file"):
        vault_unseal.read_keys_file(str(tmp_path / "absent.json"))


# -- password generator ------------------------------------------------------------------------


def test_generated_passwords_use_the_safe_alphabet_and_length():
    values = {vault_secret.generate_password(32) for _index in range(50)}
    assert len(values) == 50
    allowed = set(string.ascii_letters + string.digits)
    for value in values:
        assert len(value) == 32
        assert set(value) <= allowed
    assert len(vault_secret.generate_password(16)) == 16


@pytest.mark.parametrize("length", [15, 0, -1, "32", True])
def test_short_or_bad_length_refused(length):
    with pytest.raises(vu.VaultError, match="at least 16"):
        vault_secret.generate_password(length)


# -- error mapping -----------------------------------------------------------------------------


def vault_exc(cls, errors=None, text=None):
    return cls(errors=errors, method="get", url=URL + "/v1/x", text=text)


@pytest.mark.parametrize(
    ("exc", "path", "expected"),
    [
        (
            requests.exceptions.ConnectionError("Max retries ([Errno 111] Connection refused)"),
            "sys/health",
            "cannot reach Vault at %s: [Errno 111] Connection refused. Check the url (cdc_vault_url)" % URL,
        ),
        (requests.exceptions.ConnectTimeout("timed out"), "sys/health", "cannot reach Vault at %s: timed out" % URL),
        (
            requests.exceptions.SSLError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed"),
            "sys/health",
            "TLS verification of %s failed: set ca_cert" % URL,
        ),
        (
            requests.exceptions.SSLError("[SSL: WRONG_VERSION_NUMBER] wrong version number"),
            "sys/health",
            "%s does not speak TLS" % URL,
        ),
        (
            vault_exc(hvac.exceptions.InvalidRequest, text="Client sent an HTTP request to an HTTPS server.\n"),
            "sys/health",
            "answers HTTPS but the url says http://",
        ),
        (vault_exc(hvac.exceptions.VaultDown, ["Vault is sealed"]), "cdc/data/x", "Vault at %s is sealed" % URL),
        (vault_exc(hvac.exceptions.VaultNotInitialized), "sys/init", "run playbooks/security.yml"),
        (
            vault_exc(hvac.exceptions.Forbidden, ["permission denied"]),
            "auth/token/lookup-self",
            "the token was refused",
        ),
        (vault_exc(hvac.exceptions.Unauthorized, ["bad"]), "cdc/data/x", "the token was refused"),
        (
            vault_exc(hvac.exceptions.Forbidden, ["permission denied"]),
            "sys/policies/acl/x",
            "permission denied on POST sys/policies/acl/x: the token's policies do not allow it",
        ),
        (
            vault_exc(hvac.exceptions.InvalidRequest, ["bad ttl"]),
            "pki/roles/r",
            "Vault rejected POST pki/roles/r: bad ttl",
        ),
    ],
)
def test_describe_error(exc, path, expected):
    method = "GET" if path in ("sys/health", "auth/token/lookup-self", "sys/init") else "POST"
    assert expected in vu.describe_error(exc, URL, method, path)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"url": "10.0.0.1:8200"}, "is not a Vault address"),
        ({"url": URL, "ca_cert": "/nonexistent/ca.pem"}, "ca_cert /nonexistent/ca.pem does not exist"),
        ({"url": URL, "client_cert": "/x.pem"}, "go together"),
        ({"url": URL}, "no Vault token"),
    ],
)
def test_connection_params_checked_before_any_request(params, expected):
    with pytest.raises(vu.VaultError, match=expected.replace(".", r"\.")):
        vu.Vault(params, need_token=True)


def test_request_errors_become_one_message():
    vault = vu.Vault({"url": "https://127.0.0.1:1", "token": "t", "timeout": 2})
    with pytest.raises(vu.VaultError, match="cannot reach Vault at https://127.0.0.1:1"):
        vault.health()
