# tests/lib/dockerd.sh - a real dockerd for tests, listening with TLS on 127.0.0.1.
#
# Source it (bash or POSIX sh), then:
#   pid=$(dockerd_start DIR PORT CA_CERT SERVER_CERT SERVER_KEY) || fail
#   docker --tlsverify --tlscacert CA --tlscert CERT --tlskey KEY -H tcp://127.0.0.1:PORT version
#   dockerd_stop DIR
#
# The daemon runs in the root network namespace (so the client reaches
# 127.0.0.1:PORT) with only the safe flags of the test bed (testbed README
# §5): no iptables, no ip forwarding, no masquerading, no bridge (so no
# docker0), its own data root, exec root, pidfile, unix socket and an empty
# config file and trust key under DIR, and a managed containerd of its own.  Nothing of the
# system's docker is read or touched.  Tests must still use `--pull never`:
# a pull would look the registry up through the system resolver.
#
# DIR should be short (unix socket paths are limited to 107 bytes), e.g.
# $(mktemp -d /tmp/dmd.XXXXXX).  Needs root, /usr/sbin/dockerd (Debian
# docker.io; DOCKERD overrides) and curl or the docker client for the
# readiness probe.  dockerd_start returns 1 with the log tail on stderr if
# the daemon exits or does not answer within DOCKERD_WAIT seconds (default
# 10); DIR is then cleaned up and removed as by dockerd_stop.

DOCKERD=${DOCKERD:-/usr/sbin/dockerd}

# dockerd_available: 0 when a daemon can be started here (root + dockerd).
dockerd_available() {
	[ "$(id -u)" = 0 ] && [ -x "$DOCKERD" ]
}

# _dockerd_ping DIR: 0 when the API answers on DIR/docker.sock.
_dockerd_ping() {
	if command -v curl >/dev/null 2>&1; then
		[ "$(curl -s --max-time 1 --unix-socket "$1/docker.sock" http://docker/_ping 2>/dev/null)" = OK ]
	else
		env -u DOCKER_TLS_VERIFY -u DOCKER_CERT_PATH -u DOCKER_CONTEXT \
			docker -H "unix://$1/docker.sock" version >/dev/null 2>&1
	fi
}

# _dockerd_ours DIR PID: 0 when PID is the dockerd started for DIR (guards
# against a recycled pid: never signal anything else).
_dockerd_ours() {
	[ -n "$2" ] && [ -r "/proc/$2/cmdline" ] &&
		tr '\0' '\n' <"/proc/$2/cmdline" | grep -qx -- "--pidfile=$1/docker.pid"
}

# dockerd_start DIR PORT CA_CERT SERVER_CERT SERVER_KEY: prints the pid.
dockerd_start() {
	_d=$1 _port=$2 _ca=$3 _cert=$4 _key=$5
	if [ $# -ne 5 ]; then
		echo "usage: dockerd_start DIR PORT CA_CERT SERVER_CERT SERVER_KEY" >&2
		return 2
	fi
	case $_d in *'"'* | *\\*)
		echo "dockerd_start: $_d: no quotes or backslashes, please" >&2
		return 1 ;;
	esac
	mkdir -p "$_d" || return 1
	_d=$(cd "$_d" && pwd) || return 1
	if [ ${#_d} -gt 80 ]; then
		echo "dockerd_start: $_d is too long for a unix socket path" >&2
		return 1
	fi
	mkdir -p "$_d/root" "$_d/exec" || return 1
	# Its own config file (not /etc/docker/daemon.json), and the trust key
	# under DIR instead of /etc/docker/key.json.
	printf '{ "deprecated-key-path": "%s/key.json" }\n' "$_d" >"$_d/daemon.json"
	# setsid: the daemon is not in the test's process group or terminal;
	# fds 3+ closed so bats does not wait for it.
	setsid "$DOCKERD" \
		--config-file="$_d/daemon.json" \
		--data-root="$_d/root" --exec-root="$_d/exec" --pidfile="$_d/docker.pid" \
		-H "unix://$_d/docker.sock" -H "tcp://127.0.0.1:$_port" \
		--tlsverify --tlscacert="$_ca" --tlscert="$_cert" --tlskey="$_key" \
		--iptables=false --ip6tables=false --ip-forward=false --ip-masq=false --bridge=none \
		--userland-proxy=false \
		</dev/null >"$_d/dockerd.log" 2>&1 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&- &
	_pid=$!
	echo "$_pid" >"$_d/dockerd.pid"
	_n=0
	while [ $_n -lt $((${DOCKERD_WAIT:-10} * 10)) ]; do
		if ! kill -0 "$_pid" 2>/dev/null; then
			echo "dockerd_start: dockerd exited; log:" >&2
			tail -n 20 "$_d/dockerd.log" >&2
			# It may have mounted DIR/root before failing.
			dockerd_stop "$_d"
			return 1
		fi
		if _dockerd_ping "$_d"; then
			echo "$_pid"
			return 0
		fi
		sleep 0.1
		_n=$((_n + 1))
	done
	echo "dockerd_start: no answer on $_d/docker.sock after ${DOCKERD_WAIT:-10} s; log:" >&2
	tail -n 20 "$_d/dockerd.log" >&2
	dockerd_stop "$_d"
	return 1
}

# dockerd_stop DIR: stop the daemon started for DIR, unmount what it left
# (exec/netns/* nsfs mounts, container mounts) and remove DIR.
dockerd_stop() {
	_d=$1
	[ -n "$_d" ] && [ -d "$_d" ] || return 0
	_d=$(cd "$_d" && pwd) || return 1
	_pid=$(cat "$_d/dockerd.pid" 2>/dev/null)
	[ -n "$_pid" ] || _pid=$(cat "$_d/docker.pid" 2>/dev/null)
	if _dockerd_ours "$_d" "$_pid"; then
		kill -TERM "$_pid" 2>/dev/null
		_n=0
		while kill -0 "$_pid" 2>/dev/null && [ $_n -lt 100 ]; do
			sleep 0.1
			_n=$((_n + 1))
		done
		if kill -0 "$_pid" 2>/dev/null; then
			echo "dockerd_stop: dockerd $_pid ignored SIGTERM for 10 s; killing it" >&2
			kill -KILL "$_pid" 2>/dev/null
			sleep 0.2
		fi
	fi
	# The managed containerd normally exits with dockerd; if dockerd was
	# killed it may linger: stop it by its own pidfile, if it is ours.
	_cpid=$(cat "$_d/exec/containerd/containerd.pid" 2>/dev/null)
	if [ -n "$_cpid" ] && [ -r "/proc/$_cpid/cmdline" ] &&
		tr '\0' '\n' <"/proc/$_cpid/cmdline" | grep -q -- "$_d/exec/containerd"; then
		kill -TERM "$_cpid" 2>/dev/null
		sleep 0.5
		kill -KILL "$_cpid" 2>/dev/null
	fi
	# Deepest mounts first.
	awk -v d="$_d/" 'index($2, d) == 1 { print $2 }' /proc/self/mounts | sort -r |
		while read -r _m; do
			umount "$_m" 2>/dev/null || umount -l "$_m" 2>/dev/null
		done
	rm -rf "$_d"
}
