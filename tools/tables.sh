# shellcheck shell=sh
# tools/tables.sh - read the option tables of the built binaries (sourced by
# gen-completions.sh and gen-man.sh).  Everything comes from the binaries'
# hidden `__options` verb and the drivers' `describe`, run in a clean
# environment so the output does not depend on the caller's store or $HOME:
# the home directory is the literal "$HOME" (shown as such in the pages).
#
# Needs: BINDIR (dm-* and docker-machine), DRVDIR (dm-driver-*), jq.

: "${BINDIR:?}" "${DRVDIR:?}"

# tbl_run PROG ARGS...: run a built program in the clean environment.
tbl_run() {
	env -i PATH=/usr/bin:/bin HOME='$HOME' LC_ALL=C \
		DM_LIBEXECDIR="$BINDIR:$DRVDIR" MACHINE_STORAGE_PATH= "$@"
}

# tbl_commands: the command catalogue, one name per line, in help order
# (the dispatcher's own completion of its first argument).
tbl_commands() {
	tbl_run "$BINDIR/docker-machine" __complete ""
}

# tbl_binaries: the dm-CMD binaries that are built (catalogue order, then
# any others such as dm-certs), one CMD per line.
tbl_binaries() {
	{
		for tbl_c in $(tbl_commands); do
			[ -x "$BINDIR/dm-$tbl_c" ] && echo "$tbl_c"
		done
		for tbl_c in "$BINDIR"/dm-*; do
			case $tbl_c in *.c | *.o) continue ;; esac
			[ -x "$tbl_c" ] && echo "${tbl_c##*/dm-}"
		done
	} | awk '!seen[$0]++'
}

# tbl_drivers: the built drivers, one NAME per line, sorted.
tbl_drivers() {
	for tbl_d in "$DRVDIR"/dm-driver-*; do
		case $tbl_d in *.c | *.o) continue ;; esac
		[ -x "$tbl_d" ] && echo "${tbl_d##*/dm-driver-}"
	done | sort
}

# tbl_global: the dispatcher's table as JSON.  From `docker-machine
# __options` when the dispatcher answers it; otherwise read back from its
# -h (the same table rendered), with "Commands" from the Commands block.
tbl_global() {
	if tbl_out=$(tbl_run "$BINDIR/docker-machine" __options 2>/dev/null) &&
		printf "%s" "$tbl_out" | jq -e .Flags >/dev/null 2>&1; then
		printf "%s\n" "$tbl_out"
		return
	fi
	echo "tables: docker-machine has no __options verb; reading its -h" >&2
	tbl_run "$BINDIR/docker-machine" -h | awk '
	/^Options:/ { mode = "o"; next }
	/^Commands:/ { mode = "c"; next }
	/^ *$/ { next }
	mode == "o" && /^  -/ {
		line = substr($0, 3); i = index(line, "\t")
		flag = substr(line, 1, i - 1); usage = line; sub(/^[^\t]*\t+/, "", usage)
		print "F\t" flag "\t" usage; next
	}
	mode == "c" && /^  [a-z]/ {
		line = substr($0, 3); i = index(line, "\t")
		name = substr(line, 1, i - 1); usage = line; sub(/^[^\t]*\t+/, "", usage)
		print "C\t" name "\t" usage; next
	}
	/^Run / { mode = "" }' | jq -R -s '
	def flag: capture("^--(?<Name>[^ ,]+)(, -(?<Short>.))?( \"(?<Value>[^\"]*)\")?");
	split("\n") | map(select(length > 0) | split("\t")) as $rows |
	{ Name: "", Usage: "Create and manage machines running Docker.", Description: "",
	  Args: "command", RawArgs: true,
	  Commands: [ $rows[] | select(.[0] == "C") | { Name: .[1], Usage: .[2] } ],
	  Flags: [ $rows[] | select(.[0] == "F") |
	    (.[1] | flag) as $f |
	    (.[2] | capture("^(?<u>.*?)( \\[\\$(?<e>[A-Z0-9_]+)\\])?$")) as $u |
	    { Name: $f.Name, Short: ($f.Short // ""),
	      Type: (if .[1] | test("\"") or test(" $") then "string" else "bool" end),
	      Value: ($f.Value // ""), EnvVar: ($u.e // ""), Usage: $u.u,
	      Complete: "", Values: "", Hidden: false, Secret: false, Required: false,
	      HelpText: .[1] } ] }'
}

# tbl_command CMD: dm-CMD's table as JSON.  create is asked with -d none and
# the none driver's flags taken out again: driver flags belong to the
# driver's own page.
tbl_command() {
	if [ "$1" = create ]; then
		tbl_drv=$(tbl_run "$DRVDIR/dm-driver-none" describe | jq -c '[.Flags[].Name]')
		tbl_run "$BINDIR/dm-create" __options -d none |
			jq -c --argjson drv "$tbl_drv" '.Flags |= map(select(.Name as $n | $drv | index($n) | not))'
	else
		tbl_run "$BINDIR/dm-$1" __options
	fi
}

# tbl_driver NAME: the driver's describe output.
tbl_driver() {
	tbl_run "$DRVDIR/dm-driver-$1" describe
}
