#!/bin/sh
# tools/gen-man.sh [OUTDIR] - write the man pages (default OUTDIR: man/).
#
# Each page is man/src/PAGE.in (hand-written mdoc) with marker lines that
# are filled from the built binaries' option tables:
#   .\" @OPTIONS@       the flags of the page's table (`__options`, or the
#                       driver's `describe`), as a .Bl -tag list
#   .\" @ENVIRONMENT@   .It items for the table's environment variables,
#                       then those every command reads (inside the page's .Bl)
#   .\" @EXIT@          the exit status table of lib/dm.h
#   .\" @FILES@         the store layout
# The table of a page is chosen by its name: docker-machine.1 -> the
# dispatcher, dm-CMD.1 -> dm-CMD, dm-driver-NAME.1 -> that driver.  A driver
# without a src page gets man/src/driver.in (@DRIVER@ = its name), so any
# describe output yields a page.  A page whose binary is not built is left
# out (with a note on stderr).  tests/cli/man.bats regenerates and diffs.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$top/man}
BINDIR=${BINDIR:-$top/bin} DRVDIR=${DRVDIR:-$top/drivers}
. "$top/tools/tables.sh"
src=$top/man/src
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# mdoc_flags: table JSON on stdin -> OPTIONS list.  $1: "cmd" adds -h.
mdoc_flags() {
	jq -r --arg kind "$1" '
	def esc: gsub("\\\\"; "\\e") | gsub("\n"; " ") | if test("^[.'"'"']") then "\\&" + . else . end;
	def arg: if .Type == "bool" then ""
		elif .Complete == "file" then " Ar file"
		elif .Complete == "dir" then " Ar dir"
		elif .Complete == "machine" then " Ar name"
		elif .Type == "int" then " Ar n"
		else " Ar value" end;
	[.Flags[] | {Short: "", Complete: "", Values: "", Hidden: false, Secret: false, Required: false} + . |
		.Value = (if .Value == null or .Value == false then "" else (.Value | tostring) end) |
		select(.Hidden | not)] as $f |
	if ($f | length) == 0 and $kind != "cmd" then
		"This page'"'"'s command has no options."
	else
		".Bl -tag -width Ds",
		($f[] |
			".It Fl -\(.Name)\(if .Short != "" then " , Fl \(.Short)" else "" end)\(arg)",
			(.Usage | if . == "" then "(no description)" else . end | esc |
				if test("[.!?]$") then . else . + "." end),
			(if .Type == "stringslice" then "May be given more than once." else empty end),
			(if .Values != "" then "One of: " + (.Values | split(" ") | map("\\(lq" + . + "\\(rq") | join(", ")) + "." else empty end),
			(if .Value != "" then "Default:", ".Ql \(.Value | esc) ." else empty end),
			(if .EnvVar != "" then "Environment:", ".Ev \(.EnvVar) ." else empty end),
			(if .Required then "Required." else empty end),
			(if .Secret then "The value is a secret: it is never logged and" , ".Cm inspect" , "redacts it." else empty end)),
		(if $kind == "cmd" and ($f | map(.Name) | index("help") | not) then
			".It Fl -help , Fl h", "Print the command'"'"'s help and exit." else empty end),
		".El"
	end'
}

# mdoc_env: table JSON on stdin -> .It Ev items for its environment variables.
mdoc_env() {
	jq -r '
	.Flags[] | select((.Hidden | not) and (.EnvVar // "") != "") |
		".It Ev \(.EnvVar)", "Default for", ".Fl -\(.Name) ."'
}

common_env() {
	cat <<'EOF'
.It Ev MACHINE_STORAGE_PATH
The store directory
.Pq default Pa ~/.docker/machine ;
set by
.Nm docker-machine Fl s .
.It Ev MACHINE_DEBUG
Debug output on standard error when true.
.It Ev MACHINE_TLS_CA_CERT , MACHINE_TLS_CA_KEY , MACHINE_TLS_CLIENT_CERT , MACHINE_TLS_CLIENT_KEY
Certificate and key files used instead of the store's
.Pa certs/ .
.It Ev DM_LIBEXECDIR
Colon-separated directories searched first for the
.Nm dm-*
commands and the
.Nm dm-driver-*
drivers (then the compiled-in libexec directory, this program's directory and
.Ev PATH ) .
EOF
}

# exit status from the comment table of lib/dm.h
exit_table() {
	echo '.Bl -tag -width Ds -compact'
	sed -n 's/^ \*   DM_EXIT_[A-Z]* *\([0-9]\) *\(.*\)$/.It \1\
\2/p' "$top/lib/dm.h" | sed '/^\.It/!{s/^\(.\)/\u\1/; s/$/./;}'
	echo '.El'
}

files_list() {
	cat <<'EOF'
.Bl -tag -width Ds
.It Pa ~/.docker/machine/certs/
The store's CA
.Pq Pa ca.pem , ca-key.pem
and client certificate
.Pq Pa cert.pem , key.pem .
.It Pa ~/.docker/machine/machines/NAME/config.json
The machine record (Docker Machine 0.16.2's format, ConfigVersion 3).
.It Pa ~/.docker/machine/machines/NAME/
The machine's certificates, SSH keys
.Pq Pa id_* ,
pinned host keys
.Pq Pa known_hosts
and driver files.
.El
EOF
}

# render SRCFILE TABLEJSON|"" KIND OUTFILE [DRIVER]
render() {
	in=$1 tbl=$2 kind=$3 dst=$4 drv=${5:-}
	: >"$tmp/page"
	while IFS= read -r line || [ -n "$line" ]; do
		case $line in
		'.\" @OPTIONS@') mdoc_flags "$kind" <"$tbl" >>"$tmp/page" ;;
		'.\" @ENVIRONMENT@')
			[ -n "$tbl" ] && mdoc_env <"$tbl" >>"$tmp/page"
			common_env >>"$tmp/page" ;;
		'.\" @EXIT@') exit_table >>"$tmp/page" ;;
		'.\" @FILES@') files_list >>"$tmp/page" ;;
		*) printf '%s\n' "$line" | sed "s/@DRIVER@/$drv/g; s/@DRIVER_UC@/$(echo "$drv" | tr a-z A-Z)/g" >>"$tmp/page" ;;
		esac
	done <"$in"
	mv "$tmp/page" "$dst"
}

