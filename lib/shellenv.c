/* shellenv.c - env output per shell. See shellenv.h. */
#include <stdlib.h>
#include <string.h>

#include "shellenv.h"

enum shell_kind shell_kind(const char *name)
{
	if (!strcmp(name, "fish"))
		return SH_FISH;
	if (!strcmp(name, "powershell") || !strcmp(name, "pwsh"))
		return SH_POWERSHELL;
	if (!strcmp(name, "cmd"))
		return SH_CMD;
	if (!strcmp(name, "tcsh") || !strcmp(name, "csh"))
		return SH_TCSH;
	if (!strcmp(name, "emacs"))
		return SH_EMACS;
	return SH_POSIX;
}

const char *shell_detect(const char *flag)
{
	const char *sh, *base;
	if (flag && *flag)
		return flag;
	sh = getenv("SHELL");
	if (!sh || !*sh)
		return "sh";
	base = strrchr(sh, '/');
	return base ? base + 1 : sh;
}

void shellenv_set(enum shell_kind k, const char *key, const char *val, struct strbuf *out)
{
	switch (k) {
	case SH_POSIX:
		sb_addf(out, "export %s=\"%s\"\n", key, val);
		break;
	case SH_FISH:
		sb_addf(out, "set -gx %s \"%s\";\n", key, val);
		break;
	case SH_POWERSHELL:
		sb_addf(out, "$Env:%s = \"%s\"\n", key, val);
		break;
	case SH_CMD:
		sb_addf(out, "SET %s=%s\n", key, val);
		break;
	case SH_TCSH:
		sb_addf(out, "setenv %s \"%s\";\n", key, val);
		break;
	case SH_EMACS:
		sb_addf(out, "(setenv \"%s\" \"%s\")\n", key, val);
		break;
	}
}

void shellenv_unset(enum shell_kind k, const char *key, struct strbuf *out)
{
	switch (k) {
	case SH_POSIX:
		sb_addf(out, "unset %s\n", key);
		break;
	case SH_FISH:
		sb_addf(out, "set -e %s;\n", key);
		break;
	case SH_POWERSHELL:
		sb_addf(out, "Remove-Item Env:\\\\%s\n", key);
		break;
	case SH_CMD:
		sb_addf(out, "SET %s=\n", key);
		break;
	case SH_TCSH:
		sb_addf(out, "unsetenv %s;\n", key);
		break;
	case SH_EMACS:
		sb_addf(out, "(setenv \"%s\" nil)\n", key);
		break;
	}
}

void shellenv_hint(enum shell_kind k, const char *args, struct strbuf *out)
{
	switch (k) {
	case SH_POSIX:
		sb_addf(out, "# Run this command to configure your shell: \n# eval $(%s)\n", args);
		break;
	case SH_FISH:
		sb_addf(out, "# Run this command to configure your shell: \n# eval (%s)\n", args);
		break;
	case SH_POWERSHELL:
		sb_addf(out, "# Run this command to configure your shell: \n# & %s | Invoke-Expression\n",
		        args);
		break;
	case SH_CMD:
		sb_addf(out, "REM Run this command to configure your shell: \n"
		             "REM \t@FOR /f \"tokens=*\" %%i IN ('%s') DO @%%i\n", args);
		break;
	case SH_TCSH:
		sb_addf(out, ": Run this command to configure your shell: \n: eval `%s`\n", args);
		break;
	case SH_EMACS:
		sb_addf(out, ";; Run this command to configure your shell: \n"
		             ";; (with-temp-buffer (shell-command \"%s\" (current-buffer)) (eval-buffer))\n",
		        args);
		break;
	}
}
