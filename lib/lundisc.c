/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "lundisc.h"

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <libxml/tree.h>
#include <limits.h>
#include <stdarg.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "domxml.h"
#include "fc.h"
#include "fclun.h"
#include "log.h"
#include "lunrec.h"
#include "mpath.h"
#include "pending.h"
#include "proof.h"
#include "state.h"
#include "udevwait.h"
#include "util.h"
#include "validate.h"
#include "virt.h"
#include "xmlnode.h"

/* What a local domain uses that could be one of our LUNs. */
struct use {
        char *what;                  /* "domain X uses it (disk vdb, /dev/...)" */
        char wwid[FC_WWID_MAX + 1];  /* "" if unknown */
        char devno[32];              /* its device number, "" if none */
        char hctl[32];               /* a SCSI host device's address, "" if none */
        bool unknown;                /* could not be resolved: blocks every LUN */
};

struct lundisc_priv {
        bool loaded;
        struct use *uses;
        size_t n_uses;
        char *uses_error;            /* libvirt could not be asked */
        struct mpath *mp;
        bool mp_tried;
        char *mp_error;
};

static FILE *report(const struct lundisc *ld)
{
        return ld->report ? ld->report : stdout;
}

static const char *pfx(const struct lundisc *ld)
{
        return ld->label ? ld->label : "";
}

static const char *sep(const struct lundisc *ld)
{
        return ld->label ? ": " : "";
}

/* ---- what the local domains use ------------------------------------------ */

static int add_use(struct lundisc_priv *p, struct use **ret, const char *fmt, ...) _printf_(3, 4);
static int add_use(struct lundisc_priv *p, struct use **ret, const char *fmt, ...)
{
        struct use *n = realloc(p->uses, (p->n_uses + 1) * sizeof(*n));
        va_list ap;
        if (!n)
                return -ENOMEM;
        p->uses = n;
        memset(&n[p->n_uses], 0, sizeof(*n));
        va_start(ap, fmt);
        n[p->n_uses].what = strdup_vprintf(fmt, ap);
        va_end(ap);
        if (!n[p->n_uses].what)
                return -ENOMEM;
        *ret = &n[p->n_uses++];
        return 0;
}

/* The path of a <disk type='volume'>'s volume, NULL with *err when libvirt
 * cannot tell it. */
static char *volume_path(virConnectPtr c, const struct dom_disk *k, char **err)
{
        xmlNodePtr src = xml_child(k->node, "source");
        _cleanup_free_ char *pool = xml_prop(src, "pool"), *vol = xml_prop(src, "volume");
        virStoragePoolPtr sp = pool && vol ? virStoragePoolLookupByName(c, pool) : NULL;
        virStorageVolPtr sv = sp ? virStorageVolLookupByName(sp, vol) : NULL;
        char *path = sv ? virStorageVolGetPath(sv) : NULL;
        if (!path && asprintf(err, "volume %s of pool %s cannot be looked up (%s)", vol ? vol : "?", pool ? pool : "?",
                              virt_last_error()) < 0)
                *err = NULL;
        if (sv)
                virStorageVolFree(sv);
        if (sp)
                virStoragePoolFree(sp);
        return path;
}

/* One disk of a domain: its LUN (by name and device), if any. */
static int use_disk(struct lundisc *ld, virConnectPtr c, const struct domxml *d, const struct dom_disk *k)
{
        const struct mk_config *cfg = ld->cfg;
        _cleanup_free_ char *vpath = NULL, *err = NULL, *p = NULL;
        const char *source = k->source, *t = k->target ? k->target : "-";
        struct use *u;
        int r;

        if (k->type == DOM_DISK_VOLUME) {
                if (!(vpath = volume_path(c, k, &err))) {
                        if (!err || add_use(ld->priv, &u, "domain %s disk %s: %s, so cannot tell that it does not use it",
                                            d->name, t, err) < 0)
                                return -ENOMEM;
                        u->unknown = true;
                        return 0;
                }
                source = vpath;
        } else if (k->type != DOM_DISK_BLOCK)
                return 0;
        if (!source || strncmp(source, "/dev/", 5) != 0)
                return 0;
        if (add_use(ld->priv, &u, "domain %s uses it (disk %s, %s)", d->name, t, source) < 0)
                return -ENOMEM;
        struct lun_id id;
        r = lun_resolve(cfg->sysfs_root, cfg->dev_root, source, &id);
        if (r < 0)
                return r;
        if (r > 0)
                memcpy(u->wwid, id.wwid, sizeof(u->wwid));
        lun_id_free(&id);
        struct stat st;
        if ((p = path_join(cfg->dev_root, source + 5)) && stat(p, &st) == 0 && S_ISBLK(st.st_mode))
                snprintf(u->devno, sizeof(u->devno), "%u:%u", major(st.st_rdev), minor(st.st_rdev));
        return 0;
}

