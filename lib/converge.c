/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "converge.h"

#include <string.h>

/* What QEMU allows when nobody sets the downtime: the model's threshold then. */
#define QEMU_DEFAULT_DOWNTIME_MS 300
/* More passes than this count as "never". */
#define MAX_PASSES 1000

void converge_init(struct converge *c, const struct converge_policy *p)
{
        memset(c, 0, sizeof(*c));
        c->p = *p;
        if (c->p.downtime_steps == 0)
                c->p.downtime_steps = 1;
        c->pass = 1;
        c->window_pass = 1;
}

unsigned converge_downtime_of_step(const struct converge_policy *p, unsigned i)
{
        unsigned steps = p->downtime_steps ? p->downtime_steps : 1;
        unsigned long long base = p->downtime_max_ms / steps;
        if (base == 0)
                base = 1;
        if (i >= steps)
                return p->downtime_max_ms;
        return (unsigned)(base + (p->downtime_max_ms - base) * i / steps);
}

const char *converge_action_to_string(int kind)
{
        switch (kind) {
        case CONVERGE_NONE: return "none";
        case CONVERGE_SET_DOWNTIME: return "downtime";
        case CONVERGE_POSTCOPY: return "postcopy";
        case CONVERGE_ABORT: return "abort";
        case CONVERGE_KEEP: return "keep";
        default: return "unknown";
        }
}

/* ------------------------------------------------------------ the model */

/* Pre-copy from `remaining` bytes: the passes until what is left fits into
 * `fits` bytes, and their time in ms; *passes = MAX_PASSES if never. */
static double precopy_time(double remaining, double bps, double rho, double fits, unsigned *passes)
{
        double t = 0;
        unsigned n = 0;
        while (remaining > fits && n < MAX_PASSES) {
                t += remaining * 1000 / bps;
                remaining *= rho;
                n++;
        }
        *passes = n;
        return t;
}

void converge_predict(const struct converge_policy *p, unsigned long long elapsed_ms, unsigned long long iteration,
                      unsigned long long pass_ms, unsigned long long remaining, unsigned long long transfer_bps,
                      unsigned long long dirty_bps, struct converge_prediction *ret)
{
        memset(ret, 0, sizeof(*ret));
        ret->iteration = iteration;
        ret->pass_ms = pass_ms;
        ret->remaining = remaining;
        ret->transfer_bps = transfer_bps;
        ret->dirty_bps = dirty_bps;
        if (transfer_bps == 0)
                return;
        ret->valid = true;

        double B = (double)transfer_bps, R = (double)remaining, rho = (double)dirty_bps / B;
        unsigned dt_max = p->downtime_max_ms ? p->downtime_max_ms : QEMU_DEFAULT_DOWNTIME_MS;
        ret->ratio_pm = rho >= 1000 ? 1000000 : (unsigned)(rho * 1000 + 0.5);
        ret->postcopy_ms = (unsigned long long)(R * 1000 / B);
        if (R > B * dt_max / 1000 && rho >= 1)
                return; /* never: what is sent is dirtied again at least as fast */

        unsigned n;
        double fastest = precopy_time(R, B, rho, B * dt_max / 1000, &n);
        if (n >= MAX_PASSES)
                return;
        ret->passes = n;
        ret->precopy_ms = (unsigned long long)fastest;
        ret->converges = fastest <= (double)CONVERGE_PRECOPY_FACTOR * (double)ret->postcopy_ms &&
                         (!p->completion_timeout_ms || elapsed_ms + fastest <= p->completion_timeout_ms);
        if (!ret->converges)
                return;

        /* The least downtime that finishes in as few passes as the maximum
         * (no time lost) even if what is left is twice the model's: the rates
         * are QEMU's over whole passes and lag on short ones. Without
         * downtime management, QEMU's own. */
        ret->downtime_ms = dt_max;
        if (!p->downtime_max_ms)
                return;
        for (unsigned i = 0; i <= p->downtime_steps; i++) {
                unsigned dt = converge_downtime_of_step(p, i), k;
                (void)precopy_time(R, B, rho, B * dt / 2000, &k);
                if (k <= n) {
                        ret->downtime_ms = dt;
                        break;
                }
        }
}

/* ------------------------------------------------------------ the machine */

/* A new low must be this much (1/20) under the previous one to count as
 * progress: under a bandwidth cap data_remaining wanders around a level. */
static bool is_new_low(unsigned long long now, unsigned long long best)
{
        return now < best - best / 20;
}

