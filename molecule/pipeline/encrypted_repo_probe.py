# Copyright: cdc.pipeline maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Proves a pgBackRest repository is encrypted at rest: every file starts with OpenSSL's
"Salted__" header and a marker written into the database is nowhere in it. The marker must be
found in the plaintext control directory (the server's WAL), or the search proves nothing.

    encrypted_repo_probe.py REPO MARKER CONTROL_DIR   -> JSON report, exit 1 on failure
"""

import json
import os
import sys


def files(root):
    for directory, _dirs, names in os.walk(root):
        for name in names:
            yield os.path.join(directory, name)


def contains(path, needle):
    with open(path, "rb") as handle:
        return needle in handle.read()


def main(repo, marker, control_dir):
    needle = marker.encode()
    repo_files = [p for p in files(repo) if not os.path.islink(p)]
    unencrypted = []
    for path in repo_files:
        with open(path, "rb") as handle:
            if handle.read(8) != b"Salted__":
                unencrypted.append(path)
    leaked = [p for p in repo_files if contains(p, needle)]
    control_hits = [p for p in files(control_dir) if os.path.isfile(p) and contains(p, needle)]
    report = {
        "encrypted_files": len(repo_files) - len(unencrypted),
        "unencrypted": unencrypted,
        "marker_in_repository": leaked,
        "marker_found_in_control": len(control_hits),
    }
    print(json.dumps(report))
    return 0 if repo_files and not unencrypted and not leaked and control_hits else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
