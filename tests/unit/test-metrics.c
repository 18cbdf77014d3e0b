/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* [metrics] textfile: the counters persist in the state directory and add
 * up across processes (four writers at once lose nothing), the textfile is
 * rewritten whole, the gauges measure the pending items and the quarantine,
 * and each refusal text gets its reason label. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "config.h"
#include "metrics.h"
#include "pending.h"
#include "util.h"
#include "testutil.h"

#define UUID "4a6b2c1e-9f3d-4b8a-a1c2-3d4e5f607182"
#define UUID2 "0f0e0d0c-0b0a-4998-8776-655443322110"

struct fixture {
        char root[64];
        char *textfile;
        struct mk_config cfg;
};

static int setup(void **state)
{
        struct fixture *f = calloc(1, sizeof(*f));
        if (!f || scratch_dir(f->root, sizeof(f->root), "metrics") < 0 || config_defaults(&f->cfg) < 0)
                return -1;
        set_field(&f->cfg.state_dir, "%s/state", f->root);
        set_field(&f->cfg.instances_path, "%s/instances", f->root);
        f->textfile = pathf("%s/textfile/migkit.prom", f->root);
        set_field(&f->cfg.metrics_textfile, "%s", f->textfile);
        char *d = pathf("%s/textfile", f->root);
        assert_int_equal(mkdir(d, 0755), 0);
        assert_int_equal(mkdir(f->cfg.instances_path, 0755), 0);
        free(d);
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;
        rm_tree(f->root);
        config_free(&f->cfg);
        free(f->textfile);
        free(f);
        return 0;
}

/* The value of the series line "<series> <value>" in the textfile, -1 if
 * there is no such line. */
