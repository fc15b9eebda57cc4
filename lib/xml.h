/* xml.h - a thin read-only layer over libxml2 for provider replies (EC2).
 *
 * Parsing never touches the network and never expands external entities or
 * loads a DTD (XML_PARSE_NONET, no XML_PARSE_NOENT/DTDLOAD); the caller caps
 * the input size (an HTTP reply is capped by http.h).  Element names are
 * matched on their local name, whatever the namespace, so the
 * xmlns="http://ec2.amazonaws.com/doc/2016-11-15/" of EC2 needs no care.
 *
 * Nodes are borrowed from their document and valid until xml_free.
 * Strings returned by xml_text are the caller's to free.
 *
 * Build: needs libxml-2.0 (pkg-config).  When the library was compiled
 * without the libxml2 headers, xml_parse fails with "built without libxml2"
 * (so the rest of the tree still builds); nothing else is affected.
 */
#ifndef XML_H
#define XML_H

#include <stddef.h>

#include "util.h"

struct xml_doc;
struct xml_node;

/* Parse text; NULL with the error set ("malformed XML: <libxml2's message>"). */
struct xml_doc *xml_parse(const char *text, size_t len);
void xml_free(struct xml_doc *doc);

const struct xml_node *xml_root(const struct xml_doc *doc);
/* Local name of an element. */
const char *xml_name(const struct xml_node *n);

/* The first element reached from n by path, a '/'-separated list of child
 * element names ("reservationSet/item/instancesSet/item"); "" or NULL is n
 * itself.  NULL when there is none. */
const struct xml_node *xml_find(const struct xml_node *n, const char *path);
/* The next sibling element with the same local name as n ("item" lists). */
const struct xml_node *xml_next(const struct xml_node *n);

/* Text content of the element at path below n (entities decoded, as is:
 * not trimmed); NULL when the element is absent. Caller frees. */
char *xml_text(const struct xml_node *n, const char *path);

/* EC2/AWS error document (<Response><Errors><Error><Code>…<Message>…, or
 * <ErrorResponse><Error>… of the query services): *code and *message
 * (caller frees; either may be NULL when absent).  0 when an error was
 * found, -1 otherwise. */
int xml_aws_error(const struct xml_doc *doc, char **code, char **message);

#endif
