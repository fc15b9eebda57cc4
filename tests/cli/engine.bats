#!/usr/bin/env bats
# Phase B: a real dockerd with TLS on foo's port (server cert signed by the
# store CA, SAN IP:127.0.0.1).  The engine is 20.10.x, not the transcripts'
# 19.03.5, so the DOCKER column is compared with the engine's own version.

load ../lib/cli

setup_file() {
	cli_setup_file
	export ENGINE_SKIP='' ENGINE_FAIL=''
	if [ ! -x /usr/sbin/dockerd ]; then
		ENGINE_SKIP="dockerd not installed (/usr/sbin/dockerd)"
		return 0
	fi
	if [ ! -f "$TOP/tests/lib/dockerd.sh" ]; then
		ENGINE_FAIL="tests/lib/dockerd.sh is missing"
		return 0
	fi
	# shellcheck source=../lib/dockerd.sh
	. "$TOP/tests/lib/dockerd.sh"
	ENGINE_VERSION=$(/usr/sbin/dockerd --version | sed -n 's/^Docker version \([^,]*\),.*/\1/p')
	export ENGINE_VERSION
	export ENGINE_DIR=$BATS_FILE_TMPDIR/dockerd
	mkdir -p "$ENGINE_DIR"
	cli_server_cert "$STORE/certs" "$ENGINE_DIR/tls"
	if ! dockerd_start "$ENGINE_DIR" "$PORT_FOO" "$STORE/certs/ca.pem" \
		"$ENGINE_DIR/tls/server.pem" "$ENGINE_DIR/tls/server-key.pem" >"$ENGINE_DIR/start.log" 2>&1; then
		ENGINE_FAIL="dockerd_start failed: $(tail -n 5 "$ENGINE_DIR/start.log" | tr '\n' ' ')"
	fi
}

teardown_file() {
	if [ -n "${ENGINE_DIR:-}" ] && [ -f "$TOP/tests/lib/dockerd.sh" ]; then
		. "$TOP/tests/lib/dockerd.sh"
		dockerd_stop "$ENGINE_DIR" || true
	fi
}

setup() {
	[ -z "$ENGINE_SKIP" ] || skip "$ENGINE_SKIP"
	if [ -n "$ENGINE_FAIL" ]; then
		echo "$ENGINE_FAIL" >&2
		return 1
	fi
	cli_setup
}

teardown() { cli_teardown; }

@test "env foo" {
	run_dm env foo
	expect_transcript env_foo
}

@test "env --shell bash foo" {
	run_dm env --shell bash foo
	expect_transcript env_--shell_bash
}

@test "env --shell fish foo" {
	run_dm env --shell fish foo
	expect_transcript env_--shell_fish
}

@test "env --shell powershell foo" {
	run_dm env --shell powershell foo
	expect_transcript env_--shell_powershell
}

@test "env --shell cmd foo" {
	run_dm env --shell cmd foo
	expect_transcript env_--shell_cmd
}

@test "env --shell tcsh foo" {
	run_dm env --shell tcsh foo
	expect_transcript env_--shell_tcsh
}

@test "env --shell emacs foo" {
	run_dm env --shell emacs foo
	expect_transcript env_--shell_emacs
}

@test "env --shell zsh foo" {
	run_dm env --shell zsh foo
	expect_transcript env_--shell_zsh
}

@test "env --shell sh foo" {
	run_dm env --shell sh foo
	expect_transcript env_--shell_sh
}

@test "env --shell bogus foo: sh syntax" {
	run_dm env --shell bogus foo
	expect_transcript env_--shell_bogus
}

@test "env --no-proxy foo" {
	run_dm env --no-proxy foo
	expect_transcript env_--no-proxy
}

@test "env --no-proxy foo with NO_PROXY set: appended" {
	NO_PROXY=example.com run_dm env --no-proxy foo
	expect_transcript env_--no-proxy_existing
}

