/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* migkit-watch acting on a decision (lifecycle.h): journal marks, the
 * persistent-definition fix-up, the commit, proofs and cleanup jobs,
 * pending items, and the one log line that says what was done; and the
 * facts a decision is made on. watch.c runs the event loop around it. */
#include "watch-priv.h"

#include <stdarg.h>

#include "cleanup.h"
#include "dispatch.h"
#include "hostmark.h"
#include "log.h"
#include "pending.h"
#include "proof.h"
#include "util.h"
#include "virt.h"

#define COMMIT_LOCK_MS 1000    /* a running migkit-cleanup of the guest: hand the commit over */

struct line {
        char s[1536];
        size_t len;
        bool failed;
};

static void say(struct line *l, const char *fmt, ...) _printf_(2, 3);
static void say(struct line *l, const char *fmt, ...)
{
        va_list ap;
        if (l->len >= sizeof(l->s) - 1)
                return;
        if (l->len > 0)
                l->len += (size_t)snprintf(l->s + l->len, sizeof(l->s) - l->len, ", ");
        if (l->len >= sizeof(l->s) - 1)
                return;
        va_start(ap, fmt);
        int n = vsnprintf(l->s + l->len, sizeof(l->s) - l->len, fmt, ap);
        va_end(ap);
        if (n > 0)
                l->len += (size_t)n;
        if (l->len >= sizeof(l->s))
                l->len = sizeof(l->s) - 1;
}

static void mark(struct watch *w, struct line *l, const char *uuid, enum journal_mark m, char ***mem, const char *what,
                 bool tell)
{
        watch_remember(mem, uuid);
        int r = journal_set_mark(w->cfg->state_dir, uuid, m, time(NULL));
        if (r < 0 && r != -ENOENT) {
                l->failed = true;
                say(l, "could not note %s in the journal (%s)", what, strerror(-r));
        } else if (tell)
                say(l, "noted %s in the journal", what);
}

static bool fixup(struct watch *w, struct line *l, const char *uuid, char *const *stripped)
{
        _cleanup_strv_ char **done = NULL;
        _cleanup_free_ char *err = NULL;
        int r = virt_fixup_persistent(w->conn, uuid, stripped, &done, &err);
        if (r < 0) {
                l->failed = true;
                say(l, "could not fix the persistent definition (%s)", err ? err : strerror(-r));
                return false;
        }
        if (r > 0) {
                _cleanup_free_ char *list = strv_join(done, ", ");
                say(l, "removed the stripped config-drive source from the persistent definition (%s)", list ? list : "?");
        } else if (strv_length(stripped) > 0)
                say(l, "persistent definition needs no change");
        return true;
}

/* In process, unlike the cleanups (the rule is in dispatch.h): a commit
 * only drops the journal and stale records in the state directory, which
 * this sandbox may write, and must not wait; a migkit-cleanup holding the
 * guest's lock gets it as a job instead. */
static bool commit(struct watch *w, struct line *l, const char *uuid)
{
        struct cleanup_opts o = { .lock_timeout_ms = COMMIT_LOCK_MS };
        int r = cleanup_commit(w->cfg, uuid, &o);
        if (r == CLEANUP_DONE)
                say(l, "committed");
        else if (r == CLEANUP_NOTHING)
                say(l, "nothing to commit");
        else if (r == -EAGAIN && dispatch_cleanup(w->cfg, "commit", uuid) == 0)
                say(l, "started cleanup commit (a migkit-cleanup of the guest holds its lock)");
        else {
                l->failed = true;
                say(l, "could not commit (%s)", r < 0 ? strerror(-r) : "refused");
                return false;
        }
        return true;
}

/* The job could not be started: a pending item says so and what to run
 * (nothing was removed). */
static void not_started(struct watch *w, struct line *l, const char *action, const char *uuid, const char *name)
{
        l->failed = true;
        say(l, "could not start cleanup %s (run `migkit-cleanup %s %s`)", action, action, uuid);
        _cleanup_free_ char *why = NULL;
        if (asprintf(&why, "migkit-watch could not start migkit-cleanup %s (see its log); nothing was removed: run "
                     "`migkit-cleanup %s %s`", action, action, uuid) < 0)
                return;
        char *reasons[] = { why, NULL };
        if (pending_record(w->cfg->state_dir, uuid, action, name, reasons) == 0)
                say(l, "recorded pending %s", action);
}

static void prove_and_run(struct watch *w, struct line *l, const char *uuid, const char *name, int kind,
                          const char *detail, bool run, const char *action)
{
        struct proof p = { .uuid = (char *)uuid, .name = (char *)name, .kind = kind, .by = (char *)"watch",
                           .detail = (char *)detail };
        bool recorded;
        int r = dispatch_handover(w->cfg, &p, run ? action : NULL, &recorded);
        if (!recorded) {
                l->failed = true;
                say(l, "could not record the proof in %s/proof (%s); nothing started", w->cfg->state_dir, strerror(-r));
                return;
        }
        if (kind == PROOF_MIGRATED)
                say(l, "recorded proof");
        else
                say(l, "recorded proof %s", proof_kind_to_string(kind));
        if (!run)
                return;
        if (r == 0)
                say(l, "started cleanup %s", action);
        else
                not_started(w, l, action, uuid, name);
}

