/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The two jobs that remove a guest's LUNs through lundisc_remove(): the
 * source's disconnect once the guest migrated away (proven), and the
 * destination's rollback of the devices its own scan brought. */
#include "lundisc.h"

#include <limits.h>
#include <stdarg.h>

#include "fc.h"
#include "fclun.h"
#include "log.h"
#include "lunrec.h"
#include "pending.h"
#include "proof.h"
#include "state.h"
#include "util.h"
#include "validate.h"
#include "virt.h"

/* ---- the source, after its guest migrated away ---------------------------- */

/* Logs a refusal of the whole disconnect and records it as pending. */
static int refuse(const struct mk_config *cfg, const struct cleanup_opts *o, const char *uuid, const char *name,
                  const char *label, const char *fmt, ...) _printf_(6, 7);
static int refuse(const struct mk_config *cfg, const struct cleanup_opts *o, const char *uuid, const char *name,
                  const char *label, const char *fmt, ...)
{
        _cleanup_free_ char *reason = NULL;
        va_list ap;
        va_start(ap, fmt);
        reason = strdup_vprintf(fmt, ap);
        va_end(ap);
        if (!reason)
                return log_error_errno(ENOMEM, "out of memory");
        if (o->dry_run) {
                log_warning("%s: would refuse to disconnect its LUNs: %s", label, reason);
                return CLEANUP_REFUSED;
        }
        char *reasons[] = { reason, NULL };
        int r = pending_record(cfg->state_dir, uuid, "disconnect", name, reasons);
        if (r < 0)
                log_warning_errno(r, "%s: cannot record the pending disconnect in %s/pending: %m", label, cfg->state_dir);
        log_warning("%s: refusing to disconnect its LUNs: %s; nothing was removed (see migkit status)", label, reason);
        return CLEANUP_REFUSED;
}

/* Before anything is removed: the proof, the journal, libvirt. Returns
 * INT_MAX to go on, or the outcome. */
static int source_check(const struct mk_config *cfg, const struct cleanup_opts *o, const char *uuid, const char *name,
                        const char *label, const struct proof *p, int pr)
{
        if (pr == -ENOENT || (pr == 0 && p->kind != PROOF_MIGRATED)) {
                log_info("%s: its LUNs stay: no proof that it runs elsewhere (a guest that only stopped keeps them)", label);
                return CLEANUP_NOTHING;
        }
        if (pr < 0)
                return refuse(cfg, o, uuid, name, label, "the proof %s/proof/%s cannot be read: %s", cfg->state_dir, uuid,
                              pr == -EBADMSG ? "malformed" : strerror(-pr));
        int r = state_exists(cfg->state_dir, STATE_JOURNAL, uuid);
        if (r != 0)
                return refuse(cfg, o, uuid, name, label,
                              r > 0 ? "an incoming migration of this guest to this host is unresolved (%s/journal/%s); roll "
                                      "it back or commit it first" : "cannot check for a journal in %s/journal/%s",
                              cfg->state_dir, uuid);
        struct virt_domain d;
        _cleanup_free_ char *err = NULL;
        r = virt_domain_lookup_settled(cfg->libvirt_uri, uuid, o->dry_run ? 0 : cfg->cleanup_settle_ms, &d, &err);
        if (r > 0) {
                int q = refuse(cfg, o, uuid, name, label, "libvirt (%s) still has domain %s here, %s and %s", cfg->libvirt_uri,
                               d.name, d.persistent ? "defined" : "transient", d.state);
                virt_domain_free(&d);
                return q;
        }
        if (r < 0)
                return refuse(cfg, o, uuid, name, label, "cannot ask libvirt (%s) whether the domain is still here: %s",
                              cfg->libvirt_uri, err ? err : strerror(-r));
        return INT_MAX;
}

