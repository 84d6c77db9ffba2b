#!/usr/bin/env bash
# Runs `ansible-test sanity` against cdc.pipeline as it would be installed from Galaxy:
# build the collection artifact, install it under .cache/sanity/collections/ansible_collections,
# and run ansible-test from inside the installed copy (ansible-test needs the
# ansible_collections/<namespace>/<name> layout, and testing the artifact also proves that
# build_ignore keeps out what it should).
#
# No Docker here, so the tests run locally with `--requirements`: ansible-test makes a
# virtualenv per sanity test and bootstraps pip in it with get-pip.py, which it downloads
# from a host the lab machines cannot reach. It first looks for a cached copy at
# ~/.ansible/test/cache/get_pip_<pip version>.py, so this script puts
# scripts/get_pip_offline.py (ensurepip + `pip install` from the package index) there.
#
# Usage: scripts/ansible-test-sanity.sh [extra ansible-test sanity args, e.g. --test pep8 -v]
# Environment:
#   VENV            virtualenv holding ansible-core/ansible-test   (default: <repo>/.venv)
#   SANITY_PYTHON   Python version for the tests                   (default: 3.11)
#   SANITY_DIR      work directory (artifact + installed copy)     (default: <repo>/.cache/sanity)
#   SANITY_SKIP     extra space-separated sanity tests to skip     (default: none)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
SANITY_PYTHON="${SANITY_PYTHON:-3.11}"
SANITY_DIR="${SANITY_DIR:-$ROOT/.cache/sanity}"
SANITY_SKIP="${SANITY_SKIP:-}"
STAND_IN="$ROOT/scripts/get_pip_offline.py"

say() { printf 'sanity: %s\n' "$*"; }
die() { printf 'sanity: ERROR: %s\n' "$*" >&2; exit 1; }

PY="$VENV/bin/python"
[ -x "$PY" ] || die "no Python at $PY; run 'make venv' first (or set VENV=...)"
for tool in ansible-galaxy ansible-test; do
  [ -x "$VENV/bin/$tool" ] || die "$VENV/bin/$tool missing; is ansible-core installed in $VENV?"
done
# ansible-test looks up python$SANITY_PYTHON on PATH to create the per-test virtualenvs:
# make sure it finds the project's interpreter first.
export PATH="$VENV/bin:$PATH"
command -v "python$SANITY_PYTHON" >/dev/null 2>&1 \
  || die "python$SANITY_PYTHON not found on PATH (VENV=$VENV); set SANITY_PYTHON to a version you have"

timings=()
phase_start=$SECONDS
phase_done() { # name
  local took=$((SECONDS - phase_start))
  timings+=("$(printf '%-28s %4ss' "$1" "$took")")
  say "$1 took ${took}s"
  phase_start=$SECONDS
}
total_start=$SECONDS

# --- 1. offline get-pip stand-in -----------------------------------------------------------
# Ask the installed ansible-test which pip version it bootstraps and where it looks for the
# cached script, instead of assuming 24.2 / ~/.ansible/test/cache/get_pip_24_2.py.
read -r PIP_VERSION GET_PIP_CACHE < <("$PY" - "$SANITY_PYTHON" <<'EOF'
import inspect
import os
import re
import sys
import types

from ansible_test._internal.python_requirements import get_venv_packages
import ansible_test._util.target.setup.requirements as setup_requirements

pip_version = get_venv_packages(types.SimpleNamespace(version=sys.argv[1]))["pip"]
source = inspect.getsource(setup_requirements.bootstrap)
match = re.search(r"""expanduser\(\s*['"]([^'"]*/get_pip_%s\.py)['"]\s*%\s*pip_version\.replace\(""", source)
if not match:
    raise SystemExit("cannot find the get_pip cache path in ansible_test's requirements.py")
print(pip_version, os.path.expanduser(match.group(1) % pip_version.replace(".", "_")))
EOF
) || die "could not read the pip bootstrap details from the installed ansible-test; update this script"
[ -n "$GET_PIP_CACHE" ] || die "could not work out where ansible-test caches get-pip"
say "ansible-test $("$VENV/bin/ansible-test" --version 2>/dev/null | awk '{print $NF}') bootstraps pip $PIP_VERSION from $GET_PIP_CACHE when present"
mkdir -p "$(dirname "$GET_PIP_CACHE")"
if [ -f "$GET_PIP_CACHE" ] && cmp -s "$STAND_IN" "$GET_PIP_CACHE"; then
  say "offline get-pip stand-in already in place: $GET_PIP_CACHE"
else
  if [ -f "$GET_PIP_CACHE" ]; then
    if grep -q 'Offline stand-in for pip' "$GET_PIP_CACHE"; then
      say "updating the older offline get-pip stand-in at $GET_PIP_CACHE"
    else
      cp -p "$GET_PIP_CACHE" "$GET_PIP_CACHE.bak"
      say "replacing $GET_PIP_CACHE (kept a copy at $GET_PIP_CACHE.bak)"
    fi
  fi
  cp "$STAND_IN" "$GET_PIP_CACHE.tmp.$$"
  mv -f "$GET_PIP_CACHE.tmp.$$" "$GET_PIP_CACHE"
  say "installed offline get-pip stand-in: $STAND_IN -> $GET_PIP_CACHE"
fi
say "  (it bootstraps pip with ensurepip, then 'pip install pip==$PIP_VERSION' from the package index)"
phase_done "get-pip stand-in"

