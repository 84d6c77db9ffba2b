#!/usr/bin/env bash
# Puts promtool and prometheus (from Debian 12's `prometheus` package, Prometheus 2.42) into
# .cache/bin/ without installing the package: the Prometheus service must not run on build machines.
# The prometheus binary is for throwaway servers on loopback (the live dashboard check,
# docs/grafana.md). Idempotent: existing binaries are kept. Needs apt sources (apt-get download runs
# unprivileged; dpkg-deb only unpacks). Prints promtool's version.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
target=$root/.cache/bin/promtool
server=$root/.cache/bin/prometheus

# `make test` runs the unit tests and the alert rules check side by side; both call this script.
mkdir -p "$root/.cache"
exec 9>"$root/.cache/get_promtool.lock"
flock 9
if [ ! -x "$target" ] || [ ! -x "$server" ]; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  # apt-get download writes to the current directory; _apt must be able to write there.
  chmod 0777 "$work"
  (cd "$work" && apt-get download prometheus)
  dpkg-deb -x "$work"/prometheus_*.deb "$work/root"
  mkdir -p "$(dirname "$target")"
  [ -x "$target" ] || install -m 0755 "$work/root/usr/bin/promtool" "$target"
  [ -x "$server" ] || install -m 0755 "$work/root/usr/bin/prometheus" "$server"
fi
"$target" --version | head -n 1
