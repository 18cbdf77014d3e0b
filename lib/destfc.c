/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "destfc.h"

#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <sys/stat.h>

#include "deadline.h"
#include "log.h"
#include "mpath.h"
#include "udevwait.h"
#include "util.h"
#include "validate.h"

/* The source's place below the configured /dev root, NULL if it is not a
 * plain path below /dev. */
static char *below_dev(const struct mk_config *cfg, const char *source)
{
        if (strncmp(source, "/dev/", 5) != 0 || !path_is_absolute_normalized(source))
                return NULL;
        return path_join(cfg->dev_root, source + 5);
}

static char *devf(const struct mk_config *cfg, const char *fmt, ...) _printf_(2, 3);
static char *devf(const struct mk_config *cfg, const char *fmt, ...)
{
        _cleanup_free_ char *rel = NULL;
        va_list ap;
        va_start(ap, fmt);
        int r = vasprintf(&rel, fmt, ap);
        va_end(ap);
        return r < 0 ? NULL : path_join(cfg->dev_root, rel);
}

/* "WWPN 0x5006016839a01c4e LUN 1", "WWID 3600...", "multipath map X (WWID Y)" */
static void describe_lun(const struct dest_lun *l, char *buf, size_t size)
{
        const struct fc_source *s = &l->src;
        switch (s->kind) {
        case FC_SRC_PATH:
                snprintf(buf, size, "WWPN 0x%016" PRIx64 " LUN %" PRIu64, s->wwpn, s->lun);
                break;
        case FC_SRC_WWID:
                snprintf(buf, size, "WWID %s", s->wwid);
                break;
        case FC_SRC_MAP:
                if (s->wwid[0] && !streq(s->wwid, s->map))
                        snprintf(buf, size, "multipath map %s (WWID %s)", s->map, s->wwid);
                else if (s->wwid[0])
                        snprintf(buf, size, "multipath map of WWID %s", s->wwid);
                else
                        snprintf(buf, size, "multipath map %s", s->map);
                break;
        default:
                snprintf(buf, size, "an unscannable name");
        }
}

static const char *lun_target(const struct dest_lun *l)
{
        return l->path ? l->path : l->glob;
}

int dest_fc_add(struct dest_fc *d, const char *disk, const char *source, const char *path, const struct fc_source *src)
{
        const struct mk_config *cfg = d->cfg;
        struct dest_lun *nl = realloc(d->luns, (d->n_luns + 1) * sizeof(*nl));
        int r;

        if (!nl)
                return -ENOMEM;
        d->luns = nl;
        struct dest_lun *l = &nl[d->n_luns++];
        memset(l, 0, sizeof(*l));
        l->req = -1;
        l->src = *src;
        if (!(l->disk = strdup(disk)) || (source && !(l->source = strdup(source))))
                return -ENOMEM;

        bool map_wanted = src->kind == FC_SRC_MAP || (src->kind == FC_SRC_WWID && cfg->fc_multipath == FC_MULTIPATH_YES);
        l->map = map_wanted && cfg->fc_multipath != FC_MULTIPATH_NO;
        if (l->map && src->kind == FC_SRC_WWID)
                strcpy(l->src.map, src->wwid);

        if (src->wwid[0]) {
                r = fc_find_wwid(cfg->sysfs_root, src->wwid, NULL);
                if (r < 0 && r != -ENOMEM)
                        log_warning_errno(r, "disk %s: cannot look for WWID %s in %s/class/scsi_device: %m", disk, src->wwid,
                                          cfg->sysfs_root);
                else if (r == -ENOMEM)
                        return r;
                l->have_paths = r > 0;
        }

        if (src->kind == FC_SRC_WWID && l->map) {
                /* the member's link first (the source), then the map's */
                l->paths_link = path ? strdup(path) : devf(cfg, "disk/by-id/scsi-%s", src->wwid);
                l->path = devf(cfg, "disk/by-id/dm-uuid-mpath-%s", src->wwid);
                if (!l->paths_link || !l->path)
                        return -ENOMEM;
        } else if (path) {
                if (!(l->path = strdup(path)))
                        return -ENOMEM;
        } else if (src->kind == FC_SRC_PATH) {
                char lun[24];
                fc_format_lun(src->lun, lun, sizeof(lun));
                l->glob_dir = devf(cfg, "disk/by-path");
                if (!l->glob_dir || asprintf(&l->glob, "*-fc-0x%016" PRIx64 "-lun-%s", src->wwpn, lun) < 0)
                        return -ENOMEM;
        } else if (src->kind == FC_SRC_WWID) {
                if (!(l->path = devf(cfg, "disk/by-id/scsi-%s", src->wwid)))
                        return -ENOMEM;
        } else if (src->kind == FC_SRC_MAP) {
                l->path = src->wwid[0] ? devf(cfg, "disk/by-id/dm-uuid-mpath-%s", src->wwid) : devf(cfg, "mapper/%s", src->map);
                if (!l->path)
                        return -ENOMEM;
        }
        if (src->kind == FC_SRC_MAP && l->map && src->wwid[0] && !l->have_paths &&
            !(l->paths_link = devf(cfg, "disk/by-id/scsi-%s", src->wwid)))
                return -ENOMEM;

        /* what to scan */
        if (src->kind == FC_SRC_PATH || (src->wwid[0] && !l->have_paths)) {
                struct fc_scan_req *nr = realloc(d->reqs, (d->n_reqs + 1) * sizeof(*nr));
                if (!nr)
                        return -ENOMEM;
                d->reqs = nr;
                nr[d->n_reqs] = src->kind == FC_SRC_PATH ? (struct fc_scan_req){ .wwpn = src->wwpn, .lun = src->lun }
                                                            : (struct fc_scan_req){ .any_target = true, .any_lun = true };
                l->req = (long)d->n_reqs++;
        } else if (src->kind == FC_SRC_MAP && !src->wwid[0] && !l->map) {
                if (asprintf(&l->error, "the source names multipath map '%s', which is not a WWID, so there is nothing to "
                             "scan for, and [fc] multipath = no", src->map) < 0)
                        return -ENOMEM;
        }
        return 0;
}

