#!/usr/bin/env bats
# dm-driver-digitalocean against the fake DigitalOcean API (fake_digitalocean.py,
# requests checked against specs/digitalocean/v2-subset.json): the whole
# lifecycle, pre-create checks, a failure at every step of create and a
# kill -9 at every step leaving nothing at the provider, retries, batched ls.
#
# Provisioning is replaced by a stand-in dm-provision (exit $STUB_PROVISION_EXIT,
# default 0) first in DM_LIBEXECDIR: the fake hands out loopback addresses
# where no sshd runs.  The last test runs the real provisioning against a
# test-bed host when the test bed is available (root, systemd-nspawn), else
# it skips and says why.

TOP=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
TOKEN=dop_v1_fake

setup_file() {
	export TOP
	[ -x "$TOP/drivers/dm-driver-digitalocean" ] || skip "dm-driver-digitalocean not built"
	command -v curl >/dev/null || skip "curl not installed"
	export FAKE_DIR=$BATS_FILE_TMPDIR/fake
	mkdir -p "$FAKE_DIR"
	timeout 5 python3 -c 'import http.server' || skip "python3 not usable"
	python3 "$TOP/tests/fakes/fake_digitalocean.py" --port-file "$FAKE_DIR/port" --lifetime 300 \
		>"$FAKE_DIR/out" 2>"$FAKE_DIR/err" 3>&- &
	echo $! >"$FAKE_DIR/pid"
	for _ in $(seq 100); do [ -s "$FAKE_DIR/port" ] && break; sleep 0.05; done
	[ -s "$FAKE_DIR/port" ] || { cat "$FAKE_DIR/err" >&2; return 1; }
	API="http://127.0.0.1:$(cat "$FAKE_DIR/port")"
	export API
}

teardown_file() {
	[ -s "${FAKE_DIR:-/nonexistent}/pid" ] && kill "$(cat "$FAKE_DIR/pid")" 2>/dev/null
	return 0
}

setup() {
	export PATH="$TOP/bin:$TOP/drivers:$PATH"
	export STUB=$BATS_TEST_TMPDIR/stub
	mkdir -p "$STUB"
	# shellcheck disable=SC2016 # the stand-in's own $* and ${…}
	printf '#!/bin/sh\necho "$*" >>"%s/provision.log"\nexit ${STUB_PROVISION_EXIT:-0}\n' "$STUB" >"$STUB/dm-provision"
	chmod +x "$STUB/dm-provision"
	export DM_LIBEXECDIR="$STUB:$TOP/bin:$TOP/drivers"
	export MACHINE_STORAGE_PATH=$BATS_TEST_TMPDIR/store HOME=$BATS_TEST_TMPDIR LC_ALL=C
	export DIGITALOCEAN_API_URL=$API DIGITALOCEAN_ACCESS_TOKEN=$TOKEN
	export DIGITALOCEAN_POLL_MS=5 DM_HTTP_BACKOFF_MS=1
	unset DOCKER_HOST DOCKER_TLS_VERIFY DOCKER_CERT_PATH MACHINE_DEBUG STUB_PROVISION_EXIT
	fake POST /_reset >/dev/null
}

teardown() {
	[ -s "$BATS_TEST_TMPDIR/fake.pid" ] && kill "$(cat "$BATS_TEST_TMPDIR/fake.pid")" 2>/dev/null
	[ -n "${TB_ST:-}" ] && [ -d "$TB_ST" ] &&
		timeout 60 "$TOP/tests/integration/testbed/hosts.sh" down "$TB_ST" >/dev/null 2>&1 3>&-
	# every request any test made conforms to the spec subset
	local v
	v=$(fake GET /_violations)
	if [ "$v" != "[]" ]; then
		echo "spec violations: $v" >&2
		return 1
	fi
}

# fake METHOD PATH [JSON]: a request to the fake (control endpoints need no token)
fake() {
	curl -sS --max-time 10 -X "$1" -H "Authorization: Bearer $TOKEN" \
		-H 'Content-Type: application/json' ${3:+--data "$3"} "$API$2"
}

live_count() { fake GET /_state | python3 -c 'import json,sys; print(json.load(sys.stdin)["count"])'; }

# requests the fake saw, "METHOD PATH STATUS" per line
requests() {
	fake GET /_log | python3 -c 'import json,sys
for e in json.load(sys.stdin): print(e["method"], e["path"] + ("?" + e["query"] if e["query"] else ""), e["status"])'
}

