/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "progress.h"
#include "util.h"

#define MiB (1024ULL * 1024)

static void test_bytes(void **state)
{
        char b[32];
        (void)state;
        format_bytes(b, sizeof(b), 0);
        assert_string_equal(b, "0 B");
        format_bytes(b, sizeof(b), 1023);
        assert_string_equal(b, "1023 B");
        format_bytes(b, sizeof(b), 1024);
        assert_string_equal(b, "1.0 KiB");
        format_bytes(b, sizeof(b), 123 * MiB + 400 * 1024);
        assert_string_equal(b, "123.4 MiB");
        format_bytes(b, sizeof(b), 1536 * MiB);
        assert_string_equal(b, "1.5 GiB");
        /* never "1024.0 MiB" */
        format_bytes(b, sizeof(b), 1024 * MiB - 1);
        assert_string_equal(b, "1.0 GiB");
        /* truncation keeps the full length and a terminated buffer */
        assert_int_equal(format_bytes(b, 4, 1536 * MiB), 7);
        assert_string_equal(b, "1.5");
}

static void test_duration(void **state)
{
        char b[32];
        (void)state;
        format_duration(b, sizeof(b), 0);
        assert_string_equal(b, "0:00");
        format_duration(b, sizeof(b), 7999);
        assert_string_equal(b, "0:07");
        format_duration(b, sizeof(b), 65000);
        assert_string_equal(b, "1:05");
        format_duration(b, sizeof(b), 3723000);
        assert_string_equal(b, "1:02:03");
}

static void test_percent_eta(void **state)
{
        struct mig_sample s = { .data_total = 200 * MiB, .data_remaining = 50 * MiB, .mem_bps = 10 * MiB, .iteration = 1 };
        (void)state;
        assert_int_equal(progress_percent(&s), 75);
        assert_int_equal(progress_eta_ms(&s), 5000);
        /* second pass: the dirty rate eats into the speed */
        s.iteration = 2;
        s.dirty_bps = 5 * MiB;
        assert_int_equal(progress_eta_ms(&s), 10000);
        /* dirtying as fast as sending: no estimate */
        s.dirty_bps = 10 * MiB;
        assert_int_equal(progress_eta_ms(&s), -1);
        s.mem_bps = 0;
        assert_int_equal(progress_eta_ms(&s), -1);
        struct mig_sample z = { 0 };
        assert_int_equal(progress_percent(&z), 0);
        z.data_total = 10;
        z.data_remaining = 20; /* the total grew in between */
        assert_int_equal(progress_percent(&z), 0);
}

static void test_bar(void **state)
{
        struct mig_sample s = { .elapsed_ms = 12000, .data_total = 200 * MiB, .data_remaining = 110 * MiB,
                                .mem_bps = 20 * MiB, .dirty_bps = 3 * MiB + 100 * 1024, .iteration = 2 };
        char b[256];
        (void)state;
        progress_bar(b, sizeof(b), &s, NULL, 20);
        assert_string_equal(b, "[#########...........]  45%  110.0 MiB left  20.0 MiB/s  dirty 3.1 MiB/s  pass 2  0:12  ETA 0:06");
        progress_bar(b, sizeof(b), &s, "post-copy", 10);
        assert_string_equal(b, "[####......]  45%  110.0 MiB left  20.0 MiB/s  dirty 3.1 MiB/s  pass 2  0:12  post-copy");
}

static void test_line(void **state)
{
        struct mig_sample s = { .elapsed_ms = 3000, .data_total = 100 * MiB, .data_remaining = 100 * MiB };
        char b[256];
        (void)state;
        progress_line(b, sizeof(b), "instance-1", &s, NULL);
        assert_string_equal(b, "instance-1: 0% done, 100.0 MiB left, 0 B/s, dirty 0 B/s, elapsed 0:03, ETA ?");
        s.iteration = 3;
        s.data_remaining = 10 * MiB;
        s.mem_bps = 10 * MiB;
        progress_line(b, sizeof(b), "instance-1", &s, "stalled");
        assert_string_equal(b, "instance-1: 90% done, 10.0 MiB left, 10.0 MiB/s, dirty 0 B/s, pass 3, elapsed 0:03, ETA 0:01, stalled");
}

/* What f received, as a string to free. */
static char *text_of(FILE *f, char **buf)
{
        assert_int_equal(fclose(f), 0);
        return *buf;
}

