#!/usr/bin/env bash
# Puts promtool (from Debian 12's `prometheus` package, Prometheus 2.42) into .cache/bin/promtool
# without installing the package: the Prometheus service must not run on build machines.
# Idempotent: an existing .cache/bin/promtool is kept. Needs apt sources (apt-get download runs
# unprivileged; dpkg-deb only unpacks). Prints the version.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
target=$root/.cache/bin/promtool

if [ ! -x "$target" ]; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  # apt-get download writes to the current directory; _apt must be able to write there.
  chmod 0777 "$work"
  (cd "$work" && apt-get download prometheus)
  dpkg-deb -x "$work"/prometheus_*.deb "$work/root"
  mkdir -p "$(dirname "$target")"
  install -m 0755 "$work/root/usr/bin/promtool" "$target"
fi
"$target" --version | head -n 1
