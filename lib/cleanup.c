/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cleanup.h"

#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <sys/stat.h>

#include "bridge.h"
#include "instdir.h"
#include "journal.h"
#include "log.h"
#include "lundisc.h"
#include "metrics.h"
#include "pending.h"
#include "proof.h"
#include "quarantine.h"
#include "state.h"
#include "util.h"
#include "validate.h"
#include "virt.h"

#include "cleanup-priv.h"

struct label mklabel(const char *name, const char *uuid)
{
        struct label l;
        if (name && *name)
                snprintf(l.s, sizeof(l.s), "domain %s (uuid %s)", name, uuid);
        else
                snprintf(l.s, sizeof(l.s), "uuid %s", uuid);
        return l;
}

FILE *report(const struct cleanup_opts *o)
{
        return o->report ? o->report : stdout;
}

int lock_guest(const struct mk_config *cfg, const struct cleanup_opts *o, const char *uuid, const char *label)
{
        int lock = state_lock(cfg->state_dir, uuid, o->lock_timeout_ms);
        if (lock == -EAGAIN)
                return log_error_errno(EAGAIN, "%s: another migkit-cleanup holds the lock of this guest; try again later", label);
        if (lock < 0)
                return log_error_errno(lock, "%s: cannot take the lock in %s/lock: %m", label, cfg->state_dir);
        return lock;
}

int refuse(const struct mk_config *cfg, const struct cleanup_opts *o, const char *uuid, const char *action,
                  const char *name, const char *fmt, ...)
{
        _cleanup_free_ char *reason = NULL;
        struct label l = mklabel(name, uuid);
        va_list ap;

        va_start(ap, fmt);
        reason = strdup_vprintf(fmt, ap);
        va_end(ap);
        if (o->dry_run) {
                log_warning("%s: would refuse %s: %s", l.s, action, reason ? reason : "out of memory");
                return CLEANUP_REFUSED;
        }
        char *reasons[] = { reason, NULL };
        int r = reason ? pending_record(cfg->state_dir, uuid, action, name, reasons) : -ENOMEM;
        if (r < 0)
                log_warning_errno(r, "%s: cannot record the pending %s in %s/pending: %m", l.s, action, cfg->state_dir);
        int m = metrics_refusal(cfg, action, reason ? reason : "");
        if (m < 0)
                log_warning_errno(m, "%s: cannot update the metrics in %s: %m", l.s, cfg->metrics_textfile);
        log_warning("%s: refusing %s: %s; nothing was removed (see migkit-cleanup status)", l.s,
                    streq(action, "source") ? "the source cleanup" : "the rollback", reason ? reason : "out of memory");
        return CLEANUP_REFUSED;
}

/* ---- libvirt ------------------------------------------------------------ */

/* Asks libvirt whether the domain is known here, for up to [cleanup] settle
 * while it is (a domain that just stopped is forgotten a moment after the
 * hook's release call) or libvirt cannot be reached. Returns 0 when libvirt
 * said "no such domain", else CLEANUP_REFUSED after refuse(). */
int libvirt_forgot(const struct mk_config *cfg, const struct cleanup_opts *o, const char *uuid,
                          const char *action, const char *name)
{
        struct virt_domain d;
        _cleanup_free_ char *err = NULL;
        int r = virt_domain_lookup_settled(cfg->libvirt_uri, uuid, o->dry_run ? 0 : cfg->cleanup_settle_ms, &d, &err);
        if (r == 0)
                return 0;
        if (r > 0) {
                int q = refuse(cfg, o, uuid, action, name ? name : d.name,
                               "libvirt (%s) still has domain %s here, %s and %s; it must be undefined first",
                               cfg->libvirt_uri, d.name, d.persistent ? "defined" : "transient", d.state);
                virt_domain_free(&d);
                return q;
        }
        if (r == -EINVAL)
                return refuse(cfg, o, uuid, action, name, "[cleanup] libvirt-uri is empty; cannot ask libvirt");
        return refuse(cfg, o, uuid, action, name, "cannot ask libvirt (%s) whether the domain is still defined or active here: %s",
                      cfg->libvirt_uri, err ? err : strerror(-r));
}

