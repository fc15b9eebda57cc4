#!/bin/sh
# build-rootfs.sh - the Debian bookworm root directory the nspawn test hosts boot.
#
# Usage: build-rootfs.sh            prints the cached rootfs directory (builds it first if needed)
#        build-rootfs.sh --key      prints the cache key only
#
# The rootfs is cached OUTSIDE the work tree, under $TB_CACHE (default
# /var/cache/dm-testbed), as rootfs-KEY/ where KEY is the sha256 of this
# script (which holds the package list and every hook).  Changing either
# makes a new key; old entries are left for the caller to prune.
# Next to it: busybox-KEY.tar, a busybox rootfs tarball for
# `docker import - tb/busybox:local` (the hosts never pull images).
#
# What the image holds (no kernel: nspawn shares the host's):
#   systemd as init, sshd (no host keys: each host gets its own at boot, see
#   hosts.sh), docker.io installed but disabled (provisioning starts it),
#   sudo, user `docker` (sudo NOPASSWD), rsync (scp --delta), busybox-static.
# Needs: root, mmdebstrap, an apt mirror (the host's own sources are used).
# Exit status: 0 ok (path on stdout), 1 build failed (log path on stderr).
set -eu

CACHE=${TB_CACHE:-/var/cache/dm-testbed}
SELF=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
KEY=$(sha256sum "$SELF" | cut -c1-16)
[ "${1:-}" = --key ] && { echo "$KEY"; exit 0; }

OUT=$CACHE/rootfs-$KEY
BB=$CACHE/busybox-$KEY.tar
if [ -f "$OUT/.complete" ] && [ -f "$BB" ]; then echo "$OUT"; exit 0; fi

mkdir -p "$CACHE"
exec 9>"$CACHE/.build.lock"
flock 9                          # one build at a time; a waiter reuses the result
if [ -f "$OUT/.complete" ] && [ -f "$BB" ]; then echo "$OUT"; exit 0; fi

PKGS=systemd-sysv,dbus,openssh-server,docker.io,sudo,iproute2,procps,rsync,busybox-static,python3-minimal,ca-certificates
if [ -f /etc/apt/sources.list.d/debian.sources ]; then SRC=/etc/apt/sources.list.d/debian.sources
else SRC=/etc/apt/sources.list; fi

TMP=$CACHE/.tmp-$KEY.$$
LOG=$CACHE/build-$KEY.log
rm -rf "$TMP"; mkdir -p "$TMP"
trap 'rm -rf "$TMP"' EXIT

# cgroup v1 hosts: systemd-nspawn mounts the controllers read-only; docker
# (later, by provisioning) needs them writable.
cat > "$TMP/tb-cgroup-rw.service" <<'UNIT'
[Unit]
Description=testbed: make cgroup v1 controllers writable under systemd-nspawn
ConditionVirtualization=systemd-nspawn
Before=containerd.service docker.service
[Service]
Type=oneshot
ExecStart=/bin/sh -c 'for d in /sys/fs/cgroup/*; do [ -L "$d" ] || mount -o remount,bind,rw "$d" 2>/dev/null; done; true'
[Install]
WantedBy=multi-user.target
UNIT

if ! mmdebstrap --variant=apt --include="$PKGS" \
  --dpkgopt='path-exclude=/usr/share/doc/*' \
  --dpkgopt='path-exclude=/usr/share/man/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' \
  --dpkgopt='path-exclude=/usr/share/info/*' \
  --customize-hook='echo testbed > "$1/etc/hostname"' \
  --customize-hook='printf "127.0.0.1 localhost\n127.0.1.1 testbed\n" > "$1/etc/hosts"' \
  --customize-hook='rm -f "$1"/etc/ssh/ssh_host_*' \
  --customize-hook='printf "HostKey /etc/ssh/ssh_host_ed25519_key\nUseDNS no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n" > "$1/etc/ssh/sshd_config.d/testbed.conf"' \
  --customize-hook='chroot "$1" systemctl disable docker.service docker.socket containerd.service || true' \
  --customize-hook='chroot "$1" systemctl mask apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer systemd-networkd-wait-online.service ssh-keygen.service sshd-keygen.service 2>/dev/null || true' \
  --customize-hook='chroot "$1" useradd -m -s /bin/bash -g docker -G sudo docker' \
  --customize-hook='echo "docker ALL=(ALL) NOPASSWD:ALL" > "$1/etc/sudoers.d/docker" && chmod 0440 "$1/etc/sudoers.d/docker"' \
  --customize-hook="cp '$TMP/tb-cgroup-rw.service' \"\$1/etc/systemd/system/\" && chroot \"\$1\" systemctl enable tb-cgroup-rw.service" \
  --customize-hook='mkdir -p "$1/root/.ssh" "$1/home/docker/.ssh" && chmod 700 "$1/root/.ssh" "$1/home/docker/.ssh" && chroot "$1" chown docker:docker /home/docker/.ssh' \
  bookworm "$TMP/rootfs" "$SRC" >"$LOG" 2>&1; then
	echo "build-rootfs: mmdebstrap failed, see $LOG" >&2
	tail -5 "$LOG" >&2
	exit 1
fi

# busybox image for `docker import` (no registry anywhere)
mkdir -p "$TMP/bb/bin"
cp "$TMP/rootfs/bin/busybox" "$TMP/bb/bin/busybox"
for a in $("$TMP/bb/bin/busybox" --list); do
	[ "$a" = busybox ] || ln -s busybox "$TMP/bb/bin/$a"
done
tar -C "$TMP/bb" -cf "$TMP/busybox.tar" .
cp "$TMP/busybox.tar" "$TMP/rootfs/root/busybox-rootfs.tar"

rm -rf "$OUT"
mv "$TMP/rootfs" "$OUT"
mv "$TMP/busybox.tar" "$BB"
touch "$OUT/.complete"
echo "$OUT"