dm() {
	local out=$BATS_TEST_TMPDIR/dm.out err=$BATS_TEST_TMPDIR/dm.err
	status=0
	timeout -k 2 "${DM_TIMEOUT:-30}" docker-machine "$@" >"$out" 2>"$err" 3>&- || status=$?
	output=$(cat "$out")
	stderr=$(cat "$err")
}

zero_left() {
	local n
	n=$(live_count)
	[ "$n" -eq 0 ] || { echo "left at the provider: $(fake GET /_state)" >&2; return 1; }
}

@test "describe: every 0.16.2 flag, the token secret and required, image default ubuntu-24-04-x64" {
	run dm-driver-digitalocean describe
	[ "$status" -eq 0 ]
	for f in access-token backups image ipv6 monitoring private-networking region size \
		ssh-key-fingerprint ssh-key-path ssh-port ssh-user tags userdata; do
		echo "$output" | grep -q "\"Name\":\"digitalocean-$f\"" || { echo "missing $f"; return 1; }
	done
	echo "$output" | python3 -c 'import json,sys
d = {f["Name"]: f for f in json.load(sys.stdin)["Flags"]}
t = d["digitalocean-access-token"]
assert t["Secret"] and t["Required"] and t["EnvVar"] == "DIGITALOCEAN_ACCESS_TOKEN"
assert d["digitalocean-image"]["Value"] == "ubuntu-24-04-x64"
assert d["digitalocean-region"]["Value"] == "nyc3" and d["digitalocean-size"]["Value"] == "s-1vcpu-1gb"
assert d["digitalocean-ssh-user"]["Value"] == "root" and d["digitalocean-ssh-port"]["Value"] == 22'
}

@test "lifecycle: create ls status stop start restart kill rm, nothing left" {
	dm create -d digitalocean --digitalocean-tags "team-a, env:test" web.1
	[ "$status" -eq 0 ] || { echo "$output $stderr"; return 1; }
	[[ $output == *"(web.1) Creating Digital Ocean droplet..."* ]]
	[ -f "$MACHINE_STORAGE_PATH/machines/web.1/id_ed25519" ]
	[ "$(stat -c %a "$MACHINE_STORAGE_PATH/machines/web.1/id_ed25519")" = 600 ]
	grep -q -- "--create web.1" "$STUB/provision.log"
	# the droplet: tags (machine tag mapped), key, request shape
	fake GET /_state | python3 -c 'import json,sys
s = json.load(sys.stdin)["resources"]
d, = s["droplet"]
assert d["tags"] == ["docker-machine", "docker-machine:web_1", "team-a", "env:test"], d["tags"]
assert d["name"] == "web.1" and d["region"]["slug"] == "nyc3" and d["image"]["slug"] == "ubuntu-24-04-x64"
k, = s["ssh_key"]
assert k["name"] == "web.1" and k["public_key"].startswith("ssh-ed25519 ")'
	dm ls
	[ "$status" -eq 0 ]
	[[ $output == *"web.1"*"digitalocean"*"Running"*"tcp://127.1.0.1:2376"* ]]
	dm status web.1
	[ "$output" = Running ]
	dm stop web.1
	[ "$status" -eq 0 ]
	dm status web.1
	[ "$output" = Stopped ]
	dm start web.1
	[ "$status" -eq 0 ]
	dm status web.1
	[ "$output" = Running ]
	dm restart web.1
	[ "$status" -eq 0 ]
	dm kill web.1
	[ "$status" -eq 0 ]
	dm status web.1
	[ "$output" = Stopped ]
	requests | grep -q "POST /v2/droplets/[0-9]*/actions 201"
	dm inspect web.1
	[[ $output == *'"AccessToken": "(redacted)"'* ]]
	[[ $output != *"$TOKEN"* ]]
	dm rm -y web.1
	[ "$status" -eq 0 ]
	zero_left
	[ ! -e "$MACHINE_STORAGE_PATH/machines/web.1" ]
}

