/* complete.h - the hidden `__complete` verb behind the shell completions.
 *
 * `docker-machine __complete WORD... CUR` and `dm-CMD __complete WORD... CUR`
 * print candidates for CUR, one per line, from the option tables and the
 * store only (never the network).  Two special lines ask the shell to do the
 * work itself: ":files" (complete file names) and ":dirs".
 */
#ifndef COMPLETE_H
#define COMPLETE_H

#include "opts.h"

/* words[0..n-1]: the words after the program name; the last is the word
 * being completed (may be ""). Returns the exit status. */
int complete_main(const struct cmd_spec *spec, int n, char **words);
/* Candidates for one completion kind whose text starts with prefix. */
void complete_values(enum opt_comp kind, const char *values, const char *prefix, FILE *f);

#endif
