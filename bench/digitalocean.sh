#!/bin/bash
# bench/digitalocean.sh [--check] [N] - `ls` of N (default 100) digitalocean
# machines against the fake API (tests/fakes/fake_digitalocean.py): wall time
# of dm-ls (median of 5 runs) and API requests per ls.
#
# Set-up: one machine made by `docker-machine create -d digitalocean` (with a
# stand-in dm-provision: provisioning is not what is measured), then N-1
# copies of its store entry, each with its own droplet made through the fake's
# API (tagged as the driver tags them), all Running on loopback addresses
# whose engine port refuses connections.
# --check: exit 1 unless every row is Running and requests per ls <= 3
# --check-time: also unless the fastest run <= 100 ms (the budget)
# (the budget of tests/fakes/digitalocean.bats).  Writes only under a temp dir.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
check=0
[ "${1:-}" = --check ] && { check=1; shift; }
[ "${1:-}" = --check-time ] && { check=2; shift; }
n=${1:-100}
work=$(mktemp -d /tmp/dm-bench-do.XXXXXX)
fake_pid=
# shellcheck disable=SC2317 # run by the trap
cleanup() {
	[ -n "$fake_pid" ] && kill "$fake_pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/bin"
printf '#!/bin/sh\nexit 0\n' >"$work/bin/dm-provision"
chmod +x "$work/bin/dm-provision"
export PATH="$top/bin:$top/drivers:$PATH" DM_LIBEXECDIR="$work/bin:$top/bin:$top/drivers"
export MACHINE_STORAGE_PATH="$work/store" HOME="$work"
export DIGITALOCEAN_ACCESS_TOKEN=dop_v1_fake DIGITALOCEAN_POLL_MS=5 DM_HTTP_BACKOFF_MS=1
unset DOCKER_HOST DOCKER_TLS_VERIFY DOCKER_CERT_PATH MACHINE_DEBUG

python3 "$top/tests/fakes/fake_digitalocean.py" --port-file "$work/port" --lifetime 300 \
	>/dev/null 2>"$work/fake.err" &
fake_pid=$!
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.05; done
[ -s "$work/port" ] || { echo "bench: the fake did not start" >&2; cat "$work/fake.err" >&2; exit 1; }
api="http://127.0.0.1:$(cat "$work/port")"
export DIGITALOCEAN_API_URL=$api

timeout 60 docker-machine create -d digitalocean m0 >"$work/create.out" 2>&1 ||
	{ echo "bench: create failed" >&2; cat "$work/create.out" >&2; exit 1; }

python3 - "$api" "$MACHINE_STORAGE_PATH" "$n" <<'EOF'
import json, os, sys, urllib.request
api, store, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
def call(method, path, body=None):
    r = urllib.request.Request(api + path, method=method, data=json.dumps(body).encode() if body else None,
                               headers={"Authorization": "Bearer dop_v1_fake", "Content-Type": "application/json"})
    with urllib.request.urlopen(r) as f:
        return json.loads(f.read() or b"null")
call("POST", "/_config", {"boot_polls": 0})
src = open(os.path.join(store, "machines", "m0", "config.json")).read()
for i in range(1, n):
    name = "m%d" % i
    d = call("POST", "/v2/droplets", {"name": name, "region": "nyc3", "size": "s-1vcpu-1gb",
                                      "image": "ubuntu-24-04-x64",
                                      "tags": ["docker-machine", "docker-machine:" + name]})["droplet"]
    ip = [x for x in call("GET", "/v2/droplets/%d" % d["id"])["droplet"]["networks"]["v4"]
          if x["type"] == "public"][0]["ip_address"]
    h = json.loads(src.replace("/machines/m0", "/machines/" + name).replace("docker-machine:m0", "docker-machine:" + name))
    h["Name"] = name
    h["Driver"].update({"MachineName": name, "DropletName": name, "DropletID": d["id"], "IPAddress": ip})
    os.makedirs(os.path.join(store, "machines", name), mode=0o700)
    p = os.path.join(store, "machines", name, "config.json")
    with open(p, "w") as f:
        json.dump(h, f, indent=4)
    os.chmod(p, 0o600)
EOF

before=$(curl -s "$api/_log" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
runs=5
times=()
for _ in $(seq $runs); do
	t0=$(date +%s%N)
	timeout 20 dm-ls >"$work/ls.out" 2>"$work/ls.err"
	t1=$(date +%s%N)
	times+=($(((t1 - t0) / 1000000)))
done
# the driver alone: one state call with every host record
for f in "$MACHINE_STORAGE_PATH"/machines/*/config.json; do jq -c . "$f"; done >"$work/hosts.jsonl"
t0=$(date +%s%N)
dm-driver-digitalocean state <"$work/hosts.jsonl" >/dev/null
t1=$(date +%s%N)
drv_ms=$(((t1 - t0) / 1000000))
t0=$(date +%s%N)
curl -s -o /dev/null -H "Authorization: Bearer $DIGITALOCEAN_ACCESS_TOKEN" "$api/v2/droplets?tag_name=docker-machine&per_page=200&page=1"
t1=$(date +%s%N)
api_ms=$(((t1 - t0) / 1000000))
before=$((before + 2))
after=$(curl -s "$api/_log" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
rows=$(($(wc -l <"$work/ls.out") - 1))
running=$(grep -c ' Running ' "$work/ls.out" || true)
median=$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(((runs + 1) / 2))p")
best=$(printf '%s\n' "${times[@]}" | sort -n | head -1)
reqs=$(((after - before) / runs))
echo "ls of $n digitalocean machines: best ${best} ms, median ${median} ms (runs: ${times[*]}; load $(cut -d' ' -f1 /proc/loadavg)), $reqs API requests per ls, $rows rows, $running Running; driver state alone ${drv_ms} ms, the fake's listing alone ${api_ms} ms"
if [ $check -ge 1 ]; then
	if [ "$rows" -ne "$n" ] || [ "$running" -ne "$n" ]; then echo "bench: ls shows $rows rows, $running Running" >&2; exit 1; fi
	[ "$reqs" -le 3 ] || { echo "bench: $reqs requests per ls (budget 3)" >&2; exit 1; }
	# the fastest run: the others carry the scheduler noise of a loaded machine
	[ $check -lt 2 ] || [ "$best" -le 100 ] || { echo "bench: best ${best} ms (budget 100)" >&2; exit 1; }
fi
exit 0
