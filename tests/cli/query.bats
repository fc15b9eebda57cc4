#!/usr/bin/env bats
# url, ip, status, active, version NAME (phase A/D transcripts), --json and
# names from stdin (DESIGN §4).

load ../lib/cli

setup_file() { cli_setup_file; }
setup() { cli_setup; }
teardown() { cli_teardown; }

@test "url foo" {
	run_dm url foo
	expect_transcript url_foo
}

@test "ip foo (none: the URL's host:port)" {
	run_dm ip foo
	expect_transcript ip_foo
}

@test "ip foo bar" {
	run_dm ip foo bar
	expect_transcript ip_foo_bar
}

@test "status foo" {
	run_dm status foo
	expect_transcript status_foo
}

@test "url nosuch" {
	run_dm url nosuch
	expect_transcript url_missing
}

@test "ip nosuch" {
	run_dm ip nosuch
	expect_transcript ip_missing
}

@test "status nosuch" {
	run_dm status nosuch
	expect_transcript status_missing
}

@test "url with no name and no default machine" {
	run_dm url
	expect_transcript url_no_args
}

@test "status with no name and no default machine" {
	run_dm status
	expect_transcript status_no_args
}

@test "url and status use the machine named default" {
	cli_write_machine default "$PORT_QUX"
	run_dm url
	[ "$status" -eq 0 ]
	[ "$output" = "tcp://127.0.0.1:$PORT_QUX" ]
	run_dm status
	[ "$status" -eq 0 ]
	[ "$output" = Running ]
}

@test "active with nothing active" {
	run_dm active
	expect_transcript active_none
}

@test "active with DOCKER_HOST naming foo" {
	DOCKER_HOST=tcp://127.0.0.1:$PORT_FOO run_dm active
	expect_transcript active_dockerhost
}

@test "active with DOCKER_HOST naming no machine" {
	DOCKER_HOST=tcp://127.0.0.1:1 run_dm active
	expect_transcript active_dockerhost_unknown
}

@test "active with an argument" {
	run_dm active foo
	[ "$status" -eq 1 ]
	[ "$stderr" = "Error: Too many arguments given" ]
}

@test "version foo with nothing listening keeps 0.16.2's message" {
	run_dm version foo
	expect_transcript version_foo
}

@test "ip of a broken machine is a clear error" {
	cli_add_broken
	run_dm ip broken
	expect_transcript inspect_broken --exit 1
	run_dm url empty
	expect_transcript inspect_empty_dir --exit 1
}

@test "url, ip, status are read-only" {
	store_snapshot "$BATS_TEST_TMPDIR/snap"
	run_dm url foo
	run_dm ip foo bar
	run_dm status baz
	run_dm active
	expect_store_unchanged "$BATS_TEST_TMPDIR/snap"
}

# ---- --json ----

@test "url --json foo" {
	run_dm url --json foo
	[ "$status" -eq 0 ]
	run jq -r '"\(.Name) \(.URL)"' "$DM_OUT"
	[ "$output" = "foo tcp://127.0.0.1:$PORT_FOO" ]
}

@test "ip --json foo bar: one object per line" {
	run_dm ip --json foo bar
	[ "$status" -eq 0 ]
	[ "$(wc -l <"$DM_OUT")" -eq 2 ]
	run jq -r '"\(.Name) \(.IP)"' "$DM_OUT"
	[ "$output" = "foo 127.0.0.1:$PORT_FOO
bar 127.0.0.1:$PORT_BAR" ]
}

@test "status --json foo" {
	run_dm status --json foo
	[ "$status" -eq 0 ]
	run jq -r '"\(.Name) \(.State)"' "$DM_OUT"
	[ "$output" = "foo Running" ]
}

# ---- names from stdin ----

@test "dm-ls -q | docker-machine status -" {
	run_sh 'dm-ls -q | docker-machine status -'
	[ "$status" -eq 0 ]
	[ "$output" = "Running
Running
Running
Running" ]
}

@test "dm-ls --json --filter name=foo | docker-machine url -" {
	run_sh 'dm-ls --json --filter name=foo | docker-machine url -'
	[ "$status" -eq 0 ]
	[ "$output" = "tcp://127.0.0.1:$PORT_FOO" ]
}

@test "docker-machine ls --json | docker-machine ip -" {
	run_sh 'docker-machine ls --json --filter name=^b | docker-machine ip -'
	[ "$status" -eq 0 ]
	[ "$output" = "127.0.0.1:$PORT_BAR
127.0.0.1:$PORT_BAZ" ]
}

@test "status - with a missing name among good ones fails with the 0.16.2 message" {
	run_sh 'printf "foo\nnosuch\n" | docker-machine status -'
	[ "$status" -eq 1 ]
	[[ $stderr == *'Docker machine "nosuch" does not exist.'* ]]
}

@test "url: invalid names are clear errors" {
	local n
	for n in '∞' '.' '..' 'bad name!'; do
		run_dm url "$n"
		expect_one_line_error
		[ -z "$output" ]
	done
}