static int plan_disk(struct dest_fc *d, const struct dom_disk *disk)
{
        const struct mk_config *cfg = d->cfg;
        const char *name = disk->target ? disk->target : "-";
        struct fc_source src;
        struct stat st;
        int r;

        if (disk->type != DOM_DISK_BLOCK || !disk->source)
                return 0;
        _cleanup_free_ char *path = below_dev(cfg, disk->source);
        if (!path) {
                log_debug("domain %s: disk %s: source %s is not below /dev; not a LUN migkit handles", d->dom->name, name, disk->source);
                return 0;
        }
        if (stat(path, &st) == 0 || errno != ENOENT)
                return 0; /* there, or in doubt: nothing to do */
        if (!cfg->fc_rescan) {
                log_info("domain %s: disk %s: %s is missing; [fc] rescan = no, leaving it to libvirt", d->dom->name, name, path);
                return 0;
        }
        r = fc_parse_source(disk->source, &src);
        if (r == 0 && src.kind != FC_SRC_NONE)
                return dest_fc_add(d, name, disk->source, path, &src);

        /* Nothing to scan for: record it, so the policy decides. */
        src.kind = FC_SRC_NONE;
        r = dest_fc_add(d, name, disk->source, path, &src);
        if (r < 0)
                return r;
        struct dest_lun *l = &d->luns[d->n_luns - 1];
        if (asprintf(&l->error, "%s", r == -EINVAL ? "its name looks like a by-path/by-id/mapper name but is malformed"
                                                   : "its name says nothing migkit can scan for (use a /dev/disk/by-path FC name, "
                                                     "a by-id wwn-/scsi-/dm-uuid-mpath- name or /dev/mapper/<wwid>)") < 0)
                return -ENOMEM;
        return 0;
}

int dest_fc_plan(struct dest_fc *d)
{
        const struct mk_config *cfg = d->cfg;
        int r;

        for (size_t i = 0; d->dom && i < d->dom->n_disks; i++) {
                r = plan_disk(d, &d->dom->disks[i]);
                if (r < 0)
                        return log_error_errno(r, "out of memory");
        }
        if (d->n_luns == 0)
                return 0;
        r = fc_plan_build(cfg->sysfs_root, cfg->fc_wildcard_scan, cfg->fc_issue_lip, d->reqs, d->n_reqs, &d->plan);
        if (r < 0)
                return log_error_errno(r, "%s%scannot read the FC HBAs and remote ports in %s/class: %m",
                                       d->dom ? "domain " : "", d->dom ? d->dom->name : "", cfg->sysfs_root);
        for (size_t i = 0; i < d->n_luns; i++) {
                struct dest_lun *l = &d->luns[i];
                if (l->error || l->req < 0)
                        continue;
                const struct fc_scan_req *q = &d->reqs[l->req];
                /* nothing scanned for it: it can only appear if its paths are there already */
                if (!q->scanned && !l->have_paths && asprintf(&l->error, "nothing can be scanned for it: %s", q->why) < 0)
                        return log_error_errno(ENOMEM, "out of memory");
        }
        return 0;
}

