/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "secrets.h"

#include <libvirt/virterror.h>
#include <libxml/tree.h>

#include "util.h"
#include "virt.h"
#include "xmlnode.h"

/* "rbd vms/disk-1" for a network disk, else its source path. */
static char *describe_source(const struct dom_disk *k)
{
        xmlNodePtr src = xml_child(k->node, "source");
        _cleanup_free_ char *proto = xml_prop(src, "protocol"), *name = xml_prop(src, "name");
        char *s = NULL;
        if (proto && asprintf(&s, "%s %s", proto, name ? name : "?") < 0)
                return NULL;
        return s ? s : strdup(k->source ? k->source : dom_disk_type_to_string(k->type));
}

static int add_secret(struct dom_secret **v, size_t *n, const struct dom_disk *k, const char *what, xmlNodePtr sec)
{
        struct dom_secret *nv = realloc(*v, (*n + 1) * sizeof(*nv));
        if (!nv)
                return -ENOMEM;
        *v = nv;
        struct dom_secret *s = &nv[(*n)++];
        memset(s, 0, sizeof(*s));
        s->disk = strdup(k->target ? k->target : "-");
        s->what = strdup(what);
        s->type = xml_prop(sec, "type");
        s->uuid = xml_prop(sec, "uuid");
        s->usage = xml_prop(sec, "usage");
        s->source = describe_source(k);
        if (!s->type)
                s->type = strdup("?");
        return s->disk && s->what && s->type && s->source ? 0 : -ENOMEM;
}

/* Every <secret> of the elements named name under disk and its <source>. */
static int collect(struct dom_secret **v, size_t *n, const struct dom_disk *k, const char *name, const char *what)
{
        xmlNodePtr where[] = { k->node, xml_child(k->node, "source") };
        for (size_t w = 0; w < ARRAY_SIZE(where); w++)
                for (xmlNodePtr e = where[w] ? ((xmlNodePtr)where[w])->children : NULL; e; e = e->next) {
                        if (e->type != XML_ELEMENT_NODE || !xmlStrEqual(e->name, (const xmlChar *)name))
                                continue;
                        for (xmlNodePtr s = e->children; s; s = s->next)
                                if (s->type == XML_ELEMENT_NODE && xmlStrEqual(s->name, (const xmlChar *)"secret")) {
                                        int r = add_secret(v, n, k, what, s);
                                        if (r < 0)
                                                return r;
                                }
                }
        return 0;
}

int dom_secrets(const struct domxml *d, struct dom_secret **ret)
{
        struct dom_secret *v = NULL;
        size_t n = 0;
        int r = 0;
        for (size_t i = 0; i < d->n_disks && r == 0; i++) {
                r = collect(&v, &n, &d->disks[i], "auth", "auth");
                if (r == 0)
                        r = collect(&v, &n, &d->disks[i], "encryption", "encryption");
        }
        if (r < 0) {
                dom_secrets_free(v, n);
                return r;
        }
        *ret = v;
        return (int)n;
}

void dom_secrets_free(struct dom_secret *s, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                free(s[i].disk);
                free(s[i].what);
                free(s[i].type);
                free(s[i].uuid);
                free(s[i].usage);
                free(s[i].source);
        }
        free(s);
}

/* ---- asking a host ----------------------------------------------------- */

enum found { FOUND_VALUE, FOUND_PRIVATE, FOUND_NO_VALUE, FOUND_NONE, FOUND_UNKNOWN };

/* "secret 3b1f... (ceph)" or "secret of usage 'client.admin secret' (ceph)" */
static char *secret_name(const struct dom_secret *s)
{
        char *r = NULL;
        int n = s->uuid ? asprintf(&r, "secret %s (%s)", s->uuid, s->type)
                        : asprintf(&r, "secret of usage '%s' (%s)", s->usage ? s->usage : "?", s->type);
        return n < 0 ? NULL : r;
}

static int usage_type(const char *type)
{
        if (streq(type, "ceph"))
                return VIR_SECRET_USAGE_TYPE_CEPH;
        if (streq(type, "iscsi"))
                return VIR_SECRET_USAGE_TYPE_ISCSI;
        if (streq(type, "passphrase") || streq(type, "volume"))
                return VIR_SECRET_USAGE_TYPE_VOLUME;
        return -1;
}

/* Is s defined on c, and does it have a value? *err: libvirt's words for
 * FOUND_UNKNOWN. The value, when read, is wiped at once. */
