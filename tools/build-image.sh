#!/bin/sh
# tools/build-image.sh - build (or reuse) the dm guest image for the qemu driver.
#
# Usage: tools/build-image.sh [-f] [OUTDIR]
#   Prints the image directory on stdout (progress goes to stderr), e.g.
#     IMG=$(tools/build-image.sh) && docker-machine create -d qemu --qemu-image "$IMG" dev
#   -f  rebuild even when a finished image with the same key exists.
#
# The image: Debian bookworm with systemd, openssh-server, cloud-init
# (NoCloud only), docker.io, sudo, e2fsprogs and the distribution kernel,
# built with mmdebstrap from Debian packages.  No loop devices, no mounts,
# no bootloader: `mkfs.ext4 -d` makes the root filesystem straight from the
# directory, and the kernel and initrd are copied out for QEMU's direct
# kernel boot.  The directory holds:
#   disk.qcow2   compressed qcow2 of the ext4 root filesystem (root=/dev/vda)
#   vmlinuz, initrd, cmdline   what the qemu driver passes to -kernel/-initrd/-append
#   busybox.tar  a one-layer image in `docker save` format (dm/busybox:local)
#                for `docker load` without a registry
#   KEY          the build key; .complete marks a finished build
#
# Cache: ${DM_IMAGE_CACHE:-/var/cache/dm-image}/bookworm-ARCH-KEY, where KEY
# is the sha256 (first 16 hex digits) of this script and the host's apt
# sources: the same script builds once per machine.  Builds are serialised
# with flock.  Needs root and: mmdebstrap e2fsprogs qemu-utils busybox-static
# (installed with apt-get when missing).
#
# Choices that keep a TCG boot short: docker and containerd are disabled
# (provisioning enables and starts docker once, with its TLS configuration);
# apt timers, e2scrub, fstrim and networkd-wait-online are masked; cloud-init
# looks at NoCloud only and runs a trimmed module list; no SSH host keys are
# baked in (each machine gets its own, made on the host and handed over by
# cloud-init, so the first connection is already pinned).
set -eu

force=0
if [ "${1:-}" = -f ]; then force=1; shift; fi
arch=$(dpkg --print-architecture)
case $arch in
amd64) kpkg=linux-image-amd64 ;;
arm64) kpkg=linux-image-arm64 ;;
*) echo "build-image: unsupported architecture $arch" >&2; exit 1 ;;
esac

if [ -f /etc/apt/sources.list.d/debian.sources ]; then
	src=/etc/apt/sources.list.d/debian.sources
else
	src=/etc/apt/sources.list
fi
key=$(cat "$0" "$src" | sha256sum | cut -c1-16)
out=${1:-${DM_IMAGE_CACHE:-/var/cache/dm-image}/bookworm-$arch-$key}

if [ $force = 0 ] && [ -f "$out/.complete" ]; then
	echo "$out"
	exit 0
fi
[ "$(id -u)" = 0 ] || { echo "build-image: must run as root (mmdebstrap, chroot)" >&2; exit 1; }

need=
for p in mmdebstrap e2fsprogs qemu-utils busybox-static; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || need="$need $p"
done
if [ -n "$need" ]; then
	echo "build-image: installing$need" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $need >&2
fi

mkdir -p "$out"
out=$(cd "$out" && pwd)
exec 9>"$out.lock"
flock 9
if [ $force = 0 ] && [ -f "$out/.complete" ]; then     # built while we waited
	echo "$out"
	exit 0