/* The prefix of messages: "domain X: disk vdb (source)". */
static void lun_prefix(const struct dest_fc *d, const struct dest_lun *l, char *buf, size_t size)
{
        char what[2 * FC_WWID_MAX + 64];
        describe_lun(l, what, sizeof(what));
        if (!l->source) /* migkit-fcscan --wwpn/--wwid */
                snprintf(buf, size, "%s", what);
        else
                snprintf(buf, size, "%s%s%sdisk %s (%s, %s)", d->dom ? "domain " : "", d->dom ? d->dom->name : "",
                         d->dom ? ": " : "", l->disk, l->source, what);
}

static int report_plan(struct dest_fc *d)
{
        size_t hopeless = 0;
        fc_plan_print(&d->plan, d->report, "would ");
        for (size_t i = 0; i < d->n_luns; i++) {
                const struct dest_lun *l = &d->luns[i];
                char pfx[PATH_MAX];
                lun_prefix(d, l, pfx, sizeof(pfx));
                if (l->error) {
                        fprintf(d->report, "%s: cannot be made to appear: %s\n", pfx, l->error);
                        hopeless++;
                        continue;
                }
                if (l->paths_link)
                        fprintf(d->report, "would wait for %s (%s), then ask multipathd: add map %s\n", l->paths_link,
                                l->disk, l->src.map);
                else if (l->map)
                        fprintf(d->report, "would ask multipathd: add map %s\n", l->src.map);
                if (l->path)
                        fprintf(d->report, "would wait for %s (%s)\n", l->path, l->disk);
                else
                        fprintf(d->report, "would wait for %s/%s (%s)\n", l->glob_dir, l->glob, l->disk);
        }
        d->missing = hopeless;
        if (hopeless && d->cfg->fc_on_missing == FC_ON_MISSING_FAIL)
                return -ENODEV;
        return 0;
}

/* One dest_fc_apply() run: the device watches, the multipathd connection,
 * the time budget, what was there before the scans. Freed in one place,
 * fc_run_done(). */
struct fc_run {
        struct dest_fc *d;
        struct mpath *mp;
        bool mp_tried;
        uint64_t t0, until;
        struct udevwait *w;
        int *wi;           /* per LUN: the watch of its paths link (or -1), then of its device */
        unsigned *tries;   /* per LUN: multipathd asked so many times */
        bool snap;         /* before_* were taken */
        char **before_scsi, **before_block;
};

static void fc_run_done(struct fc_run *run)
{
        if (run->mp)
                mpath_close(run->mp);
        if (run->w)
                udevwait_free(run->w);
        free(run->wi);
        free(run->tries);
        strv_free(run->before_scsi);
        strv_free(run->before_block);
}

/* ---- what the scans brought ----------------------------------------------- */

static int list_sub(const char *sysfs, const char *sub, char ***ret)
{
        _cleanup_free_ char *dir = path_join(sysfs, sub);
        return dir ? dir_list(dir, ret) : -ENOMEM;
}

/* What is there before the scans (only names: cheap on a host with many
 * LUNs), so the rollback of a failed migration removes only what they
 * brought. */
static void snapshot(struct fc_run *run)
{
        const struct mk_config *cfg = run->d->cfg;
        if (!cfg->fc_disconnect)
                return;
        run->snap = list_sub(cfg->sysfs_root, "class/scsi_device", &run->before_scsi) == 0 &&
                    list_sub(cfg->sysfs_root, "block", &run->before_block) == 0;
        if (!run->snap)
                log_warning("cannot list %s/class/scsi_device or %s/block; the SCSI devices the scans bring are not "
                            "journaled (a rollback leaves them)", cfg->sysfs_root, cfg->sysfs_root);
}

