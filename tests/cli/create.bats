#!/usr/bin/env bats
# create with the none driver: transcripts of phases A and D, the store it
# writes (byte-compared with 0.16.2's), and bad input.

load ../lib/cli

setup_file() { cli_setup_file; }
setup() { cli_setup; }
teardown() { cli_teardown; }

# An empty store at $STORE (the golden paths are substituted to it).
empty_store() {
	rm -rf "$STORE"
}

mode() {
	stat -c %a "$1"
}

@test "create foo in an empty store: CA and client cert messages" {
	empty_store
	run_dm create -d none --url "tcp://127.0.0.1:$PORT_FOO" foo
	expect_transcript create_foo_first
}

@test "create writes config.json byte-identical to 0.16.2's" {
	empty_store
	run_dm create -d none --url "tcp://127.0.0.1:$PORT_FOO" foo
	[ "$status" -eq 0 ]
	cli_golden_config foo "$PORT_FOO" >"$BATS_TEST_TMPDIR/want"
	expect_same "$BATS_TEST_TMPDIR/want" "$STORE/machines/foo/config.json"
}

@test "create writes the store with 0.16.2's modes" {
	empty_store
	run_dm create -d none --url "tcp://127.0.0.1:$PORT_FOO" foo
	[ "$status" -eq 0 ]
	[ "$(mode "$STORE")" = 700 ]
	[ "$(mode "$STORE/certs")" = 700 ]
	[ "$(mode "$STORE/machines")" = 700 ]
	[ "$(mode "$STORE/machines/foo")" = 700 ]
	[ "$(mode "$STORE/machines/foo/config.json")" = 600 ]
	[ "$(mode "$STORE/certs/ca-key.pem")" = 600 ]
	[ "$(mode "$STORE/certs/key.pem")" = 600 ]
	[ "$(mode "$STORE/certs/ca.pem")" = 644 ]
	[ "$(mode "$STORE/certs/cert.pem")" = 644 ]
	# no temp files left behind
	run find "$STORE" -name '*.tmp*'
	[ -z "$output" ]
}

@test "create makes a CA and a client cert that verifies against it" {
	empty_store
	run_dm create -d none --url "tcp://127.0.0.1:$PORT_FOO" foo
	[ "$status" -eq 0 ]
	run openssl verify -purpose sslclient -CAfile "$STORE/certs/ca.pem" "$STORE/certs/cert.pem"
	[ "$status" -eq 0 ]
	run openssl x509 -in "$STORE/certs/ca.pem" -noout -ext basicConstraints
	[[ $output == *CA:TRUE* ]]
}

@test "create bar with an existing CA: no CA messages" {
	rm -rf "$STORE/machines/bar"
	run_dm create -d none --url "tcp://127.0.0.1:$PORT_BAR" bar
	expect_transcript create_bar
	cli_golden_config bar "$PORT_BAR" >"$BATS_TEST_TMPDIR/want"
	expect_same "$BATS_TEST_TMPDIR/want" "$STORE/machines/bar/config.json"
}

@test "create baz with --engine-label twice" {
	rm -rf "$STORE/machines/baz"
	run_dm create -d none --url "tcp://127.0.0.1:$PORT_BAZ" --engine-label env=test --engine-label tier=2 baz
	expect_transcript create_baz_label
	cli_golden_config baz "$PORT_BAZ" >"$BATS_TEST_TMPDIR/want"
	expect_same "$BATS_TEST_TMPDIR/want" "$STORE/machines/baz/config.json"
}

@test "create qux, then ls shows it" {
	rm -rf "$STORE/machines/qux"
	run_dm create -d none --url "tcp://127.0.0.1:$PORT_QUX" qux
	expect_transcript create_qux
	run_dm ls
	expect_transcript ls
}

@test "create foo again: already exists, store unchanged" {
	store_snapshot "$BATS_TEST_TMPDIR/snap"
	run_dm create -d none --url "tcp://127.0.0.1:$PORT_FOO" foo
	expect_transcript create_duplicate
	expect_store_unchanged "$BATS_TEST_TMPDIR/snap"
}

