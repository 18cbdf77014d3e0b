/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The convergence policy fed with recorded job-statistics timelines, and the
 * typed parameters built from options and configuration. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "converge.h"
#include "util.h"

#define MiB (1024ULL * 1024)

static const struct converge_policy nova_like = {
        .downtime_max_ms = 500, .downtime_steps = 10, .downtime_step_ms = 10000,
        .stall_ms = 30000, .completion_timeout_ms = 600000, .postcopy = false,
};

/* Feeds a sample and returns the action kind; *value gets its value. */
static int feed(struct converge *c, unsigned long long ms, unsigned long long remaining, unsigned long long iter,
                unsigned long long *value)
{
        struct mig_sample s = { .elapsed_ms = ms, .data_total = 300 * MiB, .data_remaining = remaining, .iteration = iter };
        struct converge_action a;
        converge_next(c, &s, &a);
        if (value)
                *value = a.value;
        if (a.kind != CONVERGE_NONE)
                assert_non_null(a.reason);
        return a.kind;
}

static void test_downtime_steps(void **state)
{
        struct converge c;
        unsigned long long v;
        (void)state;
        assert_int_equal(converge_downtime_of_step(&nova_like, 0), 50);
        assert_int_equal(converge_downtime_of_step(&nova_like, 5), 275);
        assert_int_equal(converge_downtime_of_step(&nova_like, 10), 500);
        assert_int_equal(converge_downtime_of_step(&nova_like, 99), 500);

        converge_init(&c, &nova_like);
        assert_int_equal(feed(&c, 0, 300 * MiB, 1, &v), CONVERGE_SET_DOWNTIME);
        assert_int_equal(v, 50);
        assert_int_equal(feed(&c, 500, 290 * MiB, 1, NULL), CONVERGE_NONE);
        assert_int_equal(feed(&c, 9999, 200 * MiB, 1, NULL), CONVERGE_NONE);
        assert_int_equal(feed(&c, 10000, 100 * MiB, 1, &v), CONVERGE_SET_DOWNTIME);
        assert_int_equal(v, 95);
        assert_int_equal(feed(&c, 10500, 90 * MiB, 1, NULL), CONVERGE_NONE);
        /* a late sample skips the steps whose time has passed */
        assert_int_equal(feed(&c, 45000, 80 * MiB, 1, &v), CONVERGE_SET_DOWNTIME);
        assert_int_equal(v, converge_downtime_of_step(&nova_like, 4));
        for (unsigned long long t = 50000; t <= 100000; t += 10000)
                assert_int_equal(feed(&c, t, (200 - t / 1000) * MiB, 1, NULL), CONVERGE_SET_DOWNTIME);
        /* the last step reached the maximum: nothing more */
        assert_int_equal(feed(&c, 110000, 70 * MiB, 1, NULL), CONVERGE_NONE);
        assert_int_equal(feed(&c, 200000, 70 * MiB, 1, NULL), CONVERGE_NONE);
}

static void test_no_downtime_management(void **state)
{
        struct converge_policy p = nova_like;
        struct converge c;
        (void)state;
        p.downtime_max_ms = 0;
        converge_init(&c, &p);
        for (unsigned long long t = 0; t < 100000; t += 1000)
                assert_int_equal(feed(&c, t, 100 * MiB, 1, NULL), CONVERGE_NONE);
}

static void test_stall_switches_to_postcopy(void **state)
{
        struct converge_policy p = nova_like;
        struct converge c;
        (void)state;
        p.postcopy = true;
        p.downtime_max_ms = 0;
        converge_init(&c, &p);
        /* first pass: steadily down, never a stall even if slow */
        for (unsigned long long t = 0; t <= 60000; t += 1000)
                assert_int_equal(feed(&c, t, (300 - t / 1000) * MiB, 1, NULL), CONVERGE_NONE);
        /* second pass on: remaining wanders between 100 and 104 MiB */
        unsigned long long t;
        for (t = 61000; t < 61000 + 30000; t += 1000)
                assert_int_equal(feed(&c, t, (100 + t / 1000 % 5) * MiB, 2 + (t - 61000) / 5000, NULL), CONVERGE_NONE);
        assert_true(!c.stalled);
        assert_int_equal(feed(&c, t, 102 * MiB, 8, NULL), CONVERGE_POSTCOPY);
        assert_true(c.stalled);
        /* asked once only */
        assert_int_equal(feed(&c, t + 1000, 102 * MiB, 8, NULL), CONVERGE_NONE);
        /* in post-copy: nothing, even past the completion timeout */
        struct mig_sample s = { .elapsed_ms = 700000, .data_remaining = 50 * MiB, .iteration = 9, .postcopy = true };
        struct converge_action a;
        converge_next(&c, &s, &a);
        assert_int_equal(a.kind, CONVERGE_NONE);
}