/* Does the new SCSI device hctl lead to a LUN asked for by WWPN and LUN? */
static bool is_asked_path(const struct dest_fc *d, const char *hctl)
{
        unsigned h, c, t;
        unsigned long long lun;
        if (sscanf(hctl, "%u:%u:%u:%llu", &h, &c, &t, &lun) != 4)
                return false;
        for (size_t i = 0; i < d->n_luns; i++) {
                const struct fc_source *s = &d->luns[i].src;
                _cleanup_free_ char *ft = NULL;
                char port[64];
                uint64_t wwpn;
                if (s->kind != FC_SRC_PATH || s->lun != lun ||
                    asprintf(&ft, "%s/class/fc_transport/target%u:%u:%u", d->cfg->sysfs_root, h, c, t) < 0)
                        continue;
                if (read_one_line(ft, "port_name", port, sizeof(port)) == 0 && fc_parse_wwpn(port, &wwpn) == 0 && wwpn == s->wwpn)
                        return true;
        }
        return false;
}

/* Notes the SCSI paths of our LUNs that were not there before the scans
 * (our LUNs: the WWIDs asked for, and those of new paths behind a WWPN and
 * LUN asked for, whatever port brought them), and the multipath maps of
 * those LUNs that were not there either. Another LUN a wildcard scan
 * brought is not ours. */
static void note_appeared(struct fc_run *run)
{
        struct dest_fc *d = run->d;
        const char *sysfs = d->cfg->sysfs_root;
        _cleanup_strv_ char **now = NULL, **blocks = NULL, **ours = NULL, **fresh = NULL;
        int r = 0;

        if (!run->snap || list_sub(sysfs, "class/scsi_device", &now) < 0 || list_sub(sysfs, "block", &blocks) < 0)
                return;
        for (size_t i = 0; i < d->n_luns && r == 0; i++)
                if (d->luns[i].src.wwid[0])
                        r = strv_push_unique(&ours, d->luns[i].src.wwid);
        /* "<H:C:T:L> <wwid> <disk>" of every new SCSI device */
        for (size_t i = 0; now && now[i] && r == 0; i++) {
                _cleanup_free_ char *dev = NULL, *bd = NULL, *item = NULL;
                _cleanup_strv_ char **disks = NULL;
                char sys[256], wwid[FC_WWID_MAX + 1];
                if (strv_contains(run->before_scsi, now[i]) || asprintf(&dev, "%s/class/scsi_device/%s/device", sysfs, now[i]) < 0)
                        continue;
                if (read_one_line(dev, "wwid", sys, sizeof(sys)) < 0 || fc_wwid_from_sysfs(sys, wwid, sizeof(wwid)) < 0)
                        continue;
                if ((bd = path_join(dev, "block")))
                        (void)dir_list(bd, &disks);
                if (asprintf(&item, "%s %s %s", now[i], wwid, disks ? disks[0] : "-") < 0 || strv_push(&fresh, item) < 0 ||
                    (is_asked_path(d, now[i]) && strv_push_unique(&ours, wwid) < 0))
                        r = -ENOMEM;
        }
        for (size_t i = 0; fresh && fresh[i] && r == 0; i++) {
                char wwid[FC_WWID_MAX + 1];
                if (sscanf(fresh[i], "%*s %128s", wwid) == 1 && strv_contains(ours, wwid))
                        r = strv_push_unique(&d->appeared_scsi, fresh[i]);
        }
        for (size_t i = 0; blocks && blocks[i] && r == 0; i++) {
                _cleanup_free_ char *dm = NULL, *item = NULL;
                char uuid[FC_WWID_MAX + 16], name[FC_WWID_MAX + 1];
                if (strncmp(blocks[i], "dm-", 3) != 0 || strv_contains(run->before_block, blocks[i]) ||
                    asprintf(&dm, "%s/block/%s/dm", sysfs, blocks[i]) < 0)
                        continue;
                if (read_one_line(dm, "uuid", uuid, sizeof(uuid)) < 0 || read_one_line(dm, "name", name, sizeof(name)) < 0 ||
                    strncmp(uuid, "mpath-", 6) != 0 || !strv_contains(ours, uuid + 6) || !fc_name_is_valid(name))
                        continue;
                if (asprintf(&item, "%s %s", name, uuid + 6) < 0 || strv_push_unique(&d->appeared_mpaths, item) < 0)
                        r = -ENOMEM;
        }
        if (r < 0)
                log_warning("out of memory; not every SCSI device the scans brought is journaled");
}

