#!/usr/bin/env bats
# tests/fakes/amazonec2.bats - dm-driver-amazonec2 against the EC2 fake
# (tests/fakes/fake_ec2.py: SigV4 checked on every request, parameters checked
# against the botocore model subset).  The full lifecycle provisions a real
# test-bed host (tests/integration/testbed) and skips loudly without one.
# Every command is bounded with timeout; the fake exits by itself after 300 s.

load ../integration/testbed/testbed

AKID=AKIDEXAMPLE
SECRET=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY
FAULT_BODY='<Response><Errors><Error><Code>InjectedFault</Code><Message>injected by the test</Message></Error></Errors></Response>'

setup_file() {
	export TOP
	TOP=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
	tb_setup_file 1
	export EC2_SKIP=
	if [ ! -x "$TOP/drivers/dm-driver-amazonec2" ] || ! command -v curl >/dev/null || ! command -v jq >/dev/null; then
		EC2_SKIP="dm-driver-amazonec2, curl or jq missing"
		return 0
	fi
	# installs an instance's public key on a test-bed host (others: nothing to do)
	cat > "$BATS_FILE_TMPDIR/authorize" <<-EOF
	#!/bin/sh
	case \$1 in 10.231.*) ;; *) cat >/dev/null; exit 0 ;; esac
	exec timeout 20 ssh -i "$TB_ST/id_ed25519" -o BatchMode=yes -o UserKnownHostsFile="$TB_ST/known_hosts" \
		-o StrictHostKeyChecking=yes "root@\$1" 'cat >> /root/.ssh/authorized_keys'
	EOF
	chmod +x "$BATS_FILE_TMPDIR/authorize"
	FAKECLOUD_AUTHORIZE="$BATS_FILE_TMPDIR/authorize" python3 "$TOP/tests/fakes/fake_ec2.py" \
		--port-file "$BATS_FILE_TMPDIR/port" --lifetime 300 >"$BATS_FILE_TMPDIR/fake.log" 2>&1 3>&- &
	echo $! > "$BATS_FILE_TMPDIR/fake.pid"
	for _ in $(seq 50); do [ -s "$BATS_FILE_TMPDIR/port" ] && break; sleep 0.1; done
	[ -s "$BATS_FILE_TMPDIR/port" ] || { EC2_SKIP="the fake did not start: $(cat "$BATS_FILE_TMPDIR/fake.log")"; return 0; }
	FAKE="http://127.0.0.1:$(cat "$BATS_FILE_TMPDIR/port")"
	export FAKE
}

teardown_file() {
	[ -s "$BATS_FILE_TMPDIR/fake.pid" ] && kill "$(cat "$BATS_FILE_TMPDIR/fake.pid")" 2>/dev/null
	tb_teardown_file
}

setup() {
	[ -z "$EC2_SKIP" ] || skip "$EC2_SKIP"
	export MACHINE_STORAGE_PATH=$BATS_TEST_TMPDIR/store HOME=$BATS_TEST_TMPDIR/home LC_ALL=C
	export AWS_ENDPOINT_URL_EC2=$FAKE/ AWS_ACCESS_KEY_ID=$AKID AWS_SECRET_ACCESS_KEY=$SECRET
	export DM_EC2_POLL_MS=50 DM_HTTP_BACKOFF_MS=1
	unset AWS_SESSION_TOKEN AWS_PROFILE AWS_SHARED_CREDENTIALS_FILE AWS_DEFAULT_REGION AWS_ENDPOINT_URL
	mkdir -p "$HOME"
	fake POST /_reset >/dev/null
	fake POST /_config '{"ips": ["127.1.0.1", "127.1.0.2", "127.1.0.3"], "boot_ms": 300}' >/dev/null
	EXPECT_VIOLATIONS=
}

teardown() {
	[ -z "$EC2_SKIP" ] || return 0
	[ -n "$EXPECT_VIOLATIONS" ] && return 0
	local v
	v=$(fake GET /_violations)
	[ "$v" = "[]" ] || { echo "spec violations: $v"; return 1; }
}

# fake METHOD PATH [JSON]: a control request to the fake.
fake() {
	if [ -n "${3:-}" ]; then
		curl -s -m 10 -X "$1" -H 'Content-Type: application/json' -d "$3" "$FAKE$2"
	else
		curl -s -m 10 -X "$1" "$FAKE$2"
	fi
}