int check_proof(const struct mk_config *cfg, const struct cleanup_opts *o, const char *uuid, const char *action,
                       const char *name, int r, const struct proof *p, int want, const char *missing, const char *sources)
{
        if (r == -ENOENT)
                return refuse(cfg, o, uuid, action, name, "%s%s/proof/%s%s", missing, cfg->state_dir, uuid, sources);
        if (r < 0)
                return refuse(cfg, o, uuid, action, name, "the proof %s/proof/%s cannot be read: %s", cfg->state_dir, uuid,
                              r == -EBADMSG ? "malformed" : strerror(-r));
        if (p->kind != want)
                return refuse(cfg, o, uuid, action, name, "the proof on record (by %s) says %s, not %s",
                              p->by, proof_kind_to_string(p->kind), proof_kind_to_string(want));
        return STEP_OK;
}

/* ---- source ------------------------------------------------------------- */

/* The directory is done with: its proof is spent, unless the disconnect of
 * the guest's LUNs waits for it too (lundisc.h). */
static void drop_proof(const struct mk_config *cfg, const char *uuid)
{
        if (!pending_exists(cfg->state_dir, uuid, "disconnect"))
                (void)proof_clear(cfg->state_dir, uuid);
}

/* What to do about a quarantine refusal, after the detail that names it. */
static const char *quarantine_advice(int r)
{
        switch (r) {
        case -ELOOP: return "symlinks are never followed";
        case -ENOTDIR: return "only directories are moved";
        case -EXDEV: return "mount points are never crossed";
        case -EBUSY: return "unmount it first";
        case -EPERM: return "fix or remove it by hand";
        case -EREMOTE: return "nothing is removed from a directory another host may use";
        case -EOPNOTSUPP: return "nothing is removed where a mount point could not be told";
        case -ESTALE: return "nothing was moved";
        default: return NULL;
        }
}

struct qreason qreason(int r, const char *path, const char *detail)
{
        struct qreason q;
        const char *advice = quarantine_advice(r);
        if (detail && advice)
                snprintf(q.s, sizeof(q.s), "%s; %s", detail, advice);
        else if (detail)
                snprintf(q.s, sizeof(q.s), "%s: %s", detail, strerror(-r));
        else
                snprintf(q.s, sizeof(q.s), "%s cannot be moved to quarantine: %s%s%s", path, strerror(-r),
                         advice ? "; " : "", advice ? advice : "");
        return q;
}

/* One source cleanup: what it knows so far. */
struct source {
        const struct mk_config *cfg;
        const struct cleanup_opts *o;
        const char *uuid;
        const char *name;     /* domain name, from the proof, or NULL */
        struct label l;
        char *dir;            /* <instances>/<uuid> */
        struct proof p;
        int proof_r;          /* what proof_load() said */
        char *detail;         /* quarantine_move()'s detail of the last refusal */
        struct dir_ident checked; /* what the checks saw: the directory moved must be it */
};

static void source_done(struct source *s)
{
        free(s->dir);
        proof_free(&s->p);
        free(s->detail);
}

/* Before anything is asked or locked: the directory, the proof, the
 * journal, and whether quarantine_move() would move the directory. Returns
 * STEP_OK or the outcome. */
static int source_check(struct source *s)
{
        const struct mk_config *cfg = s->cfg;
        const struct cleanup_opts *o = s->o;
        const char *uuid = s->uuid, *name = s->name, *dir = s->dir, *A = "source";
        const struct label l = s->l;
        const struct proof p = s->p;
        int r = s->proof_r;

        /* Already gone (or never here): nothing to do, whatever else holds. */
        int e = instance_dir_exists(cfg, uuid);
        if (e == 0) {
                log_info("%s: %s does not exist; nothing to do", l.s, dir);
                if (!o->dry_run) {
                        if (r == 0 && p.kind == PROOF_MIGRATED && proof_unchanged(cfg->state_dir, &p) > 0)
                                drop_proof(cfg, uuid);
                        (void)pending_clear(cfg->state_dir, uuid, A);
                }
                return CLEANUP_NOTHING;
        }
        if (e == -ENOENT)
                return refuse(cfg, o, uuid, A, name, "instances path %s does not exist", cfg->instances_path);
        if (e == -ELOOP)
                return refuse(cfg, o, uuid, A, name, "%s or %s is a symlink; symlinks are never followed", cfg->instances_path, dir);
        if (e < 0)
                return refuse(cfg, o, uuid, A, name, "%s", qreason(e, dir, NULL).s);

        r = check_proof(cfg, o, uuid, A, name, r, &p, PROOF_MIGRATED, "no proof that the guest runs elsewhere (nothing in ",
                        " from the hook's 'release end migrated', migkit-watch's stopped/migrated event or the driver; "
                        "a normal shutdown looks the same)");
        if (r != STEP_OK)
                return r;

        r = state_exists(cfg->state_dir, STATE_JOURNAL, uuid);
        if (r != 0)
                return refuse(cfg, o, uuid, A, name,
                              r > 0 ? "an incoming migration of this guest to this host is unresolved (%s/journal/%s); "
                                      "roll it back or commit it first"
                                    : "cannot check for a journal in %s/journal/%s", cfg->state_dir, uuid);

        /* Everything about the directory, without moving it; what is moved
         * later must be the directory checked now. */
        struct quarantine_req req = { .uuid = uuid, .flags = QUARANTINE_DRY_RUN };
        r = quarantine_move(cfg, &req, &s->checked, NULL, &s->detail);
        if (r < 0)
                return refuse(cfg, o, uuid, A, name, "%s", qreason(r, dir, s->detail).s);
        if (r == 0) {
                log_info("%s: %s does not exist; nothing to do", l.s, dir);
                return CLEANUP_NOTHING;
        }
        return STEP_OK;
}

