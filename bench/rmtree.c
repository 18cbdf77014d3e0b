/* Removing a big instance directory, three identical copies on the same
 * filesystem in the same round, the order rotating from round to round:
 *   rm -rf   the copy, as an operator would (a process);
 *   library  quarantine_dir then quarantine_purge with retention 0, what
 *            migkit-cleanup does once its checks passed (in this process);
 *   tool     `migkit-cleanup source UUID` (with a recorded proof; libvirt is
 *            asked through LIBVIRT-URI) then `migkit-cleanup purge
 *            --retention 0`: the whole thing, process start-up included.
 *   rmtree make TEMPLATE NFILES     writes a tree of NFILES files in 10 x 10
 *                                   subdirectories, sizes 0 to 3.5 KiB
 *   rmtree run ROUNDS TEMPLATE WORKDIR MIGKIT-CLEANUP LIBVIRT-URI
 *                                   per round: the copies (cp -a, then sync;
 *                                   untimed), the three removals; prints
 *                                   "<rm us> <library us> <tool us> <entries>"
 * Exits 1 if a removal fails or leaves anything behind. */
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "quarantine.h"
#include "util.h"

#define UUID "4a6b2c1e-9f3d-4b8a-a1c2-3d4e5f607182"
#define UUID2 "0f0e0d0c-0b0a-4998-8776-655443322110"

extern char **environ;

static double now_us(void)
{
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static int spawn_wait(char *const argv[])
{
        pid_t pid;
        int st;
        if (posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ) != 0 || waitpid(pid, &st, 0) < 0)
                return -1;
        return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static int make_tree(const char *root, int nfiles)
{
        static char data[3584];
        char path[4096];
        memset(data, 'x', sizeof(data));
        if (mkdir(root, 0755) < 0)
                return -1;
        for (int i = 0; i < nfiles; i++) {
                int a = i % 10, b = (i / 10) % 10;
                snprintf(path, sizeof(path), "%s/d%d", root, a);
                (void)mkdir(path, 0755);
                snprintf(path, sizeof(path), "%s/d%d/e%d", root, a, b);
                (void)mkdir(path, 0755);
                snprintf(path, sizeof(path), "%s/d%d/e%d/file-%05d.img", root, a, b, i);
                int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
                if (fd < 0 || write_all(fd, data, (size_t)(i % 8) * 512) < 0)
                        return -1;
                close(fd);
        }
        return 0;
}

/* What one round times: rm -rf, migkit's library calls, migkit-cleanup. */
enum { RM, LIB, TOOL, _N };

static int remove_lib(const struct mk_config *cfg, unsigned long *files)
{
        struct purge_stats st = { 0 };
        int q = quarantine_dir(cfg, UUID, "bench", NULL, 0, NULL, NULL);
        int p = quarantine_purge(cfg, 0, time(NULL), false, NULL, NULL, &st);
        *files = st.files;
        if (q != 1 || p != 0 || st.purged != 1) {
                fprintf(stderr, "rmtree: migkit's removal failed (quarantine %d, purge %d, %u purged)\n", q, p, st.purged);
                return -1;
        }
        return 0;
}

static int run(int rounds, const char *tmpl, const char *work, const char *tool, const char *uri)
{
        struct mk_config cfg;
        _cleanup_free_ char *inst = path_join(work, "instances"), *state = path_join(work, "state");
        _cleanup_free_ char *conf = path_join(work, "migkit.conf"), *copy = path_join(work, "copy");
        _cleanup_free_ char *u1 = inst ? path_join(inst, UUID) : NULL, *u2 = inst ? path_join(inst, UUID2) : NULL;
        _cleanup_free_ char *text = NULL, *err = NULL;

        if (!u1 || !u2 || !state || !conf || !copy || mkdir_p(inst, 0755) < 0)
                return 1;
        if (asprintf(&text, "[paths]\ninstances = %s\nstate = %s\n[cleanup]\nlibvirt-uri = %s\nsettle = 0s\n", inst, state, uri) < 0 ||
            write_file_atomic(work, "migkit.conf", text, strlen(text), 0644, 0) < 0 || setenv("MIGKIT_CONFIG", conf, 1) < 0)
                return 1;
        if (config_load(&cfg, conf, &err) < 0) {
                fprintf(stderr, "rmtree: %s\n", err ? err : "cannot load the configuration");
                return 1;
        }

        for (int r = 0; r < rounds; r++) {
                char *cp[][5] = {
                        { "cp", "-a", (char *)tmpl, copy, NULL },
                        { "cp", "-a", (char *)tmpl, u1, NULL },
                        { "cp", "-a", (char *)tmpl, u2, NULL },
                };
                char *proof[] = { (char *)tool, "-q", "proof", UUID2, "migrated", NULL };
                char *source[] = { (char *)tool, "-q", "source", UUID2, NULL };
                char *purge[] = { (char *)tool, "-q", "purge", "--retention", "0", NULL };
                char *rm[] = { "rm", "-rf", copy, NULL };
                double t[_N] = { 0 };
                unsigned long files = 0;

                for (int k = 0; k < _N; k++)
                        if (spawn_wait(cp[k]) < 0) {
                                fprintf(stderr, "rmtree: cp -a %s failed\n", tmpl);
                                return 1;
                        }
                if (spawn_wait(proof) < 0) {
                        fprintf(stderr, "rmtree: %s proof failed\n", tool);
                        return 1;
                }
                sync(); /* the copies on disk, as an old instance directory is */
                for (int k = 0; k < _N; k++) {
                        int what = (k + r) % _N; /* each goes first, second, third in turn */
                        double t0 = now_us();
                        int e = what == RM ? spawn_wait(rm)
                              : what == LIB ? remove_lib(&cfg, &files)
                              : spawn_wait(source) < 0 ? -1 : spawn_wait(purge);
                        t[what] = now_us() - t0;
                        if (e < 0) {
                                fprintf(stderr, "rmtree: %s failed\n", what == RM ? "rm -rf" : what == LIB ? "the library" : tool);
                                return 1;
                        }
                }
                if (access(u1, F_OK) == 0 || access(u2, F_OK) == 0 || access(copy, F_OK) == 0) {
                        fprintf(stderr, "rmtree: something was left behind\n");
                        return 1;
                }
                printf("%.0f %.0f %.0f %lu\n", t[RM], t[LIB], t[TOOL], files);
                fflush(stdout);
        }
        config_free(&cfg);
        return 0;
}

int main(int argc, char **argv)
{
        if (argc == 4 && streq(argv[1], "make"))
                return make_tree(argv[2], atoi(argv[3])) < 0 ? 1 : 0;
        if (argc == 7 && streq(argv[1], "run"))
                return run(atoi(argv[2]), argv[3], argv[4], argv[5], argv[6]);
        fprintf(stderr, "usage: rmtree make TEMPLATE NFILES | rmtree run ROUNDS TEMPLATE WORKDIR MIGKIT-CLEANUP LIBVIRT-URI\n");
        return 2;
}
