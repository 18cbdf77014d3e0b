/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sys/wait.h>
#include <time.h>

#include "deadline.h"
#include "util.h"

static void test_remaining(void **state)
{
        (void)state;
        deadline_start(5000);
        unsigned r = deadline_remaining_ms();
        assert_true(r <= 5000 && r > 4000);
        deadline_start(0);
        assert_int_equal(deadline_remaining_ms(), 0);
}

/* A step that overruns: the watchdog ends the process with the configured
 * status and message, well before the step would have finished. */
static void test_watchdog(void **state)
{
        int fds[2];
        struct timespec a, b;
        (void)state;

        assert_int_equal(pipe(fds), 0);
        clock_gettime(CLOCK_MONOTONIC, &a);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                dup2(fds[1], STDERR_FILENO);
                deadline_start(200);
                if (deadline_arm_watchdog(100, 7, "deadline exceeded\n") < 0)
                        _exit(99);
                sleep(10); /* a hung multipathd, say */
                _exit(0);
        }
        close(fds[1]);
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        clock_gettime(CLOCK_MONOTONIC, &b);
        long ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
        char buf[64] = { 0 };
        assert_true(read(fds[0], buf, sizeof(buf) - 1) > 0);
        close(fds[0]);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 7);
        assert_string_equal(buf, "deadline exceeded\n");
        assert_true(ms >= 290 && ms < 5000);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_remaining),
                cmocka_unit_test(test_watchdog),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
