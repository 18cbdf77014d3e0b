/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "swapvol.h"

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>
#include <limits.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <time.h>

#include "destfc.h"
#include "json.h"
#include "log.h"
#include "lundisc.h"
#include "lunrec.h"
#include "migrate.h"
#include "progress.h"
#include "state.h"
#include "util.h"
#include "virt.h"
#include "xmlnode.h"


static xmlNodePtr find_disk(xmlDocPtr doc, const char *target)
{
        xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
        xmlNodePtr n = NULL;
        if (!ctx)
                return NULL;
        xmlXPathObjectPtr o = xmlXPathEvalExpression((const xmlChar *)"/domain/devices/disk", ctx);
        for (int i = 0; o && o->nodesetval && i < o->nodesetval->nodeNr && !n; i++)
                for (xmlNodePtr c = o->nodesetval->nodeTab[i]->children; c; c = c->next)
                        if (c->type == XML_ELEMENT_NODE && xmlStrEqual(c->name, (const xmlChar *)"target")) {
                                xmlChar *dev = xmlGetProp(c, (const xmlChar *)"dev");
                                if (dev && streq((const char *)dev, target))
                                        n = o->nodesetval->nodeTab[i];
                                xmlFree(dev);
                        }
        xmlXPathFreeObject(o);
        xmlXPathFreeContext(ctx);
        return n;
}

