#!/bin/sh
# hosts.sh - boot and tear down systemd-nspawn test hosts on a private network.
#
# Usage: hosts.sh up    STATEDIR N [ROOTFS]   boot hosts 1..N, wait for sshd
#        hosts.sh down  STATEDIR              stop everything `up` made
#        hosts.sh rekey STATEDIR NAME         new sshd host key on NAME (restarts sshd)
#        hosts.sh check                       exit 0 if this machine can run hosts, else
#                                             print the reason and exit 1
#
# Network: one bridge dmtbX in the root namespace with 10.231.X.1/24 (X is a
# free slot, 1-250, claimed under /run/dm-testbed), and per host a network
# namespace with a veth `tb0` at 10.231.X.(10+i)/24 and no default route: the
# hosts reach nothing but each other and the bridge address, and the root
# namespace reaches them only through that connected /24.  TB_PREFIX
# (default 10.231) changes the first two octets.
#
# Each host boots the cached rootfs (build-rootfs.sh) through its own
# overlayfs, so the rootfs is never written; systemd is PID 1, sshd has a host
# key made for that host, root and `docker` (sudo NOPASSWD) accept
# STATEDIR/id_ed25519, and docker.io is installed but not started.
#
# STATEDIR afterwards holds:
#   id_ed25519{,.pub}  client key for root@ and docker@ every host
#   known_hosts        the hosts' real host keys (for StrictHostKeyChecking=yes)
#   hosts              one line per host: NAME IP
#   busybox.tar        busybox rootfs tarball (`docker import - tb/busybox:local`)
#   NAME/              overlay upper/work, merged root, console.log, pid
# Timing: up prints "ready after S s" on stderr; TB_BOOT_TIMEOUT (default 60)
# bounds the wait.  Every step is bounded; down never waits more than ~10 s.
set -eu

CMD=${1:?usage: hosts.sh up|down|rekey|check STATEDIR ...}
HERE=$(cd "$(dirname "$0")" && pwd)
PREFIX=${TB_PREFIX:-10.231}
RUNDIR=/run/dm-testbed

tb_check() {
	[ "$(id -u)" = 0 ] || { echo "not root"; return 1; }
	for c in systemd-nspawn mmdebstrap ip ssh ssh-keygen flock; do
		command -v "$c" >/dev/null 2>&1 || { echo "$c not installed"; return 1; }
	done
	grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null ||
		{ echo "no overlayfs"; return 1; }
	ip link add dmtbprobe0 type bridge 2>/dev/null || { echo "cannot create bridges"; return 1; }
	ip link del dmtbprobe0
	return 0
}

ssh_ok() { # KEY USER IP: one bounded login attempt with the pinned host keys
	timeout 10 ssh -F /dev/null -i "$1" -o IdentitiesOnly=yes -o BatchMode=yes \
		-o ConnectTimeout=2 -o StrictHostKeyChecking=yes \
		-o UserKnownHostsFile="$ST/known_hosts" "$2@$3" true </dev/null >/dev/null 2>&1
}

host_down() { # NAME: stop one host (after its nspawn got SIGRTMIN+4)
	d=$ST/$1
	if [ -f "$d/pid" ]; then
		p=$(cat "$d/pid")
		i=0
		while kill -0 "$p" 2>/dev/null && [ $i -lt 16 ]; do sleep 0.25; i=$((i + 1)); done
		kill -9 "$p" 2>/dev/null || true
		rm -f "$d/pid"
	fi
	# whatever still runs inside the host's netns was started by this host
	for p in $(ip netns pids "$1" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
	i=0
	while [ -n "$(ip netns pids "$1" 2>/dev/null)" ] && [ $i -lt 20 ]; do sleep 0.1; i=$((i + 1)); done
	umount "$d/merged/var/lib/docker" 2>/dev/null || true
	umount "$d/merged" 2>/dev/null || umount -l "$d/merged" 2>/dev/null || true
	ip netns del "$1" 2>/dev/null || true
	ip link del "$1-v" 2>/dev/null || true
}


# launch NAME DIR: boot the host's container in the background (pid in DIR/pid).
launch() {
	# 3>&- : a test harness (bats) waits for its fd 3 to close
	SYSTEMD_SECCOMP=0 SYSTEMD_NSPAWN_API_VFS_WRITABLE=1 \
	setsid systemd-nspawn -D "$2/merged" --machine="$1" --boot -q \
		--register=no --keep-unit --console=passive \
		--network-namespace-path="/run/netns/$1" \
		--capability=all --bind="$2/docker:/var/lib/docker" \
		>>"$2/console.log" 2>&1 </dev/null 3>&- &
	echo $! > "$2/pid"
}

case $CMD in
check)
	tb_check; exit $? ;;
