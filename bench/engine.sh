#!/bin/bash
# bench/engine.sh - the engine probe's cost in the binaries that use it (not a test).
#
#   bench/engine.sh [TREE...]     TREE: a built dm tree (default: this one)
#
# Set-up: a store with 100 `none` machines whose URLs refuse connections
# (127.0.0.1 ports nobody listens on) and, when root and /usr/sbin/dockerd
# allow, one machine `live` on a real dockerd with TLS (tests/lib/dockerd.sh).
# For each tree and command: mean and min wall time (hyperfine -N), peak RSS
# (GNU time), instructions (callgrind, when valgrind is installed: steady on
# a busy host) and the number of shared libraries loaded (ldd).  Pass two
# trees to compare a build before and after a change.  RUNS (default 30).
# Writes nothing outside a temporary directory.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
[ $# -gt 0 ] || set -- "$top"
trees=()
for t in "$@"; do
	t=$(cd "$t" && pwd)
	[ -x "$t/bin/dm-ls" ] || { echo "engine.sh: $t: not built (no bin/dm-ls)" >&2; exit 1; }
	trees+=("$t")
done
for tool in hyperfine jq /usr/bin/time; do
	command -v "$tool" >/dev/null || { echo "engine.sh: $tool is needed" >&2; exit 1; }
done

work=$(mktemp -d /tmp/dm-ebench.XXXXXX)
export MACHINE_STORAGE_PATH="$work/store"
unset DOCKER_HOST DOCKER_TLS_VERIFY DOCKER_CERT_PATH
cleanup() {
	if [ -n "${dockerd_dir:-}" ]; then dockerd_stop "$dockerd_dir" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }

t0=${trees[0]}
echo "creating 100 none machines..." >&2
for i in $(seq 1 100); do
	DM_LIBEXECDIR="$t0/bin:$t0/drivers" "$t0/bin/dm-create" -d none \
		--url "tcp://127.0.0.1:$((20000 + i))" "m$i" >/dev/null
done

# measure CMD...: one table row per command and tree.
measure() {
	local c t n mean min rss ins libs bin full
	local -a argv args
	for c in "$@"; do
		n=0
		for t in "${trees[@]}"; do
			n=$((n + 1))
			export DM_LIBEXECDIR="$t/bin:$t/drivers"
			read -r -a argv <<<"$c"
			bin=$t/bin/${argv[0]}
			args=("${argv[@]:1}")
			full="$bin ${args[*]}"
			hyperfine -N -i --warmup 3 --runs "${RUNS:-30}" --export-json "$work/h.json" "$full" \
				>/dev/null 2>&1
			read -r mean min < <(jq -r '.results[0] | "\(.mean*1000*100|round/100) \(.min*1000*100|round/100)"' \
				"$work/h.json")
			rss=$(/usr/bin/time -f '%M' "$bin" "${args[@]}" 2>&1 >/dev/null | tail -n 1)
			ins=-
			if command -v valgrind >/dev/null; then
				ins=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" "${args[@]}" 2>&1 \
					>/dev/null | sed -n 's/.*Collected : *//p' | tail -n 1)
			fi
			libs=$(ldd "$bin" | wc -l)
			printf '%-26s %-4s %10s %10s %9s %12s %5s\n' "$c" "#$n" "$mean" "$min" "$rss" "$ins" "$libs"
		done
	done
}

printf '%-26s %-4s %10s %10s %9s %12s %5s\n' COMMAND TREE "MEAN ms" "MIN ms" "RSS KiB" INSTR LIBS
echo "== 100 machines, URLs refuse connections"
measure "dm-ls" "dm-ls -q" "dm-inspect m50" "dm-url m50" "dm-config m50" "dm-version m50"

live=
if [ "$(id -u)" = 0 ] && [ -x "${DOCKERD:-/usr/sbin/dockerd}" ]; then
	# shellcheck source=../tests/lib/dockerd.sh
	. "$top/tests/lib/dockerd.sh"
	port=$(free_port)
	DM_LIBEXECDIR="$t0/bin:$t0/drivers" "$t0/bin/dm-create" -d none --url "tcp://127.0.0.1:$port" live >/dev/null
	certs=$MACHINE_STORAGE_PATH/certs
	mkdir -p "$work/tls"
	(
		cd "$work/tls"
		umask 077
		openssl req -newkey rsa:2048 -nodes -keyout server-key.pem -out server.csr -subj /O=bench 2>/dev/null
		printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >server.ext
		openssl x509 -req -in server.csr -CA "$certs/ca.pem" -CAkey "$certs/ca-key.pem" \
			-set_serial "0x$(openssl rand -hex 16)" -days 2 -sha256 -extfile server.ext \
			-out server.pem 2>/dev/null
	)
	dockerd_dir=$(mktemp -d /tmp/dmeb.XXXXXX)
	if dockerd_start "$dockerd_dir" "$port" "$certs/ca.pem" "$work/tls/server.pem" \
		"$work/tls/server-key.pem" >/dev/null 2>"$work/dockerd.log"; then
		live=1
	else
		echo "engine.sh: no live dockerd: $(tail -n 3 "$work/dockerd.log")" >&2
		dockerd_dir=
	fi
else
	echo "engine.sh: no live dockerd (needs root and /usr/sbin/dockerd): env/version skipped" >&2
fi

if [ -n "$live" ]; then
	echo "== + machine live on a real dockerd (TLS)"
	measure "dm-env live" "dm-config live" "dm-version live" "dm-ls --filter name=live"
fi
n=0
for t in "${trees[@]}"; do
	n=$((n + 1))
	echo "#$n = $t"
done
