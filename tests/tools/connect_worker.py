# Copyright: cdc.pipeline maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""One Kafka Connect worker in distributed mode on loopback, secured like production, for the connector modules.

- Kafka: the secured single node of kafka_secure_server.py (SASL_SSL, SCRAM-SHA-512, ACLs). The
  worker logs in as the admin (a super user); the `connect`/`sink` principals and their ACLs are the
  Kafka role's business and are tested by Molecule.
- REST: `listeners=https://127.0.0.1:<port>` with `listeners.https.ssl.client.auth=required`. The
  server certificate is the broker's (SAN 127.0.0.1 and localhost), put in a PKCS12 keystore; the
  truststore holds the test CA, so the test client certificate is accepted and a request without a
  certificate is refused in the TLS handshake, as on the production workers (docs/kafka.md).
- Worker: Connect 4.3.1 from the staged kafka-4.3.1 distribution (our workers run 4.3 or 4.4; the
  broker is 4.4.0).
- Plugin: the FileStream source and sink connectors (connect-file). The staged distributions are
  built from Maven Central jars and do not carry connect-file (Apache's tarball does), and the Maven
  mirror reachable from here serves connect-file up to 4.3.1, not 4.4.0; 4.3.1 does not load on a
  4.4 worker (it calls AppInfoParser, which 4.4 moved), hence the 4.3.1 worker. The jar is fetched
  once from Maven Central into the artifact download cache, pinned by sha256 (the cache layout of
  scripts/stage_artifacts.py), and loaded from plugin.path. The file source keeps real source
  offsets ({"filename"} -> {"position"}), which is what the offsets module is tested against.
- Secrets by reference: DirectoryConfigProvider with allowed.paths on a directory of this test, so
  connector configs can carry `${directory:<dir>:<file>}` as production does.

The independent REST client here (urllib with the test client certificate) is what the tests check
the modules' work with; it never uses the collection's code.
"""

from __future__ import annotations

import contextlib
import json
import re
import ssl
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from scripts import stage_artifacts as stage
from tests.tools.kafka_secure_server import ADMIN_USER, SCRAM_MECHANISM, SecureKafka, random_password
from tests.tools.local_services import (
    CONNECT_START_TIMEOUT_S,
    LOOPBACK,
    extract,
    free_ports,
    jvm_env,
    running,
    staged_output,
    wait_until,
    write_properties,
)

FILE_SOURCE_CLASS = "org.apache.kafka.connect.file.FileStreamSourceConnector"
FILE_SINK_CLASS = "org.apache.kafka.connect.file.FileStreamSinkConnector"
# org.apache.kafka:connect-file:4.3.1 from Maven Central (sha256 of the jar; its .sha1 is
# 1b0cdb7ee782e19e909d6a7312b22da1d49a08ee, checked when this was pinned).
CONNECT_FILE_JAR = {
    "url": "https://repo1.maven.org/maven2/org/apache/kafka/connect-file/4.3.1/connect-file-4.3.1.jar",
    "sha256": "e330c491309d8f839f2abd7260c72a3687d6d82ecf2ba0f7699a46d41a46dcac",
    "file": "connect-file-4.3.1.jar",
}
CONNECT_ARTIFACT = "kafka-4.3.1"  # matches connect-file 4.3.1
REST_TIMEOUT_S = 30


def connect_file_plugin(plugin_root: Path) -> Path:
    """plugin_root/connect-file/ holding the pinned jar (downloaded once into the cache); skip if unobtainable."""
    cache_dir = stage.artifact_dir_from(None) / stage.DOWNLOAD_SUBDIR
    try:
        jar, _reused = stage.fetch_pinned(CONNECT_FILE_JAR, cache_dir)
    except stage.StageError as exc:
        pytest.skip(f"connect-file plugin not cached and not downloadable from Maven Central: {exc}")
    plugin_dir = plugin_root / "connect-file"
    plugin_dir.mkdir(parents=True, exist_ok=True)
    (plugin_dir / jar.name).write_bytes(jar.read_bytes())
    return plugin_root


@dataclass
class RestStores:
    keystore: Path
    truststore: Path
    password: str = field(repr=False)


def rest_stores(kafka: SecureKafka, directory: Path) -> RestStores:
    """PKCS12 keystore (the broker's key and chain) and truststore (the test CA) for Jetty.

    Jetty reads JKS/PKCS12 only (no PEM keystores for the REST listener). The truststore is made
    with keytool: Java trusts a PKCS12 certificate entry only with its own trusted-usage attribute,
    which the Python libraries do not write.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import pkcs12

    pem = kafka.tls.server_keystore.read_bytes()
    key = serialization.load_pem_private_key(pem, password=None)
    leaf, *chain = x509.load_pem_x509_certificates(pem)
    password = random_password()
    stores = RestStores(directory / "rest-keystore.p12", directory / "rest-truststore.p12", password)
    stores.keystore.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"connect", key, leaf, chain, serialization.BestAvailableEncryption(password.encode())
        )
    )
    subprocess.run(
        [
            "keytool", "-importcert", "-noprompt", "-alias", "cdc-test-ca", "-file", str(kafka.tls.ca_cert),
            "-keystore", str(stores.truststore), "-storetype", "PKCS12", "-storepass", password,
        ],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    for path in (stores.keystore, stores.truststore):
        path.chmod(0o600)
    return stores


def kafka_client_settings(kafka: SecureKafka) -> dict[str, object]:
    """SASL_SSL as admin, for the worker itself and (prefixed) for its producers, consumers and admin clients."""
    jaas = (
        "org.apache.kafka.common.security.scram.ScramLoginModule required "
        f'username="{ADMIN_USER}" password="{kafka.admin_password}";'
    )
    base = {
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": SCRAM_MECHANISM,
        "sasl.jaas.config": jaas,
        "ssl.truststore.type": "PEM",
        "ssl.truststore.location": kafka.tls.ca_cert,
        "ssl.endpoint.identification.algorithm": "https",
    }
    settings = dict(base)
    for prefix in ("producer.", "consumer.", "admin."):
        settings.update({prefix + key: value for key, value in base.items()})
    return settings


def worker_settings(
    kafka: SecureKafka,
    stores: RestStores,
    plugin_path: Path,
    secrets_dir: Path,
    rest_port: int,
    plugin_discovery: str = "service_load",
) -> dict[str, object]:
    settings: dict[str, object] = {
        "bootstrap.servers": kafka.bootstrap,
        "group.id": "cdc-test-connect",
        "key.converter": "org.apache.kafka.connect.json.JsonConverter",
        "value.converter": "org.apache.kafka.connect.json.JsonConverter",
        "config.storage.topic": "cdc-test-connect-configs",
        "offset.storage.topic": "cdc-test-connect-offsets",
        "status.storage.topic": "cdc-test-connect-status",
        "config.storage.replication.factor": 1,
        "offset.storage.replication.factor": 1,
        "offset.storage.partitions": 1,
        "status.storage.replication.factor": 1,
        "status.storage.partitions": 1,
        # Source offsets reach the offsets topic within a second (the default is a minute).
        "offset.flush.interval.ms": 1000,
        # One worker: nothing to wait for when it (re)joins.
        "scheduled.rebalance.max.delay.ms": 0,
        "plugin.path": plugin_path,
        # Every plugin here has ServiceLoader manifests: skip the reflective scan of libs/ (17 s on a busy
        # machine; the worker itself suggests it in its log).
        "plugin.discovery": plugin_discovery,
        "listeners": f"https://{LOOPBACK}:{rest_port}",
        "rest.advertised.host.name": LOOPBACK,
        "rest.advertised.port": rest_port,
        "rest.advertised.listener": "https",
        "listeners.https.ssl.client.auth": "required",
        "listeners.https.ssl.keystore.type": "PKCS12",
        "listeners.https.ssl.keystore.location": stores.keystore,
        "listeners.https.ssl.keystore.password": stores.password,
        "listeners.https.ssl.key.password": stores.password,
        "listeners.https.ssl.truststore.type": "PKCS12",
        "listeners.https.ssl.truststore.location": stores.truststore,
        "listeners.https.ssl.truststore.password": stores.password,
        "listeners.https.ssl.enabled.protocols": "TLSv1.3,TLSv1.2",
        "listeners.https.ssl.endpoint.identification.algorithm": "https",
        "config.providers": "directory",
        "config.providers.directory.class": "org.apache.kafka.common.config.provider.DirectoryConfigProvider",
        "config.providers.directory.param.allowed.paths": secrets_dir,
    }
    settings.update(kafka_client_settings(kafka))
    return settings


class RestError(Exception):
    def __init__(self, status: int, body: object):
        super().__init__(f"HTTP {status}: {body}")
        self.status = status
        self.body = body


@dataclass
class ConnectWorker:
    kafka: SecureKafka
    url: str
    root: Path
    secrets_dir: Path
    log: Path
    cluster_id: str = ""
    ready_after_s: float = 0.0  # from the worker's start to its REST API listing the awaited plugin

    def ssl_context(self, client_cert: bool = True) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(self.kafka.tls.ca_cert))
        if client_cert:
            context.load_cert_chain(str(self.kafka.tls.client_cert), str(self.kafka.tls.client_key))
        return context

    def request(self, method: str, path: str, body: object = None) -> object:
        """The independent check client: parsed JSON (None for an empty body); RestError for HTTP >= 400."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=self.ssl_context())
        )
        try:
            with opener.open(request, timeout=REST_TIMEOUT_S) as response:
                text = response.read()
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            try:
                parsed = json.loads(raw)
            except ValueError:
                parsed = raw.decode(errors="replace")
            raise RestError(exc.code, parsed) from None
        return json.loads(text) if text else None

    def connectors(self) -> list[str]:
        return sorted(self.request("GET", "/connectors"))

    def config(self, name: str) -> dict | None:
        try:
            return self.request("GET", f"/connectors/{quote(name)}/config")
        except RestError as exc:
            if exc.status == 404:
                return None
            raise

    def status(self, name: str) -> dict:
        return self.request("GET", f"/connectors/{quote(name)}/status")

    def offsets(self, name: str) -> list[dict]:
        return self.request("GET", f"/connectors/{quote(name)}/offsets")["offsets"]

    def task_starts(self, name: str) -> int:
        """How many times the worker created a task of name (from its log): a restart shows up here."""
        if not self.log.is_file():
            return 0
        pattern = re.compile(r"Creating task %s-\d+\b" % re.escape(name))
        return len(pattern.findall(self.log.read_text(errors="replace")))

    def write_secret(self, file_name: str, value: str) -> str:
        """A file the DirectoryConfigProvider may read; returns the ${directory:...} reference to it."""
        path = self.secrets_dir / file_name
        path.write_text(value)
        path.chmod(0o600)
        return "${directory:%s:%s}" % (self.secrets_dir, file_name)


def quote(name: str) -> str:
    return urllib.parse.quote(name, safe="")


def worker_ready(worker: ConnectWorker, ready_class: str = FILE_SOURCE_CLASS) -> bool:
    plugins = worker.request("GET", "/connector-plugins")
    info = worker.request("GET", "/")
    worker.cluster_id = info.get("kafka_cluster_id", "")
    return any(plugin["class"] == ready_class for plugin in plugins)


@contextlib.contextmanager
def started_connect_worker(
    kafka: SecureKafka,
    root: Path,
    *,
    connect_artifact: str = CONNECT_ARTIFACT,
    file_plugin: bool = True,
    add_plugins: Callable[[Path], None] | None = None,
    classpath: Sequence[Path] = (),
    plugin_discovery: str = "service_load",
    before_start: Callable[[Path, Path, dict[str, str]], None] | None = None,
    ready_class: str = FILE_SOURCE_CLASS,
) -> Iterator[ConnectWorker]:
    """Start the worker in root against kafka; stop it (SIGTERM, then SIGKILL) when the block ends.

    The defaults give the worker the connector module tests use (Connect 4.3.1, the FileStream
    plugin, service_load discovery). Other tests may pick another staged distribution, leave the
    FileStream plugin out, add plugins (add_plugins(plugin_path)), extra jars on the worker's class
    path (CLASSPATH), another plugin.discovery mode, a step before the start (before_start(home,
    plugin_path, env), e.g. connect-plugin-path sync-manifests) and the plugin class whose listing
    means "ready".
    """
    root.mkdir(parents=True, exist_ok=True)
    tarball = staged_output(connect_artifact)
    extract(tarball, root / "dist")
    home = root / "dist" / tarball.name.removesuffix(".tgz")
    if file_plugin:
        plugin_path = connect_file_plugin(root / "plugins")
    else:
        plugin_path = root / "plugins"
        plugin_path.mkdir(parents=True, exist_ok=True)
    if add_plugins is not None:
        add_plugins(plugin_path)
    stores = rest_stores(kafka, root)
    secrets_dir = root / "secrets"
    secrets_dir.mkdir(mode=0o700)
    (rest_port,) = free_ports(1)
    properties = write_properties(
        root / "connect-distributed.properties",
        worker_settings(kafka, stores, plugin_path, secrets_dir, rest_port, plugin_discovery),
    )
    properties.chmod(0o600)
    log_dir = root / "logs"
    env = jvm_env(log_dir, "-Xms128M -Xmx512M")
    # Started for a few minutes of tests: start fast rather than run fast (C1 only, serial GC).
    env["KAFKA_JVM_PERFORMANCE_OPTS"] = "-XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true"
    if classpath:
        env["CLASSPATH"] = ":".join(str(path) for path in classpath)
    if before_start is not None:
        before_start(home, plugin_path, env)
    worker = ConnectWorker(
        kafka=kafka,
        url=f"https://{LOOPBACK}:{rest_port}",
        root=root,
        secrets_dir=secrets_dir,
        log=log_dir / "connect.log",
    )
    console = root / "connect-console.log"
    argv = [str(home / "bin" / "connect-distributed.sh"), str(properties)]
    started = time.monotonic()
    with running(argv, env, console) as process:
        wait_until(
            lambda: worker_ready(worker, ready_class),
            CONNECT_START_TIMEOUT_S,
            f"Connect worker (HTTPS REST with a client certificate, {ready_class} loaded)",
            process,
            console,
        )
        worker.ready_after_s = time.monotonic() - started
        yield worker