static enum found lookup(virConnectPtr c, const struct dom_secret *s, char **err)
{
        virSecretPtr sec = NULL;
        int ut = usage_type(s->type);
        *err = NULL;
        if (s->uuid)
                sec = virSecretLookupByUUIDString(c, s->uuid);
        else if (s->usage && ut >= 0)
                sec = virSecretLookupByUsage(c, ut, s->usage);
        else
                return *err = strdup("it names neither a UUID nor a usage migkit can look up"), FOUND_UNKNOWN;
        if (!sec) {
                virErrorPtr e = virGetLastError();
                if (e && e->code == VIR_ERR_NO_SECRET)
                        return FOUND_NONE;
                *err = strdup(virt_last_error());
                return FOUND_UNKNOWN;
        }
        enum found f;
        _cleanup_free_ char *xml = virSecretGetXMLDesc(sec, 0);
        size_t size = 0;
        unsigned char *val = NULL;
        if (xml && (strstr(xml, "private='yes'") || strstr(xml, "private=\"yes\"")))
                f = FOUND_PRIVATE;
        else if ((val = virSecretGetValue(sec, &size, 0))) {
                explicit_bzero(val, size);
                free(val);
                f = size ? FOUND_VALUE : FOUND_NO_VALUE;
        } else {
                virErrorPtr e = virGetLastError();
                f = e && e->code == VIR_ERR_NO_SECRET ? FOUND_NO_VALUE : FOUND_PRIVATE; /* not ours to read */
        }
        virSecretFree(sec);
        return f;
}

/* ---- migkit check -------------------------------------------------------- */

static int check_one(struct preflight *p, virConnectPtr dst, const char *domain, const struct dom_secret *s, bool persistent_only)
{
        _cleanup_free_ char *name = NULL, *what = secret_name(s), *err = NULL, *fix = NULL;
        const char *where = persistent_only ? " (its persistent definition, which the migration carries)" : "";
        if (!what || asprintf(&name, "secret %s", s->disk) < 0)
                return -ENOMEM;
        switch (lookup(dst, s, &err)) {
        case FOUND_VALUE:
                return preflight_add(p, CHECK_OK, name, NULL, "disk %s (%s) of %s%s needs %s: the destination has it, with a value",
                                     s->disk, s->source, domain, where, what);
        case FOUND_PRIVATE:
                return preflight_add(p, CHECK_OK, name, NULL,
                                     "disk %s (%s) of %s%s needs %s: the destination has it (private: its value cannot be read)",
                                     s->disk, s->source, domain, where, what);
        case FOUND_NO_VALUE:
                if (asprintf(&fix, "give it its value on the destination: virsh secret-set-value %s ...",
                             s->uuid ? s->uuid : "<uuid>") < 0)
                        return -ENOMEM;
                return preflight_add(p, CHECK_FAIL, name, fix,
                                     "disk %s (%s) of %s%s needs %s: the destination has it without a value; QEMU there "
                                     "cannot open the disk", s->disk, s->source, domain, where, what);
        case FOUND_NONE:
                if (asprintf(&fix, "define it on the destination with the same %s and value: virsh secret-define "
                             "(with <uuid>%s</uuid>), then virsh secret-set-value", s->uuid ? "UUID" : "usage",
                             s->uuid ? s->uuid : "...") < 0)
                        return -ENOMEM;
                return preflight_add(p, CHECK_FAIL, name, fix,
                                     "disk %s (%s) of %s%s needs %s, which the destination does not have; QEMU there "
                                     "cannot open the disk", s->disk, s->source, domain, where, what);
        default:
                return preflight_add(p, CHECK_WARN, name, NULL, "disk %s (%s) of %s%s needs %s: cannot ask the destination: %s",
                                     s->disk, s->source, domain, where, what, err ? err : "unknown error");
        }
}

static bool same(const struct dom_secret *a, const struct dom_secret *b)
{
        return streq(a->disk, b->disk) && streq_ptr(a->uuid, b->uuid) && streq_ptr(a->usage, b->usage);
}

int secrets_check(struct preflight *p, virDomainPtr dom, const struct domxml *live, virConnectPtr dst)
{
        struct dom_secret *l = NULL, *q = NULL;
        _cleanup_domxml_ struct domxml *pd = NULL;
        int nl, nq = 0, r = 0;

        nl = dom_secrets(live, &l);
        if (nl < 0)
                return nl;
        if (virDomainIsPersistent(dom) == 1) {
                _cleanup_free_ char *xml = virDomainGetXMLDesc(dom, VIR_DOMAIN_XML_INACTIVE);
                if (xml && domxml_parse(xml, strlen(xml), &pd, NULL) == 0 && (nq = dom_secrets(pd, &q)) < 0)
                        r = nq;
                nq = nq < 0 ? 0 : nq;
        }
        for (int i = 0; i < nl && r == 0; i++)
                r = check_one(p, dst, live->name, &l[i], false);
        for (int i = 0; i < nq && r == 0; i++) {
                bool dup = false;
                for (int j = 0; j < nl && !dup; j++)
                        dup = same(&q[i], &l[j]);
                if (!dup)
                        r = check_one(p, dst, live->name, &q[i], true);
        }
        dom_secrets_free(l, (size_t)nl);
        dom_secrets_free(q, (size_t)nq);
        return r;
}

