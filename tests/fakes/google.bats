#!/usr/bin/env bats
# tests/fakes/google.bats - dm-driver-google against the fake GCE API
# (tests/fakes/fake_gce.py): OAuth2 service-account JWT, pre-create checks,
# the lifecycle, a failure injected at every API step of create, kill -9 in
# the middle of create, retries, leftovers found by label, ls of 100 machines.
# Needs python3, openssl, curl, jq.  The end-to-end test (create -> provision
# -> env -> docker info) needs the nspawn test bed and skips loudly without it.

load ../integration/testbed/testbed

T=${GCE_TIMEOUT:-40}

api() { curl -sf --max-time 10 "$@"; }
ctl() { api -X POST -H 'Content-Type: application/json' -d "$2" "$FAKE/$1" >/dev/null; }
# instances + disks (the shared firewall rule is counted apart)
live() { api "$FAKE/_state" | jq '[.resources.instance // [], .resources.disk // []] | map(length) | add'; }
nlog() { api "$FAKE/_log" | jq length; }

setup_file() {
	W=$BATS_FILE_TMPDIR
	TOP=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
	export TOP W
	tb_setup_file 1
	export PATH="$TOP/bin:$TOP/drivers:$PATH" DM_LIBEXECDIR="$TOP/bin:$TOP/drivers"
	for k in sa wrong; do
		openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$W/$k.pem" 2>/dev/null
		jq -n --rawfile pk "$W/$k.pem" '{type:"service_account", project_id:"dm-test", private_key_id:"k1",
			private_key:$pk, client_email:"dm@dm-test.iam.gserviceaccount.com",
			token_uri:"https://oauth2.googleapis.com/token"}' > "$W/$k.json"
	done
	# the test bed's guest agent: install ssh-keys metadata lines (user:key) on a test-bed host
	cat > "$W/authorize.sh" <<EOF
#!/bin/sh
ip=\$1
grep -q " \$ip\$" "$TB_ST/hosts" 2>/dev/null || { cat >/dev/null; exit 0; }
while IFS= read -r line; do
	u=\${line%%:*} k=\${line#*:}
	timeout 30 ssh -i "$TB_ST/id_ed25519" -o UserKnownHostsFile="$TB_ST/known_hosts" -o BatchMode=yes \\
		root@\$ip "id \$u >/dev/null 2>&1 || useradd -m -s /bin/bash \$u
		echo '\$u ALL=(ALL) NOPASSWD:ALL' > /etc/sudoers.d/90-\$u
		install -d -m 700 -o \$u -g \$u /home/\$u/.ssh
		echo '\$k' > /home/\$u/.ssh/authorized_keys
		chown \$u: /home/\$u/.ssh/authorized_keys; chmod 600 /home/\$u/.ssh/authorized_keys" </dev/null
done
EOF
	chmod +x "$W/authorize.sh"
	FAKE_GCE_SA_KEY=$W/sa.json FAKECLOUD_AUTHORIZE=$W/authorize.sh \
		python3 "$TOP/tests/fakes/fake_gce.py" --port-file "$W/port" --lifetime 300 \
		>"$W/fake.out" 2>"$W/fake.err" 3>&- &
	echo $! > "$W/fake.pid"
	for _ in $(seq 50); do [ -s "$W/port" ] && break; sleep 0.1; done
	[ -s "$W/port" ]
}

teardown_file() {
	[ -s "$W/fake.pid" ] && kill "$(cat "$W/fake.pid")" 2>/dev/null
	tb_teardown_file
}

setup() {
	FAKE=http://127.0.0.1:$(cat "$W/port")
	export FAKE
	export MACHINE_STORAGE_PATH=$BATS_TEST_TMPDIR/store HOME=$BATS_TEST_TMPDIR/home LC_ALL=C
	mkdir -p "$HOME" "$MACHINE_STORAGE_PATH"
	export GOOGLE_APPLICATION_CREDENTIALS=$W/sa.json GOOGLE_COMPUTE_ENDPOINT=$FAKE/compute/v1/
	export GOOGLE_OAUTH_TOKEN_URI=$FAKE/token DM_GOOGLE_POLL_MS=20 DM_HTTP_BACKOFF_MS=10
	export MACHINE_SSH_WAIT_TIMEOUT=1 GOOGLE_PROJECT=dm-test
	unset CLOUDSDK_CONFIG GOOGLE_AUTH_TOKEN DOCKER_HOST DOCKER_TLS_VERIFY DOCKER_CERT_PATH
	ctl _reset '{}'
	# nothing listens on 127.1.0.1:22, so provisioning fails fast unless a test bed IP is used
	ctl _config '{"static_tokens":["ya29.seed"], "op_polls":1, "op_seconds":3, "ips":["127.1.0.1"]}'
}

