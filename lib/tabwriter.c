/* tabwriter.c - Go's text/tabwriter semantics (no flags), for byte-identical
 * tables and help text.
 *
 * Input is buffered until tw_flush().  The text is split into lines ('\n';
 * '\f' also ends a line and breaks every column block, printing as '\n') and
 * lines into cells terminated by '\t' or '\v'; the text after a line's last
 * tab is its last cell and belongs to no column.  Text between two 0xff bytes
 * (an escape) is kept literally, and the two 0xff bytes do not count in the
 * cell width.
 *
 * Widths: a column block is a maximal run of consecutive lines (not crossing
 * a '\f') that have a cell in that column; every cell of the block is padded
 * to max(minwidth, widest cell + padding).  Because a line that has column c
 * also has every column left of c, this is the same layout Go's recursive
 * formatter produces; computing it column by column keeps the stack flat
 * whatever the input, and the work is linear in the number of cells.
 */
#include <stdlib.h>
#include <string.h>

#include "tabwriter.h"

#define TW_ESCAPE 0xff

struct tw_cell {
	size_t off, size;   /* bytes of text in tw->text */
	int width;          /* code points, escapes excluded */
	int colw;           /* padded width of its column (not for a last cell) */
};

struct tw_line {
	size_t first, n;    /* cells[first .. first+n) */
	int brk;            /* a '\f' ended it: no column block continues past it */
};

struct tw_layout {
	struct tw_cell *cells;
	size_t ncells, acells;
	struct tw_line *lines;
	size_t nlines, alines;
};

void tw_init(struct tabwriter *tw, int minwidth, int tabwidth, int padding, char padchar)
{
	tw->minwidth = minwidth;
	tw->tabwidth = tabwidth;
	tw->padding = padding;
	tw->padchar = padchar;
	sb_init(&tw->text, 0);
}

void tw_write(struct tabwriter *tw, const char *s)
{
	sb_adds(&tw->text, s);
}

void tw_printf(struct tabwriter *tw, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sb_vaddf(&tw->text, fmt, ap);
	va_end(ap);
}

void tw_free(struct tabwriter *tw)
{
	sb_release(&tw->text);
}

/*
 * Length of the UTF-8 sequence at s (n bytes available), as Go's decoder
 * accepts it, or 0 when the bytes do not form a valid sequence (Go then
 * counts the first byte as one rune of its own).
 */
static size_t utf8_seqlen(const unsigned char *s, size_t n)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	size_t len, i;

	if (c < 0x80)
		return 1;
	if (c < 0xc2 || c > 0xf4)
		return 0;
	len = c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

/* Number of runes in s[0..n) counted as Go's utf8.RuneCount does. */
static int rune_count(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, len;
	int count = 0;

	while (i < n) {
		len = utf8_seqlen(p + i, n - i);
		i += len ? len : 1;
		count++;
	}
	return count;
}

static void add_cell(struct tw_layout *lo, size_t off, size_t size, int width)
{
	struct tw_cell *c;

	if (lo->ncells == lo->acells) {
		lo->acells = lo->acells ? 2 * lo->acells : 64;
		lo->cells = xrealloc(lo->cells, lo->acells * sizeof(*lo->cells));
	}
	c = &lo->cells[lo->ncells++];
	c->off = off;
	c->size = size;
	c->width = width;
	c->colw = 0;
}

static void add_line(struct tw_layout *lo, size_t first, int brk)
{
	struct tw_line *l;

	if (lo->nlines == lo->alines) {
		lo->alines = lo->alines ? 2 * lo->alines : 16;
		lo->lines = xrealloc(lo->lines, lo->alines * sizeof(*lo->lines));
	}
	l = &lo->lines[lo->nlines++];
	l->first = first;
	l->n = lo->ncells - first;
	l->brk = brk;
}

/*
 * Split text into lines and cells.  The last line is the text after the
 * final newline (possibly empty), which is printed without a newline.
 */
static void split_cells(const char *s, size_t n, struct tw_layout *lo)
{
	size_t i, start = 0, first = 0;
	int in_escape = 0, escapes = 0;

	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == TW_ESCAPE) {
			if (!in_escape)
				escapes++;
			in_escape = !in_escape;
			continue;
		}
		if (in_escape || (ch != '\t' && ch != '\v' && ch != '\n' && ch != '\f'))
			continue;
		add_cell(lo, start, i - start, rune_count(s + start, i - start) - 2 * escapes);
		start = i + 1;
		escapes = 0;
		if (ch == '\n' || ch == '\f') {
			add_line(lo, first, ch == '\f');
			first = lo->ncells;
		}
	}
	if (start < n)
		add_cell(lo, start, n - start, rune_count(s + start, n - start) - 2 * escapes);
	add_line(lo, first, 0);
}

/*
 * Give every cell its column width.  active[] holds, in order, the lines
 * that have a cell in column c; each run of consecutive lines in it is one
 * column block.  Lines drop out as c passes their last column.
 */
static void compute_widths(struct tabwriter *tw, struct tw_layout *lo)
{
	size_t *active = xcalloc(lo->nlines + 1, sizeof(*active));
	size_t nactive = 0, i, j, k, c;

	for (i = 0; i < lo->nlines; i++)
		if (lo->lines[i].n > 1)
			active[nactive++] = i;
	for (c = 0; nactive > 0; c++) {
		for (i = 0; i < nactive; i = j) {
			int width = tw->minwidth;

			for (j = i + 1; j < nactive; j++)
				if (active[j] != active[j - 1] + 1 || lo->lines[active[j - 1]].brk)
					break;
			for (k = i; k < j; k++) {
				struct tw_line *l = &lo->lines[active[k]];
				int w = lo->cells[l->first + c].width + tw->padding;
				if (w > width)
					width = w;
			}
			for (k = i; k < j; k++) {
				struct tw_line *l = &lo->lines[active[k]];
				lo->cells[l->first + c].colw = width;
			}
		}
		for (i = j = 0; i < nactive; i++)
			if (lo->lines[active[i]].n - 1 > c + 1)
				active[j++] = active[i];
		nactive = j;
	}
	free(active);
}

static void add_n(struct strbuf *out, int ch, int n)
{
	while (n-- > 0)
		sb_addc(out, ch);
}

static void write_padding(struct tabwriter *tw, int textw, int cellw, struct strbuf *out)
{
	if (tw->padchar == '\t') {
		if (tw->tabwidth == 0)
			return;
		cellw = (cellw + tw->tabwidth - 1) / tw->tabwidth * tw->tabwidth;
		add_n(out, '\t', (cellw - textw + tw->tabwidth - 1) / tw->tabwidth);
		return;
	}
	add_n(out, tw->padchar, cellw - textw);
}

static void write_lines(struct tabwriter *tw, struct tw_layout *lo, struct strbuf *out)
{
	const char *text = tw->text.buf;
	size_t i, j;

	for (i = 0; i < lo->nlines; i++) {
		struct tw_line *l = &lo->lines[i];

		for (j = 0; j < l->n; j++) {
			struct tw_cell *c = &lo->cells[l->first + j];
			sb_add(out, text + c->off, c->size);
			if (j + 1 < l->n)
				write_padding(tw, c->width, c->colw, out);
		}
		if (i + 1 < lo->nlines)
			sb_addc(out, '\n');
	}
}

void tw_flush(struct tabwriter *tw, struct strbuf *out)
{
	struct tw_layout lo = { 0 };

	split_cells(tw->text.buf, tw->text.len, &lo);
	compute_widths(tw, &lo);
	write_lines(tw, &lo, out);
	free(lo.cells);
	free(lo.lines);
	sb_reset(&tw->text);
}