static void test_progress_resets_stall(void **state)
{
        struct converge_policy p = nova_like;
        struct converge c;
        (void)state;
        p.postcopy = true;
        p.downtime_max_ms = 0;
        p.stall_ms = 10000;
        converge_init(&c, &p);
        assert_int_equal(feed(&c, 0, 300 * MiB, 1, NULL), CONVERGE_NONE);
        assert_int_equal(feed(&c, 20000, 100 * MiB, 2, NULL), CONVERGE_NONE);
        assert_int_equal(feed(&c, 29000, 99 * MiB, 3, NULL), CONVERGE_NONE); /* less than 5%: no new low */
        assert_int_equal(feed(&c, 29500, 90 * MiB, 3, NULL), CONVERGE_NONE); /* a real new low */
        assert_int_equal(feed(&c, 39000, 91 * MiB, 4, NULL), CONVERGE_NONE);
        assert_int_equal(feed(&c, 39500, 91 * MiB, 4, NULL), CONVERGE_POSTCOPY);
}

static void test_stall_without_postcopy_waits_for_timeout(void **state)
{
        struct converge_policy p = nova_like;
        struct converge c;
        (void)state;
        p.downtime_max_ms = 0;
        p.completion_timeout_ms = 120000;
        converge_init(&c, &p);
        assert_int_equal(feed(&c, 0, 300 * MiB, 1, NULL), CONVERGE_NONE);
        for (unsigned long long t = 20000; t < 120000; t += 1000)
                assert_int_equal(feed(&c, t, 100 * MiB, 3, NULL), CONVERGE_NONE);
        assert_true(c.stalled);
        assert_int_equal(feed(&c, 120000, 100 * MiB, 3, NULL), CONVERGE_ABORT);
        /* nothing after the abort */
        assert_int_equal(feed(&c, 121000, 100 * MiB, 3, NULL), CONVERGE_NONE);
}

static void test_timeout_prefers_postcopy(void **state)
{
        struct converge_policy p = nova_like;
        struct converge c;
        (void)state;
        p.postcopy = true;
        p.stall_ms = 0; /* no stall detection: only the timeout */
        p.completion_timeout_ms = 60000;
        converge_init(&c, &p);
        assert_int_equal(feed(&c, 0, 300 * MiB, 1, NULL), CONVERGE_SET_DOWNTIME);
        assert_int_equal(feed(&c, 59000, 100 * MiB, 5, NULL), CONVERGE_SET_DOWNTIME);
        assert_int_equal(feed(&c, 60000, 100 * MiB, 5, NULL), CONVERGE_POSTCOPY);
        /* the switch was asked: no abort, no downtime change while it happens */
        assert_int_equal(feed(&c, 70000, 100 * MiB, 5, NULL), CONVERGE_NONE);
        assert_int_equal(feed(&c, 90000, 100 * MiB, 5, NULL), CONVERGE_NONE);
}

static void test_action_names(void **state)
{
        (void)state;
        assert_string_equal(converge_action_to_string(CONVERGE_NONE), "none");
        assert_string_equal(converge_action_to_string(CONVERGE_SET_DOWNTIME), "downtime");
        assert_string_equal(converge_action_to_string(CONVERGE_POSTCOPY), "postcopy");
        assert_string_equal(converge_action_to_string(CONVERGE_ABORT), "abort");
        assert_string_equal(converge_action_to_string(42), "unknown");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_downtime_steps),
                cmocka_unit_test(test_no_downtime_management),
                cmocka_unit_test(test_stall_switches_to_postcopy),
                cmocka_unit_test(test_progress_resets_stall),
                cmocka_unit_test(test_stall_without_postcopy_waits_for_timeout),
                cmocka_unit_test(test_timeout_prefers_postcopy),
                cmocka_unit_test(test_action_names),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
