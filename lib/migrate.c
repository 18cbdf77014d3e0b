/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* `migkit migrate`: the job thread, the monitor and finish; everything
 * before the job starts is in migsetup.c, what both share in
 * migrate-priv.h. */
#include "migrate-priv.h"

#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <signal.h>
#include <libvirt/virterror.h>

#include "limit.h"
#include "progress.h"
#include "util.h"
#include "virt.h"

static volatile sig_atomic_t abort_flag;

void migrate_request_abort(void) { abort_flag = 1; }
bool migrate_abort_requested(void) { return abort_flag != 0; }

int migrate_exit_code(int status)
{
        switch (status) {
        case MIGRATE_OK: return MIGKIT_EXIT_OK;
        case MIGRATE_REFUSED: return MIGKIT_EXIT_REFUSED;
        case MIGRATE_ABORTED: return MIGKIT_EXIT_ABORTED;
        default: return MIGKIT_EXIT_FAILED;
        }
}

static const char *status_name(int status)
{
        switch (status) {
        case MIGRATE_OK: return "ok";
        case MIGRATE_REFUSED: return "refused";
        case MIGRATE_ABORTED: return "aborted";
        case MIGRATE_ERROR: return "error";
        default: return "failed";
        }
}

/* ------------------------------------------------------------ the job thread */

static void *job_main(void *arg)
{
        struct job *j = arg;
        j->rc = virDomainMigrateToURI3(j->dom, j->duri, j->params, (unsigned)j->nparams, (unsigned)j->flags);
        if (j->rc < 0)
                j->err = strdup(virt_last_error());
        char c = 'x';
        (void)!write(j->fd, &c, 1);
        return NULL;
}

/* ------------------------------------------------------------ the run */

int set_result(struct migrate_result *res, int status, const char *fmt, ...)
{
        va_list ap;
        res->status = status;
        free(res->error);
        va_start(ap, fmt);
        if (vasprintf(&res->error, fmt, ap) < 0)
                res->error = NULL;
        va_end(ap);
        return 0;
}

static void run_deregister(struct run *r)
{
        if (r->comp_id >= 0)
                virConnectDomainEventDeregisterAny(r->src, r->comp_id); /* frees comp */
        if (r->iter_id >= 0)
                virConnectDomainEventDeregisterAny(r->src, r->iter_id); /* frees iter */
        r->comp_id = r->iter_id = -1;
        r->comp = NULL;
        r->iter = NULL;
}

static void run_done(struct run *r)
{
        if (r->running) {
                pthread_join(r->th, NULL);
                r->running = false;
        }
        free(r->job.err);
        run_deregister(r);
        for (int i = 0; i < 2; i++)
                if (r->pfd[i] >= 0)
                        close(r->pfd[i]);
        virTypedParamsFree(r->params, r->nparams);
        mig_uploads_free(&r->ups);
        block_plan_free(&r->plan);
        block_prep_free(&r->prep);
        limit_outgoing_release(&r->slot);
        if (r->out.rec)
                fclose(r->out.rec);
        free(r->dst_err);
        virt_dom_freep(&r->dom);
        virt_conn_closep(&r->dst);
        virt_conn_closep(&r->src);
}

/* Starts the job thread (again, with extra flags, to resume a post-copy). */
static int start_job(struct run *r, unsigned long extra_flags)
{
        sigset_t block, old;
        free(r->job.err);
        r->job = (struct job) { .dom = r->dom, .duri = r->res->dest_uri, .params = r->params, .nparams = r->nparams,
                                .flags = r->flags | extra_flags, .fd = r->pfd[1] };
        sigemptyset(&block);
        sigaddset(&block, SIGINT);
        sigaddset(&block, SIGTERM);
        pthread_sigmask(SIG_BLOCK, &block, &old);
        int q = -pthread_create(&r->th, NULL, job_main, &r->job);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        r->running = q == 0;
        return q;
}

/* ------------------------------------------------------------ the dirty rate, early */

