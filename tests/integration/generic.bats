#!/usr/bin/env bats
# generic.bats - dm-driver-generic's protocol answers that need no host:
# describe, precreate-check, create (key copy), refused verbs, ip, ssh-info.
# Network: none (state probes here go to 127.0.0.1 only).

bats_require_minimum_version 1.5.0

setup() {
	TOP=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
	DRV=$TOP/drivers/dm-driver-generic
	[ -x "$DRV" ] || skip "dm-driver-generic not built"
	S=$BATS_TEST_TMPDIR/store
	mkdir -p "$S/machines/g"
	ssh-keygen -q -t ed25519 -N '' -f "$BATS_TEST_TMPDIR/key"
	chmod 644 "$BATS_TEST_TMPDIR/key"     # copied as 0600 whatever it was
}

# rec IP [KEY]: a create input with Flags
rec() {
	jq -nc --arg s "$S" --arg ip "$1" --arg k "${2-}" \
		'{Name:"g", Driver:{MachineName:"g", StorePath:$s, SwarmMaster:false,
		  SwarmHost:"tcp://0.0.0.0:3376", SwarmDiscovery:""},
		  Flags:{"generic-ip-address":$ip, "generic-ssh-key":$k, "generic-ssh-user":"root",
		         "generic-ssh-port":22, "generic-engine-port":2376}}'
}

@test "generic: describe lists the 0.16.2 flags with env vars and defaults" {
	run --separate-stderr timeout 10 "$DRV" describe
	[ "$status" -eq 0 ]
	[ "$(jq -r .Name <<<"$output")" = generic ]
	run jq -r '.Flags[] | "\(.Name) \(.Type) \(.EnvVar) \(.Value)"' <<<"$output"
	[ "$output" = "generic-engine-port int GENERIC_ENGINE_PORT 2376
generic-ip-address string GENERIC_IP_ADDRESS 
generic-ssh-key string GENERIC_SSH_KEY 
generic-ssh-port int GENERIC_SSH_PORT 22
generic-ssh-user string GENERIC_SSH_USER root" ]
}

@test "generic: precreate-check: missing key is exit 3, missing IP exit 1" {
	run --separate-stderr timeout 10 "$DRV" precreate-check <<<"$(rec 10.9.9.9 /no/such/key)"
	[ "$status" -eq 3 ]
	[ "$output" = '{"Error":"SSH key does not exist: \"/no/such/key\""}' ]
	run --separate-stderr timeout 10 "$DRV" precreate-check <<<"$(rec "")"
	[ "$status" -eq 1 ]
	[ "$output" = '{"Error":"generic driver requires the --generic-ip-address option"}' ]
	run --separate-stderr timeout 10 "$DRV" precreate-check <<<"$(rec 10.9.9.9 "$BATS_TEST_TMPDIR/key")"
	[ "$status" -eq 0 ]
	[ "$output" = '{"OK":true}' ]
}

@test "generic: create copies the key (0600) and emits the Go field names in order" {
	run --separate-stderr timeout 10 "$DRV" create <<<"$(rec 10.9.9.9 "$BATS_TEST_TMPDIR/key")"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = '{"Log":"Importing SSH key..."}' ]
	[ "$(jq -c '.Driver | keys_unsorted' <<<"${lines[1]}")" = \
	  '["IPAddress","MachineName","SSHUser","SSHPort","SSHKeyPath","StorePath","SwarmMaster","SwarmHost","SwarmDiscovery","EnginePort","SSHKey"]' ]
	[ "$(jq -r .Driver.SSHKeyPath <<<"${lines[1]}")" = "$S/machines/g/id_rsa" ]
	[ "$(jq -r .Driver.SSHKey <<<"${lines[1]}")" = "$BATS_TEST_TMPDIR/key" ]
	[ "$(jq -r .Driver.SSHPort <<<"${lines[1]}")" = 22 ]
	[ "${lines[2]}" = '{"OK":true}' ]
	[ "$(stat -c %a "$S/machines/g/id_rsa")" = 600 ]
	[ "$(stat -c %a "$S/machines/g/id_rsa.pub")" = 600 ]
	cmp "$BATS_TEST_TMPDIR/key" "$S/machines/g/id_rsa"
}

@test "generic: create without a key assumes the default one" {
	run --separate-stderr timeout 10 "$DRV" create <<<"$(rec 10.9.9.9 "")"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = '{"Log":"No SSH key specified. Assuming an existing key at the default location."}' ]
	[ "$(jq -r .Driver.SSHKeyPath <<<"${lines[1]}")" = "" ]
	[ ! -e "$S/machines/g/id_rsa" ]
}

@test "generic: start, stop, kill are refused; remove is a no-op" {
	for v in start stop kill; do
		run --separate-stderr timeout 10 "$DRV" "$v" </dev/null
		[ "$status" -eq 1 ]
		[ "$output" = "{\"Error\":\"generic driver does not support $v\"}" ]
	done
	run --separate-stderr timeout 10 "$DRV" remove <<<'{"Name":"g","Driver":{}}'
	[ "$status" -eq 0 ]
	[ "$output" = '{"OK":true}' ]
}

@test "generic: ip and ssh-info from the record" {
	h='{"Name":"g","Driver":{"IPAddress":"10.9.9.9","SSHUser":"docker","SSHPort":2222,"SSHKeyPath":"/k","StorePath":"/st","EnginePort":2376}}'
	run --separate-stderr timeout 10 "$DRV" ip <<<"$h
{\"Name\":\"n\",\"Driver\":{}}"
	[ "$status" -eq 1 ]
	[ "${lines[0]}" = '{"Name":"g","IP":"10.9.9.9"}' ]
	[ "${lines[1]}" = '{"Name":"n","Error":"IP address is not set"}' ]
	run --separate-stderr timeout 10 "$DRV" ssh-info <<<"$h"
	[ "$status" -eq 0 ]
	[ "$output" = '{"SSH":{"Host":"10.9.9.9","Port":2222,"User":"docker","KeyPath":"/k","KnownHosts":"/st/machines/g/known_hosts"}}' ]
}

@test "generic: state on loopback: Running when the port listens, Stopped when not" {
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	python3 -c 'import socket,sys,time; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1",int(sys.argv[1]))); s.listen(5); time.sleep(20)' "$port" 3>&- &
	pid=$!
	for i in $(seq 50); do ss -ltn | grep -q "127.0.0.1:$port " && break; sleep 0.1; done
	up="{\"Name\":\"up\",\"Driver\":{\"IPAddress\":\"127.0.0.1\",\"SSHPort\":$port}}"
	down='{"Name":"down","Driver":{"IPAddress":"127.0.0.1","SSHPort":1}}'
	run --separate-stderr timeout 10 "$DRV" state <<<"$up
$down"
	kill "$pid"
	[ "$status" -eq 0 ]
	[[ "$output" == *'{"Name":"up","State":"Running","URL":"tcp://127.0.0.1:2376"}'* ]]
	[[ "$output" == *'{"Name":"down","State":"Stopped"}'* ]]
}
