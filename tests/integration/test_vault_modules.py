"""The Vault modules and the vault_secret lookup against a real OpenBao server (TLS, raft) on loopback.

Every module runs through ansible-playbook, as in production. One server serves the whole file;
the tests run in order (init, unseal, mounts, objects, PKI, lookup, info, refusals) and
`ready` makes any later test work on its own too (it initialises and unseals when needed).
"""
# ruff: noqa: S105 - fake secrets and masked values are what these tests compare

from __future__ import annotations

import concurrent.futures
import json
import stat
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.tools.openbao_server import OpenBaoServer, closed_port, started_openbao
from tests.tools.playbook_runner import PlayResult, run_playbook

pytestmark = pytest.mark.integration

DB_PASSWORD = "Sup3rSecretDbPassw0rdNotInLogs"  # must never be printed
# Vault's own {{username}}/{{password}} placeholders, escaped from Jinja.
PG_URL = "postgresql://{{ '{{' }}username{{ '}}' }}:{{ '{{' }}password{{ '}}' }}@127.0.0.1:1/sink"
POLICY_HCL = 'path "cdc/data/kafka/*" {\n  capabilities = ["read"]\n}\n'


@dataclass
class Cluster:
    server: OpenBaoServer
    workdir: Path
    keys_file: Path
    root_token: str = ""
    keys: list[str] = field(default_factory=list)

    def conn(self, token: str | None = None) -> dict:
        args = {"url": self.server.url, "ca_cert": str(self.server.ca_cert)}
        if token is not None:
            args["token"] = token
        return args

    def client(self, token: str | None = None):
        import hvac

        return hvac.Client(url=self.server.url, token=token or self.root_token, verify=str(self.server.ca_cert))


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """One OpenBao node for the whole file, plus where the plays and the keys file live."""
    workdir = tmp_path_factory.mktemp("vault-play")
    secrets = workdir / "secrets"
    secrets.mkdir(mode=0o700)
    with started_openbao(tmp_path_factory.mktemp("openbao")) as server:
        yield Cluster(server=server, workdir=workdir, keys_file=secrets / "vault-init.json")


def load_keys(cluster: Cluster) -> None:
    content = json.loads(cluster.keys_file.read_text())
    cluster.root_token = content["root_token"]
    cluster.keys = content["keys_base64"]


def wait_active(cluster: Cluster) -> None:
    client = cluster.client()
    deadline = time.monotonic() + 20
    while not client.sys.read_leader_status().get("is_self"):
        assert time.monotonic() < deadline, "OpenBao did not become active after unseal"
        time.sleep(0.2)


@pytest.fixture
def ready(cluster: Cluster) -> Cluster:
    """The cluster initialised (keys file written) and unsealed, whatever ran before."""
    client = cluster.client(token="")
    if not client.sys.is_initialized():
        answer = client.sys.initialize(3, 2)
        cluster.keys_file.write_text(json.dumps({**answer, "pgp_encrypted": False}))
    load_keys(cluster)
    if client.sys.is_sealed():
        for key in cluster.keys[:2]:
            client.sys.submit_unseal_key(key)
    wait_active(cluster)
    return cluster


def task(name: str, module: str, args: dict, **extra) -> dict:
    return {"name": name, f"cdc.pipeline.{module}": args, **extra}


def play(*tasks: dict) -> list[dict]:
    return [{"hosts": "localhost", "gather_facts": False, "tasks": list(tasks)}]


def run(ansible_home, cluster: Cluster, *tasks: dict, check: bool = False, diff: bool = False) -> PlayResult:
    return run_playbook(
        ansible_home,
        cluster.workdir,
        play(*tasks),
        check=check,
        extra_args=["--diff"] if diff else None,
        env={"VAULT_ADDR": None, "VAULT_TOKEN": None, "VAULT_CACERT": None},
    )


def results(result: PlayResult) -> dict[str, dict]:
    return {
        entry["task"]["name"]: entry["hosts"]["localhost"]
        for p in result.report["plays"]
        for entry in p["tasks"]
        if "localhost" in entry["hosts"]
    }


def output_of(result: PlayResult) -> str:
    return json.dumps(result.report) + result.stderr


def assert_ok(result: PlayResult) -> None:
    assert not result.failed, result.failure_text


# -- vault_init ---------------------------------------------------------------------------------


