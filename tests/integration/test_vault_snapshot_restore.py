"""Disaster-recovery drill: an OpenBao raft snapshot restored into a NEW cluster (the staged OpenBao binary, TLS).

Cluster A gets what the pipeline keeps in the store (key-value secrets, a policy, an AppRole); its
snapshot is taken through the API the way playbooks/vault_snapshot.yml takes it, and cluster A is
stopped for good. A fresh cluster B is initialised with keys of its own, the snapshot is force-restored
into it, and B is then unsealed with A's keys (the snapshot carries A's keyring) and serves A's data:
secrets, policy, and a login with A's AppRole. The drill's time (new node started to first secret
read) is printed: docs/disaster-recovery.md records it. A negative control reads B before the
restore and finds none of A's data, so the check can fail.
"""

from __future__ import annotations

import time

import hvac
import pytest

from tests.tools.openbao_server import started_openbao

pytestmark = pytest.mark.integration


def client(server, token=None):
    return hvac.Client(url=server.url, token=token, verify=str(server.ca_cert))


def initialised(server) -> tuple[list[str], str]:
    answer = client(server).sys.initialize(3, 2)
    unseal(server, answer["keys"])
    return answer["keys"], answer["root_token"]


def unseal(server, keys: list[str]) -> None:
    bao = client(server)
    for key in keys[:2]:
        bao.sys.submit_unseal_key(key)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        health = server.health()
        if not health.get("sealed") and not health.get("standby"):
            return
        time.sleep(0.3)
    pytest.fail(f"OpenBao at {server.url} did not become active after unseal: {server.health()}")


def until(probe, seconds: float = 30.0):
    deadline = time.monotonic() + seconds
    while True:
        try:
            return probe()
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def test_a_snapshot_restored_into_a_new_cluster_serves_the_old_clusters_data(tmp_path) -> None:
    with started_openbao(tmp_path / "a") as a:
        keys_a, root_a = initialised(a)
        bao = client(a, root_a)
        bao.sys.enable_secrets_engine("kv", path="cdc", options={"version": "2"})
        until(
            lambda: bao.secrets.kv.v2.create_or_update_secret(
                path="postgresql/users/cdc_reconcile", mount_point="cdc", secret={"password": "from-cluster-a"}
            )
        )
        bao.sys.create_or_update_policy("reader", 'path "cdc/data/*" { capabilities = ["read"] }')
        bao.sys.enable_auth_method("approle")
        bao.write("auth/approle/role/reader", token_policies="reader")  # noqa: S106 - a policy name
        role_id = bao.read("auth/approle/role/reader/role-id")["data"]["role_id"]
        secret_id = bao.write("auth/approle/role/reader/secret-id")["data"]["secret_id"]
        response = bao.sys.take_raft_snapshot()  # GET sys/storage/raft/snapshot
        snapshot = response.content
        assert response.status_code == 200 and snapshot[:2] == b"\x1f\x8b", "a raft snapshot is a gzip stream"

    started = time.monotonic()
    with started_openbao(tmp_path / "b") as b:
        _keys_b, root_b = initialised(b)
        fresh = client(b, root_b)
        # Negative control: the new cluster has none of A's data before the restore.
        assert "cdc/" not in fresh.sys.list_mounted_secrets_engines()["data"]

        restored = fresh.sys.force_restore_raft_snapshot(snapshot)  # POST sys/storage/raft/snapshot-force
        assert restored.status_code == 204, restored.text
        # The snapshot carries A's keyring: B now opens with A's unseal keys (and A's root token), not its own.
        until(lambda: unseal(b, keys_a), 60)
        old = client(b, root_a)
        secret = until(
            lambda: old.secrets.kv.v2.read_secret_version(
                path="postgresql/users/cdc_reconcile", mount_point="cdc", raise_on_deleted_version=True
            )
        )
        recovered = time.monotonic() - started
        assert secret["data"]["data"] == {"password": "from-cluster-a"}
        assert "reader" in old.sys.list_policies()["data"]["policies"]
        login = client(b).auth.approle.login(role_id=role_id, secret_id=secret_id)
        assert "reader" in login["auth"]["policies"]
        with pytest.raises(hvac.exceptions.Forbidden):  # B's own root token died with B's keyring
            client(b, root_b).sys.list_policies()
    print(f"\nOpenBao restore drill: new node started to first secret read in {recovered:.1f} s")
