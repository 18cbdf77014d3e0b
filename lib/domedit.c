/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Edits of the domain XML and its output. Output is byte-exact: an edit
 * cuts the byte ranges domparse.c recorded out of the original text.
 * libxml2's serializer would rewrite every attribute in double quotes; the
 * operator would then see a whole-document diff for a one-line change.
 * domxml_format() re-parses the cut text and uses it only if it gives the
 * same tree as the edited DOM (compared node by node: serializing both
 * to compare them cost the hook more than the rest of its migrate begin). */
#include "domxml-priv.h"

#include <libxml/xmlsave.h>

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
                p->cuts[p->n_cuts++] = (struct cut){ .start = cut.start, .end = cut.end };
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

/* Room for n more cuts. 0 or -ENOMEM. */
static int cuts_reserve(struct domxml_priv *p, size_t n)
{
        if (p->n_cuts + n <= p->cuts_cap)
                return 0;
        size_t cap = p->cuts_cap * 2 + n;
        struct cut *nc = realloc(p->cuts, cap * sizeof(*nc));
        if (!nc)
                return -ENOMEM;
        p->cuts = nc;
        p->cuts_cap = cap;
        return 0;
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
        if (cuts_reserve(d->priv, 2) < 0)
                return -ENOMEM;

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
                (void)dx_collect_files(d);
        return r;
}

int domxml_strip_missing_config_drives(struct domxml *d, char *const *name_globs,
                                       bool (*exists)(const char *path, void *userdata), void *userdata,
                                       char ***stripped)
{
        _cleanup_(dx_pathlist_done) struct pathlist list = { 0 };
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
                else if ((r = dx_push_file(&list, entry)) >= 0 && (r = strip_disk_source(d, i)) >= 0)
                        n++;
        }
        if (n > 0)
                (void)dx_collect_files(d); /* on ENOMEM the old list stays */
        if (r < 0)
                return r;
        if (stripped) {
                *stripped = TAKE_PTR(list.v);
                list.n = 0;
        }
        return n;
}

/* ---- graphics listen addresses ----------------------------------------- */

static bool prop_is(const xmlNode *n, const char *name, const char *value)
{
        _cleanup_xmlfree_ xmlChar *v = xmlGetNoNsProp(n, BAD_CAST name);
        return v && xmlStrEqual(v, BAD_CAST value);
}

/* Calls fn(node, attribute, value, userdata) for each listen address of
 * the domain's graphics devices (see domxml_listen_addresses()), in
 * document order; stops at the first negative return and returns it. */
static int walk_listens(const struct domxml *d, int (*fn)(xmlNode *n, const char *attr, const char *value, void *userdata),
                        void *userdata)
{
        xmlNode *root = d && d->doc ? xmlDocGetRootElement(d->doc) : NULL;
        int r;

        for (xmlNode *devs = root ? root->children : NULL; devs; devs = devs->next) {
                if (!is_elem(devs, "devices"))
                        continue;
                for (xmlNode *g = devs->children; g; g = g->next) {
                        if (!is_elem(g, "graphics"))
                                continue;
                        xmlNode *fl = child(g, "listen");
                        /* libvirt wants the attribute equal to the first
                         * <listen>'s address: it follows that child */
                        if (!fl || prop_is(fl, "type", "address")) {
                                _cleanup_xmlfree_ xmlChar *v = xmlGetNoNsProp(g, BAD_CAST "listen");
                                if (v && *v && (r = fn(g, "listen", (const char *)v, userdata)) < 0)
                                        return r;
                        }
                        for (xmlNode *l = g->children; l; l = l->next) {
                                if (!is_elem(l, "listen") || !prop_is(l, "type", "address"))
                                        continue;
                                _cleanup_xmlfree_ xmlChar *v = xmlGetNoNsProp(l, BAD_CAST "address");
                                if (v && *v && (r = fn(l, "address", (const char *)v, userdata)) < 0)
                                        return r;
                        }
                }
        }
        return 0;
}

static int collect_listen(xmlNode *n, const char *attr, const char *value, void *userdata)
{
        char ***l = userdata;
        (void)n;
        (void)attr;
        return strv_push_unique(l, value);
}

int domxml_listen_addresses(const struct domxml *d, char ***ret)
{
        _cleanup_strv_ char **l = NULL;
        int r;

        *ret = NULL;
        if (!d)
                return -EINVAL;
        r = walk_listens(d, collect_listen, &l);
        if (r < 0)
                return r;
        r = (int)strv_length(l);
        *ret = TAKE_PTR(l);
        return r;
}

/* Where the value of attribute name lies in the start tag at raw[start]
 * (its '<'), quotes excluded. */
