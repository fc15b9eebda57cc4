/* xml.c - libxml2 reading helpers; see xml.h. */
#include <stdlib.h>
#include <string.h>

#include "xml.h"

#if defined(__has_include)
#if __has_include(<libxml/parser.h>)
#define HAVE_LIBXML2 1
#endif
#endif

#ifdef HAVE_LIBXML2
#include <libxml/parser.h>
#include <libxml/tree.h>

static void quiet(void *ctx, const char *msg, ...)
{
	(void)ctx;
	(void)msg;
}

struct xml_doc *xml_parse(const char *text, size_t len)
{
	xmlDocPtr d;
	if (len > (size_t)0x7fffffff)
		return dm_seterr("malformed XML: document too large"), NULL;
	xmlSetGenericErrorFunc(NULL, quiet);
	d = xmlReadMemory(text, (int)len, "reply.xml", NULL,
	                  XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (!d) {
		const xmlError *e = xmlGetLastError();
		struct strbuf m = STRBUF_INIT;
		sb_adds(&m, e && e->message ? e->message : "parse error");
		sb_rtrim(&m);
		dm_seterr("malformed XML: %s", m.buf);
		sb_release(&m);
		return NULL;
	}
	if (!xmlDocGetRootElement(d)) {
		xmlFreeDoc(d);
		return dm_seterr("malformed XML: no root element"), NULL;
	}
	return (struct xml_doc *)d;
}

void xml_free(struct xml_doc *doc)
{
	if (doc)
		xmlFreeDoc((xmlDocPtr)doc);
}

const struct xml_node *xml_root(const struct xml_doc *doc)
{
	return doc ? (const struct xml_node *)xmlDocGetRootElement((xmlDocPtr)doc) : NULL;
}

const char *xml_name(const struct xml_node *n)
{
	return n ? (const char *)((xmlNodePtr)n)->name : NULL;
}

static xmlNodePtr child_named(xmlNodePtr n, const char *name, size_t len)
{
	for (xmlNodePtr c = n->children; c; c = c->next)
		if (c->type == XML_ELEMENT_NODE && strlen((const char *)c->name) == len &&
		    !strncmp((const char *)c->name, name, len))
			return c;
	return NULL;
}

const struct xml_node *xml_find(const struct xml_node *node, const char *path)
{
	xmlNodePtr n = (xmlNodePtr)node;
	while (n && path && *path) {
		size_t len = strcspn(path, "/");
		if (len)
			n = child_named(n, path, len);
		path += len;
		if (*path == '/')
			path++;
	}
	return (const struct xml_node *)n;
}

const struct xml_node *xml_next(const struct xml_node *node)
{
	xmlNodePtr n = (xmlNodePtr)node;
	if (!n)
		return NULL;
	for (xmlNodePtr c = n->next; c; c = c->next)
		if (c->type == XML_ELEMENT_NODE && xmlStrEqual(c->name, n->name))
			return (const struct xml_node *)c;
	return NULL;
}

char *xml_text(const struct xml_node *n, const char *path)
{
	const struct xml_node *e = xml_find(n, path);
	xmlChar *t;
	char *s;
	if (!e)
		return NULL;
	t = xmlNodeGetContent((xmlNodePtr)e);
	s = xstrdup(t ? (const char *)t : "");
	xmlFree(t);
	return s;
}

#else /* !HAVE_LIBXML2 */

struct xml_doc *xml_parse(const char *text, size_t len)
{
	(void)text;
	(void)len;
	dm_seterr("built without libxml2 (add libxml-2.0 to PKGS in config.mk)");
	return NULL;
}
void xml_free(struct xml_doc *doc) { (void)doc; }
const struct xml_node *xml_root(const struct xml_doc *doc) { (void)doc; return NULL; }
const char *xml_name(const struct xml_node *n) { (void)n; return NULL; }
const struct xml_node *xml_find(const struct xml_node *n, const char *path) { (void)path; return n; }
const struct xml_node *xml_next(const struct xml_node *n) { (void)n; return NULL; }
char *xml_text(const struct xml_node *n, const char *path) { (void)n; (void)path; return NULL; }

#endif

int xml_aws_error(const struct xml_doc *doc, char **code, char **message)
{
	const struct xml_node *r = xml_root(doc), *e = NULL;
	*code = *message = NULL;
	if (!r)
		return -1;
	if (!strcmp(xml_name(r), "Response"))
		e = xml_find(r, "Errors/Error");
	else if (!strcmp(xml_name(r), "ErrorResponse"))
		e = xml_find(r, "Error");
	if (!e)
		return -1;
	*code = xml_text(e, "Code");
	*message = xml_text(e, "Message");
	return 0;
}