up)
	ST=${2:?STATEDIR}; N=${3:?N}
	mkdir -p "$ST"; ST=$(cd "$ST" && pwd)
	[ ! -f "$ST/hosts" ] || { echo "hosts.sh: $ST already up (run down first)" >&2; exit 1; }
	ROOT=${4:-$("$HERE/build-rootfs.sh")}
	ROOT=$(cd "$ROOT" && pwd)
	BBTAR=$(dirname "$ROOT")/busybox-$(basename "$ROOT" | sed 's/^rootfs-//').tar
	mkdir -p "$RUNDIR"
	X=1
	while ! mkdir "$RUNDIR/slot-$X" 2>/dev/null; do
		X=$((X + 1)); [ $X -le 250 ] || { echo "hosts.sh: no free network slot" >&2; exit 1; }
	done
	echo "$ST" > "$RUNDIR/slot-$X/statedir"
	BR=dmtb$X
	echo "$X" > "$ST/slot"
	: > "$ST/hosts.tmp"
	: > "$ST/known_hosts"
	[ -f "$ST/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C dm-testbed -f "$ST/id_ed25519"
	[ -f "$BBTAR" ] && cp "$BBTAR" "$ST/busybox.tar"
	ip link add "$BR" type bridge
	ip addr add "$PREFIX.$X.1/24" dev "$BR"
	ip link set "$BR" up
	duid=$(awk -F: '$1 == "docker" { print $3 ":" $4 }' "$ROOT/etc/passwd")
	t0=$(date +%s.%N)
	i=1
	while [ $i -le "$N" ]; do
		name=dmtb${X}h$i; ip=$PREFIX.$X.$((10 + i)); d=$ST/$name
		echo "$name $ip" >> "$ST/hosts.tmp"
		mkdir -p "$d/upper/etc/ssh" "$d/upper/root/.ssh" "$d/upper/home/docker/.ssh" \
			"$d/work" "$d/merged" "$d/docker"
		rm -f "$d/upper/etc/ssh/ssh_host_ed25519_key"*
		ssh-keygen -q -t ed25519 -N '' -C "$name" -f "$d/upper/etc/ssh/ssh_host_ed25519_key"
		echo "$ip $(cut -d' ' -f1-2 "$d/upper/etc/ssh/ssh_host_ed25519_key.pub")" >> "$ST/known_hosts"
		echo "$name" > "$d/upper/etc/hostname"
		printf '127.0.0.1 localhost\n127.0.1.1 %s\n' "$name" > "$d/upper/etc/hosts"
		for h in root home/docker; do
			cp "$ST/id_ed25519.pub" "$d/upper/$h/.ssh/authorized_keys"
			chmod 700 "$d/upper/$h/.ssh"; chmod 600 "$d/upper/$h/.ssh/authorized_keys"
		done
		chown -R "$duid" "$d/upper/home/docker/.ssh"
		mount -t overlay overlay -o "lowerdir=$ROOT,upperdir=$d/upper,workdir=$d/work" "$d/merged"
		ip netns add "$name"
		ip link add "$name-v" type veth peer name tb0 netns "$name"
		ip link set "$name-v" master "$BR" up
		ip -n "$name" link set lo up
		ip -n "$name" addr add "$ip/24" dev tb0
		ip -n "$name" link set tb0 up
		launch "$name" "$d"
		i=$((i + 1))
	done
	mv "$ST/hosts.tmp" "$ST/hosts"
	deadline=$(( $(date +%s) + ${TB_BOOT_TIMEOUT:-60} ))
	while read -r name ip; do
		# docker@ too: unprivileged logins wait for /run/nologin to go
		until ssh_ok "$ST/id_ed25519" root "$ip" && ssh_ok "$ST/id_ed25519" docker "$ip"; do
			if ! kill -0 "$(cat "$ST/$name/pid")" 2>/dev/null && [ ! -e "$ST/$name/relaunched" ]; then
				# a container that died at once (seen under heavy load) gets one more go
				echo "hosts.sh: $name exited early; starting it again" >&2
				tail -5 "$ST/$name/console.log" >&2
				: > "$ST/$name/relaunched"
				mountpoint -q "$ST/$name/merged" || mount -t overlay overlay \
					-o "lowerdir=$ROOT,upperdir=$ST/$name/upper,workdir=$ST/$name/work" "$ST/$name/merged"
				launch "$name" "$ST/$name"
				deadline=$(( $(date +%s) + ${TB_BOOT_TIMEOUT:-60} ))
				continue
			fi
			if [ "$(date +%s)" -ge "$deadline" ] || ! kill -0 "$(cat "$ST/$name/pid")" 2>/dev/null; then
				echo "hosts.sh: $name ($ip): no ssh; console:" >&2
				tail -20 "$ST/$name/console.log" >&2
				# what a second look needs: the container, its address, ssh's own words
				echo "hosts.sh: $name: container $(kill -0 "$(cat "$ST/$name/pid")" 2>/dev/null &&
					echo running || echo exited); $(ip -n "$name" -br addr show tb0 2>&1);" \
					"ssh: $(timeout 8 ssh -F /dev/null -o BatchMode=yes -o ConnectTimeout=3 \
					-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
					-i "$ST/id_ed25519" "root@$ip" true 2>&1 | tail -1)" >&2
				exit 1
			fi
			sleep 0.2
		done
	done < "$ST/hosts"
	t1=$(date +%s.%N)
	echo "hosts.sh: $N host(s) ready after $(echo "$t1 - $t0" | bc 2>/dev/null || echo "$t0 $t1") s" >&2
	cat "$ST/hosts"
	;;
