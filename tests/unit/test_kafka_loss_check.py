# Copyright: cdc.pipeline maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests of tests/tools/kafka_loss_check.py: client properties, message encoding, the
accounting of delivery reports against what was read back, the verdict and exit status (with
and without --expect-loss), the bounded fault/recovery command runner, and the command line's
refusals (exit 2) without printing a secret. The Kafka parts run in
tests/integration/test_kafka_fault.py against a real cluster."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

REPO_ROOT = Path(__file__).resolve().parents[2]
CHECKER = REPO_ROOT / "tests" / "tools" / "kafka_loss_check.py"


def load_checker():
    spec = importlib.util.spec_from_file_location("kafka_loss_check", CHECKER)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


klc = load_checker()


# --------------------------------------------------------------------------- properties


def test_properties_parse_comments_blanks_and_values_with_equals() -> None:
    text = (
        "# lab client\n"
        "! also a comment\n"
        "\n"
        "security.protocol = SASL_SSL\n"
        "sasl.mechanism=SCRAM-SHA-512\n"
        "sasl.password=pa=ss word==\n"
        "ssl.ca.location=/etc/cdc/ca.pem  \n"
        "security.protocol=SASL_SSL\n"
    )
    assert klc.parse_properties(text) == {
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.password": "pa=ss word==",
        "ssl.ca.location": "/etc/cdc/ca.pem",
    }


@pytest.mark.parametrize("bad_line", ["s3cr3t-without-key", "=s3cr3t"])
def test_a_bad_property_line_is_named_by_number_not_content(bad_line: str) -> None:
    with pytest.raises(klc.SetupError) as error:
        klc.parse_properties(f"a=1\n{bad_line}\n")
    assert "line 2" in str(error.value)
    assert "s3cr3t" not in str(error.value)


def test_client_config_may_not_set_what_the_options_decide() -> None:
    klc.check_client_config({"security.protocol": "SSL", "sasl.password": "x"})
    with pytest.raises(klc.SetupError, match=r"acks, enable\.idempotence"):
        klc.check_client_config({"enable.idempotence": "false", "acks": "0"})


# --------------------------------------------------------------------------- encoding


def test_values_round_trip_and_foreign_values_are_not_ours() -> None:
    run_id = klc.make_run_id("upgrade-during.1", "abc123")
    assert run_id == "upgrade-during.1-abc123"
    assert klc.make_run_id(None, "abc123") == "abc123"
    assert klc.parse_value(klc.message_value(run_id, 41)) == (run_id, 41)
    assert klc.message_key(run_id, 41) != klc.message_key(run_id, 42)
    for foreign in (None, b"", b"hello", b"klc1|run|x", b"klc2|run|1", b"klc1||1", b"klc1|run|-1", b"\xff\xfe"):
        assert klc.parse_value(foreign) is None, foreign


def test_a_label_is_restricted_so_the_value_stays_parseable() -> None:
    with pytest.raises(SystemExit) as exited:
        klc.parse_args(["--topic", "t", "--label", "a|b"])
    assert exited.value.code == 2


# --------------------------------------------------------------------------- accounting


def test_deliveries_keep_the_ack_over_a_failure_and_count_acks_after_the_fault() -> None:
    deliveries = klc.Deliveries()
    deliveries.record(1, "Broker: Not enough in-sync replicas")
    deliveries.record(1, None, 0, 10)  # retried, then acknowledged
    deliveries.record(2, None, 1, 3)
    deliveries.record(2, "late failure")  # an ack is never taken back
    deliveries.fault_done_seq = 3
    deliveries.record(3, None, 2, 0)
    deliveries.record(4, "Local: Message timed out")
    assert deliveries.acked == {1: (0, 10), 2: (1, 3), 3: (2, 0)}
    assert deliveries.failed == {4: "Local: Message timed out"}
    assert deliveries.acked_after_fault == 1


