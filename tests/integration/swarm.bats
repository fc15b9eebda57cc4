#!/usr/bin/env bats
# swarm.bats - the --swarm* flags on Docker's swarm mode against 3 real hosts
# (systemd-nspawn on 10.231.X.0/24, see testbed/hosts.sh): a master and two
# nodes made with create -d generic, checked with the real docker client
# over TLS.  Skips loudly when the test bed cannot run here; every command
# is bounded (tb_run, MACHINE_*_WAIT_TIMEOUT).  Tests build on each other in
# file order.

bats_require_minimum_version 1.5.0
load testbed/testbed

setup_file() {
	tb_setup_file 3
}
teardown_file() { tb_teardown_file; }

setup() {
	tb_setup
	command -v docker >/dev/null || skip "docker client not installed"
	for b in dm-create dm-provision dm-env dm-ls dm-rm; do
		command -v "$b" >/dev/null || skip "$b not built"
	done
	export MACHINE_SSH_WAIT_TIMEOUT=20 MACHINE_DOCKER_WAIT_TIMEOUT=30 TB_RUN_TIMEOUT=90
}

need() {
	for m in "$@"; do
		[ -f "$STORE/machines/$m/config.json" ] || skip "machine $m was not created (see above)"
	done
}

# dk [--swarm] NAME ARGS...: the docker client pointed at NAME through `env`.
dk() {
	local sw=
	[ "$1" = --swarm ] && { sw=--swarm; shift; }
	local m=$1
	shift
	(eval "$(timeout 30 docker-machine env $sw "$m")" && timeout 30 docker "$@")
}

# on_host IP CMD: a command on a test host as root, outside docker-machine.
on_host() {
	timeout 30 ssh -F /dev/null -i "$TB_ST/id_ed25519" -o IdentitiesOnly=yes -o BatchMode=yes \
		-o ConnectTimeout=5 -o StrictHostKeyChecking=yes -o UserKnownHostsFile="$TB_ST/known_hosts" \
		"root@$1" "$2" </dev/null
}

create() { # NAME IP ARGS...
	local n=$1 ip=$2
	shift 2
	tb_run docker-machine create -d generic --generic-ip-address "$ip" \
		--generic-ssh-key "$TB_ST/id_ed25519" "$@" "$n"
}

