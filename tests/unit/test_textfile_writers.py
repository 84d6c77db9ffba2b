# Copyright: cdc.pipeline maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The textfile metric writers: certificate expiry (roles/pki_certificate) and pgBackRest (roles/postgresql).

Their output is what the alert rules of roles/prometheus/files/rules/backups.yml read (names and labels of
docs/alerts.md#metric-contract); the same files run on the hosts and are checked there by
molecule/pipeline (verify_exporters.yml).
"""

from __future__ import annotations

import datetime
import importlib.util
import json
import re
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]


def load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


expiry = load("cdc_certificate_expiry", ROOT / "roles/pki_certificate/files/cdc-certificate-expiry.py")
pgbackrest = load("cdc_pgbackrest_metrics", ROOT / "roles/postgresql/files/cdc-pgbackrest-metrics.py")

SERIES = re.compile(r"^(\w+)\{(.*)\} (\S+)$")


def series(text: str, name: str) -> dict[str, float]:
    """Label set (as written) -> value, for one metric name."""
    found = {}
    for line in text.splitlines():
        match = SERIES.match(line)
        if match and match.group(1) == name:
            found[match.group(2)] = float(match.group(3))
    return found


def certificate(path: Path, not_after: datetime.datetime) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, path.stem)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_after - datetime.timedelta(days=30))
        .not_valid_after(not_after)
        .sign(key, hashes.SHA256())
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


NOT_AFTER = datetime.datetime(2027, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)


def test_certificate_expiry_one_series_per_issued_certificate(tmp_path: Path) -> None:
    pki = tmp_path / "pki"
    certificate(pki / "kafka" / "kafka.pem", NOT_AFTER)
    certificate(pki / "host" / "host.pem", NOT_AFTER + datetime.timedelta(days=1))
    # CA and chain files next to the leaf are not the service's certificate.
    certificate(pki / "kafka" / "ca.pem", NOT_AFTER + datetime.timedelta(days=3650))
    certificate(pki / "kafka" / "kafka-fullchain.pem", NOT_AFTER)
    (pki / "empty").mkdir()
    listener = tmp_path / "openbao" / "server.pem"
    certificate(listener, NOT_AFTER + datetime.timedelta(days=300))
    config = tmp_path / "expiry.conf"
    config.write_text(f"# comment\n\nvault {listener}\nvault {tmp_path / 'absent.pem'}\n")
    textfile = tmp_path / "textfile"
    textfile.mkdir()
    output = textfile / "cdc_certificates.prom"

    assert expiry.main(["--pki-dir", str(pki), "--config", str(config), "--output", str(output)]) == 0

    text = output.read_text()
    assert "# TYPE cdc_certificate_expiry_timestamp_seconds gauge" in text
    assert series(text, "cdc_certificate_expiry_timestamp_seconds") == {
        f'service="host",path="{pki}/host/host.pem"': NOT_AFTER.timestamp() + 86400,
        f'service="kafka",path="{pki}/kafka/kafka.pem"': NOT_AFTER.timestamp(),
        f'service="vault",path="{listener}"': NOT_AFTER.timestamp() + 300 * 86400,
    }
    assert "cdc_certificate_expiry_read_errors 0" in text.splitlines()
    assert stat.S_IMODE(output.stat().st_mode) == 0o644
    assert [p.name for p in textfile.iterdir()] == ["cdc_certificates.prom"], "temporary file left behind"


def test_certificate_expiry_unreadable_certificate_fails_the_run_but_keeps_the_others(tmp_path: Path) -> None:
    pki = tmp_path / "pki"
    certificate(pki / "kafka" / "kafka.pem", NOT_AFTER)
    (pki / "scylla").mkdir(parents=True)
    (pki / "scylla" / "scylla.pem").write_text("not a certificate\n")
    output = tmp_path / "out.prom"

    assert expiry.main(["--pki-dir", str(pki), "--output", str(output)]) == 1

    text = output.read_text()
    assert list(series(text, "cdc_certificate_expiry_timestamp_seconds")) == [
        f'service="kafka",path="{pki}/kafka/kafka.pem"'
    ]
    assert "cdc_certificate_expiry_read_errors 1" in text.splitlines()


def test_certificate_expiry_escapes_label_values() -> None:
    assert expiry.escape('a"b\\c\nd') == 'a\\"b\\\\c\\nd'


INFO = [
    {
        "name": "main",
        "status": {"code": 0, "message": "ok"},
        "backup": [
            {"label": "F1", "type": "full", "timestamp": {"start": 1000, "stop": 1100}},
            {"label": "F2", "type": "full", "timestamp": {"start": 5000, "stop": 5300}},
            {"label": "D1", "type": "diff", "timestamp": {"start": 6000, "stop": 6050}},
            {"label": "I1", "type": "incr", "timestamp": {"start": 7000, "stop": 7010}},
            {"label": "I0", "type": "incr", "timestamp": {"start": 6500, "stop": 6510}},
        ],
    },
    {"name": "other", "status": {"code": 0}, "backup": [{"type": "full", "timestamp": {"start": 1, "stop": 9999}}]},
]


def test_pgbackrest_newest_backup_per_type_of_the_stanza() -> None:
    text = pgbackrest.render(INFO, "main")

    assert series(text, "cdc_pgbackrest_last_backup_timestamp_seconds") == {
        'stanza="main",type="full"': 5300,
        'stanza="main",type="diff"': 6050,
        'stanza="main",type="incr"': 7010,
    }
    assert series(text, "cdc_pgbackrest_last_backup_duration_seconds") == {
        'stanza="main",type="full"': 300,
        'stanza="main",type="diff"': 50,
        'stanza="main",type="incr"': 10,
    }
    assert series(text, "cdc_pgbackrest_stanza_status") == {'stanza="main"': 0}
    assert "# TYPE cdc_pgbackrest_last_backup_timestamp_seconds gauge" in text


def test_pgbackrest_stanza_without_backups_reports_only_its_status() -> None:
    text = pgbackrest.render(
        [{"name": "main", "status": {"code": 2, "message": "no valid backups"}, "backup": []}], "main"
    )

    assert series(text, "cdc_pgbackrest_last_backup_timestamp_seconds") == {}
    assert series(text, "cdc_pgbackrest_stanza_status") == {'stanza="main"': 2}


def test_pgbackrest_main_writes_on_a_primary_and_removes_on_a_standby(tmp_path: Path, monkeypatch) -> None:
    output = tmp_path / "cdc_pgbackrest.prom"
    answers = {"psql": "f\n", "pgbackrest": json.dumps(INFO)}
    monkeypatch.setattr(pgbackrest, "as_postgres", lambda _args, command, *rest: answers[Path(command).name])

    assert pgbackrest.main(["--stanza", "main", "--output", str(output)]) == 0
    assert 'cdc_pgbackrest_last_backup_timestamp_seconds{stanza="main",type="incr"} 7010' in output.read_text()
    assert [p.name for p in tmp_path.iterdir()] == ["cdc_pgbackrest.prom"], "temporary file left behind"

    answers["psql"] = "t\n"
    assert pgbackrest.main(["--stanza", "main", "--output", str(output)]) == 0
    assert not output.exists(), "a standby must not report backups"


def test_pgbackrest_main_keeps_the_last_file_when_pgbackrest_fails(tmp_path: Path, monkeypatch) -> None:
    output = tmp_path / "cdc_pgbackrest.prom"
    output.write_text("previous\n")

    def failing(_args, command, *_rest):
        if Path(command).name == "psql":
            return "f\n"
        raise RuntimeError("pgbackrest info: exit 56")

    monkeypatch.setattr(pgbackrest, "as_postgres", failing)
    assert pgbackrest.main(["--stanza", "main", "--output", str(output)]) == 1
    assert output.read_text() == "previous\n"
