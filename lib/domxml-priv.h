/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Internal to the domain XML module (its API is domxml.h), shared by its
 * three files:
 *   domxml.c    domxml_parse(): what migkit reads from the domain (disks,
 *               bridge interfaces, local files) and domxml_free()
 *   domparse.c  the bytes: the checks before libxml2 sees them, and the
 *               libxml2 parse that records where <source> and <backingStore>
 *               elements lie in the input
 *   domedit.c   the edits (stripping a cdrom's source, setting graphics
 *               listen addresses) and the byte-exact output (domxml_format)
 * Nothing else includes it. */
#pragma once

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdint.h>

#include "domxml.h"
#include "util.h"

/* A byte range [start, end) of the input. */
struct span {
        size_t start, end;
};

/* An edit of the input: [start, end) replaced by text (NULL: removed). */
struct cut {
        size_t start, end;
        char *text;
};

struct domxml_priv {
        char *raw;              /* the input as given */
        size_t raw_len;
        struct span *spans;     /* of <source>, <backingStore>, <graphics> and <listen> elements,
                                   indexed by node->_private - 1 */
        size_t n_spans;
        bool spans_ok;          /* false: offsets unknown, domxml_format() serializes the tree */
        struct cut *cuts;       /* ranges of raw removed or replaced by edits */
        size_t n_cuts, cuts_cap;
};

/* What the SAX hooks and the error handler share during one parse. */
struct parse_state {
        const char *buf;
        size_t len;
        bool record;            /* record spans (not when re-parsing for a check) */
        bool spans_ok;
        bool oom;
        struct span *spans;
        size_t n_spans;
        int err_line;           /* the first error libxml2 reported */
        char *err_msg;
};

static inline void *mfree(void *p)
{
        free(p);
        return NULL;
}

/* Room for element n of an array that grows by doubling (its capacity is
 * implied: n rounded up to a power of two). NULL on ENOMEM, p untouched. */
static inline void *grow(void *p, size_t n, size_t size)
{
        size_t cap = n ? n * 2 : 1;
        if (n & (n - 1))
                return p;
        if (cap > SIZE_MAX / size)
                return NULL;
        return realloc(p, cap * size);
}

static inline void xml_free_docp(xmlDoc **p)
{
        if (*p)
                xmlFreeDoc(*p);
}
#define _cleanup_xmldoc_ _cleanup_(xml_free_docp)

static inline void xml_free_ctxtp(xmlParserCtxt **p)
{
        if (*p)
                xmlFreeParserCtxt(*p);
}

static inline void xml_freep(xmlChar **p)
{
        if (*p)
                xmlFree(*p);
}
#define _cleanup_xmlfree_ _cleanup_(xml_freep)

static inline bool is_elem(const xmlNode *n, const char *name)
{
        return n && n->type == XML_ELEMENT_NODE && !n->ns && xmlStrEqual(n->name, BAD_CAST name);
}

/* The first child element called name (in no namespace, as libvirt's XPath
 * "./name" sees it). */
static inline xmlNode *child(const xmlNode *parent, const char *name)
{
        for (xmlNode *c = parent ? parent->children : NULL; c; c = c->next)
                if (is_elem(c, name))
                        return c;
        return NULL;
}

/* Sets *err (if err is not NULL) to the formatted message, replacing one
 * set before. Returns -EINVAL, or -ENOMEM. */
int dx_set_err(char **err, const char *fmt, ...) _printf_(2, 3);

/* Paths in document order, duplicates dropped at the end: O(n log n) even
 * for a hostile document with 100000 chardevs. */
struct pathlist {
        char **v;       /* NULL-terminated when n < cap */
        size_t n, cap;
};

void dx_pathlist_done(struct pathlist *l);
/* Takes path (may be NULL or empty: ignored). 0 or -ENOMEM. */
int dx_push_file(struct pathlist *l, char *path);

/* (Re)builds d->files from the tree, in document order. 0 or -ENOMEM. */
int dx_collect_files(struct domxml *d);

/* Looks at the bytes before libxml2 does (domparse.c). 0 or -EINVAL with
 * *err set. */
int dx_prescan(const char *buf, size_t len, char **err);

/* Parses buf with libxml2 only (the caller has run dx_prescan()). On
 * success *ret is the document; if record, the spans go to ps. 0, -EINVAL
 * with *err set, or -ENOMEM. */
int dx_parse_doc(const char *buf, size_t len, bool record, struct parse_state *ps, xmlDoc **ret, char **err);

void dx_parse_state_done(struct parse_state *ps);

/* What dx_parse_ids() saw of a document: its root element when that is not
 * libvirt's <domain> (root_name set), how many <name> and <uuid> are under
 * the root, and the text of the first of each ("" when empty). */
struct dx_ids {
        bool root_seen, root_ns;
        char *root_name, *root_prefix, *root_href;
        size_t n_name, n_uuid;
        char *name, *uuid;
};
/* Parses buf (the caller has run dx_prescan()) with SAX and no tree; refuses
 * what dx_parse_doc() refuses before the tree is read, with the same
 * messages. 0, -EINVAL (*err says why) or -ENOMEM. */
int dx_parse_ids(const char *buf, size_t len, struct dx_ids *ids, char **err);
void dx_ids_done(struct dx_ids *ids);
