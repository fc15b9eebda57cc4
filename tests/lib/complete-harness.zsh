# tests/lib/complete-harness.zsh COMPLETIONS_DIR LINE - print what zsh's
# completion system offers for LINE, one "match -- description" per line.
#
# A child zsh runs interactively on a pseudo-terminal (zsh/zpty) with
# compinit and the committed _docker-machine on its fpath; TAB is bound to
# complete-word and compadd is wrapped to print the matches it is given
# (after compsys's own prefix matching), between two NUL lines.
zmodload zsh/zpty || { print -u2 'complete-harness: no zsh/zpty'; exit 2 }
local dir=$1 line=$2 out tog=0 setup
setup=$(mktemp "${TMPDIR:-/tmp}/dm-zsh-harness.XXXXXX") || exit 2
cat >$setup <<SETUP
PROMPT=
stty columns 1000 2>/dev/null; COLUMNS=1000
fpath=(${(q)dir} \$fpath)
autoload -Uz compinit
compinit -u -D
bindkey '^I' complete-word
bindkey '^M' undefined
bindkey '^J' undefined
zstyle ':completion:*' list-grouped false
zstyle ':completion:*' insert-tab false
zstyle ':completion:*' list-separator ''
_dm_nul() { print -rn -- \$'\\0\\n' }
compprefuncs=( _dm_nul )
comppostfuncs=( _dm_nul exit )
zmodload zsh/zutil
compadd() {
	if [[ \${@[1,(i)(-|--)]} == *-(O|A|D)\\ * ]]; then
		builtin compadd "\$@"; return
	fi
	typeset -a __hits __dscr __tmp
	if (( \$@[(I)-d] )); then
		__tmp=\${@[\$[\${@[(i)-d]}+1]]}
		if [[ \$__tmp == \\(* ]]; then eval "__dscr=\$__tmp"; else __dscr=( "\${(@P)__tmp}" ); fi
	fi
	builtin compadd -A __hits -D __dscr "\$@"
	setopt localoptions norcexpandparam extendedglob
	typeset -A apre hpre hsuf asuf
	zparseopts -E P:=apre p:=hpre S:=asuf s:=hsuf
	[[ -n \$__hits ]] || return
	local i dscr
	for i in {1..\$#__hits}; do
		(( \$#__dscr >= i )) && dscr=" -- \${\${__dscr[\$i]}##\$__hits[\$i] #}" || dscr=
		print -r -- "\$IPREFIX\$apre\$hpre\$__hits[\$i]\$dscr"
	done
}
print ok
SETUP
zpty z zsh -f -i
zpty -w z "source ${(q)setup}"
repeat 20; do
	zpty -r z out
	[[ $out == ok* ]] && break
done
[[ $out == ok* ]] || { print -u2 'complete-harness: zsh did not start'; rm -f $setup; exit 2 }
zpty -w z "$line"$'\t'
integer ok=1
while zpty -r z out; do
	if [[ $out == *$'\0'* ]]; then
		(( tog++ )) && { ok=0; break } || continue
	fi
	(( tog )) && print -r -- "${out//$'\r'/}"
done
zpty -d z
rm -f $setup
exit $ok