/* QEMU's page-sampling measure of the guest's dirty rate (libvirt >= 7.2,
 * QEMU >= 5.2): started as soon as the guest is found when post-copy is
 * asked for, it runs while the rest is set up (preflight, the flags, the
 * config drive), and is read right before the job starts, waiting for what
 * is left of its period, when the job still may switch to post-copy. Not
 * during the job: there, on libvirt 9.0, reading it blocked the caller for
 * 5 s at the start of the first pass. Only a switch to post-copy uses it;
 * [migrate] sample-dirty-rate = no leaves it out. */
#define DIRTY_SAMPLE_S 1
#define DIRTY_SAMPLE_WAIT_MS (DIRTY_SAMPLE_S * 1000 + 1000)

void migrate_dirty_sample_start(struct run *r)
{
        r->dirty_msg[0] = 0;
        if (!(r->o->postcopy < 0 ? r->cfg->migrate_postcopy : r->o->postcopy) || !r->cfg->migrate_sample_dirty)
                return;
#if LIBVIR_CHECK_VERSION(7, 2, 0)
        if (virDomainStartDirtyRateCalc(r->dom, DIRTY_SAMPLE_S, 0) == 0) { /* 0: page sampling */
                r->dirty_state = DIRTY_SAMPLE_MEASURING;
                r->dirty_started = now_ms();
                return;
        }
        snprintf(r->dirty_msg, sizeof(r->dirty_msg), "QEMU cannot sample %s's dirty rate here (libvirt: %s): the policy "
                 "decides at the end of the first memory pass", r->res->name, virt_last_error());
#else
        snprintf(r->dirty_msg, sizeof(r->dirty_msg), "migkit was built without libvirt's dirty-rate sampling (libvirt < 7.2): "
                 "the policy decides at the end of the first memory pass");
#endif
}

#if LIBVIR_CHECK_VERSION(7, 2, 0)
/* One look at QEMU's result: 1 known, 0 still measuring, -1 error (said in
 * r->dirty_msg). */
static int dirty_sample_query(struct run *r)
{
        virDomainPtr doms[] = { r->dom, NULL };
        virDomainStatsRecordPtr *st = NULL;
        int status = -1, period = DIRTY_SAMPLE_S;
        long long mib = -1;
        int n = virDomainListGetStats(doms, VIR_DOMAIN_STATS_DIRTYRATE, &st, 0);
        if (n > 0) {
                (void)virTypedParamsGetInt(st[0]->params, st[0]->nparams, "dirtyrate.calc_status", &status);
                (void)virTypedParamsGetInt(st[0]->params, st[0]->nparams, "dirtyrate.calc_period", &period);
                (void)virTypedParamsGetLLong(st[0]->params, st[0]->nparams, "dirtyrate.megabytes_per_second", &mib);
        }
        virDomainStatsRecordListFree(st);
        if (n < 0) {
                snprintf(r->dirty_msg, sizeof(r->dirty_msg), "cannot read QEMU's sample of %s's dirty rate (libvirt: %s): "
                         "the policy decides at the end of the first memory pass", r->res->name, virt_last_error());
                return -1;
        }
        if (status != VIR_DOMAIN_DIRTYRATE_MEASURED || mib < 0)
                return 0;
        r->sampled_bps = (unsigned long long)mib * 1024 * 1024;
        r->sampled_ms = period > 0 ? (unsigned long long)period * 1000 : DIRTY_SAMPLE_S * 1000;
        snprintf(r->dirty_msg, sizeof(r->dirty_msg), "QEMU's sampling over %llu s before the job: %s dirties %lld MiB/s",
                 r->sampled_ms / 1000, r->res->name, mib);
        return 1;
}
#endif

/* Right before the job: the result, waiting for it up to DIRTY_SAMPLE_WAIT_MS
 * after the start (an abort request ends the wait). */
