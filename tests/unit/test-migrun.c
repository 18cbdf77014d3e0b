/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* migrate_run() end to end against libvirt's test driver (test:///default:
 * one running guest, "test", shared by every connection of the process, so
 * the destination sees it running as soon as the job "succeeds"), with the
 * fake job of fakejob.h. What matters: a refusal starts no job;
 * success is only declared once the guest runs on the destination, and the
 * source cleanup is handed over only then; a failure says where the guest
 * is; the policy's and the operator's aborts reach libvirt. The abort
 * request is process-wide and never reset, so that test runs last. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <libvirt/virterror.h>

#include "config.h"
#include "migrate.h"
#include "proof.h"
#include "util.h"
#include "testutil.h"
#include "fakejob.h"

#define TEST_UUID "6695eb01-f6a4-8304-79aa-97f2502e193f"

/* ------------------------------------------------------------ fixture */

struct fx {
        char root[64];
        char *state, *marker, *prog;
        struct mk_config cfg;
        struct migrate_opts o;
        struct migrate_result res;
        char *out;
        size_t outlen;
};

static int setup(void **state)
{
        struct fx *f = calloc(1, sizeof(*f));
        if (!f || scratch_dir(f->root, sizeof(f->root), "migrun") < 0 || config_defaults(&f->cfg) < 0)
                return -1;
        f->state = pathf("%s/state", f->root);
        f->marker = pathf("%s/cleanup-ran", f->root);
        f->prog = pathf("%s/fake-cleanup", f->root);
        if (mkdir(f->state, 0700) < 0)
                return -1;
        /* stands in for migkit-cleanup: says with what it was started */
        _cleanup_free_ char *script = pathf("#!/bin/sh\necho \"$@\" > %s.tmp && mv %s.tmp %s\n", f->marker, f->marker, f->marker);
        put(f->prog, script);
        chmod(f->prog, 0755);
        set_field(&f->cfg.state_dir, "%s", f->state);
        set_field(&f->cfg.libvirt_uri, "test:///default");
        set_field(&f->cfg.cleanup_program, "%s", f->prog);
        f->cfg.cleanup_launcher = LAUNCHER_DIRECT;
        set_field(&f->cfg.run_dir, "%s/run", f->root);
        f->cfg.migrate_upload = false;
        f->o = (struct migrate_opts) {
                .domain = "test", .dest = "test:///default", .auto_converge = -1, .postcopy = -1, .bandwidth = -1,
                .postcopy_bandwidth = -1, .max_downtime_ms = -1, .completion_timeout_ms = -1, .stall_ms = -1,
                .upload = 0, .output = MIGRATE_OUT_JSON, .interval_ms = 1, .no_preflight = true, .no_cleanup = true,
        };
        fake_reset();
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fx *f = *state;
        migrate_result_free(&f->res);
        config_free(&f->cfg);
        free(f->out);
        int r = rm_tree(f->root);
        free(f->state);
        free(f->marker);
        free(f->prog);
        free(f);
        return r;
}

/* Runs the migration with its output caught in f->out. */
static int run(struct fx *f)
{
        free(f->out); /* the last run's */
        f->out = NULL;
        FILE *out = open_memstream(&f->out, &f->outlen);
        assert_non_null(out);
        f->o.out = out;
        int r = migrate_run(&f->cfg, &f->o, &f->res);
        fclose(out);
        f->o.out = NULL;
        return r;
}

static const struct step converging[] = {
        { 0, 300 * MiB, 300 * MiB, 1 },
        { 1000, 300 * MiB, 120 * MiB, 1 },
        { 2000, 300 * MiB, 8 * MiB, 2 },
};

/* ------------------------------------------------------------ refusals */

