#!/bin/sh
# tb-authorize.sh STATEDIR IP - install the public keys on stdin for root@IP,
# a test-bed host (tests/integration/testbed), using the test bed's own key.
# The fakes run it as $FAKECLOUD_AUTHORIZE when they "create" an instance, the
# way a cloud puts the instance's SSH keys in place.
set -eu
st=$1 ip=$2
exec timeout 20 ssh -F /dev/null -i "$st/id_ed25519" -o IdentitiesOnly=yes -o BatchMode=yes \
	-o UserKnownHostsFile="$st/known_hosts" -o StrictHostKeyChecking=yes -o ConnectTimeout=5 \
	"root@$ip" 'umask 077; mkdir -p /root/.ssh; cat >> /root/.ssh/authorized_keys'
