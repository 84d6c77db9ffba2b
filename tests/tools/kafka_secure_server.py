# Copyright: cdc.pipeline maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A secured single-node KRaft cluster on loopback for the Kafka module tests.

Runs the staged Kafka distribution (`make artifacts`) the way production runs it, minus the
number of nodes: clients reach a SASL_SSL listener (SCRAM-SHA-512 over TLS 1.2+), the admin
user is bootstrapped by `kafka-storage format --add-scram`, the StandardAuthorizer denies what
no ACL allows (allow.everyone.if.no.acl.found=false) and only User:admin is a super user.

- Certificates are made here with `cryptography`: a CA, a server certificate for 127.0.0.1 and
  localhost (server and client auth, the broker also connects to itself), a client certificate
  for the mTLS path of the modules, and an unrelated CA for the "wrong ca_cert" case. The broker
  reads them as PEM (ssl.keystore.type=PEM / ssl.truststore.type=PEM), so no keytool is needed.
- Inter-broker traffic uses the SASL_SSL listener as admin. The controller listener stays on
  loopback with SASL_PLAINTEXT/PLAIN and a static JAAS user (SCRAM cannot authenticate controller
  connections: its credentials live in the metadata the controller serves), so the broker talks
  to the controller as User:admin too and no ANONYMOUS super user is needed.

The process helpers come from test_kafka_distribution (the unsecured smoke test of the same
tarball), so both start Kafka the same way.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import logging
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.tools.local_services import (
    BROKER_START_TIMEOUT_S,
    KAFKA_ARTIFACT,
    LOOPBACK,
    broker_settings,
    extract,
    free_ports,
    jvm_env,
    run_tool,
    running,
    staged_output,
    wait_until,
    write_properties,
)

ADMIN_USER = "admin"
SCRAM_MECHANISM = "SCRAM-SHA-512"
AUTHORIZER = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
CLIENT_TIMEOUT_S = 30


def random_password() -> str:
    """Letters and digits only: safe inside the JAAS line and the --add-scram argument."""
    return secrets.token_hex(16)


@dataclass
class Tls:
    ca_cert: Path
    server_keystore: Path  # private key + certificate chain, the PEM keystore of the broker
    client_cert: Path
    client_key: Path
    other_ca_cert: Path  # a CA that signed nothing here


def _name(common_name: str):
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _ca(common_name: str, now: datetime.datetime):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(_name(common_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _leaf(ca_key, ca_cert, common_name: str, now: datetime.datetime, *, server: bool):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID

    key = ec.generate_private_key(ec.SECP256R1())
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
    )
    if server:
        # The broker connects to its own listener (inter-broker) and presents this certificate
        # as a client too, hence both usages.
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(LOOPBACK)), x509.DNSName("localhost")]),
            critical=False,
        ).add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
            critical=False,
        )
    else:
        builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
    return key, builder.sign(ca_key, hashes.SHA256())


def make_tls(directory: Path) -> Tls:
    from cryptography.hazmat.primitives import serialization

    def pem_cert(cert) -> bytes:
        return cert.public_bytes(serialization.Encoding.PEM)

    def pem_key(key) -> bytes:
        return key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    now = datetime.datetime.now(datetime.UTC)
    ca_key, ca_cert = _ca("cdc test kafka CA", now)
    server_key, server_cert = _leaf(ca_key, ca_cert, "localhost", now, server=True)
    client_key, client_cert = _leaf(ca_key, ca_cert, "ansible-controller", now, server=False)
    _other_key, other_ca = _ca("cdc unrelated CA", now)

    directory.mkdir(parents=True, exist_ok=True)
    tls = Tls(
        ca_cert=directory / "ca.pem",
        server_keystore=directory / "server-keystore.pem",
        client_cert=directory / "client.pem",
        client_key=directory / "client-key.pem",
        other_ca_cert=directory / "other-ca.pem",
    )
    tls.ca_cert.write_bytes(pem_cert(ca_cert))
    tls.other_ca_cert.write_bytes(pem_cert(other_ca))
    tls.server_keystore.write_bytes(pem_key(server_key) + pem_cert(server_cert) + pem_cert(ca_cert))
    tls.client_cert.write_bytes(pem_cert(client_cert))
    tls.client_key.write_bytes(pem_key(client_key))
    for private in (tls.server_keystore, tls.client_key):
        private.chmod(0o600)
    return tls


