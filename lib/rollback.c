/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The rollback of a failed incoming migration (cleanup_rollback) and the
 * commit of a successful one (cleanup_commit): what the destination's hook
 * journaled, undone or kept. */
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

/* One rollback: what it knows so far and what it leaves. */
struct rollback {
        const struct mk_config *cfg;
        const struct cleanup_opts *o;
        const char *uuid, *name;
        struct label l;
        char *jpath;           /* <state>/journal/<uuid> */
        struct stat jst;       /* its identity when it was read */
        struct journal j;
        struct proof p;
        int proof_r;           /* what proof_load() said */
        struct journal keep;   /* items left for a later run */
        char **reasons;        /* why, one per item kept */
        unsigned removed;
};

static void rollback_done(struct rollback *rb)
{
        free(rb->jpath);
        journal_free(&rb->j);
        proof_free(&rb->p);
        journal_free(&rb->keep);
        strv_free(rb->reasons);
}

static void keep_item(struct rollback *rb, char ***list, const char *item, const char *fmt, ...) _printf_(4, 5);
static void keep_item(struct rollback *rb, char ***list, const char *item, const char *fmt, ...)
{
        _cleanup_free_ char *why = NULL;
        va_list ap;
        va_start(ap, fmt);
        why = strdup_vprintf(fmt, ap);
        va_end(ap);
        if (strv_push(list, item) < 0 || strv_push(&rb->reasons, why ? why : item) < 0)
                log_error_errno(ENOMEM, "out of memory");
        log_warning("%s: the rollback leaves this for later: %s", rb->l.s, why ? why : item);
}

static void rollback_dir(struct rollback *rb, const char *dir)
{
        _cleanup_free_ char *expected = path_join(rb->cfg->instances_path, rb->uuid), *qpath = NULL, *detail = NULL;
        int r;

        if (!expected || !streq(dir, expected)) {
                /* Never ours to touch, now or later: dropped from the journal. */
                log_warning("%s: the journal names directory %s, which is not this guest's instance directory %s; left alone",
                            rb->l.s, dir, expected ? expected : "?");
                return;
        }
        const struct dir_ident *id = journal_dir_id(&rb->j, dir);
        if (!id) {
                keep_item(rb, &rb->keep.dirs, dir, "the journal does not record which directory %s was when migkit created "
                          "it (a journal of an older migkit): check it and remove it by hand", dir);
                return;
        }
        struct quarantine_req req = { .uuid = rb->uuid, .reason = "rollback of a failed incoming migration",
                                      .domain = rb->name, .expect = id };
        if (rb->o->dry_run) {
                req.flags = QUARANTINE_DRY_RUN;
                r = quarantine_move(rb->cfg, &req, NULL, NULL, &detail);
                if (r > 0)
                        fprintf(report(rb->o), "%s: would move %s to %s/%s/\n", rb->l.s, dir, rb->cfg->instances_path, QUARANTINE_DIR);
                else if (r == 0)
                        fprintf(report(rb->o), "%s: %s is already gone\n", rb->l.s, dir);
                else
                        fprintf(report(rb->o), "%s: would leave %s: %s\n", rb->l.s, dir, qreason(r, dir, detail).s);
                return;
        }
        r = quarantine_move(rb->cfg, &req, NULL, &qpath, &detail);
        if (r > 0) {
                rb->removed++;
                log_notice("%s: moved %s, created for the failed incoming migration, to %s (undo with: mv %s %s)",
                           rb->l.s, dir, qpath, qpath, dir);
        } else if (r == 0)
                log_info("%s: %s is already gone", rb->l.s, dir);
        else
                keep_item(rb, &rb->keep.dirs, dir, "%s", qreason(r, dir, detail).s);
}

/* Only a bridge migkit may create ([bridges] allow) and did create: the
 * one the journal recorded, by ifindex. A bridge outside the allow-list or
 * of another ifindex is not ours (dropped from the journal); one the
 * journal has no ifindex for is left pending, for a person to check. */
static bool rollback_bridge_ours(struct rollback *rb, const char *br, const struct link_info *li)
{
        _cleanup_free_ char *allow = strv_join(rb->cfg->bridge_allow, " ");
        unsigned recorded = journal_bridge_ifindex(&rb->j, br);
        if (!strv_fnmatch(rb->cfg->bridge_allow, br)) {
                log_warning("%s: the journal names bridge %s, which [bridges] allow (%s) does not allow migkit to create; "
                            "left alone", rb->l.s, br, allow ? allow : "?");
                return false;
        }
        if (recorded == 0) {
                keep_item(rb, &rb->keep.bridges, br, "the journal does not record which bridge %s was when migkit created it "
                          "(a journal of an older migkit): check it and delete it by hand", br);
                return false;
        }
        if (recorded != li->ifindex) {
                log_warning("%s: bridge %s has ifindex %u, not %u as when migkit created it: it was deleted and created "
                            "again by something else; left alone", rb->l.s, br, li->ifindex, recorded);
                return false;
        }
        return true;
}