def readback(found: dict[int, list[tuple[int, int]]], unreadable: dict[int, str] | None = None, foreign: int = 0):
    result = klc.ReadBack(foreign_records=foreign, unreadable=unreadable or {})
    for seq, where in found.items():
        for partition, offset in where:
            result.record(seq, partition, offset)
    result.partitions_read = sorted({p for where in found.values() for p, _o in where})
    return result


def test_summary_counts_lost_duplicates_and_unacked_messages() -> None:
    deliveries = klc.Deliveries()
    for seq in range(30):
        deliveries.record(seq, None, seq % 3, seq)
    deliveries.record(30, "Local: Message timed out")
    deliveries.record(31, "Local: Message timed out")
    deliveries.record(32, "Broker: Not enough in-sync replicas")
    # seqs 0..29 acked on partitions 0..2; partition 2 unreadable; 1 and 4 missing from readable ones
    found = {seq: [(seq % 3, seq)] for seq in range(30) if seq % 3 != 2 and seq not in (1, 4)}
    found[0].append((0, 99))  # read twice
    found[7] = [(1, 70)]  # acked at offset 7, found elsewhere
    found[30] = [(0, 31)]  # reported failed, yet written
    summary = klc.summarize("run", 34, deliveries, readback(found, {2: "leader not available"}, foreign=5))

    assert summary["sent"] == 34
    assert summary["acked"] == 30
    assert summary["failed"]["count"] == 3
    assert summary["failed"]["by_error"] == {"Local: Message timed out": 2, "Broker: Not enough in-sync replicas": 1}
    assert [e["seq"] for e in summary["failed"]["first_errors"]] == [30, 31, 32]
    assert summary["undelivered"] == 1
    assert summary["lost"]["count"] == 12  # 10 on partition 2, plus 1 and 4
    assert summary["lost"]["in_unreadable_partitions"] == 10
    assert summary["lost"]["in_readable_partitions"] == 2
    assert summary["lost"]["first"][:4] == [1, 2, 4, 5]
    assert summary["lost"]["by_partition"] == {"1": 2, "2": 10}
    assert summary["duplicates"] == {"count": 1, "first": [0]}
    assert summary["unacked_but_present"] == 1
    assert summary["acked_at_other_offset"] == 1
    assert summary["consumed_of_this_run"] == len(found)
    assert summary["records_of_this_run"] == len(found) + 1
    assert summary["foreign_records"] == 5
    assert summary["unreadable_partitions"] == [{"partition": 2, "reason": "leader not available"}]


def test_summary_lists_at_most_twenty_lost_sequence_numbers_in_order() -> None:
    deliveries = klc.Deliveries()
    for seq in reversed(range(100)):
        deliveries.record(seq, None, 0, seq)
    summary = klc.summarize("run", 100, deliveries, readback({}))
    assert summary["lost"]["count"] == 100
    assert summary["lost"]["first"] == list(range(20))


# --------------------------------------------------------------------------- verdicts


def counts(*, acked=100, lost_readable=0, lost_unreadable=0, failed=0, undelivered=0, unreadable=0) -> dict:
    return {
        "acked": acked,
        "failed": {"count": failed},
        "undelivered": undelivered,
        "lost": {
            "count": lost_readable + lost_unreadable,
            "in_readable_partitions": lost_readable,
            "in_unreadable_partitions": lost_unreadable,
        },
        "unreadable_partitions": [{"partition": p, "reason": "x"} for p in range(unreadable)],
    }


@pytest.mark.parametrize(
    ("summary", "problem", "expected"),
    [
        (counts(), None, ("no_loss", 0)),
        (counts(failed=50, undelivered=3), None, ("no_loss", 0)),  # unacknowledged is not lost
        (counts(lost_readable=1), None, ("loss", 1)),
        (counts(lost_readable=1), "fault_command_failed", ("loss", 1)),  # loss stands
        (counts(unreadable=1), None, ("unverified_unreadable_partitions", 1)),
        (counts(lost_unreadable=4, unreadable=1), None, ("unverified_unreadable_partitions", 1)),
        (counts(acked=0, failed=10), None, ("unverified_nothing_acked", 1)),
        (counts(), "fault_not_run", ("fault_not_run", 2)),
        (counts(unreadable=1), "recover_command_failed", ("recover_command_failed", 2)),
    ],
)
def test_verdict_of_a_loss_check(summary: dict, problem: str | None, expected: tuple[str, int]) -> None:
    assert klc.verdict(summary, expect_loss=False, problem=problem) == expected


