#!/usr/bin/env python
# Copyright: (c) 2026, cdc.pipeline maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write cdc_certificate_expiry_timestamp_seconds for the node exporter's textfile collector.

One series per certificate the collection issued on this host: every /etc/cdc-pki/<service>/<service>.pem
(roles/pki_certificate; label service=<service>), plus the `service path` lines of the config file
(certificates made elsewhere, such as the OpenBao listener's; a listed file that does not exist is
skipped: the same list serves hosts with and without that service). The value is the certificate's
notAfter as a Unix time. The file is written atomically (a temporary file in the same directory, then
a rename) so the collector never reads half of it. A certificate that cannot be read is counted in
cdc_certificate_expiry_read_errors and makes the run fail (the unit shows it), the others are written.
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
import tempfile
from pathlib import Path

from cryptography import x509

HEADER = (
    "# HELP cdc_certificate_expiry_timestamp_seconds notAfter of a certificate in use, as a Unix time.\n"
    "# TYPE cdc_certificate_expiry_timestamp_seconds gauge\n"
)


def escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def discover(pki_dir: Path, config: Path | None) -> list[tuple[str, Path]]:
    found: list[tuple[str, Path]] = []
    if pki_dir.is_dir():
        for directory in sorted(p for p in pki_dir.iterdir() if p.is_dir()):
            leaf = directory / f"{directory.name}.pem"
            if leaf.is_file():
                found.append((directory.name, leaf))
    if config is not None and config.is_file():
        for raw in config.read_text().splitlines():
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            service, path = (line.split(" ", 1) + [""])[:2]
            candidate = Path(path.strip())
            if candidate.is_file() and (service, candidate) not in found:
                found.append((service, candidate))
    return found


def not_after(path: Path) -> float:
    certificate = x509.load_pem_x509_certificate(path.read_bytes())
    # cryptography < 42 (Debian 12 has 38) only has the naive UTC attribute.
    moment = getattr(certificate, "not_valid_after_utc", None)
    if moment is None:
        moment = certificate.not_valid_after.replace(tzinfo=datetime.UTC)
    return moment.timestamp()


def render(certificates: list[tuple[str, Path]]) -> tuple[str, int]:
    lines = [HEADER]
    errors = 0
    for service, path in certificates:
        try:
            value = not_after(path)
        except (OSError, ValueError) as exc:
            print(f"cdc-certificate-expiry: {path}: {exc}", file=sys.stderr)
            errors += 1
            continue
        labels = f'service="{escape(service)}",path="{escape(str(path))}"'
        lines.append(f"cdc_certificate_expiry_timestamp_seconds{{{labels}}} {value:.0f}\n")
    lines.append("# HELP cdc_certificate_expiry_read_errors Certificates that could not be read on the last run.\n")
    lines.append("# TYPE cdc_certificate_expiry_read_errors gauge\n")
    lines.append(f"cdc_certificate_expiry_read_errors {errors}\n")
    return "".join(lines), errors


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
    parser.add_argument("--pki-dir", type=Path, default=Path("/etc/cdc-pki"))
    parser.add_argument("--config", type=Path, default=None, help="lines of `service path`")
    parser.add_argument("--output", type=Path, required=True, help="the .prom file to write")
    args = parser.parse_args(argv)
    text, errors = render(discover(args.pki_dir, args.config))
    write_atomically(args.output, text)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
