#!/bin/bash
# bench/google.sh - `ls` of 100 google machines against the fake GCE API
# (tests/fakes/fake_gce.py): wall time (budget 100 ms) and API requests per
# ls (budget 3: one token exchange + one aggregated instance list).
# Not a test: prints a table.  Needs python3, openssl, jq, curl; hyperfine
# when present (else a loop with date).  Writes only under a temp dir.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
export PATH="$top/bin:$top/drivers:$PATH" DM_LIBEXECDIR="$top/bin:$top/drivers"
work=$(mktemp -d /tmp/dm-bench-google.XXXXXX)
export MACHINE_STORAGE_PATH="$work/store"
unset DOCKER_HOST DOCKER_TLS_VERIFY DOCKER_CERT_PATH CLOUDSDK_CONFIG GOOGLE_AUTH_TOKEN
fake_pid=
cleanup() {
	[ -n "$fake_pid" ] && kill "$fake_pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
N=${N:-100}
RUNS=${RUNS:-30}

openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$work/sa.pem" 2>/dev/null
jq -n --rawfile pk "$work/sa.pem" '{type:"service_account", private_key_id:"k1", private_key:$pk,
	client_email:"bench@dm-test.iam.gserviceaccount.com"}' > "$work/sa.json"
FAKE_GCE_SA_KEY=$work/sa.json python3 "$top/tests/fakes/fake_gce.py" --port-file "$work/port" \
	--lifetime 600 >/dev/null 2>&1 &
fake_pid=$!
for _ in $(seq 50); do [ -s "$work/port" ] && break; sleep 0.1; done
fake=http://127.0.0.1:$(cat "$work/port")
export GOOGLE_APPLICATION_CREDENTIALS=$work/sa.json GOOGLE_COMPUTE_ENDPOINT=$fake/compute/v1/
export GOOGLE_OAUTH_TOKEN_URI=$fake/token
curl -sf -X POST -d '{"static_tokens":["ya29.seed"]}' "$fake/_config" >/dev/null

echo "creating $N google machines in the fake..." >&2
python3 "$top/tests/fakes/gce_seed.py" --api "$fake" --store "$MACHINE_STORAGE_PATH" --prefix m --count "$N"
docker-machine ls >/dev/null    # warm the page cache

n0=$(curl -sf "$fake/_log" | jq length)
docker-machine ls >"$work/ls.out"
reqs=$(( $(curl -sf "$fake/_log" | jq length) - n0 ))
running=$(grep -c ' Running ' "$work/ls.out" || true)

if command -v hyperfine >/dev/null; then
	hyperfine -N -i --warmup 3 --runs "$RUNS" --export-json "$work/h.json" "docker-machine ls" >/dev/null 2>&1
	mean=$(jq '.results[0].mean * 1000 | floor' "$work/h.json")
	p95=$(jq '.results[0].times | sort | .[(length * 0.95 | floor)] * 1000 | floor' "$work/h.json")
else
	t=()
	for _ in $(seq "$RUNS"); do
		s=$(date +%s%N)
		docker-machine ls >/dev/null
		t+=($(( ($(date +%s%N) - s) / 1000000 )))
	done
	mean=$(printf '%s\n' "${t[@]}" | awk '{s+=$1} END {printf "%d", s/NR}')
	p95=$(printf '%s\n' "${t[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int(NR*0.95)]}')
fi
printf '%-40s %10s %10s\n' "measure" "value" "budget"
printf '%-40s %10s %10s\n' "ls of $N google machines, mean (ms)" "$mean" "100"
printf '%-40s %10s %10s\n' "ls of $N google machines, p95 (ms)" "$p95" "-"
printf '%-40s %10s %10s\n' "API requests per ls" "$reqs" "3"
printf '%-40s %10s %10s\n' "machines shown Running" "$running" "$N"
