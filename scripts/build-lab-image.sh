#!/usr/bin/env bash
# Builds the Debian 12 systemd image that every lab host and Molecule platform runs,
# once: the tag carries a hash of this script, so a change here rebuilds and an
# unchanged script reuses the image (or the cached rootfs tarball if podman was reset).
# CDC_LAB_IMAGE_REBUILD=1 ignores both caches and builds from scratch (CI does, every run:
# a new user has neither). No registry image is pulled: the root filesystem comes from debootstrap.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache_dir=${CDC_LAB_CACHE:-$here/../.cache/lab}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
security_mirror=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
image=${CDC_LAB_IMAGE:-localhost/cdc-lab-debian12}
# Only what a bare Debian server has plus what Ansible needs to manage it: Python, and an SSH
# server and sudo for the admin account playbooks/lab/create.yml makes (as a cloud image has).
packages=systemd,systemd-sysv,dbus,python3,python3-apt,ca-certificates,iproute2,procps,gnupg,netbase,openssh-server,sudo

tag=$(sha256sum "$0" | cut -c1-12)
rebuild=${CDC_LAB_IMAGE_REBUILD:-0}
if [ "$rebuild" != 1 ] && podman image exists "$image:$tag"; then
  podman tag "$image:$tag" "$image:latest"
  echo "lab image: $image:$tag (cached)"
  exit 0
fi

mkdir -p "$cache_dir"
tarball=$cache_dir/rootfs-$tag.tar
if [ "$rebuild" = 1 ]; then rm -f "$tarball"; fi

# debootstrap can exit 0 and still leave proc, sys or dev/pts mounted inside the new root
# (seen with 1.0.128). Packing a mounted /proc fails, and a mounted tree cannot be removed,
# so every mount under the root is taken down (deepest first, lazily if busy) before packing
# and again on any exit.
unmount_under() {
  local root=$1 mounts mount_point failed=0
  mounts=$(awk -v root="$root" '$2 == root || index($2, root "/") == 1 {print $2}' /proc/self/mounts | sort -r)
  for mount_point in $mounts; do
    umount "$mount_point" 2>/dev/null || umount -l "$mount_point" 2>/dev/null || failed=1
  done
  return $failed
}
cleanup_rootfs() {
  [ -n "${rootfs:-}" ] && [ -d "$rootfs" ] || return 0
  if unmount_under "$rootfs"; then
    rm -rf "$rootfs"
  else
    echo "lab image: could not unmount everything under $rootfs; see: grep $rootfs /proc/self/mounts" >&2
  fi
}

if [ ! -s "$tarball" ]; then
  rootfs=$(mktemp -d "$cache_dir/rootfs.XXXXXX")
  trap cleanup_rootfs EXIT
  echo "lab image: debootstrap bookworm from $mirror (about a minute)"
  debootstrap --variant=minbase --include="$packages" bookworm "$rootfs" "$mirror" >"$cache_dir/debootstrap.log" 2>&1 \
    || { echo "lab image: debootstrap failed ($(grep -m1 -E '^(E|W): ' "$cache_dir/debootstrap.log" || tail -1 "$cache_dir/debootstrap.log")); full log: $cache_dir/debootstrap.log" >&2; exit 1; }
  unmount_under "$rootfs" || {
    echo "lab image: debootstrap left a mount under $rootfs that cannot be unmounted; unmount it and re-run" >&2; exit 1; }

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
  # Every container makes its own SSH host keys at first boot (the package made some for the
  # image, which every container would otherwise share).
  rm -f "$rootfs"/etc/ssh/ssh_host_*
  mkdir -p "$rootfs/etc/systemd/system/ssh.service.d"
  cat >"$rootfs/etc/systemd/system/ssh.service.d/cdc-lab-host-keys.conf" <<'UNIT'
# Lab image only: this container's own host keys before sshd checks its configuration.
[Service]
ExecStartPre=
ExecStartPre=/usr/bin/ssh-keygen -A
ExecStartPre=/usr/sbin/sshd -t
UNIT
  # systemd creates a fresh machine-id per container.
  : >"$rootfs/etc/machine-id"
  rm -f "$rootfs/var/lib/dbus/machine-id"
  echo 'LANG=C.UTF-8' >"$rootfs/etc/default/locale"
  # No package index in the image: the first apt run on a host must fetch a fresh one.
  rm -rf "$rootfs/var/cache/apt/archives/"*.deb "$rootfs/var/cache/apt/"*.bin "$rootfs/var/lib/apt/lists/"*
  # The pseudo-filesystems stay empty directories in the image: systemd mounts them at boot.
  tar --numeric-owner --one-file-system -C "$rootfs" \
    --exclude=./proc/\* --exclude=./sys/\* --exclude=./dev/pts/\* -cf "$tarball.tmp" . \
    || { rm -f "$tarball.tmp"; echo "lab image: packing $rootfs into $tarball failed (tar's message above)" >&2; exit 1; }
  mv "$tarball.tmp" "$tarball"
fi

podman import --change 'CMD ["/sbin/init"]' --change 'ENV container=podman' \
  "$tarball" "$image:$tag" >/dev/null
podman tag "$image:$tag" "$image:latest"
echo "lab image: $image:$tag built"