@test "swarm: create --swarm-master initializes swarm mode on the master" {
	t0=$(date +%s%N)
	run --separate-stderr create sm1 "$TB_IP1" --swarm-master --swarm-discovery token://x
	echo "# create --swarm-master sm1: $(( ($(date +%s%N) - t0) / 1000000 )) ms" >&3
	echo "stdout: $output"
	echo "stderr: $stderr"
	[ "$status" -eq 0 ]
	grep -qx "Setting Docker configuration on the remote daemon..." <<<"$output"
	# the swarm step comes after the engine is up, before the final check
	[ "$(grep -A3 -x 'Setting Docker configuration on the remote daemon...' <<<"$output")" = \
"Setting Docker configuration on the remote daemon...
Configuring swarm...
Swarm initialized: \"sm1\" is its manager, advertised at $TB_IP1:2377
Checking connection to Docker..." ]
	[ -z "$stderr" ]
	run --separate-stderr dk sm1 info --format '{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}} {{.Swarm.NodeAddr}}'
	[ "$output" = "active true $TB_IP1" ]
}

@test "swarm: two --swarm nodes created at once join the master found in the store as workers" {
	need sm1
	t0=$(date +%s%N)
	create sn2 "$TB_IP2" --swarm --swarm-discovery token://x >"$BATS_TEST_TMPDIR/sn2.out" 2>&1 &
	p2=$!
	create sn3 "$TB_IP3" --swarm --swarm-discovery token://x >"$BATS_TEST_TMPDIR/sn3.out" 2>&1 &
	p3=$!
	s2=0 s3=0
	wait $p2 || s2=$?
	wait $p3 || s3=$?
	echo "# create --swarm sn2 + sn3 in parallel: $(( ($(date +%s%N) - t0) / 1000000 )) ms" >&3
	cat "$BATS_TEST_TMPDIR/sn2.out" "$BATS_TEST_TMPDIR/sn3.out"
	[ "$s2" -eq 0 ] && [ "$s3" -eq 0 ]
	grep -qx 'Joined the swarm of "sm1" as a worker' "$BATS_TEST_TMPDIR/sn2.out"
	grep -qx 'Joined the swarm of "sm1" as a worker' "$BATS_TEST_TMPDIR/sn3.out"
}

@test "swarm: docker node ls against the master shows 3 Ready nodes" {
	need sm1 sn2 sn3
	run --separate-stderr dk sm1 node ls --format '{{.Hostname}} {{.Status}} {{.ManagerStatus}}'
	echo "$output $stderr"
	[ "$status" -eq 0 ]
	[ "$(sort <<<"$output")" = "sm1 Ready Leader
sn2 Ready 
sn3 Ready " ]
	run --separate-stderr dk sn2 info --format '{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}'
	[ "$output" = "active false" ]
}

@test "swarm: ls SWARM column: master (master) on the master, master on its nodes; filter swarm=" {
	need sm1 sn2 sn3
	run --separate-stderr tb_run docker-machine ls --format '{{.Name}}|{{.Swarm}}'
	[ "$status" -eq 0 ]
	[ "$output" = "sm1|sm1 (master)
sn2|sm1
sn3|sm1" ]
	run --separate-stderr tb_run docker-machine ls
	[ "$status" -eq 0 ]
	echo "$output"
	[[ "${lines[0]}" == "NAME "*" SWARM "*" DOCKER "* ]]
	[[ "${lines[1]}" == "sm1 "*" tcp://$TB_IP1:2376 "*" sm1 (master) "* ]]
	[[ "${lines[2]}" == "sn2 "*" tcp://$TB_IP2:2376 "*" sm1 "* ]]
	run --separate-stderr tb_run docker-machine ls -q --filter swarm=SM1
	[ "$output" = "sm1
sn2
sn3" ]
}

@test "swarm: env --swarm points at the master's engine, the swarm manager" {
	need sm1
	run --separate-stderr tb_run docker-machine env --swarm sm1
	[ "$status" -eq 0 ]
	grep -qx "export DOCKER_HOST=\"tcp://$TB_IP1:2376\"" <<<"$output"
	run --separate-stderr dk --swarm sm1 info
	[ "$status" -eq 0 ]
	grep -q '^ Swarm: active$' <<<"$output"
	grep -q '^  Is Manager: true$' <<<"$output"
	run --separate-stderr tb_run docker-machine config --swarm sm1
	[ "$status" -eq 0 ]
	[ "${lines[4]}" = "-H=tcp://$TB_IP1:2376" ]
	# ls/active with that environment: the master's row is the active one
	run --separate-stderr bash -c "eval \"\$(docker-machine env --swarm sm1)\" &&
		docker-machine ls --format '{{.Name}}|{{.Active}}|{{.ActiveHost}}|{{.ActiveSwarm}}' &&
		docker-machine active"
	[ "$status" -eq 0 ]
	[ "$output" = "sm1|*|true|true
sn2|-|false|false
sn3|-|false|false
sm1" ]
}

@test "swarm: env --swarm on a node: 0.16.2's 'not a swarm master'" {
	need sn2
	run --separate-stderr tb_run docker-machine env --swarm sn2
	[ "$status" -eq 1 ]
	[ "$stderr" = 'Error checking TLS connection: "sn2" is not a swarm master. The --swarm flag is intended for use with swarm masters' ]
}

@test "swarm: provision of a member leaves its swarm as it is" {
	need sm1 sn2
	run --separate-stderr tb_run docker-machine provision sm1 sn2
	echo "$output $stderr"
	[ "$status" -eq 0 ]
	grep -q '^Swarm: "sm1" is already a swarm manager (node [a-z0-9]*): left as it is$' <<<"$output"
	grep -q '^Swarm: "sn2" is already a swarm worker (node [a-z0-9]*): left as it is$' <<<"$output"
	run --separate-stderr dk sm1 node ls -q
	[ "${#lines[@]}" -eq 3 ]
}

@test "swarm: rm of a node: it leaves the swarm and the master lists 2 nodes" {
	need sm1 sn3
	grep -q swarm_leave "$TB_TOP/bin/dm-rm.c" ||
		skip "dm-rm does not call swarm_leave yet (integration of lib/swarm.h pending)"
	run --separate-stderr tb_run docker-machine rm -y sn3
	echo "$output $stderr"
	[ "$status" -eq 0 ]
	[ ! -e "$STORE/machines/sn3" ]
	run --separate-stderr dk sm1 node ls --format '{{.Hostname}} {{.Status}}'
	echo "node ls: $output $stderr"
	[ "$(sort <<<"$output")" = "sm1 Ready
sn2 Ready" ]
	run on_host "$TB_IP3" "docker info --format '{{.Swarm.LocalNodeState}}'"
	[ "$output" = inactive ]
}

@test "swarm: a node without a master for its discovery fails and leaves nothing" {
	need sm1
	on_host "$TB_IP3" "docker swarm leave --force >/dev/null 2>&1; true"
	[ ! -e "$STORE/machines/sn3" ] || tb_run docker-machine rm -f -y sn3
	run --separate-stderr create sx "$TB_IP3" --swarm --swarm-discovery token://other
	echo "$output $stderr"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *'Error configuring swarm: no swarm master with discovery "token://other" in the store: create one first with --swarm-master --swarm-discovery token://other'* ]]
	[ ! -e "$STORE/machines/sx" ]
	run --separate-stderr create sx "$TB_IP3" --swarm --swarm-discovery nodes
	[ "$status" -eq 1 ]
	[[ "$stderr" == *'Error parsing swarm discovery: Swarm Discovery URL was in the wrong format: nodes'* ]]
	[ ! -e "$STORE/machines/sx" ]
}

@test "swarm: --swarm-experimental and classic-only flags: joined, experimental engine, warnings" {
	need sm1
	[ ! -e "$STORE/machines/sn3" ] || skip "sn3 still exists"
	run --separate-stderr create sn3 "$TB_IP3" --swarm --swarm-discovery token://x \
		--swarm-experimental --swarm-strategy binpack --swarm-image my/swarm:1 \
		--swarm-join-opt heartbeat=5s --swarm-join-opt advertise="$TB_IP3:2376"
	echo "$output"
	echo "stderr: $stderr"
	[ "$status" -eq 0 ]
	grep -qx 'Joined the swarm of "sm1" as a worker' <<<"$output"
	[ "$stderr" = 'Warning: --swarm-image "my/swarm:1": swarm mode is built into the engine, no image is run: ignored
Warning: --swarm-strategy "binpack": swarm mode always spreads tasks over the nodes: ignored
Warning: --swarm-join-opt "heartbeat=5s": a cluster setting, applied only when the swarm is created (by its first master): ignored' ]
	run --separate-stderr dk sn3 info --format '{{.ExperimentalBuild}} {{.Swarm.NodeAddr}}'
	[ "$output" = "true $TB_IP3" ]
	run --separate-stderr dk sm1 node ls -q
	[ "${#lines[@]}" -ge 3 ]
}

@test "swarm: a second --swarm-master joins as a manager; rm of the master hands over" {
	need sm1 sn2
	grep -q swarm_leave "$TB_TOP/bin/dm-rm.c" ||
		skip "dm-rm does not call swarm_leave yet (integration of lib/swarm.h pending)"
	tb_run docker-machine rm -y sn2
	on_host "$TB_IP2" "docker swarm leave --force >/dev/null 2>&1; true"
	run --separate-stderr create sm2 "$TB_IP2" --swarm-master --swarm-discovery token://x
	echo "$output $stderr"
	[ "$status" -eq 0 ]
	grep -qx 'Joined the swarm of "sm1" as a manager' <<<"$output"
	run --separate-stderr tb_run docker-machine rm -y sm1
	echo "$output $stderr"
	[ "$status" -eq 0 ]
	run --separate-stderr dk sm2 node ls --format '{{.Hostname}} {{.Status}} {{.ManagerStatus}}'
	echo "$output $stderr"
	[[ "$output" == *"sm2 Ready Leader"* ]]
	[[ "$output" != *sm1* ]]
}

@test "swarm: rm of the last manager: leaves with force, names the nodes left behind" {
	need sm2 sn3
	grep -q swarm_leave "$TB_TOP/bin/dm-rm.c" ||
		skip "dm-rm does not call swarm_leave yet (integration of lib/swarm.h pending)"
	run --separate-stderr tb_run docker-machine rm -y sm2
	echo "$output $stderr"
	[ "$status" -eq 0 ]
	[ "$stderr" = 'Warning: "sm2" was the last manager of its swarm: sn3 still belong to a swarm without a manager (docker swarm leave on them, or remove them)' ]
	run on_host "$TB_IP2" "docker info --format '{{.Swarm.LocalNodeState}}'"
	[ "$output" = inactive ]
	# a node whose swarm has no manager any more is removed without complaint
	run --separate-stderr tb_run docker-machine rm -y sn3
	[ "$status" -eq 0 ]
}