@test "create 'bad name!'" {
	store_snapshot "$BATS_TEST_TMPDIR/snap"
	run_dm create -d none --url "tcp://127.0.0.1:$PORT_FOO" 'bad name!'
	expect_transcript create_bad_name
	expect_store_unchanged "$BATS_TEST_TMPDIR/snap"
}

@test "create 'bad name!' without --url: the name is checked first" {
	run_dm create -d none 'bad name!'
	expect_transcript create_bad_name_nourl
}

@test "create -d nosuchdriver" {
	store_snapshot "$BATS_TEST_TMPDIR/snap"
	run_dm create -d nosuchdriver x1
	expect_transcript create_unknown_driver
	expect_store_unchanged "$BATS_TEST_TMPDIR/snap"
}

@test "create -d none without --url" {
	store_snapshot "$BATS_TEST_TMPDIR/snap"
	run_dm create -d none nourl
	expect_transcript create_no_url
	expect_store_unchanged "$BATS_TEST_TMPDIR/snap"
}

@test "create without a name: help and an error" {
	run_dm create -d none --url "tcp://127.0.0.1:$PORT_FOO"
	expect_transcript create_no_name --sed 's/--driver, -d "[a-z]*"\t*/--driver, -d "DEFAULT"\t/'
}

@test "create with two names: extra arguments" {
	store_snapshot "$BATS_TEST_TMPDIR/snap"
	run_dm create -d none --url "tcp://127.0.0.1:$PORT_FOO" a1 b1
	[ "$status" -eq 1 ]
	[ "$stderr" = "Invalid command line. Found extra arguments [b1]" ]
	expect_store_unchanged "$BATS_TEST_TMPDIR/snap"
}

@test "create: invalid names are one-line errors and write nothing" {
	local n
	store_snapshot "$BATS_TEST_TMPDIR/snap"
	for n in '∞' '-' '.' '..' 'bad name!' '-lead' 'a/b' '.hidden'; do
		run_dm create -d none --url "tcp://127.0.0.1:$PORT_FOO" -- "$n"
		expect_one_line_error
	done
	expect_store_unchanged "$BATS_TEST_TMPDIR/snap"
}

@test "create: names the regex allows are accepted (digits, dots, dashes)" {
	run_dm create -d none --url "tcp://127.0.0.1:$PORT_FOO" 0a.b-c
	[ "$status" -eq 0 ]
	[ -f "$STORE/machines/0a.b-c/config.json" ]
}

@test "create with a store path that is a regular file: clear error, exit 1" {
	export MACHINE_STORAGE_PATH=$BATS_TEST_TMPDIR/afile
	: >"$MACHINE_STORAGE_PATH"
	run_dm create -d none --url "tcp://127.0.0.1:$PORT_FOO" n1
	[ "$status" -eq 1 ]
	[ -n "$stderr" ]
	[ "$(printf '%s\n' "$stderr" | wc -l)" -le 2 ]
	[ -f "$MACHINE_STORAGE_PATH" ] && [ ! -s "$MACHINE_STORAGE_PATH" ]
}

@test "create with machines/ a regular file: clear error, exit 1" {
	rm -rf "$STORE/machines"
	: >"$STORE/machines"
	run_dm create -d none --url "tcp://127.0.0.1:$PORT_FOO" n1
	[ "$status" -eq 1 ]
	[ -n "$stderr" ]
	[ "$(printf '%s\n' "$stderr" | wc -l)" -le 2 ]
	[ -f "$STORE/machines" ]
}

@test "create --bogus: usage error, exit 2, nothing written" {
	store_snapshot "$BATS_TEST_TMPDIR/snap"
	run_dm create -d none --bogus --url "tcp://127.0.0.1:$PORT_FOO" n1
	[ "$status" -eq 2 ]
	[ "$stderr" = "flag provided but not defined: -bogus" ]
	expect_store_unchanged "$BATS_TEST_TMPDIR/snap"
}

@test "MACHINE_DRIVER=none selects the driver" {
	MACHINE_DRIVER=none run_dm create --url "tcp://127.0.0.1:$PORT_FOO" n2
	[ "$status" -eq 0 ]
	run jq -r .DriverName "$STORE/machines/n2/config.json"
	[ "$output" = none ]
}