@test "env foo with SHELL=/usr/bin/fish" {
	SHELL=/usr/bin/fish run_dm env foo
	expect_transcript env_SHELL_fish
}

@test "env foo with SHELL unset: sh syntax (DESIGN §8)" {
	unset SHELL
	run_dm env foo
	expect_transcript env_foo
}

@test "eval of env foo sets the variables in bash" {
	run_dm env foo
	[ "$status" -eq 0 ]
	run bash -c 'eval "$(cat "$1")"; echo "$DOCKER_TLS_VERIFY $DOCKER_HOST $DOCKER_MACHINE_NAME"' _ "$DM_OUT"
	[ "$output" = "1 tcp://127.0.0.1:$PORT_FOO foo" ]
}

@test "config foo" {
	run_dm config foo
	expect_transcript config_foo
}

@test "env --swarm foo with an engine: still not a swarm master" {
	run_dm env --swarm foo
	expect_transcript env_--swarm
}

@test "config --swarm foo with an engine" {
	run_dm config --swarm foo
	expect_transcript config_--swarm
}

# ls: the DOCKER column holds the engine's version; columns are compared
# with runs of spaces collapsed (the column is wider than 0.16.2's).

@test "ls with an engine on foo" {
	run_dm ls
	expect_transcript ls_with_daemon --sed "s/v19\.03\.5/v$ENGINE_VERSION/; s/  */ /g"
	run awk '$1 == "foo" { print $6 }' "$DM_OUT"
	[ "$output" = "v$ENGINE_VERSION" ]
}

@test "ls with an engine on foo and DOCKER_HOST naming it" {
	DOCKER_HOST=tcp://127.0.0.1:$PORT_FOO run_dm ls
	expect_transcript ls_with_daemon_active --sed "s/v19\.03\.5/v$ENGINE_VERSION/; s/  */ /g"
}

@test "ls columns stay aligned with a longer version" {
	run_dm ls
	[ "$status" -eq 0 ]
	# ERRORS starts at the same column on the header and on every row with an error
	local col
	col=$(head -n 1 "$DM_OUT" | awk '{ print index($0, "ERRORS") }')
	run awk -v c="$col" 'NR > 1 && /Unable/ && index($0, "Unable") != c { print "row " NR " misaligned" }' "$DM_OUT"
	[ -z "$output" ]
}

@test "ls --format '{{.Name}} {{.DockerVersion}}'" {
	run_dm ls --format '{{.Name}} {{.DockerVersion}}' --filter name=foo
	[ "$status" -eq 0 ]
	[ "$output" = "foo v$ENGINE_VERSION" ]
}

@test "ls --json: DockerVersion and empty Error for foo" {
	run_dm ls --json --filter name=foo
	[ "$status" -eq 0 ]
	run jq -r '"\(.DockerVersion)|\(.Error)"' "$DM_OUT"
	[ "$output" = "v$ENGINE_VERSION|" ]
}

@test "version foo: the engine's version" {
	run_dm version foo
	[ "$status" -eq 0 ]
	[ "$output" = "$ENGINE_VERSION" ]
	[ -z "$stderr" ]
}

@test "active with DOCKER_HOST naming foo" {
	DOCKER_HOST=tcp://127.0.0.1:$PORT_FOO run_dm active
	expect_transcript active_dockerhost
}

@test "env foo with a client cert from another CA fails the TLS check" {
	cli_make_ca "$BATS_TEST_TMPDIR/other"
	cp "$BATS_TEST_TMPDIR/other/ca.pem" "$STORE/certs/ca.pem"
	cp "$BATS_TEST_TMPDIR/other/cert.pem" "$STORE/certs/cert.pem"
	cp "$BATS_TEST_TMPDIR/other/key.pem" "$STORE/certs/key.pem"
	run_dm env foo
	[ "$status" -eq 1 ]
	[[ $stderr == "Error checking TLS connection: Error checking and/or regenerating the certs: There was an error validating certificates for host \"127.0.0.1:$PORT_FOO\": "* ]]
	[ -z "$output" ]
}
