/* tabwriter.h - Go's text/tabwriter, for byte-identical tables and help.
 *
 * Text is cells terminated by '\t'; a line's text after its last '\t' is not
 * part of a column.  Column blocks are runs of consecutive lines that have a
 * cell in that column, as in Go.  Width counts UTF-8 code points.
 * padchar ' ': cell width = max(minwidth, max text + padding).
 * padchar '\t': widths rounded up to tabwidth and filled with tabs.
 */
#ifndef TABWRITER_H
#define TABWRITER_H

#include "util.h"

struct tabwriter {
	int minwidth, tabwidth, padding;
	char padchar;
	struct strbuf text;   /* buffered input */
};

void tw_init(struct tabwriter *tw, int minwidth, int tabwidth, int padding, char padchar);
void tw_write(struct tabwriter *tw, const char *s);
void tw_printf(struct tabwriter *tw, const char *fmt, ...) ATTR_PRINTF(2, 3);
/* Format everything written so far, append to out, and reset. */
void tw_flush(struct tabwriter *tw, struct strbuf *out);
void tw_free(struct tabwriter *tw);

#endif
