/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* lib/limit.c with real processes: fork()ed slot holders and hooks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "config.h"
#include "limit.h"
#include "util.h"
#include "testutil.h"

static char root[] = "/tmp/migkit-test-limit.XXXXXX";
static struct mk_config cfg;

static int setup(void **state)
{
        (void)state;
        if (!mkdtemp(root) || config_defaults(&cfg) < 0)
                return -1;
        free(cfg.state_dir);
        free(cfg.run_dir);
        cfg.state_dir = path_join(root, "state");
        cfg.run_dir = path_join(root, "run");
        return cfg.state_dir && cfg.run_dir ? 0 : -1;
}

static int teardown(void **state)
{
        (void)state;
        config_free(&cfg);
        return rm_tree(root);
}

static void fresh(void)
{
        char cmd[200];
        snprintf(cmd, sizeof(cmd), "rm -rf %s/state %s/run && mkdir -p %s/run/libvirt/qemu", root, root, root);
        assert_int_equal(system(cmd), 0);
}

static void uuid_of(int k, char *buf)
{
        sprintf(buf, "bbbbbbbb-0000-4000-8000-%012d", k);
}

/* ------------------------------------------------------------ outgoing */

static void test_outgoing_unlimited(void **state)
{
        int fd = 7;
        (void)state;
        fresh();
        cfg.limit_outgoing = 0;
        assert_int_equal(limit_outgoing_acquire(&cfg, "d", NULL, NULL, &fd, NULL), 0);
        assert_int_equal(fd, -1);
        limit_outgoing_release(&fd);
}

static void test_outgoing_slots_and_nesting(void **state)
{
        int a = -1, b = -1, n = -1;
        _cleanup_free_ char *err = NULL, *text = NULL, *p = NULL;
        (void)state;
        fresh();
        cfg.limit_outgoing = 1;
        cfg.limit_outgoing_wait_ms = 0;
        assert_int_equal(limit_outgoing_acquire(&cfg, "web1", NULL, NULL, &a, NULL), 0);
        assert_true(a >= 0);
        p = path_join(cfg.state_dir, "outgoing.0");
        assert_true(read_full_file(p, 100, &text) > 0);
        char want[64];
        snprintf(want, sizeof(want), "%ld web1\n", (long)getpid());
        assert_string_equal(text, want);
        /* The same thread again: nested, no second slot needed. */
        assert_int_equal(limit_outgoing_acquire(&cfg, "web1", NULL, NULL, &n, NULL), 0);
        assert_int_equal(n, LIMIT_NESTED);
        limit_outgoing_release(&n);
        limit_outgoing_release(&a);
        assert_int_equal(a, -1);

        /* Held by another process: refused at once with wait 0. */
        int pipefd[2];
        assert_int_equal(pipe(pipefd), 0);
        pid_t pid = fork();
        if (pid == 0) {
                int fd;
                if (limit_outgoing_acquire(&cfg, "db2", NULL, NULL, &fd, NULL) < 0)
                        _exit(1);
                (void)!write(pipefd[1], "x", 1);
                pause();
                _exit(0);
        }
        char c;
        assert_int_equal(read(pipefd[0], &c, 1), 1);
        assert_int_equal(limit_outgoing_acquire(&cfg, "web1", NULL, NULL, &b, &err), -ETIMEDOUT);
        assert_non_null(err);
        assert_non_null(strstr(err, "[limits] outgoing = 1"));
        char who[64];
        snprintf(who, sizeof(who), "pid %ld (db2)", (long)pid);
        assert_non_null(strstr(err, who));

        /* kill -9 of the holder frees its slot. */
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        assert_int_equal(limit_outgoing_acquire(&cfg, "web1", NULL, NULL, &b, NULL), 0);
        assert_true(b >= 0);
        limit_outgoing_release(&b);
        close(pipefd[0]);
        close(pipefd[1]);
}

static bool cancel_now(void)
{
        return true;
}

