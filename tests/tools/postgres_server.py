# Copyright: cdc.pipeline maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A real PostgreSQL server on loopback for the tests of cdc_reconcile.

Runs Debian's PostgreSQL binaries (package postgresql, installed by .ci/run when absent) from a
fresh initdb, as the `postgres` account when the tests run as root (the server refuses root):
TLS on with a certificate for 127.0.0.1 and localhost (kafka_secure_server.make_tls), SCRAM logins
over TCP, the superuser over the Unix socket only. Stopped (fast shutdown) when the block ends.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.tools.kafka_secure_server import Tls, make_tls
from tests.tools.local_services import LOOPBACK, free_ports

START_TIMEOUT_S = 60


@dataclass
class PostgresServer:
    host: str
    port: int
    socket_dir: Path
    tls: Tls

    def admin(self, database: str = "postgres"):
        """A superuser connection over the Unix socket (autocommit), for the tests' own setup and checks."""
        import psycopg

        return psycopg.connect(
            host=str(self.socket_dir), port=self.port, dbname=database, user="postgres", autocommit=True
        )


def binaries() -> Path:
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"), key=lambda p: int(p.parent.parent.name))
    if not candidates:
        pytest.skip("no PostgreSQL server binaries under /usr/lib/postgresql (Debian package postgresql)")
    return candidates[-1].parent


def _as_server_account(argv: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


@contextlib.contextmanager
def started_postgres() -> Iterator[PostgresServer]:
    pytest.importorskip("psycopg", reason="psycopg is not installed")
    bindir = binaries()
    # Not under pytest's tmp_path: its parents are private to root, and the server runs as postgres.
    root = Path(tempfile.mkdtemp(prefix="cdc-test-pg-"))
    try:
        data = root / "data"
        tls = make_tls(root / "tls")
        if os.geteuid() == 0:
            account = pwd.getpwnam("postgres")
            os.chown(root, account.pw_uid, account.pw_gid)
        subprocess.run(
            _as_server_account(
                [
                    str(bindir / "initdb"),
                    "-D",
                    str(data),
                    "-U",
                    "postgres",
                    "--auth-local=trust",
                    "--auth-host=scram-sha-256",
                ]
            ),
            check=True,
            capture_output=True,
            timeout=START_TIMEOUT_S,
        )
        keystore = data / "server.pem"
        shutil.copy(tls.server_keystore, keystore)
        keystore.chmod(0o600)
        if os.geteuid() == 0:
            os.chown(keystore, account.pw_uid, account.pw_gid)
        (port,) = free_ports(1)
        with (data / "postgresql.conf").open("a") as conf:
            conf.write(
                f"listen_addresses = '{LOOPBACK}'\nport = {port}\nunix_socket_directories = '{root}'\n"
                f"ssl = on\nssl_cert_file = '{keystore}'\nssl_key_file = '{keystore}'\nfsync = off\n"
            )
        (data / "pg_hba.conf").write_text(
            "local all postgres trust\nhostssl all all 127.0.0.1/32 scram-sha-256\nhost all all 127.0.0.1/32 reject\n"
        )
        subprocess.run(
            _as_server_account(
                [
                    str(bindir / "pg_ctl"),
                    "-D",
                    str(data),
                    "-l",
                    str(root / "server.log"),
                    "-w",
                    "-t",
                    str(START_TIMEOUT_S),
                    "start",
                ]
            ),
            check=True,
            capture_output=True,
            timeout=START_TIMEOUT_S + 10,
        )
        try:
            yield PostgresServer(host=LOOPBACK, port=port, socket_dir=root, tls=tls)
        finally:
            subprocess.run(
                _as_server_account([str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]),
                check=False,
                capture_output=True,
                timeout=START_TIMEOUT_S,
            )
    finally:
        shutil.rmtree(root, ignore_errors=True)