# --- 2. build the collection artifact ------------------------------------------------------
build_dir="$SANITY_DIR/build"
rm -rf "$build_dir"
mkdir -p "$build_dir"
say "building the collection: ansible-galaxy collection build --output-path $build_dir"
(cd "$ROOT" && "$VENV/bin/ansible-galaxy" collection build --force --output-path "$build_dir" .)
shopt -s nullglob
artifacts=("$build_dir"/*.tar.gz)
shopt -u nullglob
[ "${#artifacts[@]}" -eq 1 ] || die "expected one artifact in $build_dir, found ${#artifacts[@]}"
artifact="${artifacts[0]}"
phase_done "collection build"

# --- 3. install it -------------------------------------------------------------------------
collections_dir="$SANITY_DIR/collections"
rm -rf "$collections_dir"   # no files left over from an earlier tree
say "installing $(basename "$artifact") into $collections_dir (--no-deps: dependencies come from the ansible package in $VENV)"
"$VENV/bin/ansible-galaxy" collection install --no-deps --force -p "$collections_dir" "$artifact" 2>&1 \
  | grep -v 'is not part of the configured Ansible collections path' || true
namespace="$(basename "$artifact" | cut -d- -f1)"
name="$(basename "$artifact" | cut -d- -f2)"
installed="$collections_dir/ansible_collections/$namespace/$name"
[ -f "$installed/MANIFEST.json" ] || die "installation failed: no $installed/MANIFEST.json"
# ansible-test lists the files to test with git when it finds a .git directory in the collection
# root or ANY parent directory. The installed copy lives inside this repository's work tree,
# where .cache/ is git-ignored, so it would find no files at all ("All targets skipped").
# An empty repository in the installed copy stops that search there; ansible-test then takes
# every file that is not ignored (`git ls-files --cached --others --exclude-standard`).
git -C "$installed" init -q
say "made $installed a git work tree of its own, so ansible-test sees its files"
# ansible-test points its tests (import, ansible-doc, validate-modules) at this collections root
# only, so the dependencies from galaxy.yml must be there too. Galaxy is out of reach; the
# `ansible` package in the venv bundles them, so link them in from there (only the collection
# under test is tested; the links just make its imports and doc fragments resolve).
"$PY" - "$installed/MANIFEST.json" "$collections_dir/ansible_collections" <<'EOF'
import json
import os
import sys
import sysconfig

manifest_path, target_root = sys.argv[1:3]
with open(manifest_path, encoding="utf-8") as handle:
    dependencies = json.load(handle)["collection_info"].get("dependencies") or {}
source_root = os.path.join(sysconfig.get_paths()["purelib"], "ansible_collections")
missing = []
for fqcn, wanted in sorted(dependencies.items()):
    namespace, name = fqcn.split(".", 1)
    source = os.path.join(source_root, namespace, name)
    target = os.path.join(target_root, namespace, name)
    try:
        with open(os.path.join(source, "MANIFEST.json"), encoding="utf-8") as handle:
            version = json.load(handle)["collection_info"]["version"]
    except OSError:
        missing.append(fqcn)
        print(f"sanity: WARNING: dependency {fqcn} {wanted} is not in {source_root}")
        continue
    os.makedirs(os.path.dirname(target), exist_ok=True)
    if not os.path.lexists(target):
        os.symlink(source, target)
    print(f"sanity: dependency {fqcn} {version} (wanted {wanted}) linked from the ansible package")
if missing:
    print("sanity: WARNING: tests of plugins that use " + ", ".join(missing) + " may fail")
EOF
phase_done "collection install"

# --- 4. ansible-test sanity ----------------------------------------------------------------
# Tests that cannot run on this machine for reasons outside the collection's code are skipped
# with the reason printed; everything else runs, so findings in our files fail the run.
# None needs skipping by default: sanity needs no Docker, and the only network it uses is the
# package index (for the per-test virtualenvs). Two tests depend on tools ansible-test does not
# install; it skips them by itself with a warning when the tool is missing, so say why up front.
skip_args=()
for t in $SANITY_SKIP; do
  skip_args+=(--skip-test "$t")
  say "SKIP sanity test '$t': requested with SANITY_SKIP"
done
if ! command -v pwsh >/dev/null 2>&1; then
  say "note: no PowerShell (pwsh) here; ansible-test skips 'pslint' if the collection ever ships" \
      ".ps1/.psm1/.psd1 files (it has none: plugins are Python, targets are Linux)"
fi
if ! command -v shellcheck >/dev/null 2>&1; then
  say "WARNING: shellcheck is not installed, so ansible-test will SKIP its 'shellcheck' test and the" \
      "shell scripts go unchecked; install the Debian package 'shellcheck' (apt-get install shellcheck)"
fi

cd "$installed"
cmd=("$VENV/bin/ansible-test" sanity --python "$SANITY_PYTHON" --requirements --color no ${skip_args[@]+"${skip_args[@]}"} "$@")
say "in $installed"
say "running: ${cmd[*]}"
set +e
"${cmd[@]}"
rc=$?
set -e
phase_done "ansible-test sanity"

say "timings:"
for line in "${timings[@]}"; do
  say "  $line"
done
say "  $(printf '%-28s %4ss' total $((SECONDS - total_start)))"
if [ "$rc" -eq 0 ]; then
  say "PASSED"
else
  say "FAILED (ansible-test exit status $rc); results: $installed/tests/output/bot/ and the output above"
fi
exit "$rc"