static unsigned left_ms(const struct fc_run *run)
{
        uint64_t now = now_ms();
        return now >= run->until ? 0 : (unsigned)(run->until - now);
}

#define MAP_TRIES 6

/* Asks multipathd for l's map; decides l->error or l->map_retry. */
static void ask_map(struct fc_run *run, struct dest_lun *l, unsigned *tries)
{
        struct dest_fc *d = run->d;
        const struct mk_config *cfg = d->cfg;
        char pfx[PATH_MAX];
        _cleanup_free_ char *reply = NULL;
        enum mpath_reply_kind kind;
        int r;

        lun_prefix(d, l, pfx, sizeof(pfx));
        l->map_retry = false;
        if (!run->mp_tried) {
                _cleanup_free_ char *err = NULL;
                run->mp_tried = true;
                r = mpath_open(cfg->fc_libmpathcmd, &run->mp, &err);
                if (r < 0)
                        log_warning("multipath step skipped: %s cannot be loaded (%s); install multipath-tools",
                                    cfg->fc_libmpathcmd, err ? err : strerror(-r));
        }
        if (!run->mp) {
                if (asprintf(&l->error, "it needs multipath map %s but %s cannot be loaded; install multipath-tools, or set "
                             "[fc] multipath = no if this host does not use multipathd", l->src.map, cfg->fc_libmpathcmd) < 0)
                        l->error = NULL;
                return;
        }
        /* multipathd's own default; mpath_command() cuts it to the hook's deadline */
        r = mpath_add_map(run->mp, l->src.map, 4000, &kind, &reply);
        if (d->out)
                fprintf(d->out, "multipathd: add map %s: %s%s", l->src.map, r < 0 ? strerror(-r) : reply,
                        r < 0 || !*reply || reply[strlen(reply) - 1] != '\n' ? "\n" : "");
        if (r == -ECONNREFUSED || r == -ENOENT) {
                if (asprintf(&l->error, "it needs multipath map %s but multipathd is not running (nothing listens on "
                             "@/org/kernel/linux/storage/multipathd); start multipathd", l->src.map) < 0)
                        l->error = NULL;
                return;
        }
        if (r < 0 || kind == MPATH_REPLY_FAIL || kind == MPATH_REPLY_TIMEOUT) {
                if (r < 0)
                        log_warning_errno(r, "%s: multipathd did not answer 'add map %s': %m", pfx, l->src.map);
                else
                        log_info("%s: multipathd answered '%.*s' to 'add map %s'", pfx, (int)strcspn(reply, "\n"), reply, l->src.map);
                /* multipathd may not have handled the path's uevent yet, and
                 * learning a path makes no event: ask again after a short
                 * back-off (100 ms, doubling) */
                l->retry_at = now_ms() + (100ULL << *tries);
                l->map_retry = ++*tries < MAP_TRIES;
                return;
        }
        if (kind == MPATH_REPLY_OK) {
                log_info("%s: multipathd: add map %s: ok", pfx, l->src.map);
                return;
        }
        if (asprintf(&l->error, "multipathd refused 'add map %s': %.*s%s", l->src.map, (int)strcspn(reply, "\n"), reply,
                     kind == MPATH_REPLY_BLACKLISTED ? " (see the blacklist in /etc/multipath.conf)" : "") < 0)
                l->error = NULL;
}

/* Moves each LUN on as far as what is present allows. */
static void advance(struct fc_run *run)
{
        struct dest_fc *d = run->d;
        for (size_t i = 0; i < d->n_luns; i++) {
                struct dest_lun *l = &d->luns[i];
                if (l->error || l->stage == 2)
                        continue;
                if (l->stage == 0 && udevwait_present(run->w, (size_t)run->wi[2 * i]))
                        l->stage = 1;
                if (l->stage == 1 && l->map && (!l->map_asked || (l->map_retry && now_ms() >= l->retry_at))) {
                        l->map_asked = true;
                        ask_map(run, l, &run->tries[i]);
                }
                if (!l->error && l->stage == 1 && udevwait_present(run->w, (size_t)run->wi[2 * i + 1]))
                        l->stage = 2;
        }
}

