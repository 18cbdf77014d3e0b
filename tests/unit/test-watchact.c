/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* watch_act(): what migkit-watch does once it decided, when its helpers let
 * it down. A cleanup job that cannot be started leaves a pending item that
 * says what to run (the proof stays on record); a proof that cannot be
 * recorded starts nothing; a job for a proof already on record is started
 * on its own; journal marks land in the journal. systemctl is a script that
 * records what it was asked (synchronously: "not asked" is a fact). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <libvirt/virterror.h>

#include "config.h"
#include "journal.h"
#include "lifecycle.h"
#include "pending.h"
#include "proof.h"
#include "watch.h"
#include "watch-priv.h"
#include "util.h"
#include "virt.h"
#include "testutil.h"

#define UUID "4a6b2c1e-9f3d-4b8a-a1c2-3d4e5f607182"

struct fx {
        char root[64];
        char *log, *answer;
        struct mk_config cfg;
        struct watch *w;
        struct journal j;
};

static int setup(void **state)
{
        struct fx *f = calloc(1, sizeof(*f));
        if (!f || scratch_dir(f->root, sizeof(f->root), "watchact") < 0 || config_defaults(&f->cfg) < 0)
                return -1;
        fake_systemctl(&f->cfg, f->root, &f->log, &f->answer);
        set_field(&f->cfg.state_dir, "%s/state", f->root);
        set_field(&f->cfg.instances_path, "%s/instances", f->root);
        f->cfg.cleanup_launcher = LAUNCHER_SYSTEMD;
        if (mkdir(f->cfg.state_dir, 0700) < 0 || mkdir(f->cfg.instances_path, 0755) < 0)
                return -1;
        f->j = (struct journal) { .uuid = (char *)UUID, .name = (char *)"web1", .started = time(NULL) };
        virt_quiet_errors();
        *state = f;
        return watch_new(&f->cfg, "test:///default", &f->w);
}

static int teardown(void **state)
{
        struct fx *f = *state;
        watch_free(f->w);
        config_free(&f->cfg);
        int r = rm_tree(f->root);
        free(f->log);
        free(f->answer);
        free(f);
        return r;
}

static char *pending_text(struct fx *f, const char *action)
{
        char *t = NULL;
        _cleanup_free_ char *p = pathf("%s/pending/%s.%s", f->cfg.state_dir, UUID, action);
        if (read_full_file(p, 65536, &t) < 0)
                return NULL;
        return t;
}

/* Migrated: the proof is recorded, the job cannot be started: a pending
 * source cleanup says what to run, nothing removed. */
static void test_job_not_started(void **state)
{
        struct fx *f = *state;
        struct watch_decision d = { .actions = WATCH_PROOF_MIGRATED | WATCH_RUN_SOURCE };
        struct proof p = { 0 };
        _cleanup_free_ char *log = NULL, *pend = NULL;
        put(f->answer, "1");
        watch_act(f->w, UUID, "web1", "stopped/migrated", &d, &f->j);
        assert_int_equal(proof_load(f->cfg.state_dir, UUID, &p), 0);
        assert_int_equal(p.kind, PROOF_MIGRATED);
        assert_string_equal(p.by, "watch");
        assert_string_equal(p.detail, "event stopped/migrated");
        proof_free(&p);
        log = text_or_empty(f->log);
        assert_string_equal(log, "start --no-block migkit-cleanup@source-" UUID ".service\n");
        pend = pending_text(f, "source");
        assert_non_null(pend);
        assert_non_null(strstr(pend, "migkit-watch could not start migkit-cleanup source"));
        assert_non_null(strstr(pend, "run `migkit-cleanup source " UUID "`"));
}

/* The proof cannot be recorded: nothing is started. */
static void test_no_proof_no_job(void **state)
{
        struct fx *f = *state;
        struct watch_decision d = { .actions = WATCH_PROOF_FAILED | WATCH_RUN_ROLLBACK, .why = "the incoming migration failed" };
        _cleanup_free_ char *log = NULL, *proofdir = pathf("%s/proof", f->cfg.state_dir);
        put(proofdir, "a file where the proof directory should be");
        watch_act(f->w, UUID, "web1", "stopped/failed", &d, &f->j);
        log = text_or_empty(f->log);
        assert_string_equal(log, "");
}

/* A rollback proof and its job; then a source job for a proof already on
 * record (no new proof). */
static void test_jobs_started(void **state)
{
        struct fx *f = *state;
        struct watch_decision d = { .actions = WATCH_PROOF_FAILED | WATCH_RUN_ROLLBACK, .why = "the incoming migration failed" };
        struct proof p = { 0 };
        _cleanup_free_ char *log = NULL;
        watch_act(f->w, UUID, NULL, "stopped/failed", &d, &f->j);
        assert_int_equal(proof_load(f->cfg.state_dir, UUID, &p), 0);
        assert_int_equal(p.kind, PROOF_INCOMING_FAILED);
        assert_string_equal(p.name, "web1"); /* from the journal */
        assert_string_equal(p.detail, "event stopped/failed: the incoming migration failed");
        proof_free(&p);
        log = text_or_empty(f->log);
        assert_string_equal(log, "start --no-block migkit-cleanup@rollback-" UUID ".service\n");
        assert_null(pending_text(f, "rollback"));

        struct watch_decision s = { .actions = WATCH_RUN_SOURCE };
        watch_act(f->w, UUID, "web1", "stopped/migrated", &s, &f->j);
        free(log);
        log = text_or_empty(f->log);
        assert_non_null(strstr(log, "start --no-block migkit-cleanup@source-" UUID ".service\n"));
        assert_int_equal(proof_load(f->cfg.state_dir, UUID, &p), 0);
        assert_int_equal(p.kind, PROOF_INCOMING_FAILED); /* not replaced */
        proof_free(&p);
}

static void test_marks_and_pending(void **state)
{
        struct fx *f = *state;
        struct journal got = { 0 };
        _cleanup_free_ char *pend = NULL;
        assert_int_equal(journal_save(f->cfg.state_dir, &f->j), 0);
        struct watch_decision d = { .actions = WATCH_MARK_POSTCOPY, .why = NULL };
        watch_act(f->w, UUID, "web1", "resumed/post-copy", &d, &f->j);
        assert_int_equal(journal_load(f->cfg.state_dir, UUID, &got), 0);
        assert_true(got.postcopy > 0);
        assert_true(got.arrived == 0);
        journal_free(&got);

        struct watch_decision pd = { .actions = WATCH_PENDING_SOURCE, .pending = WATCH_PENDING_LEFT_UNPROVEN };
        watch_act(f->w, UUID, "web1", "undefined/removed", &pd, &f->j);
        pend = pending_text(f, "source");
        assert_non_null(pend);
        _cleanup_free_ char *want = watch_pending_text(WATCH_PENDING_LEFT_UNPROVEN, UUID);
        assert_non_null(strstr(pend, want));
        _cleanup_free_ char *log = text_or_empty(f->log);
        assert_string_equal(log, "");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_job_not_started, setup, teardown),
                cmocka_unit_test_setup_teardown(test_no_proof_no_job, setup, teardown),
                cmocka_unit_test_setup_teardown(test_jobs_started, setup, teardown),
                cmocka_unit_test_setup_teardown(test_marks_and_pending, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