static void test_refusals_start_nothing(void **state)
{
        struct fx *f = *state;

        f->o.dest = "bad host!";
        assert_int_equal(run(f), 0);
        assert_int_equal(f->res.status, MIGRATE_REFUSED);
        assert_non_null(strstr(f->res.error, "'bad host!' is not a host name or URI"));
        assert_int_equal(migrate_exit_code(f->res.status), MIGKIT_EXIT_REFUSED);
        migrate_result_free(&f->res);

        f->o.dest = "test:///default";
        f->o.domain = "no-such-guest";
        assert_int_equal(run(f), 0);
        assert_int_equal(f->res.status, MIGRATE_REFUSED);
        assert_non_null(strstr(f->res.error, "no domain 'no-such-guest' on this host (test:///default)"));
        migrate_result_free(&f->res);

        /* a destination that cannot be reached, named in the refusal */
        f->o.domain = "test";
        _cleanup_free_ char *gone = pathf("test://%s/missing.xml", f->root);
        f->o.dest = gone;
        assert_int_equal(run(f), 0);
        assert_int_equal(f->res.status, MIGRATE_REFUSED);
        assert_non_null(strstr(f->res.error, "cannot connect to test://"));
        migrate_result_free(&f->res);

        /* this host's libvirt unreachable: an error (nothing was checked) */
        f->o.dest = "test:///default";
        f->o.source_uri = gone;
        assert_int_equal(run(f), 0);
        assert_int_equal(f->res.status, MIGRATE_ERROR);
        assert_non_null(strstr(f->res.error, "cannot connect to this host's libvirt at test://"));
        migrate_result_free(&f->res);
        f->o.source_uri = NULL;

        /* an unknown compression method */
        f->o.compression = "lz4";
        assert_int_equal(run(f), 0);
        assert_int_equal(f->res.status, MIGRATE_REFUSED);
        assert_non_null(strstr(f->res.error, "compression 'lz4' is not none or methods among"));
        migrate_result_free(&f->res);
        f->o.compression = NULL;

        /* the preflight: the destination already has a guest of that UUID
         * (it is this very host) */
        f->o.no_preflight = false;
        assert_int_equal(run(f), 0);
        assert_int_equal(f->res.status, MIGRATE_REFUSED);
        assert_non_null(strstr(f->res.error, "test cannot migrate to test:///default now"));
        assert_string_equal(f->res.uuid, TEST_UUID);

        assert_int_equal(fk.migrate_calls, 0);
        assert_false(exists(f->marker));
}

/* ------------------------------------------------------------ success */

static void test_success_verified_then_handed_over(void **state)
{
        struct fx *f = *state;
        _cleanup_free_ char *rec = pathf("%s/flight.json", f->root), *recbuf = NULL;
        _cleanup_free_ char *marker = NULL;
        f->o.record = rec;
        f->o.no_cleanup = false;
        fake(converging, ARRAY_SIZE(converging));

        assert_int_equal(run(f), 0);
        assert_int_equal(f->res.status, MIGRATE_OK);
        assert_null(f->res.error);
        assert_true(f->res.verified);
        assert_string_equal(f->res.name, "test");
        assert_string_equal(f->res.uuid, TEST_UUID);
        assert_string_equal(f->res.dest_uri, "test:///default");
        /* no job-completed event from the test driver: the destination's
         * completed job statistics give the downtime */
        assert_int_equal(f->res.downtime_ms, 42);
        assert_false(f->res.postcopy);
        assert_int_equal(fk.migrate_calls, 1);
        unsigned long want = VIR_MIGRATE_LIVE | VIR_MIGRATE_PEER2PEER | VIR_MIGRATE_PERSIST_DEST | VIR_MIGRATE_UNDEFINE_SOURCE;
        assert_int_equal(fk.flags & want, want);
        /* the policy set the allowed downtime at the start */
        assert_true(fk.ndowntimes >= 1);
        assert_int_equal(fk.abort_calls, 0);

        /* JSON lines: start, the samples, the result */
        assert_non_null(strstr(f->out, "\"event\":\"start\""));
        assert_non_null(strstr(f->out, "\"event\":\"progress\""));
        assert_non_null(strstr(f->out, "\"status\":\"ok\""));
        assert_non_null(strstr(f->out, "\"downtime_ms\":42"));
        /* no post-copy allowed: no dirty-rate sampling either */
        assert_null(strstr(f->out, "\"event\":\"dirtyrate\""));
        /* the flight record */
        assert_string_equal(f->res.record, rec);
        assert_true(read_full_file(rec, 1 << 20, &recbuf) > 0);
        assert_non_null(strstr(recbuf, "test:///default"));

        /* the migrated proof is on record, and the cleanup was started with
         * it (the fake program writes its arguments once it ran) */
        struct proof p = { 0 };
        assert_int_equal(proof_load(f->state, TEST_UUID, &p), 0);
        assert_int_equal(p.kind, PROOF_MIGRATED);
        assert_string_equal(p.by, "driver");
        proof_free(&p);
        assert_true(f->res.cleanup_started);
        for (int i = 0; i < 1000 && !exists(f->marker); i++)
                usleep(10 * 1000);
        assert_true(read_full_file(f->marker, 4096, &marker) > 0);
        assert_string_equal(marker, "source " TEST_UUID "\n");
}

