"""Count the records written to a topic since a reading of its positions.

A drill takes the positions before a step and counts afterwards what was written in between (the
offsets restore into a fresh Connect cluster: how much the source read again). End offsets alone do
not count records: with exactly-once source support each transaction also writes a commit marker.

  topic_records.py --bootstrap H:9092,... --client-config FILE positions TOPIC   # {"0": 1234, ...}
  topic_records.py --bootstrap H:9092,... --client-config FILE count --since POSITIONS_JSON TOPIC
                                                                              # {"records": N, ...}
  topic_records.py --bootstrap H:9092,... --client-config FILE produce --value V --header K=V TOPIC
                                                    # one record, acks=all: {"partition": P, "offset": O}
The client config is librdkafka properties (SASL, TLS); none of its values are printed. Bounded:
every call gives up after --timeout seconds.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition

from tests.tools.kafka_loss_check import parse_properties


def positions(consumer: Consumer, topic: str, timeout_s: float) -> dict[int, int]:
    metadata = consumer.list_topics(topic, timeout=timeout_s).topics[topic]
    if metadata.error is not None:
        raise RuntimeError(f"topic {topic}: {metadata.error}")
    return {
        partition: consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=timeout_s)[1]
        for partition in sorted(metadata.partitions)
    }


def count_since(consumer: Consumer, topic: str, since: dict[int, int], timeout_s: float) -> dict:
    """Committed records from each partition's position in `since` up to its end (read_committed)."""
    ends = positions(consumer, topic, timeout_s)
    pending = {p for p, end in ends.items() if end > since.get(p, 0)}
    counts = dict.fromkeys(ends, 0)
    if pending:
        consumer.assign([TopicPartition(topic, p, since.get(p, 0)) for p in sorted(pending)])
    deadline = time.monotonic() + timeout_s
    while pending:
        if time.monotonic() > deadline:
            raise RuntimeError(f"partitions {sorted(pending)} not read to their end within {timeout_s} s")
        message = consumer.poll(1.0)
        if message is None:
            continue
        if message.error() is not None:
            if message.error().code() == KafkaError._PARTITION_EOF:
                pending.discard(message.partition())
                continue
            raise RuntimeError(str(message.error()))
        if message.offset() < ends[message.partition()]:
            counts[message.partition()] += 1
    return {"records": sum(counts.values()), "by_partition": counts}


def produce_one(settings: dict, topic: str, value: str, headers: list[str], timeout_s: float) -> dict:
    """One record written with acks=all; where it was stored."""
    stored: list = []
    producer = Producer({**settings, "acks": "all", "enable.idempotence": True})
    pairs = [tuple(header.split("=", 1)) for header in headers]
    producer.produce(topic, value=value.encode(), headers=pairs, on_delivery=lambda err, msg: stored.append((err, msg)))
    if producer.flush(timeout_s) != 0 or not stored:
        raise RuntimeError(f"the record to {topic} was not acknowledged within {timeout_s} s")
    error, message = stored[0]
    if error is not None:
        raise RuntimeError(str(error))
    return {"partition": message.partition(), "offset": message.offset()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--client-config", required=True)
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("command", choices=["positions", "count", "produce"])
    parser.add_argument("--since", help="count: a file with the output of positions")
    parser.add_argument("--value", default="", help="produce: the record's value")
    parser.add_argument("--header", action="append", default=[], help="produce: a header K=V (repeatable)")
    parser.add_argument("topic")
    args = parser.parse_args()
    settings = parse_properties(Path(args.client_config).read_text())
    if args.command == "produce":
        settings["bootstrap.servers"] = args.bootstrap
        try:
            print(json.dumps(produce_one(settings, args.topic, args.value, args.header, args.timeout)))
        except Exception as exc:  # noqa: BLE001 - one line for the play, whatever the client raised
            print(f"topic_records: {exc}", file=sys.stderr)
            return 1
        return 0
    settings.update(
        {
            "bootstrap.servers": args.bootstrap,
            "group.id": "cdc-molecule-topic-records",
            "enable.auto.commit": False,
            "enable.partition.eof": True,
            "isolation.level": "read_committed",
        }
    )
    consumer = Consumer(settings)
    try:
        if args.command == "positions":
            report = positions(consumer, args.topic, args.timeout)
        else:
            since = {int(p): int(offset) for p, offset in json.loads(Path(args.since).read_text()).items()}
            report = count_since(consumer, args.topic, since, args.timeout)
        print(json.dumps(report))
    except Exception as exc:  # noqa: BLE001 - one line for the play, whatever the client raised
        print(f"topic_records: {exc}", file=sys.stderr)
        return 1
    finally:
        consumer.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