def test_init_check_mode_writes_nothing(ansible_home, cluster):
    result = run(
        ansible_home,
        cluster,
        task("init", "vault_init", {**cluster.conn(), "keys_file": str(cluster.keys_file)}),
        check=True,
    )
    assert_ok(result)
    assert result.changed == 1
    assert not cluster.keys_file.exists()
    assert cluster.server.health()["initialized"] is False


def test_init_refuses_an_unwritable_keys_file_before_initialising(ansible_home, cluster):
    """Before the all-or-nothing work the cluster was initialised first and the keys were then lost."""
    secrets = cluster.keys_file.parent
    too_long = secrets / ("k" * 251 + ".json")  # one character more than the file system takes
    dangling = secrets / "dangling.json"
    dangling.symlink_to(secrets / "missing" / "init.json")
    try:
        result = run(
            ansible_home,
            cluster,
            *(
                task(name, "vault_init", {**cluster.conn(), "keys_file": str(path)}, ignore_errors=True)
                for name, path in (("too long", too_long), ("dangling", dangling))
            ),
        )
        for name, answer in results(result).items():
            assert answer.get("failed"), name
            assert answer["msg"].startswith("keys_file ") and "\n" not in answer["msg"], answer["msg"]
        assert "nothing was initialised" in results(result)["too long"]["msg"]
        assert cluster.server.health()["initialized"] is False
        assert sorted(p.name for p in secrets.iterdir()) == ["dangling.json"]  # no reservation left behind
    finally:
        dangling.unlink()


def test_init_writes_a_0600_keys_file_once(ansible_home, cluster):
    args = {**cluster.conn(), "keys_file": str(cluster.keys_file), "secret_shares": 3, "secret_threshold": 2}
    first = run(ansible_home, cluster, task("init", "vault_init", args))
    assert_ok(first)
    assert first.changed == 1
    assert stat.S_IMODE(cluster.keys_file.stat().st_mode) == 0o600
    content = json.loads(cluster.keys_file.read_text())
    assert len(content["keys"]) == 3
    assert content["secret_threshold"] == 2
    assert content["pgp_encrypted"] is False
    assert content["root_token"] not in output_of(first)
    assert all(key not in output_of(first) for key in content["keys"] + content["keys_base64"])

    second = run(ansible_home, cluster, task("init", "vault_init", args))
    assert_ok(second)
    assert second.changed == 0
    assert results(second)["init"]["keys_file_present"] is True
    load_keys(cluster)


# -- vault_unseal ------------------------------------------------------------------------------


def test_unseal_after_restart_then_no_change(ansible_home, ready):
    ready.server.restart()
    assert ready.server.health()["sealed"] is True
    unseal = task("unseal", "vault_unseal", {**ready.conn(), "keys_file": str(ready.keys_file)})

    predicted = run(ansible_home, ready, unseal, check=True)
    assert_ok(predicted)
    assert predicted.changed == 1
    assert ready.server.health()["sealed"] is True

    first = run(ansible_home, ready, unseal)
    assert_ok(first)
    assert first.changed == 1
    assert results(first)["unseal"]["sealed"] is False
    assert ready.server.health()["sealed"] is False
    assert all(key not in output_of(first) for key in ready.keys)

    second = run(ansible_home, ready, unseal)
    assert_ok(second)
    assert second.changed == 0


# -- vault_mount -------------------------------------------------------------------------------


def mount_tasks(cluster: Cluster, int_max_ttl: str = "43800h") -> list[dict]:
    conn = cluster.conn(cluster.root_token)
    return [
        task("kv", "vault_mount", {**conn, "path": "cdc", "type": "kv", "options": {"version": 2}}),
        task(
            "pki_root",
            "vault_mount",
            {**conn, "path": "pki_root", "type": "pki", "config": {"max_lease_ttl": "87600h"}},
        ),
        task(
            "pki_int",
            "vault_mount",
            {
                **conn,
                "path": "pki_int",
                "type": "pki",
                "config": {"max_lease_ttl": int_max_ttl, "default_lease_ttl": "72h"},
            },
        ),
        task("database", "vault_mount", {**conn, "path": "database", "type": "database"}),
        task("approle", "vault_mount", {**conn, "path": "approle", "type": "approle", "kind": "auth"}),
    ]


