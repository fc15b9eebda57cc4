#!/usr/bin/env bats
# ssh.bats - dm-ssh, dm-scp and dm-driver-generic against real sshd hosts
# (systemd-nspawn on a private /24, see testbed/hosts.sh).  Skips loudly
# when the test bed cannot run here; every command is bounded by tb_run.

bats_require_minimum_version 1.5.0
load testbed/testbed

setup_file() { tb_setup_file 3; }
teardown_file() { tb_teardown_file; }

setup() {
	tb_setup
	tb_machine m1 "$TB_IP1"
	tb_machine m2 "$TB_IP2" docker
	tb_machine dead "$TB_DEAD_IP"
}

@test "ssh: remote exit status is our exit status" {
	for code in 0 1 3 42 255; do
		run tb_run dm-ssh m1 "exit $code"
		[ "$status" -eq "$code" ] || { echo "exit $code gave $status: $output"; return 1; }
	done
}

@test "ssh: command output on stdout, remote stderr on stderr" {
	run --separate-stderr tb_run dm-ssh m1 'echo out; echo err >&2'
	[ "$status" -eq 0 ]
	[ "$output" = out ]
	[[ "$stderr" == *err* ]]
}

@test "ssh: nothing after the name is a flag; one leading -- is dropped" {
	run --separate-stderr tb_run dm-ssh m1 -- echo -n hi
	[ "$status" -eq 0 ]
	[ "$output" = hi ]
	run --separate-stderr tb_run dm-ssh m1 echo -h -- --help
	[ "$status" -eq 0 ]
	[ "$output" = "-h -- --help" ]
	run --separate-stderr tb_run dm-ssh m1 uname -n
	[ "$output" = "$TB_NAME1" ]
}

@test "ssh: words reach the remote shell as ssh joins them; stdin is passed" {
	run --separate-stderr tb_run dm-ssh m1 echo '$((6*7))'
	[ "$output" = 42 ]
	run --separate-stderr bash -c 'printf "a b\n" | timeout 30 dm-ssh m1 cat'
	[ "$status" -eq 0 ]
	[ "$output" = "a b" ]
}

