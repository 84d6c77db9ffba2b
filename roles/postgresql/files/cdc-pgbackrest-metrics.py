#!/usr/bin/env python
# Copyright: (c) 2026, cdc.pipeline maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write pgBackRest backup metrics for the node exporter's textfile collector.

From `pgbackrest --stanza=<stanza> --output=json info`, run as the PostgreSQL account:

- cdc_pgbackrest_last_backup_timestamp_seconds{stanza,type}: end time (Unix) of the newest backup of
  each type (full, diff, incr) the repository holds; what the PgBackRestBackupTooOld alerts read.
- cdc_pgbackrest_last_backup_duration_seconds{stanza,type}: how long that backup took.
- cdc_pgbackrest_stanza_status{stanza}: pgBackRest's status code of the stanza (0 ok).

Backups run on the primary only, so a standby writes nothing: there the file is removed (after a
promotion the old primary stops reporting by itself, the new one starts within one timer period).
If PostgreSQL or pgBackRest cannot be asked, the run fails (the unit shows it) and the last file
stays: the backups it describes still exist. The file is written atomically (temporary file in the
same directory, then a rename).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

TIMEOUT_S = 300
BACKUP_TYPES = ("full", "diff", "incr")


def escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def as_postgres(args: argparse.Namespace, *command: str) -> str:
    result = subprocess.run(
        ["runuser", "-u", args.user, "--", *command],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
        cwd="/",
    )
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)}: exit {result.returncode}: {result.stderr.strip()}")
    return result.stdout


def in_recovery(args: argparse.Namespace) -> bool:
    answer = as_postgres(
        args,
        "psql", "--no-psqlrc", "--quiet", "--tuples-only", "--no-align",
        f"--host={args.socket_dir}", f"--port={args.port}", "--dbname=postgres",
        "--command=SELECT pg_is_in_recovery()",
    )  # fmt: skip
    return answer.strip() == "t"


def render(info: list[dict], stanza: str) -> str:
    lines = [
        "# HELP cdc_pgbackrest_last_backup_timestamp_seconds End time of the newest backup of this type.\n",
        "# TYPE cdc_pgbackrest_last_backup_timestamp_seconds gauge\n",
    ]
    durations = [
        "# HELP cdc_pgbackrest_last_backup_duration_seconds Duration of the newest backup of this type.\n",
        "# TYPE cdc_pgbackrest_last_backup_duration_seconds gauge\n",
    ]
    status = [
        "# HELP cdc_pgbackrest_stanza_status pgBackRest status code of the stanza (0 ok).\n",
        "# TYPE cdc_pgbackrest_stanza_status gauge\n",
    ]
    for entry in info:
        name = entry.get("name", "")
        if name != stanza:
            continue
        label = escape(name)
        status.append(
            f'cdc_pgbackrest_stanza_status{{stanza="{label}"}} {int(entry.get("status", {}).get("code", -1))}\n'
        )
        newest: dict[str, dict] = {}
        for backup in entry.get("backup", []):
            kind = backup.get("type")
            stop = backup.get("timestamp", {}).get("stop")
            if kind not in BACKUP_TYPES or stop is None:
                continue
            if kind not in newest or stop > newest[kind]["timestamp"]["stop"]:
                newest[kind] = backup
        for kind in BACKUP_TYPES:
            if kind not in newest:
                continue
            stamps = newest[kind]["timestamp"]
            labels = f'stanza="{label}",type="{kind}"'
            lines.append(f"cdc_pgbackrest_last_backup_timestamp_seconds{{{labels}}} {int(stamps['stop'])}\n")
            duration = int(stamps["stop"]) - int(stamps.get("start", stamps["stop"]))
            durations.append(f"cdc_pgbackrest_last_backup_duration_seconds{{{labels}}} {duration}\n")
    return "".join(lines + durations + status)


def write_atomically(output: Path, text: str) -> None:
    # Not *.prom until the rename: the collector only reads *.prom.
    handle, temporary = tempfile.mkstemp(prefix=f".{output.name}.", dir=output.parent)
    try:
        with os.fdopen(handle, "w") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, output)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stanza", required=True)
    parser.add_argument("--output", type=Path, required=True, help="the .prom file to write")
    parser.add_argument("--user", default="postgres")
    parser.add_argument("--socket-dir", default="/var/run/postgresql")
    parser.add_argument("--port", type=int, default=5432)
    parser.add_argument("--pgbackrest", default="/usr/bin/pgbackrest")
    args = parser.parse_args(argv)
    try:
        if in_recovery(args):
            args.output.unlink(missing_ok=True)
            return 0
        info = json.loads(as_postgres(args, args.pgbackrest, f"--stanza={args.stanza}", "--output=json", "info"))
    except (RuntimeError, subprocess.TimeoutExpired, ValueError) as exc:
        print(f"cdc-pgbackrest-metrics: {exc}", file=sys.stderr)
        return 1
    write_atomically(args.output, render(info, args.stanza))
    return 0


if __name__ == "__main__":
    sys.exit(main())
