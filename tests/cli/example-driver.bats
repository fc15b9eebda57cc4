#!/usr/bin/env bats
# examples/dm-driver-example (shell + jq) driven through docker-machine:
# create, ls, status, stop/start, inspect (secret redacted), rm, and the
# pre-create check's exit status 3.  Provisioning is out of the driver's
# scope: a stand-in dm-provision (first on DM_LIBEXECDIR) records its call.

load ../lib/cli

setup_file() { cli_setup_file; }

setup() {
	cli_setup
	command -v jq >/dev/null || skip "jq not installed"
	export FAKE=$BATS_TEST_TMPDIR/libexec PROVISION_LOG=$BATS_TEST_TMPDIR/provision.log
	mkdir -p "$FAKE"
	printf '#!/bin/sh\necho "dm-provision $*" >>"$PROVISION_LOG"\n' >"$FAKE/dm-provision"
	chmod +x "$FAKE/dm-provision"
	export DM_LIBEXECDIR="$FAKE:$TOP/examples:$DM_LIBEXECDIR"
}
teardown() { cli_teardown; }

@test "example driver: describe is one JSON line with the flags" {
	run_prog "$TOP/examples/dm-driver-example" describe
	[ "$status" = 0 ]
	[ "$(printf '%s\n' "$output" | wc -l)" = 1 ]
	[ "$(jq -r '[.Flags[].Name] | join(" ")' <<<"$output")" = "example-url example-ssh-user example-ssh-port example-token" ]
}

@test "example driver: create, ls, status, stop, start, inspect, rm" {
	run_dm create -d example --example-url tcp://127.0.0.1:2399 --example-token s3cret ex1
	[ "$status" = 0 ]
	[[ $output == *"(ex1) Creating the pretend machine ex1..."* ]]
	[ -f "$STORE/machines/ex1/example.state" ]
	grep -q '"ResourceID": *"example-ex1"' "$STORE/machines/ex1/config.json"
	grep -q "dm-provision --create ex1" "$PROVISION_LOG"

	run_dm ls --filter driver=example --format '{{.Name}} {{.DriverName}} {{.State}} {{.URL}}'
	[ "$status" = 0 ]
	[ "$output" = "ex1 example Running tcp://127.0.0.1:2399" ]

	run_dm status ex1
	[ "$output" = Running ]
	run_dm ip ex1
	[ "$output" = 127.0.0.1 ]
	run_dm stop ex1
	[ "$status" = 0 ]
	run_dm status ex1
	[ "$output" = Stopped ]
	run_dm url ex1
	[ "$status" = 1 ]
	run_dm start ex1
	[ "$status" = 0 ]
	run_dm status --json ex1
	[ "$output" = '{"Name":"ex1","State":"Running"}' ]

	run_dm inspect ex1
	[ "$status" = 0 ]
	[[ $output != *s3cret* ]]

	run_dm rm -y ex1
	[ "$status" = 0 ]
	[ ! -e "$STORE/machines/ex1" ]
}

@test "example driver: a failed pre-create check exits 3 and leaves nothing" {
	run_dm create -d example --example-url not-a-url ex2
	[ "$status" = 3 ]
	[[ $stderr == *"--example-url must look like tcp://HOST:PORT"* ]]
	[ ! -e "$STORE/machines/ex2" ]
}

@test "example driver: batch state answers every host by name" {
	run_dm create -d example ex3
	[ "$status" = 0 ]
	run_dm create -d example ex4
	[ "$status" = 0 ]
	run_sh "jq -c . '$STORE/machines/ex3/config.json' '$STORE/machines/ex4/config.json' | '$TOP/examples/dm-driver-example' state | jq -r '\"\\(.Name) \\(.State)\"' | sort"
	[ "$output" = $'ex3 Running\nex4 Running' ]
}