dm() { timeout -k 5 "$T" docker-machine "$@"; }

@test "describe: every 0.16.2 flag with its default and env var; project required; token secret" {
	run dm-driver-google describe
	[ "$status" -eq 0 ]
	for f in address disk-size disk-type machine-image machine-type network open-port preemptible project \
		scopes service-account subnetwork tags use-existing use-internal-ip use-internal-ip-only username zone; do
		echo "$output" | jq -e --arg n "google-$f" '.Flags[] | select(.Name == $n)' >/dev/null
	done
	[ "$(echo "$output" | jq -r '.Flags[] | select(.Name=="google-zone") | .Value')" = us-central1-a ]
	[ "$(echo "$output" | jq -r '.Flags[] | select(.Name=="google-machine-type") | .Value')" = n1-standard-1 ]
	[ "$(echo "$output" | jq -r '.Flags[] | select(.Name=="google-username") | .Value')" = docker-user ]
	[ "$(echo "$output" | jq -r '.Flags[] | select(.Name=="google-machine-image") | .Value')" = \
		projects/ubuntu-os-cloud/global/images/family/ubuntu-2404-lts-amd64 ]
	[ "$(echo "$output" | jq -r '.Flags[] | select(.Name=="google-project") | .EnvVar')" = GOOGLE_PROJECT ]
	[ "$(echo "$output" | jq -r '.Flags[] | select(.Name=="google-auth-token") | .Secret')" = true ]
}

@test "the fake refuses what the discovery document does not allow (so a driver bug shows)" {
	run api -H 'Authorization: Bearer ya29.seed' -H 'Content-Type: application/json' -X POST \
		"$FAKE/compute/v1/projects/dm-test/zones/us-central1-a/instances" \
		-d '{"name":"Bad_Name","status":"RUNNING","disks":[{"boot":"yes","type":"FLOPPY"}]}'
	[ "$status" -ne 0 ]
	api "$FAKE/_violations" | jq -e '.[0].errors | length == 4' >/dev/null
	run api -X POST -H 'Content-Type: application/json' -d '{}' \
		"$FAKE/compute/v1/projects/dm-test/zones/us-central1-a/instances"
	[ "$status" -ne 0 ]     # no token: 401
	ctl _reset '{}'
}

@test "set-config: no project is 0.16.2's error, exit 1, nothing sent" {
	unset GOOGLE_PROJECT
	n0=$(nlog)
	run dm create -d google g1
	[ "$status" -eq 1 ]
	[[ "$output" == *"no Google Cloud Project name specified (--google-project)"* ]]
	[ "$(nlog)" -eq "$n0" ]
	[ ! -e "$MACHINE_STORAGE_PATH/machines/g1" ]
}

@test "pre-create check: the provider's message and exit 3 (project, zone, machine type, image)" {
	while IFS='|' read -r args want; do
		# shellcheck disable=SC2086
		run dm create -d google $args g1
		[ "$status" -eq 3 ] || { echo "$args: status $status: $output"; false; }
		[[ "$output" == *"$want"* ]] || { echo "$args: $output"; false; }
		[ ! -e "$MACHINE_STORAGE_PATH/machines/g1" ]
	done <<'EOF'
--google-project nope|Error with pre-create check: "Project with ID "nope" not found. googleapi: Error 404: The resource 'projects/nope' was not found, notFound"
--google-zone mars-east1-z|Zone "mars-east1-z" not found. googleapi: Error 404: The resource 'projects/dm-test/zones/mars-east1-z' was not found, notFound
--google-machine-type n9-huge|Machine type "n9-huge" not found. googleapi: Error 404
--google-machine-image ubuntu-os-cloud/global/images/ubuntu-1604-xenial-v20170721|Image "ubuntu-os-cloud/global/images/ubuntu-1604-xenial-v20170721" not found. googleapi: Error 404
EOF
	[ "$(live)" -eq 0 ]
	[ "$(api "$FAKE/_violations")" = "[]" ]
}

@test "pre-create check: an instance of that name exists -> exit 3" {
	python3 "$TOP/tests/fakes/gce_seed.py" --api "$FAKE" --store "$BATS_TEST_TMPDIR/other" --prefix g --count 1
	run dm create -d google g1
	[ "$status" -eq 3 ]
	[[ "$output" == *"Instance g1 already exists."* ]]
	[ "$(live)" -eq 2 ]     # the existing one is untouched
}