int lundisc_source(const struct mk_config *cfg, const char *uuid, const struct cleanup_opts *o)
{
        _cleanup_(lunrec_free) struct lunrec rec = { 0 };
        _cleanup_(proof_free) struct proof p = { 0 };
        _cleanup_(lundisc_done) struct lundisc ld = { .cfg = cfg, .dry_run = o->dry_run, .report = o->report,
                                                      .wait_ms = cfg->fc_disconnect_wait_ms };
        _cleanup_strv_ char **reasons = NULL, **done = NULL;
        _cleanup_free_ bool *kept = NULL;
        char label[512];
        unsigned removed = 0;
        int r;

        if (!cfg->fc_disconnect)
                return CLEANUP_NOTHING;
        r = lunrec_load(cfg->state_dir, uuid, &rec);
        if (r == -ENOENT)
                return CLEANUP_NOTHING;
        int pr = proof_load(cfg->state_dir, uuid, &p);
        const char *name = rec.name ? rec.name : pr == 0 ? p.name : NULL;
        if (name)
                snprintf(label, sizeof(label), "domain %s (uuid %s)", name, uuid);
        else
                snprintf(label, sizeof(label), "uuid %s", uuid);
        if (r < 0)
                return refuse(cfg, o, uuid, name, label, "its LUN record %s/luns/%s cannot be read: %s", cfg->state_dir, uuid,
                              r == -EBADMSG ? "malformed" : strerror(-r));
        r = source_check(cfg, o, uuid, name, label, &p, pr);
        if (r != INT_MAX)
                return r;

        _cleanup_close_ int lock = -1;
        if (!o->dry_run) {
                lock = state_lock(cfg->state_dir, uuid, o->lock_timeout_ms);
                if (lock < 0)
                        return log_error_errno(lock, "%s: cannot take the lock of this guest in %s/lock: %m", label, cfg->state_dir);
                if (proof_unchanged(cfg->state_dir, &p) <= 0)
                        return refuse(cfg, o, uuid, name, label, "the proof was cleared or replaced meanwhile (a new incoming "
                                      "migration of this guest?)");
                if (state_exists(cfg->state_dir, STATE_JOURNAL, uuid) != 0)
                        return refuse(cfg, o, uuid, name, label, "an incoming migration of this guest to this host started meanwhile");
        }
        ld.label = label;
        if (rec.n && !(kept = calloc(rec.n, sizeof(*kept))))
                return log_error_errno(ENOMEM, "out of memory");
        for (size_t i = 0; i < rec.n; i++) {
                const struct lun_id *id = &rec.luns[i];
                _cleanup_free_ char *why = NULL;
                struct lundisc_lun lun = { .wwid = id->wwid };
                if (strv_contains(done, id->wwid))
                        continue; /* two disks on one LUN */
                r = lundisc_remove(&ld, &lun, &why);
                if (r < 0 || strv_push(&done, id->wwid) < 0)
                        return log_error_errno(ENOMEM, "out of memory");
                removed += r == LUNDISC_REMOVED;
                if (r != LUNDISC_REFUSED && r != LUNDISC_FAILED)
                        continue;
                log_warning("%s: disk %s (%s): %s%s", label, id->target, id->source, why ? why : "?",
                            r == LUNDISC_REFUSED ? "; nothing of it was removed" : "");
                kept[i] = true;
                if (strv_push(&reasons, why ? why : "?") < 0)
                        return log_error_errno(ENOMEM, "out of memory");
        }
        if (o->dry_run)
                return reasons ? CLEANUP_REFUSED : removed ? CLEANUP_DONE : CLEANUP_NOTHING;
        if (!reasons) {
                (void)lunrec_remove(cfg->state_dir, uuid);
                (void)pending_clear(cfg->state_dir, uuid, "disconnect");
                if (removed)
                        log_notice("%s: disconnected %u LUN%s of the guest that migrated away", label, removed,
                                   removed == 1 ? "" : "s");
                return removed ? CLEANUP_DONE : CLEANUP_NOTHING;
        }
        /* what is left stays recorded, for the next run */
        size_t n = 0;
        for (size_t i = 0; i < rec.n; i++) {
                if (kept[i])
                        rec.luns[n++] = rec.luns[i];
                else
                        lun_id_free(&rec.luns[i]);
        }
        rec.n = n;
        if ((r = lunrec_save(cfg->state_dir, &rec)) < 0)
                log_warning_errno(r, "%s: cannot rewrite %s/luns/%s: %m", label, cfg->state_dir, uuid);
        if ((r = pending_record(cfg->state_dir, uuid, "disconnect", name, reasons)) < 0)
                log_warning_errno(r, "%s: cannot record the pending disconnect in %s/pending: %m", label, cfg->state_dir);
        return removed ? CLEANUP_PARTIAL : CLEANUP_REFUSED;
}