def secure_settings(
    data_dir: Path, broker_port: int, controller_port: int, tls: Tls, admin_password: str
) -> dict[str, object]:
    settings = broker_settings(data_dir, broker_port, controller_port)
    scram_jaas = (
        "org.apache.kafka.common.security.scram.ScramLoginModule required "
        f'username="{ADMIN_USER}" password="{admin_password}";'
    )
    plain_jaas = (
        "org.apache.kafka.common.security.plain.PlainLoginModule required "
        f'username="{ADMIN_USER}" password="{admin_password}" user_{ADMIN_USER}="{admin_password}";'
    )
    settings.update(
        {
            "listeners": f"SASL_SSL://{LOOPBACK}:{broker_port},CONTROLLER://{LOOPBACK}:{controller_port}",
            "advertised.listeners": f"SASL_SSL://{LOOPBACK}:{broker_port}",
            "listener.security.protocol.map": "CONTROLLER:SASL_PLAINTEXT,SASL_SSL:SASL_SSL",
            "inter.broker.listener.name": "SASL_SSL",
            "sasl.mechanism.inter.broker.protocol": SCRAM_MECHANISM,
            "sasl.mechanism.controller.protocol": "PLAIN",
            "listener.name.sasl_ssl.sasl.enabled.mechanisms": SCRAM_MECHANISM,
            "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config": scram_jaas,
            "listener.name.controller.sasl.enabled.mechanisms": "PLAIN",
            "listener.name.controller.plain.sasl.jaas.config": plain_jaas,
            "ssl.keystore.type": "PEM",
            "ssl.keystore.location": tls.server_keystore,
            "ssl.truststore.type": "PEM",
            "ssl.truststore.location": tls.ca_cert,
            "ssl.protocol": "TLSv1.3",
            "ssl.enabled.protocols": "TLSv1.3,TLSv1.2",
            "ssl.client.auth": "requested",
            "ssl.endpoint.identification.algorithm": "https",
            "authorizer.class.name": AUTHORIZER,
            "allow.everyone.if.no.acl.found": "false",
            "super.users": f"User:{ADMIN_USER}",
            "auto.create.topics.enable": "false",
            "connection.failed.authentication.delay.ms": 100,
        }
    )
    return settings


@dataclass
class SecureKafka:
    home: Path
    root: Path
    bootstrap: str
    tls: Tls
    admin_password: str
    env: dict[str, str] = field(repr=False)

    def client_config(self, user: str = ADMIN_USER, password: str | None = None, **extra) -> dict:
        """confluent-kafka settings for a SASL_SSL login as user (admin by default)."""
        config = {
            "bootstrap.servers": self.bootstrap,
            "security.protocol": "SASL_SSL",
            "sasl.mechanism": SCRAM_MECHANISM,
            "sasl.username": user,
            "sasl.password": self.admin_password if password is None else password,
            "ssl.ca.location": str(self.tls.ca_cert),
            "ssl.endpoint.identification.algorithm": "https",
            "broker.address.family": "v4",
        }
        config.update(extra)
        return config

    def admin(self, user: str = ADMIN_USER, password: str | None = None):
        from confluent_kafka.admin import AdminClient

        return AdminClient(self.client_config(user, password, error_cb=lambda _err: None, logger=quiet_logger()))


def quiet_logger() -> logging.Logger:
    """A logger for librdkafka that drops everything (its default is stderr, noise while a broker starts)."""
    logger = logging.Logger("kafka-test-client")
    logger.addHandler(logging.NullHandler())
    return logger


def secure_broker_ready(config: dict) -> bool:
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({**config, "error_cb": lambda _err: None, "logger": quiet_logger()})
    return bool(admin.list_topics(timeout=5).brokers)


@contextlib.contextmanager
def started_secure_kafka(root: Path) -> Iterator[SecureKafka]:
    """Format and start the node in root; stop it (SIGTERM, then SIGKILL) when the block ends."""
    pytest.importorskip("confluent_kafka", reason="confluent-kafka is not installed")
    pytest.importorskip("cryptography", reason="cryptography is not installed")
    tarball = staged_output(KAFKA_ARTIFACT)
    extract(tarball, root)
    home = root / tarball.name.removesuffix(".tgz")
    env = jvm_env(root / "logs", "-Xms256M -Xmx512M")
    # A test broker lives for a minute: start fast rather than run fast (C1 only, serial GC).
    env["KAFKA_JVM_PERFORMANCE_OPTS"] = "-XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true"
    tls = make_tls(root / "tls")
    admin_password = random_password()
    broker_port, controller_port = free_ports(2)
    properties = write_properties(
        root / "server.properties",
        secure_settings(root / "data", broker_port, controller_port, tls, admin_password),
    )
    properties.chmod(0o600)
    storage = home / "bin" / "kafka-storage.sh"
    cluster_id = run_tool(storage, "random-uuid", env=env).strip()
    run_tool(
        storage,
        "format", "--standalone", "-t", cluster_id, "-c", str(properties),
        "--add-scram", f"{SCRAM_MECHANISM}=[name={ADMIN_USER},password={admin_password}]",
        env=env,
    )  # fmt: skip
    kafka = SecureKafka(
        home=home,
        root=root,
        bootstrap=f"{LOOPBACK}:{broker_port}",
        tls=tls,
        admin_password=admin_password,
        env=env,
    )
    console = root / "broker-console.log"
    argv = [str(home / "bin" / "kafka-server-start.sh"), str(properties)]
    with running(argv, env, console) as process:
        wait_until(
            lambda: secure_broker_ready(kafka.client_config()),
            BROKER_START_TIMEOUT_S,
            "secured broker (SASL_SSL as admin)",
            process,
            console,
        )
        yield kafka


def wait_for(check, timeout_s: float, what: str):
    """Poll check() until truthy (bounded); fail naming what did not happen."""
    deadline = time.monotonic() + timeout_s
    last = None
    while time.monotonic() < deadline:
        try:
            result = check()
        except Exception as exc:  # noqa: BLE001 - any failure means "not yet"
            last, result = exc, None
        if result:
            return result
        time.sleep(0.5)
    pytest.fail(f"{what}: not true after {timeout_s} s (last error: {last})")


@pytest.fixture(scope="module")
def secure_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureKafka]:
    """A started secured node for a whole test module."""
    with started_secure_kafka(tmp_path_factory.mktemp("kafka-secure")) as kafka:
        yield kafka
