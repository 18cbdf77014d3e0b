/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The flight recorder's file: the strict one-object-a-line JSON reader,
 * writing a record with progress.h's lines and reading it back, the record
 * file name, and a recorded lab migration (tests/data/converge/). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "jsonparse.h"
#include "progress.h"
#include "record.h"
#include "testutil.h"
#include "util.h"

static void test_parse_values(void **state)
{
        struct json_object o;
        const char *err;
        (void)state;
        assert_int_equal(json_parse_object(" {\"a\":1,\"b\":-2.5e3,\"c\":\"x\\\"y\\\\z\\n\\u00e9\\ud83d\\ude00\",\"d\":true,"
                                           "\"e\":false,\"f\":null,\"a\":7} \n", &o, &err), 0);
        assert_int_equal(o.n, 7);
        assert_true(json_object_num(&o, "a", 0) == 7); /* the last one wins */
        assert_true(json_object_num(&o, "b", 0) == -2500);
        assert_string_equal(json_object_str(&o, "c"), "x\"y\\z\n\xc3\xa9\xf0\x9f\x98\x80");
        assert_true(json_object_bool(&o, "d", false));
        assert_false(json_object_bool(&o, "e", true));
        assert_int_equal(json_object_get(&o, "f")->type, JSON_NULL);
        assert_true(json_object_num(&o, "f", 42) == 42); /* null is no number */
        assert_null(json_object_str(&o, "a"));
        assert_null(json_object_get(&o, "missing"));
        json_object_free(&o);
        assert_int_equal(json_parse_object("{}", &o, &err), 0);
        assert_int_equal(o.n, 0);
        json_object_free(&o);
}

static void test_parse_refuses(void **state)
{
        static const char *const bad[] = {
                "", "[]", "{", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "{\"a\":1} x", "{a:1}", "{\"a\":01}", "{\"a\":1.}",
                "{\"a\":.5}", "{\"a\":-}", "{\"a\":1e}", "{\"a\":tru}", "{\"a\":{\"b\":1}}", "{\"a\":[1]}",
                "{\"a\":\"unterminated}", "{\"a\":\"\\x\"}", "{\"a\":\"\\u12\"}", "{\"a\":\"\\ud800\"}",
                "{\"a\":\"\\udc00\"}", "{\"a\":\"\\u0000\"}", "{\"a\":\"tab\there\"}", "{\"a\":\"ends\\",
        };
        (void)state;
        for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
                struct json_object o;
                const char *err = NULL;
                if (json_parse_object(bad[i], &o, &err) != -EINVAL)
                        fail_msg("accepted: %s", bad[i]);
                assert_non_null(err);
                assert_null(o.v);
        }
}

