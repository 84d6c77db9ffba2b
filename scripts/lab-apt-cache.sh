#!/usr/bin/env bash
# One apt cache for every lab host and Molecule platform: apt-cacher-ng on this machine,
# port 3242. Lab images ask for it through an apt proxy auto-detect script (their network
# gateway, port 3242) and go DIRECT when it does not answer, so nothing breaks without it.
# Usage: scripts/lab-apt-cache.sh start|stop|status
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
state=$(realpath -m "${CDC_LAB_CACHE:-$here/../.cache/lab}/apt-cacher-ng")
# Not 3142: a system-wide apt-cacher-ng service with its own (possibly broken) mirror setup
# may already listen there; this instance has the lab's configuration.
port=3242
pidfile=$state/pid

answering() { timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port" 2>/dev/null; }

case "${1:-status}" in
  start)
    if answering; then
      echo "lab apt cache: answering on port $port"
      exit 0
    fi
    command -v apt-cacher-ng >/dev/null 2>&1 || [ -x /usr/sbin/apt-cacher-ng ] || {
      echo "lab apt cache: apt-cacher-ng is not installed; run 'make lab-prereqs'" >&2; exit 1; }
    mkdir -p "$state/cache" "$state/log" "$state/conf"
    # Our own configuration: Debian's archive and security repositories only, forwarded to
    # the same mirrors the lab image uses; everything this instance writes stays under .cache/lab.
    mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
    security_mirror=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
    echo "${mirror%/}/" >"$state/conf/backends_debian"
    echo "${security_mirror%/}/" >"$state/conf/backends_debian_security"
    cat >"$state/conf/acng.conf" <<CONF
CacheDir: $state/cache
LogDir: $state/log
SupportDir: /usr/lib/apt-cacher-ng
PidFile: $pidfile
SocketPath: $state/socket
Port: $port
BindAddress: 0.0.0.0
ConnectProto: v4
ExThreshold: 30
# Fresh lab hosts all fetch their first index within seconds of each other. A cold cache refreshing
# the same InRelease for several of them at once fails some ("Failure to move file ... out of the
# way"), and apt's http method then waited forever on the half-closed connection (a CI run hung 16
# minutes). Index files stay fresh for 5 minutes here (27 s by default), and they are fetched once
# below, before any host asks.
FreshIndexMaxAge: 300
# Only the remapped Debian repositories: never a general proxy for other URLs.
ForceManaged: 1
ReportPage: acng-report.html
Remap-debrep: file:deb_mirror*.gz /debian ; file:backends_debian
Remap-secdeb: security.debian.org security.debian.org/debian-security deb.debian.org/debian-security /debian-security ; file:backends_debian_security
CONF
    # setsid and no inherited descriptors: the daemon must not keep make's (or CI's) pipes open.
    setsid /usr/sbin/apt-cacher-ng -c "$state/conf" ForeGround=0 </dev/null >"$state/log/daemon.out" 2>&1
    for _ in 1 2 3 4 5 6 7 8 9 10; do answering && break; sleep 0.5; done
    answering || { echo "lab apt cache: did not start; see $state/log" >&2; exit 1; }
    # Best effort: a host fetches whatever is missing itself.
    for url in "${mirror%/}/dists/bookworm/InRelease" "${mirror%/}/dists/bookworm-updates/InRelease" \
      "${security_mirror%/}/dists/bookworm-security/InRelease"; do
      curl -s -o /dev/null --max-time 60 -x "http://127.0.0.1:$port" "$url" || true
    done
    echo "lab apt cache: started on port $port (cache in $state/cache)"
    ;;
  stop)
    # Only the instance this script started (matched by its config directory); a system-wide
    # apt-cacher-ng service is left alone.
    if pkill -f -- "apt-cacher-ng -c $state/conf" 2>/dev/null; then
      rm -f "$pidfile"
      echo "lab apt cache: stopped"
    fi
    ;;
  status)
    if answering; then echo "lab apt cache: answering on port $port"; else echo "lab apt cache: not running"; exit 1; fi
    ;;
  *)
    echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