static void dirty_sample_wait(struct run *r)
{
        if (!(r->flags & VIR_MIGRATE_POSTCOPY)) { /* dropped (parallel connections): not used */
                r->dirty_state = DIRTY_SAMPLE_OFF;
                r->dirty_msg[0] = 0;
                return;
        }
#if LIBVIR_CHECK_VERSION(7, 2, 0)
        while (r->dirty_state == DIRTY_SAMPLE_MEASURING) {
                int q = dirty_sample_query(r);
                if (q != 0) {
                        r->dirty_state = q > 0 ? DIRTY_SAMPLE_KNOWN : DIRTY_SAMPLE_OFF;
                        return;
                }
                if (now_ms() - r->dirty_started >= DIRTY_SAMPLE_WAIT_MS || abort_flag) {
                        r->dirty_state = DIRTY_SAMPLE_OFF;
                        snprintf(r->dirty_msg, sizeof(r->dirty_msg), "QEMU's sample of %s's dirty rate was not ready %u ms "
                                 "after it started: the policy decides at the end of the first memory pass", r->res->name,
                                 DIRTY_SAMPLE_WAIT_MS);
                        return;
                }
                usleep(50 * 1000);
        }
#else
        (void)r;
#endif
}

static int run_start(struct run *r, bool events)
{
        if (pipe2(r->pfd, O_CLOEXEC | O_NONBLOCK) < 0)
                return -errno;
        if (events) {
                r->comp_id = mig_completed_watch(r->src, r->dom, &r->comp);
                r->iter_id = mig_iteration_watch(r->src, r->dom, r->pfd[1], &r->iter);
        }
        dirty_sample_wait(r);
        int q = start_job(r, 0);
        if (q < 0)
                return q;
        r->t0 = now_ms();

        char text[512];
        unsigned long f = r->flags;
        snprintf(text, sizeof(text), "migrating to %s (%s%s%s%s%s%s%s)%s%s", r->res->dest_uri,
                 f & VIR_MIGRATE_POSTCOPY ? "post-copy allowed" : "pre-copy",
                 f & MIGKIT_MIGRATE_POSTCOPY_PREEMPT ? " with preempt" : "", f & VIR_MIGRATE_AUTO_CONVERGE ? ", auto-converge" : "",
                 f & VIR_MIGRATE_TLS ? ", TLS" : "", f & VIR_MIGRATE_NON_SHARED_DISK ? ", copying disks" : "",
                 f & VIR_MIGRATE_PARALLEL ? ", parallel connections" : "", f & VIR_MIGRATE_COMPRESSED ? ", compressed" : "",
                 r->res->record ? "; flight record: " : "", r->res->record ? r->res->record : "");
        migout_event(&r->out, "start", 0, NULL, 0, text);
        if (r->dirty_msg[0])
                migout_event(&r->out, "dirtyrate", 0, r->dirty_state == DIRTY_SAMPLE_KNOWN ? "sampled_dirty_bps" : NULL,
                             r->sampled_bps, r->dirty_msg);
        return 0;
}

/* ------------------------------------------------------------ the monitor */

/* An abort can be refused while libvirt is still setting the job up (no
 * job yet, or a phase that cannot be cancelled): ask again every second
 * until it is taken. */
static void monitor_abort(struct run *r, unsigned long long t)
{
        if (!abort_flag || r->aborted_by_us || t - r->last_abort_try < 1000)
                return;
        bool first = !r->abort_at;
        r->last_abort_try = t;
        if (first)
                r->abort_at = t;
        if (r->in_postcopy) {
                if (first)
                        migout_event(&r->out, "abort", t - r->t0, NULL, 0,
                                     "cannot abort: the guest already runs on the destination (post-copy); waiting for the end");
        } else if (virDomainAbortJob(r->dom) == 0) {
                r->aborted_by_us = true;
                migout_event(&r->out, "abort", t - r->t0, NULL, 0, "aborting the migration on request");
        } else if (first) {
                char m[512];
                snprintf(m, sizeof(m), "could not abort the job yet (%s); retrying every second", virt_last_error());
                migout_event(&r->out, "abort", t - r->t0, NULL, 0, m);
        }
}

/* Says what post-copy risks, once, right before the switch. */
static void warn_postcopy(struct run *r, unsigned long long elapsed_ms)
{
        char m[512], retry[96];
        if (r->warned_postcopy)
                return;
        r->warned_postcopy = true;
        if (r->cfg->migrate_postcopy_recover_ms)
                snprintf(retry, sizeof(retry), "migkit tries to resume it for %u s", r->cfg->migrate_postcopy_recover_ms / 1000);
        else
                snprintf(retry, sizeof(retry), "migkit does not try to resume it ([migrate] postcopy-recover = 0s)");
        snprintf(m, sizeof(m), "post-copy: from now on the guest runs on the destination while part of its memory is still "
                               "here; if the connection breaks it stops until the post-copy is resumed (%s), "
                               "and if either host fails the guest is lost", retry);
        migout_event(&r->out, "postcopy", elapsed_ms, NULL, 0, m);
}

