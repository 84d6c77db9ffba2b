"""The vault_secret lookup's create-once logic (KvSecret) against an in-memory KV v2 store.

The store behaves like KV v2: versions, check-and-set, a deleted latest version reads as 404 while its
metadata still counts it. A test can let "another fork" write between two of our requests, which is
how two hosts once ended up with different passwords for the same secret.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.unit


# ansible_collections.cdc.pipeline is importable: tests/unit/conftest.py puts it on sys.path.

pytest.importorskip("hvac")

from ansible_collections.cdc.pipeline.plugins.lookup.vault_secret import KvSecret  # noqa: E402
from ansible_collections.cdc.pipeline.plugins.module_utils.vault import VaultError  # noqa: E402

DATA = "cdc/data/postgresql/replication"
METADATA = "cdc/metadata/postgresql/replication"


class FakeKv:
    """One KV v2 secret. after(method, callback) runs callback once, right after our next such request."""

    def __init__(self):
        self.versions: list[dict] = []
        self.deleted: set[int] = set()
        self.pending: dict[str, object] = {}

    def after(self, method, callback):
        self.pending[method] = callback

    def _other_fork(self, method):
        callback = self.pending.pop(method, None)
        if callback is not None:
            callback()

    def put(self, data, cas):
        current = len(self.versions)
        if cas != current:
            raise VaultError("check-and-set parameter did not match the current version, on post %s" % DATA)
        self.versions.append(dict(data))

    def read(self, path, params=None):
        current = len(self.versions)
        if path == METADATA:
            answer = {"data": {"current_version": current}} if current else None
        elif current == 0 or current in self.deleted:
            answer = None
        else:
            answer = {"data": {"data": dict(self.versions[-1]), "metadata": {"version": current}}}
        self._other_fork("GET")
        return answer

    def write(self, path, data):
        self._other_fork("POST")  # before ours: the other fork's write lands first
        self.put(data["data"], data["options"]["cas"])


def secret(kv):
    return KvSecret(kv, "cdc", "postgresql/replication")


def other_fork_creates(kv):
    return lambda: kv.put({"password": "the-other-forks-value"}, len(kv.versions))


def test_creates_once_then_returns_the_stored_value():
    kv = FakeKv()
    first = secret(kv).get_or_create("password", True, 32)
    assert len(first) == 32
    assert secret(kv).get_or_create("password", True, 32) == first
    assert len(kv.versions) == 1


def test_a_fork_that_creates_right_after_our_first_read_wins_and_we_return_its_value():
    # The interleaving seen in molecule/vault: our read finds nothing, another host creates the
    # secret, and we must not overwrite it with a value of our own.
    kv = FakeKv()
    kv.after("GET", other_fork_creates(kv))
    assert secret(kv).get_or_create("password", True, 32) == "the-other-forks-value"
    assert kv.versions == [{"password": "the-other-forks-value"}]


def test_a_fork_that_creates_between_our_read_and_our_write_wins():
    kv = FakeKv()
    kv.after("POST", other_fork_creates(kv))
    assert secret(kv).get_or_create("password", True, 32) == "the-other-forks-value"
    assert len(kv.versions) == 1


def test_a_new_key_beside_existing_ones_keeps_them():
    kv = FakeKv()
    kv.put({"user": "replicator"}, 0)
    value = secret(kv).get_or_create("password", True, 32)
    assert kv.versions[-1] == {"user": "replicator", "password": value}


def test_a_deleted_latest_version_is_replaced_naming_the_current_version():
    kv = FakeKv()
    kv.put({"password": "old"}, 0)
    kv.deleted.add(1)
    value = secret(kv).get_or_create("password", True, 32)
    assert value != "old"
    assert len(kv.versions) == 2


def test_without_create_a_missing_key_is_an_error_naming_the_fix():
    with pytest.raises(VaultError, match="create=true"):
        secret(FakeKv()).get_or_create("password", False, 32)


def test_a_secret_that_keeps_changing_gives_up_with_a_message():
    kv = FakeKv()
    original_write = kv.write

    def always_beaten(path, data):
        kv.put({"other": str(len(kv.versions))}, len(kv.versions))
        original_write(path, data)

    kv.write = always_beaten
    with pytest.raises(VaultError, match="kept changing"):
        secret(kv).get_or_create("password", True, 32)