/* <hostdev type='scsi'> with a scsi_hostN adapter: that SCSI address. */
static int use_hostdevs(struct lundisc *ld, const struct domxml *d)
{
        xmlNodePtr devs = xml_child(xmlDocGetRootElement(d->doc), "devices");
        for (xmlNodePtr h = devs ? devs->children : NULL; h; h = h->next) {
                if (h->type != XML_ELEMENT_NODE || !xmlStrEqual(h->name, (const xmlChar *)"hostdev"))
                        continue;
                _cleanup_free_ char *type = xml_prop(h, "type");
                xmlNodePtr src = xml_child(h, "source");
                xmlNodePtr ad = xml_child(src, "adapter"), addr = xml_child(src, "address");
                _cleanup_free_ char *an = xml_prop(ad, "name"), *bus = xml_prop(addr, "bus"), *tgt = xml_prop(addr, "target"),
                                    *unit = xml_prop(addr, "unit");
                unsigned host;
                struct use *u;
                if (!type || !streq(type, "scsi") || !an || !bus || !tgt || !unit || sscanf(an, "scsi_host%u", &host) != 1)
                        continue;
                if (add_use(ld->priv, &u, "domain %s uses it (SCSI host device %u:%s:%s:%s)", d->name, host, bus, tgt, unit) < 0)
                        return -ENOMEM;
                snprintf(u->hctl, sizeof(u->hctl), "%u:%s:%s:%s", host, bus, tgt, unit);
        }
        return 0;
}

static int use_domain(struct lundisc *ld, virConnectPtr c, virDomainPtr dom, unsigned flags)
{
        _cleanup_free_ char *xml = virDomainGetXMLDesc(dom, flags);
        _cleanup_domxml_ struct domxml *d = NULL;
        struct use *u;
        int r;
        if (!xml || domxml_parse(xml, strlen(xml), &d, NULL) < 0) {
                const char *name = virDomainGetName(dom);
                if (add_use(ld->priv, &u, "the XML of domain %s cannot be read, so cannot tell that it does not use it",
                            name ? name : "?") < 0)
                        return -ENOMEM;
                u->unknown = true;
                return 0;
        }
        for (size_t i = 0; i < d->n_disks; i++)
                if ((r = use_disk(ld, c, d, &d->disks[i])) < 0)
                        return r;
        return use_hostdevs(ld, d);
}

/* Every local domain's disks, live and persistent definitions, once per run. */
static int load_uses(struct lundisc *ld)
{
        struct lundisc_priv *p = ld->priv;
        _cleanup_(virt_conn_closep) virConnectPtr c = NULL;
        virDomainPtr *doms = NULL;
        int n, r = 0;

        if (p->loaded)
                return 0;
        p->loaded = true;
        virt_quiet_errors();
        c = virConnectOpenReadOnly(ld->cfg->libvirt_uri);
        if (!c || (n = virConnectListAllDomains(c, &doms, 0)) < 0) {
                if (asprintf(&p->uses_error, "cannot list the domains of this host through %s (%s), so cannot tell that "
                             "none uses it", ld->cfg->libvirt_uri, virt_last_error()) < 0)
                        p->uses_error = NULL;
                return p->uses_error ? 0 : -ENOMEM;
        }
        for (int i = 0; i < n; i++) {
                if (r == 0)
                        r = use_domain(ld, c, doms[i], 0);
                /* a running guest's next start uses its persistent definition */
                if (r == 0 && virDomainIsActive(doms[i]) == 1 && virDomainIsPersistent(doms[i]) == 1)
                        r = use_domain(ld, c, doms[i], VIR_DOMAIN_XML_INACTIVE);
                virDomainFree(doms[i]);
        }
        free(doms);
        return r;
}

