#!/usr/bin/env bats
# Shell completions in real shells: bash (with and without bash-completion),
# zsh (compsys through zpty), fish (complete -C); PowerShell checked as text.
# One table of command lines -> expected candidates drives every shell.

load ../lib/cli
load ../lib/complete-harness

setup_file() {
	export CSTORE=$BATS_FILE_TMPDIR/cstore
	export CFILES=$BATS_FILE_TMPDIR/files
	mkdir -p "$CFILES/sub" && : >"$CFILES/alpha.txt" && : >"$CFILES/another.txt"
	(
		cli_env
		export MACHINE_STORAGE_PATH=$CSTORE
		for n in alpha beta gamma; do
			"$TOP/bin/docker-machine" create -d none --url "tcp://127.0.0.1:1" "$n" >/dev/null ||
				{ echo "create -d none $n failed" >&2; exit 1; }
		done
	)
}

setup() {
	cli_env
	export MACHINE_STORAGE_PATH=$CSTORE
	COMPLETIONS=$TOP/completions
}

drivers() {
	local d
	for d in "$TOP"/drivers/dm-driver-*; do
		case $d in *.c | *.o) continue ;; esac
		[ -x "$d" ] && printf '%s%s\n' "$1" "${d##*/dm-driver-}"
	done
}

# The table: LINE <TAB> expected candidates (full words, space-separated).
# Expectations that depend on the tree (drivers) are computed.
table() {
	local T=$'\t'
	cat <<EOF
docker-machine ${T}active config create env inspect ip kill ls provision regenerate-certs restart rm ssh scp mount start status stop upgrade url version help
docker-machine stat${T}status
docker-machine r${T}regenerate-certs restart rm
docker-machine --st${T}--storage-path
docker-machine -${T}--debug -D --storage-path -s --tls-ca-cert --tls-ca-key --tls-client-cert --tls-client-key --github-api-token --native-ssh --bugsnag-api-token --help -h --version -v
docker-machine -D ls --fi${T}--filter
docker-machine ls --fi${T}--filter
docker-machine ls --filter ${T}driver= label= name= state= swarm=
docker-machine ls --filter driver=${T}$(drivers driver= | tr '\n' ' ')
docker-machine ls --filter state=${T}state=Running state=Paused state=Saved state=Stopped state=Stopping state=Starting state=Error state=Timeout
docker-machine ls --filter name=a${T}name=alpha
docker-machine ls --filter=na${T}--filter=name=
dm-ls --filter state=R${T}state=Running
docker-machine env ${T}alpha beta gamma
docker-machine env --shell ${T}bash cmd emacs fish powershell sh tcsh zsh
docker-machine env --shell=f${T}--shell=fish
docker-machine env --sh${T}--shell
dm-env --sh${T}--shell
dm-env g${T}gamma
docker-machine rm b${T}beta
docker-machine -s $CFILES/s${T}$CFILES/sub
docker-machine --storage-path=$CFILES/s${T}--storage-path=$CFILES/sub
docker-machine scp $CFILES/al${T}$CFILES/alpha.txt
docker-machine scp $CFILES/a${T}$CFILES/alpha.txt $CFILES/another.txt
docker-machine ssh ${T}alpha beta gamma
docker-machine ssh alpha ${T}--
docker-machine create -d ${T}$(drivers | tr '\n' ' ')
docker-machine create -d none --u${T}--url
docker-machine create --driver none --ur${T}--url
docker-machine create --tls-key-type ${T}ecdsa rsa
dm-create -d none --u${T}--url
