#!/usr/bin/env python
# Copyright: cdc.pipeline maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Check that no acknowledged Kafka message is lost, optionally while a fault is injected.

Produces numbered messages (run id + sequence number) to a topic and records every delivery
report (acknowledged with partition/offset, or failed with its error). Optionally runs a fault
command once after K acknowledgements while producing goes on, and a recovery command after
producing ended. Then reads every partition of the topic from the beginning up to its high
watermark and compares: an acknowledged message that is not read back is lost. Failed
(unacknowledged) messages are not loss. Prints one JSON report on stdout; progress and client
logs go to stderr.

Exit status: 0 no acknowledged message lost (and every partition was read, something was
acknowledged); 1 loss found, or the run could not show there was none (a partition could not
be read, nothing was acknowledged); 2 usage or setup error (cluster unreachable, topic layout
differs, fault or recovery command failed or never ran).
With --expect-loss (a negative control): 0 when damage was observed (acknowledged messages not
read back, failed deliveries or unreadable partitions), 1 when everything looked clean.

Secrets (SASL passwords, key passwords) belong in the --client-config file only; neither they
nor any other value of that file are printed.

    kafka_loss_check.py --bootstrap host:9093 --client-config client.properties --topic t \\
        --create-topic --partitions 6 --replication-factor 3 --min-insync-replicas 2 \\
        --acks all --messages 20000 --duration 60 --rate 1000 \\
        --fault-after 2000 --fault-command 'podman kill --signal KILL kafka2' \\
        --recover-command 'podman start kafka2'

Needs Python 3.9+ (tested with 3.11) and confluent-kafka. Every phase has its own timeout and a watchdog ends the
process if the whole run exceeds their sum, so it always stops by itself.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field

try:
    from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, Producer, TopicPartition
    from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic
except ImportError:  # the pure parts stay importable (unit tests, --help); run() says what is missing
    Consumer = Producer = AdminClient = None

    class KafkaException(Exception):  # noqa: N818 - stands in for confluent_kafka's name
        """Never raised: lets `except KafkaException` compile without confluent-kafka."""


TOOL = "kafka_loss_check"
REPORT_VERSION = 1
VALUE_PREFIX = "klc1"
FIRST_LOST = 20
FIRST_ERRORS = 10
OUTPUT_LIMIT = 400
LABEL_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
# Set by the options of this tool; in the client config they would silently change its meaning.
RESERVED_KEYS = frozenset(
    {
        "acks",
        "request.required.acks",
        "enable.idempotence",
        "message.timeout.ms",
        "delivery.timeout.ms",
        "group.id",
        "enable.auto.commit",
    }
)

EXIT_OK = 0
EXIT_LOSS = 1
EXIT_SETUP = 2


class SetupError(Exception):
    """The run cannot start or cannot be judged (exit status 2)."""


# --------------------------------------------------------------------------- pure parts


def parse_properties(text: str) -> dict[str, str]:
    """librdkafka client properties: `key=value` lines, `#`/`!` comments, blank lines.

    Error messages name the line number only: a line may hold a password.
    """
    settings: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith(("#", "!")):
            continue
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not key:
            raise SetupError(f"client config line {number}: expected key=value")
        settings[key] = value.strip()
    return settings


def check_client_config(settings: dict[str, str]) -> None:
    reserved = sorted(RESERVED_KEYS.intersection(settings))
    if reserved:
        raise SetupError(
            "client config sets " + ", ".join(reserved) + ": these are set by this tool's options "
            "(--acks, --message-timeout-ms); remove them from the file"
        )


def make_run_id(label: str | None, token: str | None = None) -> str:
    token = token or uuid.uuid4().hex[:12]
    return f"{label}-{token}" if label else token


def message_value(run_id: str, seq: int) -> bytes:
    return f"{VALUE_PREFIX}|{run_id}|{seq}".encode()


def message_key(run_id: str, seq: int) -> bytes:
    """Distinct per message, so the default partitioner spreads messages over the partitions."""
    return f"{run_id}-{seq}".encode()


