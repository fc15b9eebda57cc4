# shellcheck shell=bash
# tests/integration/testbed/testbed.bash - bats helpers for tests against
# real sshd hosts (systemd-nspawn, see hosts.sh).
#
# A .bats file does:
#     load testbed/testbed
#     setup_file()    { tb_setup_file 2; }   # boot 2 hosts once for the file
#     teardown_file() { tb_teardown_file; }
#     setup()         { tb_setup; }          # skips loudly when no test bed
#
# After tb_setup_file: $TB_ST (hosts.sh state dir: id_ed25519, known_hosts,
# hosts, busybox.tar), $TB_IP1..$TB_IPn, $TB_NAME1..n, $TB_DEAD_IP (an
# address on the test network where nothing answers), $STORE (an empty
# machine store, MACHINE_STORAGE_PATH), PATH/DM_LIBEXECDIR to the tree's
# binaries.  tb_machine writes a generic-driver machine into $STORE.
# Every command a test runs should go through `run tb_run …` (a timeout).
# Env: TB_DISABLE=1 skips every test bed test;
#      TB_SKIP_BUILD=1 never builds the rootfs (skip when not cached);
#      TB_BUILD_TIMEOUT (default 900 s), TB_RUN_TIMEOUT (default 60 s).

TB_TOP=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
TB_DIR=$TB_TOP/tests/integration/testbed

tb_setup_file() {
	local n=${1:-2} why root i
	export TB_SKIP=
	export PATH="$TB_TOP/bin:$TB_TOP/drivers:$PATH"
	export DM_LIBEXECDIR="$TB_TOP/bin:$TB_TOP/drivers"
	export STORE=$BATS_FILE_TMPDIR/machine
	export TB_ST=$BATS_FILE_TMPDIR/tb
	if [ -n "${TB_DISABLE:-}" ]; then
		TB_SKIP="test bed disabled (TB_DISABLE is set)"
		return 0
	fi
	if ! why=$("$TB_DIR/hosts.sh" check 2>&1); then
		TB_SKIP="test bed unavailable: $why"
		return 0
	fi
	for b in dm-ssh dm-scp dm-driver-generic; do
		command -v "$b" >/dev/null || { TB_SKIP="test bed: $b not built"; return 0; }
	done
	if [ -n "${TB_SKIP_BUILD:-}" ]; then
		root=$(TB_CACHE=${TB_CACHE:-} "$TB_DIR/build-rootfs.sh" --key)
		root=${TB_CACHE:-/var/cache/dm-testbed}/rootfs-$root
		[ -f "$root/.complete" ] || { TB_SKIP="test bed: rootfs not cached and TB_SKIP_BUILD set"; return 0; }
	elif ! root=$(timeout "${TB_BUILD_TIMEOUT:-900}" "$TB_DIR/build-rootfs.sh" 2>"$BATS_FILE_TMPDIR/build.err" 3>&-); then
		TB_SKIP="test bed: rootfs build failed: $(tail -3 "$BATS_FILE_TMPDIR/build.err" | tr '\n' ' ')"
		return 0
	fi
	# Two tries: a boot that fails once (seen after a long VM test on a
	# 2-core machine) gets a clean second go on a fresh slot.
	local try
	for try in 1 2; do
		if timeout 120 "$TB_DIR/hosts.sh" up "$TB_ST" "$n" "$root" >"$BATS_FILE_TMPDIR/hosts.out" \
			2>"$BATS_FILE_TMPDIR/hosts.err" 3>&-; then
			break
		fi
		cat "$BATS_FILE_TMPDIR/hosts.err" >>"$BATS_FILE_TMPDIR/hosts.err.all"
		timeout 60 "$TB_DIR/hosts.sh" down "$TB_ST" 3>&- || true
		rm -rf "$TB_ST"
		if [ $try -eq 2 ]; then
			TB_SKIP="test bed: hosts did not boot (twice): $(tail -5 "$BATS_FILE_TMPDIR/hosts.err" | tr '\n' ' ')"
			return 0
		fi
		echo "# test bed: first boot failed, trying again: $(tail -3 "$BATS_FILE_TMPDIR/hosts.err" | tr '\n' ' ')" >&3
	done
	echo "# $(tail -1 "$BATS_FILE_TMPDIR/hosts.err")" >&3
	i=1
	while read -r name ip; do
		export "TB_NAME$i=$name" "TB_IP$i=$ip"
		i=$((i + 1))
	done < "$TB_ST/hosts"
	export TB_DEAD_IP=${TB_IP1%.*}.250
	mkdir -p "$STORE/machines" "$STORE/certs"
}

