/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The domain XML's bytes: checked before libxml2 sees them (no NUL, no
 * DOCTYPE, so no DTD and no entity expansion at all), then parsed by
 * libxml2 with XML_PARSE_NONET and without NOENT/DTDLOAD/DTDATTR/XINCLUDE,
 * its errors going to a per-parser handler instead of stderr; SAX hooks
 * record the byte ranges of the <source>, <backingStore>, <graphics> and
 * <listen> elements (xmlByteConsumed) for the byte-exact output of
 * domedit.c. */
#include "domxml-priv.h"

#include <ctype.h>
#include <libxml/SAX2.h>
#include <libxml/parserInternals.h>
#include <limits.h>
#include <strings.h>

#define MAX_ATTRS 1000   /* per element; libvirt writes at most a few dozen */

#if LIBXML_VERSION >= 21200
typedef const xmlError *xml_error_t;
#else
typedef xmlErrorPtr xml_error_t;
#endif

/* Looks at the bytes before libxml2 does: DTDs (hence entity declarations,
 * billion laughs, external entities) are refused here, so libxml2 never
 * gets to expand anything. "<!DOCTYPE" inside a comment or CDATA section is
 * refused as well: libvirt never writes one. */
int dx_prescan(const char *buf, size_t len, char **err)
{
        const char *p = buf, *end = buf + len, *nul;

        if (len == 0)
                return dx_set_err(err, "domain XML is empty");
        if (len > INT_MAX)
                return dx_set_err(err, "domain XML is too large (%zu bytes)", len);
        nul = memchr(buf, 0, len);
        if (nul)
                return dx_set_err(err, "domain XML contains a NUL byte at offset %zu (binary data or UTF-16/32?)",
                               (size_t)(nul - buf));
        if (len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
                p += 3;
        while (p < end && strchr(" \t\r\n", *p))
                p++;
        if (p == end || *p != '<')
                return dx_set_err(err, "domain XML does not start with '<' (it must be UTF-8 XML)");
        /* libxml2 checks an element's attributes for duplicates pairwise:
         * 50 000 of them take seconds, 4 MiB of them the whole deadline.
         * libvirt's elements have a few dozen at most. One linear pass
         * counts the '=' of each start tag ('<' up to '>'; a '>' inside a
         * value ends it early, which only undercounts). */
        const char *tag = NULL;
        size_t n_eq = 0;
        for (p = buf; p < end; p++) {
                if (*p == '<') {
                        tag = p + 1 < end && p[1] != '!' && p[1] != '?' ? p : NULL;
                        n_eq = 0;
                } else if (*p == '>')
                        tag = NULL;
                else if (*p == '=' && tag && ++n_eq > MAX_ATTRS)
                        return dx_set_err(err, "domain XML has an element with more than %d attributes (at offset %zu); "
                                       "refusing it", MAX_ATTRS, (size_t)(tag - buf));
        }
        for (p = buf; (p = memchr(p, '<', (size_t)(end - p))); p++) {
                if ((size_t)(end - p) < 9 || p[1] != '!')
                        continue;
                if (strncasecmp(p + 2, "DOCTYPE", 7) == 0)
                        return dx_set_err(err, "domain XML contains a <!DOCTYPE> (at offset %zu); "
                                       "DTDs and entity declarations are refused", (size_t)(p - buf));
                if (strncasecmp(p + 2, "ENTITY", 6) == 0)
                        return dx_set_err(err, "domain XML contains an <!ENTITY> declaration (at offset %zu); "
                                       "DTDs and entity declarations are refused", (size_t)(p - buf));
        }
        return 0;
}

static void on_xml_error(void *data, xml_error_t e)
{
        xmlParserCtxt *ctxt = data;
        struct parse_state *ps = ctxt ? ctxt->_private : NULL;

        if (!ps || !e || e->level < XML_ERR_ERROR || ps->err_msg)
                return;
        ps->err_line = e->line;
        ps->err_msg = strdup(e->message ? e->message : "unknown error");
        if (!ps->err_msg)
                ps->oom = true;
}

/* Offset of the parser in the input, or SIZE_MAX if unknown. O(1) because
 * the input is read as UTF-8 without a converter (checked). */
static size_t parser_offset(xmlParserCtxt *ctxt, const struct parse_state *ps)
{
        long pos;

        if (ctxt->inputNr != 1 || !ctxt->input || (ctxt->input->buf && ctxt->input->buf->encoder))
                return SIZE_MAX;
        pos = xmlByteConsumed(ctxt);
        if (pos <= 0 || (unsigned long)pos > ps->len)
                return SIZE_MAX;
        return (size_t)pos;
}

static void sax_start(void *ctx, const xmlChar *localname, const xmlChar *prefix, const xmlChar *uri,
                      int nb_namespaces, const xmlChar **namespaces, int nb_attributes, int nb_defaulted,
                      const xmlChar **attributes)
{
        xmlParserCtxt *ctxt = ctx;
        struct parse_state *ps = ctxt->_private;
        struct span *spans;
        size_t pos, start, nl;

        xmlSAX2StartElementNs(ctx, localname, prefix, uri, nb_namespaces, namespaces, nb_attributes, nb_defaulted,
                              attributes);
        if (!ps || !ps->record || !ps->spans_ok || uri || !ctxt->node ||
            !(xmlStrEqual(localname, BAD_CAST "source") || xmlStrEqual(localname, BAD_CAST "backingStore") ||
              xmlStrEqual(localname, BAD_CAST "graphics") || xmlStrEqual(localname, BAD_CAST "listen")))
                return;

        /* The parser stands just after the attributes; the tag starts at the
         * last '<' before it (attribute values cannot hold a raw '<'). */
        pos = parser_offset(ctxt, ps);
        if (pos == SIZE_MAX)
                goto unknown;
        for (start = pos; start > 0 && ps->buf[start - 1] != '<'; start--)
                ;
        nl = strlen((const char *)localname);
        if (start == 0 || pos - start < nl || memcmp(ps->buf + start, localname, nl) != 0)
                goto unknown;
        spans = grow(ps->spans, ps->n_spans, sizeof(*spans));
        if (!spans) {
                ps->oom = true;
                goto unknown;
        }
        ps->spans = spans;
        spans[ps->n_spans++] = (struct span){ .start = start - 1, .end = 0 };
        ctxt->node->_private = (void *)(uintptr_t)ps->n_spans;
        return;
unknown:
        ps->spans_ok = false;
}

static void sax_end(void *ctx, const xmlChar *localname, const xmlChar *prefix, const xmlChar *uri)
{
        xmlParserCtxt *ctxt = ctx;
        struct parse_state *ps = ctxt->_private;
        xmlNode *n = ctxt->node;

        /* The parser stands just after "/>" or the end tag's '>'. */
        if (ps && ps->record && ps->spans_ok && n && n->_private) {
                size_t i = (uintptr_t)n->_private - 1, pos = parser_offset(ctxt, ps);
                if (i < ps->n_spans && pos != SIZE_MAX && pos > ps->spans[i].start && ps->buf[pos - 1] == '>')
                        ps->spans[i].end = pos;
                else
                        ps->spans_ok = false;
        }
        xmlSAX2EndElementNs(ctx, localname, prefix, uri);
}

/* The error for a document libxml2 found not well-formed. */
static int not_well_formed(const struct parse_state *ps, char **err)
{
        _cleanup_free_ char *msg = strdup(ps->err_msg ? ps->err_msg : "unknown error");
        if (!msg)
                return -ENOMEM;
        /* libxml2 messages end in '\n' and may have a second line */
        for (char *c = msg; *c; c++)
                if (iscntrl((unsigned char)*c))
                        *c = ' ';
        for (size_t l = strlen(msg); l > 0 && msg[l - 1] == ' '; l--)
                msg[l - 1] = 0;
        return dx_set_err(err, "domain XML is not well-formed: line %d: %s", ps->err_line, msg);
}

int dx_parse_doc(const char *buf, size_t len, bool record, struct parse_state *ps, xmlDoc **ret, char **err)
{
        _cleanup_(xml_free_ctxtp) xmlParserCtxt *ctxt = NULL;
        _cleanup_xmldoc_ xmlDoc *doc = NULL;
        int wellformed, nswellformed;

        *ps = (struct parse_state){ .buf = buf, .len = len, .record = record, .spans_ok = true };
        ctxt = xmlNewParserCtxt();
        if (!ctxt || !ctxt->sax)
                return -ENOMEM;
        ctxt->_private = ps;
        ctxt->sax->serror = on_xml_error;       /* per parser: no global handler, nothing on stderr */
        ctxt->sax->startElementNs = sax_start;
        ctxt->sax->endElementNs = sax_end;
        /* No NOENT, DTDLOAD, DTDATTR, XINCLUDE, HUGE; the encoding declaration
         * is ignored: the input is UTF-8, as libvirt writes it. */
        doc = xmlCtxtReadMemory(ctxt, buf, (int)len, NULL, NULL, XML_PARSE_NONET | XML_PARSE_IGNORE_ENC);
        wellformed = ctxt->wellFormed;
        nswellformed = ctxt->nsWellFormed;
        if (ps->oom)
                return -ENOMEM;
        if (!doc || !wellformed || !nswellformed || ps->err_msg) {
                if (!doc && !ps->err_msg)
                        return -ENOMEM;
                return not_well_formed(ps, err);
        }
        if (doc->intSubset || doc->extSubset)
                return dx_set_err(err, "domain XML contains a <!DOCTYPE>; DTDs and entity declarations are refused");
        *ret = TAKE_PTR(doc);
        return 0;
}

void dx_parse_state_done(struct parse_state *ps)
{
        free(ps->spans);
        free(ps->err_msg);
        *ps = (struct parse_state){ 0 };
}

/* ---- name and UUID only -------------------------------------------------- */

/* A SAX pass that builds no tree: it sees the whole document, so libxml2
 * refuses the same documents as dx_parse_doc(), and keeps the root element
 * and the text of the first <name> and <uuid> under it. */
struct ids_state {
        struct parse_state ps;  /* first: on_xml_error() reads it */
        struct dx_ids *ids;
        int depth;
        bool doctype;
        int in;                 /* 1: inside the first <name>, 2: <uuid>, 0: neither */
        size_t text_len[2];
};

static char *xdup(struct ids_state *st, const xmlChar *s)
{
        char *r = s ? strdup((const char *)s) : NULL;
        if (s && !r)
                st->ps.oom = true;
        return r;
}

static void ids_start(void *ctx, const xmlChar *localname, const xmlChar *prefix, const xmlChar *uri, int nb_namespaces,
                      const xmlChar **namespaces, int nb_attributes, int nb_defaulted, const xmlChar **attributes)
{
        xmlParserCtxt *ctxt = ctx;
        struct ids_state *st = ctxt->_private;
        struct dx_ids *ids = st->ids;
        (void)nb_namespaces;
        (void)namespaces;
        (void)nb_attributes;
        (void)nb_defaulted;
        (void)attributes;
        if (++st->depth == 1) {
                ids->root_seen = true;
                if (!xmlStrEqual(localname, BAD_CAST "domain") || uri) {
                        ids->root_name = xdup(st, localname);
                        ids->root_prefix = xdup(st, prefix);
                        ids->root_href = xdup(st, uri);
                        ids->root_ns = uri != NULL;
                }
                return;
        }
        if (st->depth != 2 || uri || ids->root_name)
                return;
        if (xmlStrEqual(localname, BAD_CAST "name") && ids->n_name++ == 0)
                st->in = 1;
        else if (xmlStrEqual(localname, BAD_CAST "uuid") && ids->n_uuid++ == 0)
                st->in = 2;
}

static void ids_end(void *ctx, const xmlChar *localname, const xmlChar *prefix, const xmlChar *uri)
{
        xmlParserCtxt *ctxt = ctx;
        struct ids_state *st = ctxt->_private;
        (void)localname;
        (void)prefix;
        (void)uri;
        if (st->depth-- == 2)
                st->in = 0;
}

static void ids_text(void *ctx, const xmlChar *ch, int len)
{
        xmlParserCtxt *ctxt = ctx;
        struct ids_state *st = ctxt->_private;
        if (!st->in || len <= 0)
                return;
        char **t = st->in == 1 ? &st->ids->name : &st->ids->uuid;
        size_t *n = &st->text_len[st->in - 1];
        char *v = realloc(*t, *n + (size_t)len + 1);
        if (!v) {
                st->ps.oom = true;
                xmlStopParser(ctxt);
                return;
        }
        memcpy(v + *n, ch, (size_t)len);
        *n += (size_t)len;
        v[*n] = 0;
        *t = v;
}

static void ids_subset(void *ctx, const xmlChar *name, const xmlChar *external_id, const xmlChar *system_id)
{
        xmlParserCtxt *ctxt = ctx;
        struct ids_state *st = ctxt->_private;
        (void)name;
        (void)external_id;
        (void)system_id;
        st->doctype = true;
}

int dx_parse_ids(const char *buf, size_t len, struct dx_ids *ids, char **err)
{
        _cleanup_(xml_free_ctxtp) xmlParserCtxt *ctxt = NULL;
        struct ids_state st = { .ps = { .buf = buf, .len = len }, .ids = ids };
        int r = 0;

        *ids = (struct dx_ids){ 0 };
        ctxt = xmlCreateMemoryParserCtxt(buf, (int)len);
        if (!ctxt || !ctxt->sax)
                return -ENOMEM;
        memset(ctxt->sax, 0, sizeof(*ctxt->sax));
        ctxt->sax->initialized = XML_SAX2_MAGIC;
        ctxt->sax->startElementNs = ids_start;
        ctxt->sax->endElementNs = ids_end;
        ctxt->sax->characters = ids_text;
        ctxt->sax->cdataBlock = ids_text;
        ctxt->sax->internalSubset = ids_subset;
        ctxt->sax->serror = on_xml_error;       /* per parser: no global handler, nothing on stderr */
        ctxt->_private = &st;
        /* the options of dx_parse_doc() */
        xmlCtxtUseOptions(ctxt, XML_PARSE_NONET | XML_PARSE_IGNORE_ENC);
        (void)xmlParseDocument(ctxt);
        if (st.ps.oom)
                r = -ENOMEM;
        else if (!ctxt->wellFormed || !ctxt->nsWellFormed || st.ps.err_msg)
                r = not_well_formed(&st.ps, err);
        else if (st.doctype)
                r = dx_set_err(err, "domain XML contains a <!DOCTYPE>; DTDs and entity declarations are refused");
        dx_parse_state_done(&st.ps);
        for (int k = 0; k < 2 && r == 0; k++) { /* an empty element gives no text */
                char **t = k ? &ids->uuid : &ids->name;
                if (!*t && !(*t = strdup("")))
                        r = -ENOMEM;
        }
        if (r < 0)
                dx_ids_done(ids);
        return r;
}

void dx_ids_done(struct dx_ids *ids)
{
        free(ids->root_name);
        free(ids->root_prefix);
        free(ids->root_href);
        free(ids->name);
        free(ids->uuid);
        *ids = (struct dx_ids){ 0 };
}
