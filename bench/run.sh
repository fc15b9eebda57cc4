#!/bin/bash
# bench/run.sh - the budgets of the core toolkit, measured (not a test).
#
# Set-up as in the budget: a store with 100 `none` machines whose URLs refuse
# connections (ports on 127.0.0.1 nobody listens on).  Measures ls, inspect,
# url, config, env (against a live local dockerd when one can be started),
# peak RSS, and ls with one machine that accepts and never answers.
# Needs: hyperfine, GNU time. Prints a table; writes nothing outside $TMPDIR.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
export PATH="$top/bin:$PATH" DM_LIBEXECDIR="$top/bin:$top/drivers"
work=$(mktemp -d /tmp/dm-bench.XXXXXX)
export MACHINE_STORAGE_PATH="$work/store"
unset DOCKER_HOST DOCKER_TLS_VERIFY DOCKER_CERT_PATH
cleanup() {
	[ -n "${hang_pid:-}" ] && kill "$hang_pid" 2>/dev/null
	[ -n "${dockerd_dir:-}" ] && dockerd_stop "$dockerd_dir" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }

echo "creating 100 none machines..." >&2
base=$(free_port)
for i in $(seq 1 100); do
	docker-machine create -d none --url "tcp://127.0.0.1:$((20000 + i))" "m$i" >/dev/null
done

hf() { hyperfine -N -i --warmup 3 --runs "${RUNS:-30}" --export-json "$work/h.json" "$@" >/dev/null 2>&1 ||
	hyperfine -i --warmup 3 --runs "${RUNS:-30}" --export-json "$work/h.json" "$@" >/dev/null;
	jq -r '.results[] | "\(.command)\tmean \(.mean*1000|.*100|round/100) ms, min \(.min*1000|.*100|round/100) ms (σ \(.stddev*1000|.*100|round/100))"' "$work/h.json"; }
rss() { /usr/bin/time -f '%M' "$@" 2>&1 >/dev/null | tail -1; }

echo "== time (mean over runs)"
hf "dm-ls" "dm-ls -q" "docker-machine ls" "dm-inspect m50" "dm-url m50" "dm-config m50" "dm-status m50" \
   "docker-machine __complete ls --filter name="
echo "== peak RSS (KiB)"
printf 'dm-ls\t%s\n' "$(rss dm-ls)"
printf 'dm-inspect\t%s\n' "$(rss dm-inspect m50)"
printf 'dm-url\t%s\n' "$(rss dm-url m50)"

# env against a live engine
if [ -x /usr/sbin/dockerd ] && [ "$(id -u)" = 0 ]; then
	. "$top/tests/lib/dockerd.sh"
	port=$(free_port)
	docker-machine create -d none --url "tcp://127.0.0.1:$port" live >/dev/null
	mdir="$MACHINE_STORAGE_PATH/machines/live"
	dm-certs server live --san 127.0.0.1 >/dev/null 2>&1 ||
		openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /O=bench \
			-keyout "$mdir/server-key.pem" -out "$work/s.csr" 2>/dev/null &&
		openssl x509 -req -in "$work/s.csr" -CA "$MACHINE_STORAGE_PATH/certs/ca.pem" \
			-CAkey "$MACHINE_STORAGE_PATH/certs/ca-key.pem" -CAcreateserial -days 2 \
			-extfile <(printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n') \
			-out "$mdir/server.pem" 2>/dev/null
	dockerd_dir="$work/dockerd"
	if dockerd_start "$dockerd_dir" "$port" "$MACHINE_STORAGE_PATH/certs/ca.pem" "$mdir/server.pem" \
		"$mdir/server-key.pem" >/dev/null; then
		echo "== against a live dockerd"
		hf "dm-env live" "dm-config live" "dm-ls --filter name=live"
		printf 'dm-env peak RSS\t%s KiB\n' "$(rss dm-env live)"
	fi
fi

# one machine that accepts and never answers
hport=$(free_port)
python3 -c 'import socket,time,sys;s=socket.socket();s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1);s.bind(("127.0.0.1",int(sys.argv[1])));s.listen(64);time.sleep(600)' "$hport" &
hang_pid=$!
docker-machine create -d none --url "tcp://127.0.0.1:$hport" hang >/dev/null
sleep 0.2
echo "== ls with one hanging machine"
for t in 1 2; do
	s=$(date +%s%N); dm-ls -t $t >"$work/ls.out"; e=$(date +%s%N)
	printf 'dm-ls -t %s\t%d ms\trows: %s, Timeout rows: %s\n' "$t" $(((e - s) / 1000000)) \
		"$(($(wc -l <"$work/ls.out") - 1))" "$(grep -c Timeout "$work/ls.out")"
done
