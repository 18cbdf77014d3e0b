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
 * cut text and uses it only if it gives the same tree as the edited DOM.
 *
 * This file reads what migkit needs from the parsed domain; the bytes and
 * the libxml2 parse are in domparse.c, the edits and the output in
 * domedit.c (domxml-priv.h is what they share). */
#include "domxml-priv.h"

#include <ctype.h>
#include <stdarg.h>
#include <strings.h>

#include "validate.h"

#define MTU_MIN 68u     /* ETH_MIN_MTU: the smallest MTU a Linux bridge takes */
#define MTU_MAX 65535u  /* ETH_MAX_MTU */

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

int dx_set_err(char **err, const char *fmt, ...)
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
                return dx_set_err(err, "domain XML: <interface type='bridge'>%s%s has no <source bridge='...'>",
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
                        return dx_set_err(err, "domain XML: %s has an invalid <mtu size='%s'>; expected a number from %u to %u",
                                       what, size ? CLEAN(size) : "(none)", MTU_MIN, MTU_MAX);
        }
        struct dom_iface *ni = grow(d->ifaces, d->n_ifaces, sizeof(*ni));
        if (!ni)
                return -ENOMEM;
        d->ifaces = ni;
        ni[d->n_ifaces++] = (struct dom_iface){ .bridge = TAKE_PTR(bridge), .mtu = v, .mac = TAKE_PTR(mac) };
        return 0;
}

void dx_pathlist_done(struct pathlist *l)
{
        for (size_t i = 0; i < l->n; i++)
                free(l->v[i]);
        free(l->v);
        *l = (struct pathlist){ 0 };
}

int dx_push_file(struct pathlist *l, char *path)
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
                if (r < 0 || (r = dx_push_file(files, v)) < 0)
                        return r;
        }
        xmlNode *nvram = child(os, "nvram");
        if (!nvram)
                return 0;
        r = prop_nonempty(nvram, "template", &v);
        if (r < 0 || (r = dx_push_file(files, v)) < 0)
                return r;
        if (child(nvram, "source")) /* libvirt >= 8.5: <nvram type='file'><source file=.../> */
                r = prop_nonempty(child(nvram, "source"), "file", &v);
        else
                r = content(nvram, &v);
        if (r < 0)
                return r;
        return dx_push_file(files, v);
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
                if (r < 0 || (r = dx_push_file(files, v)) < 0)
                        return r;
        }
        return 0;
}

int dx_collect_files(struct domxml *d)
{
        _cleanup_(dx_pathlist_done) struct pathlist files = { 0 };
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
                                r = dx_push_file(&files, v);
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

/* There must be exactly one <what> under <domain>. */
static int count_error(const char *what, size_t n, char **err)
{
        if (n == 0)
                return dx_set_err(err, "domain XML has no <%s> under <domain>", what);
        if (n > 1)
                return dx_set_err(err, "domain XML has %zu <%s> elements under <domain>; expected exactly one", n, what);
        return 0;
}

/* The single <what> element directly under <domain>. */
static int unique_child(xmlNode *root, const char *what, xmlNode **ret, char **err)
{
        size_t n = 0;
        for (xmlNode *c = root->children; c; c = c->next)
                if (is_elem(c, what) && n++ == 0)
                        *ret = c;
        return count_error(what, n, err);
}

static int root_error(const char *name, const char *prefix, const char *href, bool has_ns, char **err)
{
        return dx_set_err(err, "domain XML root element is <%s%s%s>%s%s%s, expected libvirt's <domain>",
                          prefix ? CLEAN(prefix) : "", prefix ? ":" : "", CLEAN(name), has_ns ? " in namespace '" : "",
                          has_ns && href ? CLEAN(href) : "", has_ns ? "'" : "");
}

/* Takes name (the content of <name>) into d, checked. */
static int take_name(struct domxml *d, char *name, char **err)
{
        d->name = name;
        if (!*d->name)
                return dx_set_err(err, "domain XML has an empty <name>");
        for (const char *c = d->name; *c; c++)
                if (iscntrl((unsigned char)*c) || *c == '/')
                        return dx_set_err(err, "domain XML <name> '%s' contains '/' or control characters", CLEAN(d->name));
        return 0;
}

/* Takes uuid (the content of <uuid>) into d, checked and lower-cased. */
static int take_uuid(struct domxml *d, char *uuid, char **err)
{
        _cleanup_free_ char *u = uuid;
        if (!uuid_is_valid(u))
                return dx_set_err(err, "domain XML has an invalid <uuid> '%s': not a UUID (8-4-4-4-12 hex digits)", CLEAN(u));
        for (char *c = u; *c; c++)
                *c = (char)tolower((unsigned char)*c);
        d->uuid = TAKE_PTR(u);
        return 0;
}

static int parse_domain(struct domxml *d, char **err)
{
        xmlNode *root = xmlDocGetRootElement(d->doc), *name_node = NULL, *uuid_node = NULL;
        char *name = NULL, *uuid = NULL;
        int r;

        if (!root)
                return dx_set_err(err, "domain XML has no root element");
        if (!xmlStrEqual(root->name, BAD_CAST "domain") || root->ns)
                return root_error((const char *)root->name, root->ns ? (const char *)root->ns->prefix : NULL,
                                  root->ns ? (const char *)root->ns->href : NULL, root->ns != NULL, err);
        if ((r = unique_child(root, "name", &name_node, err)) < 0 || (r = content(name_node, &name)) < 0 ||
            (r = take_name(d, name, err)) < 0)
                return r;
        if ((r = unique_child(root, "uuid", &uuid_node, err)) < 0 || (r = content(uuid_node, &uuid)) < 0 ||
            (r = take_uuid(d, uuid, err)) < 0)
                return r;

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
        return dx_collect_files(d);
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
        r = dx_prescan(buf, len, err);
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

        r = dx_parse_doc(d->priv->raw, len, true, &ps, &doc, err);
        if (r == 0) {
                d->doc = doc;
                d->priv->spans = TAKE_PTR(ps.spans);
                d->priv->n_spans = ps.n_spans;
                d->priv->spans_ok = ps.spans_ok;
        }
        dx_parse_state_done(&ps);
        if (r < 0)
                return r;
        r = parse_domain(d, err);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(d);
        return 0;
}

int domxml_parse_ids(const char *buf, size_t len, struct domxml **ret, char **err)
{
        _cleanup_domxml_ struct domxml *d = NULL;
        struct dx_ids ids;
        int r;

        if (err)
                *err = NULL;
        *ret = NULL;
        if ((r = dx_prescan(buf, len, err)) < 0 || (r = dx_parse_ids(buf, len, &ids, err)) < 0)
                return r;
        d = calloc(1, sizeof(*d));
        if (!d)
                r = -ENOMEM;
        else if (!ids.root_seen)
                r = dx_set_err(err, "domain XML has no root element");
        else if (ids.root_name)
                r = root_error(ids.root_name, ids.root_prefix, ids.root_href, ids.root_ns, err);
        else if ((r = count_error("name", ids.n_name, err)) == 0 && (r = take_name(d, TAKE_PTR(ids.name), err)) == 0 &&
                 (r = count_error("uuid", ids.n_uuid, err)) == 0)
                r = take_uuid(d, TAKE_PTR(ids.uuid), err);
        dx_ids_done(&ids);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(d);
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
                for (size_t i = 0; i < d->priv->n_cuts; i++)
                        free(d->priv->cuts[i].text);
                free(d->priv->cuts);
                free(d->priv);
        }
        free(d);
}
