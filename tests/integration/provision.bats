#!/usr/bin/env bats
# provision.bats - create -d generic, provision, regenerate-certs and upgrade
# against real hosts (systemd-nspawn, systemd as PID 1, docker.io installed
# but stopped; see testbed/hosts.sh), driven with the real docker client
# over TLS.  Skips loudly when the test bed cannot run here; every command
# is bounded (tb_run, MACHINE_*_WAIT_TIMEOUT).  Tests build on each other
# in file order: m1 is made by the first one.

bats_require_minimum_version 1.5.0
load testbed/testbed

setup_file() {
	tb_setup_file 3
	export HOSTILE_LABEL="hostile=a b \$HOME \`id\` \"q\" 'x' \\ 100% ;"
	export HOSTILE_ENV="HOSTILE=x \$y \`z\` \"q\" 'r' \\ 50%
second line"
}
teardown_file() { tb_teardown_file; }

setup() {
	tb_setup
	command -v docker >/dev/null || skip "docker client not installed"
	for b in dm-create dm-provision dm-env dm-regenerate-certs dm-upgrade; do
		command -v "$b" >/dev/null || skip "$b not built"
	done
	export MACHINE_SSH_WAIT_TIMEOUT=20 MACHINE_DOCKER_WAIT_TIMEOUT=30
}

need() { [ -f "$STORE/machines/$1/config.json" ] || skip "machine $1 was not created (see above)"; }

# dk NAME ARGS...: the docker client pointed at machine NAME through `env`.
dk() {
	local m=$1
	shift
	(eval "$(timeout 30 docker-machine env "$m")" && timeout 30 docker "$@")
}

create_steps="Running pre-create checks...
Creating machine...
(m1) Importing SSH key...
Waiting for machine to be running, this may take a few minutes...
Detecting operating system of created instance...
Waiting for SSH to be available...
Detecting the provisioner...
Provisioning with debian...
Installing Docker...
Copying certs to the local machine directory...
Copying certs to the remote machine...
Setting Docker configuration on the remote daemon...
Checking connection to Docker...
Docker is up and running!
To see how to connect your Docker Client to the Docker Engine running on this virtual machine, run: docker-machine env m1"

@test "provision: create -d generic to a ready engine, 0.16.2's step messages" {
	t0=$(date +%s%N)
	run --separate-stderr tb_run docker-machine create -d generic \
		--generic-ip-address "$TB_IP1" --generic-ssh-key "$TB_ST/id_ed25519" \
		--engine-label "$HOSTILE_LABEL" --engine-env "$HOSTILE_ENV" --engine-opt log-driver=none \
		--engine-insecure-registry reg.test:5000 --engine-registry-mirror https://mirror.test \
		m1
	t1=$(date +%s%N)
	ms=$(( (t1 - t0) / 1000000 ))
	echo "# create -d generic m1 to a ready engine: $ms ms" >&3
	echo "stdout: $output"
	echo "stderr: $stderr"
	[ "$status" -eq 0 ]
	# the CA lines come first on a new store
	[ "$(grep -v '^Creating CA:\|^Creating client certificate:' <<<"$output")" = "$create_steps" ]
	# the budget (10 s) is for bench/; this only catches a create that waits
	# out a fixed timeout somewhere
	[ "$ms" -le 60000 ]
}

