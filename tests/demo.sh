#!/bin/sh
# tests/demo.sh - the body of `make demo`: build dm, make (or reuse) the
# guest image, create a local QEMU machine, point docker at it, run a
# container, and say how long each step took.  The machine is left running.
#
# Env: DEMO_MACHINE (dev)  MACHINE_STORAGE_PATH (~/.docker/machine)
#      DEMO_RESTRICT=0     let the VM reach the network (default: isolated,
#                          only the SSH and engine forwards on 127.0.0.1)
#      DEMO_NO_INSTALL=1   never run apt-get
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
name=${DEMO_MACHINE:-dev}
export PATH="$top/bin:$top/drivers:$PATH" DM_LIBEXECDIR="$top/bin:$top/drivers"
steps=
t_all=$(date +%s)

now() { date +%s.%N; }
say() { if [ -t 1 ]; then printf '\n\033[1m== %s\033[0m\n' "$*"; else printf '\n== %s\n' "$*"; fi; }
# step NAME CMD...: run, time, remember
step() {
	label=$1
	shift
	t0=$(now)
	"$@"
	dt=$(echo "$(now) - $t0" | bc 2>/dev/null || awk "BEGIN{print $(now) - $t0}")
	steps="$steps$(printf '%-34s %8.1f s' "$label" "$dt")
"
}

install_deps() {
	need=
	for p in build-essential pkg-config libcurl4-openssl-dev libssl-dev libssh2-1-dev libjansson-dev \
		openssh-client qemu-system-x86 qemu-utils mmdebstrap e2fsprogs busybox-static jq bc; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || need="$need $p"
	done
	command -v docker >/dev/null || need="$need docker.io"
	[ -z "$need" ] && { echo "everything needed is installed"; return 0; }
	if [ -n "${DEMO_NO_INSTALL:-}" ] || [ "$(id -u)" != 0 ]; then
		echo "demo: missing packages:$need (install them, or run as root)" >&2
		exit 1
	fi
	echo "installing:$need"
	# a policy-rc.d that refuses service starts: installing docker.io must not
	# start a daemon on this host
	prc=/usr/sbin/policy-rc.d
	[ -e $prc ] || { printf '#!/bin/sh\nexit 101\n' >$prc; chmod 755 $prc; trap 'rm -f $prc' EXIT; }
	DEBIAN_FRONTEND=noninteractive apt-get update -qq
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $need >/dev/null
	[ "$(cat $prc 2>/dev/null)" = "$(printf '#!/bin/sh\nexit 101')" ] && rm -f $prc
	trap - EXIT
}

build() { make -s all >/dev/null; }
image() { IMG=$("$top/tools/build-image.sh"); echo "image: $IMG"; }

create() {
	if docker-machine status "$name" >/dev/null 2>&1; then
		st=$(docker-machine status "$name")
		echo "machine $name exists ($st): reusing it"
		[ "$st" = Running ] || docker-machine start "$name"
		return 0
	fi
	restrict=--qemu-restrict
	[ "${DEMO_RESTRICT:-1}" = 0 ] && restrict=
	# shellcheck disable=SC2086
	docker-machine create -d qemu --qemu-image "$IMG" $restrict "$name"
}

envcheck() {
	docker-machine env "$name"
	eval "$(docker-machine env "$name")"
}

info() { docker info --format 'engine: {{.Name}}, Docker {{.ServerVersion}}, {{.OperatingSystem}}, labels {{.Labels}}'; }
load() { docker load -i "$IMG/busybox.tar"; }
runit() { docker run --pull never --rm dm/busybox:local sh -c 'echo "hello from a container on $(uname -n), kernel $(uname -r)"'; }
status() {
	docker-machine ls
	s0=$(now)
	for _ in 1 2 3 4 5 6 7 8 9 10; do dm-status "$name" >/dev/null; done
	echo "dm-status $name: $(awk "BEGIN{printf \"%.1f\", ($(now) - $s0) * 100}") ms per call"
}

say "1/8 installing what the demo needs";    step "install packages" install_deps
say "2/8 building dm";                       step "make all" build
say "3/8 the guest image (cached)";          step "image (build or reuse)" image
say "4/8 docker-machine create -d qemu $name"; step "create (boot + provision)" create
say "5/8 eval \"\$(docker-machine env $name)\""; step "env" envcheck
say "6/8 docker info";                       step "docker info" info
say "7/8 docker load + docker run --pull never"; step "docker load busybox" load
                                             step "docker run" runit
say "8/8 ls and status";                     step "ls + 10x status" status

say "what took how long"
printf '%s' "$steps"
printf '%-34s %8d s\n' "total" "$(( $(date +%s) - t_all ))"
cat <<EOF

The machine "$name" is still running.  Use it from this shell with
    export PATH="$top/bin:$top/drivers:\$PATH"
    eval "\$(docker-machine env $name)"; docker ps
Stop it with: docker-machine stop $name    Remove it with: docker-machine rm -y $name
EOF
