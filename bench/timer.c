/* Runs a command N times with stdin from a file and stdout to /dev/null,
 * optionally running a reset command (untimed) before each run, and prints
 * the median and 90th percentile wall time in microseconds:
 *   timer N STDIN_FILE RESET_CMD|- CMD ARGS...
 * Exits 1 if any run fails. */
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static int cmp(const void *a, const void *b)
{
        double x = *(const double *)a, y = *(const double *)b;
        return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
        if (argc < 5) {
                fprintf(stderr, "usage: timer N STDIN_FILE RESET_CMD|- CMD ARGS...\n");
                return 2;
        }
        int n = atoi(argv[1]);
        double *us = calloc((size_t)n, sizeof(double));
        for (int i = 0; i < n; i++) {
                if (strcmp(argv[3], "-") != 0 && system(argv[3]) != 0)
                        return 1;
                posix_spawn_file_actions_t fa;
                posix_spawn_file_actions_init(&fa);
                posix_spawn_file_actions_addopen(&fa, 0, argv[2], O_RDONLY, 0);
                posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
                struct timespec a, b;
                pid_t pid;
                int st;
                clock_gettime(CLOCK_MONOTONIC, &a);
                if (posix_spawn(&pid, argv[4], &fa, NULL, argv + 4, environ) != 0)
                        return 1;
                waitpid(pid, &st, 0);
                clock_gettime(CLOCK_MONOTONIC, &b);
                posix_spawn_file_actions_destroy(&fa);
                if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
                        fprintf(stderr, "timer: %s failed (status %d)\n", argv[4], st);
                        return 1;
                }
                us[i] = (double)(b.tv_sec - a.tv_sec) * 1e6 + (double)(b.tv_nsec - a.tv_nsec) / 1e3;
        }
        qsort(us, (size_t)n, sizeof(double), cmp);
        printf("%.0f %.0f\n", us[n / 2], us[n * 9 / 10]);
        return 0;
}