@test "pre-create check: bad token, region, size, image, key give the provider's message and exit 3" {
	local cases=(
		"--digitalocean-access-token=wrong|Unable to authenticate you"
		"--digitalocean-region=xyz9|digitalocean requires a valid region"
		"--digitalocean-region=ams2|digitalocean requires a valid region"
		"--digitalocean-size=s-99vcpu|size \"s-99vcpu\" does not exist"
		"--digitalocean-size=s-8vcpu-16gb|is not available in region \"nyc3\""
		"--digitalocean-image=ubuntu-16-04-x64|404 The resource you were accessing could not be found."
		"--digitalocean-ssh-key-fingerprint=00:11|/v2/account/keys/00%3A11: 404"
		"--digitalocean-userdata=/nonexistent/ud|user-data file /nonexistent/ud could not be found"
	)
	for c in "${cases[@]}"; do
		dm create -d digitalocean "${c%%|*}" pc1
		[ "$status" -eq 3 ] || { echo "${c%%|*}: exit $status: $stderr"; return 1; }
		[[ $stderr == *"Error with pre-create check"*"${c#*|}"* ]] || { echo "${c%%|*}: $stderr"; return 1; }
		[ ! -e "$MACHINE_STORAGE_PATH/machines/pc1" ]
	done
	zero_left
}

@test "set-config: a missing token and a key path without fingerprint are refused as 0.16.2" {
	DIGITALOCEAN_ACCESS_TOKEN='' dm create -d digitalocean sc1
	[ "$status" -eq 1 ]
	[[ $stderr == *"digitalocean driver requires the --digitalocean-access-token option"* ]]
	dm create -d digitalocean --digitalocean-ssh-key-path /tmp/k sc1
	[ "$status" -eq 1 ]
	[[ $stderr == *'ssh-key-fingerprint needs to be provided for "/tmp/k"'* ]]
	[ "$(requests | wc -l)" -eq 0 ]
}

@test "a failure at every step of create leaves nothing at the provider" {
	local steps=(
		'{"match":"GET /v2/account","kind":"500","times":0}'
		'{"match":"POST /v2/account/keys","kind":"500","times":0}'
		'{"match":"POST /v2/account/keys","kind":"500","times":0,"phase":"after"}'
		'{"match":"POST /v2/account/keys","kind":"drop","times":0,"phase":"after"}'
		'{"match":"POST /v2/droplets","kind":"500","times":0}'
		'{"match":"POST /v2/droplets","kind":"500","times":0,"phase":"after"}'
		'{"match":"POST /v2/droplets","kind":"drop","times":0,"phase":"after"}'
		'{"match":"POST /v2/droplets","kind":"error","status":422,"body":{"id":"unprocessable_entity","message":"droplet limit reached"}}'
		'{"match":"GET /v2/droplets/{droplet_id}","kind":"500","times":0}'
		'{"match":"GET /v2/droplets/{droplet_id}","kind":"500","times":0,"after":1}'
		'provision'
	)
	for s in "${steps[@]}"; do
		fake POST /_reset >/dev/null
		if [ "$s" = provision ]; then
			export STUB_PROVISION_EXIT=1
		else
			fake POST /_fault "$s" >/dev/null
		fi
		dm create -d digitalocean f1
		unset STUB_PROVISION_EXIT
		[ "$status" -ne 0 ] || { echo "$s: create succeeded"; return 1; }
		[ "$(fake GET /_faults | grep -c '"fired": 0')" -eq 0 ] || { echo "$s: fault never fired"; return 1; }
		zero_left || { echo "after $s: $stderr"; requests; return 1; }
		[ ! -e "$MACHINE_STORAGE_PATH/machines/f1" ] || { echo "$s: store entry kept: $stderr"; return 1; }
	done
}