static long long value(const struct fixture *f, const char *series)
{
        _cleanup_free_ char *t = NULL;
        if (read_full_file(f->textfile, 1 << 20, &t) < 0)
                return -1;
        size_t n = strlen(series);
        for (char *l = t; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
                if (strncmp(l, series, n) == 0 && l[n] == ' ')
                        return atoll(l + n + 1);
        return -1;
}

static void test_off_without_textfile(void **state)
{
        struct fixture *f = *state;
        set_field(&f->cfg.metrics_textfile, "%s", "");
        assert_int_equal(metrics_count(&f->cfg, METRIC_IN_SUCCESS), 0);
        assert_int_equal(metrics_update(&f->cfg), 0);
        assert_false(exists(f->textfile));
        char *store = pathf("%s/metrics", f->cfg.state_dir);
        assert_false(exists(store));
        free(store);
}

static void test_counts_persist(void **state)
{
        struct fixture *f = *state;
        assert_int_equal(metrics_update(&f->cfg), 0);
        assert_int_equal(value(f, "migkit_migrations_in_total{result=\"success\"}"), 0);
        assert_int_equal(value(f, "migkit_last_purge_timestamp_seconds"), 0);
        assert_int_equal(metrics_count(&f->cfg, METRIC_IN_SUCCESS), 0);
        assert_int_equal(metrics_count(&f->cfg, METRIC_IN_SUCCESS), 0);
        assert_int_equal(metrics_count(&f->cfg, METRIC_OUT_SUCCESS), 0);
        assert_int_equal(metrics_count(&f->cfg, METRIC_ROLLBACK_PARTIAL), 0);
        time_t before = time(NULL);
        assert_int_equal(metrics_count(&f->cfg, METRIC_PURGED), 0);
        assert_int_equal(value(f, "migkit_migrations_in_total{result=\"success\"}"), 2);
        assert_int_equal(value(f, "migkit_migrations_in_total{result=\"failed\"}"), 0);
        assert_int_equal(value(f, "migkit_migrations_out_total{result=\"success\"}"), 1);
        assert_int_equal(value(f, "migkit_rollbacks_total{result=\"partial\"}"), 1);
        assert_true(value(f, "migkit_last_purge_timestamp_seconds") >= before);
        /* the counters are in the state directory, not in the textfile */
        assert_int_equal(unlink(f->textfile), 0);
        assert_int_equal(metrics_count(&f->cfg, METRIC_IN_SUCCESS), 0);
        assert_int_equal(value(f, "migkit_migrations_in_total{result=\"success\"}"), 3);
        /* HELP and TYPE once per family, before its series */
        _cleanup_free_ char *t = NULL;
        assert_true(read_full_file(f->textfile, 1 << 20, &t) > 0);
        assert_non_null(strstr(t, "# HELP migkit_migrations_in_total "));
        assert_non_null(strstr(t, "# TYPE migkit_migrations_in_total counter\nmigkit_migrations_in_total{result=\"success\"} 3\n"));
        assert_non_null(strstr(t, "# TYPE migkit_quarantine_bytes gauge\n"));
        assert_null(strstr(strstr(t, "# TYPE migkit_migrations_in_total") + 1, "# TYPE migkit_migrations_in_total"));
        /* a store from elsewhere with a line this version does not know */
        char *store = pathf("%s/metrics", f->cfg.state_dir);
        put(store, "migkit-metrics 1\nmigkit_migrations_in_total{result=\"success\"} 40\nbogus{x=\"1 2\"} 5\n"
                   "migkit_rollbacks_total{result=\"done\"} notanumber\n");
        free(store);
        assert_int_equal(metrics_count(&f->cfg, METRIC_ROLLBACK_DONE), 0);
        assert_int_equal(value(f, "migkit_migrations_in_total{result=\"success\"}"), 40);
        assert_int_equal(value(f, "migkit_rollbacks_total{result=\"done\"}"), 1);
        assert_int_equal(value(f, "bogus{x=\"1"), -1);
}

static void test_concurrent_writers(void **state)
{
        struct fixture *f = *state;
        enum { WRITERS = 4, EACH = 25 };
        pid_t pids[WRITERS];
        for (int i = 0; i < WRITERS; i++) {
                pids[i] = fork();
                assert_true(pids[i] >= 0);
                if (pids[i] == 0) {
                        for (int k = 0; k < EACH; k++)
                                if (metrics_count(&f->cfg, k % 2 ? METRIC_SOURCE_DONE : METRIC_OUT_SUCCESS) < 0)
                                        _exit(1);
                        _exit(0);
                }
        }
        for (int i = 0; i < WRITERS; i++) {
                int st;
                assert_int_equal(waitpid(pids[i], &st, 0), pids[i]);
                assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
        }
        assert_int_equal(value(f, "migkit_migrations_out_total{result=\"success\"}"), WRITERS * ((EACH + 1) / 2));
        assert_int_equal(value(f, "migkit_source_cleanups_total{result=\"done\"}"), WRITERS * (EACH / 2));
}

static void test_gauges(void **state)
{
        struct fixture *f = *state;
        char *reasons[] = { "no proof", NULL };
        assert_int_equal(pending_record(f->cfg.state_dir, UUID, "source", "a", reasons), 0);
        assert_int_equal(pending_record(f->cfg.state_dir, UUID2, "source", "b", reasons), 0);
        assert_int_equal(pending_record(f->cfg.state_dir, UUID2, "rollback", "b", reasons), 0);
        char *q = pathf("%s/.migkit-quarantine", f->cfg.instances_path);
        char *e = pathf("%s/%s.1700000000", q, UUID);
        char *file = pathf("%s/disk", e);
        assert_int_equal(mkdir(q, 0700), 0);
        assert_int_equal(mkdir(e, 0755), 0);
        int fd = open(file, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        char buf[65536];
        memset(buf, 'x', sizeof(buf));
        assert_true(fd >= 0);
        assert_int_equal(write_all(fd, buf, sizeof(buf)), 0);
        assert_int_equal(fsync(fd), 0);
        close(fd);
        assert_int_equal(metrics_update(&f->cfg), 0);
        assert_int_equal(value(f, "migkit_pending_items{action=\"source\"}"), 2);
        assert_int_equal(value(f, "migkit_pending_items{action=\"rollback\"}"), 1);
        assert_int_equal(value(f, "migkit_quarantine_entries"), 1);
        assert_true(value(f, "migkit_quarantine_bytes") >= (long long)sizeof(buf));
        assert_true(value(f, "migkit_quarantine_bytes") < 4 * (long long)sizeof(buf));
        free(file);
        free(e);
        free(q);
}

static void test_refusal_reasons(void **state)
{
        struct fixture *f = *state;
        static const struct {
                const char *text, *reason;
        } cases[] = {
                { "no proof that the guest runs elsewhere (nothing in /var/lib/migkit/proof/x)", "no_proof" },
                { "the proof was cleared or replaced meanwhile (a new incoming migration of this guest?)", "no_proof" },
                { "libvirt (qemu:///system) still has domain a here, defined and running; it must be undefined first", "domain_here" },
                { "cannot ask libvirt (qemu:///system) whether the domain is still defined or active here: x", "domain_here" },
                { "an incoming migration of this guest to this host is unresolved (/s/journal/u); roll it back", "incoming_migration" },
                { "post-copy began at 5: the guest ran here with part of its memory still on the source", "incoming_migration" },
                { "/i/u is on nfs4, not a local filesystem type ([filesystems] local)", "shared_storage" },
                { "/i carries the mark of host b (.migkit-host-x): another host uses it", "shared_storage" },
                { "/i or /i/u is a symlink; symlinks are never followed", "unsafe_path" },
                { "instances path /i does not exist", "unsafe_path" },
                { "something new", "other" },
        };
        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                if (!streq(metrics_refusal_reason(cases[i].text), cases[i].reason))
                        fail_msg("'%s': %s, not %s", cases[i].text, metrics_refusal_reason(cases[i].text), cases[i].reason);
        }
        assert_int_equal(metrics_refusal(&f->cfg, "source", cases[0].text), 0);
        assert_int_equal(metrics_refusal(&f->cfg, "rollback", cases[4].text), 0);
        assert_int_equal(metrics_refusal(&f->cfg, "rollback", cases[4].text), 0);
        assert_int_equal(metrics_refusal(&f->cfg, "purge", "x"), -EINVAL);
        assert_int_equal(value(f, "migkit_refusals_total{action=\"source\",reason=\"no_proof\"}"), 1);
        assert_int_equal(value(f, "migkit_refusals_total{action=\"rollback\",reason=\"incoming_migration\"}"), 2);
        assert_int_equal(value(f, "migkit_refusals_total{action=\"source\",reason=\"other\"}"), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_off_without_textfile, setup, teardown),
                cmocka_unit_test_setup_teardown(test_counts_persist, setup, teardown),
                cmocka_unit_test_setup_teardown(test_concurrent_writers, setup, teardown),
                cmocka_unit_test_setup_teardown(test_gauges, setup, teardown),
                cmocka_unit_test_setup_teardown(test_refusal_reasons, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
