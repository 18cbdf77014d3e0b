/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Hostile configuration paths: whatever sits at the path of
 * migkit.conf, config_load() answers at once with a message naming it. The
 * hook loads its configuration before it arms its deadline, so a blocking
 * open would hang libvirt. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sys/stat.h>

#include "config.h"
#include "util.h"
#include "testutil.h"

static void on_alarm(int sig)
{
        (void)sig;
        static const char msg[] = "config_load() blocked on a FIFO for 5 s\n";
        (void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
        _exit(1); /* the runner counts a crashed test binary as a failure */
}

static void test_fifo(void **state)
{
        char dir[] = "/tmp/migkit-test-hostile-config.XXXXXX";
        _cleanup_free_ char *fifo = NULL, *err = NULL;
        struct mk_config cfg;
        (void)state;

        assert_non_null(mkdtemp(dir));
        fifo = pathf("%s/migkit.conf", dir);
        assert_int_equal(mkfifo(fifo, 0644), 0);
        signal(SIGALRM, on_alarm);
        alarm(5);
        int r = config_load(&cfg, fifo, &err);
        alarm(0);
        assert_int_equal(r, -EINVAL);
        assert_non_null(err);
        if (!strstr(err, fifo) || !strstr(err, "not a regular file"))
                fail_msg("unexpected message: %s", err);
        unlink(fifo);
        rmdir(dir);
}

static void test_devices(void **state)
{
        static const char *const paths[] = { "/dev/zero", "/dev/null", "/" };
        (void)state;
        for (size_t i = 0; i < ARRAY_SIZE(paths); i++) {
                _cleanup_free_ char *err = NULL;
                struct mk_config cfg;
                assert_int_equal(config_load(&cfg, paths[i], &err), -EINVAL);
                assert_non_null(strstr(err, "not a regular file"));
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_fifo),
                cmocka_unit_test(test_devices),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