static void test_outgoing_wait_and_cancel(void **state)
{
        int a = -1, b = -1;
        _cleanup_free_ char *err = NULL;
        char *buf = NULL;
        size_t len = 0;
        (void)state;
        fresh();
        cfg.limit_outgoing = 1;
        cfg.limit_outgoing_wait_ms = 10000;
        pid_t pid = fork();
        if (pid == 0) {
                int fd;
                if (limit_outgoing_acquire(&cfg, "holder", NULL, NULL, &fd, NULL) < 0)
                        _exit(1);
                usleep(600 * 1000);
                _exit(0); /* the slot goes with the process */
        }
        usleep(200 * 1000);
        /* Cancelled at once (Ctrl-C). */
        assert_int_equal(limit_outgoing_acquire(&cfg, "w", cancel_now, NULL, &a, &err), -ECANCELED);
        /* Waits, says so once, and gets the slot when the holder exits. */
        FILE *f = open_memstream(&buf, &len);
        uint64_t t0 = now_ms();
        assert_int_equal(limit_outgoing_acquire(&cfg, "w", NULL, f, &b, NULL), 0);
        uint64_t took = now_ms() - t0;
        fclose(f);
        assert_true(b >= 0);
        assert_true(took >= 200 && took < 5000);
        assert_non_null(strstr(buf, "w: waiting for a free outgoing slot"));
        assert_non_null(strstr(buf, "(holder)"));
        free(buf);
        limit_outgoing_release(&b);
        waitpid(pid, NULL, 0);
}

/* 20 processes, limit 3, all waiting: never more than 3 at once, all done. */
static void test_outgoing_20_processes(void **state)
{
        (void)state;
        fresh();
        cfg.limit_outgoing = 3;
        cfg.limit_outgoing_wait_ms = 60000;
        atomic_int *sh = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        assert_true(sh != MAP_FAILED);
        atomic_int *cur = &sh[0], *max = &sh[1], *done = &sh[2];
        pid_t pids[20];
        for (int i = 0; i < 20; i++) {
                pids[i] = fork();
                if (pids[i] == 0) {
                        int fd;
                        char name[16];
                        snprintf(name, sizeof(name), "g%d", i);
                        if (limit_outgoing_acquire(&cfg, name, NULL, NULL, &fd, NULL) < 0)
                                _exit(1);
                        int c = atomic_fetch_add(cur, 1) + 1;
                        int m = atomic_load(max);
                        while (c > m && !atomic_compare_exchange_weak(max, &m, c))
                                ;
                        usleep(50 * 1000);
                        atomic_fetch_sub(cur, 1);
                        atomic_fetch_add(done, 1);
                        limit_outgoing_release(&fd);
                        _exit(0);
                }
        }
        int ok = 0;
        for (int i = 0; i < 20; i++) {
                int st;
                waitpid(pids[i], &st, 0);
                ok += WIFEXITED(st) && WEXITSTATUS(st) == 0;
        }
        assert_int_equal(ok, 20);
        assert_int_equal(atomic_load(done), 20);
        assert_in_range(atomic_load(max), 1, 3); /* never more than the limit */
        munmap(sh, 4096);
}

/* ------------------------------------------------------------ incoming */

static void write_record(int k, time_t age, const char *boot)
{
        char u[40], *text = NULL, *dir = path_join(cfg.state_dir, "incoming");
        uuid_of(k, u);
        assert_int_equal(mkdir_p(dir, 0700), 0);
        assert_true(asprintf(&text, "migkit-incoming 1\nuuid %s\nname g%d\nstarted %lld\nboot %s\n", u, k,
                             (long long)(time(NULL) - age), boot) > 0);
        assert_int_equal(write_file_atomic(dir, u, text, strlen(text), 0600, 0), 0);
        free(text);
        free(dir);
}

static void write_status(int k, const char *async)
{
        char u[40], *text = NULL, *p = NULL;
        uuid_of(k, u);
        assert_true(asprintf(&p, "%s/libvirt/qemu/g%d.xml", cfg.run_dir, k) > 0);
        assert_true(asprintf(&text, "<domstatus state='paused'>\n<job type='none' async='%s'/>\n<domain><uuid>%s</uuid></domain>\n</domstatus>\n",
                             async, u) > 0);
        FILE *f = fopen(p, "w");
        assert_non_null(f);
        fputs(text, f);
        fclose(f);
        free(text);
        free(p);
}

static size_t count(void)
{
        struct limit_incoming *l;
        size_t n;
        assert_int_equal(limit_incoming_list(&cfg, NULL, &l, &n), 0);
        limit_incoming_free(l, n);
        return n;
}

static char *this_boot(void)
{
        char *b = NULL;
        assert_true(read_full_file("/proc/sys/kernel/random/boot_id", 100, &b) > 0);
        b[strcspn(b, "\n")] = 0;
        return b;
}