down)
	ST=${2:?STATEDIR}
	[ -d "$ST" ] || exit 0
	ST=$(cd "$ST" && pwd)
	if [ -f "$ST/hosts" ] || [ -f "$ST/hosts.tmp" ]; then
		list=$(cat "$ST/hosts" "$ST/hosts.tmp" 2>/dev/null | awk '{ print $1 }')
		for name in $list; do   # clean poweroff of all at once
			[ -f "$ST/$name/pid" ] && kill -RTMIN+4 "$(cat "$ST/$name/pid")" 2>/dev/null || true
		done
		for name in $list; do host_down "$name"; done
		rm -f "$ST/hosts" "$ST/hosts.tmp"
	fi
	if [ -f "$ST/slot" ]; then
		X=$(cat "$ST/slot")
		ip link del "dmtb$X" 2>/dev/null || true
		rm -rf "$RUNDIR/slot-$X"
		rm -f "$ST/slot"
	fi
	;;
rekey)
	ST=$(cd "${2:?STATEDIR}" && pwd); NAME=${3:?NAME}
	ip=$(awk -v n="$NAME" '$1 == n { print $2 }' "$ST/hosts")
	[ -n "$ip" ] || { echo "hosts.sh: no host $NAME" >&2; exit 1; }
	timeout 20 ssh -F /dev/null -i "$ST/id_ed25519" -o IdentitiesOnly=yes -o BatchMode=yes \
		-o ConnectTimeout=5 -o StrictHostKeyChecking=yes -o UserKnownHostsFile="$ST/known_hosts" \
		"root@$ip" 'rm -f /etc/ssh/ssh_host_ed25519_key* &&
			ssh-keygen -q -t ed25519 -N "" -f /etc/ssh/ssh_host_ed25519_key &&
			systemctl restart ssh && cat /etc/ssh/ssh_host_ed25519_key.pub' </dev/null > "$ST/$NAME.newkey"
	grep -v "^$ip " "$ST/known_hosts" > "$ST/known_hosts.new" || true
	echo "$ip $(cut -d' ' -f1-2 "$ST/$NAME.newkey")" >> "$ST/known_hosts.new"
	mv "$ST/known_hosts.new" "$ST/known_hosts"
	;;
*)
	echo "usage: hosts.sh up|down|rekey|check STATEDIR ..." >&2; exit 2 ;;
esac