@pytest.mark.parametrize(
    ("summary", "problem", "expected"),
    [
        (counts(), None, ("control_clean", 1)),  # the control did not show the fault
        (counts(lost_readable=2), None, ("damage_observed", 0)),
        (counts(lost_unreadable=2, unreadable=1), None, ("damage_observed", 0)),
        (counts(failed=1), None, ("damage_observed", 0)),
        (counts(undelivered=1), None, ("damage_observed", 0)),
        (counts(unreadable=1), None, ("damage_observed", 0)),
        (counts(acked=0, failed=100), None, ("control_nothing_acked", 1)),  # a dead cluster proves nothing
        (counts(lost_readable=5), "fault_not_run", ("fault_not_run", 2)),  # damage not from the fault
        (counts(failed=5), "fault_command_failed", ("fault_command_failed", 2)),
    ],
)
def test_verdict_of_a_negative_control(summary: dict, problem: str | None, expected: tuple[str, int]) -> None:
    assert klc.verdict(summary, expect_loss=True, problem=problem) == expected


def test_command_problems() -> None:
    assert klc.command_problem(None, None) is None
    assert klc.command_problem({"started": False}, None) == "fault_not_run"
    assert klc.command_problem({"started": True, "exit_status": 1}, None) == "fault_command_failed"
    assert klc.command_problem({"started": True, "exit_status": "timeout after 1 s"}, None) == "fault_command_failed"
    assert klc.command_problem({"started": True, "exit_status": 0}, {"exit_status": 0}) is None
    assert klc.command_problem({"started": True, "exit_status": 0}, {"exit_status": 3}) == "recover_command_failed"


# --------------------------------------------------------------------------- commands


def test_run_command_reports_status_and_truncated_output() -> None:
    ok = klc.run_command("printf 'x%.0s' $(seq 1000); exit 3", timeout_s=30)
    assert ok["exit_status"] == 3
    assert ok["output"].startswith("xxx") and ok["output"].endswith("...(truncated)")
    assert len(ok["output"]) < 500


def test_run_command_is_bounded_and_kills_the_whole_command(tmp_path: Path) -> None:
    marker = tmp_path / "late"
    started = time.monotonic()
    result = klc.run_command(f"(sleep 2; touch {marker}) & sleep 30", timeout_s=1)
    assert time.monotonic() - started < 10
    assert result["exit_status"] == "timeout after 1 s"
    time.sleep(2.5)
    assert not marker.exists(), "a child of the timed-out command survived it"


def test_run_command_returns_when_a_started_daemon_keeps_running() -> None:
    """A recovery like `nohup broker &` must not hold the checker until the timeout."""
    started = time.monotonic()
    result = klc.run_command("sleep 60 & echo $!", timeout_s=30)
    took = time.monotonic() - started
    pid = int(str(result["output"]))
    try:
        assert result["exit_status"] == 0
        assert took < 10
        os.kill(pid, 0)  # the daemon is still running: it was not killed either
    finally:
        os.kill(pid, signal.SIGKILL)


