#!/usr/bin/env bats
# inspect against the 0.16.2 transcripts (phases A, D) and --json / stdin names.

load ../lib/cli

setup_file() { cli_setup_file; }
setup() { cli_setup; }
teardown() { cli_teardown; }

@test "inspect foo: the 0.16.2 config, indented, newline" {
	run_dm inspect foo
	expect_transcript inspect_foo
}

@test "inspect baz: engine labels" {
	run_dm inspect baz
	expect_transcript inspect_baz_labels
}

@test "inspect --format '{{.Driver.URL}}'" {
	run_dm inspect --format '{{.Driver.URL}}' foo
	expect_transcript inspect_format_driver_url
}

@test "inspect -f is --format" {
	run_dm inspect -f '{{.Driver.URL}}' foo
	expect_transcript inspect_format_driver_url
}

@test "inspect --format '{{json .Driver}}': sorted keys" {
	run_dm inspect --format '{{json .Driver}}' foo
	expect_transcript inspect_format_json_driver
}

@test "inspect --format '{{prettyjson .HostOptions.AuthOptions}}'" {
	run_dm inspect --format '{{prettyjson .HostOptions.AuthOptions}}' foo
	expect_transcript inspect_format_prettyjson_hostopts
}

@test "inspect --format '{{.Nope}}' prints <no value>" {
	run_dm inspect --format '{{.Nope}}' foo
	expect_transcript inspect_format_bad
}

@test "inspect --format '{{' is a template parsing error" {
	run_dm inspect --format '{{' foo
	expect_transcript inspect_format_parse_error
}

@test "inspect nosuch" {
	run_dm inspect nosuch
	expect_transcript inspect_missing
}

@test "inspect with no argument and no default machine" {
	run_dm inspect
	expect_transcript inspect_no_args
}

@test "inspect of an empty config.json" {
	cli_add_broken
	run_dm inspect broken
	expect_transcript inspect_broken
}

@test "inspect of a machine dir without config.json" {
	cli_add_broken
	run_dm inspect empty
	expect_transcript inspect_empty_dir
}

@test "inspect of a corrupt (non-JSON) config.json is a clear one-line error" {
	mkdir -m 700 "$STORE/machines/corrupt"
	printf '{"ConfigVersion": 3, "Driver": {' >"$STORE/machines/corrupt/config.json"
	run_dm inspect corrupt
	expect_one_line_error
	[ -z "$output" ]
	[[ $stderr == *corrupt* || $stderr == *JSON* || $stderr == *json* ]]
}

@test "inspect foo bar: one name only" {
	run_dm inspect foo bar
	[ "$status" -eq 1 ]
	[ "$stderr" = "Error: Expected one machine name as an argument" ]
}

@test "inspect loads a 0.16.2 store unchanged (byte-exact round trip)" {
	run_dm inspect foo
	[ "$status" -eq 0 ]
	# inspect = config.json + newline
	{ cat "$STORE/machines/foo/config.json"; echo; } >"$BATS_TEST_TMPDIR/want"
	expect_same "$BATS_TEST_TMPDIR/want" "$DM_OUT"
}

@test "inspect is read-only" {
	store_snapshot "$BATS_TEST_TMPDIR/snap"
	run_dm inspect foo
	run_dm inspect --format '{{.Name}}' baz
	run_dm inspect nosuch
	expect_store_unchanged "$BATS_TEST_TMPDIR/snap"
}

@test "inspect --json foo: the host object" {
	run_dm inspect --json foo
	[ "$status" -eq 0 ]
	[ "$(wc -l <"$DM_OUT")" -eq 1 ]
	run jq -S -c . "$DM_OUT"
	local got=$output
	run jq -S -c . "$STORE/machines/foo/config.json"
	[ "$got" = "$output" ]
}

@test "inspect - reads names from stdin" {
	run_sh 'echo foo | docker-machine inspect --format "{{.Name}} {{.Driver.URL}}" -'
	[ "$status" -eq 0 ]
	[ "$output" = "foo tcp://127.0.0.1:$PORT_FOO" ]
}

@test "inspect: invalid names are rejected without touching the store" {
	local n
	store_snapshot "$BATS_TEST_TMPDIR/snap"
	for n in '∞' '.' '..' 'bad name!' '../machines/foo'; do
		run_dm inspect "$n"
		expect_one_line_error
		[ -z "$output" ]
	done
	expect_store_unchanged "$BATS_TEST_TMPDIR/snap"
}