/* libvirt says done, but the guest does not run on the destination: no
 * success, no proof, no cleanup. */
static void test_success_not_running_there(void **state)
{
        struct fx *f = *state;
        f->o.no_cleanup = false;
        f->o.output = MIGRATE_OUT_LINES;
        fake(converging, ARRAY_SIZE(converging));
        fk.stop_guest = true;

        assert_int_equal(run(f), 0);
        assert_int_equal(f->res.status, MIGRATE_FAILED);
        assert_false(f->res.verified);
        assert_false(f->res.cleanup_started);
        assert_non_null(strstr(f->res.error, "libvirt reported success but test (" TEST_UUID ") is not running on test:///default"));
        assert_non_null(strstr(f->res.error, "shut off"));
        assert_non_null(strstr(f->res.error, "the source cleanup was NOT started"));
        struct proof p = { 0 };
        assert_true(proof_load(f->state, TEST_UUID, &p) < 0);
        assert_false(exists(f->marker));
        /* plain lines name the domain */
        assert_non_null(strstr(f->out, "test: migrating to test:///default"));
}

/* ------------------------------------------------------------ failures */

static void test_libvirt_failure_says_where(void **state)
{
        struct fx *f = *state;
        f->o.no_cleanup = false;
        f->o.keep_source = true;
        assert_int_equal(run(f), 0); /* the real call: the test driver cannot migrate */
        assert_int_equal(f->res.status, MIGRATE_FAILED);
        assert_int_equal(migrate_exit_code(f->res.status), MIGKIT_EXIT_FAILED);
        assert_true(strncmp(f->res.error, "libvirt: ", 9) == 0);
        assert_non_null(strstr(f->res.after, "the guest is still running on the source"));
        assert_false(fk.flags & VIR_MIGRATE_UNDEFINE_SOURCE);
        assert_non_null(strstr(f->out, "\"status\":\"failed\""));
        assert_false(f->res.cleanup_started);
        assert_false(exists(f->marker));
}

static void test_policy_aborts_at_completion_timeout(void **state)
{
        struct fx *f = *state;
        static const struct step slow[] = {
                { 0, 300 * MiB, 300 * MiB, 1 },
                { 4000, 300 * MiB, 250 * MiB, 1 },
                { 6000, 300 * MiB, 240 * MiB, 2 },
                { 9000, 300 * MiB, 230 * MiB, 3 },
                { 12000, 300 * MiB, 230 * MiB, 4 },
        };
        f->o.completion_timeout_ms = 5000;
        fake(slow, ARRAY_SIZE(slow));

        assert_int_equal(run(f), 0);
        assert_int_equal(f->res.status, MIGRATE_FAILED);
        assert_true(f->res.policy_abort);
        assert_int_equal(fk.abort_calls, 1);
        assert_non_null(strstr(f->res.error, "aborted by the convergence policy: not finished within the completion timeout (5 s)"));
        assert_non_null(strstr(f->res.after, "the guest is still running on the source"));
        /* the samples after the abort were never read */
        assert_true(fk.pos < ARRAY_SIZE(slow));
}

/* Post-copy allowed: at the completion timeout the policy switches to
 * post-copy instead of aborting, says what that risks first, and the
 * result says the migration finished through post-copy. */