static bool has_path(const struct fc_lun *l, const char *hctl)
{
        for (size_t i = 0; i < l->n_paths; i++)
                if (streq(l->paths[i].hctl, hctl))
                        return true;
        return false;
}

/* Notes every local domain that uses l. */
static int check_domains(struct lundisc *ld, struct fc_lun *l)
{
        struct lundisc_priv *p = ld->priv;
        int r = load_uses(ld);
        if (r < 0)
                return r;
        if (p->uses_error)
                return strv_push_unique(&l->blockers, p->uses_error);
        for (size_t i = 0; i < p->n_uses; i++) {
                const struct use *u = &p->uses[i];
                bool hit = u->unknown || (u->wwid[0] && strcasecmp(u->wwid, l->wwid) == 0) ||
                           (u->devno[0] && strv_contains(l->devs, u->devno)) || (u->hctl[0] && has_path(l, u->hctl));
                /* the live and the persistent definition often say the same */
                if (hit && strv_push_unique(&l->blockers, u->what) < 0)
                        return -ENOMEM;
        }
        return 0;
}

/* ---- multipathd ----------------------------------------------------------- */

/* Sends cmd; 0 when multipathd said "ok", else -errno or -EPROTO with
 * *reply saying what it said. */
static int ask(struct lundisc *ld, const char *cmd, char **reply)
{
        struct lundisc_priv *p = ld->priv;
        *reply = NULL;
        if (!p->mp_tried) {
                _cleanup_free_ char *err = NULL;
                p->mp_tried = true;
                int r = mpath_open(ld->cfg->fc_libmpathcmd, &p->mp, &err);
                if (r < 0 && asprintf(&p->mp_error, "%s cannot be loaded (%s); install multipath-tools", ld->cfg->fc_libmpathcmd,
                                      err ? err : strerror(-r)) < 0)
                        p->mp_error = NULL;
        }
        if (!p->mp)
                return (*reply = strdup(p->mp_error ? p->mp_error : "libmpathcmd cannot be loaded")) ? -ENOENT : -ENOMEM;
        int r = mpath_command(p->mp, cmd, 4000, reply);
        if (ld->out)
                fprintf(ld->out, "multipathd: %s: %s%s", cmd, r < 0 ? strerror(-r) : *reply,
                        r < 0 || !**reply || (*reply)[strlen(*reply) - 1] != '\n' ? "\n" : "");
        if (r == -ECONNREFUSED || r == -ENOENT) {
                free(*reply);
                return (*reply = strdup("multipathd is not running")) ? r : -ENOMEM;
        }
        if (r < 0)
                return (*reply = strdup(strerror(-r))) ? r : -ENOMEM;
        (*reply)[strcspn(*reply, "\n")] = '\0';
        return mpath_reply_classify(*reply) == MPATH_REPLY_OK ? 0 : -EPROTO;
}

/* ---- removing one LUN ----------------------------------------------------- */

/* "WWID 3600... (map mpatha dm-3, paths sdc 5:0:1:1, sdf 6:0:0:1)" */
static char *describe(const struct fc_lun *l)
{
        char *s = NULL;
        FILE *f;
        size_t n;
        if (!(f = open_memstream(&s, &n)))
                return NULL;
        fprintf(f, "WWID %s", l->wwid);
        const char *o = " (";
        if (l->map[0]) {
                fprintf(f, "%smap %s %s", o, l->map_name, l->map);
                o = ", ";
        }
        for (size_t i = 0; i < l->n_paths; i++, o = ", ")
                fprintf(f, "%s%s%s %s", o, i == 0 ? "paths " : "", l->paths[i].disk[0] ? l->paths[i].disk : "-", l->paths[i].hctl);
        if (!streq(o, " ("))
                fputc(')', f);
        return fclose(f) == 0 ? s : NULL;
}

