/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The predictive convergence policy: its model on made-up numbers, and the
 * whole machine replaying job-statistics timelines recorded from real lab
 * migrations (tests/data/converge/, made by tests/lab/record-converge):
 *   steady.jsonl         a guest that converges: left alone
 *   busy-precopy.jsonl   a guest that never converges under the cap, post-copy
 *                        not allowed: downtime steps, then the abort at the
 *                        completion timeout
 *   busy-postcopy.jsonl  the same guest with post-copy allowed: switched at
 *                        the end of the first memory pass
 * (those three without QEMU's sample of the dirty rate) and, with it:
 *   steady-sampled.jsonl the steady guest: predicted to converge during the
 *                        first pass, left alone
 *   busy-sampled.jsonl   the busy guest: switched during the first pass */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "converge.h"
#include "progress.h"
#include "record.h"
#include "util.h"

#define MiB (1024ULL * 1024)

static const struct converge_policy nova_like = {
        .downtime_max_ms = 500, .downtime_steps = 10, .downtime_step_ms = 10000,
        .stall_ms = 30000, .completion_timeout_ms = 600000, .postcopy = true,
};

/* ------------------------------------------------------------ the model */

static void test_predict_converging(void **state)
{
        struct converge_prediction p;
        (void)state;
        /* 40 MiB left, sent at 20 MiB/s, dirtied at 8: rho 0.4; 500 ms
         * fit 10 MiB: 40 -> 16 -> 6.4: two more passes, 2 s + 0.8 s */
        converge_predict(&nova_like, 10000, 2, 8000, 40 * MiB, 20 * MiB, 8 * MiB, &p);
        assert_true(p.valid);
        assert_true(p.converges);
        assert_int_equal(p.ratio_pm, 400);
        assert_int_equal(p.passes, 2);
        assert_int_equal(p.precopy_ms, 2800);
        assert_int_equal(p.postcopy_ms, 2000);
        /* 6.4 MiB left after those two passes; with twice that as the
         * margin no step below the maximum avoids a third pass */
        assert_int_equal(p.downtime_ms, 500);
        /* a guest dirtying little: 40 -> 4 MiB, one pass; twice 4 MiB fit
         * 410 ms, the least step (50, 95, ... 455, 500) that does */
        converge_predict(&nova_like, 10000, 2, 8000, 40 * MiB, 20 * MiB, 2 * MiB, &p);
        assert_true(p.converges);
        assert_int_equal(p.passes, 1);
        assert_int_equal(p.downtime_ms, 410);
}

static void test_predict_fits_now(void **state)
{
        struct converge_prediction p;
        (void)state;
        converge_predict(&nova_like, 14000, 4, 1100, 9 * MiB + 700 * 1024, 20 * MiB, 9 * MiB, &p);
        assert_true(p.converges);
        assert_int_equal(p.passes, 0);
        assert_int_equal(p.precopy_ms, 0);
        /* 9.7 MiB at 20 MiB/s: 485 ms, so the maximum, 500 */
        assert_int_equal(p.downtime_ms, 500);
}

static void test_predict_not_converging(void **state)
{
        struct converge_prediction p;
        struct converge_policy pol = nova_like;
        (void)state;
        /* dirtied as fast as sent: never */
        converge_predict(&nova_like, 20000, 3, 6000, 127 * MiB, 20 * MiB, 20 * MiB, &p);
        assert_true(p.valid);
        assert_false(p.converges);
        assert_int_equal(p.precopy_ms, 0);
        assert_int_equal(p.postcopy_ms, 6350);
        /* rho 0.66: converges in 7 passes, 18.9 s, but that is over twice
         * post-copy's 6.8 s */
        converge_predict(&nova_like, 14000, 2, 14000, 127 * MiB, 18700 * 1024, 12300 * 1024, &p);
        assert_false(p.converges);
        assert_int_equal(p.passes, 7);
        assert_true(p.precopy_ms > 2 * p.postcopy_ms);
        /* rho 0.4 would converge, but not before the completion timeout */
        pol.completion_timeout_ms = 11000;
        converge_predict(&pol, 10000, 2, 8000, 40 * MiB, 20 * MiB, 8 * MiB, &p);
        assert_false(p.converges);
        pol.completion_timeout_ms = 13000;
        converge_predict(&pol, 10000, 2, 8000, 40 * MiB, 20 * MiB, 8 * MiB, &p);
        assert_true(p.converges);
        /* no transfer rate: no prediction */
        converge_predict(&nova_like, 10000, 2, 8000, 40 * MiB, 0, 8 * MiB, &p);
        assert_false(p.valid);
}

static void test_predict_without_downtime_management(void **state)
{
        struct converge_policy pol = nova_like;
        struct converge_prediction p;
        (void)state;
        /* QEMU's own 300 ms: 6 MiB fit; 40 -> 16 -> 6.4 -> 2.56: three passes */
        pol.downtime_max_ms = 0;
        converge_predict(&pol, 10000, 2, 8000, 40 * MiB, 20 * MiB, 8 * MiB, &p);
        assert_true(p.converges);
        assert_int_equal(p.passes, 3);
        assert_int_equal(p.downtime_ms, 300);
}

/* ------------------------------------------------------------ the machine on made-up samples */

static int feed(struct converge *c, struct converge_action *a, unsigned long long ms, unsigned long long iter,
                unsigned long long remaining, unsigned long long processed)
{
        struct mig_sample s = { .elapsed_ms = ms, .data_total = 300 * MiB, .data_remaining = remaining,
                                .data_processed = processed, .mem_bps = 20 * MiB, .iteration = iter };
        converge_next(c, &s, a);
        return a->kind;
}

/* A guest whose first pass looked convergent but whose working set is
 * larger than that pass showed: the second pass measures it, and the
 * switch comes one pass later rather than at a stall. */
static void test_second_look_catches_a_large_working_set(void **state)
{
        struct converge c;
        struct converge_action a;
        struct converge_policy pol = nova_like;
        (void)state;
        pol.downtime_max_ms = 0;
        converge_init(&c, &pol);
        assert_int_equal(feed(&c, &a, 500, 1, 300 * MiB, 0), CONVERGE_NONE);
        assert_int_equal(feed(&c, &a, 1000, 1, 290 * MiB, 10 * MiB), CONVERGE_NONE);
        /* pass 1 ends at 11 s: 200 MiB sent in 10 s, 64 MiB dirtied: rho 0.32 */
        struct mig_sample s = { .elapsed_ms = 11000, .data_total = 300 * MiB, .data_remaining = 64 * MiB,
                                .data_processed = 210 * MiB, .dirty_bps = 6400 * 1024, .iteration = 2 };
        converge_next(&c, &s, &a);
        assert_int_equal(a.kind, CONVERGE_KEEP);
        assert_true(a.pred.converges);
        /* repeating the pass: nothing new */
        s.elapsed_ms = 11500;
        converge_next(&c, &s, &a);
        assert_int_equal(a.kind, CONVERGE_NONE);
        /* pass 2 took 3.2 s and left as much: dirtied at 20 MiB/s */
        s = (struct mig_sample) { .elapsed_ms = 14200, .data_total = 300 * MiB, .data_remaining = 64 * MiB,
                                  .data_processed = 274 * MiB, .dirty_bps = 20 * MiB, .iteration = 3 };
        converge_next(&c, &s, &a);
        assert_int_equal(a.kind, CONVERGE_POSTCOPY);
        assert_false(a.pred.converges);
        assert_int_equal(a.pred.transfer_bps, 20 * MiB);
        assert_int_equal(a.pred.pass_ms, 3200);
        char text[512];
        progress_explain(text, sizeof(text), &a);
        assert_string_equal(text, "pass 2 took 3.2 s: 64.0 MiB left to send, dirtied at 20.0 MiB/s, sent at 20.0 MiB/s "
                                  "(dirty/sent 1.00); pre-copy cannot converge: the guest dirties memory as fast as it is "
                                  "sent: switching to post-copy now (predicted 3.2 s)");
}

/* A steady guest near the end: its passes are shorter than a second, and
 * one of them, sampled mid-sync, shows a third of the real transfer rate.
 * Measured alone it would look like a guest that dirties faster than it is
 * sent and switch to post-copy; short passes add up into one window of at
 * least a second instead, which measures the real rates. */
static void test_short_passes_add_up_to_a_window(void **state)
{
        struct converge c;
        struct converge_action a;
        struct converge_policy pol = nova_like;
        (void)state;
        pol.downtime_max_ms = 0;
        converge_init(&c, &pol);
        assert_int_equal(feed(&c, &a, 1000, 1, 300 * MiB, 10 * MiB), CONVERGE_NONE);
        /* pass 1 ends at 11 s: 200 MiB in 10 s, 20 MiB left, dirtied at 8 MiB/s */
        struct mig_sample s = { .elapsed_ms = 11000, .data_total = 300 * MiB, .data_remaining = 20 * MiB,
                                .data_processed = 210 * MiB, .dirty_bps = 8 * MiB, .iteration = 2 };
        converge_next(&c, &s, &a);
        assert_int_equal(a.kind, CONVERGE_KEEP);
        assert_true(a.pred.converges);
        /* pass 2: 1 s, 20 MiB sent, 8 MiB left */
        s.elapsed_ms = 12000, s.data_processed = 230 * MiB, s.data_remaining = 8 * MiB, s.iteration = 3;
        converge_next(&c, &s, &a);
        assert_int_equal(a.kind, CONVERGE_KEEP);
        assert_int_equal(a.pred.first_pass, 2);
        /* pass 3: 400 ms that show 2 MiB sent (5 MiB/s, dirty/sent 1.6) */
        s.elapsed_ms = 12400, s.data_processed = 232 * MiB, s.data_remaining = 6 * MiB, s.iteration = 4;
        converge_next(&c, &s, &a);
        assert_int_equal(a.kind, CONVERGE_NONE);
        /* pass 4 ends 1.2 s after pass 3 began, 24 MiB sent since then */
        s.elapsed_ms = 13200, s.data_processed = 254 * MiB, s.data_remaining = 5 * MiB, s.iteration = 5;
        converge_next(&c, &s, &a);
        assert_int_equal(a.kind, CONVERGE_KEEP);
        assert_true(a.pred.converges);
        assert_int_equal(a.pred.first_pass, 3);
        assert_int_equal(a.pred.pass_ms, 1200);
        assert_int_equal(a.pred.transfer_bps, 20 * MiB);
        char text[512];
        progress_explain(text, sizeof(text), &a);
        assert_true(strncmp(text, "passes 3-4 took 1.2 s: 5.0 MiB left to send, dirtied at 8.0 MiB/s, sent at 20.0 MiB/s", 84) == 0);
}

/* The first pass's rate is taken from the first byte sent: libvirt's
 * setup before it is no transfer. */
static void test_first_pass_rate_skips_the_setup(void **state)
{
        struct converge c;
        struct converge_action a;
        (void)state;
        converge_init(&c, &nova_like);
        assert_int_equal(feed(&c, &a, 1000, 1, 300 * MiB, 0), CONVERGE_SET_DOWNTIME);
        assert_int_equal(feed(&c, &a, 3000, 1, 300 * MiB, 0), CONVERGE_NONE);
        assert_int_equal(feed(&c, &a, 3500, 1, 290 * MiB, 10 * MiB), CONVERGE_NONE);
        /* 200 MiB more in 10 s from there: 20 MiB/s, not 200 / 13.5 */
        struct mig_sample s = { .elapsed_ms = 13500, .data_total = 300 * MiB, .data_remaining = 20 * MiB,
                                .data_processed = 210 * MiB, .dirty_bps = 2 * MiB, .iteration = 2 };
        converge_next(&c, &s, &a);
        assert_true(a.pred.valid);
        assert_int_equal(a.pred.transfer_bps, 20 * MiB);
        assert_int_equal(a.pred.pass_ms, 13500);
}

/* ------------------------------------------------------------ QEMU's sampled dirty rate, during pass 1 */

/* A sample of pass 1 with QEMU's sampled dirty rate known (sampled > 0) or
 * not (0); 300 MiB guest, sent at 20 MiB/s from 1 s on. */
static int feed_sampled(struct converge *c, struct converge_action *a, unsigned long long ms, unsigned long long sampled)
{
        unsigned long long sent = ms > 1000 ? (ms - 1000) * 20 * MiB / 1000 : 0;
        struct mig_sample s = { .elapsed_ms = ms, .data_total = 300 * MiB, .data_remaining = 300 * MiB - sent,
                                .data_processed = sent, .mem_bps = 20 * MiB, .iteration = 1,
                                .dirty_sampled = sampled > 0, .sampled_dirty_bps = sampled, .sampled_ms = 1000 };
        converge_next(c, &s, a);
        return a->kind;
}

/* A guest QEMU sampled dirtying 128 MiB/s before the job: switched in pass 1
 * as soon as a second of transfer is measured, not at its end. */
static void test_sampled_busy_switched_during_pass_one(void **state)
{
        struct converge c;
        struct converge_action a;
        (void)state;
        converge_init(&c, &nova_like);
        assert_int_equal(feed_sampled(&c, &a, 500, 128 * MiB), CONVERGE_SET_DOWNTIME); /* the initial downtime */
        assert_int_equal(feed_sampled(&c, &a, 1000, 128 * MiB), CONVERGE_NONE);
        assert_int_equal(feed_sampled(&c, &a, 1500, 128 * MiB), CONVERGE_NONE);
        /* 900 ms of transfer since the first byte (at 1.1 s): not a window yet */
        assert_int_equal(feed_sampled(&c, &a, 2000, 128 * MiB), CONVERGE_NONE);
        assert_int_equal(feed_sampled(&c, &a, 2600, 128 * MiB), CONVERGE_POSTCOPY);
        assert_true(a.pred.valid);
        assert_true(a.pred.in_pass);
        assert_false(a.pred.converges);
        assert_int_equal(a.pred.iteration, 1);
        assert_int_equal(a.pred.pass_ms, 2600);
        assert_int_equal(a.pred.transfer_bps, 20 * MiB);
        assert_int_equal(a.pred.dirty_bps, 128 * MiB);
        assert_int_equal(a.pred.remaining, 268 * MiB);
        char text[512];
        progress_explain(text, sizeof(text), &a);
        assert_string_equal(text, "pass 1, 2.6 s in: the guest dirties 128.0 MiB/s (QEMU's sampling over 1 s before the job), "
                                  "sent at 20.0 MiB/s so far (dirty/sent 6.40), 268.0 MiB left to send; pre-copy cannot "
                                  "converge: the guest dirties memory as fast as it is sent: switching to post-copy now "
                                  "(predicted 13.4 s)");
        /* once: nothing more in pass 1, nor at its end */
        assert_int_equal(feed_sampled(&c, &a, 3000, 128 * MiB), CONVERGE_NONE);
        struct mig_sample s = { .elapsed_ms = 15000, .data_total = 300 * MiB, .data_remaining = 100 * MiB,
                                .data_processed = 280 * MiB, .dirty_bps = 12 * MiB, .iteration = 2 };
        converge_next(&c, &s, &a);
        assert_int_equal(a.kind, CONVERGE_NONE);
}

/* A guest sampled dirtying 8 MiB/s: predicted to converge, left alone once,
 * and decided again at the end of pass 1 as without the sample. */
static void test_sampled_steady_left_alone(void **state)
{
        struct converge c;
        struct converge_action a;
        (void)state;
        converge_init(&c, &nova_like);
        assert_int_equal(feed_sampled(&c, &a, 500, 8 * MiB), CONVERGE_SET_DOWNTIME);
        assert_int_equal(feed_sampled(&c, &a, 1000, 8 * MiB), CONVERGE_NONE);
        assert_int_equal(feed_sampled(&c, &a, 1500, 8 * MiB), CONVERGE_NONE);
        assert_int_equal(feed_sampled(&c, &a, 2500, 8 * MiB), CONVERGE_KEEP);
        assert_true(a.pred.in_pass);
        assert_true(a.pred.converges);
        assert_int_equal(a.pred.ratio_pm, 400);
        char text[512];
        progress_explain(text, sizeof(text), &a);
        assert_non_null(strstr(text, "; pre-copy converges: "));
        assert_non_null(strstr(text, ": left alone (looked at again at the end of the pass)"));
        for (unsigned long long ms = 3000; ms < 14000; ms += 500)
                assert_int_equal(feed_sampled(&c, &a, ms, 8 * MiB), CONVERGE_NONE);
        struct mig_sample s = { .elapsed_ms = 15000, .data_total = 300 * MiB, .data_remaining = 40 * MiB,
                                .data_processed = 280 * MiB, .dirty_bps = 8 * MiB, .iteration = 2 };
        converge_next(&c, &s, &a);
        assert_true(a.pred.valid);
        assert_false(a.pred.in_pass);
        assert_true(a.pred.converges);
}

/* A guest sampled dirtying 12 MiB/s: the model on all that is left in
 * pass 1 predicts a slow convergence (over twice post-copy's time), but a
 * real pass resends only what the guest dirtied, so this early that is no
 * reason to switch: left to the end of the pass, and said so. */
static void test_sampled_slow_guest_left_to_the_end_of_the_pass(void **state)
{
        struct converge c;
        struct converge_action a;
        (void)state;
        converge_init(&c, &nova_like);
        assert_int_equal(feed_sampled(&c, &a, 500, 12 * MiB), CONVERGE_SET_DOWNTIME);
        assert_int_equal(feed_sampled(&c, &a, 1500, 12 * MiB), CONVERGE_NONE);
        assert_int_equal(feed_sampled(&c, &a, 2500, 12 * MiB), CONVERGE_KEEP);
        assert_true(a.pred.in_pass);
        assert_false(a.pred.converges);
        assert_true(a.pred.precopy_ms > 2 * a.pred.postcopy_ms);
        char text[640];
        progress_explain(text, sizeof(text), &a);
        assert_non_null(strstr(text, "; left alone until the end of the pass, which measures what the guest leaves (this "
                                     "early only a guest that dirties memory as fast as it is sent is switched)"));
        for (unsigned long long ms = 3000; ms < 14000; ms += 500)
                assert_int_equal(feed_sampled(&c, &a, ms, 12 * MiB), CONVERGE_NONE);
        /* the end of the pass: 64 MiB left, dirtied at 5 MiB/s, converges */
        struct mig_sample s = { .elapsed_ms = 15000, .data_total = 300 * MiB, .data_remaining = 64 * MiB,
                                .data_processed = 280 * MiB, .dirty_bps = 5 * MiB, .iteration = 2,
                                .dirty_sampled = true, .sampled_dirty_bps = 12 * MiB, .sampled_ms = 1000 };
        converge_next(&c, &s, &a);
        assert_true(a.pred.valid);
        assert_false(a.pred.in_pass);
        assert_true(a.pred.converges);
}

/* Without post-copy allowed, or without the sample, pass 1 is what it was:
 * the first prediction comes at its end. */
static void test_sampled_changes_nothing_else(void **state)
{
        struct converge_policy pol = nova_like;
        struct converge c;
        struct converge_action a;
        (void)state;
        pol.postcopy = false;
        converge_init(&c, &pol);
        for (unsigned long long ms = 500; ms < 14000; ms += 500)
                assert_int_equal(feed_sampled(&c, &a, ms, 128 * MiB), ms == 500 ? CONVERGE_SET_DOWNTIME : CONVERGE_NONE);
        converge_init(&c, &nova_like);
        for (unsigned long long ms = 500; ms < 14000; ms += 500)
                assert_int_equal(feed_sampled(&c, &a, ms, 0), ms == 500 ? CONVERGE_SET_DOWNTIME : CONVERGE_NONE);
        /* known only from the second pass on: too late, ignored there */
        converge_init(&c, &nova_like);
        assert_int_equal(feed_sampled(&c, &a, 500, 0), CONVERGE_SET_DOWNTIME);
        struct mig_sample s = { .elapsed_ms = 15000, .data_total = 300 * MiB, .data_remaining = 40 * MiB,
                                .data_processed = 280 * MiB, .dirty_bps = 8 * MiB, .iteration = 2,
                                .dirty_sampled = true, .sampled_dirty_bps = 128 * MiB, .sampled_ms = 1000 };
        converge_next(&c, &s, &a);
        assert_false(a.pred.in_pass);
        assert_true(a.pred.converges);
        s.elapsed_ms = 15500;
        converge_next(&c, &s, &a);
        assert_int_equal(a.kind, CONVERGE_NONE);
        s.elapsed_ms = 17000, s.data_processed = 300 * MiB, s.data_remaining = 20 * MiB;
        converge_next(&c, &s, &a);
        assert_int_equal(a.kind, CONVERGE_NONE);
}

/* ------------------------------------------------------------ recorded lab migrations */

struct replay {
        struct converge_action actions[64];
        unsigned long long at[64];   /* elapsed_ms of each */
        unsigned long long iteration[64];
        size_t n;
};

/* Feeds every sample of a record through a fresh machine with pol (the
 * record's own policy when NULL) up to the first post-copy sample, and
 * keeps the actions. sampled false: without QEMU's sampled dirty rate,
 * where the record has one (what a QEMU that cannot sample gives). */
static void replay(const char *file, const struct converge_policy *pol, bool sampled, struct recording *rec,
                   struct replay *out)
{
        char path[256];
        _cleanup_free_ char *err = NULL;
        struct converge c;

        snprintf(path, sizeof(path), "tests/data/converge/%s", file);
        assert_int_equal(record_load(path, rec, &err), 0);
        assert_true(rec->have_header);
        assert_true(rec->n_samples > 10);
        converge_init(&c, pol ? pol : &rec->policy);
        memset(out, 0, sizeof(*out));
        for (size_t i = 0; i < rec->n_samples && !rec->samples[i].s.postcopy; i++) {
                struct converge_action a;
                struct mig_sample smp = rec->samples[i].s;
                if (!sampled)
                        smp.dirty_sampled = false, smp.sampled_dirty_bps = smp.sampled_ms = 0;
                converge_next(&c, &smp, &a);
                if (a.kind == CONVERGE_NONE || out->n == ARRAY_SIZE(out->actions))
                        continue;
                out->actions[out->n] = a;
                out->at[out->n] = rec->samples[i].s.elapsed_ms;
                out->iteration[out->n++] = rec->samples[i].s.iteration;
        }
}

/* The recorded run went into post-copy by one decision, a prediction
 * that pre-copy does not converge, applied: that decision. */
static const struct rec_mark *recorded_switch(const struct recording *rec)
{
        const struct rec_mark *m = NULL;
        assert_true(rec->postcopy);
        for (size_t k = 0; k < rec->n_marks; k++)
                if (streq_ptr(rec->marks[k].action, "postcopy")) {
                        assert_null(m);
                        m = &rec->marks[k];
                        assert_true(m->applied);
                        assert_true(m->predicted);
                        assert_false(m->converges);
                }
        assert_non_null(m);
        return m;
}

/* The first sample of pass 2 in the record. */
static unsigned long long end_of_pass_one(const struct recording *rec)
{
        for (size_t i = 0; i < rec->n_samples; i++)
                if (rec->samples[i].s.iteration >= 2)
                        return rec->samples[i].s.elapsed_ms;
        fail_msg("no second pass in the record");
        return 0;
}

static void test_replay_steady_left_alone(void **state)
{
        struct recording rec;
        struct replay r;
        (void)state;
        replay("steady.jsonl", NULL, false, &rec, &r);
        assert_true(rec.policy.postcopy); /* it could have switched, and must not */
        size_t predictions = 0;
        for (size_t i = 0; i < r.n; i++) {
                assert_int_not_equal(r.actions[i].kind, CONVERGE_POSTCOPY);
                assert_int_not_equal(r.actions[i].kind, CONVERGE_ABORT);
                if (r.actions[i].pred.valid) {
                        assert_true(r.actions[i].pred.converges);
                        assert_true(r.actions[i].pred.ratio_pm < 600);
                        predictions++;
                }
        }
        assert_true(predictions >= 2); /* one per pass from the end of the first on */
        /* the recorded run itself was left alone and finished in pre-copy */
        assert_true(rec.have_result);
        assert_string_equal(rec.status, "ok");
        assert_false(rec.postcopy);
        recording_free(&rec);
}

static void test_replay_busy_switched_after_pass_one(void **state)
{
        struct recording rec;
        struct replay r;
        (void)state;
        replay("busy-postcopy.jsonl", NULL, false, &rec, &r);
        unsigned long long end1 = end_of_pass_one(&rec);
        size_t i;
        for (i = 0; i < r.n && r.actions[i].kind != CONVERGE_POSTCOPY; i++)
                assert_int_equal(r.actions[i].kind, CONVERGE_SET_DOWNTIME); /* the steps before it */
        assert_true(i < r.n);
        /* at the first sample of the second pass, by prediction, not a stall */
        assert_int_equal(r.at[i], end1);
        assert_int_equal(r.iteration[i], 2);
        assert_true(r.actions[i].pred.valid);
        assert_false(r.actions[i].pred.converges);
        assert_true(r.at[i] < rec.policy.stall_ms);
        /* the recorded run: post-copy, and its decision says why */
        assert_non_null(strstr(recorded_switch(&rec)->message, "switching to post-copy"));
        recording_free(&rec);

        /* the busy guest recorded without post-copy takes the same decision
         * at the same point when post-copy is allowed */
        struct converge_policy pol;
        replay("busy-precopy.jsonl", NULL, false, &rec, &r);
        pol = rec.policy;
        pol.postcopy = true;
        end1 = end_of_pass_one(&rec);
        recording_free(&rec);
        replay("busy-precopy.jsonl", &pol, false, &rec, &r);
        for (i = 0; i < r.n && r.actions[i].kind != CONVERGE_POSTCOPY; i++)
                ;
        assert_true(i < r.n);
        assert_int_equal(r.at[i], end1);
        recording_free(&rec);
}

static void test_replay_busy_without_postcopy_steps_then_aborts(void **state)
{
        struct recording rec;
        struct replay r;
        (void)state;
        replay("busy-precopy.jsonl", NULL, false, &rec, &r);
        assert_false(rec.policy.postcopy);
        assert_int_equal(rec.policy.completion_timeout_ms, 40000);
        unsigned long long end1 = end_of_pass_one(&rec);
        unsigned long long last = 0;
        size_t i = 0, steps = 0;
        /* downtime steps up to the end of pass one ... */
        for (; i < r.n && r.at[i] < end1; i++) {
                assert_int_equal(r.actions[i].kind, CONVERGE_SET_DOWNTIME);
                assert_true(r.actions[i].value > last);
                last = r.actions[i].value;
                steps++;
        }
        assert_true(steps >= 1);
        /* ... then, predicted not to converge, the maximum at once ... */
        assert_int_equal(r.at[i], end1);
        assert_int_equal(r.actions[i].kind, CONVERGE_SET_DOWNTIME);
        assert_int_equal(r.actions[i].value, 500);
        assert_false(r.actions[i].pred.converges);
        /* ... the later passes confirm it and change nothing ... */
        for (i++; i < r.n && r.actions[i].kind == CONVERGE_KEEP; i++)
                assert_false(r.actions[i].pred.converges);
        /* ... and the abort at the completion timeout, the last action */
        assert_true(i < r.n);
        assert_int_equal(r.actions[i].kind, CONVERGE_ABORT);
        assert_true(r.at[i] >= 40000);
        assert_int_equal(i, r.n - 1);
        /* the recorded run was aborted */
        assert_string_equal(rec.status, "failed");
        recording_free(&rec);
}

/* The watch on an attempt to resume a broken post-copy: data sent keeps
 * it going, stall_ms without any makes it stuck (never with stall_ms 0),
 * and the end of the recovery time ends it even while it sends. */
static void test_resume_watch(void **state)
{
        (void)state;
        struct resume_watch w;
        resume_watch_start(&w, 1000, 61000, 5000, 200 * MiB);
        assert_int_equal(resume_watch_next(&w, 2000, 200 * MiB), RESUME_GOES_ON);
        assert_int_equal(resume_watch_next(&w, 5999, 200 * MiB), RESUME_GOES_ON);
        assert_int_equal(resume_watch_next(&w, 6000, 200 * MiB), RESUME_STUCK);
        /* a sample equal to what was sent before the attempt, or less (stale
         * numbers of the broken job), is no progress either */
        resume_watch_start(&w, 1000, 61000, 5000, 200 * MiB);
        assert_int_equal(resume_watch_next(&w, 3000, 150 * MiB), RESUME_GOES_ON);
        assert_int_equal(resume_watch_next(&w, 6000, 150 * MiB), RESUME_STUCK);
        /* progress restarts the clock */
        resume_watch_start(&w, 1000, 61000, 5000, 200 * MiB);
        assert_int_equal(resume_watch_next(&w, 5000, 201 * MiB), RESUME_GOES_ON);
        assert_int_equal(resume_watch_next(&w, 9999, 201 * MiB), RESUME_GOES_ON);
        assert_int_equal(resume_watch_next(&w, 10000, 201 * MiB), RESUME_STUCK);
        /* stall detection off */
        resume_watch_start(&w, 1000, 61000, 0, 200 * MiB);
        assert_int_equal(resume_watch_next(&w, 60999, 200 * MiB), RESUME_GOES_ON);
        /* the end of the recovery time, even while data moves */
        assert_int_equal(resume_watch_next(&w, 61000, 300 * MiB), RESUME_TIMED_OUT);
        resume_watch_start(&w, 1000, 61000, 5000, 200 * MiB);
        for (unsigned long long t = 2000; t < 61000; t += 1000)
                assert_int_equal(resume_watch_next(&w, t, 200 * MiB + t), RESUME_GOES_ON);
        assert_int_equal(resume_watch_next(&w, 61000, 300 * MiB), RESUME_TIMED_OUT);
}

/* The first sample that carries QEMU's sampled dirty rate, and the first
 * with bytes sent. */
static void sampled_points(const struct recording *rec, unsigned long long *known, unsigned long long *first_byte)
{
        *known = *first_byte = 0;
        for (size_t i = 0; i < rec->n_samples; i++) {
                const struct mig_sample *s = &rec->samples[i].s;
                if (!*known && s->dirty_sampled)
                        *known = s->elapsed_ms;
                if (!*first_byte && (s->mem_processed || s->data_processed))
                        *first_byte = s->elapsed_ms;
        }
        assert_true(*known > 0);
        assert_true(*first_byte > 0);
}

static void test_replay_sampled_busy_switched_during_pass_one(void **state)
{
        struct recording rec;
        struct replay r;
        unsigned long long known, first;
        size_t i;
        (void)state;
        replay("busy-sampled.jsonl", NULL, true, &rec, &r);
        sampled_points(&rec, &known, &first);
        for (i = 0; i < r.n && r.actions[i].kind != CONVERGE_POSTCOPY; i++)
                assert_int_equal(r.actions[i].kind, CONVERGE_SET_DOWNTIME);
        assert_true(i < r.n);
        /* in pass 1, on the sample, once a second of transfer is measured */
        assert_int_equal(r.iteration[i], 1);
        assert_true(r.actions[i].pred.in_pass);
        assert_false(r.actions[i].pred.converges);
        assert_true(r.at[i] >= known);
        assert_true(r.at[i] >= first + CONVERGE_WINDOW_MS);
        assert_true(r.actions[i].pred.ratio_pm > 1000); /* it dirties faster than it is sent */
        /* the recorded run did the same, and said so */
        const struct rec_mark *m = recorded_switch(&rec);
        assert_int_equal(m->elapsed_ms, r.at[i]);
        assert_non_null(strstr(m->message, "QEMU's sampling over 1 s before the job"));
        recording_free(&rec);

        /* the same timeline without the sample: nothing in pass 1 but the
         * downtime steps (the record ends in post-copy before pass 2) */
        replay("busy-sampled.jsonl", NULL, false, &rec, &r);
        for (i = 0; i < r.n; i++)
                assert_int_equal(r.actions[i].kind, CONVERGE_SET_DOWNTIME);
        recording_free(&rec);
}

static void test_replay_sampled_steady_left_alone(void **state)
{
        struct recording rec;
        struct replay r;
        unsigned long long known, first;
        (void)state;
        replay("steady-sampled.jsonl", NULL, true, &rec, &r);
        sampled_points(&rec, &known, &first);
        assert_true(rec.policy.postcopy);
        size_t in_pass = 0, predictions = 0;
        for (size_t i = 0; i < r.n; i++) {
                assert_int_not_equal(r.actions[i].kind, CONVERGE_POSTCOPY);
                assert_int_not_equal(r.actions[i].kind, CONVERGE_ABORT);
                if (!r.actions[i].pred.valid)
                        continue;
                predictions++;
                if (r.actions[i].pred.in_pass) {
                        in_pass++;
                        assert_int_equal(r.actions[i].kind, CONVERGE_KEEP);
                        assert_true(r.actions[i].pred.converges);
                        assert_int_equal(r.iteration[i], 1);
                }
        }
        assert_int_equal(in_pass, 1);
        assert_true(predictions >= 2);
        assert_string_equal(rec.status, "ok");
        assert_false(rec.postcopy);
        recording_free(&rec);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_predict_converging),
                cmocka_unit_test(test_predict_fits_now),
                cmocka_unit_test(test_predict_not_converging),
                cmocka_unit_test(test_predict_without_downtime_management),
                cmocka_unit_test(test_second_look_catches_a_large_working_set),
                cmocka_unit_test(test_first_pass_rate_skips_the_setup),
                cmocka_unit_test(test_short_passes_add_up_to_a_window),
                cmocka_unit_test(test_sampled_busy_switched_during_pass_one),
                cmocka_unit_test(test_sampled_steady_left_alone),
                cmocka_unit_test(test_sampled_slow_guest_left_to_the_end_of_the_pass),
                cmocka_unit_test(test_sampled_changes_nothing_else),
                cmocka_unit_test(test_replay_steady_left_alone),
                cmocka_unit_test(test_replay_busy_switched_after_pass_one),
                cmocka_unit_test(test_replay_busy_without_postcopy_steps_then_aborts),
                cmocka_unit_test(test_resume_watch),
                cmocka_unit_test(test_replay_sampled_busy_switched_during_pass_one),
                cmocka_unit_test(test_replay_sampled_steady_left_alone),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