def test_mounts_check_mode_create_idempotent(ansible_home, ready):
    mounts = ready.client().sys.list_mounted_secrets_engines()["data"]
    predicted = run(ansible_home, ready, *mount_tasks(ready), check=True)
    assert_ok(predicted)
    assert predicted.changed == 5
    assert ready.client().sys.list_mounted_secrets_engines()["data"].keys() == mounts.keys()

    first = run(ansible_home, ready, *mount_tasks(ready))
    assert_ok(first)
    assert first.changed == 5
    mounts = ready.client().sys.list_mounted_secrets_engines()["data"]
    assert mounts["cdc/"]["options"] == {"version": "2"}
    assert mounts["pki_int/"]["config"]["max_lease_ttl"] == 43800 * 3600
    assert "approle/" in ready.client().sys.list_auth_methods()["data"]

    second = run(ansible_home, ready, *mount_tasks(ready))
    assert_ok(second)
    assert second.changed == 0


def test_mount_tune_predicted_in_check_mode_and_type_change_refused(ansible_home, ready):
    tune = mount_tasks(ready, int_max_ttl="87600h")[2]
    predicted = run(ansible_home, ready, tune, check=True, diff=True)
    assert_ok(predicted)
    assert predicted.changed == 1
    assert results(predicted)["pki_int"]["changed_keys"] == ["config.max_lease_ttl"]
    assert ready.client().sys.read_mount_configuration("pki_int")["data"]["max_lease_ttl"] == 43800 * 3600

    conn = ready.conn(ready.root_token)
    refused = run(ansible_home, ready, task("retype", "vault_mount", {**conn, "path": "cdc", "type": "pki"}))
    assert refused.failed
    assert "already a kv mount, not pki" in refused.failure_text
    assert "data migration" in refused.failure_text
    assert ready.client().sys.list_mounted_secrets_engines()["data"]["cdc/"]["type"] == "kv"


# -- vault_object ------------------------------------------------------------------------------


def object_tasks(cluster: Cluster) -> list[dict]:
    conn = cluster.conn(cluster.root_token)
    return [
        task("policy", "vault_object", {**conn, "path": "sys/policies/acl/kafka-read", "data": {"policy": POLICY_HCL}}),
        task(
            "approle role",
            "vault_object",
            {
                **conn,
                "path": "auth/approle/role/kafka-connect",
                "data": {"token_policies": "kafka-read,default", "token_ttl": "1h", "secret_id_ttl": "720h"},
            },
        ),
        task(
            "pki role",
            "vault_object",
            {
                **conn,
                "path": "pki_int/roles/cdc-server",
                "data": {
                    "allowed_domains": ["cdc.internal"],
                    "allow_subdomains": True,
                    "max_ttl": "2160h",
                    "key_type": "ec",
                    "key_bits": 256,
                },
            },
        ),
        task(
            "database config",
            "vault_object",
            {
                **conn,
                "path": "database/config/sink",
                "data": {
                    "plugin_name": "postgresql-database-plugin",
                    "connection_url": PG_URL,
                    "username": "vault_admin",
                    "allowed_roles": ["jdbc-sink"],
                    "verify_connection": False,
                },
                "secret_data": {"password": DB_PASSWORD},
                "nested_read_keys": ["connection_details"],
            },
        ),
    ]


def test_objects_written_once_and_password_never_printed(ansible_home, ready):
    first = run(ansible_home, ready, *object_tasks(ready), diff=True)
    assert_ok(first)
    assert first.changed == 4
    client = ready.client()
    assert client.sys.read_acl_policy("kafka-read")["data"]["policy"] == POLICY_HCL
    assert client.adapter.get("/v1/auth/approle/role/kafka-connect")["data"]["token_ttl"] == 3600
    db = client.adapter.get("/v1/database/config/sink")["data"]
    assert db["connection_details"]["username"] == "vault_admin"
    assert results(first)["database config"]["diff"]["after"]["password"] == "********"

    second = run(ansible_home, ready, *object_tasks(ready), diff=True)
    assert_ok(second)
    assert second.changed == 0, [name for name, r in results(second).items() if r.get("changed")]
    assert results(second)["database config"]["uncompared_keys"] == ["verify_connection"]

    for result in (first, second):
        assert DB_PASSWORD not in output_of(result)


# -- vault_pki_ca ------------------------------------------------------------------------------


