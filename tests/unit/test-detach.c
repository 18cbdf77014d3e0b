/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* spawn_detached() and spawn_wait(): what the started program inherits (no
 * descriptor of the caller's but 0-2, a session of its own, no blocked or
 * ignored signals), what the caller gets back (exit status, output, 127 for a
 * program that cannot run, -ETIME and a killed program after the timeout,
 * -ECHILD for a signal). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "detach.h"
#include "util.h"
#include "testutil.h"

static void test_wait_status_and_output(void **state)
{
        (void)state;
        _cleanup_free_ char *out = NULL;
        char *ok[] = { (char *)"sh", (char *)"-c", (char *)"echo to-stdout; echo to-stderr >&2; exit 3", NULL };
        assert_int_equal(spawn_wait("/bin/sh", ok, 10000, &out), 3);
        assert_string_equal(out, "to-stdout\nto-stderr");
        free(out);
        out = NULL;

        /* stdin is /dev/null: a program reading it ends at once */
        char *cat[] = { (char *)"cat", NULL };
        assert_int_equal(spawn_wait("/bin/cat", cat, 10000, &out), 0);
        assert_string_equal(out, "");
        free(out);
        out = NULL;

        /* no such program: 127, as a shell says */
        char *none[] = { (char *)"none", NULL };
        assert_int_equal(spawn_wait("/nonexistent/program", none, 10000, NULL), 127);

        /* killed by a signal */
        char *sig[] = { (char *)"sh", (char *)"-c", (char *)"kill -TERM $$", NULL };
        assert_int_equal(spawn_wait("/bin/sh", sig, 10000, NULL), -ECHILD);

        /* more than 4 KiB of output: the first 4 KiB - 1 kept, the rest drained */
        char *big[] = { (char *)"sh", (char *)"-c", (char *)"head -c 10000 /dev/zero | tr '\\0' x", NULL };
        assert_int_equal(spawn_wait("/bin/sh", big, 10000, &out), 0);
        assert_int_equal(strlen(out), 4095);
}

/* A program still running at the timeout is killed: -ETIME, and it is
 * gone (its pid no longer exists) when spawn_wait returns. */
static void test_wait_timeout_kills(void **state)
{
        struct scratch *f = *state;
        _cleanup_free_ char *pidfile = pathf("%s/pid", f->root), *cmd = pathf("echo $$ > %s; exec sleep 60", pidfile);
        _cleanup_free_ char *pid = NULL;
        char *argv[] = { (char *)"sh", (char *)"-c", cmd, NULL };
        unsigned long long t0 = now_ms();
        assert_int_equal(spawn_wait("/bin/sh", argv, 300, NULL), -ETIME);
        assert_true(now_ms() - t0 < 10000);
        assert_true(read_full_file(pidfile, 64, &pid) > 0);
        assert_int_equal(kill(atoi(pid), 0), -1);
        assert_int_equal(errno, ESRCH);
}

/* The detached program: a new session, only 0-2 open (on /dev/null), and
 * the caller does not wait for it. */