static void apply_action(struct run *r, const struct mig_sample *s, const struct converge_action *a)
{
        char m[1024], why[768];
        bool ok = true;

        if (a->kind == CONVERGE_NONE)
                return;
        progress_explain(why, sizeof(why), a);
        switch (a->kind) {
        case CONVERGE_SET_DOWNTIME:
                ok = virDomainMigrateSetMaxDowntime(r->dom, a->value, 0) == 0;
                break;
        case CONVERGE_POSTCOPY:
                warn_postcopy(r, s->elapsed_ms);
                ok = virDomainMigrateStartPostCopy(r->dom, 0) == 0;
                if (ok) {
                        r->in_postcopy = r->res->postcopy = true;
                        r->postcopy_ms = s->elapsed_ms;
                }
                break;
        case CONVERGE_ABORT:
                r->res->policy_abort = true;
                ok = virDomainAbortJob(r->dom) == 0;
                if (ok)
                        snprintf(why, sizeof(why), "aborting: %s after %u s", a->reason, r->cv.p.completion_timeout_ms / 1000);
                break;
        }
        if (ok)
                snprintf(m, sizeof(m), "%s", why);
        else
                snprintf(m, sizeof(m), "%s; could not %s: %s", why,
                         a->kind == CONVERGE_SET_DOWNTIME ? "set the allowed downtime" :
                         a->kind == CONVERGE_POSTCOPY ? "switch to post-copy" : "abort", virt_last_error());
        migout_decision(&r->out, s->elapsed_ms, a, ok, m);
}

static void monitor_sample(struct run *r)
{
        int type = VIR_DOMAIN_JOB_NONE, n = 0;
        virTypedParameterPtr jp = NULL;
        struct mig_sample s;

        if (virDomainGetJobStats(r->dom, &type, &jp, &n, 0) < 0 || type == VIR_DOMAIN_JOB_NONE) {
                virTypedParamsFree(jp, n);
                return;
        }
        migrate_sample_from_params(jp, n, &s);
        virTypedParamsFree(jp, n);
        if (s.data_total == 0) /* still setting up, or finishing: no numbers yet */
                return;
        s.postcopy |= r->in_postcopy;
        s.downtime_ms = r->cv.downtime_ms;
        if (r->dirty_state == DIRTY_SAMPLE_KNOWN) {
                s.dirty_sampled = true;
                s.sampled_dirty_bps = r->sampled_bps;
                s.sampled_ms = r->sampled_ms;
        }
        r->last = s;
        r->last_at = now_ms();

        struct converge_action a;
        converge_next(&r->cv, &s, &a);
        s.downtime_ms = r->cv.downtime_ms;
        migout_progress(&r->out, &s, r->in_postcopy ? "post-copy" : r->cv.stalled ? "stalled" : NULL);
        apply_action(r, &s, &a);
}

static void monitor_iteration(struct run *r)
{
        unsigned long long it = r->iter ? mig_iteration_last(r->iter) : 0;
        if (it <= r->seen_iteration)
                return;
        r->seen_iteration = it;
        char m[64];
        snprintf(m, sizeof(m), "memory pass %llu begins", it);
        /* on the job's clock: the last sample's, plus the time since it */
        unsigned long long at = r->last_at ? r->last.elapsed_ms + (now_ms() - r->last_at) : 0;
        if (r->out.rec)
                event_json(r->out.rec, "iteration", r->out.domain, at, "iteration", it, m);
}

/* An attempt to resume the post-copy that is stuck, outlived the recovery
 * time, or that the operator wants stopped is paused again (the guest stays
 * paused, as before the attempt), so that the job call returns. Tried every
 * second until libvirt takes it (the attempt may still be connecting). */
