#!/usr/bin/env bats
# ls against the 0.16.2 transcripts (phases A, C, D) and the --json interface.

load ../lib/cli

setup_file() { cli_setup_file; }
setup() { cli_setup; }
teardown() { cli_teardown; }

@test "ls: table of four machines, nothing listening" {
	run_dm ls
	expect_transcript ls
}

@test "ls -q" {
	run_dm ls -q
	expect_transcript ls_-q
}

@test "ls --filter driver=none" {
	run_dm ls --filter driver=none
	expect_transcript ls_filter_driver_none
}

@test "ls --format '{{.Name}} {{.URL}}'" {
	run_dm ls --format '{{.Name}} {{.URL}}'
	expect_transcript ls_format_name_url
}

@test "ls --format 'table ...' with \\t" {
	run_dm ls --format 'table {{.Name}}\t{{.DriverName}}\t{{.State}}\t{{.URL}}'
	expect_transcript ls_format_table
}

@test "ls --format with every field" {
	run_dm ls --format '{{.Name}}|{{.Active}}|{{.ActiveHost}}|{{.ActiveSwarm}}|{{.DriverName}}|{{.State}}|{{.URL}}|{{.SwarmOptions}}|{{.EngineOptions}}|{{.Swarm}}|{{.DockerVersion}}|{{.ResponseTime}}|{{.Error}}'
	expect_transcript ls_format_all_fields --sed 's/|[0-9][0-9]*ms|/|Nms|/'
}

@test "ls --filter name=foo" {
	run_dm ls --filter name=foo
	expect_transcript ls_filter_name_foo
}

@test "ls --filter 'name=^b' (regex)" {
	run_dm ls --filter 'name=^b'
	expect_transcript ls_filter_name_regex
}

@test "ls --filter state=Running" {
	run_dm ls --filter state=Running
	expect_transcript ls_filter_state_running
}

@test "ls --filter state=Stopped: header only" {
	run_dm ls --filter state=Stopped
	expect_transcript ls_filter_state_stopped
}

@test "ls --filter label=env=test" {
	run_dm ls --filter label=env=test
	expect_transcript ls_filter_label
}

@test "ls --filter name=foo --filter name=bar" {
	run_dm ls --filter name=foo --filter name=bar
	expect_transcript ls_filter_two_names
}

@test "ls --filter bogus=1" {
	run_dm ls --filter bogus=1
	expect_transcript ls_filter_bad_key
}

@test "ls --filter nokeyvalue" {
	run_dm ls --filter nokeyvalue
	expect_transcript ls_filter_bad_syntax
}

@test "ls -t 1" {
	run_dm ls -t 1
	expect_transcript ls_-t_1
}

@test "ls with DOCKER_HOST naming foo marks it active" {
	DOCKER_HOST=tcp://127.0.0.1:$PORT_FOO run_dm ls
	expect_transcript ls_active_dockerhost
}

@test "ls -q --filter label=tier=2" {
	run_dm ls -q --filter label=tier=2
	expect_transcript ls_-q_filter_label
}

@test "ls on a nonexistent store prints the header and creates nothing" {
	export MACHINE_STORAGE_PATH=$BATS_TEST_TMPDIR/machine.none
	run_dm ls
	[ "$status" -eq 0 ]
	head -n 1 "$GOLDEN/ls_nonexistent_store.out" >"$BATS_TEST_TMPDIR/want"
	expect_same "$BATS_TEST_TMPDIR/want" "$DM_OUT"
	[ -z "$stderr" ]
	[ ! -e "$MACHINE_STORAGE_PATH" ]
}

@test "ls -q on a nonexistent store prints nothing and creates nothing" {
	export MACHINE_STORAGE_PATH=$BATS_TEST_TMPDIR/machine.none
	run_dm ls -q
	expect_transcript ls_-q_nonexistent_store
	[ ! -e "$MACHINE_STORAGE_PATH" ]
}

@test "ls with an argument: usage error, exit 2 (0.16.2 ignored it; DESIGN §8)" {
	run_dm ls foo
	[ "$status" -eq 2 ]
	[ -z "$output" ]
	[ "$stderr" = "Error: ls takes no arguments (got 'foo'); use --filter name=REGEX" ]
}

@test "ls --bogus: usage error, exit 2 (DESIGN §8)" {
	run_dm ls --bogus
	expect_transcript ls_unknown_flag --exit 2
}

@test "ls with a broken config.json and a dir without config: one error row each" {
	cli_add_broken
	run_dm ls
	expect_transcript ls_broken_configs
}

@test "ls -q with broken entries lists only loadable machines" {
	cli_add_broken
	run_dm ls -q
	expect_transcript ls_-q_broken_configs
}