tb_teardown_file() {
	[ -n "${TB_ST:-}" ] && [ -d "$TB_ST" ] && timeout 60 "$TB_DIR/hosts.sh" down "$TB_ST" 3>&-
	return 0
}

tb_setup() {
	[ -z "${TB_SKIP:-}" ] || skip "$TB_SKIP"
	export MACHINE_STORAGE_PATH=$STORE HOME=$BATS_TEST_TMPDIR/home LC_ALL=C
	unset MACHINE_NATIVE_SSH DOCKER_HOST DOCKER_TLS_VERIFY DOCKER_CERT_PATH
	mkdir -p "$HOME"
}

# tb_run CMD...: CMD bounded by $TB_RUN_TIMEOUT seconds (exit 124 when over).
tb_run() { timeout -k 5 "${TB_RUN_TIMEOUT:-60}" "$@"; }

# tb_machine NAME IP [USER] [KEY|""] [SSHPORT]: a generic machine in $STORE,
# made by dm-driver-generic create (the key is copied into the machine dir).
tb_machine() {
	local name=$1 ip=$2 user=${3:-root} key=${4-$TB_ST/id_ed25519} port=${5:-22} drv
	rm -rf "${STORE:?}/machines/$name"
	mkdir -p "$STORE/machines/$name"
	drv=$(jq -nc --arg n "$name" --arg s "$STORE" --arg ip "$ip" --arg k "$key" --arg u "$user" \
		--argjson p "$port" \
		'{Name:$n, Driver:{MachineName:$n, StorePath:$s, SwarmMaster:false, SwarmHost:"", SwarmDiscovery:""},
		  Flags:{"generic-ip-address":$ip, "generic-ssh-key":$k, "generic-ssh-user":$u,
		         "generic-ssh-port":$p, "generic-engine-port":2376}}' |
		timeout 20 dm-driver-generic create | jq -c 'select(.Driver) | .Driver') || return 1
	jq -n --argjson d "$drv" --arg n "$name" --arg s "$STORE" \
		'{ConfigVersion:3, Driver:$d, DriverName:"generic",
		  HostOptions:{Driver:"", Memory:0, Disk:0,
		    EngineOptions:{ArbitraryFlags:[], Dns:null, GraphDir:"", Env:[], Ipv6:false,
		      InsecureRegistry:[], Labels:[], LogLevel:"", StorageDriver:"", SelinuxEnabled:false,
		      TlsVerify:true, RegistryMirror:[], InstallURL:"https://get.docker.com"},
		    SwarmOptions:{IsSwarm:false, Address:"", Discovery:"", Agent:false, Master:false,
		      Host:"tcp://0.0.0.0:3376", Image:"swarm:latest", Strategy:"spread", Heartbeat:0,
		      Overcommit:0, ArbitraryFlags:[], ArbitraryJoinFlags:[], Env:null, IsExperimental:false},
		    AuthOptions:{CertDir:($s + "/certs"), CaCertPath:($s + "/certs/ca.pem"),
		      CaPrivateKeyPath:($s + "/certs/ca-key.pem"), CaCertRemotePath:"",
		      ServerCertPath:($s + "/machines/" + $n + "/server.pem"),
		      ServerKeyPath:($s + "/machines/" + $n + "/server-key.pem"),
		      ClientKeyPath:($s + "/certs/key.pem"), ServerCertRemotePath:"", ServerKeyRemotePath:"",
		      ClientCertPath:($s + "/certs/cert.pem"), ServerCertSANs:[],
		      StorePath:($s + "/machines/" + $n)}},
		  Name:$n}' > "$STORE/machines/$name/config.json"
	chmod 600 "$STORE/machines/$name/config.json"
}

# tb_pinned_line IP: the host's real key line from the test bed (for comparisons).
tb_pinned_line() { grep "^$1 " "$TB_ST/known_hosts"; }