static void monitor_resume(struct run *r, unsigned long long t)
{
        if (r->resume_paused || t - r->resume_pause_try < 1000)
                return;
        enum resume_verdict v = resume_watch_next(&r->rw, t, r->last.data_processed);
        if (v == RESUME_GOES_ON && !abort_flag)
                return;
        bool first = !r->resume_pause_try;
        char why[256], m[512];
        r->resume_pause_try = t;
        if (abort_flag)
                snprintf(why, sizeof(why), "stopping the recovery on request: pausing attempt %d to resume the post-copy",
                         r->resume_tries);
        else if (v == RESUME_STUCK)
                snprintf(why, sizeof(why), "attempt %d to resume the post-copy sent nothing for %u s: pausing it to try again",
                         r->resume_tries, r->rw.stall_ms / 1000);
        else
                snprintf(why, sizeof(why), "the post-copy was not resumed within %u s ([migrate] postcopy-recover): pausing "
                         "attempt %d, still running", r->cfg->migrate_postcopy_recover_ms / 1000, r->resume_tries);
        if (virDomainAbortJobFlags(r->dom, VIR_DOMAIN_ABORT_JOB_POSTCOPY) == 0)
                r->resume_paused = true;
        else if (first)
                snprintf(m, sizeof(m), "%s; could not pause it yet (%s), retrying every second", why, virt_last_error());
        if (r->resume_paused || first)
                migout_event(&r->out, "recover", t - r->t0, NULL, 0, r->resume_paused ? why : m);
}

/* Until the job thread is done: abort requests, a sample every 500 ms, and
 * at the end of every memory pass (libvirt's iteration event) one every
 * 50 ms until the statistics show the new pass (they lag the event by a few
 * hundred milliseconds), so the policy decides as soon as the pass ended. */
static void run_monitor(struct run *r)
{
        unsigned long long chase_until = 0;
        for (;;) {
                struct pollfd p = { .fd = r->pfd[0], .events = POLLIN };
                bool done = false, pass_ended = false;
                if (poll(&p, 1, chase_until ? 50 : 200) > 0) {
                        char buf[64];
                        ssize_t k = read(r->pfd[0], buf, sizeof(buf));
                        for (ssize_t i = 0; i < k; i++) {
                                done |= buf[i] == 'x';
                                pass_ended |= buf[i] == 'i';
                        }
                }
                if (done)
                        break;
                unsigned long long t = now_ms();
                if (r->resuming) /* an abort request pauses the attempt */
                        monitor_resume(r, t);
                else
                        monitor_abort(r, t);
                if (pass_ended) {
                        monitor_iteration(r);
                        if (r->seen_iteration >= 2)
                                chase_until = t + 2000;
                }
                if (chase_until && (r->last.iteration >= r->seen_iteration || t >= chase_until))
                        chase_until = 0;
                if (!chase_until && !pass_ended && t - r->last_stats < 500)
                        continue;
                r->last_stats = t;
                monitor_sample(r);
        }
        pthread_join(r->th, NULL);
        r->running = false;
}

/* ------------------------------------------------------------ finish */

/* True when dom stopped in a broken post-copy that can be resumed. */
static bool postcopy_broken(virDomainPtr dom)
{
        int st = -1, reason = -1;
        if (virDomainGetState(dom, &st, &reason, 0) < 0)
                return false;
        return (st == VIR_DOMAIN_PAUSED && reason == VIR_DOMAIN_PAUSED_POSTCOPY_FAILED) ||
               (st == VIR_DOMAIN_RUNNING && reason == VIR_DOMAIN_RUNNING_POSTCOPY_FAILED);
}

/* The job failed after the switch to post-copy: the guest's memory is
 * split between the hosts. Resumes it (VIR_MIGRATE_POSTCOPY_RESUME) every
 * few seconds for up to [migrate] postcopy-recover, or until an abort
 * request; an attempt paused by monitor_resume because it was stuck is
 * followed by the next one at once. Returns true once a resumed job
 * succeeded. */