def test_pki_ca_idempotent_and_issued_cert_chains_to_root(ansible_home, ready):
    from cryptography import x509

    args = {
        **ready.conn(ready.root_token),
        "root_common_name": "CDC Test Root CA",
        "intermediate_common_name": "CDC Test Intermediate CA",
        "organization": "CDC",
        "urls_base": ready.server.url,
    }
    predicted = run(ansible_home, ready, task("ca", "vault_pki_ca", args), check=True)
    assert_ok(predicted)
    assert results(predicted)["ca"]["actions"][:2] == ["generate root", "sign intermediate"]

    first = run(ansible_home, ready, task("ca", "vault_pki_ca", args))
    assert_ok(first)
    assert first.changed == 1
    second = run(ansible_home, ready, task("ca", "vault_pki_ca", args))
    assert_ok(second)
    assert second.changed == 0, results(second)["ca"]["actions"]
    ca = results(second)["ca"]
    root = x509.load_pem_x509_certificate(ca["root_certificate"].encode())
    intermediate = x509.load_pem_x509_certificate(ca["intermediate_certificate"].encode())

    issued = ready.client().adapter.post("/v1/pki_int/issue/cdc-server", json={"common_name": "kafka-1.cdc.internal"})
    leaf = x509.load_pem_x509_certificate(issued["data"]["certificate"].encode())
    leaf.verify_directly_issued_by(intermediate)
    intermediate.verify_directly_issued_by(root)
    root.verify_directly_issued_by(root)
    assert [c.strip() for c in issued["data"]["ca_chain"]][0] == ca["intermediate_certificate"].strip()

    # Closer to expiry than renew_before: re-signed, and the new intermediate issues from then on.
    renewed = run(ansible_home, ready, task("ca", "vault_pki_ca", {**args, "renew_before": "50000h"}))
    assert_ok(renewed)
    assert results(renewed)["ca"]["actions"] == ["sign intermediate"]
    new_intermediate = x509.load_pem_x509_certificate(results(renewed)["ca"]["intermediate_certificate"].encode())
    assert new_intermediate != intermediate
    new_intermediate.verify_directly_issued_by(root)
    reissued = ready.client().adapter.post("/v1/pki_int/issue/cdc-server", json={"common_name": "kafka-2.cdc.internal"})
    x509.load_pem_x509_certificate(reissued["data"]["certificate"].encode()).verify_directly_issued_by(new_intermediate)