/* Adds what holds l (beyond what fc_lun_find saw). */
static int check_users(struct lundisc *ld, struct fc_lun *l)
{
        const struct mk_config *cfg = ld->cfg;
        int r;
        if (fc_lun_check_mounts(l, cfg->mountinfo) < 0 && (r = strv_push(&l->blockers, "the mount table cannot be read")) < 0)
                return r;
        if ((r = fc_lun_check_open(l, cfg->proc_root)) == -ENOMEM)
                return r;
        if (r < 0 && (r = strv_push(&l->blockers, "the open files of processes cannot be read")) < 0)
                return r;
        r = fc_lun_check_dm_open(l, cfg->dev_root);
        if (r == -ENOMEM)
                return r;
        if (r < 0 && r != -ENOENT) {
                _cleanup_free_ char *m = NULL;
                if (asprintf(&m, "device-mapper cannot tell whether map %s is open (%s)", l->map_name, strerror(-r)) < 0 ||
                    strv_push(&l->blockers, m) < 0)
                        return -ENOMEM;
        }
        return check_domains(ld, l);
}

/* One removal: the LUN, its plan, the waits for its devices to go. */
struct removal {
        struct lundisc *ld;
        const struct lundisc_lun *lun;
        struct fc_lun l;
        struct fc_plan plan;
        struct udevwait *w;
        int *wi;            /* per path: its sysfs entry's and its /dev node's watch (-1: none) */
        int map_wi;
        char *desc;
        uint64_t until;
};

static void removal_done(struct removal *rm)
{
        fc_lun_free(&rm->l);
        fc_plan_free(&rm->plan);
        if (rm->w)
                udevwait_free(rm->w);
        free(rm->wi);
        free(rm->desc);
}

static int fail(char **why, const char *fmt, ...) _printf_(2, 3);
static int fail(char **why, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        *why = strdup_vprintf(fmt, ap);
        va_end(ap);
        return *why ? LUNDISC_FAILED : -ENOMEM;
}

static void dry_run(struct removal *rm)
{
        struct lundisc *ld = rm->ld;
        FILE *f = report(ld);
        if (rm->l.map[0] && !rm->lun->keep_map)
                fprintf(f, "%s%swould ask multipathd: del map %s\n", pfx(ld), sep(ld), rm->l.map_name);
        for (size_t i = 0; rm->l.map[0] && rm->lun->keep_map && i < rm->l.n_paths; i++)
                if (rm->l.paths[i].disk[0])
                        fprintf(f, "%s%swould ask multipathd: del path %s\n", pfx(ld), sep(ld), rm->l.paths[i].disk);
        fc_plan_print(&rm->plan, f, "would ");
        if (rm->plan.n_writes)
                fprintf(f, "%s%swould wait up to %u ms for %s to go\n", pfx(ld), sep(ld), ld->wait_ms, rm->desc);
}

/* Watches every device of the removal for going, before anything is asked
 * or written, so no event is lost. */
static int watch(struct removal *rm)
{
        const struct mk_config *cfg = rm->ld->cfg;
        int r = udevwait_new(&rm->w);
        if (r < 0)
                return r;
        rm->map_wi = -1;
        if (!(rm->wi = calloc(2 * rm->l.n_paths + 1, sizeof(int))))
                return -ENOMEM;
        for (size_t i = 0; i < rm->l.n_paths; i++) {
                const struct fc_lun_path *p = &rm->l.paths[i];
                _cleanup_free_ char *s = NULL, *d = NULL;
                if (asprintf(&s, "%s/class/scsi_device/%s", cfg->sysfs_root, p->hctl) < 0 ||
                    (p->disk[0] && !(d = path_join(cfg->dev_root, p->disk))))
                        return -ENOMEM;
                rm->wi[2 * i] = udevwait_add_gone(rm->w, s);
                rm->wi[2 * i + 1] = d ? udevwait_add_gone(rm->w, d) : -1;
                if (rm->wi[2 * i] < 0 || (d && rm->wi[2 * i + 1] < 0))
                        return -ENOMEM;
        }
        if (rm->l.map[0] && !rm->lun->keep_map) {
                _cleanup_free_ char *m = NULL;
                if (asprintf(&m, "%s/block/%s", cfg->sysfs_root, rm->l.map) < 0 || (rm->map_wi = udevwait_add_gone(rm->w, m)) < 0)
                        return -ENOMEM;
        }
        return 0;
}

