"""Probe a Kafka listener the way a client would and print what happened as JSON.

Used by verify_kafka.yml to show that the listener refuses what it must refuse:
  plaintext      PLAINTEXT to the SASL_SSL port
  tls-anonymous  TLS without SASL
  scram          SCRAM-SHA-512 over TLS with --username and the password in $PROBE_PASSWORD,
                 then a produce to --topic (an ACL-less principal must be refused there)
Exit status 0 always when the probe ran; the verdict is in the JSON ("outcome").
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from confluent_kafka import KafkaException, Producer
from confluent_kafka.admin import AdminClient


def probe(args: argparse.Namespace) -> dict:
    conf = {"bootstrap.servers": args.bootstrap, "socket.timeout.ms": 8000, "logger": None}
    conf = {k: v for k, v in conf.items() if v is not None}
    if args.mode == "plaintext":
        conf["security.protocol"] = "PLAINTEXT"
    else:
        conf["ssl.ca.location"] = args.ca
        if args.mode == "tls-anonymous":
            conf["security.protocol"] = "SSL"
        else:
            conf.update(
                {
                    "security.protocol": "SASL_SSL",
                    "sasl.mechanism": "SCRAM-SHA-512",
                    "sasl.username": args.username,
                    "sasl.password": os.environ.get("PROBE_PASSWORD", ""),
                }
            )
    errors: list[str] = []
    conf["error_cb"] = lambda err: errors.append(str(err))
    admin = AdminClient(conf)
    try:
        metadata = admin.list_topics(timeout=args.timeout)
        connected = True
        broker_count = len(metadata.brokers)
    except KafkaException as exc:
        connected, broker_count = False, 0
        errors.append(str(exc))
        # Authentication errors arrive through error_cb, which only poll() serves.
        admin.poll(2)
    result = {"mode": args.mode, "connected": connected, "brokers": broker_count}
    if connected and args.topic:
        delivery: list[str] = []
        producer = Producer({**conf, "acks": "all", "message.timeout.ms": int(args.timeout * 1000)})
        producer.produce(args.topic, b"probe", callback=lambda err, msg: delivery.append(str(err) if err else "ok"))
        producer.flush(args.timeout + 5)
        result["produce"] = delivery[0] if delivery else "no delivery report"
    auth_failed = any("Authentication failed" in e or "SASL authentication error" in e for e in errors)
    result["errors"] = errors[:3]
    if auth_failed:
        result["outcome"] = "authentication-refused"
    elif not connected:
        result["outcome"] = "connection-refused"
    elif "produce" in result and "AUTHORIZATION" in result["produce"].upper():
        result["outcome"] = "authorization-refused"
    elif "produce" in result and result["produce"] != "ok":
        result["outcome"] = "produce-failed"
    else:
        result["outcome"] = "accepted"
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--mode", choices=["plaintext", "tls-anonymous", "scram"], required=True)
    parser.add_argument("--ca")
    parser.add_argument("--username")
    parser.add_argument("--topic")
    parser.add_argument("--timeout", type=float, default=15.0)
    print(json.dumps(probe(parser.parse_args())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