static void test_incoming_begin_end(void **state)
{
        char u1[40], u2[40];
        struct limit_incoming *l = NULL;
        size_t n = 0;
        (void)state;
        fresh();
        cfg.limit_incoming = 1;
        uuid_of(1, u1);
        uuid_of(2, u2);
        assert_int_equal(limit_incoming_begin(&cfg, u1, "g1", false, NULL, NULL), 0);
        assert_int_equal(limit_incoming_begin(&cfg, u2, "g2", false, &l, &n), -EBUSY);
        assert_int_equal(n, 1);
        assert_string_equal(l[0].name, "g1");
        _cleanup_free_ char *d = limit_incoming_describe(l, n);
        assert_non_null(strstr(d, "g1 (since "));
        limit_incoming_free(l, n);
        /* its own retry is admitted */
        assert_int_equal(limit_incoming_begin(&cfg, u1, "g1", false, NULL, NULL), 0);
        assert_int_equal(limit_incoming_end(&cfg, u1), 0);
        assert_int_equal(limit_incoming_end(&cfg, u1), 0);
        assert_int_equal(limit_incoming_begin(&cfg, u2, "g2", false, NULL, NULL), 0);
        assert_int_equal(count(), 1);
        /* unlimited: nothing recorded */
        cfg.limit_incoming = 0;
        assert_int_equal(limit_incoming_begin(&cfg, u1, "g1", false, NULL, NULL), 0);
        assert_int_equal(count(), 1);
        /* bad names refused */
        cfg.limit_incoming = 5;
        assert_int_equal(limit_incoming_begin(&cfg, u1, "../x", false, NULL, NULL), -EINVAL);
        assert_int_equal(limit_incoming_begin(&cfg, "nope", "g1", false, NULL, NULL), -EINVAL);
}

static void test_incoming_stale(void **state)
{
        _cleanup_free_ char *boot = this_boot();
        (void)state;
        fresh();
        cfg.limit_stale_ms = 3600 * 1000;
        cfg.hook_deadline_ms = 30000; /* grace: 120 s */
        write_record(1, 10, boot);                        /* no status yet, fresh: counts */
        write_record(2, 300, boot);                       /* no status after the grace: no */
        write_record(3, 300, boot);
        write_status(3, "migration in");                  /* incoming job: counts */
        write_record(4, 300, boot);
        write_status(4, "none");                          /* arrived: no */
        write_record(5, 7200, boot);
        write_status(5, "migration in");                  /* older than stale: no */
        write_record(6, 10, "00000000-0000-4000-8000-000000000000"); /* another boot: no */
        assert_int_equal(count(), 2);
        /* the ones that no longer count are gone */
        assert_int_equal(count(), 2);
        char cmd[200];
        snprintf(cmd, sizeof(cmd), "test $(ls %s/incoming | wc -l) = 2", cfg.state_dir);
        assert_int_equal(system(cmd), 0);
}

/* 20 processes begin at once with limit 5: exactly 5 admitted. */
static void test_incoming_20_processes(void **state)
{
        (void)state;
        fresh();
        cfg.limit_incoming = 5;
        pid_t pids[20];
        for (int i = 0; i < 20; i++) {
                pids[i] = fork();
                if (pids[i] == 0) {
                        char u[40], name[16];
                        uuid_of(100 + i, u);
                        snprintf(name, sizeof(name), "g%d", 100 + i);
                        int r = limit_incoming_begin(&cfg, u, name, false, NULL, NULL);
                        _exit(r == 0 ? 0 : r == -EBUSY ? 3 : 1);
                }
        }
        int ok = 0, busy = 0;
        for (int i = 0; i < 20; i++) {
                int st;
                waitpid(pids[i], &st, 0);
                if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
                        ok++;
                else if (WIFEXITED(st) && WEXITSTATUS(st) == 3)
                        busy++;
        }
        assert_int_equal(ok, 5);
        assert_int_equal(busy, 15);
        assert_int_equal(count(), 5);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_outgoing_unlimited),
                cmocka_unit_test(test_outgoing_slots_and_nesting),
                cmocka_unit_test(test_outgoing_wait_and_cancel),
                cmocka_unit_test(test_outgoing_20_processes),
                cmocka_unit_test(test_incoming_begin_end),
                cmocka_unit_test(test_incoming_stale),
                cmocka_unit_test(test_incoming_20_processes),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
