# Copyright: cdc.pipeline maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""How an Apache Cassandra 5 node of the tests is configured and started. TEST CODE ONLY.

One place for the node's cassandra.yaml and JVM command, used by the integration tests' node on
loopback (tests/tools/cassandra_server.py) and by the lab's stand-in for ScyllaDB
(playbooks/lab/scylla_standin.yml, through `python -m tests.tools.cassandra_node render`).

The node runs from the staged `cassandra-5.0.9` artifact (the runtime closure of
org.apache.cassandra:cassandra-all from Maven Central, lib/*.jar, no configuration):
- authentication and authorization as in production: PasswordAuthenticator, CassandraAuthorizer,
  CassandraRoleManager; auth caches off (validity 0), so a grant or a new password counts at once;
- clients reach only a TLS port (client_encryption_options with a PEM keystore: key and chain);
- started for a short life, not throughput: serial GC and C1 only, a small heap, no JMX, no gossip
  settling, no superuser setup delay, bcrypt at its minimum cost, and no minimum interval between
  two password changes of a role (Cassandra 5 defaults to 5 s).
The JVM options are those of Cassandra's conf/jvm17-server.options that Java 17 needs (module
exports/opens) plus the jamm agent, as bin/cassandra.in.sh adds it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import ssl
import sys
from collections.abc import Iterator
from pathlib import Path

MAIN_CLASS = "org.apache.cassandra.service.CassandraDaemon"

# conf/jvm17-server.options of Cassandra 5.0 (JPMS section): what Cassandra needs from the JDK.
JAVA17_MODULE_OPTIONS = (
    "--add-exports java.base/jdk.internal.misc=ALL-UNNAMED",
    "--add-exports java.management.rmi/com.sun.jmx.remote.internal.rmi=ALL-UNNAMED",
    "--add-exports java.rmi/sun.rmi.registry=ALL-UNNAMED",
    "--add-exports java.rmi/sun.rmi.server=ALL-UNNAMED",
    "--add-exports java.sql/java.sql=ALL-UNNAMED",
    "--add-exports java.base/java.lang.ref=ALL-UNNAMED",
    "--add-exports jdk.unsupported/sun.misc=ALL-UNNAMED",
    "--add-exports jdk.compiler/com.sun.tools.javac.file=ALL-UNNAMED",
    "--add-exports jdk.attach/sun.tools.attach=ALL-UNNAMED",
    "--add-opens java.base/java.lang.module=ALL-UNNAMED",
    "--add-opens java.base/jdk.internal.loader=ALL-UNNAMED",
    "--add-opens java.base/jdk.internal.ref=ALL-UNNAMED",
    "--add-opens java.base/jdk.internal.reflect=ALL-UNNAMED",
    "--add-opens java.base/jdk.internal.math=ALL-UNNAMED",
    "--add-opens java.base/jdk.internal.module=ALL-UNNAMED",
    "--add-opens java.base/jdk.internal.util.jar=ALL-UNNAMED",
    "--add-opens jdk.management/com.sun.management.internal=ALL-UNNAMED",
    "--add-opens java.base/sun.nio.ch=ALL-UNNAMED",
    "--add-opens java.base/java.io=ALL-UNNAMED",
    "--add-opens java.base/java.lang.reflect=ALL-UNNAMED",
    "--add-opens jdk.compiler/com.sun.tools.javac=ALL-UNNAMED",
    "--add-opens java.base/java.lang=ALL-UNNAMED",
    "--add-opens java.base/java.util=ALL-UNNAMED",
)

LOGBACK_XML = """<configuration>
  <!-- INFO and up to the console (the test's log file, or the journal of the lab's unit). -->
  <appender name="STDOUT" class="ch.qos.logback.core.ConsoleAppender">
    <encoder><pattern>%-5level [%thread] %date{ISO8601} %F:%L - %msg%n</pattern></encoder>
  </appender>
  <root level="INFO"><appender-ref ref="STDOUT"/></root>
</configuration>
"""


def cassandra_yaml(
    data: Path,
    address: str,
    native_port: int,
    storage_port: int,
    keystore: Path,
    num_tokens: int = 1,
    datacenter: str | None = None,
) -> str:
    """cassandra.yaml of one node at address: TLS-only CQL on native_port with the PEM keystore (key and
    chain). num_tokens 1 puts the one token at 0; with more, Cassandra picks them at random. With a
    datacenter, the node names it (GossipingPropertyFileSnitch and cassandra-rackdc.properties beside
    this file); without, SimpleSnitch's datacenter1."""
    tokens = "num_tokens: 1\ninitial_token: 0" if num_tokens == 1 else f"num_tokens: {num_tokens}"
    snitch = "GossipingPropertyFileSnitch" if datacenter else "SimpleSnitch"
    return f"""# Written by tests/tools/cassandra_node.py: one node for tests (not ScyllaDB, not for production).
cluster_name: cdc-pipeline-test
{tokens}
partitioner: org.apache.cassandra.dht.Murmur3Partitioner
authenticator: PasswordAuthenticator
authorizer: CassandraAuthorizer
role_manager: CassandraRoleManager
roles_validity: 0ms
permissions_validity: 0ms
credentials_validity: 0ms
data_file_directories: [{data}/data]
commitlog_directory: {data}/commitlog
saved_caches_directory: {data}/saved_caches
hints_directory: {data}/hints
cdc_raw_directory: {data}/cdc_raw
commitlog_sync: periodic
commitlog_sync_period: 10000ms
auto_snapshot: false
concurrent_compactors: 1
seed_provider:
  - class_name: org.apache.cassandra.locator.SimpleSeedProvider
    parameters:
      - seeds: "{address}:{storage_port}"
listen_address: {address}
rpc_address: {address}
storage_port: {storage_port}
native_transport_port: {native_port}
start_native_transport: true
endpoint_snitch: {snitch}
client_encryption_options:
  enabled: true
  optional: false
  require_client_auth: false
  ssl_context_factory:
    class_name: org.apache.cassandra.security.PEMBasedSslContextFactory
  keystore: {keystore}
  accepted_protocols: [TLSv1.2, TLSv1.3]
"""


def rackdc_properties(datacenter: str, rack: str) -> str:
    return f"dc={datacenter}\nrack={rack}\n"


def find_jamm(jar_names: list[str]) -> str:
    """The jamm agent among the artifact's jar names (Cassandra measures memory with it)."""
    jamm = sorted(name for name in jar_names if name.startswith("jamm-") and name.endswith(".jar"))
    if not jamm:
        raise FileNotFoundError("no jamm-*.jar among the jars: is this the staged cassandra-5.0.9 artifact's lib/?")
    return jamm[-1]


def jvm_command(
    lib: Path, jamm: str, conf: Path, data: Path, logs: Path, heap: str = "512m", java: str = "java"
) -> list[str]:
    """The command that starts a node whose jars are in lib (jamm: the agent's file name there)."""
    options = [
        f"-Xms{heap}",
        f"-Xmx{heap}",
        # start fast rather than run fast: test nodes are small and short-lived
        "-XX:+UseSerialGC",
        "-XX:TieredStopAtLevel=1",
        "-Xss256k",
        "-ea",
        f"-javaagent:{lib / jamm}",
        "-Djdk.attach.allowAttachSelf=true",
        *(part for option in JAVA17_MODULE_OPTIONS for part in option.split(" ", 1)),
        "-Dio.netty.tryReflectionSetAccessible=true",
        "-Djava.net.preferIPv4Stack=true",
        f"-Dcassandra.config=file://{conf / 'cassandra.yaml'}",
        f"-Dlogback.configurationFile={conf / 'logback.xml'}",
        f"-Dcassandra.logdir={logs}",
        f"-Dcassandra.storagedir={data}",
        "-Dcassandra-foreground=yes",
        "-Dcassandra.superuser_setup_delay_ms=0",
        "-Dcassandra.skip_wait_for_gossip_to_settle=0",
        "-Dcassandra.auth_bcrypt_gensalt_log2_rounds=4",
        # Cassandra 5 lets a role's password change once per 5 s (CassandraRoleManager): the tests change one
        # by hand and let the module repair it within a second or two.
        "-Dcassandra.role_password_update_min_interval_in_ms=0",
    ]
    return [java, *options, "-cp", f"{conf}:{lib}/*", MAIN_CLASS]


def render(argv: list[str] | None = None) -> dict[str, object]:
    """The files and the command of a node, as JSON, for a playbook to write (the lab's stand-in)."""
    parser = argparse.ArgumentParser(prog="python -m tests.tools.cassandra_node render")
    parser.add_argument("--lib", type=Path, required=True, help="the unpacked artifact's lib/ (on the node)")
    parser.add_argument("--jars", required=True, help="the jar names in --lib, comma-separated (to find jamm)")
    parser.add_argument("--conf", type=Path, required=True)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--logs", type=Path, required=True)
    parser.add_argument("--address", required=True)
    parser.add_argument("--native-port", type=int, required=True)
    parser.add_argument("--storage-port", type=int, default=7000)
    parser.add_argument("--keystore", type=Path, required=True)
    parser.add_argument("--num-tokens", type=int, default=1)
    parser.add_argument("--datacenter", required=True)
    parser.add_argument("--rack", required=True)
    parser.add_argument("--heap", default="512m")
    parser.add_argument("--java", default="java")
    args = parser.parse_args(argv)
    jamm = find_jamm(args.jars.split(","))
    return {
        "cassandra_yaml": cassandra_yaml(
            args.data,
            args.address,
            args.native_port,
            args.storage_port,
            args.keystore,
            args.num_tokens,
            args.datacenter,
        ),
        "rackdc_properties": rackdc_properties(args.datacenter, args.rack),
        "logback_xml": LOGBACK_XML,
        "command": jvm_command(args.lib, jamm, args.conf, args.data, args.logs, args.heap, args.java),
    }


@contextlib.contextmanager
def cql_session(host: str, port: int, ca_cert: str, user: str, password: str, timeout: float = 30) -> Iterator[object]:
    """A cassandra-driver session to one node over TLS (verified against ca_cert), rows as dicts: the
    tests' own client, for the integration tests' node and the lab's stand-in alike."""
    from cassandra.auth import PlainTextAuthProvider
    from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
    from cassandra.policies import WhiteListRoundRobinPolicy
    from cassandra.query import dict_factory

    context = ssl.create_default_context(cafile=ca_cert)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    profile = ExecutionProfile(
        load_balancing_policy=WhiteListRoundRobinPolicy([host]), row_factory=dict_factory, request_timeout=timeout
    )
    cluster = Cluster(
        [host],
        port=int(port),
        auth_provider=PlainTextAuthProvider(user, password),
        ssl_context=context,
        execution_profiles={EXEC_PROFILE_DEFAULT: profile},
        connect_timeout=timeout,
        schema_metadata_enabled=False,
        token_metadata_enabled=False,
    )
    try:
        yield cluster.connect()
    finally:
        cluster.shutdown()


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] != "render":
        print("usage: python -m tests.tools.cassandra_node render --help", file=sys.stderr)
        return 2
    try:
        print(json.dumps(render(argv[1:])))
    except FileNotFoundError as exc:
        print(f"cassandra_node render: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