@test "provision: env + docker info: Name, provider=generic, every engine option arrives intact" {
	need m1
	run --separate-stderr dk m1 info --format '{{.Name}}'
	[ "$status" -eq 0 ]
	[ "$output" = m1 ]
	run --separate-stderr dk m1 info --format '{{json .Labels}}'
	[ "$status" -eq 0 ]
	[ "$(jq -r '.[]' <<<"$output" | sort)" = "$(printf '%s\n' "$HOSTILE_LABEL" provider=generic | sort)" ]
	run --separate-stderr dk m1 info --format '{{.LoggingDriver}} {{json .RegistryConfig.Mirrors}}'
	[ "$output" = 'none ["https://mirror.test/"]' ]
	run --separate-stderr dk m1 info --format '{{json .RegistryConfig.IndexConfigs}}'
	[ "$(jq -r '."reg.test:5000".Secure' <<<"$output")" = false ]
	# the engine's environment, byte for byte (newline included)
	run --separate-stderr tb_run docker-machine ssh m1 \
		'tr "\0" "\n" < /proc/$(pidof dockerd)/environ | sed -n "/^HOSTILE=/,/^second line/p"'
	[ "$status" -eq 0 ]
	[ "$output" = "$HOSTILE_ENV" ]
	# hostname and /etc/hosts
	run tb_run docker-machine ssh m1 'hostname; cat /etc/hostname; grep "^127.0.1.1" /etc/hosts'
	[ "$output" = "m1
m1
127.0.1.1 m1" ]
	# remote key is not world-readable; certs are where the drop-in says
	run tb_run docker-machine ssh m1 'stat -c "%a %n" /etc/docker/ca.pem /etc/docker/server.pem /etc/docker/server-key.pem'
	[ "$output" = "644 /etc/docker/ca.pem
644 /etc/docker/server.pem
600 /etc/docker/server-key.pem" ]
}

@test "provision: docker run --pull never of a locally imported image" {
	need m1
	run --separate-stderr bash -c "$(declare -f dk); dk m1 import - tb/busybox:local < '$TB_ST/busybox.tar'"
	[ "$status" -eq 0 ]
	run --separate-stderr dk m1 run --rm --pull never tb/busybox:local sh -c 'echo hello; hostname -s | wc -c'
	echo "$output $stderr"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = hello ]
}

@test "provision: create pinned the host's real SSH key; server cert SANs" {
	need m1
	[ "$(cat "$STORE/machines/m1/known_hosts")" = "$(tb_pinned_line "$TB_IP1")" ]
	run openssl x509 -in "$STORE/machines/m1/server.pem" -noout -ext subjectAltName -subject
	[[ "$output" == *"IP Address:$TB_IP1"* ]]
	[[ "$output" == *"DNS:m1"* ]]
	[[ "$output" == *"DNS:localhost"* ]]
	[[ "$output" == *"O=$USER.m1"* || "$output" == *"O = ${USER:-unknown}.m1"* ]]
}

@test "provision: provision NAME re-provisions an existing machine (idempotent)" {
	need m1
	old=$(sha256sum < "$STORE/machines/m1/server.pem")
	run --separate-stderr tb_run docker-machine provision m1
	echo "$output $stderr"
	[ "$status" -eq 0 ]
	[ "$output" = "Waiting for SSH to be available...
Detecting the provisioner...
Provisioning with debian...
Installing Docker...
Copying certs to the local machine directory...
Copying certs to the remote machine...
Setting Docker configuration on the remote daemon..." ]
	[ "$(sha256sum < "$STORE/machines/m1/server.pem")" != "$old" ]
	run dk m1 info --format '{{.Name}}'
	[ "$output" = m1 ]
}

@test "provision: regenerate-certs prompts; -f regenerates; --client-certs rotates the CA" {
	need m1
	run --separate-stderr bash -c 'echo n | timeout 30 docker-machine regenerate-certs m1'
	[ "$status" -eq 0 ]
	[ "$output" = "Regenerate TLS machine certs?  Warning: this is irreversible. (y/n): " ]
	old=$BATS_TEST_TMPDIR/old
	mkdir -p "$old"
	cp "$STORE/certs/ca.pem" "$STORE/certs/cert.pem" "$STORE/certs/key.pem" "$old/"
	run --separate-stderr tb_run docker-machine regenerate-certs -f m1
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "Regenerating TLS certificates" ]
	cmp "$old/ca.pem" "$STORE/certs/ca.pem"          # the CA stays without --client-certs
	run dk m1 info --format '{{.Name}}'
	[ "$output" = m1 ]

	run --separate-stderr tb_run docker-machine regenerate-certs -f --client-certs m1
	echo "$output $stderr"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "Regenerating TLS certificates" ]
	[ "${lines[1]}" = "Regenerating local certificates" ]
	! cmp -s "$old/ca.pem" "$STORE/certs/ca.pem"
	! cmp -s "$old/cert.pem" "$STORE/certs/cert.pem"
	cmp "$STORE/certs/ca.pem" "$STORE/machines/m1/ca.pem"
	run dk m1 info --format '{{.Name}}'
	[ "$status" -eq 0 ]
	[ "$output" = m1 ]
	# the old client certificate is refused by the engine now
	run timeout 20 docker --tlsverify --tlscacert "$STORE/certs/ca.pem" --tlscert "$old/cert.pem" \
		--tlskey "$old/key.pem" -H "tcp://$TB_IP1:2376" info --format '{{.Name}}'
	[ "$status" -ne 0 ]
	# TLS 1.3 reports the engine's refusal after the handshake: as an alert
	# ("bad certificate") or, depending on timing, as the closed connection
	[[ "$output" == *"certificate"* || "$output" == *"tls:"* || "$output" == *"reset by peer"* ||
	   "$output" == *"EOF"* ]]
}

