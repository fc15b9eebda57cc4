#!/usr/bin/env bats
# rm against the phase D transcripts, and names that must never reach rm -rf.

load ../lib/cli

setup_file() { cli_setup_file; }
setup() { cli_setup; }
teardown() { cli_teardown; }

@test "rm baz answered n: nothing removed" {
	store_snapshot "$BATS_TEST_TMPDIR/snap"
	run_dm rm baz <<<n
	expect_transcript rm_interactive_no
	expect_store_unchanged "$BATS_TEST_TMPDIR/snap"
}

@test "rm baz answered y: removed" {
	run_dm rm baz <<<y
	[ "$status" -eq 0 ]
	printf 'About to remove baz\nWARNING: This action will delete both local reference and remote instance.\nAre you sure? (y/n): Successfully removed baz\n' >"$BATS_TEST_TMPDIR/want"
	expect_same "$BATS_TEST_TMPDIR/want" "$DM_OUT"
	[ ! -e "$STORE/machines/baz" ]
}

@test "rm -y foo, then ls" {
	run_dm rm -y foo
	expect_transcript rm_-y_foo
	[ ! -e "$STORE/machines/foo" ]
	run_dm ls
	expect_transcript ls_after_rm
}

@test "rm -f bar qux, then ls" {
	rm -rf "$STORE/machines/foo"
	run_dm rm -f bar qux
	expect_transcript rm_-f_two
	run_dm ls
	expect_transcript ls_after_rm_all
}

@test "rm -y with no names: help and an error" {
	run_dm rm -y
	expect_transcript rm_no_args
}

@test "rm -y nosuch" {
	store_snapshot "$BATS_TEST_TMPDIR/snap"
	run_dm rm -y nosuch
	expect_transcript rm_missing
	expect_store_unchanged "$BATS_TEST_TMPDIR/snap"
}

@test "rm -f of a broken config and a dir without config removes both" {
	cli_add_broken
	run_dm rm -f broken empty
	expect_transcript rm_-f_broken
	[ ! -e "$STORE/machines/broken" ]
	[ ! -e "$STORE/machines/empty" ]
	[ -d "$STORE/machines/foo" ]
}

@test "rm -y foo nosuch: removes foo, fails for nosuch" {
	run_dm rm -y foo nosuch
	[ "$status" -eq 1 ]
	[ ! -e "$STORE/machines/foo" ]
	[[ $stderr == *'Error removing host "nosuch"'* ]]
}

@test "rm: '.', '..' and other invalid names never remove the store" {
	local n
	store_snapshot "$BATS_TEST_TMPDIR/snap"
	for n in '.' '..' '../certs' '∞' 'bad name!' ''; do
		run_dm rm -f -- "$n"
		[ "$status" -ne 0 ]
		[ -n "$stderr" ]
	done
	expect_store_unchanged "$BATS_TEST_TMPDIR/snap"
}

@test "rm -y - reads names from stdin" {
	run_sh 'printf "foo\nbar\n" | docker-machine rm -y -'
	[ "$status" -eq 0 ]
	[ ! -e "$STORE/machines/foo" ]
	[ ! -e "$STORE/machines/bar" ]
	[ -d "$STORE/machines/baz" ]
}

@test "rm -y with ls --json on stdin" {
	run_sh 'docker-machine ls --json --filter name=^b | docker-machine rm -y -'
	[ "$status" -eq 0 ]
	run_dm ls -q
	[ "$output" = "foo
qux" ]
}

@test "rm -y foo on an unwritable store (a file where machines/ should be): exit 1" {
	rm -rf "$STORE/machines"
	: >"$STORE/machines"
	run_dm rm -y foo
	[ "$status" -eq 1 ]
	[ -n "$stderr" ]
	[ -f "$STORE/machines" ]
}