@test "ssh: sudo user from the machine record" {
	run --separate-stderr tb_run dm-ssh m2 'id -un; sudo -n id -u'
	[ "$status" -eq 0 ]
	[ "$output" = "docker
0" ]
}

@test "ssh: first use pins the host's real key in machines/NAME/known_hosts" {
	kh=$STORE/machines/m1/known_hosts
	[ ! -e "$kh" ]
	run --separate-stderr tb_run dm-ssh m1 true
	[ "$status" -eq 0 ]
	[[ "$stderr" == *"no host key is pinned"*"$kh"* ]]
	[ "$(cat "$kh")" = "$(tb_pinned_line "$TB_IP1")" ]
	run --separate-stderr tb_run dm-ssh m1 true
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
}

@test "ssh: a changed host key is refused and the message names known_hosts" {
	kh=$STORE/machines/m2/known_hosts
	run tb_run dm-ssh m2 true
	[ "$status" -eq 0 ]
	# pin a key that is not the host's: the real one of another host
	sed "s/^$TB_IP1 /$TB_IP2 /" <(tb_pinned_line "$TB_IP1") > "$kh"
	run --separate-stderr tb_run dm-ssh m2 echo should-not-run
	[ "$status" -eq 255 ]
	[ -z "$output" ]
	[[ "$stderr" == *"REMOTE HOST IDENTIFICATION HAS CHANGED"* ]]
	[[ "$stderr" == *"$kh"* ]]
	# the native client refuses too, in our words
	MACHINE_NATIVE_SSH=1 run --separate-stderr tb_run dm-ssh m2 echo should-not-run
	[ "$status" -eq 255 ]
	[ -z "$output" ]
	[[ "$stderr" == *"does not match the one pinned in $kh"* ]]
	# and scp
	run --separate-stderr tb_run dm-scp m2:/etc/hostname "$BATS_TEST_TMPDIR/x"
	[ "$status" -ne 0 ]
	[[ "$stderr" == *"$kh"* ]]
	[ ! -e "$BATS_TEST_TMPDIR/x" ]
}

@test "ssh: a real host key change (rekeyed sshd) is refused" {
	tb_machine m3 "$TB_IP3"
	run tb_run dm-ssh m3 true
	[ "$status" -eq 0 ]
	run tb_run "$TB_DIR/hosts.sh" rekey "$TB_ST" "$TB_NAME3"
	[ "$status" -eq 0 ]
	run --separate-stderr tb_run dm-ssh m3 true
	[ "$status" -eq 255 ]
	[[ "$stderr" == *"Host key verification failed"* ]]
	[[ "$stderr" == *"$STORE/machines/m3/known_hosts"* ]]
}

@test "ssh: a machine whose host is down is not Running, quickly" {
	start=$(date +%s)
	run --separate-stderr tb_run dm-ssh dead true
	[ "$status" -eq 1 ]
	[ "$stderr" = 'Error: Cannot run SSH command: Host "dead" is not running' ]
	[ $(( $(date +%s) - start )) -le 6 ]
}

@test "ssh: unreachable host fails within the connect timeout (scp, no state check)" {
	start=$(date +%s)
	run --separate-stderr tb_run dm-scp -q "$BATS_TEST_TMPDIR" dead:/tmp/
	[ "$status" -ne 0 ]
	[ $(( $(date +%s) - start )) -le 15 ]
}

@test "ssh: --native-ssh (MACHINE_NATIVE_SSH) runs commands with status and stdin" {
	export MACHINE_NATIVE_SSH=1
	run --separate-stderr tb_run dm-ssh m1 'echo native; echo e >&2; exit 7'
	[ "$status" -eq 7 ]
	[ "$output" = native ]
	[[ "$stderr" == *e* ]]
	run --separate-stderr bash -c 'echo piped | timeout 30 dm-ssh m2 "cat; id -un"'
	[ "$status" -eq 0 ]
	[ "$output" = "piped
docker" ]
	[ "$(cat "$STORE/machines/m2/known_hosts")" = "$(tb_pinned_line "$TB_IP2")" ]
}

@test "scp: local -> machine -> local, and -r" {
	t=$BATS_TEST_TMPDIR
	printf 'one\ntwo $x `y`\n' > "$t/f"
	run tb_run dm-scp -q "$t/f" m1:/tmp/f
	[ "$status" -eq 0 ]
	run tb_run dm-scp -q m1:/tmp/f "$t/back"
	[ "$status" -eq 0 ]
	cmp "$t/f" "$t/back"
	mkdir -p "$t/d/sub"; echo deep > "$t/d/sub/x"
	run tb_run dm-scp -r -q "$t/d" m1:/tmp/
	[ "$status" -eq 0 ]
	run tb_run dm-ssh m1 cat /tmp/d/sub/x
	[ "$output" = deep ]
	run tb_run dm-scp -q "$t/d" m1:/tmp/d2
	[ "$status" -ne 0 ]      # a directory without -r
}

@test "scp: machine -> machine (-3) with user@ and per-machine known_hosts" {
	run tb_run dm-ssh m1 'echo hop > /tmp/hop'
	[ "$status" -eq 0 ]
	run --separate-stderr tb_run dm-scp -q m1:/tmp/hop docker@m2:/tmp/hop
	[ "$status" -eq 0 ]
	run tb_run dm-ssh m2 'cat /tmp/hop; stat -c %U /tmp/hop'
	[ "$output" = "hop
docker" ]
	# each machine's file holds only its own host's key
	[ "$(cat "$STORE/machines/m1/known_hosts")" = "$(tb_pinned_line "$TB_IP1")" ]
	[ "$(cat "$STORE/machines/m2/known_hosts")" = "$(tb_pinned_line "$TB_IP2")" ]
}

@test "scp: --delta uses rsync over the same ssh options" {
	t=$BATS_TEST_TMPDIR
	seq 1 1000 > "$t/big"
	run tb_run dm-scp -d -q "$t/big" m1:/tmp/big
	[ "$status" -eq 0 ]
	run tb_run dm-ssh m1 'wc -l < /tmp/big'
	[ "$output" = 1000 ]
	run --separate-stderr tb_run dm-scp --delta m1:/tmp/big docker@m2:/tmp/big
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"cannot copy between two machines"* ]]
}

@test "scp: wrong number of arguments" {
	run --separate-stderr tb_run dm-scp only-one
	[ "$status" -eq 1 ]
	[ "$stderr" = "Improper number of arguments" ]
	[[ "$output" == *"Usage:"* ]]
}

@test "generic: state and url of many hosts at once, answered as each is known" {
	ok=$(jq -c '.' "$STORE/machines/m1/config.json")
	dead=$(jq -c '.' "$STORE/machines/dead/config.json")
	start=$(date +%s%N)
	run --separate-stderr tb_run dm-driver-generic state <<<"$dead
$ok"
	ms=$(( ($(date +%s%N) - start) / 1000000 ))
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "{\"Name\":\"m1\",\"State\":\"Running\",\"URL\":\"tcp://$TB_IP1:2376\"}" ]
	[ "${lines[1]}" = '{"Name":"dead","State":"Stopped"}' ]
	[ "$ms" -lt 4000 ]
	run --separate-stderr tb_run dm-driver-generic url <<<"$ok"
	[ "$output" = "{\"Name\":\"m1\",\"URL\":\"tcp://$TB_IP1:2376\"}" ]
}

@test "testbed: docker.io is installed but not running; a local image runs with --pull never" {
	tbssh() {
		timeout 60 ssh -F /dev/null -i "$TB_ST/id_ed25519" -o IdentitiesOnly=yes -o BatchMode=yes \
			-o StrictHostKeyChecking=yes -o UserKnownHostsFile="$TB_ST/known_hosts" "root@$TB_IP3" "$@"
	}
	run tbssh 'command -v dockerd; systemctl is-active docker'
	[ "$output" = "/usr/sbin/dockerd
inactive" ]
	run tbssh 'ip route | grep -c default'
	[ "$output" = 0 ]          # no way off the test network
	run tbssh 'systemctl start docker && docker import - tb/busybox:local >/dev/null && docker run --pull never --rm tb/busybox:local echo from-container' < "$TB_ST/busybox.tar"
	[ "$status" -eq 0 ]
	[ "$output" = from-container ]
}

@test "generic: restart runs sudo shutdown -r over ssh (last: the host goes away)" {
	tb_machine m3 "$TB_IP3" docker
	run tb_run dm-ssh m3 true
	run --separate-stderr tb_run dm-driver-generic restart < "$STORE/machines/m3/config.json"
	[ "$status" -eq 0 ]
	[ "$output" = '{"OK":true}' ]
}