@test "ls --format '{{json .}}' prints one JSON object per machine (DESIGN §8)" {
	run_dm ls --format '{{json .}}'
	[ "$status" -eq 0 ]
	[ "$(wc -l <"$DM_OUT")" -eq 4 ]
	run jq -r -s 'map(.Name) | join(" ")' "$DM_OUT"
	[ "$output" = "bar baz foo qux" ]
	run jq -r -s '.[2] | "\(.DriverName) \(.State) \(.URL)"' "$DM_OUT"
	[ "$output" = "none Running tcp://127.0.0.1:$PORT_FOO" ]
}

@test "ls is read-only: the store is unchanged" {
	cli_add_broken
	store_snapshot "$BATS_TEST_TMPDIR/snap"
	run_dm ls
	[ "$status" -eq 0 ]
	run_dm ls -q
	run_dm ls --format '{{.Name}}'
	expect_store_unchanged "$BATS_TEST_TMPDIR/snap"
}

# ---- phase C: a URL that accepts and never answers ----

@test "ls -t 2 with bar hanging returns when the timeout expires; bar shows Timeout" {
	cli_hang_listener "$PORT_BAR"
	local t0 t1
	t0=$(now_ms)
	run_dm ls -t 2
	t1=$(now_ms)
	echo "# ls -t 2 took $((t1 - t0)) ms" >&2
	expect_transcript ls_hang_-t_2
	[ $((t1 - t0)) -lt 3500 ]
}

@test "ls -q with bar hanging is immediate" {
	cli_hang_listener "$PORT_BAR"
	local t0 t1
	t0=$(now_ms)
	run_dm ls -q
	t1=$(now_ms)
	expect_transcript ls_hang_-q
	[ $((t1 - t0)) -lt 1000 ]
}

# ---- --json (DESIGN §4) ----

@test "ls --json: one object per line, ls --format field names" {
	run_dm ls --json
	[ "$status" -eq 0 ]
	[ "$(wc -l <"$DM_OUT")" -eq 4 ]
	# every line is one JSON object
	run jq -c -e 'type == "object"' "$DM_OUT"
	[ "$status" -eq 0 ]
	run jq -r -s 'map(.Name) | join(" ")' "$DM_OUT"
	[ "$output" = "bar baz foo qux" ]
	run jq -r -s '.[] | select(.Name == "foo") |
		[.Active, (.ActiveHost|tostring), (.ActiveSwarm|tostring), .DriverName, .State, .URL, .DockerVersion, .Error] | join("|")' "$DM_OUT"
	[ "$output" = "-|false|false|none|Running|tcp://127.0.0.1:$PORT_FOO|Unknown|Unable to query docker version: Cannot connect to the docker engine endpoint" ]
	run jq -r -s '.[] | select(.Name == "baz") | .EngineOptions.Labels | join(",")' "$DM_OUT"
	[ "$output" = "env=test,tier=2" ]
	run jq -r -s '.[0] | has("SwarmOptions") and has("Swarm") and has("ResponseTime")' "$DM_OUT"
	[ "$output" = true ]
}

@test "ls --json --filter name=foo" {
	run_dm ls --json --filter name=foo
	[ "$status" -eq 0 ]
	[ "$(wc -l <"$DM_OUT")" -eq 1 ]
	run jq -r .Name "$DM_OUT"
	[ "$output" = foo ]
}

@test "ls --json with DOCKER_HOST: Active is * and ActiveHost true" {
	DOCKER_HOST=tcp://127.0.0.1:$PORT_FOO run_dm ls --json --filter name=foo
	[ "$status" -eq 0 ]
	run jq -r '"\(.Active) \(.ActiveHost)"' "$DM_OUT"
	[ "$output" = "* true" ]
}

@test "ls --json with a broken config gives an error object, not a failed ls" {
	cli_add_broken
	run_dm ls --json
	[ "$status" -eq 0 ]
	[ "$(wc -l <"$DM_OUT")" -eq 6 ]
	run jq -r 'select(.Name == "broken") | "\(.State)|\(.Error)"' "$DM_OUT"
	[ "$output" = "Error|Error getting migrated host: unexpected end of JSON input" ]
}

@test "ls --json on a nonexistent store prints nothing" {
	export MACHINE_STORAGE_PATH=$BATS_TEST_TMPDIR/machine.none
	run_dm ls --json
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ ! -e "$MACHINE_STORAGE_PATH" ]
}

@test "dm-ls runs directly, like docker-machine ls" {
	run_prog dm-ls -q
	expect_transcript ls_-q
}

@test "ls -t with a bad value is a usage error" {
	run_dm ls -t notanumber
	[ "$status" -eq 2 ]
	[[ $stderr == *'invalid value "notanumber" for flag -t'* ]]
}