/* Under the guest's lock: re-checks what may have changed while libvirt
 * was asked, then moves the directory to the quarantine. Returns the
 * outcome. */
static int source_move(struct source *s)
{
        const struct mk_config *cfg = s->cfg;
        const struct cleanup_opts *o = s->o;
        const char *uuid = s->uuid, *name = s->name, *dir = s->dir, *A = "source";
        const struct label l = s->l;
        const struct proof p = s->p;
        _cleanup_free_ char *qpath = NULL;
        int r;

        /* A new incoming migration clears the proof first. */
        if (instance_dir_exists(cfg, uuid) == 0) {
                log_info("%s: %s does not exist any more; nothing to do", l.s, dir);
                (void)pending_clear(cfg->state_dir, uuid, A);
                return CLEANUP_NOTHING;
        }
        if (proof_unchanged(cfg->state_dir, &p) <= 0)
                return refuse(cfg, o, uuid, A, name,
                              "the proof was cleared or replaced meanwhile (a new incoming migration of this guest?)");
        if (state_exists(cfg->state_dir, STATE_JOURNAL, uuid) != 0)
                return refuse(cfg, o, uuid, A, name, "an incoming migration of this guest to this host started meanwhile");

        _cleanup_free_ char *reason = NULL;
        if (asprintf(&reason, "source cleanup: the guest migrated away (proof by %s at %lld%s%s)", p.by,
                     (long long)p.time, p.detail ? ": " : "", p.detail ? p.detail : "") < 0)
                reason = NULL;
        free(s->detail);
        s->detail = NULL;
        struct quarantine_req req = { .uuid = uuid, .reason = reason ? reason : "source cleanup", .domain = name,
                                      .expect = &s->checked };
        r = quarantine_move(cfg, &req, NULL, &qpath, &s->detail);
        if (r == 0) {
                log_info("%s: %s does not exist any more; nothing to do", l.s, dir);
                return CLEANUP_NOTHING;
        }
        if (r < 0)
                return refuse(cfg, o, uuid, A, name, "%s", qreason(r, dir, s->detail).s);
        drop_proof(cfg, uuid);
        (void)pending_clear(cfg->state_dir, uuid, A);
        log_notice("%s: moved %s to %s (the guest migrated away; undo with: mv %s %s)", l.s, dir, qpath, qpath, dir);
        return CLEANUP_DONE;
}

/* The instance directory part of cleanup_source. */
static int source_dir(const struct mk_config *cfg, const char *uuid, const struct cleanup_opts *o)
{
        _cleanup_(source_done) struct source s = { .cfg = cfg, .o = o, .uuid = uuid };
        int r;

        if (!uuid_is_valid(uuid))
                return log_error_errno(EINVAL, "'%s' is not a UUID; refusing", uuid);
        if (!(s.dir = path_join(cfg->instances_path, uuid)))
                return log_error_errno(ENOMEM, "out of memory");
        s.proof_r = proof_load(cfg->state_dir, uuid, &s.p);
        s.name = s.proof_r == 0 ? s.p.name : NULL;
        s.l = mklabel(s.name, uuid);

        r = source_check(&s);
        if (r != STEP_OK)
                return r;
        r = libvirt_forgot(cfg, o, uuid, "source", s.name);
        if (r != 0)
                return r;
        if (o->dry_run) {
                fprintf(report(o), "%s: would move %s to %s/%s/ (proof: %s by %s)\n", s.l.s, s.dir, cfg->instances_path,
                        QUARANTINE_DIR, proof_kind_to_string(s.p.kind), s.p.by);
                return CLEANUP_DONE;
        }
        _cleanup_close_ int lock = lock_guest(cfg, o, uuid, s.l.s);
        if (lock < 0)
                return lock;
        return source_move(&s);
}

