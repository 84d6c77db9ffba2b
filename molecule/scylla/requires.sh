#!/usr/bin/env bash
# Can molecule/scylla run here? Run first by `make molecule` (and usable alone).
#   exit 0  - yes: the ScyllaDB package source answers (nothing printed)
#   exit 77 - no: prints "SKIPPED molecule scylla: <reason>" (make records it in the timing file)
#   other   - this check itself is broken: make stops
# It contacts one address only: the configured ScyllaDB apt repository (HEAD of its InRelease,
# 5 s), or, with CDC_SCYLLA_PACKAGE_SOURCE=staged, nothing (it looks for the staged .deb files).
# It also reads fs.aio-max-nr: the three nodes share this machine's kernel, and ScyllaDB refuses
# to start without enough asynchronous I/O slots (ScyllaDB's container guidance: 1048576).
# CDC_SCYLLA_REPO_URL and CDC_SCYLLA_PACKAGE_SOURCE are the switches molecule.yml reads too.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
python=${CDC_PYTHON:-$root/.venv/bin/python}
[ -x "$python" ] || python=python3

exec "$python" - "$root" <<'PY'
import os
import sys
import urllib.error
import urllib.request
from pathlib import Path

import jinja2
import yaml

root = Path(sys.argv[1])
defaults = yaml.safe_load((root / "roles/scylla/defaults/main.yml").read_text(encoding="utf-8"))
version = str(defaults["scylla_version"])
source = os.environ.get("CDC_SCYLLA_PACKAGE_SOURCE") or "repository"


def skip(reason):
    print("SKIPPED molecule scylla: %s" % reason)
    sys.exit(77)


AIO_NEEDED = 1048576


def check_aio():
    with open("/proc/sys/fs/aio-max-nr", encoding="ascii") as handle:
        have = int(handle.read().strip())
    if have < AIO_NEEDED:
        skip("fs.aio-max-nr is %d on this machine, ScyllaDB's nodes need %d (sysctl -w fs.aio-max-nr=%d)" % (have, AIO_NEEDED, AIO_NEEDED))


if source == "staged":
    stage = Path(os.environ.get("CDC_ARTIFACT_DIR") or root / ".cache/artifacts") / ("scylla-" + version)
    if not sorted(stage.glob("scylla-server_*.deb")) or not (stage / "SHA256SUMS").is_file():
        skip("no staged ScyllaDB packages (scylla-server_*.deb and SHA256SUMS) in %s" % stage)
    check_aio()
    sys.exit(0)
if source != "repository":
    sys.stderr.write("CDC_SCYLLA_PACKAGE_SOURCE must be repository or staged, not %r\n" % source)
    sys.exit(2)

repo = os.environ.get("CDC_SCYLLA_REPO_URL") or jinja2.Template(defaults["scylla_repo_url"]).render(scylla_version=version)
url = "%s/dists/%s/InRelease" % (repo.rstrip("/"), defaults["scylla_repo_suite"])
try:
    with urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=5) as answer:  # noqa: S310
        status = answer.status
except urllib.error.HTTPError as exc:
    skip("the ScyllaDB repository answered %s for %s" % (exc.code, url))
except (urllib.error.URLError, OSError) as exc:
    skip("the ScyllaDB repository %s is not reachable from here (%s)" % (url, getattr(exc, "reason", exc)))
if status != 200:
    skip("the ScyllaDB repository answered %s for %s" % (status, url))
check_aio()
PY
