#!/bin/bash
# bench/generic.sh - `create -d generic` on real SSH hosts (systemd-nspawn test
# bed): one create to a ready engine, then three created in parallel
# (xargs -P3).  Budgets: one <= 10 s; three in parallel <= 1.5 x one.
# Needs root and what tests/integration/testbed/hosts.sh needs.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
tb=$top/tests/integration/testbed
export PATH="$top/bin:$PATH" DM_LIBEXECDIR="$top/bin:$top/drivers"
work=$(mktemp -d /tmp/dm-bench-generic.XXXXXX)
export MACHINE_STORAGE_PATH=$work/store
cleanup() { "$tb/hosts.sh" down "$work/tb" >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT
why=$("$tb/hosts.sh" check 2>&1) || { echo "bench: test bed unavailable: $why" >&2; exit 1; }
"$tb/build-rootfs.sh" >/dev/null
rootfs=${TB_CACHE:-/var/cache/dm-testbed}/rootfs-$("$tb/build-rootfs.sh" --key)
"$tb/hosts.sh" up "$work/tb" 4 "$rootfs" >/dev/null
mapfile -t ips < <(awk '{print $2}' "$work/tb/hosts")
ms() { echo $(( $(date +%s%N) / 1000000 )); }
create() { docker-machine create -d generic --generic-ip-address "$2" \
	--generic-ssh-key "$work/tb/id_ed25519" "$1" >/dev/null; }
export -f create; export work

t0=$(ms); create g1 "${ips[0]}"; t1=$(ms)
one=$((t1 - t0))
printf 'g2 %s\ng3 %s\ng4 %s\n' "${ips[1]}" "${ips[2]}" "${ips[3]}" |
	{ t2=$(ms); xargs -P3 -L1 bash -c 'create "$0" "$1"'; t3=$(ms); echo $((t3 - t2)) >"$work/par"; }
par=$(cat "$work/par")
printf 'create -d generic, one:            %6d ms (budget 10000)\n' "$one"
printf 'create -d generic, three at once:  %6d ms (budget 1.5 x one = %d)\n' "$par" $((one * 3 / 2))
docker-machine ls --format '{{.Name}} {{.State}} {{.DockerVersion}}'