static void test_detached_inherits_nothing(void **state)
{
        struct scratch *f = *state;
        _cleanup_free_ char *report = pathf("%s/report", f->root), *done = pathf("%s/done", f->root);
        _cleanup_free_ char *cmd = pathf("{ echo sid=$(ps -o sid= -p $$ | tr -d ' ') pid=$$; ls /proc/self/fd | sort -n | tr '\\n' ' ';"
                                         " echo; readlink /proc/$$/fd/2; } > %s; mv %s %s",
                                         report, report, done);
        _cleanup_free_ char *text = NULL;
        char *argv[] = { (char *)"sh", (char *)"-c", cmd, NULL };
        /* a descriptor of the caller's that must not be inherited */
        int leak = open("/dev/null", O_RDONLY); /* no O_CLOEXEC on purpose */
        assert_true(leak >= 3);
        sigset_t block, old;
        sigemptyset(&block);
        sigaddset(&block, SIGTERM);
        sigprocmask(SIG_BLOCK, &block, &old);
        assert_int_equal(spawn_detached("/bin/sh", argv), 0);
        sigprocmask(SIG_SETMASK, &old, NULL);
        close(leak);
        for (int i = 0; i < 1000 && !exists(done); i++)
                usleep(10 * 1000);
        assert_true(read_full_file(done, 4096, &text) > 0);
        int sid = -1, pid = -2;
        assert_int_equal(sscanf(text, "sid=%d pid=%d", &sid, &pid), 2);
        /* a session of its own (the intermediate child's), of which it is
         * not the leader: it can never acquire a controlling terminal */
        assert_int_not_equal(sid, getsid(0));
        assert_int_not_equal(sid, pid);
        /* ls's own: 0, 1 (the report), 2 and the one it opens to list them */
        char *fds = strchr(text, '\n') + 1;
        assert_true(strncmp(fds, "0 1 2 3 \n", 9) == 0);
        assert_non_null(strstr(text, "/dev/null"));
}

/* What the detached program starts with, read by cp from its own
 * /proc/self/status (no shell in between, which would reset signals
 * itself): nothing blocked, nothing ignored, although the caller blocks
 * SIGTERM and ignores SIGUSR1. This process is the subreaper, so waiting
 * for the program proves it has finished writing. */
static void test_detached_signals_reset(void **state)
{
        struct scratch *f = *state;
        _cleanup_free_ char *dest = pathf("%s/status", f->root), *text = NULL;
        char *argv[] = { (char *)"cp", (char *)"/proc/self/status", dest, NULL };
        sigset_t block, old;
        struct sigaction ign = { .sa_handler = SIG_IGN }, oldact;
        assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
        sigemptyset(&block);
        sigaddset(&block, SIGTERM);
        sigprocmask(SIG_BLOCK, &block, &old);
        sigaction(SIGUSR1, &ign, &oldact);
        assert_int_equal(spawn_detached("/bin/cp", argv), 0);
        sigaction(SIGUSR1, &oldact, NULL);
        sigprocmask(SIG_SETMASK, &old, NULL);
        /* reap what ends until cp has written the whole status (its last
         * line); another orphan of an earlier test may end first */
        int st;
        while (waitpid(-1, &st, 0) > 0) {
                free(text);
                text = NULL;
                if (read_full_file(dest, 65536, &text) > 0 && strstr(text, "nonvoluntary_ctxt_switches:"))
                        break;
        }
        assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 0), 0);
        if (!text || !strstr(text, "nonvoluntary_ctxt_switches:"))
                fail_msg("cp did not write %s: %s", dest, text ? text : "(nothing)");
        /* the signals the caller blocked and ignored: neither is in the
         * program's masks (read as numbers: an ignored signal of the
         * environment's own would not be the caller's doing) */
        const char *blk = strstr(text, "SigBlk:\t"), *sigign = strstr(text, "SigIgn:\t");
        assert_non_null(blk);
        assert_non_null(sigign);
        unsigned long long mblk = strtoull(blk + 8, NULL, 16), mign = strtoull(sigign + 8, NULL, 16);
        if (mblk & (1ULL << (SIGTERM - 1)) || mign & (1ULL << (SIGUSR1 - 1)))
                fail_msg("the detached program kept the caller's signals: SigBlk %llx, SigIgn %llx", mblk, mign);
        assert_int_equal(mblk, 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_wait_status_and_output, scratch_setup, scratch_teardown),
                cmocka_unit_test_setup_teardown(test_wait_timeout_kills, scratch_setup, scratch_teardown),
                cmocka_unit_test_setup_teardown(test_detached_inherits_nothing, scratch_setup, scratch_teardown),
                cmocka_unit_test_setup_teardown(test_detached_signals_reset, scratch_setup, scratch_teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
