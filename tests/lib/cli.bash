# shellcheck shell=bash
# tests/lib/cli.bash - shared helpers of the bats CLI tier (tests/cli/*.bats).
#
# A .bats file does:
#     load ../lib/cli
#     setup_file() { cli_setup_file; }      # ports + a 0.16.2 store fixture
#     setup()      { cli_setup; }           # fresh copy of the fixture, clean env
#     teardown()   { cli_teardown; }        # kills what cli_bg started
#
# The fixture is the store 0.16.2 leaves after the transcripts' phase A:
# machines foo bar baz qux (none driver) on $PORT_FOO $PORT_BAR $PORT_BAZ
# $PORT_QUX (free ports on 127.0.0.1, nothing listening), written from the
# golden config.json files, so every test also checks that a store made by
# 0.16.2 loads unchanged.  Certificates are RSA-2048 made with openssl.
#
# Running:   run_dm ARGS...        docker-machine ARGS (found first on PATH)
#            run_prog PROG ARGS... any program (dm-ls, a renamed binary)
#            run_sh 'pipeline'     bash -c (for pipes between our binaries)
# Each sets $status, $output (stdout), $stderr and the files $DM_OUT, $DM_ERR.
# Comparing: expect_transcript NAME [--exit N] [--sed EXPR]...
#            compares $DM_OUT/$DM_ERR/$status with golden/NAME.{out,err} and the
#            exit code of index.tsv, after substituting store path and ports.

TOP=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
GOLDEN=$TOP/tests/cli/golden
# The binaries under test: the tree's by default; CLI_BINDIR points the tier
# at another build (an installed PREFIX/bin, for instance).
CLI_BINDIR=${CLI_BINDIR:-$TOP/bin}
REF_STORE=/home/user/.docker/machine
# Every run is bounded: a hung binary fails its test instead of the tier.
DM_TIMEOUT=${DM_TIMEOUT:-20}

# cli_free_ports N: N distinct free TCP ports on 127.0.0.1, one per line.
cli_free_ports() {
	python3 - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
for s in socks:
    print(s.getsockname()[1])
EOF
}

# cli_make_ca DIR: ca.pem ca-key.pem cert.pem key.pem as 0.16.2 makes them
# (RSA-2048, CA O=user, client cert O=user.<bootstrap> with clientAuth).
cli_make_ca() {
	local d=$1
	mkdir -p "$d" && chmod 700 "$d"
	(
		cd "$d" || exit 1
		umask 077
		openssl req -x509 -newkey rsa:2048 -nodes -keyout ca-key.pem -out ca.pem \
			-days 30 -sha256 -subj /O=user \
			-addext basicConstraints=critical,CA:TRUE \
			-addext keyUsage=critical,digitalSignature,keyEncipherment,keyAgreement,keyCertSign \
			2>/dev/null || exit 1
		openssl req -newkey rsa:2048 -nodes -keyout key.pem -out client.csr \
			-subj '/O=user.<bootstrap>' 2>/dev/null || exit 1
		printf 'keyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\nbasicConstraints=critical,CA:FALSE\n' >client.ext
		openssl x509 -req -in client.csr -CA ca.pem -CAkey ca-key.pem \
			-set_serial "0x$(openssl rand -hex 16)" -days 30 -sha256 \
			-extfile client.ext -out cert.pem 2>/dev/null || exit 1
		rm -f client.csr client.ext
		chmod 644 ca.pem cert.pem
		chmod 600 ca-key.pem key.pem
	)
}

# cli_server_cert CERTDIR OUTDIR: server.pem server-key.pem signed by the
# store CA in CERTDIR, SAN IP:127.0.0.1 (what a provisioned engine has).
cli_server_cert() {
	local c=$1 o=$2
	mkdir -p "$o"
	(
		cd "$o" || exit 1
		umask 077
		openssl req -newkey rsa:2048 -nodes -keyout server-key.pem -out server.csr \
			-subj /O=user.foo 2>/dev/null || exit 1
		printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n' >server.ext
		openssl x509 -req -in server.csr -CA "$c/ca.pem" -CAkey "$c/ca-key.pem" \
			-set_serial "0x$(openssl rand -hex 16)" -days 30 -sha256 \
			-extfile server.ext -out server.pem 2>/dev/null || exit 1
		rm -f server.csr server.ext
	)
}

# cli_golden_config NAME PORT: golden config.json of NAME (baz's carries the
# engine labels; the others are foo's with the name changed) for our store
# and port, exact bytes (no trailing newline).
cli_golden_config() {
	local name=$1 port=$2 src=foo
	[ "$name" = baz ] && src=baz
	sed -e "s|$REF_STORE|$STORE|g" -e "s/\"$src\"/\"$name\"/g" \
		-e "s|/machines/$src\"|/machines/$name\"|g" -e "s|/machines/$src/|/machines/$name/|g" \
		-e "s/:5237[0-9]/:$port/g" "$GOLDEN/store-example/$src.config.json"
}

