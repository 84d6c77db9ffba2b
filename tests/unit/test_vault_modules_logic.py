"""Decision logic of the Vault modules with a fake Vault: what is compared, written and refused."""
# ruff: noqa: S105, S106 - fake secrets and secret-named options are what these tests follow

from __future__ import annotations

import importlib
import json
from types import SimpleNamespace

import pytest

# test_vault_utils puts the collection on sys.path, so the modules import after it.
from test_vault_utils import vu

vault_init, vault_mount, vault_object, vault_unseal = (
    importlib.import_module("ansible_collections.cdc.pipeline.plugins.modules." + name)
    for name in ("vault_init", "vault_mount", "vault_object", "vault_unseal")
)

pytestmark = pytest.mark.unit


class FakeVault:
    """Answers reads from a dict of path -> response; records writes; preflight always passes."""

    url = "https://vault.test:8200"

    def __init__(self, objects=None):
        self.objects = objects or {}
        self.writes = []

    def preflight(self, **kwargs):
        return {}

    def read(self, path, params=None):
        return self.objects.get(path)

    def request(self, method, path, data=None, params=None):
        if method == "GET":
            return self.objects.get(path)
        self.writes.append((method, path, data))
        return {}

    def write(self, path, data):
        return self.request("POST", path, data)

    def delete(self, path):
        return self.request("DELETE", path)


def module(check_mode=False, **params):
    return SimpleNamespace(params=params, check_mode=check_mode)


def object_params(**overrides):
    params = {
        "path": "database/config/sink",
        "data": {"connection_url": "postgresql://x", "username": "admin", "verify_connection": False},
        "secret_data": {"password": "hunter2hunter2"},
        "update_secret_data": "on_create",
        "nested_read_keys": ["connection_details"],
        "state": "present",
    }
    params.update(overrides)
    return params


DB_READ = {
    "data": {"connection_details": {"connection_url": "postgresql://x", "username": "admin"}, "plugin_name": "p"}
}


def test_object_created_with_secret_data_and_masked_diff():
    vault = FakeVault()
    result = vault_object.run(module(**object_params()), vault)
    assert result["changed"] and not result["existed"]
    assert vault.writes == [
        (
            "POST",
            "database/config/sink",
            {
                "connection_url": "postgresql://x",
                "username": "admin",
                "verify_connection": False,
                "password": "hunter2hunter2",
            },
        )
    ]
    assert result["diff"]["after"]["password"] == "********"
    assert "hunter2hunter2" not in json.dumps(result)


def test_object_unchanged_when_nested_values_match_and_write_only_keys_are_missing():
    vault = FakeVault({"database/config/sink": DB_READ})
    result = vault_object.run(module(**object_params()), vault)
    assert not result["changed"]
    assert result["uncompared_keys"] == ["verify_connection"]
    assert vault.writes == []


def test_object_update_secret_data_always_writes():
    vault = FakeVault({"database/config/sink": DB_READ})
    result = vault_object.run(module(**object_params(update_secret_data="always")), vault)
    assert result["changed"] and len(vault.writes) == 1


def test_object_check_mode_predicts_and_writes_nothing():
    vault = FakeVault({"database/config/sink": DB_READ})
    result = vault_object.run(module(check_mode=True, **object_params(data={"username": "other"})), vault)
    assert result["changed"] and result["changed_keys"] == ["username"]
    assert result["diff"]["before"]["username"] == "admin"
    assert vault.writes == []


def test_object_absent_deletes_only_existing():
    assert not vault_object.run(module(**object_params(state="absent")), FakeVault())["changed"]
    vault = FakeVault({"database/config/sink": DB_READ})
    assert vault_object.run(module(**object_params(state="absent")), vault)["changed"]
    assert vault.writes == [("DELETE", "database/config/sink", None)]


def mount_params(**overrides):
    params = {
        "path": "cdc",
        "type": "kv-v2",
        "kind": "secret",
        "description": None,
        "options": None,
        "config": {"max_lease_ttl": "72h"},
        "state": "present",
    }
    params.update(overrides)
    return params


KV_MOUNT = {"type": "kv", "description": "", "options": {"version": "2"}, "config": {"max_lease_ttl": 259200}}


def test_mount_kv_v2_matches_existing_kv_version_2():
    vault = FakeVault({"sys/mounts": {"data": {"cdc/": KV_MOUNT}}})
    result = vault_mount.run(module(**mount_params()), vault)
    assert not result["changed"] and vault.writes == []


def test_mount_tuned_when_config_differs():
    vault = FakeVault({"sys/mounts": {"data": {"cdc/": KV_MOUNT}}})
    result = vault_mount.run(module(**mount_params(config={"max_lease_ttl": "96h"})), vault)
    assert result["changed_keys"] == ["config.max_lease_ttl"]
    assert vault.writes == [("POST", "sys/mounts/cdc/tune", {"max_lease_ttl": "96h", "options": {"version": "2"}})]


def test_mount_of_another_type_refused():
    vault = FakeVault({"sys/mounts": {"data": {"cdc/": KV_MOUNT}}})
    with pytest.raises(vu.VaultError, match="data migration"):
        vault_mount.run(module(**mount_params(type="pki")), vault)
    assert vault.writes == []


def test_auth_mount_created_under_sys_auth():
    vault = FakeVault({"sys/auth": {"data": {}}})
    vault_mount.run(module(**mount_params(path="approle", type="approle", kind="auth", config=None)), vault)
    assert vault.writes[0][:2] == ("POST", "sys/auth/approle")


