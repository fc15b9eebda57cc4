#!/usr/bin/env bats
# version, help, command help, unknown command, global flags, argv[0].

load ../lib/cli

setup_file() { cli_setup_file; }
setup() { cli_setup; }
teardown() { cli_teardown; }

# The global help shows the store path, aligned with tabs: run it with the
# transcripts' path so the bytes (tab counts) can match.
# (STORE too: the golden path is then not substituted)
ref_storage_path() {
	export MACHINE_STORAGE_PATH=$REF_STORE
	STORE=$REF_STORE
}

need_driver() {
	[ -x "$TOP/drivers/dm-driver-$1" ] || skip "drivers/dm-driver-$1 not built"
}

@test "version" {
	run_dm version
	expect_transcript version
}

@test "--version" {
	run_dm --version
	expect_transcript --version
}

@test "-v" {
	run_dm -v
	expect_transcript --version
}

@test "version prints the build id of this tree" {
	run_dm version
	[[ $output =~ ^docker-machine\ version\ 0\.16\.2,\ build\ [0-9a-z]+$ ]]
}

# 0.16.2's global help has one tab less per option line when
# MACHINE_STORAGE_PATH is set than when the path comes from HOME, for the same
# text; the HOME layout is the one Go's tabwriter gives for these cells, so
# our help is held byte-exact to that one and to the others with tabs collapsed.
@test "help" {
	ref_storage_path
	run_dm help
	expect_transcript help --sed 's/\t\t*/\t/g'
}

@test "help: byte-exact tabwriter layout" {
	ref_storage_path
	run_dm help
	expect_transcript help_default_storage
}

@test "--help" {
	ref_storage_path
	run_dm --help
	expect_transcript --help --sed 's/\t\t*/\t/g'
}

@test "no arguments: help, exit 0" {
	ref_storage_path
	run_dm
	expect_transcript no_args --sed 's/\t\t*/\t/g'
}

@test "help shows the default store path from HOME" {
	unset MACHINE_STORAGE_PATH
	export HOME=/home/user
	STORE=$REF_STORE
	run_dm --help
	expect_transcript help_default_storage
	[ ! -e /home/user ] || [ ! -e /home/user/.docker/machine/machines ]
}

@test "help does not create the store" {
	export MACHINE_STORAGE_PATH=$BATS_TEST_TMPDIR/machine.none
	run_dm help
	[ "$status" -eq 0 ]
	[ ! -e "$MACHINE_STORAGE_PATH" ]
}

@test "help ls" {
	run_dm help ls
	expect_transcript help_ls
}

@test "ls -h" {
	run_dm ls -h
	expect_transcript ls_-h
}

@test "ls --help" {
	run_dm ls --help
	expect_transcript ls_-h
}

@test "env -h" {
	run_dm env -h
	expect_transcript env_-h
}

@test "inspect -h" {
	run_dm inspect -h
	expect_transcript inspect_-h
}

@test "rm -h" {
	run_dm rm -h
	expect_transcript rm_-h
}

@test "config -h" {
	run_dm config -h
	expect_transcript config_-h
}

# The default driver is qemu, not 0.16.2's virtualbox (DESIGN §8): the --driver
# line is compared without its default.
@test "create -d none -h: shared flags and the none driver's --url" {
	run_dm create -d none -h
	expect_transcript create_-d_none_-h --sed 's/--driver, -d "[a-z]*"\t*/--driver, -d "DEFAULT"\t/'
}

@test "create -d generic -h" {
	need_driver generic
	run_dm create -d generic -h
	expect_transcript create_-d_generic_-h --sed 's/--driver, -d "[a-z]*"\t*/--driver, -d "DEFAULT"\t/'
}

# 0.16.2's default driver was virtualbox; ours is qemu (DESIGN §8): create -h
# lists the shared flags of the transcript and the qemu driver's flags.
@test "create -h: the shared flags and the default driver qemu's flags" {
	need_driver qemu
	run_dm create -h
	[ "$status" -eq 0 ]
	local flag
	for flag in $(grep -o -- '^   --[a-z-]*' "$GOLDEN/create_-h.out" | grep -v -- '--virtualbox'); do
		grep -qE -- "^   $flag([^a-z-]|\$)" <<<"$output" || { echo "missing $flag" >&2; return 1; }
	done
	grep -q -- '^   --driver, -d "qemu"' <<<"$output"
	grep -q -- '^   --qemu-image ' <<<"$output"
	! grep -q -- '--virtualbox' <<<"$output"
}

@test "create --help is create -h" {
	need_driver qemu
	run_dm create -h
	local short=$output
	run_dm create --help
	[ "$status" -eq 0 ]
	[ "$output" = "$short" ]
}

@test "unknown command" {
	run_dm frobnicate
	expect_transcript unknown_command
}

@test "--storage-path before the command" {
	rm -rf "$STORE/machines/foo" "$STORE/machines/bar" "$STORE/machines/qux"
	export MACHINE_STORAGE_PATH=$BATS_TEST_TMPDIR/elsewhere
	run_dm --storage-path "$STORE" ls -q
	expect_transcript storage_path_flag
	[ ! -e "$MACHINE_STORAGE_PATH" ]
}

@test "-s before the command" {
	unset MACHINE_STORAGE_PATH
	run_dm -s "$STORE" ls -q
	expect_transcript ls_-q
}

@test "a renamed copy of docker-machine still runs the commands" {
	cp "$CLI_BINDIR/docker-machine" "$BATS_TEST_TMPDIR/dm2"
	run_prog "$BATS_TEST_TMPDIR/dm2" url nosuch
	[ "$status" -eq 1 ]
	local err1=$stderr
	run_prog "$BATS_TEST_TMPDIR/dm2" env nosuch
	[ "$status" -eq 1 ]
	printf '%s\n%s\n' "$err1" "$stderr" >"$BATS_TEST_TMPDIR/got"
	cli_subst "$GOLDEN/argv0_renamed_binary.err" >"$BATS_TEST_TMPDIR/want"
	expect_same "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/got"
}

@test "a renamed copy prints its own name in --version" {
	cp "$CLI_BINDIR/docker-machine" "$BATS_TEST_TMPDIR/dm2"
	run_prog "$BATS_TEST_TMPDIR/dm2" --version
	[ "$status" -eq 0 ]
	[[ $output == "dm2 version 0.16.2, build "* ]]
}

@test "MACHINE_DEBUG with a bad value" {
	MACHINE_DEBUG=notabool run_dm ls -q
	[ "$status" -eq 1 ]
	[[ $stderr == "Error parsing boolean value from MACHINE_DEBUG: "* ]]
}

@test "unknown global flag: usage error, exit 2" {
	run_dm --bogus ls
	[ "$status" -eq 2 ]
	[ "$stderr" = "flag provided but not defined: -bogus" ]
}

@test "every documented command exists" {
	local c bad=
	for c in active config create env inspect ip kill ls mount provision regenerate-certs \
		restart rm scp ssh start status stop upgrade url version; do
		run_dm "$c" -h
		if [ "$status" -ne 0 ] || [[ $output != "Usage: docker-machine $c"* ]]; then
			bad="$bad $c"
		fi
	done
	if [ -n "$bad" ]; then
		echo "no working '-h' (exit 0, 'Usage: docker-machine CMD'):$bad" >&2
		return 1
	fi
}