/* ---- the destination's rollback ------------------------------------------- */

/* The second word of "<a> <wwid> ..." into wwid. */
static bool item_wwid(const char *item, char *wwid, size_t size)
{
        const char *s = strchr(item, ' ');
        if (!s)
                return false;
        s++;
        size_t n = strcspn(s, " ");
        if (n == 0 || n >= size)
                return false;
        memcpy(wwid, s, n);
        wwid[n] = '\0';
        return fc_name_is_valid(wwid);
}

int lundisc_rollback(const struct mk_config *cfg, const struct cleanup_opts *o, const char *uuid, const char *label,
                     char *const *scsi, char *const *mpaths, char ***keep_scsi, char ***keep_mpaths, char ***reasons)
{
        struct lundisc ld = { .cfg = cfg, .dry_run = o->dry_run, .report = o->report, .wait_ms = cfg->fc_disconnect_wait_ms,
                              .label = label };
        _cleanup_strv_ char **wwids = NULL;
        int removed = 0, r = 0;
        char w[FC_WWID_MAX + 1];

        if (!o->dry_run)
                (void)lunrec_remove(cfg->state_dir, uuid);
        if (!cfg->fc_disconnect) {
                if (scsi || mpaths)
                        log_info("%s: the SCSI devices its scan brought stay ([fc] disconnect = no)", label);
                return 0;
        }
        for (size_t i = 0; scsi && scsi[i]; i++)
                if (item_wwid(scsi[i], w, sizeof(w)) && strv_push_unique(&wwids, w) < 0)
                        return -ENOMEM;
        for (size_t i = 0; mpaths && mpaths[i]; i++)
                if (item_wwid(mpaths[i], w, sizeof(w)) && strv_push_unique(&wwids, w) < 0)
                        return -ENOMEM;
        for (size_t i = 0; wwids && wwids[i] && r >= 0; i++) {
                _cleanup_strv_ char **hctls = NULL;
                _cleanup_free_ char *why = NULL;
                bool map_ours = false;
                for (size_t j = 0; scsi && scsi[j]; j++)
                        if (item_wwid(scsi[j], w, sizeof(w)) && streq(w, wwids[i])) {
                                char h[32];
                                snprintf(h, sizeof(h), "%.*s", (int)strcspn(scsi[j], " "), scsi[j]);
                                if (strv_push(&hctls, h) < 0)
                                        r = -ENOMEM;
                        }
                for (size_t j = 0; mpaths && mpaths[j]; j++)
                        map_ours |= item_wwid(mpaths[j], w, sizeof(w)) && streq(w, wwids[i]);
                if (r < 0)
                        break;
                /* no path listed: none of its paths is ours (an empty list would mean all) */
                char *none[] = { NULL };
                struct lundisc_lun lun = { .wwid = wwids[i], .only_paths = hctls ? hctls : none, .keep_map = !map_ours };
                r = lundisc_remove(&ld, &lun, &why);
                if (r == LUNDISC_REMOVED)
                        removed++;
                if (r != LUNDISC_REFUSED && r != LUNDISC_FAILED)
                        continue;
                log_warning("%s: the rollback leaves this for later: %s", label, why ? why : "?");
                for (size_t j = 0; scsi && scsi[j] && r >= 0; j++)
                        if (item_wwid(scsi[j], w, sizeof(w)) && streq(w, wwids[i]) && strv_push(keep_scsi, scsi[j]) < 0)
                                r = -ENOMEM;
                for (size_t j = 0; mpaths && mpaths[j] && r >= 0; j++)
                        if (item_wwid(mpaths[j], w, sizeof(w)) && streq(w, wwids[i]) && strv_push(keep_mpaths, mpaths[j]) < 0)
                                r = -ENOMEM;
                if (r >= 0 && strv_push(reasons, why ? why : "?") < 0)
                        r = -ENOMEM;
        }
        lundisc_done(&ld);
        return r < 0 ? r : removed;
}
