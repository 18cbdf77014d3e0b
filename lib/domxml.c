/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The domain XML as the hook sees it.
 *
 * Parsing is defensive: the raw bytes are checked before libxml2 sees them
 * (no NUL, no DOCTYPE, so no DTD and no entity expansion at all), libxml2
 * runs with XML_PARSE_NONET and without NOENT/DTDLOAD/DTDATTR/XINCLUDE, and
 * its errors go to a per-parser handler instead of stderr.
 *
 * Output is byte-exact: while parsing, the byte ranges of the <source> and
 * <backingStore> elements are recorded (SAX hooks + xmlByteConsumed), and an
 * edit cuts those ranges out of the original text. libxml2's serializer would
 * rewrite every attribute in double quotes; the operator would then see a
 * whole-document diff for a one-line change. domxml_format() re-parses the
 * cut text and uses it only if it gives the same tree as the edited DOM. */
#include "domxml.h"

#include <ctype.h>
#include <libxml/SAX2.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlsave.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <strings.h>

#include "util.h"
#include "validate.h"

#define MAX_ATTRS 1000   /* per element; libvirt writes at most a few dozen */
#define MTU_MIN 68u     /* ETH_MIN_MTU: the smallest MTU a Linux bridge takes */
#define MTU_MAX 65535u  /* ETH_MAX_MTU */

#if LIBXML_VERSION >= 21200
typedef const xmlError *xml_error_t;
#else
typedef xmlErrorPtr xml_error_t;
#endif

/* A byte range [start, end) of the input. */
struct span {
        size_t start, end;
};