static bool run_recover(struct run *r)
{
        unsigned long long end = now_ms() + r->cfg->migrate_postcopy_recover_ms, elapsed = now_ms() - r->t0;
        char m[1024];
        int tries = 0;

        if (!postcopy_broken(r->dom))
                return false;
        snprintf(m, sizeof(m), "the post-copy broke after %.1f s (%s): the guest is paused, its memory split between both hosts; "
                               "do not destroy it on either. Resuming the post-copy (POSTCOPY_RESUME) every 5 s for up to %u s",
                 elapsed / 1000.0, r->job.err ? r->job.err : "?", r->cfg->migrate_postcopy_recover_ms / 1000);
        migout_event(&r->out, "recover", elapsed, NULL, 0, m);
        while (now_ms() < end && !abort_flag) {
                r->resume_tries = ++tries;
                r->resume_paused = false;
                r->resume_pause_try = 0;
                resume_watch_start(&r->rw, now_ms(), end, r->cv.p.stall_ms, r->last.data_processed);
                r->resuming = true;
                int q = start_job(r, VIR_MIGRATE_POSTCOPY | VIR_MIGRATE_POSTCOPY_RESUME);
                if (q == 0)
                        run_monitor(r);
                r->resuming = false;
                if (q < 0)
                        return false;
                if (r->job.rc == 0) {
                        snprintf(m, sizeof(m), "the post-copy was resumed (attempt %d) and finished", tries);
                        migout_event(&r->out, "recover", now_ms() - r->t0, NULL, 0, m);
                        r->res->recovered = true;
                        return true;
                }
                if (r->resume_paused)
                        continue;
                if (tries == 1 || tries % 12 == 0) {
                        snprintf(m, sizeof(m), "resuming the post-copy failed (attempt %d): %s; trying again", tries,
                                 r->job.err ? r->job.err : "?");
                        migout_event(&r->out, "recover", now_ms() - r->t0, NULL, 0, m);
                }
                for (int i = 0; i < 25 && !abort_flag; i++)
                        usleep(200 * 1000);
        }
        return false;
}

static int finish_failed(struct run *r)
{
        struct migrate_result *res = r->res;
        const char *err = r->job.err ? r->job.err : "?";
        char m[2048];

        res->after = mig_where_after_failure(r->src, r->dst, res->uuid);
        if (r->in_postcopy && postcopy_broken(r->dom))
                set_result(res, MIGRATE_FAILED, "the post-copy broke and was not resumed (libvirt: %s): the guest is paused with "
                           "its memory split between both hosts; resume it once the network works: virsh migrate --live --p2p "
                           "--postcopy --postcopy-resume %s %s (do not destroy it on either host)", err, res->name, res->dest_uri);
        else if (r->in_postcopy)
                set_result(res, MIGRATE_FAILED, "failed during post-copy (libvirt: %s): the guest cannot be resumed; check both hosts", err);
        else {
                mig_undo_uploads(r->dst, res->uuid, &r->ups, &r->out);
                undo_storage(r);
                if (r->aborted_by_us)
                        set_result(res, MIGRATE_ABORTED, "aborted on request after %.1f s (%s)", res->elapsed_ms / 1000.0, err);
                else if (res->policy_abort)
                        set_result(res, MIGRATE_FAILED, "aborted by the convergence policy: not finished within the completion "
                                   "timeout (%u s); libvirt: %s", r->cv.p.completion_timeout_ms / 1000, err);
                else
                        set_result(res, MIGRATE_FAILED, "libvirt: %s", r->job.err ? r->job.err : "unknown error");
        }
        snprintf(m, sizeof(m), "%s: %s", res->error ? res->error : "failed", res->after ? res->after : "");
        migout_result(&r->out, res->elapsed_ms, migrate_exit_code(res->status), status_name(res->status), res->postcopy, -1, -1, m);
        return 0;
}