def write_offline_root(directory) -> tuple[str, str]:
    """A root CA made here, as the controller CA is: its key stays in a local file."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP384R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "CDC Offline Root")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA384())
    )
    cert_path, key_path = directory / "root.pem", directory / "root.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        )
    )
    key_path.chmod(0o600)
    return str(cert_path), str(key_path)


def test_pki_ca_offline_root_signs_locally_key_never_sent(ansible_home, ready, tmp_path):
    from cryptography import x509

    cert_path, key_path = write_offline_root(tmp_path)
    conn = ready.conn(ready.root_token)
    mount = task(
        "pki_off", "vault_mount", {**conn, "path": "pki_off", "type": "pki", "config": {"max_lease_ttl": "43800h"}}
    )
    pki_role = task(
        "role",
        "vault_object",
        {**conn, "path": "pki_off/roles/svc", "data": {"allow_any_name": True, "ttl": "1h", "key_type": "ec"}},
    )
    args = {
        **conn,
        "root_mount": "pki_root_unused",
        "root_signer_cert": cert_path,
        "root_signer_key": key_path,
        "intermediate_mount": "pki_off",
        "intermediate_common_name": "CDC Offline Intermediate",
    }
    predicted = run(ansible_home, ready, mount, pki_role, task("ca", "vault_pki_ca", args))
    assert_ok(predicted)
    assert results(predicted)["ca"]["actions"] == ["sign intermediate with the offline root"]
    again = run(ansible_home, ready, task("ca", "vault_pki_ca", args))
    assert_ok(again)
    assert again.changed == 0, results(again)["ca"]["actions"]
    assert "PRIVATE KEY" not in output_of(again) and "PRIVATE KEY" not in output_of(predicted)

    root = x509.load_pem_x509_certificate(open(cert_path, "rb").read())
    intermediate = x509.load_pem_x509_certificate(results(again)["ca"]["intermediate_certificate"].encode())
    intermediate.verify_directly_issued_by(root)
    usage = intermediate.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.key_cert_sign and usage.crl_sign  # Vault can sign certificates and CRLs with it
    # No root exists in Vault in this mode.
    assert not ready.client().adapter.get("/v1/sys/mounts").get("data", {}).get("pki_root_unused/")
    issued = ready.client().adapter.post("/v1/pki_off/issue/svc", json={"common_name": "connect-1"})
    x509.load_pem_x509_certificate(issued["data"]["certificate"].encode()).verify_directly_issued_by(intermediate)
    assert issued["data"]["ca_chain"][-1].strip() == open(cert_path).read().strip()


# -- vault_secret lookup -----------------------------------------------------------------------


def test_lookup_creates_once_returns_same_value_never_prints_it(ansible_home, ready):
    lookup = "lookup('cdc.pipeline.vault_secret', 'kafka/scram/connect', key='password', length=32, create=true)"
    result = run(
        ansible_home,
        ready,
        {
            "name": "vars",
            "ansible.builtin.set_fact": {
                "cdc_vault_url": ready.server.url,
                "cdc_vault_ca_cert": str(ready.server.ca_cert),
                "cdc_vault_token": ready.root_token,
            },
        },
        {"name": "created", "ansible.builtin.assert": {"that": [f"{lookup} is match('^[A-Za-z0-9]{{32}}$')"]}},
        {"name": "same", "ansible.builtin.assert": {"that": [f"{lookup} == {lookup}"]}},
    )
    assert_ok(result)
    stored = ready.client().secrets.kv.v2.read_secret_version(
        path="kafka/scram/connect", mount_point="cdc", raise_on_deleted_version=True
    )
    assert stored["data"]["metadata"]["version"] == 1
    value = stored["data"]["data"]["password"]
    assert len(value) == 32
    assert value not in output_of(result)


def test_lookup_in_check_mode_predicts_and_writes_nothing(ansible_home, ready):
    """--check: a missing secret gets a value of the right shape, and the store still has no such path;
    an existing one is read as it is. The control: the same lookup without --check stores it."""
    existing = "lookup('cdc.pipeline.vault_secret', 'checkmode/existing', key='password', create=true)"
    missing = "lookup('cdc.pipeline.vault_secret', 'checkmode/missing', key='password', create=true)"
    ready.client().secrets.kv.v2.create_or_update_secret(
        path="checkmode/existing", secret={"password": "kept-as-it-is"}, mount_point="cdc"
    )
    settings = {
        "name": "vars",
        "ansible.builtin.set_fact": {
            "cdc_vault_url": ready.server.url,
            "cdc_vault_ca_cert": str(ready.server.ca_cert),
            "cdc_vault_token": ready.root_token,
        },
    }
    result = run(
        ansible_home,
        ready,
        settings,
        {"name": "predicted", "ansible.builtin.assert": {"that": [f"{missing} is match('^[A-Za-z0-9]{{32}}$')"]}},
        {"name": "read", "ansible.builtin.assert": {"that": [f"{existing} == 'kept-as-it-is'"]}},
        check=True,
    )
    assert_ok(result)
    import hvac

    with pytest.raises(hvac.exceptions.InvalidPath):
        ready.client().secrets.kv.v2.read_secret_version(path="checkmode/missing", mount_point="cdc")

    control = run(
        ansible_home,
        ready,
        settings,
        {"name": "created", "ansible.builtin.assert": {"that": [f"{missing} is match('^[A-Za-z0-9]{{32}}$')"]}},
    )
    assert_ok(control)
    stored = ready.client().secrets.kv.v2.read_secret_version(
        path="checkmode/missing", mount_point="cdc", raise_on_deleted_version=True
    )
    assert len(stored["data"]["data"]["password"]) == 32


def test_lookup_racing_forks_all_get_the_one_stored_value(ansible_home, ready):
    """Many hosts creating the same secret at once (forks of one run): one value, one version.

    The lookup's code runs in threads against the real server, all released at once by a barrier;
    each round uses fresh paths. Before the fix a fork could read "nothing", then the version another
    fork had just written, and overwrite it: two PostgreSQL hosts then held different passwords.
    """
    sys.path.insert(0, str(ansible_home / "collections"))
    from ansible_collections.cdc.pipeline.plugins.lookup.vault_secret import KvSecret
    from ansible_collections.cdc.pipeline.plugins.module_utils.vault import Vault

    params = {**ready.conn(ready.root_token), "validate_certs": True, "client_cert": None, "client_key": None}
    params["timeout"] = 30
    forks, rounds = 12, 5
    for round_number in range(rounds):
        paths = [f"race/{round_number}/{name}" for name in ("postgres", "replication", "vault-admin")]
        barrier = threading.Barrier(forks)

        def one_fork(_index, paths=paths, barrier=barrier):
            vault = Vault(params, need_token=True)
            barrier.wait(timeout=60)
            return [KvSecret(vault, "cdc", path).get_or_create("password", True, 32) for path in paths]

        with concurrent.futures.ThreadPoolExecutor(max_workers=forks) as pool:
            answers = list(pool.map(one_fork, range(forks)))
        for position, path in enumerate(paths):
            seen = {answer[position] for answer in answers}
            stored = ready.client().secrets.kv.v2.read_secret_version(
                path=path, mount_point="cdc", raise_on_deleted_version=True
            )["data"]
            assert seen == {stored["data"]["password"]}, f"{path}: {len(seen)} different values among {forks} forks"
            assert stored["metadata"]["version"] == 1, f"{path} was written {stored['metadata']['version']} times"


# -- vault_cluster_info ------------------------------------------------------------------------


def test_cluster_info_reports_raft(ansible_home, ready):
    result = run(ansible_home, ready, task("info", "vault_cluster_info", ready.conn(ready.root_token)), check=True)
    assert_ok(result)
    info = results(result)["info"]
    assert info["initialized"] is True
    assert info["sealed"] is False
    assert info["voters"] == 1
    assert info["leader"] == "bao-test-1"
    assert info["autopilot"]["healthy"] is True
    assert info["version"] == "2.7.2"


# -- refusals: one clear message each, nothing written -----------------------------------------


def test_bad_inputs_fail_clearly_and_write_nothing(ansible_home, ready):
    client = ready.client()
    client.sys.create_or_update_policy(
        "only-read-intruder", 'path "sys/policies/acl/intruder" { capabilities = ["read"] }'
    )
    limited = client.auth.token.create(policies=["only-read-intruder"], ttl="10m")["auth"]["client_token"]
    write_policy = {"path": "sys/policies/acl/intruder", "data": {"policy": POLICY_HCL}}
    port = closed_port()
    result = run(
        ansible_home,
        ready,
        task(
            "unreachable",
            "vault_object",
            {**ready.conn("x"), "url": f"https://127.0.0.1:{port}", **write_policy},
            ignore_errors=True,
        ),
        task(
            "no ca",
            "vault_object",
            {"url": ready.server.url, "token": ready.root_token, **write_policy},
            ignore_errors=True,
        ),
        task(
            "plain http",
            "vault_object",
            {**ready.conn(ready.root_token), "url": ready.server.url.replace("https", "http"), **write_policy},
            ignore_errors=True,
        ),
        task("wrong token", "vault_object", {**ready.conn("s.not-a-real-token"), **write_policy}, ignore_errors=True),
        task("limited token", "vault_object", {**ready.conn(limited), **write_policy}, ignore_errors=True),
        task("no token", "vault_mount", {**ready.conn(), "path": "intruder", "type": "kv"}, ignore_errors=True),
    )
    messages = {name: r.get("msg", "") for name, r in results(result).items()}
    assert messages["unreachable"].startswith(f"cannot reach Vault at https://127.0.0.1:{port}")
    assert "firewall" in messages["unreachable"]
    assert "TLS verification of" in messages["no ca"] and "set ca_cert" in messages["no ca"]
    assert "use https://" in messages["plain http"]
    assert "the token was refused" in messages["wrong token"]
    assert messages["limited token"].startswith("permission denied on POST sys/policies/acl/intruder")
    assert "no Vault token" in messages["no token"]
    assert all(r.get("failed") for r in results(result).values())
    assert "intruder" not in client.sys.list_acl_policies()["data"]["keys"]
    assert "intruder/" not in client.sys.list_mounted_secrets_engines()["data"]


# -- hostile input: one battery, one play ------------------------------------------------------------
# Each case: one clear one-line message naming the option, nothing changed in the store (read back
# through its API), no secret anywhere in the run's output. Derandomised: a fixed table.

HOSTILE_SECRET = "hunter2-hostile-Zq7-secret"
# May read the mounts and generate (and delete) in the intermediate mount, but not have the root sign.
HOSTILE_NO_SIGN_POLICY = """
path "sys/mounts" { capabilities = ["read"] }
path "sys/mounts/*" { capabilities = ["read"] }
path "pki_hostile_root/*" { capabilities = ["read"] }
path "pki_hostile_int/*" { capabilities = ["read", "create", "update", "delete"] }
"""


def pki_bundle_of_another_ca() -> tuple[str, str]:
    """A root certificate with the key of ANOTHER CA (the bundle that wrote an orphan key), and that key's PEM."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    cert_path, _key_path = write_offline_root_in_memory()
    other = ec.generate_private_key(ec.SECP384R1())
    key_pem = other.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return cert_path + key_pem, key_pem


