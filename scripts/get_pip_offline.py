# Copyright: cdc.pipeline maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Offline stand-in for pip's ``get-pip.py`` bootstrap script.

``ansible-test ... --requirements`` creates a virtual environment per sanity
test without pip and bootstraps pip in it with ``get-pip.py``, which it
downloads from a host that the lab machines cannot reach.  Before downloading,
ansible-test looks for a cached copy at
``~/.ansible/test/cache/get_pip_<pip version with underscores>.py``.
``scripts/ansible-test-sanity.sh`` installs this file at that path.

What it does, run by the target virtual environment's interpreter:

1. bootstraps pip with the standard library's ``ensurepip`` (no network);
2. runs ``python -m pip install ARGS`` in a subprocess, where ARGS are the
   arguments this script was given minus get-pip's own ``--no-setuptools``
   and ``--no-wheel`` (pip itself does not know them).  ansible-test passes
   e.g. ``--disable-pip-version-check pip==24.2``, so pip is then upgraded
   to the exact version ansible-test wants, from the package index.

``ensurepip`` deletes every ``PIP_*`` variable from ``os.environ`` and points
``PIP_CONFIG_FILE`` at ``/dev/null`` inside this process.  That would drop the
machine's pip settings (certificate bundle, index, find-links), so the pip
install in step 2 runs with a copy of the environment taken before ensurepip
ran.

Only the standard library is used: this runs in an empty virtual environment.
"""

from __future__ import annotations

import os
import subprocess
import sys

# Options that get-pip.py understands itself and pip does not.
GET_PIP_ONLY_OPTIONS = frozenset(("--no-setuptools", "--no-wheel"))

LOG_PREFIX = "get_pip_offline:"


def log(message):
    """Print a progress message to stderr (ansible-test shows it)."""
    sys.stderr.write(f"{LOG_PREFIX} {message}\n")
    sys.stderr.flush()


def pip_arguments(argv):
    """Return the arguments to hand to ``pip install``, without get-pip's own options."""
    return [arg for arg in argv if arg not in GET_PIP_ONLY_OPTIONS]


def bootstrap_with_ensurepip():
    """Install the pip wheel bundled with this interpreter.  Changes os.environ."""
    try:
        import ensurepip  # noqa: PLC0415  # pylint: disable=import-outside-toplevel
    except ImportError:
        log(
            f"this interpreter ({sys.executable}) has no ensurepip module; on Debian install python3-venv "
            "(or python3.X-venv) or use a Python built with ensurepip"
        )
        raise

    log(f"bootstrapping pip {ensurepip.version()} with ensurepip into {sys.prefix}")
    ensurepip.bootstrap(upgrade=True, default_pip=True)


def main(argv=None):
    """Entry point.  Returns the exit status of the pip install."""
    if argv is None:
        argv = sys.argv[1:]

    # Snapshot before ensurepip empties PIP_* and sets PIP_CONFIG_FILE=/dev/null.
    saved_environment = dict(os.environ)

    try:
        bootstrap_with_ensurepip()
    except ImportError:
        return 1
    except subprocess.CalledProcessError as ex:
        log(f"ensurepip failed with exit status {ex.returncode}")
        return ex.returncode or 1

    args = pip_arguments(argv)

    if not any(not arg.startswith("-") for arg in args):
        log("no packages requested; pip from ensurepip stays as it is")
        return 0

    command = [sys.executable, "-m", "pip", "install"] + args
    log("running: {}".format(" ".join(command)))

    return subprocess.call(command, env=saved_environment)


if __name__ == "__main__":
    sys.exit(main())
