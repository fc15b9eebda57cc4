#!/usr/bin/env bats
# env and config without an engine (phases A, B-without-engine, D).  The
# runs that need a TLS engine on foo's port are in engine.bats.

load ../lib/cli

setup_file() { cli_setup_file; }
setup() { cli_setup; }
teardown() { cli_teardown; }

@test "env foo with nothing listening: the TLS check error" {
	run_dm env foo
	expect_transcript env_foo_unreachable
}

@test "config foo with nothing listening" {
	run_dm config foo
	expect_transcript config_foo_unreachable
}

@test "env --swarm on a non-master" {
	run_dm env --swarm foo
	expect_transcript env_--swarm
}

@test "config --swarm on a non-master" {
	run_dm config --swarm foo
	expect_transcript config_--swarm
}

@test "env foo bar" {
	run_dm env foo bar
	expect_transcript env_two_args
}

@test "env with no name and no default machine" {
	run_dm env
	expect_transcript env_default_missing
}

@test "env nosuch" {
	run_dm env nosuch
	expect_transcript env_missing
}

@test "config nosuch" {
	run_dm config nosuch
	expect_transcript config_missing
}

@test "env -u" {
	run_dm env -u
	expect_transcript env_-u
}

@test "env -u --shell bash" {
	run_dm env -u --shell bash
	expect_transcript env_-u_--shell_bash
}

@test "env -u --shell fish" {
	run_dm env -u --shell fish
	expect_transcript env_-u_--shell_fish
}

@test "env -u --shell powershell" {
	run_dm env -u --shell powershell
	expect_transcript env_-u_--shell_powershell
}

@test "env -u --shell cmd" {
	run_dm env -u --shell cmd
	expect_transcript env_-u_--shell_cmd
}

@test "env -u --shell tcsh" {
	run_dm env -u --shell tcsh
	expect_transcript env_-u_--shell_tcsh
}

@test "env -u --shell emacs" {
	run_dm env -u --shell emacs
	expect_transcript env_-u_--shell_emacs
}

@test "env -u foo" {
	run_dm env -u foo
	expect_transcript env_-u_with_name
}

@test "env -u --no-proxy prints a correct unset NO_PROXY (DESIGN §8)" {
	NO_PROXY=x run_dm env -u --no-proxy
	# 0.16.2 printed "unset NO_PROXYx"
	expect_transcript env_-u_no-proxy --sed 's/^unset NO_PROXYx$/unset NO_PROXY/'
	grep -qx 'unset NO_PROXY' "$DM_OUT"
}

@test "env -u with SHELL unset prints sh syntax (DESIGN §8)" {
	unset SHELL
	run_dm env -u
	expect_transcript env_-u
}

@test "env -u with SHELL empty prints sh syntax (DESIGN §8)" {
	SHELL='' run_dm env -u
	expect_transcript env_-u
}

@test "env -u with SHELL=/usr/bin/fish picks fish" {
	SHELL=/usr/bin/fish run_dm env -u
	[ "$status" -eq 0 ]
	[ "$(head -n 1 "$DM_OUT")" = "set -e DOCKER_TLS_VERIFY;" ]
	[ "$(tail -n 1 "$DM_OUT")" = "# eval (docker-machine env -u)" ]
}

@test "env -u output evaluates in bash and unsets the variables" {
	run_dm env -u
	[ "$status" -eq 0 ]
	run bash -c 'export DOCKER_HOST=x DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH=y DOCKER_MACHINE_NAME=z
		eval "$(cat "$1")"; echo "[${DOCKER_HOST-unset}${DOCKER_TLS_VERIFY-unset}${DOCKER_CERT_PATH-unset}${DOCKER_MACHINE_NAME-unset}]"' _ "$DM_OUT"
	[ "$output" = "[unsetunsetunsetunset]" ]
}

@test "env and config are read-only" {
	store_snapshot "$BATS_TEST_TMPDIR/snap"
	run_dm env foo
	run_dm config foo
	run_dm env -u
	expect_store_unchanged "$BATS_TEST_TMPDIR/snap"
}

@test "env of a broken machine is a clear error" {
	cli_add_broken
	run_dm env broken
	expect_transcript inspect_broken --exit 1
}

@test "env --bogus: usage error, exit 2" {
	run_dm env --bogus foo
	[ "$status" -eq 2 ]
	[ "$(head -n 1 "$DM_OUT")" = "Incorrect Usage." ]
	[ "$stderr" = "flag provided but not defined: -bogus" ]
}