static bool attr_value_span(const char *raw, size_t len, size_t start, const char *name, struct span *ret)
{
        size_t i = start + 1, nl = strlen(name);

        if (start >= len || raw[start] != '<')
                return false;
        while (i < len && !strchr(" \t\r\n/>", raw[i]))
                i++;
        for (;;) {
                size_t an, ae;
                char q;
                while (i < len && strchr(" \t\r\n", raw[i]))
                        i++;
                if (i >= len || raw[i] == '>' || raw[i] == '/')
                        return false;
                an = i;
                while (i < len && !strchr(" \t\r\n=", raw[i]))
                        i++;
                ae = i;
                while (i < len && strchr(" \t\r\n", raw[i]))
                        i++;
                if (i >= len || raw[i++] != '=')
                        return false;
                while (i < len && strchr(" \t\r\n", raw[i]))
                        i++;
                if (i >= len || (raw[i] != '\'' && raw[i] != '"'))
                        return false;
                q = raw[i++];
                const char *e = memchr(raw + i, q, len - i);
                if (!e)
                        return false;
                if (ae - an == nl && memcmp(raw + an, name, nl) == 0) {
                        *ret = (struct span){ .start = i, .end = (size_t)(e - raw) };
                        return true;
                }
                i = (size_t)(e - raw) + 1;
        }
}

struct rewrite {
        struct domxml *d;
        bool (*rewrite)(const char *address, void *userdata);
        void *userdata;
        const char *to;
        size_t n;
        struct cut *plan;       /* the attributes to change, found first */
        xmlNode **nodes;
        const char **attrs;
};

static int count_rewrite(xmlNode *n, const char *attr, const char *value, void *userdata)
{
        struct rewrite *w = userdata;
        (void)n;
        (void)attr;
        if (w->rewrite(value, w->userdata))
                w->n++;
        return 0;
}

static int note_rewrite(xmlNode *n, const char *attr, const char *value, void *userdata)
{
        struct rewrite *w = userdata;
        struct domxml_priv *p = w->d->priv;
        size_t i = (uintptr_t)n->_private;
        struct span v;

        if (!w->rewrite(value, w->userdata))
                return 0;
        w->nodes[w->n] = n;
        w->attrs[w->n] = attr;
        if (p->spans_ok && i > 0 && i <= p->n_spans && attr_value_span(p->raw, p->raw_len, p->spans[i - 1].start, attr, &v))
                w->plan[w->n] = (struct cut){ .start = v.start, .end = v.end };
        else
                w->plan[w->n] = (struct cut){ .start = SIZE_MAX };
        if (!(w->plan[w->n].text = strdup(w->to)))
                return -ENOMEM;
        w->n++;
        return 0;
}

int domxml_rewrite_listens(struct domxml *d, bool (*rewrite)(const char *address, void *userdata), void *userdata,
                           const char *to)
{
        struct rewrite w = { .d = d, .rewrite = rewrite, .userdata = userdata, .to = to };
        _cleanup_free_ struct cut *plan = NULL;
        _cleanup_free_ xmlNode **nodes = NULL;
        _cleanup_free_ const char **attrs = NULL;
        size_t n;
        int r;

        if (!d || !d->priv || !rewrite || !to || !*to)
                return -EINVAL;
        (void)walk_listens(d, count_rewrite, &w);
        n = w.n;
        if (n == 0)
                return 0;
        /* Allocate first: once the tree is touched nothing may fail. */
        plan = calloc(n, sizeof(*plan));
        nodes = calloc(n, sizeof(*nodes));
        attrs = calloc(n, sizeof(*attrs));
        if (!plan || !nodes || !attrs || cuts_reserve(d->priv, n) < 0)
                return -ENOMEM;
        w.plan = plan;
        w.nodes = nodes;
        w.attrs = attrs;
        w.n = 0;
        r = walk_listens(d, note_rewrite, &w);
        if (r < 0) {
                for (size_t i = 0; i < n; i++)
                        free(plan[i].text);
                return r;
        }
        for (size_t i = 0; i < n; i++) {
                if (r == 0 && !xmlSetProp(nodes[i], BAD_CAST attrs[i], BAD_CAST to))
                        r = -ENOMEM;
                if (r < 0 || plan[i].start == SIZE_MAX) {
                        if (plan[i].start == SIZE_MAX)
                                d->priv->spans_ok = false;
                        free(plan[i].text);
                } else
                        d->priv->cuts[d->priv->n_cuts++] = plan[i];
        }
        return r < 0 ? r : (int)n;
}

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

static int cmp_cut(const void *a, const void *b)
{
        const struct cut *x = a, *y = b;
        return x->start < y->start ? -1 : x->start > y->start;
}

