#!/usr/bin/env bats
# start/stop/restart/kill/ssh on the none driver (phase D transcripts).

load ../lib/cli

setup_file() { cli_setup_file; }
setup() { cli_setup; }
teardown() { cli_teardown; }

@test "stop foo: hosts without a driver cannot be stopped" {
	run_dm stop foo
	expect_transcript stop_foo
}

@test "start foo: already running" {
	run_dm start foo
	expect_transcript start_foo
}

@test "kill foo: hosts without a driver cannot be killed" {
	run_dm kill foo
	expect_transcript kill_foo
}

@test "restart foo: hosts without a driver cannot be restarted" {
	run_dm restart foo
	expect_transcript restart_foo
}

@test "stop nosuch" {
	run_dm stop nosuch
	[ "$status" -eq 1 ]
	[[ $stderr == *'Docker machine "nosuch" does not exist.'* ]]
}

@test "stop foo leaves config.json as it was" {
	cp "$STORE/machines/foo/config.json" "$BATS_TEST_TMPDIR/before"
	run_dm stop foo
	expect_same "$BATS_TEST_TMPDIR/before" "$STORE/machines/foo/config.json"
}

@test "ssh foo true on none: an error without the ssh usage dump (DESIGN §8)" {
	run_dm ssh foo true
	[ "$status" -eq 1 ]
	[ -n "$stderr" ]
	[[ $stderr != *"usage: ssh"* ]]
	[ -z "$output" ]
}

@test "ssh nosuch" {
	run_dm ssh nosuch true
	[ "$status" -eq 1 ]
	[[ $stderr == *'Docker machine "nosuch" does not exist.'* ]]
}
