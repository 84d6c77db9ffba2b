# Copyright: cdc.pipeline maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A real Apache Cassandra 5 node on loopback for the CQL module tests (scylla_role, scylla_cdc).

No ScyllaDB server can run on the build machines (no reachable registry ships one); Cassandra 5
speaks the same CQL for what the pipeline's roles need (roles, grants, keyspaces, queries), so
the modules meet a real server there. ScyllaDB-only behaviour (CDC) is unit-tested instead.

The node runs from the staged `cassandra-5.0.9` artifact (`make artifacts`: the runtime closure
of org.apache.cassandra:cassandra-all from Maven Central, lib/*.jar, no configuration), with a
cassandra.yaml and logback.xml written here:
- authentication and authorization as in production: PasswordAuthenticator, CassandraAuthorizer,
  CassandraRoleManager. The default superuser cassandra/cassandra only creates the superuser the
  tests use (`admin`, random password); auth caches are off (validity 0) so a grant or a new
  password counts at once.
- clients reach only a TLS port (client_encryption_options, PEM keystore from
  kafka_secure_server.make_tls: a CA and a server certificate for 127.0.0.1 and localhost).
- started for speed, not throughput: one token, serial GC and C1 only, 512 MiB heap, no JMX, no
  gossip settling, no superuser setup delay, bcrypt at its minimum cost, and no minimum interval
  between two password changes of a role (Cassandra 5 defaults to 5 s).
The JVM options are those of Cassandra's conf/jvm17-server.options that Java 17 needs (module
exports/opens) plus the jamm agent, as bin/cassandra.in.sh adds it. The process is stopped
(SIGTERM, then SIGKILL) when the block ends; every wait is bounded.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.tools.cassandra_node import LOGBACK_XML, cassandra_yaml, find_jamm, jvm_command
from tests.tools.cassandra_node import cql_session as cassandra_node_session
from tests.tools.kafka_secure_server import Tls, make_tls
from tests.tools.local_services import LOOPBACK, extract, free_ports, running, staged_output, stop_process, wait_until

CASSANDRA_ARTIFACT = "cassandra-5.0.9"
START_TIMEOUT_S = 150
CLIENT_TIMEOUT_S = 20
ADMIN_USER = "admin"
DEFAULT_SUPERUSER = ("cassandra", "cassandra")
HEAP = "512m"


def random_password() -> str:
    return secrets.token_hex(16)


@dataclass
class CassandraNode:
    host: str
    port: int  # the TLS-only CQL port
    tls: Tls
    admin_password: str
    root: Path
    release_version: str = ""
    restart_hook: Callable[[], None] | None = field(default=None, repr=False)

    def restart(self) -> None:
        """Stop the node (SIGTERM: Cassandra drains its memtables) and start it again on the same data,
        configuration and ports; returns once a CQL login works again."""
        if self.restart_hook is None:
            raise RuntimeError("this node was not started by started_cassandra")
        self.restart_hook()

    def session(self, user: str = ADMIN_USER, password: str | None = None):
        """A driver session over TLS (context manager): the tests' independent client."""
        return cql_session(self, user, self.admin_password if password is None else password)


def cql_session(node: CassandraNode, user: str, password: str):
    return cassandra_node_session(node.host, node.port, str(node.tls.ca_cert), user, password, CLIENT_TIMEOUT_S)


def create_admin(node: CassandraNode) -> str:
    """The tests' superuser; returns the server's release_version (what flavour detection must see)."""
    with cql_session(node, *DEFAULT_SUPERUSER) as session:
        session.execute(
            f"CREATE ROLE IF NOT EXISTS {ADMIN_USER} WITH PASSWORD = '{node.admin_password}' "
            "AND LOGIN = true AND SUPERUSER = true"
        )
        return session.execute("SELECT release_version FROM system.local").one()["release_version"]


@contextlib.contextmanager
def started_cassandra(root: Path, num_tokens: int = 1) -> Iterator[CassandraNode]:
    """Start one node in root (num_tokens vnodes); stop it when the block ends. node.restart() restarts it."""
    pytest.importorskip("cassandra", reason="cassandra-driver is not installed")
    pytest.importorskip("cryptography", reason="cryptography is not installed")
    archive = staged_output(CASSANDRA_ARTIFACT)
    extract(archive, root)
    home = root / archive.name.removesuffix("-lib.tgz")
    conf = root / "conf"
    conf.mkdir()
    tls = make_tls(root / "tls")
    native_port, storage_port = free_ports(2)
    (conf / "cassandra.yaml").write_text(
        cassandra_yaml(root / "data", LOOPBACK, native_port, storage_port, tls.server_keystore, num_tokens)
    )
    (conf / "logback.xml").write_text(LOGBACK_XML)
    node = CassandraNode(host=LOOPBACK, port=native_port, tls=tls, admin_password=random_password(), root=root)
    lib = home / "lib"
    argv = jvm_command(
        lib, find_jamm([jar.name for jar in lib.glob("*.jar")]), conf, root / "data", root / "logs", HEAP
    )
    with contextlib.ExitStack() as stack:
        processes = []

        def start() -> None:
            console = root / ("cassandra-console.log" if not processes else f"cassandra-console-{len(processes)}.log")
            process = stack.enter_context(running(argv, None, console))
            processes.append(process)
            node.release_version = wait_until(
                lambda: create_admin(node), START_TIMEOUT_S, "Cassandra CQL login", process, console
            )

        def restart() -> None:
            stop_process(processes[-1])
            start()

        start()
        node.restart_hook = restart
        yield node


@pytest.fixture(scope="module")
def cassandra(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CassandraNode]:
    """A started node for a whole test module."""
    with started_cassandra(tmp_path_factory.mktemp("cassandra")) as node:
        yield node
