/* shellenv.h - `env` output per shell (0.16.2 formats, §4 of the reference).
 *
 * Shells: bash sh zsh (and any unknown name: bash syntax), fish, powershell,
 * cmd, tcsh, emacs.  shell_detect(): --shell, else basename($SHELL); with no
 * SHELL we print sh syntax (0.16.2 failed with "Error: Unknown shell").
 */
#ifndef SHELLENV_H
#define SHELLENV_H

#include "util.h"

enum shell_kind { SH_POSIX, SH_FISH, SH_POWERSHELL, SH_CMD, SH_TCSH, SH_EMACS };

enum shell_kind shell_kind(const char *name);
/* Name to use: flag value if non-empty, else basename of $SHELL, else "sh". */
const char *shell_detect(const char *flag);

/* Append one "set" / "unset" line for the shell. */
void shellenv_set(enum shell_kind k, const char *key, const char *val, struct strbuf *out);
void shellenv_unset(enum shell_kind k, const char *key, struct strbuf *out);
/* The two-line hint: "# Run this command to configure your shell: \n# eval $(ARGS)\n".
 * args: the command line as typed (argv[0] double-quoted if it has a space or '\'). */
void shellenv_hint(enum shell_kind k, const char *args, struct strbuf *out);

#endif