/* The worse of two outcomes: an error, a refusal, a partial job, done, nothing. */
static int worse(int a, int b)
{
        static const int rank[] = { [CLEANUP_NOTHING] = 0, [CLEANUP_DONE] = 1, [CLEANUP_PARTIAL] = 2, [CLEANUP_REFUSED] = 3 };
        if (a < 0 || b < 0)
                return a < 0 ? a : b;
        return rank[a] >= rank[b] ? a : b;
}

int cleanup_source(const struct mk_config *cfg, const char *uuid, const struct cleanup_opts *o)
{
        if (!uuid_is_valid(uuid))
                return log_error_errno(EINVAL, "'%s' is not a UUID; refusing", uuid);
        /* the guest's LUNs first: the directory's step spends the proof */
        int luns = lundisc_source(cfg, uuid, o);
        return worse(source_dir(cfg, uuid, o), luns);
}

/* ---- purge -------------------------------------------------------------- */

static void purge_kept(void *userdata, const char *relpath, int err)
{
        const struct mk_config *cfg = userdata;
        if (err == -EXDEV)
                log_warning("left %s/%s/%s in place: it is a mount point (or on another filesystem); nothing under it was removed",
                            cfg->instances_path, QUARANTINE_DIR, relpath);
        else
                log_warning_errno(err, "left %s/%s/%s in place: %m", cfg->instances_path, QUARANTINE_DIR, relpath);
}

int cleanup_purge(const struct mk_config *cfg, unsigned long long retention_ms, const struct cleanup_opts *o)
{
        struct purge_stats st;
        _cleanup_close_ int lock = -1;
        int r;

        if (!o->dry_run) {
                lock = state_lock(cfg->state_dir, STATE_LOCK_PURGE, 0);
                if (lock == -EAGAIN) {
                        log_info("another purge is running; nothing to do");
                        return CLEANUP_NOTHING;
                }
                if (lock < 0)
                        return log_error_errno(lock, "cannot take the purge lock in %s/lock: %m", cfg->state_dir);
        }
        r = quarantine_purge(cfg, (unsigned long)(retention_ms / 1000), time(NULL), o->dry_run, purge_kept, (void *)cfg, &st);
        if (r < 0) {
                log_warning("refusing to purge %s/%s: %s", cfg->instances_path, QUARANTINE_DIR,
                            r == -EREMOTE ? "the instances path is not proven to be this host's alone (its filesystem type is not in "
                                            "[filesystems] local, or another host marked it; `migkit doctor` says which); nothing is "
                                            "ever removed there"
                            : r == -EOPNOTSUPP ? "the kernel tells no mount id, so a bind mount inside could not be told"
                            : r == -ELOOP ? "the instances path is a symlink; symlinks are never followed"
                            : r == -EXDEV ? "it is a mount point or on another filesystem than the instances path"
                            : r == -EPERM ? "it is not a private directory of ours (owner and mode 0700)"
                            : strerror(-r));
                return CLEANUP_REFUSED;
        }
        if (o->dry_run) {
                fprintf(report(o), "would purge %u quarantined director%s; %u within the retention\n", st.purged,
                        st.purged == 1 ? "y" : "ies", st.young);
                return st.purged ? CLEANUP_DONE : CLEANUP_NOTHING;
        }
        if (st.purged || st.kept)
                log_notice("purged %u quarantined director%s (%lu entries) from %s/%s; %u kept%s; %u within the retention",
                           st.purged, st.purged == 1 ? "y" : "ies", st.files, cfg->instances_path, QUARANTINE_DIR, st.kept,
                           st.kept ? " (see above)" : "", st.young);
        else
                log_info("nothing to purge in %s/%s (%u within the retention)", cfg->instances_path, QUARANTINE_DIR, st.young);
        return r > 0 ? CLEANUP_PARTIAL : st.purged ? CLEANUP_DONE : CLEANUP_NOTHING;
}