@test "credentials: a key the token endpoint rejects, no credentials, a bad static token -> exit 3" {
	GOOGLE_APPLICATION_CREDENTIALS=$W/wrong.json run dm create -d google g1
	[ "$status" -eq 3 ]
	[[ "$output" == *"oauth2: cannot fetch token: HTTP 400: invalid_grant: Invalid JWT Signature."* ]]

	unset GOOGLE_APPLICATION_CREDENTIALS
	run dm create -d google g1
	[ "$status" -eq 3 ]
	[[ "$output" == *"google: could not find default credentials. See https://developers.google.com/accounts/docs/application-default-credentials for more information."* ]]

	run dm create -d google --google-auth-token ya29.bogus g1
	[ "$status" -eq 3 ]
	[[ "$output" == *"googleapi: Error 401: Request had invalid authentication credentials."* ]]
	[[ "$output" == *", authError"* ]]
	[ ! -e "$MACHINE_STORAGE_PATH/machines/g1" ]
}

@test "credentials: authorized_user (gcloud ADC file) and a static token pass the pre-create check" {
	unset GOOGLE_APPLICATION_CREDENTIALS
	mkdir -p "$HOME/.config/gcloud"
	echo '{"type":"authorized_user","client_id":"cid","client_secret":"cs","refresh_token":"1//rt"}' \
		> "$HOME/.config/gcloud/application_default_credentials.json"
	ctl _config '{"refresh_tokens":[{"client_id":"cid","client_secret":"cs","refresh_token":"1//rt"}]}'
	run timeout 20 dm-driver-google precreate-check <<<'{"Name":"g1","Driver":{"MachineName":"g1"},"Flags":{"google-project":"dm-test"}}'
	[ "$status" -eq 0 ]
	[[ "$output" == *'"OK":true'* ]]
	api "$FAKE/_log" | jq -e 'map(select(.path=="/token" and .status==200)) | length == 1' >/dev/null

	run timeout 20 dm-driver-google precreate-check <<<'{"Name":"g1","Driver":{"MachineName":"g1"},"Flags":{"google-project":"dm-test","google-auth-token":"ya29.seed"}}'
	[ "$status" -eq 0 ]
	api "$FAKE/_log" | jq -e 'map(select(.path=="/token")) | length == 1' >/dev/null   # no new exchange
}

@test "create: what the API receives (spec-checked insert, labels, ssh-keys, firewall ports)" {
	run dm create -d google --google-open-port 8080/tcp --google-open-port 53/udp --google-tags a,b \
		--google-preemptible --swarm --swarm-master --swarm-discovery token://x g1
	# provisioning fails (nothing on 127.1.0.1:22): the rollback removed everything
	[ "$status" -ne 0 ]
	[ "$(live)" -eq 0 ]
	[ ! -e "$MACHINE_STORAGE_PATH/machines/g1" ]
	[ "$(api "$FAKE/_violations")" = "[]" ]
	api "$FAKE/_state" | jq -e '.resources.firewall[0] | .targetTags == ["docker-machine"] and
		(.allowed | map({(.IPProtocol): .ports}) | add) == {tcp: ["2376","3376","8080"], udp: ["53"]}' >/dev/null
	api "$FAKE/_log" | jq -e '[.[] | select(.method=="POST" and (.path|endswith("/zones/us-central1-a/instances")))] | length == 1' >/dev/null
}

@test "create: the instance body (disk, NAT, labels, ssh-keys) as the fake stored it" {
	# look at the instance while create waits on its operation (the create then fails and rolls back)
	ctl _fault '{"match":"GET /compute/v1/projects/*/zones/*/operations/*","kind":"hang","seconds":2}'
	timeout 30 docker-machine create -d google --google-tags a,b --google-preemptible g1 >/dev/null 2>&1 3>&- &
	pid=$!
	for _ in $(seq 100); do
		api "$FAKE/_state" | jq -e '.resources.instance | length == 1' >/dev/null 2>&1 && break
		sleep 0.1
	done
	inst=$(api "$FAKE/_state" | jq -c '.resources.instance[0]')
	wait "$pid" || true
	echo "$inst" | jq -e '.name == "g1" and .labels == {"dm-machine":"g1"} and
		.disks[0].boot and .disks[0].source == (.zone + "/disks/g1-disk") and
		.networkInterfaces[0].accessConfigs[0].type == "ONE_TO_ONE_NAT" and
		.tags.items == ["docker-machine","a","b"] and .scheduling.preemptible == true and
		(.metadata.items[0].key == "ssh-keys") and
		(.metadata.items[0].value | test("^docker-user:ssh-rsa [A-Za-z0-9+/=]+ docker-user$"))' >/dev/null
	[ "$(live)" -eq 0 ]
}

