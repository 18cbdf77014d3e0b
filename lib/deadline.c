/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "deadline.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/time.h>
#include <time.h>

#include "util.h"

static uint64_t end_ms;
static const char *watchdog_msg;
static int watchdog_code;
static char *const *overrun_argv;

void deadline_on_overrun_exec(char *const *argv)
{
        overrun_argv = argv;
}


void deadline_start(unsigned ms)
{
        end_ms = now_ms() + ms;
}

unsigned deadline_remaining_ms(void)
{
        if (!end_ms)
                return UINT32_MAX;
        uint64_t n = now_ms();
        return n >= end_ms ? 0 : (unsigned)(end_ms - n);
}

static void on_alarm(int sig)
{
        (void)sig;
        if (watchdog_msg)
                (void)!write(STDERR_FILENO, watchdog_msg, strlen(watchdog_msg));
        /* only async-signal-safe calls: fork, setsid, open, dup2, execv */
        if (overrun_argv && fork() == 0) {
                int null = open("/dev/null", O_RDWR);
                (void)setsid();
                for (int fd = 0; fd < 3; fd++)
                        (void)dup2(null, fd);
                execv(overrun_argv[0], overrun_argv);
                _exit(127);
        }
        _exit(watchdog_code);
}

int deadline_arm_watchdog(unsigned grace_ms, int exit_code, const char *msg)
{
        struct sigaction sa = { .sa_handler = on_alarm };
        unsigned ms = deadline_remaining_ms();
        if (ms == UINT32_MAX)
                return -EINVAL;
        ms += grace_ms;
        struct itimerval it = { .it_value = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 } };

        watchdog_msg = msg;
        watchdog_code = exit_code;
        sigemptyset(&sa.sa_mask);
        if (sigaction(SIGALRM, &sa, NULL) < 0 || setitimer(ITIMER_REAL, &it, NULL) < 0)
                return -errno;
        return 0;
}