static void set(struct converge_action *a, int kind, unsigned long long value, const char *reason)
{
        a->kind = kind;
        a->value = value;
        a->reason = reason;
}

static void track_stall(struct converge *c, const struct mig_sample *s)
{
        /* the first pass always makes progress, so only samples from the
         * second pass on count */
        if (!c->started) {
                c->started = true;
                c->best_remaining = s->data_remaining;
                c->best_ms = s->elapsed_ms;
        } else if (s->iteration < 2 || is_new_low(s->data_remaining, c->best_remaining)) {
                c->best_remaining = s->data_remaining;
                c->best_ms = s->elapsed_ms;
                c->stalled = false;
        }
        if (c->p.stall_ms && s->iteration >= 2 && s->elapsed_ms - c->best_ms >= c->p.stall_ms)
                c->stalled = true;
}

/* At the first sample of a new pass: measure the window that ended (the
 * pass, or the passes since the last window if they were short), predict,
 * decide. Returns true when it filled *a. */
static bool on_new_pass(struct converge *c, const struct mig_sample *s, struct converge_action *a)
{
        unsigned long long remaining = s->mem_remaining ? s->mem_remaining : s->data_remaining;
        unsigned long long processed = s->mem_processed ? s->mem_processed : s->data_processed;
        unsigned long long dt = s->elapsed_ms - c->pass_ms, bps = s->mem_bps, dirty = s->dirty_bps;

        if (c->pass > 1 && dt < CONVERGE_WINDOW_MS) {
                c->pass = s->iteration; /* too short to measure: the window grows */
                return false;
        }
        if (dt >= 200 && processed > c->pass_processed)
                bps = (processed - c->pass_processed) * 1000 / dt; /* the window's average, not the last 100 ms */
        if (!dirty && dt)
                dirty = remaining * 1000 / dt;
        if (c->pass == 1)
                dt = s->elapsed_ms; /* the pass as the operator saw it, setup included */
        unsigned long long first = c->window_pass;
        c->pass = s->iteration;
        c->window_pass = s->iteration;
        c->pass_ms = s->elapsed_ms;
        c->pass_processed = processed;
        if (c->postcopy_requested)
                return false;

        converge_predict(&c->p, s->elapsed_ms, s->iteration, dt, remaining, bps, dirty, &c->last);
        c->last.first_pass = first;
        if (!c->last.valid)
                return false;
        a->pred = c->last;
        if (c->last.converges) {
                if (c->p.downtime_max_ms && c->last.downtime_ms > c->downtime_ms)
                        set(a, CONVERGE_SET_DOWNTIME, c->last.downtime_ms, "pre-copy converges");
                else
                        set(a, CONVERGE_KEEP, 0, "pre-copy converges");
        } else if (c->p.postcopy) {
                c->postcopy_requested = true;
                set(a, CONVERGE_POSTCOPY, 0, "pre-copy predicted not to converge");
        } else if (c->p.downtime_max_ms && c->downtime_ms < c->p.downtime_max_ms) {
                c->step = c->p.downtime_steps + 1; /* no more steps: this is the last */
                set(a, CONVERGE_SET_DOWNTIME, c->p.downtime_max_ms,
                    c->p.auto_converge ? "auto-converge throttles the guest meanwhile" : "the job has no auto-converge");
        } else
                set(a, CONVERGE_KEEP, 0, "pre-copy predicted not to converge");
        if (a->kind == CONVERGE_SET_DOWNTIME)
                c->downtime_ms = (unsigned)a->value;
        return true;
}

/* During the first pass, once QEMU's sampled dirty rate is known and the
 * job has sent for a window: the model on what is left now. Only a switch
 * to post-copy is worth making this early; returns true when it filled *a
 * (the decision, made once). */
static bool on_sampled_rate(struct converge *c, const struct mig_sample *s, struct converge_action *a)
{
        unsigned long long remaining = s->mem_remaining ? s->mem_remaining : s->data_remaining;
        unsigned long long processed = s->mem_processed ? s->mem_processed : s->data_processed;
        unsigned long long dt = s->elapsed_ms - c->pass_ms;

        if (c->sampled_decided || !c->p.postcopy || c->postcopy_requested || !s->dirty_sampled || s->iteration > 1 ||
            c->pass_processed == 0 || dt < CONVERGE_WINDOW_MS || processed <= c->pass_processed)
                return false;
        c->sampled_decided = true;
        converge_predict(&c->p, s->elapsed_ms, 1, s->elapsed_ms, remaining, (processed - c->pass_processed) * 1000 / dt,
                         s->sampled_dirty_bps, &a->pred);
        if (!a->pred.valid) {
                memset(&a->pred, 0, sizeof(a->pred));
                return false;
        }
        a->pred.in_pass = true;
        a->pred.first_pass = 1;
        a->pred.sampled_ms = s->sampled_ms;
        /* Only "never" switches this early: the model's next pass would resend
         * all that is left now, while the real one resends what the guest
         * dirties meanwhile, at most its working set, so a slow convergence
         * predicted here may well be a quick one; the end of the pass
         * measures it. */
        if (a->pred.converges) {
                set(a, CONVERGE_KEEP, 0, "pre-copy converges");
        } else if (a->pred.precopy_ms == 0) {
                c->postcopy_requested = true;
                set(a, CONVERGE_POSTCOPY, 0, "pre-copy predicted not to converge");
        } else
                set(a, CONVERGE_KEEP, 0, "decided at the end of the pass");
        return true;
}