static void test_write_and_read_back(void **state)
{
        char *buf = NULL;
        size_t n = 0;
        FILE *f = open_memstream(&buf, &n);
        struct converge_policy pol = { .downtime_max_ms = 500, .downtime_steps = 10, .completion_timeout_ms = 60000,
                                       .postcopy = true };
        struct record_header h = { .domain = "g\xff", .destination = "qemu+tcp://hostB/system", .flags = "live,postcopy",
                                   .memory_bytes = 320 << 20, .bandwidth_mib = 20, .policy = &pol };
        struct mig_sample s = { .elapsed_ms = 1500, .data_total = 1000, .data_remaining = 400, .mem_remaining = 300,
                                .mem_bps = 100, .dirty_bps = 50, .iteration = 2, .downtime_ms = 95 };
        struct converge_action a = { .kind = CONVERGE_POSTCOPY, .reason = "r",
                                     .pred = { .valid = true, .iteration = 2, .remaining = 300, .transfer_bps = 100,
                                               .dirty_bps = 50, .ratio_pm = 500, .postcopy_ms = 3000 } };
        struct recording r;
        _cleanup_free_ char *err = NULL;
        (void)state;

        assert_non_null(f);
        record_write_header(f, &h);
        event_json(f, "iteration", "g", 1400, "iteration", 2, "memory pass 2 begins");
        progress_json(f, "g", &s, NULL);
        decision_json(f, "g", 1500, &a, true, "switching");
        s.elapsed_ms = 2000;
        s.postcopy = true;
        s.dirty_sampled = true; /* QEMU's sample, here of 0 bytes/s: known all the same */
        s.sampled_ms = 1000;
        progress_json(f, "g", &s, NULL);
        event_json(f, "result", "g", 2500, NULL, 0, "done"); /* an old-style result: no status */
        fclose(f);

        f = fmemopen(buf, n, "r");
        assert_int_equal(record_read(f, "mem", &r, &err), 0);
        fclose(f);
        assert_true(r.have_header);
        assert_string_equal(r.domain, "g\xef\xbf\xbd"); /* invalid UTF-8 came back as U+FFFD */
        assert_string_equal(r.destination, "qemu+tcp://hostB/system");
        assert_int_equal(r.memory_bytes, 320 << 20);
        assert_int_equal(r.policy.downtime_max_ms, 500);
        assert_int_equal(r.policy.completion_timeout_ms, 60000);
        assert_true(r.policy.postcopy);
        assert_int_equal(r.n_samples, 2);
        assert_int_equal(r.samples[0].s.mem_remaining, 300);
        assert_int_equal(r.samples[0].s.iteration, 2);
        assert_int_equal(r.samples[0].s.downtime_ms, 95);
        assert_false(r.samples[0].s.postcopy);
        assert_false(r.samples[0].s.dirty_sampled);
        assert_true(r.samples[1].s.postcopy);
        assert_true(r.samples[1].s.dirty_sampled);
        assert_int_equal(r.samples[1].s.sampled_dirty_bps, 0);
        assert_int_equal(r.samples[1].s.sampled_ms, 1000);
        assert_int_equal(r.n_marks, 2);
        assert_string_equal(r.marks[0].event, "iteration");
        assert_int_equal(r.marks[0].value, 2);
        assert_string_equal(r.marks[1].action, "postcopy");
        assert_true(r.marks[1].applied);
        assert_true(r.marks[1].predicted);
        assert_false(r.marks[1].converges);
        assert_true(r.have_result);
        assert_string_equal(r.status, "failed"); /* no exit 0 either */
        recording_free(&r);
        free(buf);

        /* a line that is not an object names the line */
        static char two[] = "{\"event\":\"progress\"}\nnot json\n";
        f = fmemopen(two, strlen(two), "r");
        assert_int_equal(record_read(f, "x.jsonl", &r, &err), -EINVAL);
        fclose(f);
        assert_non_null(strstr(err, "x.jsonl:2: not a line of a migkit record"));
}

static void test_record_path(void **state)
{
        char *p;
        (void)state;
        assert_int_equal(record_path("/var/log/migkit", "../inst ance/1", 0, &p), 0);
        /* no '/' and no leading dot: the file stays in the directory */
        assert_true(strncmp(p, "/var/log/migkit/_._inst_ance_1-19", 33) == 0);
        assert_non_null(strstr(p, ".jsonl"));
        assert_null(strchr(p + strlen("/var/log/migkit/"), '/'));
        free(p);
}

static void test_recorded_lab_migration(void **state)
{
        struct recording r;
        _cleanup_free_ char *err = NULL;
        (void)state;
        assert_int_equal(record_load("tests/data/converge/busy-postcopy.jsonl", &r, &err), 0);
        assert_string_equal(r.status, "ok");
        assert_true(r.postcopy);
        assert_true(r.downtime_ms >= 0);
        assert_true(r.memory_bytes >= 300ULL << 20);
        assert_int_equal(r.bandwidth_mib, 20);
        size_t iterations = 0;
        for (size_t i = 0; i < r.n_marks; i++)
                iterations += streq(r.marks[i].event, "iteration");
        assert_true(iterations >= 2);
        recording_free(&r);
        assert_int_equal(record_load("tests/data/converge/no-such.jsonl", &r, &err), -ENOENT);
        assert_non_null(strstr(err, "no-such.jsonl: cannot open"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_values),
                cmocka_unit_test(test_parse_refuses),
                cmocka_unit_test(test_write_and_read_back),
                cmocka_unit_test(test_record_path),
                cmocka_unit_test(test_recorded_lab_migration),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