static void test_postcopy_at_completion_timeout(void **state)
{
        struct fx *f = *state;
        static const struct step slow[] = {
                { 0, 300 * MiB, 300 * MiB, 1 },
                { 4000, 300 * MiB, 250 * MiB, 1 },
                { 6000, 300 * MiB, 240 * MiB, 2 },
                { 7000, 300 * MiB, 100 * MiB, 2 },
        };
        f->o.postcopy = 1;
        f->o.completion_timeout_ms = 5000;
        fake(slow, ARRAY_SIZE(slow));

        assert_int_equal(run(f), 0);
        assert_int_equal(f->res.status, MIGRATE_OK);
        assert_true(f->res.postcopy);
        assert_false(f->res.policy_abort);
        assert_int_equal(fk.postcopy_calls, 1);
        assert_int_equal(fk.abort_calls, 0);
        assert_true(fk.flags & VIR_MIGRATE_POSTCOPY);
        assert_non_null(strstr(f->out, "\"event\":\"postcopy\""));
        assert_non_null(strstr(f->out, "if either host fails the guest is lost"));
        assert_non_null(strstr(f->out, "\"postcopy\":true"));
        /* the test driver cannot sample the dirty rate: said once, and the
         * policy went on without it (the switch above) */
        const char *d = strstr(f->out, "\"event\":\"dirtyrate\"");
        assert_non_null(d);
        assert_null(strstr(d + 1, "\"event\":\"dirtyrate\""));
        assert_non_null(strstr(f->out, "QEMU cannot sample test's dirty rate here (libvirt: "));
        assert_non_null(strstr(f->out, "the policy decides at the end of the first memory pass"));
}

/* Switched to post-copy at the completion timeout, then the post-copy breaks. */
static const struct step breaking[] = {
        { 0, 300 * MiB, 300 * MiB, 1 },
        { 4000, 300 * MiB, 250 * MiB, 1 },
        { 6000, 300 * MiB, 240 * MiB, 2 },
        { 7000, 300 * MiB, 100 * MiB, 2 },
};

static void fake_broken_postcopy(struct fx *f, int stuck_resumes)
{
        f->o.postcopy = 1;
        f->o.completion_timeout_ms = 5000;
        fake(breaking, ARRAY_SIZE(breaking));
        fk.break_postcopy = true;
        fk.stuck_resumes = stuck_resumes;
}

/* The post-copy breaks; the first attempt to resume it connects and sends
 * nothing: after the stall time it is paused again and the next attempt
 * starts at once (not after the usual pause between attempts); that one
 * finishes, and the result says the post-copy was resumed. */
static void test_postcopy_stuck_resume_paused_and_retried(void **state)
{
        struct fx *f = *state;
        fake_broken_postcopy(f, 1);
        f->o.stall_ms = 1000;
        f->cfg.migrate_postcopy_recover_ms = 60000;

        assert_int_equal(run(f), 0);
        assert_int_equal(f->res.status, MIGRATE_OK);
        assert_true(f->res.recovered);
        assert_int_equal(fk.resume_calls, 2);
        assert_int_equal(fk.pause_calls, 1);
        assert_non_null(strstr(f->out, "the post-copy broke after"));
        assert_non_null(strstr(f->out, "attempt 1 to resume the post-copy sent nothing for 1 s: pausing it to try again"));
        assert_non_null(strstr(f->out, "the post-copy was resumed (attempt 2) and finished"));
        /* the next attempt at once: a paused attempt is no failure to report */
        assert_null(strstr(f->out, "resuming the post-copy failed"));
}

/* An attempt still stuck when the recovery time is over (stall detection
 * off) is paused, so that migkit returns and says how to resume it by
 * hand instead of waiting for ever. */
static void test_postcopy_resume_paused_at_recovery_end(void **state)
{
        struct fx *f = *state;
        fake_broken_postcopy(f, 1);
        f->o.stall_ms = 0;
        f->cfg.migrate_postcopy_recover_ms = 1500;

        assert_int_equal(run(f), 0);
        assert_int_equal(f->res.status, MIGRATE_FAILED);
        assert_false(f->res.recovered);
        assert_int_equal(fk.resume_calls, 1);
        assert_int_equal(fk.pause_calls, 1);
        assert_non_null(strstr(f->out, "the post-copy was not resumed within 1 s ([migrate] postcopy-recover): pausing attempt 1"));
        assert_non_null(strstr(f->res.error, "the post-copy broke and was not resumed"));
        assert_non_null(strstr(f->res.error, "--postcopy-resume test"));
}

