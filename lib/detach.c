/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "detach.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>

#include "util.h"

static void close_all_from(int first)
{
        if (close_range((unsigned)first, ~0U, 0) == 0)
                return;
        for (int fd = first; fd < 65536; fd++)
                close(fd);
}

/* In the child of a fork: default signal dispositions, nothing blocked, no
 * timer of the parent's (the hook's watchdog). Async-signal-safe. */
static void reset_signals(void)
{
        struct sigaction dfl = { .sa_handler = SIG_DFL };
        struct itimerval none = { 0 };
        sigset_t none_set;
        for (int s = 1; s < NSIG; s++)
                sigaction(s, &dfl, NULL);
        setitimer(ITIMER_REAL, &none, NULL);
        sigemptyset(&none_set);
        sigprocmask(SIG_SETMASK, &none_set, NULL);
}

int spawn_detached(const char *path, char *const argv[])
{
        pid_t pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                /* intermediate child: only async-signal-safe calls from here */
                sigset_t all;
                sigfillset(&all);
                sigprocmask(SIG_SETMASK, &all, NULL);
                if (setsid() < 0)
                        _exit(1);
                pid_t g = fork();
                if (g != 0)
                        _exit(g < 0);
                int null = open("/dev/null", O_RDWR | O_CLOEXEC);
                if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0)
                        _exit(1);
                close_all_from(3);
                reset_signals();
                execv(path, argv);
                _exit(127);
        }
        int st;
        while (waitpid(pid, &st, 0) < 0)
                if (errno != EINTR)
                        return -errno;
        return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -ECHILD;
}


int spawn_wait(const char *path, char *const argv[], unsigned timeout_ms, char **ret_output)
{
        char buf[4096];
        size_t len = 0;
        int p[2], st, r = 0;

        if (ret_output)
                *ret_output = NULL;
        if (pipe2(p, O_CLOEXEC) < 0)
                return -errno;
        pid_t pid = fork();
        if (pid < 0) {
                r = -errno;
                close(p[0]);
                close(p[1]);
                return r;
        }
        if (pid == 0) {
                sigset_t all;
                sigfillset(&all);
                sigprocmask(SIG_SETMASK, &all, NULL);
                int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
                if (null < 0 || dup2(null, 0) < 0 || dup2(p[1], 1) < 0 || dup2(p[1], 2) < 0)
                        _exit(127);
                close_all_from(3);
                reset_signals();
                execv(path, argv);
                _exit(127);
        }
        close(p[1]);

        long long end = now_ms() + timeout_ms;
        bool timed_out = false;
        for (;;) {
                long long left = end - now_ms();
                if (left <= 0) {
                        timed_out = true;
                        break;
                }
                struct pollfd pfd = { .fd = p[0], .events = POLLIN };
                int n = poll(&pfd, 1, (int)(left > 1000 ? 1000 : left));
                if (n < 0 && errno != EINTR) {
                        r = -errno;
                        break;
                }
                if (n <= 0)
                        continue;
                char tmp[1024];
                ssize_t k = read(p[0], tmp, sizeof(tmp));
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        break; /* EOF: every writer (the program and its children) is gone */
                size_t take = (size_t)k < sizeof(buf) - 1 - len ? (size_t)k : sizeof(buf) - 1 - len;
                memcpy(buf + len, tmp, take);
                len += take;
        }
        close(p[0]);
        if (timed_out || r < 0)
                kill(pid, SIGKILL);
        while (waitpid(pid, &st, 0) < 0)
                if (errno != EINTR)
                        return r < 0 ? r : -errno;
        if (r < 0)
                return r;
        if (timed_out)
                return -ETIME;
        if (ret_output) {
                while (len > 0 && buf[len - 1] == '\n')
                        len--;
                buf[len] = 0;
                if (!(*ret_output = strdup(buf)))
                        return -ENOMEM;
        }
        if (!WIFEXITED(st))
                return -ECHILD;
        return WEXITSTATUS(st);
}
