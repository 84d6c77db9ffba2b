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
  # Lab hosts share one apt archive cache (bind-mounted by the lab): keep what apt downloads.
  cat >"$rootfs/etc/apt/apt.conf.d/90cdc-lab-cache" <<'APT'
Binary::apt::APT::Keep-Downloaded-Packages "true";
APT::Keep-Downloaded-Packages "true";
APT
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