@test "SIGINT or SIGTERM during create rolls back: nothing at the provider, no store entry" {
	local sig s pid rc
	for sig in INT TERM; do
		for s in 'POST /v2/droplets|after' 'GET /v2/droplets/{droplet_id}|before'; do
			fake POST /_reset >/dev/null
			fake POST /_fault "{\"match\":\"${s%|*}\",\"kind\":\"hang\",\"phase\":\"${s#*|}\",\"seconds\":20}" >/dev/null
			dm-create -d digitalocean sig1 >"$BATS_TEST_TMPDIR/sig.out" 2>&1 3>&- &
			pid=$!
			for _ in $(seq 200); do
				fake GET /_faults | grep -q '"fired": 1' && break
				sleep 0.05
			done
			fake GET /_faults | grep -q '"fired": 1' || { echo "$s: never reached"; kill -9 $pid; return 1; }
			[ "$(live_count)" -ge 1 ] || { echo "$s: no resource to roll back yet"; kill -9 $pid; return 1; }
			kill -$sig $pid
			# the hung request is let go so the rollback's own calls get answers
			fake POST /_release >/dev/null
			rc=0
			timeout 60 tail --pid=$pid -f /dev/null || { kill -9 $pid; echo "$sig at $s: no exit"; return 1; }
			wait $pid || rc=$?
			echo "# $sig at $s: exit $rc" >&3
			[ "$rc" -ne 0 ] || { cat "$BATS_TEST_TMPDIR/sig.out"; return 1; }
			grep -q 'Removing the partly created machine "sig1"' "$BATS_TEST_TMPDIR/sig.out" ||
				{ cat "$BATS_TEST_TMPDIR/sig.out"; return 1; }
			[ ! -e "$MACHINE_STORAGE_PATH/machines/sig1" ] || { echo "store entry left"; return 1; }
			zero_left || { echo "after $sig at $s"; cat "$BATS_TEST_TMPDIR/sig.out"; return 1; }
		done
	done
}

@test "kill -9 of dm-create at every step, then rm -f, leaves nothing" {
	local steps=(
		'POST /v2/account/keys|after'
		'POST /v2/droplets|before'
		'POST /v2/droplets|after'
		'GET /v2/droplets/{droplet_id}|before'
	)
	local s pid kids k
	for s in "${steps[@]}"; do
		fake POST /_reset >/dev/null
		fake POST /_fault "{\"match\":\"${s%|*}\",\"kind\":\"hang\",\"phase\":\"${s#*|}\",\"seconds\":20}" >/dev/null
		dm-create -d digitalocean k9 >"$BATS_TEST_TMPDIR/k9.out" 2>&1 3>&- &
		pid=$!
		for _ in $(seq 200); do
			fake GET /_faults | grep -q '"fired": 1' && break
			sleep 0.05
		done
		fake GET /_faults | grep -q "\"fired\": 1" || { echo "$s: never reached"; cat "$BATS_TEST_TMPDIR/k9.out"; kill -9 $pid; return 1; }
		kids=$(pgrep -P $pid || true)
		kill -9 $pid
		wait $pid 2>/dev/null || true
		dm rm -f k9
		[ "$status" -eq 0 ] || { echo "$s: rm -f: $stderr"; return 1; }
		zero_left || { echo "after kill at $s"; return 1; }
		# let the hung request go: whatever survived the kill must not leave anything
		fake POST /_release >/dev/null
		for k in $kids; do
			for _ in $(seq 100); do kill -0 "$k" 2>/dev/null || break; sleep 0.05; done
		done
		zero_left || { echo "after the survivors of the kill at $s finished"; return 1; }
	done
}

@test "429 with Retry-After and 500 are retried" {
	fake POST /_fault '{"match":"GET /v2/account","kind":"429","retry_after":1}' >/dev/null
	fake POST /_fault '{"match":"POST /v2/droplets","kind":"500","times":2}' >/dev/null
	fake POST /_fault '{"match":"GET /v2/droplets/*","kind":"503"}' >/dev/null
	local t0=$SECONDS
	dm create -d digitalocean r1
	[ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
	[ $((SECONDS - t0)) -ge 1 ]
	requests >"$BATS_TEST_TMPDIR/req"
	[ "$(grep -c '^GET /v2/account 429' "$BATS_TEST_TMPDIR/req")" -eq 1 ]
	[ "$(grep -c '^POST /v2/droplets 500' "$BATS_TEST_TMPDIR/req")" -eq 2 ]
	[ "$(grep -c '^POST /v2/droplets 202' "$BATS_TEST_TMPDIR/req")" -eq 1 ]
	[ "$(fake GET /_state | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["resources"]["droplet"]))')" -eq 1 ]
	dm rm -y r1
	zero_left
}

@test "rm: a droplet and key already gone (404) count as removed" {
	dm create -d digitalocean g1
	[ "$status" -eq 0 ]
	local id kid
	id=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["Driver"]["DropletID"])' "$MACHINE_STORAGE_PATH/machines/g1/config.json")
	kid=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["Driver"]["SSHKeyID"])' "$MACHINE_STORAGE_PATH/machines/g1/config.json")
	fake DELETE "/v2/droplets/$id" >/dev/null
	fake DELETE "/v2/account/keys/$kid" >/dev/null
	dm ls
	[[ $output == *"g1"*"digitalocean"*"Error"*"404 The resource you were accessing could not be found."* ]]
	dm rm -y g1
	[ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
	requests | grep -q "DELETE /v2/droplets/$id 404"
	zero_left
}