@test "create: a failure injected at every API step leaves nothing at the provider" {
	run dm create -d google g0
	[ "$status" -ne 0 ]
	# the compute requests of create itself: everything before provisioning's first
	# state query (aggregated list) or the rollback's first DELETE
	steps=$(api "$FAKE/_log" | jq '[.[] | select(.path != "/token")] |
		(map(.method == "DELETE" or (.path | test("/aggregated/"))) | index(true)) // length')
	[ "$steps" -ge 8 ]
	for n in $(seq 0 $((steps - 1))); do
		ctl _reset '{}'
		ctl _config '{"ips":["127.1.0.1"]}'
		ctl _fault "{\"match\":\"* /compute/v1/*\",\"after\":$n,\"kind\":\"error\",\"status\":403,
			\"body\":{\"error\":{\"code\":403,\"message\":\"injected at step $n\",\"errors\":[{\"reason\":\"forbidden\"}]}}}"
		run dm create -d google "s$n"
		[ "$status" -ne 0 ] || { echo "step $n: create succeeded"; false; }
		[[ "$output" == *"injected at step $n"* ]] || { echo "step $n: $output"; false; }
		[ "$(live)" -eq 0 ] || { echo "step $n: leftovers"; api "$FAKE/_state"; false; }
		[ ! -e "$MACHINE_STORAGE_PATH/machines/s$n" ]
	done
	# an operation that ends DONE with an error (quota) is a failure too
	ctl _reset '{}'
	ctl _config '{"op_fail":{"type":"insert","code":"QUOTA_EXCEEDED","message":"Quota CPUS exceeded."}}'
	run dm create -d google q1
	[ "$status" -ne 0 ]
	[[ "$output" == *"Operation error: {QUOTA_EXCEEDED  Quota CPUS exceeded.}"* ]]
	[ "$(live)" -eq 0 ]
}

# every pid of the tree under $1 (itself first)
tree() { echo "$1"; for c in $(pgrep -P "$1"); do tree "$c"; done; }

@test "kill -9 of dm-create mid-create, then rm -f, leaves nothing" {
	for m in "POST /compute/v1/projects/*/global/firewalls|before" \
		"POST /compute/v1/projects/*/zones/*/instances|after" \
		"GET /compute/v1/projects/*/zones/*/operations/*|before"; do
		ctl _reset '{}'
		ctl _config '{"ips":["127.1.0.1"]}'
		ctl _fault "{\"match\":\"${m%|*}\",\"kind\":\"hang\",\"seconds\":3,\"phase\":\"${m#*|}\"}"
		docker-machine create -d google k1 >/dev/null 2>&1 3>&- &
		pid=$!
		for _ in $(seq 150); do
			api "$FAKE/_log" | jq -e 'map(select(.fault=="hang")) | length == 1' >/dev/null && break
			sleep 0.1
		done
		api "$FAKE/_log" | jq -e 'map(select(.fault=="hang")) | length == 1' >/dev/null
		# the whole tree at once (a short-lived child may be gone already)
		# shellcheck disable=SC2046
		kill -9 $(tree "$pid") 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		! kill -0 "$pid" 2>/dev/null
		run dm rm -f k1
		[ "$status" -eq 0 ] || { echo "$m: $output"; false; }
		[ "$(live)" -eq 0 ] || { echo "$m: leftovers"; api "$FAKE/_state"; false; }
		[ ! -e "$MACHINE_STORAGE_PATH/machines/k1" ]
	done
}

@test "lifecycle: ls, status, stop, start, restart, kill, rm (store entries made through the API)" {
	python3 "$TOP/tests/fakes/gce_seed.py" --api "$FAKE" --store "$MACHINE_STORAGE_PATH" --prefix l --count 2
	run dm ls --format '{{.Name}} {{.DriverName}} {{.State}} {{.URL}}'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "l1 google Running tcp://127.1.0.1:2376" ]
	[ "${lines[1]}" = "l2 google Running tcp://127.1.0.1:2376" ]
	run dm status l1
	[ "$output" = Running ]
	run dm stop l1
	[ "$status" -eq 0 ]
	run dm status l1
	[ "$output" = Stopped ]
	run dm start l1
	[ "$status" -eq 0 ]
	run dm status l1
	[ "$output" = Running ]
	run dm restart l1
	[ "$status" -eq 0 ]
	run dm kill l1
	[ "$status" -eq 0 ]
	run dm status l1
	[ "$output" = Stopped ]
	run dm ip l2
	[ "$output" = 127.1.0.1 ]
	api "$FAKE/_log" | jq -e 'map(select(.path|test("/instances/l1/(stop|start|reset)$"))) | map(.path|split("/")|last) == ["stop","start","reset","stop"]' >/dev/null
	run dm rm -y l1 l2
	[ "$status" -eq 0 ]
	[ "$(live)" -eq 0 ]
	[ "$(api "$FAKE/_violations")" = "[]" ]
}