static void rollback_bridge(struct rollback *rb, const char *br)
{
        const char *bad = ifname_invalid_reason(br);
        struct link_info li;
        int r;

        if (bad) {
                log_warning("%s: the journal names bridge '%s', which %s; left alone", rb->l.s, br, bad);
                return;
        }
        r = link_get(br, &li);
        if (r == -ENODEV) {
                log_info("%s: bridge %s is already gone", rb->l.s, br);
                return;
        }
        if (r < 0) {
                keep_item(rb, &rb->keep.bridges, br, "cannot look up bridge %s: %s", br, bridge_strerror(r));
                return;
        }
        if (!li.is_bridge) {
                log_warning("%s: %s is not a bridge any more (something else took the name); left alone", rb->l.s, br);
                return;
        }
        if (!rollback_bridge_ours(rb, br, &li))
                return;
        _cleanup_strv_ char **ports = NULL;
        r = bridge_ports(rb->cfg->sysfs_root, br, li.ifindex, &ports);
        if (r == -ESTALE || r == -ENOENT) {
                keep_item(rb, &rb->keep.bridges, br,
                          "%s/class/net/%s does not show this network namespace's bridge %s (ifindex %u); cannot tell its ports",
                          rb->cfg->sysfs_root, br, br, li.ifindex);
                return;
        }
        if (r < 0) {
                keep_item(rb, &rb->keep.bridges, br, "cannot list the ports of bridge %s in %s/class/net/%s/brif: %s",
                          br, rb->cfg->sysfs_root, br, strerror(-r));
                return;
        }
        if (r > 0) {
                _cleanup_free_ char *list = strv_join(ports, " ");
                keep_item(rb, &rb->keep.bridges, br, "bridge %s still has ports (%s); something else uses it", br, list ? list : "?");
                return;
        }
        if (rb->o->dry_run) {
                fprintf(report(rb->o), "%s: would delete bridge %s (created for the failed incoming migration, no ports)\n", rb->l.s, br);
                return;
        }
        r = bridge_delete_index(br, li.ifindex);
        if (r > 0) {
                rb->removed++;
                log_notice("%s: deleted bridge %s, created for the failed incoming migration", rb->l.s, br);
        } else if (r == 0)
                log_info("%s: bridge %s is already gone", rb->l.s, br);
        else if (r == -EMEDIUMTYPE || r == -ESTALE)
                log_warning("%s: %s is not the bridge that was checked any more; left alone", rb->l.s, br);
        else
                keep_item(rb, &rb->keep.bridges, br, "cannot delete bridge %s: %s", br, bridge_strerror(r));
}

/* The items left for later keep the identities the journal recorded. */
static void keep_identities(struct journal *keep, const struct journal *j)
{
        for (size_t i = 0; keep->dirs && keep->dirs[i]; i++) {
                const struct dir_ident *id = journal_dir_id(j, keep->dirs[i]);
                if (id)
                        (void)journal_set_dir_id(keep, keep->dirs[i], id);
        }
        for (size_t i = 0; keep->bridges && keep->bridges[i]; i++) {
                unsigned idx = journal_bridge_ifindex(j, keep->bridges[i]);
                if (idx)
                        (void)journal_set_bridge_ifindex(keep, keep->bridges[i], idx);
        }
}

static int stat_id(const char *path, struct stat *st)
{
        if (lstat(path, st) < 0)
                return -errno;
        return 0;
}