for in in "$src"/*.in; do
	page=${in##*/}
	page=${page%.in}
	case $page in
	driver) continue ;;
	docker-machine.1)
		tbl_global >"$tmp/t.json" 2>/dev/null
		render "$in" "$tmp/t.json" global "$out/$page" ;;
	dm-driver-*.1)
		d=${page#dm-driver-}; d=${d%.1}
		if [ ! -x "$DRVDIR/dm-driver-$d" ]; then echo "gen-man: $page: driver not built, skipped" >&2; continue; fi
		tbl_driver "$d" >"$tmp/t.json"
		render "$in" "$tmp/t.json" driver "$out/$page" "$d" ;;
	dm-*.1)
		c=${page#dm-}; c=${c%.1}
		if [ ! -x "$BINDIR/dm-$c" ]; then echo "gen-man: $page: dm-$c not built, skipped" >&2; continue; fi
		tbl_command "$c" >"$tmp/t.json"
		render "$in" "$tmp/t.json" cmd "$out/$page" ;;
	*)
		render "$in" "" none "$out/$page" ;;
	esac
done
for d in $(tbl_drivers); do
	[ -e "$src/dm-driver-$d.1.in" ] && continue
	tbl_driver "$d" >"$tmp/t.json"
	render "$src/driver.in" "$tmp/t.json" driver "$out/dm-driver-$d.1" "$d"
done
