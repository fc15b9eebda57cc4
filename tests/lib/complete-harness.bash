# shellcheck shell=bash
# tests/lib/complete-harness.bash - run the committed completion scripts in
# real shells and print the candidates they offer, one per line.
#
#   cmp_bash LINE    bash with bash-completion (_init_completion); COMPREPLY
#   cmp_bash_plain LINE   bash without bash-completion
#   cmp_zsh LINE     zsh compsys through zpty (complete-harness.zsh): matches
#   cmp_fish LINE    fish `complete -C LINE`: candidates (descriptions cut)
#
# LINE is the command line up to the cursor ("docker-machine ls --fi").
# The caller's environment (MACHINE_STORAGE_PATH, DM_LIBEXECDIR, PATH with
# the built binaries first) is what the completer's __complete calls see.

HARNESS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
COMPLETIONS=${COMPLETIONS:-$HARNESS_DIR/../../completions}
BASH_COMPLETION_SCRIPT=${BASH_COMPLETION_SCRIPT:-/usr/share/bash-completion/bash_completion}

# _cmp_bash_run WITH_BC LINE: split LINE as readline does (blanks separate
# words; each run of the COMP_WORDBREAKS characters = and : is a word of
# its own), set COMP_* and call the completion function.
_cmp_bash_run() {
	local with_bc=$1 line=$2
	bash --norc --noprofile -c '
		with_bc=$1 line=$2 scripts=$3 bc=$4
		if [ "$with_bc" = 1 ]; then
			. "$bc" || exit 97
		fi
		. "$scripts/docker-machine.bash" || exit 98
		read -r -a toks <<<"$line"
		[[ $line == *[[:space:]] || ${#toks[@]} -eq 0 ]] && trail=1 || trail=0
		COMP_WORDS=()
		for t in "${toks[@]}"; do
			while [[ -n $t ]]; do
				if [[ $t =~ ^([=:]+)(.*)$ || $t =~ ^([^=:]+)(.*)$ ]]; then
					COMP_WORDS+=("${BASH_REMATCH[1]}")
					t=${BASH_REMATCH[2]}
				fi
			done
		done
		[ $trail = 1 ] && COMP_WORDS+=("")
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		COMP_LINE=$line
		COMP_POINT=${#line}
		spec=$(complete -p "${COMP_WORDS[0]}" 2>/dev/null) || { echo "no completion for ${COMP_WORDS[0]}" >&2; exit 99; }
		fn=${spec#*-F }; fn=${fn%% *}
		"$fn" "${COMP_WORDS[0]}" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
		printf "%s\n" "${COMPREPLY[@]}"
	' cmp_bash "$with_bc" "$line" "$COMPLETIONS" "$BASH_COMPLETION_SCRIPT" | sed '/^$/d' | sort
}

cmp_bash() { _cmp_bash_run 1 "$1"; }
cmp_bash_plain() { _cmp_bash_run 0 "$1"; }

cmp_zsh() {
	zsh -f "$HARNESS_DIR/complete-harness.zsh" "$COMPLETIONS" "$1" | sed 's/ -- .*//; /^$/d' | sort -u
}

# with descriptions ("cand -- desc")
cmp_zsh_desc() {
	zsh -f "$HARNESS_DIR/complete-harness.zsh" "$COMPLETIONS" "$1"
}

cmp_fish() {
	fish --no-config -c 'source $argv[1]; complete -C $argv[2]' "$COMPLETIONS/docker-machine.fish" "$1" |
		cut -f1 | sed '/^$/d' | sort
}

cmp_fish_desc() {
	fish --no-config -c 'source $argv[1]; complete -C $argv[2]' "$COMPLETIONS/docker-machine.fish" "$1"
}