static bool all_settled(const struct dest_fc *d)
{
        for (size_t i = 0; i < d->n_luns; i++)
                if (!d->luns[i].error && d->luns[i].stage != 2)
                        return false;
        return true;
}

/* Starts watching for every LUN's devices, before anything is scanned, so
 * that no event is lost. Returns 0 or -errno after logging. */
static int watch_luns(struct fc_run *run)
{
        struct dest_fc *d = run->d;
        int r = udevwait_new(&run->w);
        run->wi = calloc(2 * d->n_luns, sizeof(*run->wi));
        run->tries = calloc(d->n_luns, sizeof(*run->tries));
        if (r < 0 || !run->wi || !run->tries)
                return log_error_errno(r < 0 ? r : -ENOMEM, "cannot watch for devices (inotify/udev monitor): %m");
        for (size_t i = 0; i < d->n_luns; i++) {
                struct dest_lun *l = &d->luns[i];
                struct udevwait *w = run->w;
                int *wi = run->wi;
                wi[2 * i] = l->paths_link ? udevwait_add(w, l->paths_link) : -1;
                wi[2 * i + 1] = l->path ? udevwait_add(w, l->path) : l->glob ? udevwait_add_glob(w, l->glob_dir, l->glob) : -1;
                if (wi[2 * i] < -1 || wi[2 * i + 1] < 0) {
                        if (!l->error && asprintf(&l->error, "%s is not a path migkit can wait for", lun_target(l)) < 0)
                                return log_error_errno(ENOMEM, "out of memory");
                        continue;
                }
                l->stage = l->paths_link ? 0 : 1;
        }
        return 0;
}

/* Writes the planned scans (one worker per HBA, within the scan timeout)
 * and says how each went; when every write was refused, the LUNs they were
 * for cannot appear. */
static void write_scans(struct fc_run *run)
{
        struct dest_fc *d = run->d;
        unsigned st = d->scan_timeout_ms ? d->scan_timeout_ms : left_ms(run);
        (void)fc_plan_apply(&d->plan, st);
        for (size_t i = 0; i < d->plan.n_writes; i++) {
                const struct fc_write *fw = &d->plan.writes[i];
                int len = (int)strcspn(fw->data, "\n");
                if (fw->result == 0) {
                        if (d->out)
                                fprintf(d->out, "wrote '%.*s' to %s\n", len, fw->data, fw->path);
                        else
                                log_info("wrote '%.*s' to %s", len, fw->data, fw->path);
                        continue;
                }
                d->write_errors++;
                if (fw->result == -ETIMEDOUT)
                        log_warning("writing '%.*s' to %s did not return within %u ms; the scan goes on in the background",
                                    len, fw->data, fw->path, st);
                else
                        log_warning_errno(fw->result, "cannot write '%.*s' to %s: %m", len, fw->data, fw->path);
                if (d->out)
                        fprintf(d->out, "failed to write '%.*s' to %s: %s\n", len, fw->data, fw->path, strerror(-fw->result));
        }

        /* Every scan write refused (EINVAL: a LUN above the driver's
         * max_lun, ...): what they were for cannot appear; do not wait. */
        bool all_refused = d->plan.n_writes > 0;
        for (size_t i = 0; i < d->plan.n_writes; i++)
                all_refused &= d->plan.writes[i].result < 0 && d->plan.writes[i].result != -ETIMEDOUT;
        for (size_t i = 0; all_refused && i < d->n_luns; i++) {
                struct dest_lun *l = &d->luns[i];
                if (!l->error && l->req >= 0 && !l->have_paths &&
                    asprintf(&l->error, "every scan write failed (%s)", strerror(-d->plan.writes[0].result)) < 0)
                        l->error = NULL;
        }
}

/* One event loop for every LUN: the first look, then each event, until
 * every LUN is there or hopeless, or the budget is spent. */
static void wait_luns(struct fc_run *run)
{
        struct dest_fc *d = run->d;
        int r = udevwait_next(run->w, 0);
        for (;;) {
                if (r < 0) {
                        log_warning_errno(r, "waiting for devices failed: %m");
                        break;
                }
                advance(run);
                if (all_settled(d))
                        break;
                uint64_t now = now_ms(), wake = run->until;
                if (now >= run->until)
                        break;
                for (size_t i = 0; i < d->n_luns; i++)
                        if (!d->luns[i].error && d->luns[i].map_retry && d->luns[i].retry_at < wake)
                                wake = d->luns[i].retry_at;
                r = udevwait_next(run->w, wake > now ? (unsigned)(wake - now) : 0);
        }
}