# live resources that a client made
live() { fake GET /_state | jq .count; }

# wait (5 s at most) until the fake holds nothing a client made
zero_left() {
	local n
	for _ in $(seq 100); do
		n=$(live)
		[ "$n" = 0 ] && return 0
		sleep 0.05
	done
	echo "left at the fake: $(fake GET /_state | jq -c .resources)"
	return 1
}

ops() { fake GET "/_log?since=${1:-0}" | jq -r '.[].op'; }

dm() { timeout -k 5 "${DM_TIMEOUT:-60}" docker-machine "$@"; }

# kill PID and every descendant with SIGKILL (they are ours: started by this test)
killtree() {
	local p kids
	kids=$(ps -o pid= --ppid "$1" 2>/dev/null) || true
	kill -STOP "$1" 2>/dev/null || true
	for p in $kids; do killtree "$p"; done
	kill -KILL "$1" 2>/dev/null || true
}

# host JSON for a driver verb (name, flags JSON)
host_json() {
	jq -nc --arg n "$1" --arg s "$MACHINE_STORAGE_PATH" --argjson f "${2:-{\}}" \
		'{Name:$n, DriverName:"amazonec2", Driver:{MachineName:$n, StorePath:$s}, Flags:$f}'
}

# drive NAME FLAGS [HOSTJSON-MERGE]: set-config, precreate-check and create
# through the driver itself (no provisioning); prints the final host record.
drive() {
	local h out
	h=$(host_json "$1" "$2")
	[ -z "${3:-}" ] || h=$(jq -c --argjson x "$3" '. * $x' <<<"$h")
	for verb in set-config precreate-check create; do
		[ "$verb" = create ] && mkdir -p "$MACHINE_STORAGE_PATH/machines/$1"
		out=$(timeout 60 dm-driver-amazonec2 "$verb" <<<"$h") || { echo "$verb: $out" >&2; return 1; }
		h=$(jq -c --argjson d "$(jq -s 'map(select(.Driver) | .Driver) | add // {}' <<<"$out")" \
			'.Driver += $d' <<<"$h")
	done
	jq -c 'del(.Flags)' <<<"$h"
}

ec2() { python3 "$TOP/tests/fakes/fake_ec2.py" --client "$FAKE/" "$@"; }

@test "fake: its SigV4 implementation passes the official suite" {
	run timeout 20 python3 "$TOP/tests/fakes/fake_ec2.py" --selftest "$TOP/tests/unit/data/aws4_testsuite"
	[ "$status" -eq 0 ]
	[ "$output" = "102 passed, 0 failed" ]
}