static bool same_file(const struct stat *a, const struct stat *b)
{
        return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
               a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* Before anything is asked or locked: what the journal and the proof say.
 * Returns STEP_OK or the outcome. */
static int rollback_check(struct rollback *rb)
{
        const struct mk_config *cfg = rb->cfg;
        const struct cleanup_opts *o = rb->o;
        const char *uuid = rb->uuid, *name = rb->name, *A = "rollback";
        const struct journal j = rb->j;
        const struct proof p = rb->p;
        int pr = rb->proof_r;

        /* Second line of defence behind migkit-watch's own rule (doc/design.md, invariant 6). */
        if (j.arrived)
                return refuse(cfg, o, uuid, A, name,
                              "the journal says the guest arrived here (migration completed at %lld); a guest that "
                              "migrated in is never rolled back: run 'migkit-cleanup commit %s'",
                              (long long)j.arrived, uuid);
        if (j.postcopy)
                return refuse(cfg, o, uuid, A, name,
                              "post-copy began at %lld: the guest ran here with part of its memory still on the source; "
                              "check where it runs before removing anything", (long long)j.postcopy);
        int r = check_proof(cfg, o, uuid, A, name, pr, &p, PROOF_INCOMING_FAILED,
                            "no proof that the incoming migration failed (nothing in ",
                            " from the hook's 'release end failed', migkit-watch or the driver); a guest that "
                            "migrated in and stopped later looks the same");
        if (r != STEP_OK)
                return r;
        if (p.time < j.started)
                return refuse(cfg, o, uuid, A, name,
                              "the proof (by %s at %lld) is older than this attempt's journal (started %lld); "
                              "it belongs to an earlier attempt", p.by, (long long)p.time, (long long)j.started);
        return STEP_OK;
}

/* Under the guest's lock: the proof and the journal must be the very ones
 * read before. Returns STEP_OK or the outcome. */
static int rollback_recheck(struct rollback *rb)
{
        struct stat jst2;
        if (proof_unchanged(rb->cfg->state_dir, &rb->p) <= 0)
                return refuse(rb->cfg, rb->o, rb->uuid, "rollback", rb->name,
                              "the proof was cleared or replaced meanwhile (a new incoming migration of this guest?)");
        if (stat_id(rb->jpath, &jst2) < 0 || !same_file(&rb->jst, &jst2))
                return refuse(rb->cfg, rb->o, rb->uuid, "rollback", rb->name, "the journal %s changed meanwhile (a new attempt?)",
                              rb->jpath);
        return STEP_OK;
}

/* After the items: drops the journal, the proof and the pending item when
 * nothing is left, or keeps what is left in the journal and records why.
 * Returns the outcome. */
static int rollback_finish(struct rollback *rb)
{
        const struct mk_config *cfg = rb->cfg;
        const char *uuid = rb->uuid, *jpath = rb->jpath, *A = "rollback";
        const struct label l = rb->l;
        int r;

        if (rb->o->dry_run)
                return CLEANUP_DONE;
        if (!rb->keep.dirs && !rb->keep.bridges && !rb->keep.scsi && !rb->keep.mpaths) {
                if (unlink(jpath) < 0 && errno != ENOENT)
                        log_warning_errno(errno, "%s: cannot remove the journal %s: %m", l.s, jpath);
                (void)proof_clear(cfg->state_dir, uuid);
                (void)pending_clear(cfg->state_dir, uuid, A);
                log_notice("%s: rolled back the failed incoming migration (%u item%s removed)", l.s, rb->removed,
                           rb->removed == 1 ? "" : "s");
                return CLEANUP_DONE;
        }
        /* The journal keeps what is left, so a later run retries exactly
         * that; the proof stays for it. */
        rb->keep.uuid = rb->j.uuid;
        rb->keep.name = rb->j.name;
        rb->keep.started = rb->j.started;
        keep_identities(&rb->keep, &rb->j);
        r = journal_save(cfg->state_dir, &rb->keep);
        rb->keep.uuid = rb->keep.name = NULL;
        if (r < 0)
                log_warning_errno(r, "%s: cannot rewrite the journal %s: %m", l.s, jpath);
        r = pending_record(cfg->state_dir, uuid, A, rb->name, rb->reasons);
        if (r < 0)
                log_warning_errno(r, "%s: cannot record the pending rollback in %s/pending: %m", l.s, cfg->state_dir);
        return CLEANUP_PARTIAL;
}

int cleanup_rollback(const struct mk_config *cfg, const char *uuid, const struct cleanup_opts *o)
{
        _cleanup_(rollback_done) struct rollback rb = { .cfg = cfg, .o = o, .uuid = uuid };
        const char *A = "rollback";
        int r;

        if (!uuid_is_valid(uuid))
                return log_error_errno(EINVAL, "'%s' is not a UUID; refusing", uuid);
        if (!(rb.jpath = state_path(cfg->state_dir, STATE_JOURNAL, uuid)))
                return log_error_errno(ENOMEM, "out of memory");
        rb.proof_r = proof_load(cfg->state_dir, uuid, &rb.p);
        r = stat_id(rb.jpath, &rb.jst);
        if (r == 0)
                r = journal_load(cfg->state_dir, uuid, &rb.j);
        rb.name = rb.j.name ? rb.j.name : rb.proof_r == 0 ? rb.p.name : NULL;
        rb.l = mklabel(rb.name, uuid);
        if (r == -ENOENT) {
                log_info("%s: no journal in %s: nothing was created here for an incoming migration, or it succeeded; nothing to do",
                         rb.l.s, rb.jpath);
                if (!o->dry_run) {
                        (void)pending_clear(cfg->state_dir, uuid, A);
                        if (rb.proof_r == 0 && rb.p.kind == PROOF_INCOMING_FAILED && proof_unchanged(cfg->state_dir, &rb.p) > 0)
                                (void)proof_clear(cfg->state_dir, uuid);
                }
                return CLEANUP_NOTHING;
        }
        if (r < 0)
                return refuse(cfg, o, uuid, A, rb.name, "the journal %s cannot be read: %s", rb.jpath,
                              r == -EBADMSG ? "malformed" : strerror(-r));

        r = rollback_check(&rb);
        if (r != STEP_OK)
                return r;
        r = libvirt_forgot(cfg, o, uuid, A, rb.name);
        if (r != 0)
                return r;
        _cleanup_close_ int lock = -1;
        if (!o->dry_run) {
                lock = lock_guest(cfg, o, uuid, rb.l.s);
                if (lock < 0)
                        return lock;
                r = rollback_recheck(&rb);
                if (r != STEP_OK)
                        return r;
        }

        for (size_t i = 0; rb.j.bridges && rb.j.bridges[i]; i++)
                rollback_bridge(&rb, rb.j.bridges[i]);
        for (size_t i = 0; rb.j.dirs && rb.j.dirs[i]; i++)
                rollback_dir(&rb, rb.j.dirs[i]);
        /* the SCSI paths and maps its scan brought (lundisc.h) */
        r = lundisc_rollback(cfg, o, uuid, rb.l.s, rb.j.scsi, rb.j.mpaths, &rb.keep.scsi, &rb.keep.mpaths, &rb.reasons);
        if (r < 0)
                return log_error_errno(r, "out of memory");
        rb.removed += (unsigned)r;
        /* Stripped cdrom sources changed only the failed domain's XML,
         * which is gone with it: nothing to undo on this host. */
        return rollback_finish(&rb);
}

int cleanup_commit(const struct mk_config *cfg, const char *uuid, const struct cleanup_opts *o)
{
        _cleanup_(proof_free) struct proof p = { 0 };
        _cleanup_free_ char *jpath = NULL;

        if (!uuid_is_valid(uuid))
                return log_error_errno(EINVAL, "'%s' is not a UUID; refusing", uuid);
        if (!(jpath = state_path(cfg->state_dir, STATE_JOURNAL, uuid)))
                return log_error_errno(ENOMEM, "out of memory");
        int r = state_exists(cfg->state_dir, STATE_JOURNAL, uuid);
        if (r < 0)
                return log_error_errno(r, "uuid %s: cannot check the journal %s: %m", uuid, jpath);
        if (o->dry_run) {
                fprintf(report(o), r > 0 ? "uuid %s: would remove the journal %s\n" : "uuid %s: no journal %s; nothing to do\n",
                        uuid, jpath);
                return r > 0 ? CLEANUP_DONE : CLEANUP_NOTHING;
        }
        _cleanup_close_ int lock = lock_guest(cfg, o, uuid, mklabel(NULL, uuid).s);
        if (lock < 0)
                return lock;
        (void)pending_clear(cfg->state_dir, uuid, "rollback");
        if (proof_load(cfg->state_dir, uuid, &p) == 0 && p.kind == PROOF_INCOMING_FAILED) {
                log_warning("uuid %s: dropping the incoming-failed proof (by %s): the migration was reported successful", uuid, p.by);
                (void)proof_clear(cfg->state_dir, uuid);
        }
        if (unlink(jpath) < 0) {
                if (errno == ENOENT) {
                        log_info("uuid %s: no journal %s; nothing to do", uuid, jpath);
                        return CLEANUP_NOTHING;
                }
                return log_error_errno(errno, "uuid %s: cannot remove the journal %s: %m", uuid, jpath);
        }
        log_notice("uuid %s: committed the incoming migration (removed the journal %s; nothing will be rolled back)", uuid, jpath);
        return CLEANUP_DONE;
}