def parse_value(value: bytes | None) -> tuple[str, int] | None:
    """(run_id, seq) of a value written by this tool, None for anything else."""
    if not value:
        return None
    try:
        prefix, run_id, seq = value.decode("ascii").split("|")
        number = int(seq)
    except (UnicodeDecodeError, ValueError):
        return None
    if prefix != VALUE_PREFIX or not run_id or number < 0:
        return None
    return run_id, number


@dataclass
class Deliveries:
    """Every delivery report of one run: seq -> (partition, offset), or seq -> error."""

    acked: dict[int, tuple[int, int]] = field(default_factory=dict)
    failed: dict[int, str] = field(default_factory=dict)
    acked_after_fault: int = 0
    fault_done_seq: int | None = None  # first seq produced after the fault command finished

    def record(self, seq: int, error: str | None, partition: int = -1, offset: int = -1) -> None:
        if error is None:
            self.failed.pop(seq, None)
            self.acked[seq] = (partition, offset)
            if self.fault_done_seq is not None and seq >= self.fault_done_seq:
                self.acked_after_fault += 1
        elif seq not in self.acked:
            self.failed[seq] = error


@dataclass
class ReadBack:
    """What reading the topic back found."""

    positions: dict[int, list[tuple[int, int]]] = field(default_factory=dict)  # seq -> where read
    foreign_records: int = 0  # other runs, other writers
    partitions_read: list[int] = field(default_factory=list)
    unreadable: dict[int, str] = field(default_factory=dict)  # partition -> reason

    def record(self, seq: int, partition: int, offset: int) -> None:
        self.positions.setdefault(seq, []).append((partition, offset))


def summarize(run_id: str, sent: int, deliveries: Deliveries, readback: ReadBack) -> dict[str, object]:
    """The counting part of the report."""
    lost = sorted(seq for seq in deliveries.acked if seq not in readback.positions)
    lost_unreadable = [seq for seq in lost if deliveries.acked[seq][0] in readback.unreadable]
    lost_by_partition: dict[int, int] = {}
    for seq in lost:
        partition = deliveries.acked[seq][0]
        lost_by_partition[partition] = lost_by_partition.get(partition, 0) + 1
    duplicates = sorted(seq for seq, where in readback.positions.items() if len(where) > 1)
    moved = sum(
        1
        for seq, where in deliveries.acked.items()
        if seq in readback.positions and where not in readback.positions[seq]
    )
    by_error: dict[str, int] = {}
    for error in deliveries.failed.values():
        by_error[error] = by_error.get(error, 0) + 1
    first_failed = sorted(deliveries.failed)[:FIRST_ERRORS]
    undelivered = max(0, sent - len(deliveries.acked) - len(deliveries.failed))
    return {
        "run_id": run_id,
        "sent": sent,
        "acked": len(deliveries.acked),
        "failed": {
            "count": len(deliveries.failed),
            "by_error": dict(sorted(by_error.items(), key=lambda item: -item[1])),
            "first_errors": [{"seq": seq, "error": deliveries.failed[seq]} for seq in first_failed],
        },
        "undelivered": undelivered,
        "consumed_of_this_run": len(readback.positions),
        "records_of_this_run": sum(len(where) for where in readback.positions.values()),
        "foreign_records": readback.foreign_records,
        "unacked_but_present": sum(1 for seq in readback.positions if seq not in deliveries.acked),
        "acked_at_other_offset": moved,
        "lost": {
            "count": len(lost),
            "in_readable_partitions": len(lost) - len(lost_unreadable),
            "in_unreadable_partitions": len(lost_unreadable),
            "by_partition": {str(p): n for p, n in sorted(lost_by_partition.items())},
            "first": lost[:FIRST_LOST],
        },
        "duplicates": {"count": len(duplicates), "first": duplicates[:FIRST_LOST]},
        "partitions_read": sorted(readback.partitions_read),
        "unreadable_partitions": [
            {"partition": partition, "reason": reason} for partition, reason in sorted(readback.unreadable.items())
        ],
    }


