#!/bin/sh
# tests/run.sh [TIER...] - run the test tiers (unit cli fakes integration).
# Every tier prints TAP; a tier whose tools are missing prints "skipped: why"
# and is counted, never passed silently.  Exit 1 if anything failed.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
tiers=${*:-unit cli fakes integration}
fail=0 skipped=0
taps=$(mktemp -d /tmp/dm-tiers.XXXXXX)
trap 'rm -rf "$taps"' EXIT
for tier in $tiers; do
	echo "== tier: $tier"
	case $tier in
	unit)
		for t in tests/unit/t-*; do
			case $t in *.c|*.o) continue ;; esac
			[ -x "$t" ] || continue
			if ! prove -Q -e '' "$t"; then
				echo "FAIL: $t"; "$t" | grep -v '^ok' | head -40
				fail=1
			fi
		done ;;
	cli|fakes|integration)
		set -- tests/$tier/*.bats
		[ -e "$1" ] || { echo "(no $tier tests)"; continue; }
		if ! command -v bats >/dev/null; then
			echo "skipped: $tier: bats not installed"; skipped=$((skipped+1)); continue
		fi
		bats --tap "$@" | tee "$taps/$tier.tap" | grep -vE '^ok [0-9]+ [^#]*$' || true
		if grep -q '^not ok' "$taps/$tier.tap" || ! grep -q '^1\.\.' "$taps/$tier.tap"; then
			fail=1
		fi
		n=$(grep -c '^ok .*# skip' "$taps/$tier.tap")
		[ "$n" -gt 0 ] && { echo "skipped: $n tests in tier $tier (reasons above)"; skipped=$((skipped+n)); }
		echo "$tier: $(grep -c '^ok ' "$taps/$tier.tap") passed, $(grep -c '^not ok' "$taps/$tier.tap") failed" ;;
	esac
done
echo "== skipped: $skipped"
[ $fail -eq 0 ] && echo "== all tiers passed" || echo "== FAILURES"
exit $fail