/* The input with the cuts removed or replaced, or NULL (*ret) if the cuts
 * overlap. */
static int splice(const struct domxml_priv *p, char **ret, size_t *len)
{
        _cleanup_free_ struct cut *cuts = NULL;
        _cleanup_free_ char *out = NULL;
        size_t at = 0, o = 0, size = p->raw_len + 1;

        *ret = NULL;
        for (size_t i = 0; i < p->n_cuts; i++)
                size += p->cuts[i].text ? strlen(p->cuts[i].text) : 0;
        out = malloc(size);
        if (!out)
                return -ENOMEM;
        if (p->n_cuts > 0) {
                cuts = malloc(p->n_cuts * sizeof(*cuts));
                if (!cuts)
                        return -ENOMEM;
                memcpy(cuts, p->cuts, p->n_cuts * sizeof(*cuts));
                qsort(cuts, p->n_cuts, sizeof(*cuts), cmp_cut);
        }
        for (size_t i = 0; i < p->n_cuts; i++) {
                if (cuts[i].start < at || cuts[i].end > p->raw_len || cuts[i].end < cuts[i].start)
                        return 0;
                memcpy(out + o, p->raw + at, cuts[i].start - at);
                o += cuts[i].start - at;
                if (cuts[i].text) {
                        size_t tl = strlen(cuts[i].text);
                        memcpy(out + o, cuts[i].text, tl);
                        o += tl;
                }
                at = cuts[i].end;
        }
        memcpy(out + o, p->raw + at, p->raw_len - at);
        o += p->raw_len - at;
        out[o] = 0;
        *len = o;
        *ret = TAKE_PTR(out);
        return 0;
}

static bool same_nodes(const xmlNode *a, const xmlNode *b);

static bool same_ns(const xmlNs *a, const xmlNs *b)
{
        if (!a || !b)
                return a == b;
        return xmlStrEqual(a->href, b->href) && xmlStrEqual(a->prefix, b->prefix);
}

static bool same_ns_defs(const xmlNs *a, const xmlNs *b)
{
        for (; a && b; a = a->next, b = b->next)
                if (!same_ns(a, b))
                        return false;
        return !a && !b;
}

static bool same_attrs(const xmlAttr *a, const xmlAttr *b)
{
        for (; a && b; a = a->next, b = b->next)
                if (!xmlStrEqual(a->name, b->name) || !same_ns(a->ns, b->ns) || !same_nodes(a->children, b->children))
                        return false;
        return !a && !b;
}

/* Whether two node lists are the same document content, as libxml2 would
 * serialize them: node kinds and names, namespaces (prefix and URI) and
 * their declarations, attributes in order with their values, the content
 * of text, CDATA, comments and processing instructions. Any other kind of
 * node (a DTD, an entity reference) counts as different. */
static bool same_nodes(const xmlNode *a, const xmlNode *b)
{
        for (; a && b; a = a->next, b = b->next) {
                if (a->type != b->type || !xmlStrEqual(a->name, b->name))
                        return false;
                switch (a->type) {
                case XML_ELEMENT_NODE:
                        if (!same_ns(a->ns, b->ns) || !same_ns_defs(a->nsDef, b->nsDef) ||
                            !same_attrs(a->properties, b->properties))
                                return false;
                        break;
                case XML_TEXT_NODE:
                case XML_CDATA_SECTION_NODE:
                case XML_COMMENT_NODE:
                case XML_PI_NODE:
                        if (!xmlStrEqual(a->content, b->content))
                                return false;
                        break;
                default:
                        return false;
                }
                if (!same_nodes(a->children, b->children))
                        return false;
        }
        return !a && !b;
}

int domxml_format(const struct domxml *d, char **ret, size_t *len)
{
        if (d->priv && d->priv->raw && d->priv->spans_ok) {
                _cleanup_free_ char *text = NULL;
                size_t text_len = 0;
                int r = splice(d->priv, &text, &text_len);
                if (r < 0)
                        return r;
                if (text && dx_prescan(text, text_len, NULL) == 0) {
                        /* Use the text only if it is the same document. */
                        struct parse_state ps;
                        _cleanup_xmldoc_ xmlDoc *doc = NULL;
                        r = dx_parse_doc(text, text_len, false, &ps, &doc, NULL);
                        dx_parse_state_done(&ps);
                        if (r == -ENOMEM)
                                return r;
                        if (r == 0 && same_nodes(doc->children, ((const xmlDoc *)d->doc)->children)) {
                                *len = text_len;
                                *ret = TAKE_PTR(text);
                                return 0;
                        }
                }
        }
        return save_doc(d->doc, ret, len);
}