static bool path_gone(const struct removal *rm, size_t i)
{
        return udevwait_present(rm->w, (size_t)rm->wi[2 * i]) &&
               (rm->wi[2 * i + 1] < 0 || udevwait_present(rm->w, (size_t)rm->wi[2 * i + 1]));
}

/* Waits until the map (map) or every path is gone, or the budget is spent. */
static void wait_gone(struct removal *rm, bool map)
{
        for (;;) {
                uint64_t now = now_ms();
                bool all = true;
                if (udevwait_next(rm->w, 0) < 0)
                        return;
                if (map)
                        all = udevwait_present(rm->w, (size_t)rm->map_wi);
                for (size_t i = 0; !map && i < rm->l.n_paths; i++)
                        all &= path_gone(rm, i) || rm->plan.writes[i].result < 0;
                if (all || now >= rm->until)
                        return;
                if (udevwait_next(rm->w, (unsigned)(rm->until - now)) <= 0 && now_ms() >= rm->until)
                        return;
        }
}

/* The map first: its paths must not vanish under a live map. Returns 0 or
 * a result with *why. */
static int remove_map(struct removal *rm, char **why)
{
        struct lundisc *ld = rm->ld;
        const struct fc_lun *l = &rm->l;
        _cleanup_free_ char *cmd = NULL, *reply = NULL;
        int r;

        if (!l->map[0])
                return 0;
        if (rm->lun->keep_map) {
                /* ours are only some of its paths: out of the map first */
                for (size_t i = 0; i < l->n_paths; i++) {
                        if (!l->paths[i].disk[0] || asprintf(&cmd, "del path %s", l->paths[i].disk) < 0)
                                continue;
                        if ((r = ask(ld, cmd, &reply)) == -ENOMEM)
                                return r;
                        if (r < 0)
                                log_warning("%s%s%s: multipathd did not take path %s out of map %s (%s); deleting it anyway",
                                            pfx(ld), sep(ld), rm->desc, l->paths[i].disk, l->map_name, reply ? reply : "?");
                        free(cmd);
                        free(reply);
                        cmd = reply = NULL;
                }
                return 0;
        }
        if (asprintf(&cmd, "del map %s", fc_name_is_valid(l->map_name) ? l->map_name : l->map) < 0)
                return -ENOMEM;
        r = ask(ld, cmd, &reply);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return fail(why, "%s: multipathd did not remove map %s (%s); its paths are left alone", rm->desc, l->map_name,
                            reply ? reply : strerror(-r));
        wait_gone(rm, true);
        if (!udevwait_present(rm->w, (size_t)rm->map_wi))
                return fail(why, "%s: map %s (%s) is still there after multipathd removed it; its paths are left alone", rm->desc,
                            l->map_name, l->map);
        log_info("%s%s%s: multipathd removed map %s", pfx(ld), sep(ld), rm->desc, l->map_name);
        return 0;
}

