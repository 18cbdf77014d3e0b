/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* dispatch_cleanup() and dispatch_handover(): which way migkit-cleanup is
 * started for each [cleanup] launcher, with what arguments, and when not at
 * all. systemctl is a script that records its arguments and answers as told
 * (spawn_wait runs it for real); the detached start is a seam
 * (-Wl,--wrap=spawn_detached) so that "not started" is a fact, not a guess
 * after a sleep. dispatch_forbid_direct() cannot be undone: last test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "config.h"
#include "detach.h"
#include "dispatch.h"
#include "proof.h"
#include "util.h"
#include "testutil.h"

#define UUID "4a6b2c1e-9f3d-4b8a-a1c2-3d4e5f607182"

static struct {
        int calls, ret;
        char path[256], args[256];
} sd;

int __wrap_spawn_detached(const char *path, char *const argv[]);
int __wrap_spawn_detached(const char *path, char *const argv[])
{
        sd.calls++;
        snprintf(sd.path, sizeof(sd.path), "%s", path);
        sd.args[0] = 0;
        for (size_t i = 1; argv[i]; i++)
                snprintf(sd.args + strlen(sd.args), sizeof(sd.args) - strlen(sd.args), "%s%s", i > 1 ? " " : "", argv[i]);
        return sd.ret;
}

struct fx {
        char root[64];
        char *log, *answer;
        struct mk_config cfg;
};

static int setup(void **state)
{
        struct fx *f = calloc(1, sizeof(*f));
        if (!f || scratch_dir(f->root, sizeof(f->root), "dispatch") < 0 || config_defaults(&f->cfg) < 0)
                return -1;
        fake_systemctl(&f->cfg, f->root, &f->log, &f->answer);
        set_field(&f->cfg.state_dir, "%s/state", f->root);
        set_field(&f->cfg.run_dir, "%s/run", f->root);
        set_field(&f->cfg.cleanup_program, "/usr/libexec/migkit/migkit-cleanup");
        memset(&sd, 0, sizeof(sd));
        *state = f;
        return mkdir(f->cfg.state_dir, 0700);
}

static int teardown(void **state)
{
        struct fx *f = *state;
        config_free(&f->cfg);
        int r = rm_tree(f->root);
        free(f->log);
        free(f->answer);
        free(f);
        return r;
}

static void systemd_runs(struct fx *f)
{
        _cleanup_free_ char *d = pathf("%s/run/systemd/system", f->root);
        assert_int_equal(mkdir_p(d, 0755), 0);
}

static void test_refused_starts_nothing(void **state)
{
        struct fx *f = *state;
        _cleanup_free_ char *log = NULL;
        assert_int_equal(dispatch_cleanup(&f->cfg, "purge", UUID), -EINVAL);
        assert_int_equal(dispatch_cleanup(&f->cfg, NULL, UUID), -EINVAL);
        assert_int_equal(dispatch_cleanup(&f->cfg, "source", "../../etc"), -EINVAL);
        assert_int_equal(dispatch_cleanup(&f->cfg, "source", NULL), -EINVAL);
        assert_int_equal(sd.calls, 0);
        log = text_or_empty(f->log);
        assert_string_equal(log, "");
        assert_true(dispatch_action_is_valid("commit"));
        assert_false(dispatch_action_is_valid("Source"));
}

static void test_direct(void **state)
{
        struct fx *f = *state;
        _cleanup_free_ char *log = NULL;
        f->cfg.cleanup_launcher = LAUNCHER_DIRECT;
        systemd_runs(f); /* not asked, whatever runs */
        assert_int_equal(dispatch_cleanup(&f->cfg, "rollback", UUID), 0);
        assert_int_equal(sd.calls, 1);
        assert_string_equal(sd.path, "/usr/libexec/migkit/migkit-cleanup");
        assert_string_equal(sd.args, "rollback " UUID);
        log = text_or_empty(f->log);
        assert_string_equal(log, "");
        /* a start that fails is an error */
        sd.ret = -EAGAIN;
        assert_int_equal(dispatch_cleanup(&f->cfg, "rollback", UUID), -EAGAIN);
}

static void test_systemd(void **state)
{
        struct fx *f = *state;
        _cleanup_free_ char *log = NULL;
        f->cfg.cleanup_launcher = LAUNCHER_SYSTEMD;
        assert_int_equal(dispatch_cleanup(&f->cfg, "source", UUID), 0);
        log = text_or_empty(f->log);
        assert_string_equal(log, "start --no-block migkit-cleanup@source-" UUID ".service\n");
        /* systemctl fails: an error, and no direct start behind its back */
        put(f->answer, "5");
        assert_int_equal(dispatch_cleanup(&f->cfg, "source", UUID), -EIO);
        set_field(&f->cfg.systemctl, "%s/no-systemctl", f->root);
        assert_int_equal(dispatch_cleanup(&f->cfg, "source", UUID), -EIO);
        assert_int_equal(sd.calls, 0);
}