@test "rm: leftovers labelled with the machine name are deleted; a missing instance is fine" {
	python3 "$TOP/tests/fakes/gce_seed.py" --api "$FAKE" --store "$MACHINE_STORAGE_PATH" --prefix x --count 1
	# a stray instance and disk of x1 under other names (an interrupted create of an older layout)
	api -X POST -H 'Authorization: Bearer ya29.seed' -H 'Content-Type: application/json' \
		"$FAKE/compute/v1/projects/dm-test/zones/us-central1-a/instances" -d '{"name":"x1-stray",
		"machineType":"zones/us-central1-a/machineTypes/e2-small","labels":{"dm-machine":"x1"},
		"disks":[{"boot":true,"autoDelete":false,"initializeParams":{"diskName":"x1-stray-disk","labels":{"dm-machine":"x1"}}}],
		"networkInterfaces":[{"network":"global/networks/default"}]}' >/dev/null
	[ "$(live)" -eq 4 ]
	run dm rm -y x1
	[ "$status" -eq 0 ]
	[[ "$output" == *"Deleting leftover instance x1-stray"* ]]
	api "$FAKE/_log" | jq -e 'map(select(.method=="DELETE") | .path | split("/") | last) |
		. == ["x1","x1-disk","x1-stray","x1-stray-disk"]' >/dev/null
	[ "$(live)" -eq 0 ]
	# rm of a machine whose instance is already gone
	python3 "$TOP/tests/fakes/gce_seed.py" --api "$FAKE" --store "$MACHINE_STORAGE_PATH" --prefix y --count 1
	api -X DELETE -H 'Authorization: Bearer ya29.seed' "$FAKE/compute/v1/projects/dm-test/zones/us-central1-a/instances/y1" >/dev/null
	sleep 3.2   # the delete operation lands
	run dm rm -y y1
	[ "$status" -eq 0 ]
	[ "$(live)" -eq 0 ]
}

@test "retries: 429 with Retry-After and 500 are retried" {
	python3 "$TOP/tests/fakes/gce_seed.py" --api "$FAKE" --store "$MACHINE_STORAGE_PATH" --prefix r --count 1
	ctl _fault '[{"match":"GET /compute/v1/projects/*/aggregated/instances","kind":"429","retry_after":1},
		{"match":"GET /compute/v1/projects/*/aggregated/instances","kind":"500"}]'
	n0=$(nlog)
	start=$(date +%s%N)
	run dm ls --format '{{.Name}} {{.State}}'
	[ "$status" -eq 0 ]
	[ "$output" = "r1 Running" ]
	[ $(( ($(date +%s%N) - start) / 1000000 )) -ge 1000 ]     # Retry-After: 1 was honoured
	api "$FAKE/_log?since=$n0" | jq -e 'map(select(.path|endswith("/aggregated/instances")) | .status) == [429,500,200]' >/dev/null
}

@test "ls of 100 google machines: at most 3 API requests (token + one aggregated list)" {
	python3 "$TOP/tests/fakes/gce_seed.py" --api "$FAKE" --store "$MACHINE_STORAGE_PATH" --prefix m --count 100
	n0=$(nlog)
	run dm ls --format '{{.Name}} {{.State}}'
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 100 ]
	[ "$(printf '%s\n' "${lines[@]}" | grep -c ' Running$')" -eq 100 ]
	n=$(( $(nlog) - n0 ))
	echo "requests: $n"
	[ "$n" -le 3 ]
}

@test "end to end: create -> provision -> env -> docker info through the fake cloud (test bed)" {
	[ -z "${TB_SKIP:-}" ] || skip "$TB_SKIP"
	ctl _config "{\"ips\":[\"$TB_IP1\"]}"
	export MACHINE_SSH_WAIT_TIMEOUT=60
	run timeout -k 5 150 docker-machine create -d google e2e
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	run dm url e2e
	[ "$output" = "tcp://$TB_IP1:2376" ]
	run dm env e2e
	[ "$status" -eq 0 ]
	eval "$output"
	run timeout 30 docker info --format '{{.ServerVersion}}'
	[ "$status" -eq 0 ]
	[ -n "$output" ]
	run dm rm -y e2e
	[ "$status" -eq 0 ]
	[ "$(live)" -eq 0 ]
}