def command_problem(fault: dict | None, recovery: dict | None) -> str | None:
    """Why the injected fault or the recovery did not happen as asked, or None."""
    if fault is not None:
        if not fault.get("started"):
            return "fault_not_run"
        if fault.get("exit_status") != 0:
            return "fault_command_failed"
    if recovery is not None and recovery.get("exit_status") != 0:
        return "recover_command_failed"
    return None


def verdict(summary: dict, *, expect_loss: bool, problem: str | None = None) -> tuple[str, int]:
    """(verdict, exit status) from the counts of summarize() and command_problem().

    The first rule that holds decides. Without --expect-loss, loss read from a readable partition
    stands whatever else went wrong; a fault that did not happen as asked makes the run a setup
    error; an unreadable partition or nothing acknowledged leaves the claim unproven. With
    --expect-loss, only a run whose fault happened and that acknowledged something can prove the
    damage is seen.
    """
    lost = summary["lost"]
    unreadable = len(summary["unreadable_partitions"])
    if expect_loss:
        damage = lost["count"] or summary["failed"]["count"] or summary["undelivered"] or unreadable
        rules = [
            (problem, (problem, EXIT_SETUP)),
            (summary["acked"] == 0, ("control_nothing_acked", EXIT_LOSS)),
            (damage, ("damage_observed", EXIT_OK)),
        ]
        fallback = ("control_clean", EXIT_LOSS)
    else:
        rules = [
            (lost["in_readable_partitions"] > 0, ("loss", EXIT_LOSS)),
            (problem, (problem, EXIT_SETUP)),
            (unreadable or lost["count"], ("unverified_unreadable_partitions", EXIT_LOSS)),
            (summary["acked"] == 0, ("unverified_nothing_acked", EXIT_LOSS)),
        ]
        fallback = ("no_loss", EXIT_OK)
    return next((outcome for holds, outcome in rules if holds), fallback)


def truncate(text: str, limit: int = OUTPUT_LIMIT) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[:limit] + "...(truncated)"