/* Deletes the paths and waits for them to go. Returns the result. */
static int delete_paths(struct removal *rm, char **why)
{
        struct lundisc *ld = rm->ld;
        _cleanup_strv_ char **stuck = NULL;
        uint64_t t0 = now_ms();
        int r;

        if (rm->plan.n_writes) {
                uint64_t now = now_ms();
                (void)fc_plan_apply(&rm->plan, rm->until > now ? (unsigned)(rm->until - now) : 1);
        }
        for (size_t i = 0; i < rm->plan.n_writes; i++) {
                const struct fc_write *w = &rm->plan.writes[i];
                if (ld->out)
                        fprintf(ld->out, w->result == 0 ? "wrote '1' to %s\n" : "failed to write '1' to %s: %s\n", w->path,
                                strerror(-w->result));
        }
        wait_gone(rm, false);
        for (size_t i = 0; i < rm->l.n_paths; i++) {
                const struct fc_lun_path *p = &rm->l.paths[i];
                const struct fc_write *w = &rm->plan.writes[i];
                char item[128];
                if (path_gone(rm, i)) {
                        if (ld->out)
                                fprintf(ld->out, "gone %s (%s)\n", p->disk[0] ? p->disk : "-", p->hctl);
                        continue;
                }
                if (w->result < 0 && w->result != -ETIMEDOUT)
                        snprintf(item, sizeof(item), "%s (%s): delete failed: %s", p->disk[0] ? p->disk : "-", p->hctl,
                                 strerror(-w->result));
                else
                        snprintf(item, sizeof(item), "%s (%s)%s", p->disk[0] ? p->disk : "-", p->hctl,
                                 w->result == -ETIMEDOUT ? ": its delete did not return" : "");
                if (ld->out)
                        fprintf(ld->out, "still there %s\n", item);
                if ((r = strv_push(&stuck, item)) < 0)
                        return r;
        }
        if (!stuck) {
                log_notice("%s%sremoved %s (%u ms)", pfx(ld), sep(ld), rm->desc, (unsigned)(now_ms() - t0));
                return LUNDISC_REMOVED;
        }
        _cleanup_free_ char *list = strv_join(stuck, ", ");
        return fail(why, "%s: %zu of %zu path%s still there after %u ms: %s; check the array and the fabric, then retry",
                    rm->desc, strv_length(stuck), rm->l.n_paths, rm->l.n_paths == 1 ? "" : "s", ld->wait_ms,
                    list ? list : "?");
}

int lundisc_remove(struct lundisc *ld, const struct lundisc_lun *lun, char **why)
{
        _cleanup_(removal_done) struct removal rm = { .ld = ld, .lun = lun };
        const struct mk_config *cfg = ld->cfg;
        int r;

        *why = NULL;
        if (!ld->priv && !(ld->priv = calloc(1, sizeof(*ld->priv))))
                return -ENOMEM;
        r = fc_lun_find(cfg->sysfs_root, lun->wwid, &rm.l);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return fail(why, "WWID %s: cannot read its devices in %s: %s", lun->wwid, cfg->sysfs_root, strerror(-r));
        if (lun->only_paths)
                fc_lun_keep_paths(&rm.l, lun->only_paths);
        if (rm.l.n_paths == 0 && (!rm.l.map[0] || lun->keep_map)) {
                FILE *f = ld->out ? ld->out : ld->dry_run ? report(ld) : NULL;
                log_info("%s%sWWID %s: no device of it on this host; nothing to remove", pfx(ld), sep(ld), lun->wwid);
                if (f)
                        fprintf(f, "WWID %s: no SCSI path on this host; nothing to remove\n", lun->wwid);
                return LUNDISC_NOTHING;
        }
        if (!(rm.desc = describe(&rm.l)) || (r = check_users(ld, &rm.l)) < 0)
                return -ENOMEM;
        if (rm.l.blockers) {
                _cleanup_free_ char *list = strv_join(rm.l.blockers, "; ");
                if (!list || asprintf(why, "%s is in use: %s", rm.desc, list) < 0)
                        return -ENOMEM;
                if (ld->out)
                        fprintf(ld->out, "refused WWID %s: %s\n", lun->wwid, list);
                return LUNDISC_REFUSED;
        }
        if ((r = fc_plan_remove(cfg->sysfs_root, &rm.l, &rm.plan)) < 0)
                return r == -ENOMEM ? r : fail(why, "%s: cannot plan its removal: %s", rm.desc, strerror(-r));
        if (ld->dry_run) {
                dry_run(&rm);
                return LUNDISC_REMOVED;
        }
        rm.until = now_ms() + ld->wait_ms;
        if ((r = watch(&rm)) < 0)
                return r == -ENOMEM ? r : fail(why, "%s: cannot watch its devices go (inotify, udev): %s", rm.desc, strerror(-r));
        if ((r = remove_map(&rm, why)) != 0)
                return r;
        return delete_paths(&rm, why);
}

void lundisc_done(struct lundisc *ld)
{
        struct lundisc_priv *p = ld->priv;
        if (!p)
                return;
        for (size_t i = 0; i < p->n_uses; i++)
                free(p->uses[i].what);
        free(p->uses);
        free(p->uses_error);
        if (p->mp)
                mpath_close(p->mp);
        free(p->mp_error);
        free(p);
        ld->priv = NULL;
}