/* One line per LUN: there, or missing with what was scanned, the HBAs and
 * what to do. Counts the missing ones; returns -ENODEV when one is missing
 * and [fc] on-missing = fail. */
static int report_luns(struct fc_run *run)
{
        struct dest_fc *d = run->d;
        const struct mk_config *cfg = d->cfg;
        unsigned took = (unsigned)(now_ms() - run->t0);
        _cleanup_free_ char *hbas = fc_hbas_describe(&d->plan);
        for (size_t i = 0; i < d->n_luns; i++) {
                struct dest_lun *l = &d->luns[i];
                _cleanup_free_ char *globbed = l->path ? NULL : path_join(l->glob_dir, l->glob);
                const char *target = l->path ? l->path : globbed ? globbed : l->glob;
                char pfx[PATH_MAX];
                lun_prefix(d, l, pfx, sizeof(pfx));
                if (!l->error && l->stage == 2) {
                        log_info("%s: %s is there after %u ms", pfx, target, took);
                        if (d->out)
                                fprintf(d->out, "present %s (%s)\n", target, l->disk);
                        continue;
                }
                d->missing++;
                if (d->out)
                        fprintf(d->out, "missing %s (%s)\n", target, l->disk);
                if (d->no_wait && !l->error)
                        continue;
                const struct fc_scan_req *q = l->req >= 0 ? &d->reqs[l->req] : NULL;
                bool fail = cfg->fc_on_missing == FC_ON_MISSING_FAIL;
                const char *scanned = q && q->scanned ? q->scanned : l->have_paths ? "nothing (its SCSI paths are there)" : "nothing";
                const char *tail = d->out ? "" : fail ? "; or set [fc] on-missing = warn" : "; continuing ([fc] on-missing = warn)";
                if (l->error)
                        log_internal(fail ? LOG_ERR : LOG_WARNING, 0, "%s: cannot appear: %s; scanned: %s; FC HBAs: %s%s",
                                     pfx, l->error, scanned, hbas ? hbas : "?", tail);
                else
                        log_internal(fail ? LOG_ERR : LOG_WARNING, 0,
                                     "%s: %s did not appear within %u ms; scanned: %s; FC HBAs: %s; check the zoning and the "
                                     "LUN masking of this host's HBA WWPNs on the storage%s",
                                     pfx, target, took, scanned, hbas ? hbas : "?", tail);
        }
        if (d->missing && cfg->fc_on_missing == FC_ON_MISSING_FAIL)
                return -ENODEV;
        return 0;
}

int dest_fc_apply(struct dest_fc *d)
{
        _cleanup_(fc_run_done) struct fc_run run = { .d = d, .t0 = now_ms() };

        d->missing = d->write_errors = 0;
        if (d->n_luns == 0)
                return 0;
        if (d->report)
                return report_plan(d);

        /* the hook keeps a little time to answer libvirt after the wait */
        unsigned dl = deadline_remaining_ms(), budget = d->wait_ms;
        if (d->no_wait)
                budget = 0;
        else if (!budget)
                budget = dl == UINT32_MAX ? 30000 : dl > 300 ? dl - 300 : 0;
        run.until = run.t0 + budget;

        int r = watch_luns(&run);
        if (r < 0)
                return r;
        snapshot(&run);
        write_scans(&run);
        wait_luns(&run);
        note_appeared(&run);
        return report_luns(&run);
}

void dest_fc_done(struct dest_fc *d)
{
        for (size_t i = 0; i < d->n_luns; i++) {
                struct dest_lun *l = &d->luns[i];
                free(l->disk);
                free(l->source);
                free(l->path);
                free(l->glob_dir);
                free(l->glob);
                free(l->paths_link);
                free(l->error);
        }
        free(d->luns);
        d->luns = NULL;
        d->n_luns = 0;
        for (size_t i = 0; i < d->n_reqs; i++)
                fc_scan_req_done(&d->reqs[i]);
        free(d->reqs);
        d->reqs = NULL;
        d->n_reqs = 0;
        fc_plan_free(&d->plan);
        strv_free(d->appeared_scsi);
        strv_free(d->appeared_mpaths);
        d->appeared_scsi = d->appeared_mpaths = NULL;
}