def run_command(command: str, timeout_s: float) -> dict[str, object]:
    """Run an operator-given shell command once, bounded; never raises.

    Output goes to a temporary file, not a pipe, and only the shell is waited for: a command
    that starts a daemon in the background (`nohup ... &`) returns when its shell does. A shell
    still running at the timeout is killed with its whole process group (its own session).
    """
    started = time.monotonic()
    with tempfile.TemporaryFile(mode="w+", errors="replace") as output_file:
        try:
            process = subprocess.Popen(  # noqa: S602 - the fault/recovery command is a shell command by design
                command,
                shell=True,
                stdin=subprocess.DEVNULL,
                stdout=output_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as exc:
            return {"exit_status": f"cannot run: {exc}", "output": "", "took_s": 0.0}
        try:
            status: int | str = process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
            status = f"timeout after {timeout_s:g} s"
        output_file.seek(0)
        output = truncate(output_file.read(OUTPUT_LIMIT * 4))
    return {"exit_status": status, "output": output, "took_s": round(time.monotonic() - started, 3)}


# --------------------------------------------------------------------------- Kafka parts


def log(args: argparse.Namespace, message: str) -> None:
    if not args.quiet:
        prefix = f"[{TOOL}{':' + args.label if args.label else ''}]"
        print(f"{prefix} {message}", file=sys.stderr, flush=True)


def client_settings(args: argparse.Namespace, file_settings: dict[str, str]) -> dict[str, str]:
    settings = dict(file_settings)
    if args.bootstrap:
        settings["bootstrap.servers"] = args.bootstrap
    if not settings.get("bootstrap.servers"):
        raise SetupError("no bootstrap servers: give --bootstrap or bootstrap.servers in --client-config")
    return settings


def topic_layout(admin, topic: str, timeout_s: float) -> dict[str, object] | None:
    """Partitions, replication factor, leaders and min.insync.replicas; None if there is no topic.

    Lists all topics instead of asking for one: a metadata request naming a topic may create it.
    """
    try:
        metadata = admin.list_topics(timeout=timeout_s)
    except KafkaException as exc:
        raise SetupError(f"cannot read cluster metadata: {exc}") from exc
    found = metadata.topics.get(topic)
    if found is None:
        return None
    if found.error is not None:
        raise SetupError(f"topic {topic}: {found.error}")
    partitions = found.partitions
    replication = sorted({len(p.replicas) for p in partitions.values()})
    min_isr = None
    try:
        futures = admin.describe_configs([ConfigResource(ConfigResource.Type.TOPIC, topic)])
        for future in futures.values():
            entries = future.result(timeout=timeout_s)
            entry = entries.get("min.insync.replicas")
            min_isr = int(entry.value) if entry is not None and entry.value is not None else None
    except KafkaException as exc:
        min_isr = f"unknown ({exc})"
    return {
        "partitions": len(partitions),
        "replication_factor": replication[0] if len(replication) == 1 else replication,
        "min_insync_replicas": min_isr,
        "leaders": {str(p): partitions[p].leader for p in sorted(partitions)},
        "brokers": sorted(metadata.brokers),
    }


def wait_for_leaders(admin, topic: str, timeout_s: float) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        layout = topic_layout(admin, topic, max(1.0, min(10.0, deadline - time.monotonic())))
        if layout and layout["partitions"] and all(leader >= 0 for leader in layout["leaders"].values()):
            return layout
        if time.monotonic() >= deadline:
            raise SetupError(f"topic {topic}: not every partition has a leader after {timeout_s:g} s ({layout})")
        time.sleep(0.5)


def ensure_topic(args: argparse.Namespace, settings: dict[str, str]) -> dict[str, object]:
    admin = AdminClient(settings)
    layout = topic_layout(admin, args.topic, args.setup_timeout)
    created = False
    if layout is None:
        if not args.create_topic:
            raise SetupError(f"topic {args.topic} does not exist (add --create-topic)")
        config = {"unclean.leader.election.enable": "false"}
        if args.min_insync_replicas:
            config["min.insync.replicas"] = str(args.min_insync_replicas)
        new = NewTopic(
            args.topic,
            num_partitions=args.partitions,
            replication_factor=args.replication_factor,
            config=config,
        )
        try:
            admin.create_topics([new], operation_timeout=args.setup_timeout)[args.topic].result(
                timeout=args.setup_timeout
            )
            created = True
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:  # a parallel run made it
                raise SetupError(f"cannot create topic {args.topic}: {exc}") from exc
    layout = wait_for_leaders(admin, args.topic, args.setup_timeout)
    if args.create_topic and not created:
        wanted = {
            "partitions": args.partitions,
            "replication_factor": args.replication_factor,
            "min_insync_replicas": args.min_insync_replicas,
        }
        differences = {k: {"wanted": v, "found": layout[k]} for k, v in wanted.items() if v and layout[k] != v}
        if differences and not args.accept_existing_layout:
            raise SetupError(
                f"topic {args.topic} exists with another layout: {json.dumps(differences)} "
                "(use another topic, or --accept-existing-layout)"
            )
        layout["differences_accepted"] = differences
    layout["created"] = created
    return layout


class FaultRunner:
    """Runs the fault command once, in a thread, while the producer goes on."""

    def __init__(self, command: str, after: int, timeout_s: float) -> None:
        self.command, self.after, self.timeout_s = command, after, timeout_s
        self.thread: threading.Thread | None = None
        self.result: dict[str, object] = {"command_given": True, "after_acks": after, "started": False}

    def maybe_start(self, acked: int, sent: int, elapsed_s: float) -> bool:
        if self.thread is not None or acked < self.after:
            return False
        self.result.update(started=True, acked_at_start=acked, sent_at_start=sent, at_s=round(elapsed_s, 3))
        self.thread = threading.Thread(target=self._run, name="fault", daemon=True)
        self.thread.start()
        return True

    def _run(self) -> None:
        self.result.update(run_command(self.command, self.timeout_s))

    @property
    def finished(self) -> bool:
        return self.thread is not None and not self.thread.is_alive()

    def join(self) -> None:
        if self.thread is not None:
            self.thread.join(self.timeout_s + 5)


@dataclass
class ProduceResult:
    sent: int = 0
    fatal_error: str | None = None
    client_errors: dict[str, int] = field(default_factory=dict)
    produce_s: float = 0.0
    flush_s: float = 0.0


def producer_config(args, settings: dict[str, str], result: ProduceResult) -> dict[str, object]:
    def on_error(error) -> None:
        name = error.name()
        result.client_errors[name] = result.client_errors.get(name, 0) + 1
        if error.fatal():
            result.fatal_error = str(error)

    config: dict[str, object] = dict(settings)
    config.update(
        {
            "acks": "all" if args.acks == "all" else "1",
            "enable.idempotence": args.acks == "all",  # acks=1 cannot be idempotent
            "message.timeout.ms": args.message_timeout_ms,  # bounds every delivery report
            "request.timeout.ms": min(30000, args.message_timeout_ms),  # in-flight requests too
            "allow.auto.create.topics": False,
            "linger.ms": 5,
            "error_cb": on_error,
        }
    )
    return config


def delivery_callback(deliveries: Deliveries):
    def on_delivery(error, message) -> None:
        parsed = parse_value(message.value())
        if parsed is None:
            return
        if error is None:
            deliveries.record(parsed[1], None, message.partition(), message.offset())
        else:
            deliveries.record(parsed[1], error.str() or error.name())

    return on_delivery


def produce(args, settings, run_id, deliveries: Deliveries, fault: FaultRunner | None) -> ProduceResult:
    """Produce until --messages or --duration (or a fatal producer error), then wait for every report."""
    result = ProduceResult()
    producer = Producer(producer_config(args, settings, result))
    on_delivery = delivery_callback(deliveries)
    started = last_progress = last_stop_check = time.monotonic()
    seq = 0
    while seq < args.messages and result.fatal_error is None:
        now = time.monotonic()
        if now - started >= args.duration:
            break
        # Checked once a second: lets a caller end the load when its own work (an upgrade) is done.
        if args.stop_file and now - last_stop_check >= 1:
            last_stop_check = now
            if os.path.exists(args.stop_file):
                log(args, f"stop file {args.stop_file} found")
                break
        if fault is not None:
            watch_fault(args, fault, deliveries, seq, now - started)
        if now - last_progress >= 5:
            last_progress = now
            log(args, f"sent {seq} acked {len(deliveries.acked)} failed {len(deliveries.failed)}")
        ahead = started + seq / args.rate - now if args.rate else 0
        if ahead > 0:
            producer.poll(min(ahead, 0.05))
            continue
        try:
            producer.produce(args.topic, key=message_key(run_id, seq), value=message_value(run_id, seq),
                             on_delivery=on_delivery)  # fmt: skip
        except BufferError:
            producer.poll(0.05)  # local queue full: wait for deliveries
            continue
        except KafkaException as exc:
            deliveries.record(seq, f"produce() refused: {exc}")
        seq += 1
        producer.poll(0)
    result.sent = seq
    result.produce_s = time.monotonic() - started
    log(args, f"produced {seq} in {result.produce_s:.1f} s; waiting for the delivery reports")
    flush_started = time.monotonic()
    producer.flush(args.message_timeout_ms / 1000 + 15)
    result.flush_s = time.monotonic() - flush_started
    if fault is not None and fault.thread is not None:
        fault.join()
        fault.result.setdefault("sent_when_done", seq)
    return result


def watch_fault(args, fault: FaultRunner, deliveries: Deliveries, seq: int, elapsed_s: float) -> None:
    if fault.maybe_start(len(deliveries.acked), seq, elapsed_s):
        log(args, f"fault command started after {len(deliveries.acked)} acks")
    if fault.finished and deliveries.fault_done_seq is None:
        deliveries.fault_done_seq = seq
        fault.result["sent_when_done"] = seq
        log(args, f"fault command finished: exit status {fault.result.get('exit_status')}")


class Reader:
    """Reads every partition from the beginning up to its high watermark, until a deadline.

    A partition is assigned once it has a leader and answers a watermark query; it is done when
    the position reaches that high watermark. Whatever is not done at the deadline is unreadable.
    """

    def __init__(self, args, settings, run_id: str, partitions: list[int], deadline: float) -> None:
        self.topic, self.run_id, self.deadline = args.topic, run_id, deadline
        config = dict(settings)
        config.update(
            {
                "group.id": f"{TOOL}-{run_id}",  # never joined nor committed: partitions are assigned
                "enable.auto.commit": False,
                "enable.auto.offset.store": False,
                "enable.partition.eof": True,
                "auto.offset.reset": "earliest",
                "allow.auto.create.topics": False,
            }
        )
        self.consumer = Consumer(config)
        self.readback = ReadBack()
        self.pending = set(partitions)  # no leader or no watermark yet
        self.target: dict[int, int] = {}  # assigned partition -> high watermark
        self.position: dict[int, int] = {}
        self.reasons: dict[int, str] = dict.fromkeys(partitions, "not probed before the deadline")

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def run(self) -> ReadBack:
        next_probe = 0.0
        try:
            while (self.pending or self.target) and self.remaining() > 0:
                if self.pending and time.monotonic() >= next_probe:
                    self.probe()
                    next_probe = time.monotonic() + 2
                if not self.target:
                    time.sleep(max(0.0, min(0.5, self.remaining())))
                    continue
                for message in self.consumer.consume(num_messages=1000, timeout=0.5):
                    self.take(message)
        finally:
            self.consumer.close()
        for partition, high in self.target.items():
            where = f"read stopped at offset {self.position.get(partition, 0)} of {high}"
            self.reasons[partition] = f"{where}: {self.reasons[partition]}"
        for partition in [*self.pending, *self.target]:
            self.readback.unreadable[partition] = self.reasons[partition]
        return self.readback

    def probe(self) -> None:
        """Assign the pending partitions that have a leader and a high watermark now."""
        try:
            metadata = self.consumer.list_topics(self.topic, timeout=max(0.5, min(5.0, self.remaining())))
            found = metadata.topics[self.topic].partitions
        except (KafkaException, KeyError) as exc:
            for partition in self.pending:
                self.reasons[partition] = f"no metadata: {exc}"
            return
        for partition in sorted(self.pending):
            if self.remaining() <= 0:
                return
            meta = found.get(partition)
            if meta is None or meta.error is not None or meta.leader < 0:
                self.reasons[partition] = "leader not available" + (f": {meta.error}" if meta and meta.error else "")
                continue
            try:
                offsets = self.consumer.get_watermark_offsets(
                    TopicPartition(self.topic, partition), timeout=max(0.5, min(5.0, self.remaining()))
                )
            except KafkaException as exc:
                self.reasons[partition] = f"watermarks from leader {meta.leader}: {exc}"
                continue
            if offsets is None:
                self.reasons[partition] = f"watermarks from leader {meta.leader}: timed out"
                continue
            self.pending.discard(partition)
            low, high = offsets
            if high <= low:
                self.readback.partitions_read.append(partition)
                continue
            self.target[partition] = high
            self.consumer.incremental_assign([TopicPartition(self.topic, partition, OFFSET_BEGINNING)])

    def take(self, message) -> None:
        partition = message.partition()
        if partition not in self.target:
            return
        error = message.error()
        if error is not None:
            if error.code() != KafkaError._PARTITION_EOF:
                self.reasons[partition] = f"read error: {error.str()}"
                return
            self.position[partition] = max(self.position.get(partition, 0), message.offset())
        else:
            self.position[partition] = message.offset() + 1
            parsed = parse_value(message.value())
            if parsed is not None and parsed[0] == self.run_id:
                self.readback.record(parsed[1], partition, message.offset())
            else:
                self.readback.foreign_records += 1
        if self.position[partition] >= self.target[partition]:
            self.consumer.incremental_unassign([TopicPartition(self.topic, partition)])
            del self.target[partition]
            self.readback.partitions_read.append(partition)


# --------------------------------------------------------------------------- command line


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1: {text}")
    return value


def positive_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0: {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kafka_loss_check.py",
        description="Produce numbered messages, optionally inject a fault, read them back: "
        "report acknowledged messages that were lost (JSON on stdout).",
        epilog="Exit status: 0 nothing acknowledged was lost; 1 loss found or not verifiable; "
        "2 usage/setup error. With --expect-loss: 0 damage observed, 1 everything looked clean.",
    )
    conn = parser.add_argument_group("connection")
    conn.add_argument("--bootstrap", help="bootstrap servers (or bootstrap.servers in --client-config)")
    conn.add_argument("--client-config", metavar="FILE", help="librdkafka properties (key=value): TLS, SASL")
    conn.add_argument("--topic", required=True)
    topic = parser.add_argument_group("topic")
    topic.add_argument("--create-topic", action="store_true", help="create the topic if it is missing")
    topic.add_argument("--partitions", type=positive_int, default=6)
    topic.add_argument("--replication-factor", type=positive_int, default=3)
    topic.add_argument("--min-insync-replicas", type=positive_int, default=None)
    topic.add_argument(
        "--accept-existing-layout",
        action="store_true",
        help="with --create-topic, use an existing topic even if its layout differs",
    )
    load = parser.add_argument_group("load")
    load.add_argument("--acks", choices=["all", "1"], default="all", help="all: idempotent producer")
    load.add_argument("--messages", type=positive_int, default=10000, help="upper bound of messages")
    load.add_argument("--duration", type=positive_float, default=60.0, help="upper bound of producing (s)")
    load.add_argument("--rate", type=positive_float, default=None, help="messages per second at most")
    load.add_argument("--stop-file", metavar="PATH", help="stop producing (then read back) once this file exists")
    load.add_argument("--message-timeout-ms", type=positive_int, default=30000)
    load.add_argument("--label", help="names this run (run id prefix, log prefix): [A-Za-z0-9_.-]")
    fault = parser.add_argument_group("fault")
    fault.add_argument("--fault-after", type=positive_int, help="run --fault-command after K acknowledgements")
    fault.add_argument("--fault-command", help="shell command run once while producing")
    fault.add_argument("--fault-timeout", type=positive_float, default=60.0)
    fault.add_argument("--recover-command", help="shell command run after producing, before reading back")
    fault.add_argument("--recover-timeout", type=positive_float, default=300.0)
    check = parser.add_argument_group("check")
    check.add_argument("--expect-loss", action="store_true", help="negative control: succeed only on damage")
    check.add_argument("--consume-timeout", type=positive_float, default=60.0, help="bound of reading back (s)")
    check.add_argument("--setup-timeout", type=positive_float, default=30.0, help="bound of each admin step (s)")
    check.add_argument("--quiet", action="store_true", help="no progress on stderr")
    return parser


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = build_parser()
    args = parser.parse_args(argv)
    if (args.fault_after is None) != (args.fault_command is None):
        parser.error("--fault-after and --fault-command go together")
    if args.label is not None and not LABEL_PATTERN.match(args.label):
        parser.error("--label: 1-64 characters of A-Z a-z 0-9 _ . -")
    if args.create_topic and args.min_insync_replicas and args.min_insync_replicas > args.replication_factor:
        parser.error("--min-insync-replicas cannot exceed --replication-factor")
    return args


def hard_limit_s(args: argparse.Namespace) -> float:
    """Sum of every phase's bound, plus slack: the watchdog ends the process after it."""
    return (
        4 * args.setup_timeout
        + args.duration
        + args.message_timeout_ms / 1000
        + 15
        + (args.fault_timeout if args.fault_command else 0)
        + (args.recover_timeout if args.recover_command else 0)
        + args.consume_timeout
        + 30
    )


def start_watchdog(limit_s: float) -> None:
    def expire() -> None:
        print(f"{TOOL}: watchdog: run exceeded {limit_s:g} s, exiting", file=sys.stderr, flush=True)
        os._exit(EXIT_SETUP)

    timer = threading.Timer(limit_s, expire)
    timer.daemon = True
    timer.start()


def emit(report: dict) -> None:
    print(json.dumps(report, indent=2, sort_keys=False), flush=True)


def run(args: argparse.Namespace) -> int:
    started = time.monotonic()
    run_id = make_run_id(args.label)
    report: dict[str, object] = {"tool": TOOL, "report_version": REPORT_VERSION, "run_id": run_id,
                                 "label": args.label, "topic": args.topic}  # fmt: skip
    try:
        if Producer is None:
            raise SetupError("confluent-kafka is not installed for this interpreter")
        file_settings: dict[str, str] = {}
        if args.client_config:
            try:
                with open(args.client_config, encoding="utf-8") as handle:
                    file_settings = parse_properties(handle.read())
            except OSError as exc:
                raise SetupError(f"cannot read --client-config: {exc.strerror}") from exc
            check_client_config(file_settings)
        settings = client_settings(args, file_settings)
        report.update(
            bootstrap=settings["bootstrap.servers"],
            client_config_keys=sorted(file_settings),
            settings={
                "acks": args.acks,
                "idempotence": args.acks == "all",
                "messages_limit": args.messages,
                "duration_limit_s": args.duration,
                "rate_limit": args.rate,
                "message_timeout_ms": args.message_timeout_ms,
                "expect_loss": args.expect_loss,
            },
        )
        layout = ensure_topic(args, settings)
        report["topic_layout"] = layout
        log(args, f"run {run_id} on topic {args.topic}: {layout['partitions']} partitions, "
                  f"RF {layout['replication_factor']}, min ISR {layout['min_insync_replicas']}")  # fmt: skip
    except (SetupError, KafkaException) as exc:
        report.update(verdict="setup_error", error=str(exc), exit_code=EXIT_SETUP,
                      duration_s=round(time.monotonic() - started, 3))  # fmt: skip
        emit(report)
        return EXIT_SETUP

    deliveries = Deliveries()
    fault = FaultRunner(args.fault_command, args.fault_after, args.fault_timeout) if args.fault_command else None
    produced = produce(args, settings, run_id, deliveries, fault)
    recovery = None
    if args.recover_command:
        log(args, "running the recovery command")
        recovery = {"command_given": True, **run_command(args.recover_command, args.recover_timeout)}
    consume_started = time.monotonic()
    partitions = list(range(int(layout["partitions"])))
    readback = Reader(args, settings, run_id, partitions, consume_started + args.consume_timeout).run()
    consume_s = time.monotonic() - consume_started

    summary = summarize(run_id, produced.sent, deliveries, readback)
    fault_report = None
    if fault is not None:
        fault_report = dict(fault.result)
        fault_report["acked_after_fault"] = deliveries.acked_after_fault
    problem = command_problem(fault_report, recovery)
    name, code = verdict(summary, expect_loss=args.expect_loss, problem=problem)
    report.update(summary)
    report.update(
        fault=fault_report,
        recovery=recovery,
        producer_fatal_error=produced.fatal_error,
        client_errors=produced.client_errors,
        duration_s=round(time.monotonic() - started, 3),
        phases_s={
            "produce": round(produced.produce_s, 3),
            "flush": round(produced.flush_s, 3),
            "recover": recovery["took_s"] if recovery else 0,
            "consume": round(consume_s, 3),
        },
        verdict=name,
        exit_code=code,
    )
    emit(report)
    log(args, f"verdict {name}: acked {summary['acked']}, lost {summary['lost']['count']}, "
              f"failed {summary['failed']['count']}, unreadable {len(summary['unreadable_partitions'])}")  # fmt: skip
    return code


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    start_watchdog(hard_limit_s(args))
    try:
        return run(args)
    except KeyboardInterrupt:
        print(f"{TOOL}: interrupted", file=sys.stderr)
        return EXIT_SETUP


if __name__ == "__main__":
    sys.exit(main())