def write_offline_root_in_memory() -> tuple[str, str]:
    import tempfile

    with tempfile.TemporaryDirectory() as directory:
        cert_path, key_path = write_offline_root(Path(directory))
        return Path(cert_path).read_text(), Path(key_path).read_text()


def store_state(cluster: Cluster, pki_mounts: tuple[str, ...]) -> dict:
    """What the battery must leave as it was, read through the store's API."""
    import hvac

    client = cluster.client()

    def listing(path: str) -> list[str]:
        try:
            return sorted((client.adapter.list(path) or {}).get("data", {}).get("keys", []))
        except hvac.exceptions.InvalidPath:
            return []

    state = {
        "policies": sorted(client.sys.list_acl_policies()["data"]["keys"]),
        "mounts": sorted(client.sys.list_mounted_secrets_engines()["data"]),
        "auth": sorted(client.sys.list_auth_methods()["data"]),
    }
    for mount in pki_mounts:
        state[mount] = {"keys": listing(f"/v1/{mount}/keys"), "issuers": listing(f"/v1/{mount}/issuers")}
    return state


def hostile_vault_cases(cluster: Cluster, bundle: str, limited_token: str) -> list[tuple[str, str, dict, str]]:
    """(name, module, args, the option the message must name)."""
    conn = cluster.conn(cluster.root_token)
    policy = {"data": {"policy": POLICY_HCL}}
    pki = {**conn, "root_mount": "pki_hostile_root", "intermediate_mount": "pki_hostile_int"}
    pki_named = {**pki, "root_common_name": "Short Root", "intermediate_common_name": "Hostile Intermediate"}
    return [
        (
            "object dot-dot",
            "vault_object",
            {**conn, "path": "cdc/data/../../sys/policies/acl/hostile-1", **policy},
            "path",
        ),
        (
            "object percent dots",
            "vault_object",
            {**conn, "path": "cdc/data/%2e%2e/%2e%2e/sys/policies/acl/hostile-2", **policy},
            "path",
        ),
        ("object query", "vault_object", {**conn, "path": "sys/policies/acl/hostile-3?x=1", **policy}, "path"),
        ("object blank segment", "vault_object", {**conn, "path": "sys/policies/acl/ hostile-4", **policy}, "path"),
        ("object escape", "vault_object", {**conn, "path": "sys/policies/acl/hostile-5\u001b[2J", **policy}, "path"),
        ("object line separator", "vault_object", {**conn, "path": "sys/policies/acl/h\u2028x", **policy}, "path"),
        ("object empty segment", "vault_object", {**conn, "path": "sys/policies//acl/hostile-6", **policy}, "path"),
        ("object data as a list", "vault_object", {**conn, "path": "cdc/data/h", "data": [HOSTILE_SECRET]}, "data"),
        (
            "object unknown state",
            "vault_object",
            {**conn, "path": "cdc/data/h", "data": {"password": HOSTILE_SECRET}, "state": "sideways"},
            "state",
        ),
        ("mount dot-dot", "vault_mount", {**conn, "path": "a/../hostile", "type": "kv"}, "path"),
        ("mount dot", "vault_mount", {**conn, "path": "hostile/./x", "type": "kv"}, "path"),
        (
            "mount options as a list",
            "vault_mount",
            {**conn, "path": "hostile", "type": "kv", "options": ["v2"]},
            "options",
        ),
        ("mount without type", "vault_mount", {**conn, "path": "hostile"}, "type"),
        (
            "pki key of another CA",
            "vault_pki_ca",
            {**pki_named, "root_mount": "pki_hostile_empty", "root_pem_bundle": bundle},
            "root_pem_bundle",
        ),
        (
            "pki empty intermediate name",
            "vault_pki_ca",
            {**pki, "root_common_name": "R", "intermediate_common_name": ""},
            "intermediate_common_name",
        ),
        (
            "pki mount dot-dot",
            "vault_pki_ca",
            {**pki_named, "root_mount": "pki_hostile_root/../sys", "root_common_name": "R"},
            "root_mount",
        ),
        ("pki ttl as a word", "vault_pki_ca", {**pki_named, "intermediate_ttl": "forever"}, "intermediate_ttl"),
        ("pki key bits off", "vault_pki_ca", {**pki_named, "key_bits": 1000}, "key_bits"),
        # Passes every check, with a token that may generate the intermediate key but not have it signed: a
        # failure after the first write, whose key must be removed again.
        ("pki signing refused midway", "vault_pki_ca", {**pki_named, "token": limited_token}, "rolled back"),
        (
            "unseal timeout as a word",
            "vault_unseal",
            {**cluster.conn(), "keys": [HOSTILE_SECRET], "timeout": "soon"},
            "timeout",
        ),
        ("info unknown option", "vault_cluster_info", {**conn, "peers_wanted": 3}, "peers_wanted"),
    ]


