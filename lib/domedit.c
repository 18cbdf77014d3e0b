/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Edits of the domain XML and its output. Output is byte-exact: an edit
 * cuts the byte ranges domparse.c recorded out of the original text.
 * libxml2's serializer would rewrite every attribute in double quotes; the
 * operator would then see a whole-document diff for a one-line change.
 * domxml_format() re-parses the cut text and uses it only if it gives the
 * same tree as the edited DOM. */
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
        if (text && dx_prescan(text, text_len, NULL) == 0) {
                /* Use the text only if it is the same document. */
                struct parse_state ps;
                _cleanup_xmldoc_ xmlDoc *doc = NULL;
                r = dx_parse_doc(text, text_len, false, &ps, &doc, NULL);
                dx_parse_state_done(&ps);
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