struct domxml_priv {
        char *raw;              /* the input as given */
        size_t raw_len;
        struct span *spans;     /* of <source> and <backingStore> elements, indexed by node->_private - 1 */
        size_t n_spans;
        bool spans_ok;          /* false: offsets unknown, domxml_format() serializes the tree */
        struct span *cuts;      /* ranges of raw removed by edits */
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

static void *mfree(void *p)
{
        free(p);
        return NULL;
}

/* Room for element n of an array that grows by doubling (its capacity is
 * implied: n rounded up to a power of two). NULL on ENOMEM, p untouched. */
static void *grow(void *p, size_t n, size_t size)
{
        size_t cap = n ? n * 2 : 1;
        if (n & (n - 1))
                return p;
        if (cap > SIZE_MAX / size)
                return NULL;
        return realloc(p, cap * size);
}

static void xml_free_docp(xmlDoc **p)
{
        if (*p)
                xmlFreeDoc(*p);
}
#define _cleanup_xmldoc_ _cleanup_(xml_free_docp)

static void xml_free_ctxtp(xmlParserCtxt **p)
{
        if (*p)
                xmlFreeParserCtxt(*p);
}

static void xml_freep(xmlChar **p)
{
        if (*p)
                xmlFree(*p);
}
#define _cleanup_xmlfree_ _cleanup_(xml_freep)

const char *dom_disk_type_to_string(enum dom_disk_type t)
{
        switch (t) {
        case DOM_DISK_FILE: return "file";
        case DOM_DISK_BLOCK: return "block";
        case DOM_DISK_NETWORK: return "network";
        case DOM_DISK_VOLUME: return "volume";
        case DOM_DISK_DIR: return "dir";
        case DOM_DISK_OTHER: break;
        }
        return "other";
}

/* Copies untrusted text into buf for a one-line message: control characters
 * become '?', and it is cut (with "...") to fit. */
static const char *clean(char *buf, size_t size, const char *s)
{
        size_t i = 0;
        for (; s && s[i] && i + 1 < size; i++)
                buf[i] = iscntrl((unsigned char)s[i]) ? '?' : s[i];
        buf[i] = 0;
        if (s && s[i] && size > 4)
                memcpy(buf + size - 4, "...", 4);
        return buf;
}
#define CLEAN(s) clean((char[72]){ 0 }, 72, (s))

_printf_(2, 3)
static int set_err(char **err, const char *fmt, ...)
{
        va_list ap;
        char *m;
        int r;

        if (!err)
                return -EINVAL;
        va_start(ap, fmt);
        r = vasprintf(&m, fmt, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        free(*err);
        *err = m;
        return -EINVAL;
}

static bool is_elem(const xmlNode *n, const char *name)
{
        return n && n->type == XML_ELEMENT_NODE && !n->ns && xmlStrEqual(n->name, BAD_CAST name);
}

/* The first child element called name (in no namespace, as libvirt's XPath
 * "./name" sees it). */
static xmlNode *child(const xmlNode *parent, const char *name)
{
        for (xmlNode *c = parent ? parent->children : NULL; c; c = c->next)
                if (is_elem(c, name))
                        return c;
        return NULL;
}

/* Copies attribute name of n into *ret (NULL if absent). 0 or -ENOMEM. */
static int prop(xmlNode *n, const char *name, char **ret)
{
        _cleanup_xmlfree_ xmlChar *v = NULL;

        *ret = NULL;
        if (!n || !xmlHasNsProp(n, BAD_CAST name, NULL))
                return 0;
        v = xmlGetNoNsProp(n, BAD_CAST name);
        if (!v)
                return -ENOMEM;
        *ret = strdup((const char *)v);
        return *ret ? 0 : -ENOMEM;
}

/* Like prop(), but an empty value counts as absent. */
static int prop_nonempty(xmlNode *n, const char *name, char **ret)
{
        int r = prop(n, name, ret);
        if (r == 0 && *ret && !**ret)
                *ret = mfree(*ret);
        return r;
}

/* The text content of n, malloc'ed. 0 or -ENOMEM. */
static int content(xmlNode *n, char **ret)
{
        _cleanup_xmlfree_ xmlChar *v = xmlNodeGetContent(n);
        *ret = strdup(v ? (const char *)v : "");
        return *ret ? 0 : -ENOMEM;
}

/* ---- raw checks and the libxml2 parse ---------------------------------- */

/* Looks at the bytes before libxml2 does: DTDs (hence entity declarations,
 * billion laughs, external entities) are refused here, so libxml2 never
 * gets to expand anything. "<!DOCTYPE" inside a comment or CDATA section is
 * refused as well: libvirt never writes one. */
static int prescan(const char *buf, size_t len, char **err)
{
        const char *p = buf, *end = buf + len, *nul;

        if (len == 0)
                return set_err(err, "domain XML is empty");
        if (len > INT_MAX)
                return set_err(err, "domain XML is too large (%zu bytes)", len);
        nul = memchr(buf, 0, len);
        if (nul)
                return set_err(err, "domain XML contains a NUL byte at offset %zu (binary data or UTF-16/32?)",
                               (size_t)(nul - buf));
        if (len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
                p += 3;
        while (p < end && strchr(" \t\r\n", *p))
                p++;
        if (p == end || *p != '<')
                return set_err(err, "domain XML does not start with '<' (it must be UTF-8 XML)");
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
                        return set_err(err, "domain XML has an element with more than %d attributes (at offset %zu); "
                                       "refusing it", MAX_ATTRS, (size_t)(tag - buf));
        }
        for (p = buf; (p = memchr(p, '<', (size_t)(end - p))); p++) {
                if ((size_t)(end - p) < 9 || p[1] != '!')
                        continue;
                if (strncasecmp(p + 2, "DOCTYPE", 7) == 0)
                        return set_err(err, "domain XML contains a <!DOCTYPE> (at offset %zu); "
                                       "DTDs and entity declarations are refused", (size_t)(p - buf));
                if (strncasecmp(p + 2, "ENTITY", 6) == 0)
                        return set_err(err, "domain XML contains an <!ENTITY> declaration (at offset %zu); "
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
            !(xmlStrEqual(localname, BAD_CAST "source") || xmlStrEqual(localname, BAD_CAST "backingStore")))
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

/* Parses buf with libxml2 only (the caller has run prescan()). On success
 * *ret is the document; if record, the spans go to ps. */
static int parse_doc(const char *buf, size_t len, bool record, struct parse_state *ps, xmlDoc **ret, char **err)
{
        _cleanup_(xml_free_ctxtp) xmlParserCtxt *ctxt = NULL;
        _cleanup_xmldoc_ xmlDoc *doc = NULL;
        _cleanup_free_ char *msg = NULL;
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
                msg = strdup(ps->err_msg ? ps->err_msg : "unknown error");
                if (!msg)
                        return -ENOMEM;
                /* libxml2 messages end in '\n' and may have a second line */
                for (char *c = msg; *c; c++)
                        if (iscntrl((unsigned char)*c))
                                *c = ' ';
                for (size_t l = strlen(msg); l > 0 && msg[l - 1] == ' '; l--)
                        msg[l - 1] = 0;
                return set_err(err, "domain XML is not well-formed: line %d: %s", ps->err_line, msg);
        }
        if (doc->intSubset || doc->extSubset)
                return set_err(err, "domain XML contains a <!DOCTYPE>; DTDs and entity declarations are refused");
        *ret = TAKE_PTR(doc);
        return 0;
}

static void parse_state_done(struct parse_state *ps)
{
        free(ps->spans);
        free(ps->err_msg);
        *ps = (struct parse_state){ 0 };
}

/* ---- what migkit needs from the domain ------------------------------ */

static enum dom_disk_type disk_type_from_string(const char *s)
{
        static const struct {
                const char *name;
                enum dom_disk_type type;
        } map[] = {
                { "file", DOM_DISK_FILE },
                { "block", DOM_DISK_BLOCK },
                { "network", DOM_DISK_NETWORK },
                { "volume", DOM_DISK_VOLUME },
                { "dir", DOM_DISK_DIR },
        };
        if (!s)
                return DOM_DISK_FILE; /* libvirt's default */
        for (size_t i = 0; i < ARRAY_SIZE(map); i++)
                if (streq(s, map[i].name))
                        return map[i].type;
        return DOM_DISK_OTHER;
}

/* The <source file> of a disk of type file (libvirt's default type). */
static int disk_file_source(xmlNode *disk, char **ret)
{
        _cleanup_free_ char *type = NULL;
        int r = prop(disk, "type", &type);
        *ret = NULL;
        if (r < 0 || disk_type_from_string(type) != DOM_DISK_FILE)
                return r;
        return prop_nonempty(child(disk, "source"), "file", ret);
}

static int parse_disk(struct domxml *d, xmlNode *n)
{
        _cleanup_free_ char *type = NULL;
        struct dom_disk *nd = NULL, disk = { .node = n };
        int r;

        r = prop(n, "type", &type);
        if (r < 0)
                return r;
        disk.type = disk_type_from_string(type);
        r = prop(n, "device", &disk.device);
        if (r == 0 && !disk.device && !(disk.device = strdup("disk")))
                r = -ENOMEM;
        if (r == 0 && disk.type == DOM_DISK_FILE)
                r = disk_file_source(n, &disk.source);
        else if (r == 0 && disk.type == DOM_DISK_BLOCK)
                r = prop_nonempty(child(n, "source"), "dev", &disk.source);
        if (r == 0)
                r = prop_nonempty(child(n, "target"), "dev", &disk.target);
        if (r == 0 && !(nd = grow(d->disks, d->n_disks, sizeof(*nd))))
                r = -ENOMEM;
        if (r < 0) {
                free(disk.device);
                free(disk.source);
                free(disk.target);
                return r;
        }
        d->disks = nd;
        d->disks[d->n_disks++] = disk;
        return 0;
}

/* Strict decimal in [MTU_MIN, MTU_MAX]. */
static bool parse_mtu(const char *s, unsigned *ret)
{
        unsigned v = 0;
        if (!s || !*s || strlen(s) > 5)
                return false;
        for (const char *c = s; *c; c++) {
                if (*c < '0' || *c > '9')
                        return false;
                v = v * 10 + (unsigned)(*c - '0');
        }
        if (v < MTU_MIN || v > MTU_MAX)
                return false;
        *ret = v;
        return true;
}

static int parse_iface(struct domxml *d, xmlNode *n, char **err)
{
        _cleanup_free_ char *type = NULL, *mac = NULL, *bridge = NULL, *size = NULL;
        char what[160];
        xmlNode *mtu;
        unsigned v = 0;
        int r;

        r = prop(n, "type", &type);
        if (r < 0 || !type || !streq(type, "bridge"))
                return r;
        r = prop_nonempty(child(n, "mac"), "address", &mac);
        if (r == 0)
                r = prop_nonempty(child(n, "source"), "bridge", &bridge);
        if (r < 0)
                return r;
        if (!bridge)
                return set_err(err, "domain XML: <interface type='bridge'>%s%s has no <source bridge='...'>",
                               mac ? " with MAC " : "", mac ? CLEAN(mac) : "");
        snprintf(what, sizeof(what), "interface on bridge '%s'", CLEAN(bridge));
        if (mac)
                snprintf(what + strlen(what), sizeof(what) - strlen(what), " (MAC %s)", CLEAN(mac));
        mtu = child(n, "mtu");
        if (mtu) {
                r = prop(mtu, "size", &size);
                if (r < 0)
                        return r;
                if (!parse_mtu(size, &v))
                        return set_err(err, "domain XML: %s has an invalid <mtu size='%s'>; expected a number from %u to %u",
                                       what, size ? CLEAN(size) : "(none)", MTU_MIN, MTU_MAX);
        }
        struct dom_iface *ni = grow(d->ifaces, d->n_ifaces, sizeof(*ni));
        if (!ni)
                return -ENOMEM;
        d->ifaces = ni;
        ni[d->n_ifaces++] = (struct dom_iface){ .bridge = TAKE_PTR(bridge), .mtu = v, .mac = TAKE_PTR(mac) };
        return 0;
}

/* Paths in document order, duplicates dropped at the end: O(n log n) even
 * for a hostile document with 100000 chardevs. */
struct pathlist {
        char **v;       /* NULL-terminated when n < cap */
        size_t n, cap;
};

static void pathlist_done(struct pathlist *l)
{
        for (size_t i = 0; i < l->n; i++)
                free(l->v[i]);
        free(l->v);
        *l = (struct pathlist){ 0 };
}

/* Takes path (may be NULL or empty: ignored). */
static int push_file(struct pathlist *l, char *path)
{
        _cleanup_free_ char *p = path;
        if (!p || !*p)
                return 0;
        if (l->n + 1 >= l->cap) {
                size_t cap = l->cap ? l->cap * 2 : 8;
                char **v = realloc(l->v, cap * sizeof(*v));
                if (!v)
                        return -ENOMEM;
                l->v = v;
                l->cap = cap;
        }
        l->v[l->n++] = TAKE_PTR(p);
        l->v[l->n] = NULL;
        return 0;
}

static int cmp_str_then_pos(const void *a, const void *b)
{
        char *const *x = *(char *const *const *)a, *const *y = *(char *const *const *)b;
        int c = strcmp(*x, *y);
        return c ? c : (x > y) - (x < y);
}

/* Drops later duplicates, keeping document order. */
static int pathlist_uniq(struct pathlist *l)
{
        _cleanup_free_ char ***sorted = NULL;
        size_t o = 0;

        if (l->n < 2)
                return 0;
        sorted = malloc(l->n * sizeof(*sorted));
        if (!sorted)
                return -ENOMEM;
        for (size_t i = 0; i < l->n; i++)
                sorted[i] = &l->v[i];
        qsort(sorted, l->n, sizeof(*sorted), cmp_str_then_pos);
        for (size_t i = 1, keep = 0; i < l->n; i++) {
                if (streq(*sorted[i], *sorted[keep]))
                        *sorted[i] = mfree(*sorted[i]);
                else
                        keep = i;
        }
        for (size_t i = 0; i < l->n; i++)
                if (l->v[i])
                        l->v[o++] = l->v[i];
        l->n = o;
        l->v[o] = NULL;
        return 0;
}

/* Text content of the first child called name, or NULL. */
static int child_content(xmlNode *parent, const char *name, char **ret)
{
        xmlNode *c = child(parent, name);
        *ret = NULL;
        return c ? content(c, ret) : 0;
}

static bool is_chardev(const xmlNode *n)
{
        return is_elem(n, "serial") || is_elem(n, "console") || is_elem(n, "parallel") || is_elem(n, "channel");
}

/* Character devices whose <source path> is a path on this host (pty paths
 * are allocated by libvirt, not named by the domain). */
static bool chardev_has_local_path(const char *type)
{
        return type && (streq(type, "file") || streq(type, "pipe") || streq(type, "unix") || streq(type, "dev"));
}

static int collect_os_files(xmlNode *os, struct pathlist *files)
{
        static const char *const texts[] = { "loader", "kernel", "initrd" };
        char *v;
        int r;

        for (size_t i = 0; i < ARRAY_SIZE(texts); i++) {
                r = child_content(os, texts[i], &v);
                if (r < 0 || (r = push_file(files, v)) < 0)
                        return r;
        }
        xmlNode *nvram = child(os, "nvram");
        if (!nvram)
                return 0;
        r = prop_nonempty(nvram, "template", &v);
        if (r < 0 || (r = push_file(files, v)) < 0)
                return r;
        if (child(nvram, "source")) /* libvirt >= 8.5: <nvram type='file'><source file=.../> */
                r = prop_nonempty(child(nvram, "source"), "file", &v);
        else
                r = content(nvram, &v);
        if (r < 0)
                return r;
        return push_file(files, v);
}

static int collect_chardev_files(xmlNode *dev, struct pathlist *files)
{
        _cleanup_free_ char *type = NULL;
        char *v;
        int r;

        r = prop(dev, "type", &type);
        if (r < 0)
                return r;
        for (xmlNode *c = dev->children; c; c = c->next) {
                if (is_elem(c, "source") && chardev_has_local_path(type))
                        r = prop_nonempty(c, "path", &v);
                else if (is_elem(c, "log"))
                        r = prop_nonempty(c, "file", &v);
                else
                        continue;
                if (r < 0 || (r = push_file(files, v)) < 0)
                        return r;
        }
        return 0;
}

/* (Re)builds d->files from the tree, in document order. */
static int collect_files(struct domxml *d)
{
        _cleanup_(pathlist_done) struct pathlist files = { 0 };
        xmlNode *root = xmlDocGetRootElement(d->doc);
        char *v;
        int r = 0;

        for (xmlNode *c = root->children; c && r >= 0; c = c->next) {
                if (is_elem(c, "os"))
                        r = collect_os_files(c, &files);
                if (!is_elem(c, "devices"))
                        continue;
                for (xmlNode *dev = c->children; dev && r >= 0; dev = dev->next) {
                        if (is_chardev(dev))
                                r = collect_chardev_files(dev, &files);
                        else if (is_elem(dev, "disk") && (r = disk_file_source(dev, &v)) >= 0)
                                r = push_file(&files, v);
                }
        }
        if (r >= 0 && !files.v && !(files.v = calloc(1, sizeof(char *))))
                r = -ENOMEM;
        if (r >= 0)
                r = pathlist_uniq(&files);
        if (r < 0)
                return r;
        strv_free(d->files);
        d->files = TAKE_PTR(files.v);
        files.n = 0;
        return 0;
}

/* The single <what> element directly under <domain>. */
static int unique_child(xmlNode *root, const char *what, xmlNode **ret, char **err)
{
        size_t n = 0;
        for (xmlNode *c = root->children; c; c = c->next)
                if (is_elem(c, what) && n++ == 0)
                        *ret = c;
        if (n == 0)
                return set_err(err, "domain XML has no <%s> under <domain>", what);
        if (n > 1)
                return set_err(err, "domain XML has %zu <%s> elements under <domain>; expected exactly one", n, what);
        return 0;
}

static int parse_domain(struct domxml *d, char **err)
{
        xmlNode *root = xmlDocGetRootElement(d->doc), *node = NULL;
        _cleanup_free_ char *uuid = NULL;
        int r;

        if (!root)
                return set_err(err, "domain XML has no root element");
        if (!xmlStrEqual(root->name, BAD_CAST "domain") || root->ns) {
                const xmlNs *ns = root->ns;
                const char *prefix = ns && ns->prefix ? (const char *)ns->prefix : NULL;
                return set_err(err, "domain XML root element is <%s%s%s>%s%s%s, expected libvirt's <domain>",
                               prefix ? CLEAN(prefix) : "", prefix ? ":" : "", CLEAN((const char *)root->name),
                               ns ? " in namespace '" : "", ns && ns->href ? CLEAN((const char *)ns->href) : "",
                               ns ? "'" : "");
        }

        r = unique_child(root, "name", &node, err);
        if (r < 0)
                return r;
        r = content(node, &d->name);
        if (r < 0)
                return r;
        if (!*d->name)
                return set_err(err, "domain XML has an empty <name>");
        for (const char *c = d->name; *c; c++)
                if (iscntrl((unsigned char)*c) || *c == '/')
                        return set_err(err, "domain XML <name> '%s' contains '/' or control characters", CLEAN(d->name));

        r = unique_child(root, "uuid", &node, err);
        if (r < 0)
                return r;
        r = content(node, &uuid);
        if (r < 0)
                return r;
        if (!uuid_is_valid(uuid))
                return set_err(err, "domain XML has an invalid <uuid> '%s': not a UUID (8-4-4-4-12 hex digits)", CLEAN(uuid));
        for (char *c = uuid; *c; c++)
                *c = (char)tolower((unsigned char)*c);
        d->uuid = TAKE_PTR(uuid);

        for (xmlNode *c = root->children; c; c = c->next) {
                if (!is_elem(c, "devices"))
                        continue;
                for (xmlNode *dev = c->children; dev; dev = dev->next) {
                        if (is_elem(dev, "disk"))
                                r = parse_disk(d, dev);
                        else if (is_elem(dev, "interface"))
                                r = parse_iface(d, dev, err);
                        if (r < 0)
                                return r;
                }
        }
        return collect_files(d);
}

int domxml_parse(const char *buf, size_t len, struct domxml **ret, char **err)
{
        _cleanup_domxml_ struct domxml *d = NULL;
        struct parse_state ps = { 0 };
        xmlDoc *doc = NULL;
        int r;

        if (err)
                *err = NULL;
        *ret = NULL;
        r = prescan(buf, len, err);
        if (r < 0)
                return r;

        d = calloc(1, sizeof(*d));
        if (!d || !(d->priv = calloc(1, sizeof(*d->priv))))
                return -ENOMEM;
        d->priv->raw = malloc(len + 1);
        if (!d->priv->raw)
                return -ENOMEM;
        memcpy(d->priv->raw, buf, len);
        d->priv->raw[len] = 0;
        d->priv->raw_len = len;

        r = parse_doc(d->priv->raw, len, true, &ps, &doc, err);
        if (r == 0) {
                d->doc = doc;
                d->priv->spans = TAKE_PTR(ps.spans);
                d->priv->n_spans = ps.n_spans;
                d->priv->spans_ok = ps.spans_ok;
        }
        parse_state_done(&ps);
        if (r < 0)
                return r;
        r = parse_domain(d, err);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(d);
        return 0;
}

/* ---- edits ---------------------------------------------------------- */

static bool is_blank_text(const xmlNode *n)
{
        return n && n->type == XML_TEXT_NODE && xmlIsBlankNode((xmlNode *)n);
}

/* Where the cut for element n (and the blank text before it) lies in raw. */
static bool element_cut(const struct domxml_priv *p, const xmlNode *n, struct span *ret)
{
        size_t i = (uintptr_t)n->_private;
        if (!p->spans_ok || i == 0 || i > p->n_spans || p->spans[i - 1].end == 0)
                return false;
        *ret = p->spans[i - 1];
        if (is_blank_text(n->prev))
                while (ret->start > 0 && strchr(" \t\r\n", p->raw[ret->start - 1]))
                        ret->start--;
        return true;
}

/* Removes element n and the blank text before it, from the tree and (as a
 * cut) from the text. The caller has made room for one more cut. */
static void remove_element(struct domxml *d, xmlNode *n)
{
        struct domxml_priv *p = d->priv;
        struct span cut;

        if (element_cut(p, n, &cut))
                p->cuts[p->n_cuts++] = cut;
        else
                p->spans_ok = false;
        if (is_blank_text(n->prev)) {
                xmlNode *ws = n->prev;
                xmlUnlinkNode(ws);
                xmlFreeNode(ws);
        }
        xmlUnlinkNode(n);
        xmlFreeNode(n);
}

/* An empty <backingStore/>: libvirt's "no backing chain" terminator. */
static bool is_terminator(const xmlNode *n)
{
        if (!n || n->properties)
                return false;
        for (const xmlNode *c = n->children; c; c = c->next)
                if (!is_blank_text(c))
                        return false;
        return true;
}

/* domxml_strip_disk_source() without updating d->files. */
static int strip_disk_source(struct domxml *d, size_t i)
{
        struct dom_disk *disk;
        xmlNode *src, *bs;

        if (!d || i >= d->n_disks)
                return -EINVAL;
        disk = &d->disks[i];
        if (!streq_ptr(disk->device, "cdrom"))
                return -EINVAL;
        src = child(disk->node, "source");
        if (!src)
                return -EINVAL;
        bs = child(disk->node, "backingStore");
        if (!is_terminator(bs))
                bs = NULL;

        /* Allocate first: once the tree is touched nothing may fail. */
        if (d->priv->n_cuts + 2 > d->priv->cuts_cap) {
                size_t cap = d->priv->cuts_cap * 2 + 2;
                struct span *nc = realloc(d->priv->cuts, cap * sizeof(*nc));
                if (!nc)
                        return -ENOMEM;
                d->priv->cuts = nc;
                d->priv->cuts_cap = cap;
        }

        remove_element(d, src);
        if (bs)
                remove_element(d, bs);
        disk->source = mfree(disk->source);
        return 0;
}

int domxml_strip_disk_source(struct domxml *d, size_t i)
{
        int r = strip_disk_source(d, i);
        /* on ENOMEM the old list stays: it names one file too many */
        if (r == 0)
                (void)collect_files(d);
        return r;
}

int domxml_strip_missing_config_drives(struct domxml *d, char *const *name_globs,
                                       bool (*exists)(const char *path, void *userdata), void *userdata,
                                       char ***stripped)
{
        _cleanup_(pathlist_done) struct pathlist list = { 0 };
        int n = 0, r = 0;

        if (stripped)
                *stripped = NULL;
        if (!d || !exists)
                return -EINVAL;
        for (size_t i = 0; i < d->n_disks && r >= 0; i++) {
                struct dom_disk *disk = &d->disks[i];
                const char *base;
                char *entry;

                if (disk->type != DOM_DISK_FILE || !streq_ptr(disk->device, "cdrom") || !disk->source)
                        continue;
                base = strrchr(disk->source, '/');
                base = base ? base + 1 : disk->source;
                if (!strv_fnmatch(name_globs, base) || exists(disk->source, userdata))
                        continue;
                if (asprintf(&entry, "%s %s", disk->target ? disk->target : "-", disk->source) < 0)
                        r = -ENOMEM;
                else if ((r = push_file(&list, entry)) >= 0 && (r = strip_disk_source(d, i)) >= 0)
                        n++;
        }
        if (n > 0)
                (void)collect_files(d); /* on ENOMEM the old list stays */
        if (r < 0)
                return r;
        if (stripped) {
                *stripped = TAKE_PTR(list.v);
                list.n = 0;
        }
        return n;
}

/* ---- output --------------------------------------------------------- */

/* libxml2's serialization: no declaration, no reformatting. */
static int save_doc(xmlDoc *doc, char **ret, size_t *len)
{
        xmlBuffer *buf = xmlBufferCreate();
        xmlSaveCtxt *save;
        int r = 0;

        if (!buf)
                return -ENOMEM;
        save = xmlSaveToBuffer(buf, "UTF-8", XML_SAVE_NO_DECL);
        if (!save)
                r = -ENOMEM;
        else {
                if (xmlSaveDoc(save, doc) < 0)
                        r = -EIO;
                if (xmlSaveClose(save) < 0 && r == 0)
                        r = -EIO;
        }
        if (r == 0) {
                size_t l = (size_t)xmlBufferLength(buf);
                char *s = malloc(l + 1);
                if (!s)
                        r = -ENOMEM;
                else {
                        memcpy(s, xmlBufferContent(buf), l);
                        s[l] = 0;
                        *ret = s;
                        *len = l;
                }
        }
        xmlBufferFree(buf);
        return r;
}

static int cmp_span(const void *a, const void *b)
{
        const struct span *x = a, *y = b;
        return x->start < y->start ? -1 : x->start > y->start;
}

/* The input minus the cuts, or NULL (*ret) if the cuts overlap. */
static int splice(const struct domxml_priv *p, char **ret, size_t *len)
{
        _cleanup_free_ struct span *cuts = NULL;
        _cleanup_free_ char *out = malloc(p->raw_len + 1);
        size_t at = 0, o = 0;

        *ret = NULL;
        if (!out)
                return -ENOMEM;
        if (p->n_cuts > 0) {
                cuts = malloc(p->n_cuts * sizeof(*cuts));
                if (!cuts)
                        return -ENOMEM;
                memcpy(cuts, p->cuts, p->n_cuts * sizeof(*cuts));
                qsort(cuts, p->n_cuts, sizeof(*cuts), cmp_span);
        }
        for (size_t i = 0; i < p->n_cuts; i++) {
                if (cuts[i].start < at || cuts[i].end > p->raw_len || cuts[i].end < cuts[i].start)
                        return 0;
                memcpy(out + o, p->raw + at, cuts[i].start - at);
                o += cuts[i].start - at;
                at = cuts[i].end;
        }
        memcpy(out + o, p->raw + at, p->raw_len - at);
        o += p->raw_len - at;
        out[o] = 0;
        *len = o;
        *ret = TAKE_PTR(out);
        return 0;
}

int domxml_format(const struct domxml *d, char **ret, size_t *len)
{
        _cleanup_free_ char *tree = NULL, *text = NULL, *check = NULL;
        size_t tree_len = 0, text_len = 0, check_len = 0;
        int r;

        r = save_doc(d->doc, &tree, &tree_len);
        if (r < 0)
                return r;
        if (d->priv && d->priv->raw && d->priv->spans_ok) {
                r = splice(d->priv, &text, &text_len);
                if (r < 0)
                        return r;
        }
        if (text && prescan(text, text_len, NULL) == 0) {
                /* Use the text only if it is the same document. */
                struct parse_state ps;
                _cleanup_xmldoc_ xmlDoc *doc = NULL;
                r = parse_doc(text, text_len, false, &ps, &doc, NULL);
                parse_state_done(&ps);
                if (r == -ENOMEM)
                        return r;
                if (r == 0)
                        r = save_doc(doc, &check, &check_len);
                if (r == -ENOMEM)
                        return r;
                if (r == 0 && check_len == tree_len && memcmp(check, tree, tree_len) == 0) {
                        *len = text_len;
                        *ret = TAKE_PTR(text);
                        return 0;
                }
        }
        *len = tree_len;
        *ret = TAKE_PTR(tree);
        return 0;
}

void domxml_free(struct domxml *d)
{
        if (!d)
                return;
        if (d->doc)
                xmlFreeDoc(d->doc);
        free(d->name);
        free(d->uuid);
        for (size_t i = 0; i < d->n_disks; i++) {
                free(d->disks[i].device);
                free(d->disks[i].source);
                free(d->disks[i].target);
        }
        free(d->disks);
        for (size_t i = 0; i < d->n_ifaces; i++) {
                free(d->ifaces[i].bridge);
                free(d->ifaces[i].mac);
        }
        free(d->ifaces);
        strv_free(d->files);
        if (d->priv) {
                free(d->priv->raw);
                free(d->priv->spans);
                free(d->priv->cuts);
                free(d->priv);
        }
        free(d);
}