void converge_next(struct converge *c, const struct mig_sample *s, struct converge_action *a)
{
        memset(a, 0, sizeof(*a));
        if (c->aborted || s->postcopy)
                return;
        track_stall(c, s);
        /* The first pass is measured from the first byte sent: before it
         * libvirt sets the destination up, and that is no transfer rate. */
        if (c->pass == 1 && c->pass_processed == 0 && s->iteration <= 1) {
                c->pass_ms = s->elapsed_ms;
                c->pass_processed = s->mem_processed ? s->mem_processed : s->data_processed;
        }

        if (c->p.completion_timeout_ms && s->elapsed_ms >= c->p.completion_timeout_ms) {
                if (c->p.postcopy && !c->postcopy_requested) {
                        c->postcopy_requested = true;
                        set(a, CONVERGE_POSTCOPY, 0, "completion timeout reached");
                        return;
                }
                if (!c->postcopy_requested) {
                        c->aborted = true;
                        set(a, CONVERGE_ABORT, 0, "completion timeout reached");
                        return;
                }
        }

        if (s->iteration >= 2 && s->iteration > c->pass && on_new_pass(c, s, a))
                return;
        if (on_sampled_rate(c, s, a))
                return;

        if (c->stalled && c->p.postcopy && !c->postcopy_requested) {
                c->postcopy_requested = true;
                set(a, CONVERGE_POSTCOPY, 0, "no progress: data remaining stopped shrinking");
                return;
        }

        /* The first pass ends before anything is predicted, and QEMU decides
         * at that very sync whether the guest can stop: start where plain
         * libvirt does, at QEMU's default, or the maximum if that is lower. */
        if (c->p.downtime_max_ms && !c->downtime_ms && !c->postcopy_requested) {
                unsigned v = c->p.downtime_max_ms < QEMU_DEFAULT_DOWNTIME_MS ? c->p.downtime_max_ms : QEMU_DEFAULT_DOWNTIME_MS;
                c->downtime_ms = v;
                set(a, CONVERGE_SET_DOWNTIME, v, "initial allowed downtime, QEMU's default until the first pass is measured");
                return;
        }

        if (c->p.downtime_max_ms && !c->postcopy_requested && c->step <= c->p.downtime_steps &&
            s->elapsed_ms >= (unsigned long long)c->step * c->p.downtime_step_ms) {
                /* skip the steps whose time has passed (a slow first sample) */
                unsigned i = c->step;
                while (i < c->p.downtime_steps && s->elapsed_ms >= (unsigned long long)(i + 1) * c->p.downtime_step_ms &&
                       c->p.downtime_step_ms > 0)
                        i++;
                c->step = i + 1;
                unsigned v = converge_downtime_of_step(&c->p, i);
                if (v <= c->downtime_ms) /* the start or a prediction set as much or more */
                        return;
                c->downtime_ms = v;
                set(a, CONVERGE_SET_DOWNTIME, v, "raising the allowed downtime");
        }
}

void resume_watch_start(struct resume_watch *w, unsigned long long now, unsigned long long deadline,
                        unsigned stall_ms, unsigned long long processed)
{
        *w = (struct resume_watch) { .deadline = deadline, .sent_at = now, .processed = processed, .stall_ms = stall_ms };
}

enum resume_verdict resume_watch_next(struct resume_watch *w, unsigned long long now, unsigned long long processed)
{
        if (processed > w->processed) {
                w->processed = processed;
                w->sent_at = now;
        }
        if (now >= w->deadline)
                return RESUME_TIMED_OUT;
        if (w->stall_ms && now - w->sent_at >= w->stall_ms)
                return RESUME_STUCK;
        return RESUME_GOES_ON;
}
