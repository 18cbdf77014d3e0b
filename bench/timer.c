/* Runs commands with stdin from a file and stdout to /dev/null, optionally
 * running a reset command (untimed, through the shell) before each run, and
 * prints the median and 90th percentile wall time in microseconds:
 *   timer N STDIN_FILE RESET_CMD|- CMD ARGS...
 *        one command N times: "MEDIAN P90"
 *   timer -f SPEC N STDIN_FILE
 *        SPEC has one "RESET_CMD|-<TAB>CMD ARGS..." per line (ARGS split on
 *        spaces); each of N rounds runs every line once, in turn, so that
 *        the machine's load changes every command alike; prints
 *        "MEDIAN P90" per line, in order.
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

/* One timed run of argv; returns microseconds, or -1 on failure. */
static double run(const char *in, const char *reset, char **argv)
{
        if (reset && strcmp(reset, "-") != 0 && system(reset) != 0)
                return -1;
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, 0, in, O_RDONLY, 0);
        posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
        struct timespec a, b;
        pid_t pid;
        int st;
        clock_gettime(CLOCK_MONOTONIC, &a);
        if (posix_spawn(&pid, argv[0], &fa, NULL, argv, environ) != 0)
                return -1;
        waitpid(pid, &st, 0);
        clock_gettime(CLOCK_MONOTONIC, &b);
        posix_spawn_file_actions_destroy(&fa);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
                fprintf(stderr, "timer: %s failed (status %d)\n", argv[0], st);
                return -1;
        }
        return (double)(b.tv_sec - a.tv_sec) * 1e6 + (double)(b.tv_nsec - a.tv_nsec) / 1e3;
}

static void print_stats(double *us, int n)
{
        qsort(us, (size_t)n, sizeof(double), cmp);
        printf("%.0f %.0f\n", us[n / 2], us[n * 9 / 10]);
}

struct line {
        char *reset;
        char *argv[32];
        double *us;
};

static int spec_mode(const char *spec, int n, const char *in)
{
        FILE *f = fopen(spec, "re");
        struct line lines[32];
        int nl = 0;
        char *buf = NULL;
        size_t cap = 0;
        if (!f)
                return 1;
        while (nl < 32 && getline(&buf, &cap, f) > 0) {
                buf[strcspn(buf, "\n")] = 0;
                char *tab = strchr(buf, '\t');
                if (!tab)
                        continue;
                *tab = 0;
                struct line *l = &lines[nl++];
                l->reset = strdup(buf);
                int k = 0;
                for (char *save, *w = strtok_r(strdup(tab + 1), " ", &save); w && k < 31; w = strtok_r(NULL, " ", &save))
                        l->argv[k++] = w;
                l->argv[k] = NULL;
                l->us = calloc((size_t)n, sizeof(double));
        }
        fclose(f);
        for (int i = 0; i < n; i++)
                for (int j = 0; j < nl; j++)
                        if ((lines[j].us[i] = run(in, lines[j].reset, lines[j].argv)) < 0)
                                return 1;
        for (int j = 0; j < nl; j++)
                print_stats(lines[j].us, n);
        return 0;
}

int main(int argc, char **argv)
{
        if (argc == 5 && strcmp(argv[1], "-f") == 0)
                return spec_mode(argv[2], atoi(argv[3]), argv[4]);
        if (argc < 5) {
                fprintf(stderr, "usage: timer N STDIN_FILE RESET_CMD|- CMD ARGS...\n"
                                "       timer -f SPEC N STDIN_FILE\n");
                return 2;
        }
        int n = atoi(argv[1]);
        double *us = calloc((size_t)n, sizeof(double));
        for (int i = 0; i < n; i++)
                if ((us[i] = run(argv[2], argv[3], argv + 4)) < 0)
                        return 1;
        print_stats(us, n);
        return 0;
}