@pytest.mark.parametrize(
    ("shares", "threshold", "pgp", "message"),
    [
        (3, 4, None, "between 1 and secret_shares"),
        (5, 1, None, "at least 2"),
        (3, 2, ["a", "b"], "one public key per share"),
    ],
)
def test_init_input_refused(shares, threshold, pgp, message):
    with pytest.raises(vu.VaultError, match=message):
        vault_init.validate({"secret_shares": shares, "secret_threshold": threshold, "pgp_keys": pgp})


def test_init_refuses_existing_keys_file_before_init(tmp_path):
    keys_file = tmp_path / "init.json"
    keys_file.write_text("{}")
    vault = FakeVault({"sys/init": {"initialized": False}})
    params = {"secret_shares": 3, "secret_threshold": 2, "pgp_keys": None, "root_token_pgp_key": None}
    with pytest.raises(vu.VaultError, match="belongs to another cluster"):
        vault_init.run(module(keys_file=str(keys_file), **params), vault)
    assert vault.writes == []


def test_unseal_refuses_pgp_encrypted_keys_file(tmp_path):
    keys_file = tmp_path / "init.json"
    keys_file.write_text(json.dumps({"pgp_encrypted": True, "keys_base64": ["x"]}))
    with pytest.raises(vu.VaultError, match="PGP-encrypted: decrypt them"):
        vault_unseal.load_keys({"keys": None, "keys_file": str(keys_file)})


class UnsealVault(FakeVault):
    """sys/unseal answers from a script; sys/seal-status from the last scripted state."""

    timeout = 1

    def __init__(self, answers, seal_status):
        super().__init__({"sys/seal-status": seal_status})
        self.answers = list(answers)

    def request(self, method, path, data=None, params=None):
        if method == "PUT":
            self.writes.append(data)
            return self.answers.pop(0) if "key" in data else {}
        return super().request(method, path, data, params)


def test_unseal_stops_at_threshold_and_waits_for_a_joining_follower():
    vault = UnsealVault(
        answers=[{"sealed": True, "progress": 1, "t": 2}, {"sealed": True, "progress": 0, "t": 2}],
        seal_status={"sealed": False, "progress": 0, "t": 2},
    )
    status = vault_unseal.submit(vault, ["k1", "k2", "k3"], 2)
    assert status["sealed"] is False
    assert vault.writes == [{"key": "k1", "reset": True}, {"key": "k2"}]  # k3 never sent


def test_unseal_that_never_completes_is_reset_and_reported():
    vault = UnsealVault(
        answers=[{"sealed": True, "progress": 1, "t": 2}, {"sealed": True, "progress": 0, "t": 2}],
        seal_status={"sealed": True, "progress": 0, "t": 2},
    )
    with pytest.raises(vu.VaultError, match="still sealed after 2 shares"):
        vault_unseal.submit(vault, ["k1", "k2"], 2)
    assert vault.writes[-1] == {"reset": True}


class CountingVault(FakeVault):
    """A FakeVault that counts every call: a refused path must not reach the store at all."""

    def __init__(self):
        super().__init__()
        self.calls = 0

    def preflight(self, **kwargs):
        self.calls += 1
        return {}

    def read(self, path, params=None):
        self.calls += 1


@pytest.mark.parametrize(
    "path",
    ["cdc/data/../../sys/policies/acl/x", "a/../b", "cdc//data/x", "cdc/./x", "cdc/data/x\n", "", "/"],
    ids=["climbs-to-sys", "climbs-one", "empty-segment", "dot", "newline", "empty", "slash-only"],
)
def test_paths_the_store_would_resolve_elsewhere_are_refused_before_any_request(path):
    for run, params in (
        (vault_object.run, object_params(path=path)),
        (
            vault_mount.run,
            {"path": path, "kind": "secret", "type": "kv", "description": "", "options": {}, "config": {}},
        ),
    ):
        vault = CountingVault()
        with pytest.raises(vu.VaultError, match="path"):
            run(module(**params), vault)
        assert vault.calls == 0 and vault.writes == []


def test_store_paths_are_kept_as_written_otherwise():
    assert vu.store_path("/cdc/data/kafka/clients/admin/") == "cdc/data/kafka/clients/admin"
    assert vu.store_path("pki_int/issue/connect") == "pki_int/issue/connect"
    with pytest.raises(vu.VaultError, match="mount .* '\\.\\.' segment"):
        vu.store_path("../cdc", "mount")


def pki_params(**overrides):
    params = {
        "root_ttl": "87600h",
        "intermediate_ttl": "43800h",
        "renew_before": "8760h",
        "key_type": "ec",
        "key_bits": None,
        "root_mount": "pki_root",
        "intermediate_mount": "pki_int",
        "urls_base": "",
        "intermediate_common_name": "cdc-vault intermediate CA",
    }
    params.update(overrides)
    return params


def test_pki_ca_refuses_an_empty_intermediate_name_before_anything():
    vault_pki_ca = importlib.import_module("ansible_collections.cdc.pipeline.plugins.modules.vault_pki_ca")
    assert vault_pki_ca.validate_params(pki_params()) == 384
    for empty in ("", "   "):
        with pytest.raises(vu.VaultError, match="intermediate_common_name is empty"):
            vault_pki_ca.validate_params(pki_params(intermediate_common_name=empty))
