#!/bin/bash
# bench/amazonec2.sh - `ls` of 100 amazonec2 machines against the EC2 fake
# (tests/fakes/fake_ec2.py, every request SigV4-checked): wall time (budget
# 100 ms) and API requests per ls (budget 3; the driver makes one
# DescribeInstances with all instance IDs).
# Not a test: prints a table.  Needs python3, jq, curl; hyperfine when present
# (else a loop with date).  Writes only under a temp dir.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
export PATH="$top/bin:$top/drivers:$PATH" DM_LIBEXECDIR="$top/bin:$top/drivers"
work=$(mktemp -d /tmp/dm-bench-amazonec2.XXXXXX)
export MACHINE_STORAGE_PATH="$work/store"
unset DOCKER_HOST DOCKER_TLS_VERIFY DOCKER_CERT_PATH AWS_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL
fake_pid=
cleanup() {
	[ -n "$fake_pid" ] && kill "$fake_pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
N=${N:-100}
RUNS=${RUNS:-30}

python3 "$top/tests/fakes/fake_ec2.py" --port-file "$work/port" --lifetime 600 >/dev/null 2>&1 &
fake_pid=$!
for _ in $(seq 50); do [ -s "$work/port" ] && break; sleep 0.1; done
fake=http://127.0.0.1:$(cat "$work/port")
export AWS_ENDPOINT_URL_EC2=$fake/ AWS_ACCESS_KEY_ID=AKIDEXAMPLE
export AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY
curl -sf -X POST -H 'Content-Type: application/json' -d '{"boot_ms": 0}' "$fake/_config" >/dev/null

echo "creating $N amazonec2 machines in the fake..." >&2
ami=$(curl -sf "$fake/_state" | jq -r '.seeded.image[0]')
python3 "$top/tests/fakes/fake_ec2.py" --client "$fake/" RunInstances ImageId="$ami" InstanceType=t3.micro \
	MinCount="$N" MaxCount="$N" > "$work/run.xml"
python3 - "$MACHINE_STORAGE_PATH" "$work/run.xml" <<'PY'
import json, os, re, sys
store, xml = sys.argv[1], open(sys.argv[2]).read()
for n, iid in enumerate(re.findall(r"<item><instanceId>(i-[0-9a-f]+)</instanceId>", xml)):
    name = "m%03d" % n
    d = os.path.join(store, "machines", name)
    os.makedirs(d, exist_ok=True)
    cfg = {"ConfigVersion": 3, "Driver": {"IPAddress": "", "MachineName": name, "SSHUser": "ubuntu",
           "SSHPort": 22, "SSHKeyPath": "", "StorePath": store, "SwarmMaster": False, "SwarmHost": "",
           "SwarmDiscovery": "", "Region": "us-east-1", "InstanceId": iid, "Endpoint": ""},
           "DriverName": "amazonec2", "HostOptions": {"Driver": "", "Memory": 0, "Disk": 0,
           "EngineOptions": {}, "SwarmOptions": {}, "AuthOptions": {"StorePath": d}}, "Name": name}
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f)
    os.chmod(os.path.join(d, "config.json"), 0o600)
PY
sleep 0.2
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
printf '%-42s %10s %10s\n' "measure" "value" "budget"
printf '%-42s %10s %10s\n' "ls of $N amazonec2 machines, mean (ms)" "$mean" "100"
printf '%-42s %10s %10s\n' "ls of $N amazonec2 machines, p95 (ms)" "$p95" "-"
printf '%-42s %10s %10s\n' "API requests per ls" "$reqs" "3"
printf '%-42s %10s %10s\n' "machines shown Running" "$running" "$N"