/* ---- migkit doctor ------------------------------------------------------- */

struct need {
        struct dom_secret s;   /* the first use (disk and source unused) */
        char **users;          /* "inst-a (vdb)" */
};

static int note_need(struct need **v, size_t *n, const char *domain, const struct dom_secret *s)
{
        _cleanup_free_ char *user = NULL;
        struct need *x = NULL;
        if (asprintf(&user, "%s (%s)", domain, s->disk) < 0)
                return -ENOMEM;
        for (size_t i = 0; i < *n && !x; i++)
                if (streq_ptr((*v)[i].s.uuid, s->uuid) && streq_ptr((*v)[i].s.usage, s->usage))
                        x = &(*v)[i];
        if (!x) {
                struct need *nv = realloc(*v, (*n + 1) * sizeof(*nv));
                if (!nv)
                        return -ENOMEM;
                *v = nv;
                x = &nv[(*n)++];
                memset(x, 0, sizeof(*x));
                if (!(x->s.type = strdup(s->type)) || (s->uuid && !(x->s.uuid = strdup(s->uuid))) ||
                    (s->usage && !(x->s.usage = strdup(s->usage))))
                        return -ENOMEM;
        }
        return strv_push_unique(&x->users, user);
}

static int gather(virConnectPtr c, struct need **v, size_t *n)
{
        virDomainPtr *doms = NULL;
        int nd = virConnectListAllDomains(c, &doms, 0), r = 0;
        if (nd < 0)
                return 0; /* check_libvirt says why */
        for (int i = 0; i < nd; i++) {
                for (int pass = 0; pass < 2 && r == 0; pass++) {
                        if (pass == 1 && !(virDomainIsActive(doms[i]) == 1 && virDomainIsPersistent(doms[i]) == 1))
                                break;
                        _cleanup_free_ char *xml = virDomainGetXMLDesc(doms[i], pass ? VIR_DOMAIN_XML_INACTIVE : 0);
                        _cleanup_domxml_ struct domxml *d = NULL;
                        struct dom_secret *s = NULL;
                        int ns;
                        if (!xml || domxml_parse(xml, strlen(xml), &d, NULL) < 0)
                                continue;
                        if ((ns = dom_secrets(d, &s)) < 0)
                                r = ns;
                        for (int k = 0; k < ns && r == 0; k++)
                                r = note_need(v, n, d->name, &s[k]);
                        dom_secrets_free(s, ns < 0 ? 0 : (size_t)ns);
                }
                virDomainFree(doms[i]);
        }
        free(doms);
        return r;
}

int secrets_doctor(struct preflight *p, virConnectPtr conn)
{
        struct need *v = NULL;
        size_t n = 0;
        int r;

        if (!conn)
                return 0;
        r = gather(conn, &v, &n);
        for (size_t i = 0; i < n && r == 0; i++) {
                _cleanup_free_ char *what = secret_name(&v[i].s), *users = strv_join(v[i].users, ", "), *err = NULL,
                                    *name = NULL;
                if (!what || !users || asprintf(&name, "secret %s", v[i].s.uuid ? v[i].s.uuid : v[i].s.usage ? v[i].s.usage : "?") < 0) {
                        r = -ENOMEM;
                        break;
                }
                const char *also = "; every host these guests may migrate to needs it too, with the same UUID and value";
                switch (lookup(conn, &v[i].s, &err)) {
                case FOUND_VALUE:
                case FOUND_PRIVATE:
                        r = preflight_add(p, CHECK_OK, name, NULL, "%s, used by %s: defined here%s", what, users, also);
                        break;
                case FOUND_NO_VALUE:
                        r = preflight_add(p, CHECK_FAIL, name, "virsh secret-set-value on this host", "%s, used by %s: defined here "
                                          "without a value; those disks cannot be opened at the next start%s", what, users, also);
                        break;
                case FOUND_NONE:
                        r = preflight_add(p, CHECK_FAIL, name, "virsh secret-define and secret-set-value on this host",
                                          "%s, used by %s: not defined here; those disks cannot be opened at the next start%s",
                                          what, users, also);
                        break;
                default:
                        r = preflight_add(p, CHECK_WARN, name, NULL, "%s, used by %s: cannot ask libvirt here: %s", what, users,
                                          err ? err : "unknown error");
                }
        }
        for (size_t i = 0; i < n; i++) {
                free(v[i].s.type);
                free(v[i].s.uuid);
                free(v[i].s.usage);
                strv_free(v[i].users);
        }
        free(v);
        return r;
}
