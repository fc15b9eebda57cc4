/* t-shellenv: env output per shell, as 0.16.2 prints it. */
#include <stdlib.h>
#include <string.h>

#include "shellenv.h"
#include "tap.h"

static const struct {
	const char *shell;
	const char *set, *unset, *hint;
} cases[] = {
	{ "bash", "export K=\"v w\"\n", "unset K\n",
	  "# Run this command to configure your shell: \n# eval $(dm env n)\n" },
	{ "zsh", "export K=\"v w\"\n", "unset K\n", NULL },
	{ "sh", "export K=\"v w\"\n", "unset K\n", NULL },
	{ "bogus", "export K=\"v w\"\n", "unset K\n", NULL },
	{ "fish", "set -gx K \"v w\";\n", "set -e K;\n",
	  "# Run this command to configure your shell: \n# eval (dm env n)\n" },
	{ "powershell", "$Env:K = \"v w\"\n", "Remove-Item Env:\\\\K\n",
	  "# Run this command to configure your shell: \n# & dm env n | Invoke-Expression\n" },
	{ "cmd", "SET K=v w\n", "SET K=\n",
	  "REM Run this command to configure your shell: \nREM \t@FOR /f \"tokens=*\" %i IN ('dm env n') DO @%i\n" },
	{ "tcsh", "setenv K \"v w\";\n", "unsetenv K;\n",
	  ": Run this command to configure your shell: \n: eval `dm env n`\n" },
	{ "emacs", "(setenv \"K\" \"v w\")\n", "(setenv \"K\" nil)\n",
	  ";; Run this command to configure your shell: \n"
	  ";; (with-temp-buffer (shell-command \"dm env n\" (current-buffer)) (eval-buffer))\n" },
};

int main(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		enum shell_kind k = shell_kind(cases[i].shell);
		struct strbuf sb = STRBUF_INIT;
		shellenv_set(k, "K", "v w", &sb);
		is_str(sb.buf, cases[i].set, "%s: set", cases[i].shell);
		sb_reset(&sb);
		shellenv_unset(k, "K", &sb);
		is_str(sb.buf, cases[i].unset, "%s: unset", cases[i].shell);
		if (cases[i].hint) {
			sb_reset(&sb);
			shellenv_hint(k, "dm env n", &sb);
			is_str(sb.buf, cases[i].hint, "%s: hint", cases[i].shell);
		}
		sb_release(&sb);
	}
	is_str(shell_detect("fish"), "fish", "--shell wins");
	setenv("SHELL", "/usr/bin/zsh", 1);
	is_str(shell_detect(""), "zsh", "basename of $SHELL");
	setenv("SHELL", "", 1);
	is_str(shell_detect(NULL), "sh", "empty SHELL: sh (0.16.2 failed)");
	unsetenv("SHELL");
	is_str(shell_detect(NULL), "sh", "no SHELL: sh");
	return done_testing();
}