fi
rm -f "$out/.complete"
t0=$(date +%s)
work=$(mktemp -d "${TMPDIR:-/var/tmp}/dm-image.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/rootfs
hooks=$work/hooks
mkdir -p "$hooks"

# cloud-init: NoCloud only, no network configuration (networkd does DHCP),
# and only the modules a docker host needs (each one costs time under TCG).
cat >"$hooks/90-dm.cfg" <<'EOF'
# dm: the qemu driver hands everything over in a NoCloud seed
datasource_list: [ NoCloud, None ]
network: {config: disabled}
cloud_init_modules:
  - seed_random
  - bootcmd
  - write_files
  - growpart
  - resizefs
  - set_hostname
  - update_hostname
  - update_etc_hosts
  - users_groups
  - ssh
cloud_config_modules:
  - set_passwords
  - timezone
  - runcmd
cloud_final_modules:
  - scripts_per_once
  - scripts_per_boot
  - scripts_per_instance
  - scripts_user
  - final_message
EOF
printf '[Match]\nName=en* eth*\n\n[Network]\nDHCP=ipv4\n' >"$hooks/20-dhcp.network"

pkgs=systemd-sysv,udev,dbus,openssh-server,cloud-init,docker.io,iproute2,ca-certificates,sudo
pkgs=$pkgs,e2fsprogs,procps,kmod,iputils-ping,$kpkg

echo "build-image: mmdebstrap bookworm ($arch) into $root" >&2
mmdebstrap --variant=apt --include="$pkgs" \
	--dpkgopt='path-exclude=/usr/share/doc/*' \
	--dpkgopt='path-exclude=/usr/share/man/*' \
	--dpkgopt='path-exclude=/usr/share/locale/*' \
	--dpkgopt='path-exclude=/usr/share/info/*' \
	--dpkgopt='path-exclude=/lib/modules/*/kernel/drivers/gpu/*' \
	--dpkgopt='path-exclude=/lib/modules/*/kernel/drivers/media/*' \
	--dpkgopt='path-exclude=/lib/modules/*/kernel/drivers/net/wireless/*' \
	--dpkgopt='path-exclude=/lib/modules/*/kernel/drivers/infiniband/*' \
	--dpkgopt='path-exclude=/lib/modules/*/kernel/drivers/staging/*' \
	--dpkgopt='path-exclude=/lib/modules/*/kernel/drivers/iio/*' \
	--dpkgopt='path-exclude=/lib/modules/*/kernel/drivers/bluetooth/*' \
	--dpkgopt='path-exclude=/lib/modules/*/kernel/sound/*' \
	--dpkgopt='path-exclude=/lib/modules/*/kernel/net/wireless/*' \
	--dpkgopt='path-exclude=/lib/modules/*/kernel/net/mac80211/*' \
	--dpkgopt='path-exclude=/lib/modules/*/kernel/net/bluetooth/*' \
	--customize-hook='echo dm > "$1/etc/hostname"' \
	--customize-hook='printf "127.0.0.1 localhost\n127.0.1.1 dm\n" > "$1/etc/hosts"' \
	--customize-hook='echo "/dev/vda / ext4 defaults,noatime 0 1" > "$1/etc/fstab"' \
	--customize-hook="mkdir -p \"\$1/etc/systemd/network\" && cp '$hooks/20-dhcp.network' \"\$1/etc/systemd/network/\"" \
	--customize-hook='chroot "$1" systemctl enable systemd-networkd' \
	--customize-hook='chroot "$1" systemctl disable docker.service docker.socket containerd.service' \
	--customize-hook='chroot "$1" systemctl mask apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service fstrim.timer systemd-networkd-wait-online.service' \
	--customize-hook="cp '$hooks/90-dm.cfg' \"\$1/etc/cloud/cloud.cfg.d/90-dm.cfg\"" \
	--customize-hook='rm -f "$1"/etc/ssh/ssh_host_*' \
	--customize-hook='printf "UseDNS no\nPasswordAuthentication no\n" > "$1/etc/ssh/sshd_config.d/dm.conf"' \
	--customize-hook='rm -f "$1/etc/machine-id" && touch "$1/etc/machine-id"' \
	--customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin' \
	bookworm "$root" "$src" >&2

cp "$(ls "$root"/boot/vmlinuz-* | tail -1)" "$out/vmlinuz"
cp "$(ls "$root"/boot/initrd.img-* | tail -1)" "$out/initrd"
echo "root=/dev/vda rw console=ttyS0 net.ifnames=0 apparmor=0 quiet" >"$out/cmdline"

rm -f "$work/disk.raw"
mkfs.ext4 -q -F -L dmroot -d "$root" "$work/disk.raw" 2G >&2
qemu-img convert -c -O qcow2 "$work/disk.raw" "$out/disk.qcow2.tmp" >&2
mv "$out/disk.qcow2.tmp" "$out/disk.qcow2"

# busybox as a `docker save` archive: one layer, a config, a manifest.
bb=$work/bb
mkdir -p "$bb/rootfs/bin" "$bb/img"
cp /bin/busybox "$bb/rootfs/bin/busybox"
for a in $(/bin/busybox --list); do
	[ "$a" = busybox ] || ln -s busybox "$bb/rootfs/bin/$a"
done
tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$bb/rootfs" -cf "$bb/layer.tar" .
lsha=$(sha256sum "$bb/layer.tar" | cut -d' ' -f1)
mkdir -p "$bb/img/$lsha"
mv "$bb/layer.tar" "$bb/img/$lsha/layer.tar"
case $arch in amd64) garch=amd64 ;; arm64) garch=arm64 ;; esac
printf '{"architecture":"%s","os":"linux","config":{"Cmd":["sh"],"Env":["PATH=/bin"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
	"$garch" "$lsha" >"$bb/config.json"
csha=$(sha256sum "$bb/config.json" | cut -d' ' -f1)
mv "$bb/config.json" "$bb/img/$csha.json"
printf '[{"Config":"%s.json","RepoTags":["dm/busybox:local"],"Layers":["%s/layer.tar"]}]' \
	"$csha" "$lsha" >"$bb/img/manifest.json"
tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$bb/img" -cf "$out/busybox.tar" .

echo "$key" >"$out/KEY"
touch "$out/.complete"
echo "build-image: done in $(( $(date +%s) - t0 )) s: $(du -sh "$out" | cut -f1) in $out" >&2
echo "$out"