# cli_write_machine NAME PORT: add machines/NAME as 0.16.2 wrote it.
cli_write_machine() {
	local d=$STORE/machines/$1
	mkdir -p "$d" && chmod 700 "$d"
	cli_golden_config "$1" "$2" >"$d/config.json"
	chmod 600 "$d/config.json"
}

# cli_setup_file: free ports, the fixture store at $STORE and its pristine
# copy.  Exports PORT_FOO PORT_BAR PORT_BAZ PORT_QUX STORE.
cli_setup_file() {
	local p
	p=$(cli_free_ports 4 | tr '\n' ' ')
	read -r PORT_FOO PORT_BAR PORT_BAZ PORT_QUX <<<"$p"
	export PORT_FOO PORT_BAR PORT_BAZ PORT_QUX
	export STORE=$BATS_FILE_TMPDIR/machine
	rm -rf "$STORE" "$STORE.pristine"
	mkdir -p "$STORE" && chmod 700 "$STORE"
	# RSA keys are slow to make: one CA per bats run, copied into each store
	if [ ! -f "$BATS_RUN_TMPDIR/ca/cert.pem" ]; then
		cli_make_ca "$BATS_RUN_TMPDIR/ca.$$" &&
			{ mv -T "$BATS_RUN_TMPDIR/ca.$$" "$BATS_RUN_TMPDIR/ca" 2>/dev/null || rm -rf "$BATS_RUN_TMPDIR/ca.$$"; }
	fi
	cp -a "$BATS_RUN_TMPDIR/ca" "$STORE/certs"
	mkdir -p "$STORE/machines" && chmod 700 "$STORE/machines"
	cli_write_machine foo "$PORT_FOO"
	cli_write_machine bar "$PORT_BAR"
	cli_write_machine baz "$PORT_BAZ"
	cli_write_machine qux "$PORT_QUX"
	cp -a "$STORE" "$STORE.pristine"
}

# cli_env: the transcripts' environment (README of the golden files).
cli_env() {
	local v
	for v in $(compgen -e); do
		case $v in
		DOCKER_* | MACHINE_* | NO_PROXY | no_proxy | [Hh][Tt][Tt][Pp]*_[Pp][Rr][Oo][Xx][Yy] | \
			ALL_PROXY | all_proxy | DM_*) unset "$v" ;;
		esac
	done
	export MACHINE_STORAGE_PATH=$STORE SHELL=/bin/bash MACHINE_BUGSNAG_API_TOKEN=no-report
	export HOME=$BATS_TEST_TMPDIR/home LC_ALL=C
	mkdir -p "$HOME"
	export DM_LIBEXECDIR="$CLI_BINDIR:$TOP/drivers"
	export PATH="$CLI_BINDIR:$TOP/drivers:$PATH"
}

# cli_setup: fresh store from the fixture, clean environment, stdin closed.
cli_setup() {
	cli_env
	if [ ! -x "$CLI_BINDIR/docker-machine" ]; then
		echo "$CLI_BINDIR/docker-machine is not built (run make)" >&2
		return 1
	fi
	rm -rf "$STORE"
	cp -a "$STORE.pristine" "$STORE"
	CLI_BG_PIDS=()
	exec </dev/null
}

# cli_bg CMD...: start CMD in the background, killed by cli_teardown.
# fd 3 (bats' TAP stream) is closed so a leftover child cannot hang bats.
cli_bg() {
	"$@" 3>&- &
	CLI_BG_PIDS+=("$!")
}

cli_teardown() {
	local p
	for p in "${CLI_BG_PIDS[@]}"; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	CLI_BG_PIDS=()
}

# cli_hang_listener PORT: a socket on 127.0.0.1:PORT that accepts and never
# answers (the transcripts' phase C).  Returns once it listens.
cli_hang_listener() {
	local ready=$BATS_TEST_TMPDIR/listen.$1
	cli_bg python3 -c '
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(64)
open(sys.argv[2], "w").close()
conns = []
end = time.time() + 60
while time.time() < end:
    s.settimeout(1)
    try:
        conns.append(s.accept()[0])
    except OSError:
        pass
' "$1" "$ready"
	for _ in $(seq 100); do
		[ -e "$ready" ] && return 0
		sleep 0.05
	done
	echo "listener on port $1 did not start" >&2
	return 1
}

# cli_add_broken: phase D's broken entries: machines/broken with an empty
# config.json and machines/empty without one.
cli_add_broken() {
	mkdir -m 700 "$STORE/machines/broken" "$STORE/machines/empty"
	: >"$STORE/machines/broken/config.json"
	chmod 600 "$STORE/machines/broken/config.json"
}

# run_prog PROG ARGS...: run with stdout and stderr captured separately.
run_prog() {
	DM_OUT=$BATS_TEST_TMPDIR/dm.out DM_ERR=$BATS_TEST_TMPDIR/dm.err
	status=0
	timeout -k 2 "$DM_TIMEOUT" "$@" >"$DM_OUT" 2>"$DM_ERR" || status=$?
	output=$(cat "$DM_OUT")
	stderr=$(cat "$DM_ERR")
	# bats prints this when the test fails
	printf '# %s -> exit %s\n# stdout:\n%s\n# stderr:\n%s\n' "$*" "$status" "$output" "$stderr" >&2
}