static int finish_ok(struct run *r, long long downtime)
{
        struct migrate_result *res = r->res;
        _cleanup_free_ char *state = NULL;
        char m[1024], dt[32] = "unknown";

        /* success according to libvirt: see it running there before
         * anything is removed here */
        if (mig_verify_running(r->dst, res->uuid, 10000, &state) <= 0) {
                set_result(res, MIGRATE_FAILED, "libvirt reported success but %s (%s) is not running on %s: %s; the source cleanup was NOT started",
                           res->name, res->uuid, res->dest_uri, state ? state : "?");
                migout_result(&r->out, res->elapsed_ms, MIGKIT_EXIT_FAILED, "failed", res->postcopy, -1, res->job_elapsed_ms, res->error);
                return 0;
        }
        res->verified = true;
        res->status = MIGRATE_OK;
        res->downtime_ms = downtime;
        if (res->downtime_ms < 0) { /* no event: the destination's view (none after post-copy) */
                _cleanup_(virt_dom_freep) virDomainPtr dd = virDomainLookupByUUIDString(r->dst, res->uuid);
                int type = 0, n = 0;
                virTypedParameterPtr jp = NULL;
                unsigned long long v;
                if (dd && virDomainGetJobStats(dd, &type, &jp, &n, VIR_DOMAIN_JOB_STATS_COMPLETED) == 0 &&
                    virTypedParamsGetULLong(jp, n, VIR_DOMAIN_JOB_DOWNTIME, &v) == 1)
                        res->downtime_ms = (long long)v;
                virTypedParamsFree(jp, n);
        }
        if (!r->o->no_cleanup && !r->o->keep_source)
                res->cleanup_started = mig_handover_cleanup(r->cfg, res) == 0;

        if (res->downtime_ms >= 0)
                snprintf(dt, sizeof(dt), "%lld ms", res->downtime_ms);
        snprintf(m, sizeof(m), "migrated to %s in %.1f s%s, downtime %s; running there%s", res->dest_uri, res->elapsed_ms / 1000.0,
                 res->postcopy ? (res->recovered ? " (post-copy, resumed after a break)" : " (post-copy)") : "", dt,
                 res->cleanup_started ? "; source cleanup handed to migkit-cleanup" : "");
        migout_result(&r->out, res->elapsed_ms, MIGKIT_EXIT_OK, "ok", res->postcopy, res->downtime_ms, res->job_elapsed_ms, m);
        return 0;
}

static int run_finish(struct run *r)
{
        struct migrate_result *res = r->res;
        long long downtime = -1;

        res->elapsed_ms = now_ms() - r->t0;
        if (r->abort_at)
                res->abort_latency_ms = (long long)(now_ms() - r->abort_at);
        if (r->job.rc < 0 && r->in_postcopy && r->cfg->migrate_postcopy_recover_ms && run_recover(r))
                res->elapsed_ms = now_ms() - r->t0;
        if (r->comp && r->job.rc == 0)
                downtime = mig_completed_wait(r->comp, 2000, &res->job_elapsed_ms);
        run_deregister(r);
        return r->job.rc < 0 ? finish_failed(r) : finish_ok(r, downtime);
}

int migrate_run(const struct mk_config *cfg, const struct migrate_opts *o, struct migrate_result *res)
{
        _cleanup_(run_done) struct run r = {
                .cfg = cfg, .o = o, .res = res, .slot = -1, .pfd = { -1, -1 }, .comp_id = -1, .iter_id = -1,
                .out = { .f = o->out ? o->out : stdout, .mode = o->output, .domain = o->domain,
                         .interval_ms = o->interval_ms ? o->interval_ms : cfg->migrate_progress_interval_ms },
        };
        int q;

        memset(res, 0, sizeof(*res));
        res->downtime_ms = res->abort_latency_ms = res->job_elapsed_ms = -1;
        if (r.out.mode == MIGRATE_OUT_AUTO && !isatty(fileno(r.out.f)))
                r.out.mode = MIGRATE_OUT_LINES;
        virt_quiet_errors();
        bool events = virt_event_thread_start() == 0; /* before the connections */

        q = run_setup(&r);
        if (q != 0) {
                if (r.dst)
                        undo_storage(&r);
                return q < 0 ? q : 0;
        }
        q = run_start(&r, events);
        if (q < 0) {
                undo_storage(&r);
                return q;
        }
        run_monitor(&r);
        return run_finish(&r);
}

void migrate_result_free(struct migrate_result *r)
{
        free(r->name);
        free(r->uuid);
        free(r->dest_uri);
        free(r->error);
        free(r->after);
        free(r->record);
        memset(r, 0, sizeof(*r));
}