def test_fault_runs_once_after_k_acks_while_the_caller_goes_on(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    runner = klc.FaultRunner(f"echo x >> {marker}", after=5, timeout_s=30)
    assert not runner.maybe_start(acked=4, sent=9, elapsed_s=0.1)
    assert runner.maybe_start(acked=5, sent=11, elapsed_s=0.2)
    assert not runner.maybe_start(acked=6, sent=12, elapsed_s=0.3)
    runner.join()
    assert runner.finished
    assert marker.read_text() == "x\n"
    assert runner.result["started"] and runner.result["exit_status"] == 0
    assert (runner.result["acked_at_start"], runner.result["sent_at_start"]) == (5, 11)


# --------------------------------------------------------------------------- command line


@pytest.mark.parametrize(
    "argv",
    [
        [],  # --topic is required
        ["--topic", "t", "--fault-after", "10"],
        ["--topic", "t", "--fault-command", "true"],
        ["--topic", "t", "--acks", "0"],
        ["--topic", "t", "--messages", "0"],
        ["--topic", "t", "--duration", "-1"],
        ["--topic", "t", "--rate", "nan"],
        ["--topic", "t", "--label", ""],
        ["--topic", "t", "--create-topic", "--replication-factor", "1", "--min-insync-replicas", "2"],
    ],
)
def test_usage_errors_exit_2(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        klc.parse_args(argv)
    assert exited.value.code == 2


def test_the_watchdog_allows_every_phase() -> None:
    args = klc.parse_args(
        ["--topic", "t", "--duration", "40", "--message-timeout-ms", "30000", "--fault-after", "1",
         "--fault-command", "true", "--recover-command", "true", "--consume-timeout", "60"]
    )  # fmt: skip
    bound = 4 * args.setup_timeout + 40 + 30 + args.fault_timeout + args.recover_timeout + 60
    assert bound < klc.hard_limit_s(args) < bound + 120


def closed_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed again on return: nothing listens there


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(CHECKER), *args], capture_output=True, text=True, timeout=120, check=False
    )


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ("sasl.password=Sup3rS3cret\nacks=0\n", "client config sets acks"),
        ("sasl.password=Sup3rS3cret\nSup3rS3cret\n", "client config line 2"),
    ],
)
def test_cli_refuses_a_bad_client_config_without_printing_it(tmp_path: Path, config: str, message: str) -> None:
    properties = tmp_path / "client.properties"
    properties.write_text(config)
    result = run_cli("--bootstrap", "127.0.0.1:1", "--topic", "t", "--client-config", str(properties))
    assert result.returncode == 2, result.stderr
    report = json.loads(result.stdout)
    assert report["verdict"] == "setup_error" and message in report["error"]
    assert "Sup3rS3cret" not in result.stdout + result.stderr


def test_cli_setup_error_when_the_cluster_is_unreachable(tmp_path: Path) -> None:
    properties = tmp_path / "client.properties"
    properties.write_text("broker.address.family=v4\nsasl.username=loss-check\nsasl.password=Sup3rS3cret\n")
    result = run_cli(
        "--bootstrap", f"127.0.0.1:{closed_loopback_port()}", "--topic", "t", "--client-config", str(properties),
        "--setup-timeout", "3", "--quiet",
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    report = json.loads(result.stdout)
    assert report["verdict"] == "setup_error"
    assert "cannot read cluster metadata" in report["error"]
    assert report["client_config_keys"] == ["broker.address.family", "sasl.password", "sasl.username"]
    assert "Sup3rS3cret" not in result.stdout + result.stderr
    assert report["duration_s"] < 30


def test_cli_missing_client_config_is_a_setup_error(tmp_path: Path) -> None:
    result = run_cli("--bootstrap", "127.0.0.1:1", "--topic", "t", "--client-config", str(tmp_path / "absent"))
    assert result.returncode == 2
    assert "cannot read --client-config" in json.loads(result.stdout)["error"]


def test_cli_without_confluent_kafka_is_a_setup_error() -> None:
    """The controller's interpreter may lack the client library: say so, exit 2, no traceback."""
    block_and_run = (
        "import runpy, sys; sys.modules['confluent_kafka'] = None; "
        f"sys.argv = [{str(CHECKER)!r}, '--topic', 't', '--bootstrap', '127.0.0.1:1']; "
        f"runpy.run_path({str(CHECKER)!r}, run_name='__main__')"
    )
    result = subprocess.run(
        [sys.executable, "-c", block_and_run], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    report = json.loads(result.stdout)
    assert report["verdict"] == "setup_error"
    assert "confluent-kafka is not installed" in report["error"]