def test_hostile_inputs_are_refused_whole_and_change_nothing(ansible_home, ready):
    started = cpu_seconds(), time.monotonic()
    client = ready.client()
    pki_mounts = ("pki_hostile_root", "pki_hostile_int", "pki_hostile_empty")
    for mount in pki_mounts:
        client.sys.enable_secrets_engine("pki", path=mount, config={"max_lease_ttl": "87600h"})
    client.adapter.post("/v1/pki_hostile_root/root/generate/internal", json={"common_name": "Short Root"})
    client.sys.create_or_update_policy("hostile-no-sign", HOSTILE_NO_SIGN_POLICY)
    limited = client.auth.token.create(policies=["hostile-no-sign"], ttl="10m")["auth"]["client_token"]
    bundle, other_key = pki_bundle_of_another_ca()
    cases = hostile_vault_cases(ready, bundle, limited)
    before = store_state(ready, pki_mounts)

    result = run(
        ansible_home, ready, *(task(name, module, args, ignore_errors=True) for name, module, args, _o in cases)
    )

    answers = results(result)
    assert len(answers) == len(cases), sorted(answers)
    problems = []
    for name, _module, _args, option in cases:
        answer = answers[name]
        msg = str(answer.get("msg", ""))
        if not answer.get("failed") or option not in msg or "\n" in msg or "Traceback" in msg:
            problems.append(f"{name}: {msg!r}")
    assert not problems, "\n".join(problems)
    assert store_state(ready, pki_mounts) == before
    output = output_of(result)
    key_body = other_key.splitlines()[1]
    leaked = [value for value in (HOSTILE_SECRET, ready.root_token, limited, key_body) if value in output]
    assert not leaked, "secrets in the output of the battery"
    cpu, wall = cpu_seconds() - started[0], time.monotonic() - started[1]
    print(f"vault hostile battery: {len(cases)} cases, {wall:.1f} s wall, {cpu:.1f} s CPU (pytest and its plays)")


def cpu_seconds() -> float:
    """CPU of this process and of its finished children (the ansible-playbook runs)."""
    import resource

    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def test_sealed_server_fails_clearly_and_writes_nothing(ansible_home, ready):
    client = ready.client()
    client.sys.seal()
    try:
        result = run(
            ansible_home,
            ready,
            task(
                "sealed",
                "vault_object",
                {
                    **ready.conn(ready.root_token),
                    "path": "sys/policies/acl/while-sealed",
                    "data": {"policy": POLICY_HCL},
                },
            ),
        )
        assert result.failed
        assert result.failure_text.count("is sealed: unseal it") == 1, result.failure_text
    finally:
        for key in ready.keys[:2]:
            client.sys.submit_unseal_key(key)
        wait_active(ready)
    assert "while-sealed" not in client.sys.list_acl_policies()["data"]["keys"]