/* Post-copy asked for but dropped for parallel connections: QEMU's
 * dirty-rate sample was asked for early and is not used, and nothing is
 * said of it. */
static void test_dropped_postcopy_says_nothing_of_the_sample(void **state)
{
        struct fx *f = *state;
        f->o.postcopy = 1;
        f->o.parallel = 4;
        fake(converging, ARRAY_SIZE(converging));

        assert_int_equal(run(f), 0);
        assert_int_equal(f->res.status, MIGRATE_OK);
        assert_false(fk.flags & VIR_MIGRATE_POSTCOPY);
        assert_null(strstr(f->out, "\"event\":\"dirtyrate\""));
}

/* [migrate] record-dir: a flight record there per migration; a relative
 * one is warned about and no record written (the migration goes on). */
static void test_record_dir(void **state)
{
        struct fx *f = *state;
        _cleanup_free_ char *dir = pathf("%s/records", f->root);
        set_field(&f->cfg.migrate_record_dir, "records");
        fake(converging, ARRAY_SIZE(converging));
        assert_int_equal(run(f), 0);
        assert_int_equal(f->res.status, MIGRATE_OK);
        assert_null(f->res.record);
        assert_false(exists(dir));
        migrate_result_free(&f->res);

        set_field(&f->cfg.migrate_record_dir, "%s", dir);
        assert_int_equal(run(f), 0);
        assert_int_equal(f->res.status, MIGRATE_OK);
        assert_non_null(f->res.record);
        assert_true(strncmp(f->res.record, dir, strlen(dir)) == 0);
        assert_true(exists(f->res.record));
        assert_non_null(strstr(f->out, "flight record: "));
}

/* Last: the abort request stays set for the rest of the process. */
static void test_abort_on_request(void **state)
{
        struct fx *f = *state;
        static const struct step steady[] = {
                { 0, 300 * MiB, 300 * MiB, 1 }, { 500, 300 * MiB, 290 * MiB, 1 }, { 1000, 300 * MiB, 280 * MiB, 1 },
                { 1500, 300 * MiB, 270 * MiB, 1 }, { 2000, 300 * MiB, 260 * MiB, 1 },
        };
        fake(steady, ARRAY_SIZE(steady));
        fk.abort_request_at = 2;

        assert_int_equal(run(f), 0);
        assert_int_equal(f->res.status, MIGRATE_ABORTED);
        assert_int_equal(migrate_exit_code(f->res.status), MIGKIT_EXIT_ABORTED);
        assert_int_equal(fk.abort_calls, 1);
        assert_non_null(strstr(f->res.error, "aborted on request after"));
        assert_true(f->res.abort_latency_ms >= 0);
        assert_non_null(strstr(f->out, "aborting the migration on request"));
        assert_true(migrate_abort_requested());
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_refusals_start_nothing, setup, teardown),
                cmocka_unit_test_setup_teardown(test_success_verified_then_handed_over, setup, teardown),
                cmocka_unit_test_setup_teardown(test_success_not_running_there, setup, teardown),
                cmocka_unit_test_setup_teardown(test_libvirt_failure_says_where, setup, teardown),
                cmocka_unit_test_setup_teardown(test_policy_aborts_at_completion_timeout, setup, teardown),
                cmocka_unit_test_setup_teardown(test_postcopy_at_completion_timeout, setup, teardown),
                cmocka_unit_test_setup_teardown(test_postcopy_stuck_resume_paused_and_retried, setup, teardown),
                cmocka_unit_test_setup_teardown(test_postcopy_resume_paused_at_recovery_end, setup, teardown),
                cmocka_unit_test_setup_teardown(test_dropped_postcopy_says_nothing_of_the_sample, setup, teardown),
                cmocka_unit_test_setup_teardown(test_record_dir, setup, teardown),
                cmocka_unit_test_setup_teardown(test_abort_on_request, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