@test "fake: its XML replies have the element structure of AWS's own samples" {
	run timeout 20 python3 "$TOP/tests/fakes/specs/ec2/check_samples.py" "$TOP/tests/fakes/specs/ec2/samples"
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "describe: 0.16.2's flags, defaults and env vars; secrets marked" {
	run timeout 10 dm-driver-amazonec2 describe
	[ "$status" -eq 0 ]
	[ "$(jq '.Flags | length' <<<"$output")" -eq 32 ]
	[ "$(jq -r '.Flags[] | select(.Secret) | .Name' <<<"$output" | tr '\n' ' ')" = \
	  "amazonec2-access-key amazonec2-secret-key amazonec2-session-token " ]
	jq -e '.Flags[] | select(.Name=="amazonec2-region") | .Value=="us-east-1" and .EnvVar=="AWS_DEFAULT_REGION"' <<<"$output"
	jq -e '.Flags[] | select(.Name=="amazonec2-instance-type") | .Value=="t2.micro"' <<<"$output"
	jq -e '.Flags[] | select(.Name=="amazonec2-root-size") | .Value==16' <<<"$output"
	jq -e '.Flags[] | select(.Name=="amazonec2-security-group") | .Value==["docker-machine"]' <<<"$output"
	jq -e '.Flags[] | select(.Name=="amazonec2-ssh-user") | .Value=="ubuntu"' <<<"$output"
}

@test "set-config: flag errors in 0.16.2's words, exit 1, nothing asked of EC2" {
	local args msgs i
	args=("--amazonec2-keypair-name k" "--amazonec2-insecure-transport" "--amazonec2-tags a,b,c"
	      "--amazonec2-userdata /nonexistent/ud")
	msgs=("using --amazonec2-keypair-name also requires --amazonec2-ssh-keypath"
	      "using --amazonec2-insecure-transport also requires --amazonec2-endpoint"
	      "--amazonec2-tags: expected key,value pairs"
	      "unable to read --amazonec2-userdata file")
	for i in "${!args[@]}"; do
		# shellcheck disable=SC2086
		run dm create -d amazonec2 ${args[$i]} sc$i
		echo "$output"
		[ "$status" -eq 1 ]
		[[ "$output" == *"Error setting machine configuration from flags provided: ${msgs[$i]}"* ]]
	done
	[ -z "$(ops)" ]
}

@test "pre-create: missing credentials, exit 3" {
	unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
	run dm create -d amazonec2 nocreds
	echo "$output"
	[ "$status" -eq 3 ]
	[[ "$output" == *'Error with pre-create check: "amazonec2 driver requires AWS credentials configured with the --amazonec2-access-key and --amazonec2-secret-key options, environment variables, ~/.aws/credentials, or an instance role"'* ]]
	[ "$(live)" = 0 ]
	[ ! -e "$MACHINE_STORAGE_PATH/machines/nocreds" ]
}

@test "pre-create: bad credentials, region, size, image, key clash give EC2's message, exit 3" {
	local i
	ssh-keygen -q -t ed25519 -N '' -f "$BATS_TEST_TMPDIR/clash" </dev/null
	python3 "$TOP/tests/fakes/fake_ec2.py" --client "$FAKE/" ImportKeyPair KeyName=clash \
		"PublicKeyMaterial=$(base64 -w0 < "$BATS_TEST_TMPDIR/clash.pub")" >/dev/null
	local -a env=("AWS_SECRET_ACCESS_KEY=wrong" "AWS_ACCESS_KEY_ID=AKIDUNKNOWN" "" "" "" "")
	local -a args=("" "" "--amazonec2-region xx-nowhere-1" "--amazonec2-instance-type t2.enormous"
	               "--amazonec2-ami ami-0123456789abcdef0" "")
	local -a names=(p0 p1 p2 p3 p4 clash)
	local -a msgs=("SignatureDoesNotMatch: The request signature we calculated does not match"
	               "AuthFailure: AWS was not able to validate the provided access credentials"
	               "AuthFailure: Credential should be scoped to a valid region"
	               "InvalidInstanceType: The following supplied instance types do not exist: [t2.enormous]"
	               "InvalidAMIID.NotFound: The image id '[ami-0123456789abcdef0]' does not exist"
	               "There is already a keypair with the name clash.")
	EXPECT_VIOLATIONS=1    # t2.enormous is outside the model's InstanceType enum
	for i in "${!names[@]}"; do
		# shellcheck disable=SC2086
		run env ${env[$i]} timeout 60 docker-machine create -d amazonec2 ${args[$i]} "${names[$i]}"
		echo "$i: $output"
		[ "$status" -eq 3 ]
		[[ "$output" == *"Error with pre-create check: \"${msgs[$i]}"* ]]
		[ ! -e "$MACHINE_STORAGE_PATH/machines/${names[$i]}" ]
	done
	[ "$(live)" = 1 ]    # the clashing key pair this test made, nothing else
}

@test "credentials: shared credentials file, AWS_PROFILE, session token" {
	unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
	mkdir -p "$HOME/.aws"
	printf '[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n[temp]\naws_access_key_id = ASIAEXAMPLETEMP\naws_secret_access_key = tempsecretEXAMPLEKEY\naws_session_token = FAKESESSIONTOKEN\n[broken]\naws_access_key_id = ASIAEXAMPLETEMP\naws_secret_access_key = tempsecretEXAMPLEKEY\n' \
		"$AKID" "$SECRET" > "$HOME/.aws/credentials"
	run timeout 20 dm-driver-amazonec2 precreate-check <<<"$(host_json c1)"
	echo "$output"
	[ "$status" -eq 0 ]
	jq -se 'map(select(.Driver))[0].Driver | (.AMI|startswith("ami-")) and (.VpcId|startswith("vpc-")) and (.SubnetId|startswith("subnet-"))' <<<"$output"
	AWS_PROFILE=temp run timeout 20 dm-driver-amazonec2 precreate-check <<<"$(host_json c2)"
	[ "$status" -eq 0 ]
	AWS_PROFILE=broken run timeout 20 dm-driver-amazonec2 precreate-check <<<"$(host_json c3)"
	[ "$status" -eq 3 ]
	[[ "$output" == *"AuthFailure"* ]]
	mv "$HOME/.aws/credentials" "$HOME/elsewhere"
	AWS_SHARED_CREDENTIALS_FILE=$HOME/elsewhere run timeout 20 dm-driver-amazonec2 precreate-check <<<"$(host_json c4)"
	[ "$status" -eq 0 ]
	# the newest Canonical LTS amd64 image of the region (not the non-LTS, arm64 or foreign one)
	AWS_SHARED_CREDENTIALS_FILE=$HOME/elsewhere run timeout 20 dm-driver-amazonec2 precreate-check <<<"$(host_json c5)"
	ami=$(jq -sr 'map(select(.Driver))[0].Driver.AMI' <<<"$output")
	fake GET /_state | jq -e --arg a "$ami" '.seeded.image | index($a) != null'
}

@test "429 with Retry-After and 500 are retried" {
	fake POST /_fault '{"match": "DescribeAccountAttributes", "kind": "429", "retry_after": 1}'
	fake POST /_fault '{"match": "DescribeImages", "kind": "500", "times": 2}'
	local t0=$SECONDS
	run timeout 30 dm-driver-amazonec2 precreate-check <<<"$(host_json r1)"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(ops | grep -c '^DescribeAccountAttributes$')" -eq 2 ]
	[ "$(ops | grep -c '^DescribeImages$')" -eq 3 ]
	[ $((SECONDS - t0)) -ge 1 ]
}

# create with a failure injected at request N (before the handler runs, or
# after it: the resource exists but its reply is lost): nothing is left
@test "create: a failure at every step leaves zero resources" {
	local n fired
	for n in $(seq 0 11); do
		fake POST /_reset >/dev/null
		fake POST /_fault "$(jq -nc --argjson n "$n" --arg b "$FAULT_BODY" \
			'{match: "*", after: $n, kind: "error", status: 400, body: $b}')" >/dev/null
		run dm create -d amazonec2 "f$n"
		echo "step $n: $output"
		fired=$(fake GET /_faults | jq '.faults[0].fired')
		[ "$fired" -eq 1 ]
		[ "$status" -ne 0 ]
		[[ "$output" == *"InjectedFault: injected by the test"* ]]
		zero_left
		[ ! -e "$MACHINE_STORAGE_PATH/machines/f$n" ]
	done
	for op in ImportKeyPair CreateSecurityGroup AuthorizeSecurityGroupIngress RunInstances; do
		fake POST /_reset >/dev/null
		fake POST /_fault "$(jq -nc --arg op "$op" --arg b "$FAULT_BODY" \
			'{match: $op, kind: "error", status: 400, body: $b, phase: "after"}')" >/dev/null
		run dm create -d amazonec2 "a-$op"
		echo "after $op: $output"
		[ "$status" -ne 0 ]
		zero_left
	done
}

@test "create (spot): a lost RequestSpotInstances reply leaves zero resources" {
	fake POST /_fault "$(jq -nc --arg b "$FAULT_BODY" \
		'{match: "RequestSpotInstances", kind: "error", status: 400, body: $b, phase: "after"}')" >/dev/null
	run dm create -d amazonec2 --amazonec2-request-spot-instance --amazonec2-spot-price 0.10 spot1
	echo "$output"
	[ "$status" -ne 0 ]
	zero_left
}

@test "kill -9 of dm-create at each step, then rm -f: zero resources" {
	local op phase pid
	for step in ImportKeyPair:after CreateSecurityGroup:after AuthorizeSecurityGroupIngress:before \
	            RunInstances:before RunInstances:after DescribeInstances:before; do
		op=${step%%:*} phase=${step##*:}
		fake POST /_reset >/dev/null
		fake POST /_fault "$(jq -nc --arg op "$op" --arg p "$phase" \
			'{match: $op, kind: "hang", seconds: 3, phase: $p}')" >/dev/null
		timeout -k 5 60 docker-machine create -d amazonec2 "k9" >"$BATS_TEST_TMPDIR/k9.out" 2>&1 3>&- &
		pid=$!
		for _ in $(seq 200); do
			[ "$(fake GET /_faults | jq '.faults[0].fired')" = 1 ] && break
			sleep 0.05
		done
		[ "$(fake GET /_faults | jq '.faults[0].fired')" = 1 ]
		killtree "$pid"
		wait "$pid" 2>/dev/null || true
		run dm rm -f k9
		echo "$step: $(cat "$BATS_TEST_TMPDIR/k9.out") / rm: $output"
		zero_left
		[ ! -e "$MACHINE_STORAGE_PATH/machines/k9" ]
	done
}

# 100 instances made with one RunInstances, their machines written to the store
make_hundred() {
	local out
	fake POST /_config '{"boot_ms": 0}' >/dev/null
	out=$(python3 "$TOP/tests/fakes/fake_ec2.py" --client "$FAKE/" RunInstances \
		ImageId="$(fake GET /_state | jq -r '.seeded.image[0]')" InstanceType=t3.micro MinCount=100 MaxCount=100)
	python3 - "$MACHINE_STORAGE_PATH" <<-EOF
	import json, os, re, sys
	store = sys.argv[1]
	ids = re.findall(r"<item><instanceId>(i-[0-9a-f]+)</instanceId>", """$out""")
	for n, iid in enumerate(ids):
	    name = "h%03d" % n
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
	print(len(ids))
	EOF
}

@test "ls of 100 machines: one DescribeInstances (at most 3 requests)" {
	run make_hundred
	[ "$output" = 100 ]
	sleep 0.2    # the fake's ticker: pending -> running
	local since
	since=$(fake GET /_log | jq length)
	run dm ls
	echo "$output" | head -5
	[ "$status" -eq 0 ]
	[ "$(grep -c ' amazonec2 ' <<<"$output")" -eq 100 ]
	[ "$(grep -c 'Running' <<<"$output")" -eq 100 ]
	[ "$(ops "$since" | wc -l)" -le 3 ]
	[ "$(ops "$since" | sort -u)" = DescribeInstances ]
}

@test "state of machines whose instances are gone: an error each, the others answered" {
	run make_hundred
	[ "$output" = 100 ]
	sleep 0.2
	run timeout 20 dm-driver-amazonec2 state < <(
		for n in h000 h001; do jq -c . "$MACHINE_STORAGE_PATH/machines/$n/config.json"; done
		echo '{"Name":"gone","Driver":{"InstanceId":"i-00000000deadbeef0","Region":"us-east-1"}}')
	echo "$output"
	[ "$(jq -sr 'map(select(.State=="Running"))|length' <<<"$output")" -eq 2 ]
	jq -se 'map(select(.Name=="gone"))[0].Error | test("does not exist")' <<<"$output"
}

@test "lifecycle on a test-bed host: create, ls, status, env, docker, stop, start, restart, kill, rm" {
	tb_setup    # the test bed's store ($STORE)
	fake POST /_config "$(jq -nc --arg ip "$TB_IP1" '{ips: [$ip]}')" >/dev/null
	DM_TIMEOUT=240 run dm create -d amazonec2 --amazonec2-ssh-user root --amazonec2-tags team,qa life
	echo "$output"
	[ "$status" -eq 0 ]
	fake GET /_state | jq -e '.resources.instance[0].Tags | map(select(.Key=="team" and .Value=="qa")) | length == 1'
	fake GET /_state | jq -e '.resources["security-group"][0].IpPermissions | map(.FromPort) | sort == [22, 2376]'
	run dm ls --format '{{.Name}} {{.State}} {{.URL}}'
	[ "$output" = "life Running tcp://$TB_IP1:2376" ]
	run dm status life
	[ "$output" = Running ]
	run dm env life
	[[ "$output" == *"export DOCKER_HOST=\"tcp://$TB_IP1:2376\""* ]]
	if command -v docker >/dev/null; then
		eval "$(dm env life)"
		run timeout 30 docker info --format '{{.ServerVersion}}'
		[ "$status" -eq 0 ]
	fi
	run dm stop life
	[ "$status" -eq 0 ]
	run dm status life
	[ "$output" = Stopped ]
	run dm start life
	[ "$status" -eq 0 ]
	run dm status life
	[ "$output" = Running ]
	run dm restart life
	[ "$status" -eq 0 ]
	run dm kill life
	[ "$status" -eq 0 ]
	run dm status life
	[ "$output" = Stopped ]
	run dm rm -y life
	[ "$status" -eq 0 ]
	zero_left
}

@test "create: every flag reaches EC2 (private address, user data, profile, monitoring, EBS, ports, tags, zone, swarm)" {
	local h st
	printf '#cloud-config\nruncmd: [touch /tmp/hello]\n' > "$BATS_TEST_TMPDIR/ud"
	h=$(drive p1 "$(jq -nc --arg ud "$BATS_TEST_TMPDIR/ud" '{"amazonec2-private-address-only": true,
		"amazonec2-userdata": $ud, "amazonec2-iam-instance-profile": "prof", "amazonec2-monitoring": true,
		"amazonec2-use-ebs-optimized-instance": true, "amazonec2-open-port": ["8080", "53/udp"],
		"amazonec2-tags": "team,qa,env,test", "amazonec2-root-size": 30, "amazonec2-volume-type": "gp3",
		"amazonec2-instance-type": "t3.micro", "amazonec2-zone": "b"}')" \
		'{"HostOptions": {"SwarmOptions": {"Master": true}}}')
	st=$(fake GET /_state)
	jq -e '.resources.instance[0] | .AvailabilityZone == "us-east-1b" and .PublicIpAddress == null
		and ._profile == "prof" and ._monitoring == true and ._ebsopt == true and .InstanceType == "t3.micro"
		and ._volume.VolumeSize == 30 and ._volume.VolumeType == "gp3" and ._volume.DeleteOnTermination == true' <<<"$st"
	[ "$(jq -r '.resources.instance[0]._userdata' <<<"$st" | base64 -d)" = "$(cat "$BATS_TEST_TMPDIR/ud")" ]
	jq -e '.resources.instance[0].Tags | map({key: .Key, value: .Value}) | from_entries
		== {"Name": "p1", "docker-machine-name": "p1", "team": "qa", "env": "test"}' <<<"$st"
	jq -e '.resources["security-group"][0].IpPermissions | map("\(.FromPort)/\(.IpProtocol)") | sort == ["22/tcp", "2376/tcp", "3376/tcp", "53/udp", "8080/tcp"]' <<<"$st"
	jq -e '.resources["security-group"][0].Tags | map({key: .Key, value: .Value}) | from_entries | .["docker-machine-managed"] == "true"' <<<"$st"
	jq -e '.resources.keypair[0].KeyType == "ed25519"' <<<"$st"
	jq -e '.Driver | (.IPAddress | startswith("172.31.")) and .IPAddress == .PrivateIPAddress and (.InstanceId | startswith("i-"))' <<<"$h"
	run timeout 10 dm-driver-amazonec2 ssh-info <<<"$h"
	jq -e --arg ip "$(jq -r .Driver.IPAddress <<<"$h")" '.SSH.Host == $ip and .SSH.User == "ubuntu" and (.SSH.KeyPath | endswith("/p1/id_ed25519"))' <<<"$output"
	[ "$(stat -c %a "$MACHINE_STORAGE_PATH/machines/p1/id_ed25519")" = 600 ]
	run timeout 30 dm-driver-amazonec2 remove <<<"$h"
	echo "$output"
	[ "$status" -eq 0 ]
	zero_left
}

@test "security group: shared by two machines, deleted with the last; a user's group is never deleted" {
	local h1 h2
	h1=$(drive s1 '{}')
	h2=$(drive s2 '{}')
	[ "$(jq -r '.Driver.SecurityGroupIds[0]' <<<"$h1")" = "$(jq -r '.Driver.SecurityGroupIds[0]' <<<"$h2")" ]
	run timeout 30 dm-driver-amazonec2 remove <<<"$h1"
	[ "$status" -eq 0 ]
	[[ "$output" == *"still used by 1 instance(s): kept"* ]]
	[ "$(fake GET /_state | jq '.resources["security-group"] | length')" -eq 1 ]
	run timeout 30 dm-driver-amazonec2 remove <<<"$h2"
	[ "$status" -eq 0 ]
	zero_left
	# a group the user made (no dm tag) is used and left alone
	vpc=$(jq -r .Driver.VpcId <<<"$h1")
	ec2 CreateSecurityGroup GroupName=mine2 GroupDescription=mine VpcId="$vpc" >/dev/null
	h1=$(drive s3 '{"amazonec2-security-group": ["mine2"]}')
	run timeout 30 dm-driver-amazonec2 remove <<<"$h1"
	[ "$status" -eq 0 ]
	fake GET /_state | jq -e '.resources["security-group"] | map(.GroupName) | index("mine2") != null'
	for _ in $(seq 40); do [ "$(live)" = 1 ] && break; sleep 0.05; done
	fake GET /_state | jq -e '.count == 1'
}

@test "spot instance: request, tags on the instance, remove cancels and terminates" {
	local h
	h=$(drive sp1 '{"amazonec2-request-spot-instance": true, "amazonec2-spot-price": "0.12", "amazonec2-tags": "a,b"}')
	jq -e '.Driver | (.SpotInstanceRequestId | startswith("sir-")) and (.InstanceId | startswith("i-"))' <<<"$h"
	fake GET /_state | jq -e '.resources.instance[0].Tags | map(.Key + "=" + .Value) | sort == ["Name=sp1", "a=b", "docker-machine-name=sp1"]'
	fake GET /_state | jq -e '.resources["spot-request"][0].SpotPrice == "0.12"'
	run timeout 30 dm-driver-amazonec2 remove <<<"$h"
	echo "$output"
	[ "$status" -eq 0 ]
	zero_left
}

@test "existing key pair (--amazonec2-keypair-name): used, copied, never deleted" {
	local h
	ssh-keygen -q -t ed25519 -N '' -f "$BATS_TEST_TMPDIR/mykey" </dev/null
	ec2 ImportKeyPair KeyName=mykey "PublicKeyMaterial=$(base64 -w0 < "$BATS_TEST_TMPDIR/mykey.pub")" >/dev/null
	h=$(drive e1 "$(jq -nc --arg k "$BATS_TEST_TMPDIR/mykey" '{"amazonec2-keypair-name": "mykey", "amazonec2-ssh-keypath": $k}')")
	jq -e '.Driver | .ExistingKey == true and .KeyName == "mykey" and (.SSHKeyPath | endswith("/e1/id_rsa"))' <<<"$h"
	cmp "$BATS_TEST_TMPDIR/mykey" "$MACHINE_STORAGE_PATH/machines/e1/id_rsa"
	fake GET /_state | jq -e '.resources.instance[0].KeyName == "mykey"'
	run timeout 30 dm-driver-amazonec2 remove <<<"$h"
	[ "$status" -eq 0 ]
	for _ in $(seq 40); do [ "$(live)" = 1 ] && break; sleep 0.05; done
	fake GET /_state | jq -e '.count == 1 and .resources.keypair[0].KeyName == "mykey"'
}

@test "power verbs: stop, start, restart, kill through the driver; states mapped" {
	local h
	h=$(drive pw1 '{}')
	run timeout 20 dm-driver-amazonec2 state <<<"$h"
	jq -e '.State == "Running" and (.URL | test("^tcp://127\\.1\\.0\\.[0-9]+:2376$"))' <<<"$output"
	for v in stop start restart kill; do
		run timeout 30 dm-driver-amazonec2 "$v" <<<"$h"
		echo "$v: $output"
		[ "$status" -eq 0 ]
	done
	run timeout 20 dm-driver-amazonec2 state <<<"$h"
	jq -e '.State == "Stopped"' <<<"$output"
	run timeout 20 dm-driver-amazonec2 url <<<"$h"
	[ "$status" -eq 1 ]
	jq -e '.Error == "Host is not running"' <<<"$output"
	run timeout 30 dm-driver-amazonec2 remove <<<"$h"
	[ "$status" -eq 0 ]
	run timeout 20 dm-driver-amazonec2 state <<<"$h"
	jq -e '.State == "Stopping" or .State == "Error"' <<<"$output"
	zero_left
	run timeout 20 dm-driver-amazonec2 state <<<"$h"
	jq -e '.State == "Error"' <<<"$output"
}

@test "retried creates (reply lost with a 500 after the resource exists) make each resource once" {
	local h op
	for op in ImportKeyPair CreateSecurityGroup RunInstances; do
		fake POST /_fault "$(jq -nc --arg op "$op" '{match: $op, kind: "500", phase: "after"}')" >/dev/null
	done
	h=$(drive rt1 '{}')
	fake GET /_faults | jq -e '.faults | map(.fired) == [1, 1, 1]'
	fake GET /_state | jq -e '.resources | (.instance | length) == 1 and (.keypair | length) == 1
		and (.["security-group"] | length) == 1'
	jq -e '.Driver | (.KeyPairId | startswith("key-")) and (.SecurityGroupIds | length) == 1' <<<"$h"
	run timeout 30 dm-driver-amazonec2 remove <<<"$h"
	[ "$status" -eq 0 ]
	zero_left
}
