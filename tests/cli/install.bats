#!/usr/bin/env bats
# make install DESTDIR=... PREFIX=/usr and make uninstall: the layout
# (binaries, libexec, man pages, bash/zsh/fish completions), and that the
# (MAKE_INSTALL overrides the make command, e.g. "make -f Makefile -f mk/install.mk".)
# installed tree works: docker-machine finds its commands and drivers, the
# pages render, the installed bash completion completes.

load ../lib/cli

setup_file() {
	export DEST=$BATS_FILE_TMPDIR/dest
	rm -rf "$DEST"
	${MAKE_INSTALL:-make} -C "$TOP" --no-print-directory install DESTDIR="$DEST" PREFIX=/usr >"$BATS_FILE_TMPDIR/install.log" 2>&1 ||
		{ cat "$BATS_FILE_TMPDIR/install.log" >&2; return 1; }
}

setup() {
	cli_env
	BCDIR=$(pkg-config --variable=completionsdir bash-completion 2>/dev/null) || BCDIR=
	[ -n "$BCDIR" ] || BCDIR=/usr/share/bash-completion/completions
}

commands() {
	docker-machine __complete "" | grep -vx help
}

@test "install: docker-machine in BINDIR, dm-* and drivers in LIBEXECDIR" {
	local c
	[ -x "$DEST/usr/bin/docker-machine" ]
	for c in "$TOP"/bin/dm-* "$TOP"/drivers/dm-driver-*; do
		case $c in *.c | *.o) continue ;; esac
		[ -x "$DEST/usr/libexec/dm/${c##*/}" ] || { echo "no libexec/dm/${c##*/}" >&2; return 1; }
	done
}

@test "install: man pages in MANDIR/man1 and man7" {
	local f
	for f in "$TOP"/man/*.1; do
		[ -f "$DEST/usr/share/man/man1/${f##*/}" ] || { echo "no man1/${f##*/}" >&2; return 1; }
	done
	[ -f "$DEST/usr/share/man/man7/dm-driver.7" ]
	if command -v mandoc >/dev/null; then
		mandoc -Tutf8 "$DEST/usr/share/man/man1/docker-machine.1" | grep -q 'create and manage machines'
	fi
}

@test "install: bash completion in completionsdir, one name per command" {
	local c
	[ -f "$DEST$BCDIR/docker-machine" ]
	for c in $(commands); do
		[ -e "$DEST$BCDIR/dm-$c" ] || { echo "no $BCDIR/dm-$c (bash-completion loads by command name)" >&2; return 1; }
	done
}

@test "install: zsh and fish completions" {
	local c
	[ -f "$DEST/usr/share/zsh/site-functions/_docker-machine" ]
	[ -f "$DEST/usr/share/fish/vendor_completions.d/docker-machine.fish" ]
	for c in $(commands); do
		[ -e "$DEST/usr/share/fish/vendor_completions.d/dm-$c.fish" ] ||
			{ echo "no vendor_completions.d/dm-$c.fish (fish loads by command name)" >&2; return 1; }
	done
}

@test "installed tree works: docker-machine runs dm-ls and the none driver from libexec" {
	local s=$BATS_TEST_TMPDIR/store
	unset DM_LIBEXECDIR
	export MACHINE_STORAGE_PATH=$s
	# the compiled-in libexec dir is /usr/libexec/dm: point at the DESTDIR copy
	export DM_LIBEXECDIR=$DEST/usr/libexec/dm PATH=$DEST/usr/bin:/usr/bin:/bin
	run_prog "$DEST/usr/bin/docker-machine" create -d none --url tcp://127.0.0.1:1 inst1
	[ "$status" = 0 ]
	run_prog "$DEST/usr/bin/docker-machine" ls -q
	[ "$output" = inst1 ]
}

@test "installed bash completion completes through the installed binaries" {
	[ -f /usr/share/bash-completion/bash_completion ] || skip "bash-completion not installed"
	export DM_LIBEXECDIR=$DEST/usr/libexec/dm PATH=$DEST/usr/bin:$PATH
	run bash --norc -c '. /usr/share/bash-completion/bash_completion; . "$1"
		COMP_WORDS=(docker-machine ls --fi); COMP_CWORD=2; COMP_LINE="docker-machine ls --fi"; COMP_POINT=${#COMP_LINE}
		_docker_machine docker-machine --fi ls; printf "%s\n" "${COMPREPLY[@]}"' _ "$DEST$BCDIR/docker-machine"
	[ "$output" = --filter ]
}

@test "uninstall removes everything install put there" {
	${MAKE_INSTALL:-make} -C "$TOP" --no-print-directory uninstall DESTDIR="$DEST" PREFIX=/usr >&2
	local left
	left=$(find "$DEST" -type f -o -type l)
	[ -z "$left" ] || { echo "left behind: $left" >&2; return 1; }
}