run_dm() {
	run_prog docker-machine "$@"
}

# run_sh 'SHELL TEXT': for pipelines between our binaries.
run_sh() {
	run_prog bash -c "$1"
}

# cli_subst FILE: golden text with our store path and ports.
cli_subst() {
	sed -e "s|$REF_STORE|$STORE|g" -e "s/52376/$PORT_FOO/g" -e "s/52377/$PORT_BAR/g" \
		-e "s/52378/$PORT_BAZ/g" -e "s/52379/$PORT_QUX/g" "$1"
}

# Normalisation applied to both sides: the build id of version output, and
# the help lines of flags this project adds to 0.16.2's commands (DESIGN §4
# --json, §6 --tls-key-type, §8 --show-secrets), so command help is compared
# on 0.16.2's flags.
cli_norm() {
	sed -e 's/, build [0-9a-zA-Z]\{1,40\}$/, build BUILD/' \
		-e '/^   --json\t/d' -e '/^   --tls-key-type /d' -e '/^   --show-secrets\t/d' "$@"
}

# expect_transcript NAME [--exit N] [--sed EXPR]... [--stdout-only]
#   [--stderr-only]: our last run_* must match the golden transcript NAME.
#   --exit overrides the exit code (deliberate differences, DESIGN §8);
#   --sed applies EXPR to both sides (e.g. response times).
expect_transcript() {
	local name=$1 want_exit seds=() cmp_out=1 cmp_err=1 ok=0
	shift
	[ -e "$GOLDEN/$name.out" ] || { echo "no golden file $name.out" >&2; return 1; }
	want_exit=$(awk -F'\t' -v n="$name" '$1 == n { print $2 }' "$GOLDEN/index.tsv")
	while [ $# -gt 0 ]; do
		case $1 in
		--exit) want_exit=$2; shift 2 ;;
		--sed) seds+=(-e "$2"); shift 2 ;;
		--stdout-only) cmp_err=0; shift ;;
		--stderr-only) cmp_out=0; shift ;;
		*) echo "expect_transcript: bad option $1" >&2; return 1 ;;
		esac
	done
	[ ${#seds[@]} -gt 0 ] || seds=(-e '')
	local w=$BATS_TEST_TMPDIR/want g=$BATS_TEST_TMPDIR/got s
	for s in out err; do
		cli_subst "$GOLDEN/$name.$s" | cli_norm | sed "${seds[@]}" >"$w.$s"
	done
	cli_norm "$DM_OUT" | sed "${seds[@]}" >"$g.out"
	cli_norm "$DM_ERR" | sed "${seds[@]}" >"$g.err"
	if [ "$status" != "$want_exit" ]; then
		echo "exit status: want $want_exit, got $status" >&2
		ok=1
	fi
	if [ $cmp_out = 1 ] && ! cmp -s "$w.out" "$g.out"; then
		echo "stdout differs from golden/$name.out (- want, + got):" >&2
		diff -u --label want --label got "$w.out" "$g.out" | cat -A | sed 's/^/  /' >&2
		ok=1
	fi
	if [ $cmp_err = 1 ] && ! cmp -s "$w.err" "$g.err"; then
		echo "stderr differs from golden/$name.err (- want, + got):" >&2
		diff -u --label want --label got "$w.err" "$g.err" | cat -A | sed 's/^/  /' >&2
		ok=1
	fi
	return $ok
}

# expect_golden_text NAME STREAM TEXT-FILE: compare a file to one golden stream.
expect_same() {
	if ! cmp -s "$1" "$2"; then
		echo "differs (- want, + got):" >&2
		diff -u --label want --label got "$1" "$2" | cat -A | sed 's/^/  /' >&2
		return 1
	fi
}

# store_snapshot FILE: every path under $STORE with size, mode and mtime.
store_snapshot() {
	(cd "$STORE" 2>/dev/null && find . -printf '%p %s %m %T@\n' | sort) >"$1"
}

# expect_store_unchanged FILE: $STORE is as store_snapshot FILE saw it.
expect_store_unchanged() {
	local now=$BATS_TEST_TMPDIR/snap.now
	store_snapshot "$now"
	if ! cmp -s "$1" "$now"; then
		echo "the store changed:" >&2
		diff -u --label before --label after "$1" "$now" | sed 's/^/  /' >&2
		return 1
	fi
}

# expect_one_line_error: non-zero exit, one non-empty stderr line, no stdout
# dump of help or a Go-style trace.
expect_one_line_error() {
	if [ "$status" = 0 ]; then
		echo "want a non-zero exit, got 0" >&2
		return 1
	fi
	if [ -z "$stderr" ] || [ "$(printf '%s\n' "$stderr" | wc -l)" -ne 1 ]; then
		echo "want exactly one line on stderr, got: <$stderr>" >&2
		return 1
	fi
}

# seconds since the epoch with milliseconds
now_ms() {
	date +%s%3N
}