static void test_auto(void **state)
{
        struct fx *f = *state;
        _cleanup_free_ char *log = NULL;
        f->cfg.cleanup_launcher = LAUNCHER_AUTO;
        /* no systemd: direct, systemctl not asked */
        assert_int_equal(dispatch_cleanup(&f->cfg, "commit", UUID), 0);
        assert_int_equal(sd.calls, 1);
        log = text_or_empty(f->log);
        assert_string_equal(log, "");
        free(log);
        /* systemd: through it */
        systemd_runs(f);
        assert_int_equal(dispatch_cleanup(&f->cfg, "commit", UUID), 0);
        assert_int_equal(sd.calls, 1);
        log = text_or_empty(f->log);
        assert_string_equal(log, "start --no-block migkit-cleanup@commit-" UUID ".service\n");
        /* systemctl failing: direct after all */
        put(f->answer, "1");
        assert_int_equal(dispatch_cleanup(&f->cfg, "commit", UUID), 0);
        assert_int_equal(sd.calls, 2);
        assert_string_equal(sd.args, "commit " UUID);
}

static void test_handover(void **state)
{
        struct fx *f = *state;
        bool recorded = false;
        struct proof p = { .uuid = (char *)UUID, .name = (char *)"web1", .kind = PROOF_MIGRATED, .by = (char *)"driver" };
        struct proof got = { 0 };
        f->cfg.cleanup_launcher = LAUNCHER_DIRECT;

        /* recorded, nothing started without an action */
        assert_int_equal(dispatch_handover(&f->cfg, &p, NULL, &recorded), 0);
        assert_true(recorded);
        assert_int_equal(sd.calls, 0);
        assert_int_equal(proof_load(f->cfg.state_dir, UUID, &got), 0);
        assert_int_equal(got.kind, PROOF_MIGRATED);
        proof_free(&got);

        /* recorded and started */
        assert_int_equal(dispatch_handover(&f->cfg, &p, "source", &recorded), 0);
        assert_true(recorded);
        assert_int_equal(sd.calls, 1);
        assert_string_equal(sd.args, "source " UUID);

        /* recorded although the start failed: a later run can act on it */
        sd.ret = -ENOEXEC;
        assert_int_equal(dispatch_handover(&f->cfg, &p, "source", &recorded), -ENOEXEC);
        assert_true(recorded);

        /* not recorded: nothing started */
        sd.ret = 0;
        set_field(&f->cfg.state_dir, "%s/answer-is-no-dir", f->root);
        put(f->cfg.state_dir, "");
        assert_true(dispatch_handover(&f->cfg, &p, "source", &recorded) < 0);
        assert_false(recorded);
        assert_int_equal(sd.calls, 2);
}

/* Inside a service's sandbox: never a direct start. Last (cannot be undone). */
static void test_forbid_direct(void **state)
{
        struct fx *f = *state;
        _cleanup_free_ char *log = NULL;
        assert_int_equal(setenv("INVOCATION_ID", "0123", 1), 0);
        assert_true(dispatch_in_service());
        unsetenv("INVOCATION_ID");
        assert_false(dispatch_in_service());

        dispatch_forbid_direct();
        f->cfg.cleanup_launcher = LAUNCHER_DIRECT;
        assert_int_equal(dispatch_cleanup(&f->cfg, "rollback", UUID), -EPERM);
        f->cfg.cleanup_launcher = LAUNCHER_AUTO;
        assert_int_equal(dispatch_cleanup(&f->cfg, "rollback", UUID), -EPERM);
        assert_int_equal(sd.calls, 0);
        /* with systemd: through it; when it fails, an error, still no direct start */
        systemd_runs(f);
        assert_int_equal(dispatch_cleanup(&f->cfg, "rollback", UUID), 0);
        log = text_or_empty(f->log);
        assert_string_equal(log, "start --no-block migkit-cleanup@rollback-" UUID ".service\n");
        put(f->answer, "1");
        assert_int_equal(dispatch_cleanup(&f->cfg, "rollback", UUID), -EIO);
        assert_int_equal(sd.calls, 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_refused_starts_nothing, setup, teardown),
                cmocka_unit_test_setup_teardown(test_direct, setup, teardown),
                cmocka_unit_test_setup_teardown(test_systemd, setup, teardown),
                cmocka_unit_test_setup_teardown(test_auto, setup, teardown),
                cmocka_unit_test_setup_teardown(test_handover, setup, teardown),
                cmocka_unit_test_setup_teardown(test_forbid_direct, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