static void test_json(void **state)
{
        struct mig_sample s = { .elapsed_ms = 1500, .data_total = 1000, .data_processed = 600, .data_remaining = 400,
                                .mem_total = 900, .mem_processed = 550, .mem_remaining = 350, .mem_bps = 100,
                                .dirty_bps = 0, .iteration = 1, .downtime_ms = 50 };
        char *b = NULL;
        size_t n;
        FILE *f;
        (void)state;
        assert_non_null(f = open_memstream(&b, &n));
        progress_json(f, "a\"b\\c", &s, NULL);
        assert_string_equal(text_of(f, &b), "{\"event\":\"progress\",\"domain\":\"a\\\"b\\\\c\",\"elapsed_ms\":1500,\"percent\":60,"
                                            "\"data_total\":1000,\"data_processed\":600,\"data_remaining\":400,"
                                            "\"memory_total\":900,\"memory_processed\":550,\"memory_remaining\":350,"
                                            "\"speed_bps\":100,\"dirty_bps\":0,\"iteration\":1,\"downtime_ms\":50,"
                                            "\"eta_ms\":4000,\"phase\":\"precopy\"}\n");
        free(b);
        s.mem_bps = 0;
        s.postcopy = true;
        assert_non_null(f = open_memstream(&b, &n));
        progress_json(f, "d", &s, NULL);
        assert_non_null(strstr(text_of(f, &b), "\"eta_ms\":null,\"phase\":\"postcopy\"}\n"));
        free(b);

        /* QEMU's sample of the dirty rate, when known, and a decision made
         * on it during pass 1: that pass, said to be in it */
        s.dirty_sampled = true, s.sampled_dirty_bps = 134 << 20, s.sampled_ms = 1000;
        struct converge_action a = { .kind = CONVERGE_POSTCOPY, .reason = "r",
                                     .pred = { .valid = true, .in_pass = true, .iteration = 1, .first_pass = 1,
                                               .pass_ms = 3100, .remaining = 279 << 20, .transfer_bps = 21 << 20,
                                               .dirty_bps = 134 << 20, .ratio_pm = 6381, .sampled_ms = 1000 } };
        assert_non_null(f = open_memstream(&b, &n));
        progress_json(f, "d", &s, NULL);
        decision_json(f, "d", 3100, &a, true, "m");
        const char *t = text_of(f, &b);
        assert_non_null(strstr(t, "\"downtime_ms\":50,\"sampled_dirty_bps\":140509184,\"sampled_ms\":1000,\"eta_ms\""));
        assert_non_null(strstr(t, "\"pass\":1,\"first_pass\":1,\"in_pass\":true,\"sampled_ms\":1000,\"pass_ms\":3100,"));
        free(b);
        s.dirty_sampled = false, s.sampled_dirty_bps = 0;
        a.pred.in_pass = false, a.pred.iteration = 2;
        assert_non_null(f = open_memstream(&b, &n));
        progress_json(f, "d", &s, NULL);
        decision_json(f, "d", 3100, &a, true, "m");
        t = text_of(f, &b);
        assert_null(strstr(t, "sampled"));
        assert_null(strstr(t, "in_pass"));
        assert_non_null(strstr(t, "\"pass\":1,\"first_pass\":1,\"pass_ms\":3100,"));
        free(b);

        assert_non_null(f = open_memstream(&b, &n));
        event_json(f, "policy", "d", 42, "downtime_ms", 50, "raising\nthe \x01 downtime");
        event_json(f, "result", "d", 7, NULL, 0, NULL);
        assert_string_equal(text_of(f, &b), "{\"event\":\"policy\",\"domain\":\"d\",\"elapsed_ms\":42,\"downtime_ms\":50,"
                                            "\"message\":\"raising\\nthe \\u0001 downtime\"}\n"
                                            "{\"event\":\"result\",\"domain\":\"d\",\"elapsed_ms\":7}\n");
        free(b);
}

/* A domain name or libvirt message that is not valid UTF-8 still gives
 * valid JSON: the bad bytes become U+FFFD (progress.c once passed them
 * through). */
static void test_json_invalid_utf8(void **state)
{
        char *b = NULL;
        size_t n;
        FILE *f;
        (void)state;
        assert_non_null(f = open_memstream(&b, &n));
        event_json(f, "start", "caf\xc3\xa9-\xff", 0, NULL, 0, "bad \xc3( byte");
        assert_string_equal(text_of(f, &b), "{\"event\":\"start\",\"domain\":\"caf\xc3\xa9-\\ufffd\",\"elapsed_ms\":0,"
                                            "\"message\":\"bad \\ufffd( byte\"}\n");
        free(b);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_bytes),
                cmocka_unit_test(test_duration),
                cmocka_unit_test(test_percent_eta),
                cmocka_unit_test(test_bar),
                cmocka_unit_test(test_line),
                cmocka_unit_test(test_json),
                cmocka_unit_test(test_json_invalid_utf8),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
