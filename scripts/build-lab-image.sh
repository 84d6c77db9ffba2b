#!/usr/bin/env bash
# Builds the Debian 12 systemd image that every lab host and Molecule platform runs,
# once: the tag carries a hash of this script, so a change here rebuilds and an
# unchanged script reuses the image (or the cached rootfs tarball if podman was reset).
# No registry image is pulled: the root filesystem comes from debootstrap.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache_dir=${CDC_LAB_CACHE:-$here/../.cache/lab}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
security_mirror=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
image=${CDC_LAB_IMAGE:-localhost/cdc-lab-debian12}
# Only what a bare Debian server has plus what Ansible needs to manage it.
packages=systemd,systemd-sysv,dbus,python3,python3-apt,ca-certificates,iproute2,procps,gnupg,netbase

tag=$(sha256sum "$0" | cut -c1-12)
if podman image exists "$image:$tag"; then
  podman tag "$image:$tag" "$image:latest"
  echo "lab image: $image:$tag (cached)"
  exit 0
fi

mkdir -p "$cache_dir"
tarball=$cache_dir/rootfs-$tag.tar
if [ ! -s "$tarball" ]; then
  rootfs=$(mktemp -d "$cache_dir/rootfs.XXXXXX")
  trap 'rm -rf "$rootfs"' EXIT
  echo "lab image: debootstrap bookworm from $mirror (about a minute)"
  debootstrap --variant=minbase --include="$packages" bookworm "$rootfs" "$mirror" >"$cache_dir/debootstrap.log" 2>&1 \
    || { tail -20 "$cache_dir/debootstrap.log" >&2; exit 1; }

  cat >"$rootfs/etc/apt/sources.list" <<SOURCES
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb $security_mirror bookworm-security main
SOURCES
  # Lab hosts share one apt cache: apt-cacher-ng on the machine running the lab, reached at
  # the container's gateway (scripts/lab-apt-cache.sh). Without it apt goes direct.
  cat >"$rootfs/usr/local/bin/cdc-lab-apt-proxy" <<'PROXY'
#!/bin/sh
# Lab image only: print the lab apt cache URL when it answers, else DIRECT.
gw=$(ip -4 route show default 2>/dev/null | awk '/^default/ {print $3; exit}')
if [ -n "$gw" ] && timeout 1 bash -c "exec 3<>/dev/tcp/$gw/3242" 2>/dev/null; then
  echo "http://$gw:3242"
else
  echo DIRECT
fi
PROXY
  chmod 0755 "$rootfs/usr/local/bin/cdc-lab-apt-proxy"
  echo 'Acquire::http::Proxy-Auto-Detect "/usr/local/bin/cdc-lab-apt-proxy";' \
    >"$rootfs/etc/apt/apt.conf.d/01cdc-lab-proxy"
  rm -f "$rootfs/etc/apt/apt.conf.d/docker-clean"
  # systemd creates a fresh machine-id per container.
  : >"$rootfs/etc/machine-id"
  rm -f "$rootfs/var/lib/dbus/machine-id"
  echo 'LANG=C.UTF-8' >"$rootfs/etc/default/locale"
  # No package index in the image: the first apt run on a host must fetch a fresh one.
  rm -rf "$rootfs/var/cache/apt/archives/"*.deb "$rootfs/var/cache/apt/"*.bin "$rootfs/var/lib/apt/lists/"*
  tar --numeric-owner -C "$rootfs" -cf "$tarball.tmp" .
  mv "$tarball.tmp" "$tarball"
fi

podman import --change 'CMD ["/sbin/init"]' --change 'ENV container=podman' \
  "$tarball" "$image:$tag" >/dev/null
podman tag "$image:$tag" "$image:latest"
echo "lab image: $image:$tag built"