@test "provision: a sudo user (docker@), two machines provisioned in parallel" {
	need m1
	run --separate-stderr tb_run docker-machine create -d generic --generic-ip-address "$TB_IP2" \
		--generic-ssh-key "$TB_ST/id_ed25519" --generic-ssh-user docker m2
	echo "$output $stderr"
	[ "$status" -eq 0 ]
	run dk m2 info --format '{{.Name}}'
	[ "$output" = m2 ]
	t0=$(date +%s%N)
	run --separate-stderr tb_run docker-machine provision m1 m2
	echo "# provision m1 m2 in parallel: $(( ($(date +%s%N) - t0) / 1000000 )) ms" >&3
	echo "$output $stderr"
	[ "$status" -eq 0 ]
	[ "$(grep -c '^Provisioning with debian...$' <<<"$output")" -eq 2 ]
	run dk m2 info --format '{{.Name}}'
	[ "$output" = m2 ]
}

@test "provision: OS detection reads the machine's os-release (faked on host 3)" {
	run --separate-stderr tb_run docker-machine create -d generic --generic-ip-address "$TB_IP3" \
		--generic-ssh-key "$TB_ST/id_ed25519" m3
	[ "$status" -eq 0 ]
	fake() { tb_run docker-machine ssh m3 "rm -f /etc/os-release && printf '$1' > /etc/os-release"; }
	fake 'ID=gentoo\nNAME=Gentoo\n'
	run --separate-stderr tb_run docker-machine provision m3
	[ "$status" -eq 1 ]
	[ "$stderr" = "OS type not recognized" ]
	fake 'NAME="Ubuntu"\nVERSION_ID="22.04"\nID=ubuntu\nID_LIKE=debian\n'
	run --separate-stderr tb_run docker-machine provision m3
	echo "$output $stderr"
	[ "$status" -eq 0 ]
	[[ "$output" == *"Provisioning with ubuntu(systemd)..."* ]]
	fake '# junk\nnot a line\nID="mystery"\nID_LIKE="nosuch debian"\n'
	run --separate-stderr tb_run docker-machine provision m3
	[ "$status" -eq 0 ]
	[[ "$output" == *"Provisioning with debian..."* ]]
	run dk m3 info --format '{{.Name}}'
	[ "$output" = m3 ]
}

@test "provision: an unreachable machine fails within the configured wait; create rolls back" {
	tb_machine dead "$TB_DEAD_IP"
	export MACHINE_SSH_WAIT_TIMEOUT=3
	t0=$(date +%s)
	run --separate-stderr tb_run docker-machine provision dead
	echo "$output $stderr"
	[ "$status" -eq 1 ]
	# a 0.16.2 store has no pinned key: trusted on first use, and said so
	[[ "${stderr_lines[0]}" == "Warning: no host key is pinned for \"dead\" yet"* ]]
	[[ "${stderr_lines[1]}" == "Too many retries waiting for SSH to be available.  Last error: "* ]]
	[ $(( $(date +%s) - t0 )) -le 10 ]
	run --separate-stderr tb_run docker-machine create -d generic --generic-ip-address "$TB_DEAD_IP" \
		--generic-ssh-key "$TB_ST/id_ed25519" gone
	echo "$output $stderr"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"Error creating machine: Error waiting for machine to be running"* ]]
	[ ! -e "$STORE/machines/gone" ]
}

@test "provision: upgrade reports the version and a no-op as such" {
	need m1
	run --separate-stderr tb_run docker-machine upgrade m1
	echo "$output $stderr"
	[ "$status" -eq 0 ]
	[[ "$output" == *"Docker version before the upgrade: "* ]]
	[[ "$output" == *"Upgrading docker..."* ]]
	[[ "$output" == *"is already the newest version available: nothing was upgraded"* ]]
	run dk m1 info --format '{{.Name}}'
	[ "$output" = m1 ]
}