int swapvol_rewrite_xml(const char *xml, const char *target, const char *new_path, bool is_block, char **ret)
{
        *ret = NULL;
        xmlDocPtr doc = xmlReadMemory(xml, (int)strlen(xml), NULL, NULL, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
        if (!doc)
                return -EINVAL;
        int r = -ENOENT;
        xmlNodePtr disk = find_disk(doc, target);
        if (disk) {
                xmlNodePtr src = xml_child(disk, "source");
                if (!src)
                        src = xmlNewChild(disk, NULL, (const xmlChar *)"source", NULL);
                xmlUnsetProp(src, (const xmlChar *)"file");
                xmlUnsetProp(src, (const xmlChar *)"dev");
                xmlSetProp(src, (const xmlChar *)(is_block ? "dev" : "file"), (const xmlChar *)new_path);
                xmlSetProp(disk, (const xmlChar *)"type", (const xmlChar *)(is_block ? "block" : "file"));
                /* a backing chain of the old image does not describe the new one */
                xmlNodePtr bs = xml_child(disk, "backingStore");
                if (bs) {
                        xmlUnlinkNode(bs);
                        xmlFreeNode(bs);
                }
                xmlChar *out = NULL;
                int len = 0;
                xmlDocDumpMemory(doc, &out, &len);
                r = out ? 0 : -ENOMEM;
                if (out) {
                        *ret = strdup((const char *)out);
                        if (!*ret)
                                r = -ENOMEM;
                }
                xmlFree(out);
        }
        xmlFreeDoc(doc);
        return r;
}

/* An attribute of a child of the disk (<driver type>, <source dev>) from
 * the domain XML, or NULL. */
static char *disk_attr(const char *xml, const char *target, const char *elem, const char *name)
{
        xmlDocPtr doc = xmlReadMemory(xml, (int)strlen(xml), NULL, NULL, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
        char *s = NULL;
        if (!doc)
                return NULL;
        xmlNodePtr disk = find_disk(doc, target), e = disk ? xml_child(disk, elem) : NULL;
        xmlChar *t = e ? xmlGetProp(e, (const xmlChar *)name) : NULL;
        if (t)
                s = strdup((const char *)t);
        xmlFree(t);
        xmlFreeDoc(doc);
        return s;
}


/* One step for the operator: "DOMAIN: text" or, with --json, an object
 * {"event", "domain", "disk", "elapsed_ms", extra numbers, "message"}. */
static void sv_event(FILE *out, int mode, const struct swapvol_opts *o, const char *event, unsigned long long elapsed_ms,
                     const unsigned long long *cur_end, const char *fmt, ...) _printf_(7, 8);
static void sv_event(FILE *out, int mode, const struct swapvol_opts *o, const char *event, unsigned long long elapsed_ms,
                     const unsigned long long *cur_end, const char *fmt, ...)
{
        _cleanup_free_ char *text = NULL;
        va_list ap;
        va_start(ap, fmt);
        text = strdup_vprintf(fmt, ap);
        va_end(ap);
        if (mode != MIGRATE_OUT_JSON) {
                fprintf(out, "%s: %s\n", o->domain, text ? text : event);
        } else {
                struct json j;
                json_init(&j, out);
                json_object_begin(&j);
                json_kv_string(&j, "event", event);
                json_kv_string(&j, "domain", o->domain);
                json_kv_string(&j, "disk", o->disk);
                json_kv_int(&j, "elapsed_ms", (long long)elapsed_ms);
                if (cur_end) {
                        json_kv_int(&j, "cur", (long long)cur_end[0]);
                        json_kv_int(&j, "end", (long long)cur_end[1]);
                }
                json_kv_string(&j, "message", text);
                json_object_end(&j);
                json_end(&j);
        }
        fflush(out);
}

/* After a cancelled copy: the new file libvirt created for it (it did not
 * exist before: existed false) goes, so a failed swap leaves no debris.
 * Never a file that was there before, never anything but a regular file. */
static void drop_new_file(const struct swapvol_opts *o, bool existed)
{
        struct stat st;
        if (existed || lstat(o->new_path, &st) < 0 || !S_ISREG(st.st_mode))
                return;
        if (unlink(o->new_path) == 0)
                log_info("%s: removed %s, which the cancelled copy had created", o->domain, o->new_path);
        else
                log_warning("%s: cannot remove %s, which the cancelled copy created: %m; remove it by hand", o->domain, o->new_path);
}

/* One swap: the connection, the domain and how far it got, freed in one
 * place (swap_done). */
struct swap {
        const struct mk_config *cfg;
        const struct swapvol_opts *o;
        const char *uri;
        virConnectPtr c;
        virDomainPtr dom;
        char uuid[VIR_UUID_STRING_BUFLEN];
        char *xml;            /* the running definition before the copy */
        char *saved;          /* the persistent one, saved before the copy (NULL: transient) */
        bool undefined;       /* undefined for the copy: define it again, whatever happens */
        char *old_source;     /* the disk's source before the copy */
        FILE *out;
        int mode;             /* enum migrate_output */
        bool exists;          /* new_path existed before (reused, never removed) */
        bool is_block;
        unsigned long long t0;
};

static void swap_done(struct swap *s)
{
        virt_dom_freep(&s->dom);
        virt_conn_closep(&s->c);
        free(s->xml);
        free(s->saved);
        free(s->old_source);
}

/* A step found nothing against going on (not a swapvol_status). */
#define STEP_OK INT_MAX

/* The running domain and its disk. Returns STEP_OK or a swapvol_status. */
static int swap_open(struct swap *s)
{
        const struct swapvol_opts *o = s->o;
        const char *uri = s->uri;

        if (o->new_path[0] != '/') {
                log_error("%s: the new path must be absolute", o->new_path);
                return SWAPVOL_REFUSED;
        }
        s->c = virConnectOpen(uri);
        if (!s->c) {
                log_error("cannot connect to libvirt at %s: %s", uri, virt_last_error());
                return SWAPVOL_REFUSED;
        }
        s->dom = virDomainLookupByUUIDString(s->c, o->domain);
        if (!s->dom)
                s->dom = virDomainLookupByName(s->c, o->domain);
        if (!s->dom || virDomainIsActive(s->dom) != 1) {
                log_error("%s: no such running domain at %s", o->domain, uri);
                return SWAPVOL_REFUSED;
        }
        s->xml = virDomainGetXMLDesc(s->dom, 0);
        if (!s->xml) {
                log_error("%s: cannot read its XML: %s", o->domain, virt_last_error());
                return SWAPVOL_FAILED;
        }
        _cleanup_free_ char *probe = NULL;
        if (swapvol_rewrite_xml(s->xml, o->disk, o->new_path, false, &probe) == -ENOENT) {
                log_error("%s has no disk %s (name it by its target, see virsh domblklist %s)", o->domain, o->disk, o->domain);
                return SWAPVOL_REFUSED;
        }
        if (virDomainGetUUIDString(s->dom, s->uuid) < 0)
                return log_error("%s: cannot read its UUID: %s", o->domain, virt_last_error()), SWAPVOL_FAILED;
        s->old_source = disk_attr(s->xml, o->disk, "source", "dev");
        if (!s->old_source)
                s->old_source = disk_attr(s->xml, o->disk, "source", "file");
        return STEP_OK;
}

/* A new path below /dev that names a FC LUN or multipath map missing here:
 * the hook's targeted rescan, device wait and map (destfc.h) first.
 * Returns STEP_OK or SWAPVOL_REFUSED after saying why. */
static int swap_rescan(struct swap *s)
{
        const struct swapvol_opts *o = s->o;
        struct fc_source src;
        struct stat st;

        if (strncmp(o->new_path, "/dev/", 5) != 0 || fc_parse_source(o->new_path, &src) < 0 || src.kind == FC_SRC_NONE)
                return STEP_OK;
        /* where it is on this host: below [paths] dev, as the hook sees it */
        _cleanup_free_ char *below = path_join(s->cfg->dev_root, o->new_path + 5);
        if (!below)
                return log_error_errno(ENOMEM, "out of memory"), SWAPVOL_FAILED;
        if (stat(below, &st) == 0 || errno != ENOENT)
                return STEP_OK;
        _cleanup_(dest_fc_done) struct dest_fc d = { .cfg = s->cfg };
        int r = dest_fc_add(&d, o->disk, o->new_path, below, &src);
        if (r < 0)
                return log_error_errno(r, "out of memory"), SWAPVOL_FAILED;
        sv_event(s->out, s->mode, o, "rescan", 0, NULL, "%s is missing here: rescanning for it as the hook does", o->new_path);
        if (dest_fc_plan(&d) < 0 || dest_fc_apply(&d) < 0 || d.missing) {
                log_error("%s: %s did not appear on this host; nothing was copied (see the messages above)", o->domain, o->new_path);
                return SWAPVOL_REFUSED;
        }
        return STEP_OK;
}

/* The persistent definition: saved (durably) before the copy, then the
 * domain is undefined, so a crash between the pivot and the redefinition
 * leaves no definition naming the old disk, only the saved file (Nova's
 * order). Returns STEP_OK or a swapvol_status. */
static int swap_save(struct swap *s)
{
        const struct mk_config *cfg = s->cfg;
        const struct swapvol_opts *o = s->o;
        _cleanup_free_ char *dir = NULL, *meta = NULL;
        char xname[VIR_UUID_STRING_BUFLEN + 8], mname[VIR_UUID_STRING_BUFLEN + 8];
        int r;

        if (virDomainIsPersistent(s->dom) != 1)
                return STEP_OK;
        s->saved = virDomainGetXMLDesc(s->dom, VIR_DOMAIN_XML_INACTIVE | VIR_DOMAIN_XML_SECURE);
        if (!s->saved)
                return log_error("%s: cannot read its persistent definition: %s", o->domain, virt_last_error()), SWAPVOL_FAILED;
        snprintf(xname, sizeof(xname), "%s.xml", s->uuid);
        snprintf(mname, sizeof(mname), "%s.swap", s->uuid);
        if (asprintf(&meta, "migkit-swap 1\nuuid %s\nname %s\ndisk %s\nfrom %s\nto %s\ntime %lld\n", s->uuid, o->domain, o->disk,
                     s->old_source ? s->old_source : "-", o->new_path, (long long)time(NULL)) < 0)
                return log_error_errno(ENOMEM, "out of memory"), SWAPVOL_FAILED;
        if ((r = state_area_create(cfg->state_dir, STATE_SWAP, &dir)) < 0 ||
            (r = write_file_atomic(dir, xname, s->saved, strlen(s->saved), 0600, WRITE_DURABLE)) < 0)
                return log_error_errno(r, "%s: cannot save its persistent definition in %s/swap: %m; nothing was copied",
                                       o->domain, cfg->state_dir), SWAPVOL_FAILED;
        if ((r = write_file_atomic(dir, mname, meta, strlen(meta), 0600, WRITE_DURABLE)) < 0)
                return log_error_errno(r, "%s: cannot write %s/%s: %m; nothing was copied", o->domain, dir, mname), SWAPVOL_FAILED;
        /* keep NVRAM and TPM state: the definition comes back; a libvirt
         * that does not know these flags refuses them, so ask it without
         * (it then refuses a guest that has either) */
        if (virDomainUndefineFlags(s->dom, VIR_DOMAIN_UNDEFINE_KEEP_NVRAM | VIR_DOMAIN_UNDEFINE_KEEP_TPM) == 0 ||
            (virGetLastErrorCode() == VIR_ERR_INVALID_ARG && virDomainUndefineFlags(s->dom, 0) == 0))
                s->undefined = true;
        else
                log_info("%s: cannot undefine it for the copy (%s); the copy runs as a transient job of the persistent domain",
                         o->domain, virt_last_error());
        return STEP_OK;
}

static void drop_saved(const struct swap *s)
{
        char name[64];
        snprintf(name, sizeof(name), "%s.swap", s->uuid);
        (void)state_remove(s->cfg->state_dir, STATE_SWAP, name, false);
        snprintf(name, sizeof(name), "%s.xml", s->uuid);
        (void)state_remove(s->cfg->state_dir, STATE_SWAP, name, false);
}

/* After a cancelled or failed copy: the saved definition, unchanged, is
 * defined again. */
static void restore_saved(struct swap *s)
{
        if (!s->saved)
                return;
        if (s->undefined) {
                virDomainPtr d = virDomainDefineXML(s->c, s->saved);
                if (!d) {
                        log_error("%s: cannot define its persistent definition again: %s; it is saved in %s/swap/%s.xml: "
                                  "define it with virsh define", s->o->domain, virt_last_error(), s->cfg->state_dir, s->uuid);
                        return;
                }
                virDomainFree(d);
                s->undefined = false;
        }
        drop_saved(s);
}

/* Starts the block copy job. Returns STEP_OK, a swapvol_status or -errno. */
static int swap_start(struct swap *s)
{
        const struct swapvol_opts *o = s->o;
        _cleanup_free_ char *fmt = NULL, *dest_xml = NULL;
        struct stat st;

        s->exists = stat(o->new_path, &st) == 0;
        s->is_block = s->exists && S_ISBLK(st.st_mode);
        fmt = disk_attr(s->xml, o->disk, "driver", "type");
        if (s->is_block && !o->format && fmt && !streq(fmt, "raw")) {
                log_error("%s: disk %s is %s and %s is a block device: refusing to write a %s image onto a raw device; "
                          "pass --format raw to copy its contents as raw data, or --format %s to put a %s image on the device",
                          o->domain, o->disk, fmt, o->new_path, fmt, fmt, fmt);
                return SWAPVOL_REFUSED;
        }
        if (asprintf(&dest_xml, "<disk type='%s'><driver type='%s'/><source %s='%s'/></disk>", s->is_block ? "block" : "file",
                     o->format ? o->format : fmt ? fmt : "raw", s->is_block ? "dev" : "file", o->new_path) < 0)
                return -ENOMEM;
        int r = swap_save(s);
        if (r != STEP_OK)
                return r;
        /* TRANSIENT_JOB: libvirt refuses a copy job of a persistent domain
         * otherwise (the job would not survive a restart of the guest) */
        unsigned flags = (s->undefined || !s->saved ? 0 : VIR_DOMAIN_BLOCK_COPY_TRANSIENT_JOB) |
                         (s->exists ? VIR_DOMAIN_BLOCK_COPY_REUSE_EXT : 0);
        virTypedParameterPtr params = NULL;
        int np = 0, maxp = 0;
        if (o->bandwidth)
                virTypedParamsAddULLong(&params, &np, &maxp, VIR_DOMAIN_BLOCK_COPY_BANDWIDTH, (unsigned long long)o->bandwidth << 20);
        if (virDomainBlockCopy(s->dom, o->disk, dest_xml, params, np, flags) < 0) {
                log_error("%s: cannot start copying disk %s to %s: %s", o->domain, o->disk, o->new_path, virt_last_error());
                virTypedParamsFree(params, np);
                restore_saved(s);
                return SWAPVOL_FAILED;
        }
        virTypedParamsFree(params, np);
        sv_event(s->out, s->mode, o, "start", 0, NULL, "copying disk %s to %s%s", o->disk, o->new_path,
                 s->exists ? " (reusing it)" : "");
        return STEP_OK;
}

/* Follows the copy, with progress, until the mirror is in sync (STEP_OK),
 * an abort request or a failure (the copy is cancelled: a swapvol_status). */
static int swap_follow(struct swap *s)
{
        const struct swapvol_opts *o = s->o;
        virDomainPtr dom = s->dom;
        FILE *out = s->out;
        int mode = s->mode;
        unsigned long long t0 = s->t0 = now_ms(), last = 0;

        for (;;) {
                virDomainBlockJobInfo info;
                int r = virDomainGetBlockJobInfo(dom, o->disk, &info, 0);
                if (migrate_abort_requested()) {
                        if (virDomainBlockJobAbort(dom, o->disk, 0) < 0)
                                log_error("%s: could not cancel the copy of %s: %s", o->domain, o->disk, virt_last_error());
                        else
                                drop_new_file(o, s->exists);
                        if (mode == MIGRATE_OUT_AUTO)
                                fputc('\n', out);
                        log_error("%s: copy of disk %s cancelled on request; the guest stays on its old disk", o->domain, o->disk);
                        return SWAPVOL_ABORTED;
                }
                if (r < 0) {
                        log_error("%s: cannot follow the copy of %s: %s", o->domain, o->disk, virt_last_error());
                        if (virDomainBlockJobAbort(dom, o->disk, 0) == 0)
                                drop_new_file(o, s->exists);
                        return SWAPVOL_FAILED;
                }
                if (r == 0) {
                        log_error("%s: the copy job of %s ended before it was ready (see the libvirt log)", o->domain, o->disk);
                        drop_new_file(o, s->exists);
                        return SWAPVOL_FAILED;
                }
                unsigned long long t = now_ms();
                unsigned pct = info.end ? (unsigned)(info.cur * 100 / info.end) : 0;
                char done[32], total[32], el[32];
                format_bytes(done, sizeof(done), info.cur);
                format_bytes(total, sizeof(total), info.end);
                format_duration(el, sizeof(el), t - t0);
                if (mode == MIGRATE_OUT_AUTO) {
                        fprintf(out, "\r%s %s: %3u%%  %s of %s  %s\033[K", o->domain, o->disk, pct, done, total, el);
                        fflush(out);
                } else if ((mode == MIGRATE_OUT_JSON && (t - last >= 1000 || !last)) ||
                           (mode == MIGRATE_OUT_LINES && (t - last >= 2000 || !last))) {
                        unsigned long long ce[2] = { info.cur, info.end };
                        sv_event(out, mode, o, "copy", t - t0, ce, "disk %s %u%% copied (%s of %s), elapsed %s", o->disk, pct, done, total, el);
                        last = t;
                }
                fflush(out);
                if (info.end > 0 && info.cur == info.end)
                        break; /* ready: the mirror is in sync */
                usleep(200 * 1000);
        }
        if (mode == MIGRATE_OUT_AUTO)
                fputc('\n', out);
        return STEP_OK;
}

/* Pivots the guest onto the copy and waits until it runs there. Returns
 * STEP_OK or SWAPVOL_FAILED (before the pivot: cancelled, on its old disk). */
static int swap_pivot(struct swap *s)
{
        const struct swapvol_opts *o = s->o;
        virDomainPtr dom = s->dom;

        if (virDomainBlockJobAbort(dom, o->disk, VIR_DOMAIN_BLOCK_JOB_ABORT_PIVOT) < 0) {
                log_error("%s: pivot of %s to %s failed: %s; cancelling, the guest stays on its old disk", o->domain, o->disk,
                          o->new_path, virt_last_error());
                if (virDomainBlockJobAbort(dom, o->disk, 0) == 0)
                        drop_new_file(o, s->exists);
                return SWAPVOL_FAILED;
        }
        /* the pivot completes asynchronously: wait for the job to go */
        for (int i = 0; i < 100; i++) {
                virDomainBlockJobInfo info;
                if (virDomainGetBlockJobInfo(dom, o->disk, &info, 0) == 0)
                        break;
                usleep(100 * 1000);
        }
        _cleanup_free_ char *live = virDomainGetXMLDesc(dom, 0);
        if (!live || !strstr(live, o->new_path)) {
                log_error("%s: after the pivot the running definition does not name %s", o->domain, o->new_path);
                return SWAPVOL_FAILED;
        }
        sv_event(s->out, s->mode, o, "pivot", now_ms() - s->t0, NULL, "disk %s now runs on %s (%.1f s)", o->disk, o->new_path,
                 (now_ms() - s->t0) / 1000.0);
        return STEP_OK;
}

/* The persistent definition names the new path too: the saved one,
 * rewritten, defined again (or, when the domain was not undefined, the
 * current one). Returns STEP_OK or SWAPVOL_FAILED. */
static int swap_persist(struct swap *s)
{
        const struct swapvol_opts *o = s->o;

        if (!s->saved) {
                fflush(s->out);
                return STEP_OK;
        }
        unsigned flags = VIR_DOMAIN_XML_INACTIVE | VIR_DOMAIN_XML_SECURE;
        _cleanup_free_ char *current = s->undefined ? NULL : virDomainGetXMLDesc(s->dom, flags), *nx = NULL;
        const char *base = s->undefined ? s->saved : current;
        int r = base ? swapvol_rewrite_xml(base, o->disk, o->new_path, s->is_block, &nx) : -EIO;
        virDomainPtr d2 = r == 0 ? virDomainDefineXML(s->c, nx) : NULL;
        if (!d2) {
                log_error("%s: the guest runs on %s but its persistent definition is not updated: %s; %s", o->domain, o->new_path,
                          r == 0 ? virt_last_error() : strerror(-r),
                          s->undefined ? "define the definition saved in the state directory's swap/ with the new source"
                                       : "fix it with virsh edit");
                return SWAPVOL_FAILED;
        }
        virDomainFree(d2);
        s->undefined = false;
        drop_saved(s);
        sv_event(s->out, s->mode, o, "persistent", now_ms() - s->t0, NULL, "persistent definition updated: disk %s is %s",
                 o->disk, o->new_path);
        fflush(s->out);
        return STEP_OK;
}

/* --disconnect-old: the old disk's SAN LUN goes from this host, under the
 * rules of lundisc.h (the guest's definitions no longer name it). Returns
 * SWAPVOL_OK, or SWAPVOL_REFUSED when it stays (the swap is done). */
static int swap_disconnect_old(struct swap *s)
{
        const struct swapvol_opts *o = s->o;
        struct lun_id id;
        _cleanup_free_ char *why = NULL, *label = NULL;
        int r;

        if (!o->disconnect_old)
                return SWAPVOL_OK;
        r = s->old_source ? lun_resolve(s->cfg->sysfs_root, s->cfg->dev_root, s->old_source, &id) : 0;
        if (r <= 0) {
                lun_id_free(&id);
                log_info("%s: the old disk %s is not a SAN LUN of this host; nothing to disconnect", o->domain,
                         s->old_source ? s->old_source : "(no source)");
                return r < 0 ? SWAPVOL_FAILED : SWAPVOL_OK;
        }
        if (asprintf(&label, "domain %s", o->domain) < 0) {
                lun_id_free(&id);
                return log_error_errno(ENOMEM, "out of memory"), SWAPVOL_FAILED;
        }
        _cleanup_(lundisc_done) struct lundisc ld = { .cfg = s->cfg, .wait_ms = s->cfg->fc_disconnect_wait_ms, .label = label };
        struct lundisc_lun lun = { .wwid = id.wwid };
        r = lundisc_remove(&ld, &lun, &why);
        lun_id_free(&id);
        if (r < 0)
                return log_error_errno(r, "out of memory"), SWAPVOL_FAILED;
        if (r == LUNDISC_REMOVED || r == LUNDISC_NOTHING) {
                sv_event(s->out, s->mode, o, "disconnect", now_ms() - s->t0, NULL, "the old disk's LUN %s is %s", s->old_source,
                         r == LUNDISC_REMOVED ? "removed from this host" : "not on this host any more");
                return SWAPVOL_OK;
        }
        log_error("%s: the guest runs on %s; the old disk's LUN stays: %s", o->domain, o->new_path, why ? why : "?");
        return SWAPVOL_REFUSED;
}

int swapvol_run(const struct mk_config *cfg, const struct swapvol_opts *o)
{
        FILE *out = o->out ? o->out : stdout;
        _cleanup_(swap_done) struct swap s = {
                .cfg = cfg, .o = o, .uri = o->source_uri ? o->source_uri : cfg->libvirt_uri, .out = out,
                .mode = o->output == MIGRATE_OUT_AUTO ? (isatty(fileno(out)) ? MIGRATE_OUT_AUTO : MIGRATE_OUT_LINES) : o->output,
        };
        int r;

        virt_quiet_errors();
        r = swap_open(&s);
        if (r == STEP_OK)
                r = swap_rescan(&s);
        if (r == STEP_OK)
                r = swap_start(&s);
        if (r == STEP_OK && (r = swap_follow(&s)) != STEP_OK)
                restore_saved(&s);
        if (r == STEP_OK && (r = swap_pivot(&s)) == SWAPVOL_FAILED) {
                /* which disk does the guest run on now? */
                _cleanup_free_ char *live = virDomainGetXMLDesc(s.dom, 0), *src = live ? disk_attr(live, o->disk, "source", "dev") : NULL;
                if (!src && live)
                        src = disk_attr(live, o->disk, "source", "file");
                if (src && streq(src, o->new_path))
                        (void)swap_persist(&s);
                else if (src && s.old_source && streq(src, s.old_source))
                        restore_saved(&s);
                else
                        log_error("%s: cannot tell which disk the guest uses now; its persistent definition is saved in "
                                  "%s/swap/%s.xml", o->domain, cfg->state_dir, s.uuid);
                return r;
        }
        if (r == STEP_OK)
                r = swap_persist(&s);
        if (r == STEP_OK)
                r = swap_disconnect_old(&s);
        return r;
}