/* Records the pending item of uuid and action, its reason the text of
 * pending (watch_pending_text); done ends the line's "recorded pending ...". */
static void record_pending(struct watch *w, struct line *l, const char *uuid, const char *name, int pending,
                           const char *action, const char *done)
{
        _cleanup_free_ char *text = watch_pending_text(pending, uuid);
        char *reasons[] = { text, NULL };
        int r = text ? pending_record(w->cfg->state_dir, uuid, action, name, reasons) : -ENOMEM;
        if (r < 0) {
                l->failed = true;
                say(l, "could not record the pending %s (%s)", streq(action, "source") ? "source cleanup" : action,
                    strerror(-r));
        } else
                say(l, "recorded pending %s", done);
}

void watch_act(struct watch *w, const char *uuid, const char *name, const char *what, const struct watch_decision *d,
                const struct journal *j)
{
        struct line l = { .len = 0 };
        unsigned a = d->actions;
        bool fixed = true;

        if (!name || !*name)
                name = j->name ? j->name : NULL;
        if (a & WATCH_MARK_POSTCOPY)
                mark(w, &l, uuid, JOURNAL_POSTCOPY, &w->postcopy, "post-copy", true);
        if (a & WATCH_MARK_ARRIVED)
                mark(w, &l, uuid, JOURNAL_ARRIVED, &w->arrived, "the arrival", false); /* "committed" says it */
        if (a & WATCH_FIXUP)
                fixed = fixup(w, &l, uuid, j->stripped);
        if ((a & WATCH_COMMIT) && !fixed)
                say(&l, "not committed: the journal keeps what to fix; trying again in %d s", RETRY_MS / 1000);
        else if ((a & WATCH_COMMIT) && !commit(w, &l, uuid))
                fixed = false;
        if (!fixed)
                arm(w->retry_timer, RETRY_MS);
        if (a & WATCH_PROOF_MIGRATED) {
                char detail[96];
                snprintf(detail, sizeof(detail), "event %s", what);
                prove_and_run(w, &l, uuid, name, PROOF_MIGRATED, detail, a & WATCH_RUN_SOURCE, "source");
        }
        if ((a & WATCH_RUN_SOURCE) && !(a & WATCH_PROOF_MIGRATED)) {
                /* a proof already on record: the job re-checks everything */
                if (dispatch_cleanup(w->cfg, "source", uuid) == 0)
                        say(&l, "started cleanup source");
                else
                        not_started(w, &l, "source", uuid, name);
        }
        if (a & WATCH_PROOF_FAILED) {
                char detail[192];
                snprintf(detail, sizeof(detail), "event %s: %s", what, d->why ? d->why : "");
                prove_and_run(w, &l, uuid, name, PROOF_INCOMING_FAILED, detail, a & WATCH_RUN_ROLLBACK, "rollback");
        }
        if (a & WATCH_PENDING)
                record_pending(w, &l, uuid, name, d->pending, "rollback", "rollback (see migkit-cleanup status)");
        if (a & WATCH_PENDING_SOURCE)
                record_pending(w, &l, uuid, name, d->pending, "source",
                               "source cleanup, nothing removed (see migkit status)");
        if (l.len == 0)
                say(&l, "nothing to do");
        (void)hostmark_touch_here(w->cfg); /* this host uses its instances path (written when stale) */
        log_internal(l.failed ? LOG_WARNING : LOG_INFO, 0, "domain %s (%s): %s: %s%s%s", name ? name : "-", uuid, what, l.s,
                     d->why ? "; " : "", d->why ? d->why : "");
        w->n_decisions++;
}

void watch_gather(struct watch *w, const char *uuid, struct journal *j, struct watch_facts *f)
{
        struct proof p;
        memset(f, 0, sizeof(*f));
        int r = journal_load(w->cfg->state_dir, uuid, j);
        if (r == 0) {
                f->journal = true;
                f->journal_started = j->started;
                f->postcopy = j->postcopy > 0;
                f->arrived = j->arrived > 0;
        } else if (r != -ENOENT) {
                /* There is something, but not what it says: never a proof of
                 * failure (no start time), and nothing to fix. */
                log_warning_errno(r, "uuid %s: cannot read the journal in %s/journal: %m", uuid, w->cfg->state_dir);
                f->journal = true;
        }
        f->arrived |= strv_contains(w->arrived, uuid);
        f->postcopy |= strv_contains(w->postcopy, uuid);
        f->incoming_seen = strv_contains(w->incoming, uuid);
        f->departure_seen = strv_contains(w->gone_seen, uuid);
        if (proof_load(w->cfg->state_dir, uuid, &p) == 0) {
                f->failed_proof = p.kind == PROOF_INCOMING_FAILED;
                f->migrated_proof = p.kind == PROOF_MIGRATED;
                proof_free(&p);
        }
        f->pending = pending_exists(w->cfg->state_dir, uuid, "rollback");
        f->pending_source = pending_exists(w->cfg->state_dir, uuid, "source");
        f->connected_since = w->connected_since;
}
