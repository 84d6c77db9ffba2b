#!/usr/bin/env python
# Copyright: (c) 2026, cdc.pipeline maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Post one alert to every Alertmanager peer, as a Prometheus server does, then SIGKILL the local peer.

Run on the peer at position 0 (the one that notifies first): the kill lands well inside the test
route's group_wait, so only another peer can deliver the notification. Both steps run in one process,
so the gap between them does not depend on how loaded the machine is.

startsAt is now: Alertmanager notifies an alert that started more than group_wait ago at once.

Usage: post_and_kill.py --run MARKER --alertname NAME [--pki DIR] URL [URL ...]
"""

import argparse
import datetime
import json
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request


def post(url, body, context, attempts=5):
    """None once the peer accepted the alert, else the last error (a handshake can fail under load)."""
    problem = None
    for _attempt in range(attempts):
        request = urllib.request.Request(
            url.rstrip("/") + "/api/v2/alerts", data=body, headers={"Content-Type": "application/json"}, method="POST"
        )
        try:
            with urllib.request.urlopen(request, context=context, timeout=10) as answer:
                if answer.status == 200:
                    return None
                problem = "POST to %s answered %s" % (url, answer.status)
        except (urllib.error.URLError, OSError) as exc:
            problem = "POST to %s failed: %s" % (url, exc)
        print(problem, file=sys.stderr)
        time.sleep(0.5)
    return problem


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", required=True)
    parser.add_argument("--alertname", required=True, help="unique per run: a new alert group, so group_wait applies")
    parser.add_argument("--pki", default="/etc/cdc-pki/monitoring")
    parser.add_argument("urls", nargs="+")
    args = parser.parse_args()

    context = ssl.create_default_context(cafile=args.pki + "/ca.pem")
    context.load_cert_chain(args.pki + "/monitoring-fullchain.pem", args.pki + "/monitoring.key")
    started = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")  # noqa: UP017
    alert = [
        {
            "labels": {
                "alertname": args.alertname,
                "severity": "warning",
                "service": "monitoring",
                "test": "true",
                "cluster": "cdc",
                "run": args.run,
            },
            "annotations": {
                "summary": "kill test " + args.run,
                "runbook_url": "docs/runbook-monitoring.md#cdcmonitoringtestalert",
            },
            "startsAt": started,
        }
    ]
    body = json.dumps(alert).encode()
    posted = time.monotonic()
    for url in args.urls:
        problem = post(url, body, context)
        if problem:
            print(problem, file=sys.stderr)
            return 1
    subprocess.run(["systemctl", "kill", "--signal=SIGKILL", "prometheus-alertmanager"], check=True)
    print(
        json.dumps(
            {"posted_to": args.urls, "starts_at": started, "killed_after_seconds": round(time.monotonic() - posted, 3)}
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
