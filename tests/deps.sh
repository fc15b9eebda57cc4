#!/bin/sh
# tests/deps.sh - install what the build and the tests need on Debian 12 (root, apt-get).
# Does nothing when everything is present.
set -u
pkgs="build-essential pkg-config libcurl4-openssl-dev libssl-dev libssh2-1-dev libjansson-dev libxml2-dev
jq bats mandoc openssh-client openssh-server docker.io zsh fish bash-completion iproute2
systemd-container mmdebstrap python3 time hyperfine qemu-system-x86 qemu-utils rsync sshfs curl ca-certificates"
missing=
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "deps: missing packages:$missing (run as root to install)" >&2
	exit 0
fi
echo "deps: installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
# No service may start from these packages: a dockerd started by the docker.io
# package would set up a bridge and iptables rules in the root namespace.  The
# tests start their own daemons with safe flags.
prc=/usr/sbin/policy-rc.d
own_prc=
if [ ! -e "$prc" ]; then
	printf '#!/bin/sh\nexit 101\n' >"$prc" && chmod 755 "$prc" && own_prc=1
fi
apt-get update -qq >/dev/null 2>&1 || true
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/tmp/dm-deps.log 2>&1
rc=$?
[ -n "$own_prc" ] && rm -f "$prc"
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
	systemctl disable --now docker.service docker.socket containerd.service >/dev/null 2>&1 || true
fi
[ $rc -eq 0 ] ||
	{ echo "deps: apt-get failed, see /tmp/dm-deps.log" >&2; tail -20 /tmp/dm-deps.log >&2; exit 1; }
