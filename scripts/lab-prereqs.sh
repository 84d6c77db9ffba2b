#!/usr/bin/env bash
# Checks (and, as root or with sudo, installs) what the podman lab and the tests need here:
# podman with the runc runtime, debootstrap, and the containers.conf settings from
# docs/lab.md (crun fails on hybrid cgroups; default ulimits above the machine's own
# limits make every container start fail without CAP_SYS_RESOURCE).
set -euo pipefail

conf=/etc/containers/containers.conf
need_pkgs=()
# (shellcheck is listed because ansible-test sanity silently skips its check without it;
# apt-cacher-ng is the one apt cache the lab hosts share, see scripts/lab-apt-cache.sh; GnuPG with its
# agent encrypts and, in the pipeline's disaster-recovery drill, decrypts the OpenBao snapshots.)
for cmd in podman:podman runc:runc debootstrap:debootstrap shellcheck:shellcheck /usr/sbin/apt-cacher-ng:apt-cacher-ng \
  gpg:gnupg gpg-agent:gnupg gpgconf:gnupg; do
  command -v "${cmd%%:*}" >/dev/null 2>&1 || need_pkgs+=("${cmd##*:}")
done

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  if sudo -n true 2>/dev/null; then
    sudo_cmd=(sudo -n)
  else
    sudo_cmd=(NO_PRIVILEGE)
  fi
fi

run_privileged() {
  if [ "${sudo_cmd[0]:-}" = NO_PRIVILEGE ]; then
    echo "lab-prereqs: cannot run '$*' without root or passwordless sudo." >&2
    echo "lab-prereqs: run 'sudo make lab-prereqs' once, or install it yourself (see docs/lab.md)." >&2
    exit 1
  fi
  "${sudo_cmd[@]}" "$@"
}

if [ "${#need_pkgs[@]}" -gt 0 ]; then
  echo "lab-prereqs: installing missing packages: ${need_pkgs[*]}"
  run_privileged env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  # Output to a log: a package's postinst may start a daemon that would inherit our descriptors.
  log=$(mktemp /tmp/cdc-lab-prereqs.XXXXXX.log)
  run_privileged env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_pkgs[@]}" </dev/null >"$log" 2>&1 \
    || { tail -20 "$log" >&2; exit 1; }
fi

# containers.conf: runtime runc and ulimits the machine can grant.
wanted_conf='[containers]
default_ulimits = ["nofile=16384:16384", "nproc=30000:30000"]

[engine]
runtime = "runc"'
if ! { grep -qs 'runtime *= *"runc"' "$conf" && grep -qs 'nofile=16384' "$conf"; }; then
  if [ -s "$conf" ]; then
    echo "lab-prereqs: $conf exists but lacks the lab settings; keeping a copy at $conf.cdc-lab.bak"
    run_privileged cp -a "$conf" "$conf.cdc-lab.bak"
  fi
  echo "lab-prereqs: writing runtime=runc and default_ulimits to $conf"
  run_privileged mkdir -p "$(dirname "$conf")"
  printf '%s\n' "$wanted_conf" | run_privileged tee "$conf" >/dev/null
fi

podman info --format '{{.Host.OCIRuntime.Name}}' | grep -qx runc || {
  echo "lab-prereqs: podman does not use runc; check $conf" >&2; exit 1; }
echo "lab-prereqs: ok (podman $(podman version --format '{{.Client.Version}}'), runc, debootstrap, shellcheck, apt-cacher-ng)"
