#!/usr/bin/env bats
# Man pages and completions against the option tables: mandoc -Tlint clean,
# regenerating from the built binaries gives exactly the committed files
# (drift), and every flag that -h shows is in the man page and in the
# completion data.

load ../lib/cli

setup() { cli_env; }

built_cmds() {
	local b
	for b in "$TOP"/bin/dm-*; do
		case $b in *.c | *.o) continue ;; esac
		[ -x "$b" ] && echo "${b##*/dm-}"
	done
}

@test "man pages: mandoc -Tlint has no warnings or errors" {
	command -v mandoc >/dev/null || skip "mandoc not installed"
	local f fail=0
	for f in "$TOP"/man/*.1 "$TOP"/man/*.7; do
		[ -e "$f" ] || continue
		mandoc -Tlint -W warning "$f" >&2 || fail=1
	done
	return $fail
}

@test "man pages: every page has the sections" {
	local f s
	for f in "$TOP"/man/*.1; do
		for s in NAME SYNOPSIS DESCRIPTION OPTIONS ENVIRONMENT FILES "EXIT STATUS" EXAMPLES "SEE ALSO"; do
			grep -qx ".Sh $s" "$f" || { echo "$f: no section $s" >&2; return 1; }
		done
	done
}

@test "man pages: one per built command and driver, plus docker-machine.1 and dm-driver.7" {
	local c
	[ -f "$TOP/man/docker-machine.1" ]
	[ -f "$TOP/man/dm-driver.7" ]
	for c in $(built_cmds); do
		[ -f "$TOP/man/dm-$c.1" ] || { echo "no man/dm-$c.1 (add man/src/dm-$c.1.in)" >&2; return 1; }
	done
	for c in "$TOP"/drivers/dm-driver-*; do
		case $c in *.c | *.o) continue ;; esac
		[ -f "$TOP/man/${c##*/}.1" ] || { echo "no man/${c##*/}.1" >&2; return 1; }
	done
}

@test "drift: regenerated man pages equal the committed ones" {
	local o=$BATS_TEST_TMPDIR/man
	"$TOP/tools/gen-man.sh" "$o" 2>/dev/null
	diff -ru "$TOP/man" "$o" -x src >&2
}

@test "drift: regenerated completions equal the committed ones" {
	local o=$BATS_TEST_TMPDIR/comp
	"$TOP/tools/gen-completions.sh" "$o" 2>/dev/null
	diff -ru "$TOP/completions" "$o" >&2
}

# flags as -h prints them: "--name" (and "-n") at the start of an option line
help_flags() {
	local p=$1
	shift
	"$p" -h "$@" | sed -n 's/^ *\(--[a-z0-9][a-z0-9-]*\)\(, \(-[a-zA-Z0-9]\)\)\{0,1\}.*/\1 \3/p' | tr ' ' '\n' | sed '/^$/d'
}

@test "every flag of -h is in the man page and in the completion data" {
	local c f fail=0
	for c in $(built_cmds); do
		local hargs=() pages=("$TOP/man/dm-$c.1")
		# create's -h lists the driver's flags too: those are on the driver's page
		[ "$c" = create ] && hargs=(-d none) pages+=("$TOP/man/dm-driver-none.1")
		for f in $(help_flags "$TOP/bin/dm-$c" "${hargs[@]}"); do
			[ "$c" = create ] && grep -q "^\.It Fl ${f#-}\( \|\$\)" "$TOP/man/dm-driver-none.1" && continue
			grep -q "^\.It Fl ${f#-}\( \|\$\)\|, Fl ${f#-}\( \|\$\)" "${pages[@]}" ||
				{ echo "dm-$c $f: not in man/dm-$c.1" >&2; fail=1; }
			grep -qF "'$c/$f'" "$TOP/completions/_docker-machine" ||
				{ echo "dm-$c $f: not in completions/_docker-machine" >&2; fail=1; }
			grep -qF "'$c/$f'" "$TOP/completions/docker-machine.ps1" ||
				{ echo "dm-$c $f: not in completions/docker-machine.ps1" >&2; fail=1; }
			grep -qF "case '$c/$f'" "$TOP/completions/docker-machine.fish" ||
				{ echo "dm-$c $f: not in completions/docker-machine.fish" >&2; fail=1; }
		done
	done
	for f in $(help_flags "$TOP/bin/docker-machine"); do
		grep -q "^\.It Fl ${f#-}\( \|\$\)\|, Fl ${f#-}\( \|\$\)" "$TOP/man/docker-machine.1" ||
			{ echo "docker-machine $f: not in man/docker-machine.1" >&2; fail=1; }
		grep -qF "'/$f'" "$TOP/completions/_docker-machine" ||
			{ echo "docker-machine $f: not in completions/_docker-machine" >&2; fail=1; }
	done
	return $fail
}

@test "EXIT STATUS of the pages is lib/dm.h's table" {
	local n
	for n in 0 1 2 3; do
		grep -q "^ \*   DM_EXIT_[A-Z]* *$n " "$TOP/lib/dm.h"
		grep -qx ".It $n" "$TOP/man/dm-ls.1"
	done
	grep -q "remote command's own status" "$TOP/man/dm-ssh.1"
}
