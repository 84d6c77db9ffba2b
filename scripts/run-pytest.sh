#!/usr/bin/env bash
# Runs one pytest suite by marker. pytest exits 5 when it collected nothing: that is never a
# pass here (a suite that silently stopped collecting would hide every regression), so it
# fails with its own message instead of pytest's bare exit code.
set -uo pipefail
suite=$1; shift
pytest -p no:cacheprovider -m "$suite" "$@"
rc=$?
if [ "$rc" -eq 5 ]; then
  echo "run-pytest: the '$suite' suite collected no tests; a suite that runs nothing is a failure" >&2
  exit 1
fi
exit "$rc"
