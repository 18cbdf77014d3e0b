/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "detach.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/time.h>
#include <sys/wait.h>

#include "util.h"


static void close_all_from(int first)
{
        if (close_range((unsigned)first, ~0U, 0) == 0)
                return;
        for (int fd = first; fd < 65536; fd++)
                close(fd);
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
                struct sigaction dfl = { .sa_handler = SIG_DFL };
                for (int s = 1; s < NSIG; s++)
                        sigaction(s, &dfl, NULL);
                struct itimerval none = { 0 };
                setitimer(ITIMER_REAL, &none, NULL); /* the hook's watchdog is not theirs */
                sigemptyset(&all);
                sigprocmask(SIG_SETMASK, &all, NULL);
                execv(path, argv);
                _exit(127);
        }
        int st;
        while (waitpid(pid, &st, 0) < 0)
                if (errno != EINTR)
                        return -errno;
        return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -ECHILD;
}