@test "a key given by fingerprint is used and never deleted" {
	dm create -d digitalocean --digitalocean-ssh-key-fingerprint 3b:16:bf:e4:8b:00:8b:b8:59:8c:a9:d3:f0:19:45:fa fp1
	[ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
	requests | grep -q "POST /v2/account/keys" && return 1
	dm rm -y fp1
	zero_left
	fake GET /v2/account/keys/1 | grep -q '"id":1,'
}

@test "ls of 100 machines: every row, at most 3 API requests (time: bench/digitalocean.sh)" {
	run timeout 120 "$TOP/bench/digitalocean.sh" --check 100
	echo "# $output" >&3
	[ "$status" -eq 0 ]
}

@test "end to end on a test-bed host: create, provision, env, docker info through the fake" {
	[ -z "${TB_DISABLE:-}" ] || skip "test bed disabled (TB_DISABLE is set)"
	local tb=$TOP/tests/integration/testbed why key ip
	why=$("$tb/hosts.sh" check 2>&1) || skip "test bed unavailable: $why"
	command -v docker >/dev/null || skip "docker client not installed"
	key=$("$tb/build-rootfs.sh" --key)
	[ -f "${TB_CACHE:-/var/cache/dm-testbed}/rootfs-$key/.complete" ] ||
		skip "test bed rootfs not built (tests/integration/testbed/build-rootfs.sh)"
	export TB_ST=$BATS_TEST_TMPDIR/tb
	export DM_LIBEXECDIR="$TOP/bin:$TOP/drivers"     # the real dm-provision this time
	timeout 90 "$tb/hosts.sh" up "$TB_ST" 1 "${TB_CACHE:-/var/cache/dm-testbed}/rootfs-$key" \
		>"$BATS_TEST_TMPDIR/tb.out" 2>"$BATS_TEST_TMPDIR/tb.err" 3>&- ||
		{ cat "$BATS_TEST_TMPDIR/tb.err"; return 1; }
	read -r _ ip <"$TB_ST/hosts"
	# a second fake whose droplets get the test-bed host's address; it installs
	# the uploaded key for root there, as a cloud's agent does
	FAKECLOUD_IPS=$ip FAKECLOUD_AUTHORIZE="$TOP/tests/fakes/tools/tb-authorize.sh $TB_ST" \
		python3 "$TOP/tests/fakes/fake_digitalocean.py" --port-file "$BATS_TEST_TMPDIR/port" \
		--lifetime 120 >/dev/null 2>"$BATS_TEST_TMPDIR/fake.err" 3>&- &
	echo $! >"$BATS_TEST_TMPDIR/fake.pid"
	for _ in $(seq 100); do [ -s "$BATS_TEST_TMPDIR/port" ] && break; sleep 0.05; done
	local api
	api=http://127.0.0.1:$(cat "$BATS_TEST_TMPDIR/port")
	local t0
	t0=$(date +%s%N)
	DIGITALOCEAN_API_URL=$api DM_TIMEOUT=120 dm create -d digitalocean e2e
	echo "# create -d digitalocean through the fake to a ready engine: $(( ($(date +%s%N) - t0) / 1000000 )) ms" >&3
	[ "$status" -eq 0 ] || { echo "$output $stderr"; return 1; }
	[[ "$output $stderr" == *"Docker is up and running!"* ]] || { echo "out: $output"; echo "err: $stderr"; return 1; }
	DIGITALOCEAN_API_URL=$api dm env e2e
	[ "$status" -eq 0 ]
	eval "$output"
	[ "$DOCKER_HOST" = "tcp://$ip:2376" ]
	run timeout 30 docker info --format '{{.ServerVersion}}'
	[ "$status" -eq 0 ] && [ -n "$output" ]
	DIGITALOCEAN_API_URL=$api dm ls
	[[ $output == *"e2e"*"digitalocean"*"Running"*"tcp://$ip:2376"*" v"* ]]
	DIGITALOCEAN_API_URL=$api dm rm -y e2e
	[ "$status" -eq 0 ]
	[ "$(curl -s "$api/_state" | python3 -c 'import json,sys; print(json.load(sys.stdin)["count"])')" -eq 0 ]
}
