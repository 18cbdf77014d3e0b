/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Quarantine and purge against real directories: symlinks that must not be
 * followed, things outside that must survive, recorded mount tables, and real
 * mount namespaces (bind mounts inside, mount points, a shared filesystem
 * type), each in a forked child that unshares its mount namespace. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "config.h"
#include "quarantine.h"
#include "util.h"
#include "testutil.h"
#include "testfs.h"

#define UUID "4a6b2c1e-9f3d-4b8a-a1c2-3d4e5f607182"
#define UUID2 "0f0e0d0c-0b0a-4998-8776-655443322110"

struct fixture {
        char root[64];
        char *inst, *outside, *qdir;
        struct mk_config cfg;
};

static bool has(const char *path, const char *text)
{
        _cleanup_free_ char *t = NULL;
        return read_full_file(path, 1 << 20, &t) >= 0 && streq(t, text);
}

static int count_entries(const char *dir)
{
        DIR *d = opendir(dir);
        struct dirent *de;
        int n = 0;
        if (!d)
                return -1;
        while ((de = readdir(d)))
                if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
                        n++;
        closedir(d);
        return n;
}

static int setup(void **state)
{
        struct fixture *f = calloc(1, sizeof(*f));
        if (!f || scratch_dir(f->root, sizeof(f->root), "quarantine") < 0 || config_defaults(&f->cfg) < 0)
                return -1;
        f->inst = pathf("%s/instances", f->root);
        f->outside = pathf("%s/outside", f->root);
        f->qdir = pathf("%s/%s", f->inst, QUARANTINE_DIR);
        set_field(&f->cfg.instances_path, "%s", f->inst);
        if (mkdir(f->inst, 0755) < 0 || mkdir(f->outside, 0755) < 0)
                return -1;
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;
        char cmd[256];
        snprintf(cmd, sizeof(cmd), "chattr -R -i %s 2>/dev/null; rm -rf %s", f->root, f->root);
        int r = system(cmd);
        config_free(&f->cfg);
        free(f->inst);
        free(f->outside);
        free(f->qdir);
        free(f);
        return r;
}

/* An instance directory with files, a subdirectory, and symlinks to a file
 * and a directory outside that must survive. */
static char *make_instance(struct fixture *f, const char *uuid)
{
        char *dir = pathf("%s/%s", f->inst, uuid);
        _cleanup_free_ char *sub = pathf("%s/sub", dir), *deep = pathf("%s/sub/deeper", dir);
        _cleanup_free_ char *a = pathf("%s/console.log", dir), *b = pathf("%s/sub/disk.info", dir), *c = pathf("%s/sub/deeper/x", dir);
        _cleanup_free_ char *l1 = pathf("%s/link-to-file", dir), *l2 = pathf("%s/sub/link-to-dir", dir);
        _cleanup_free_ char *of = pathf("%s/precious", f->outside), *od = pathf("%s/dir", f->outside), *odf = pathf("%s/dir/keep", f->outside);

        assert_int_equal(mkdir(dir, 0755), 0);
        assert_int_equal(mkdir(sub, 0755), 0);
        assert_int_equal(mkdir(deep, 0700), 0);
        put(a, "log\n");
        put(b, "info\n");
        put(c, "x\n");
        put(of, "precious\n");
        (void)mkdir(od, 0755);
        put(odf, "keep\n");
        assert_int_equal(symlink(of, l1), 0);
        assert_int_equal(symlink(od, l2), 0);
        _cleanup_free_ char *fifo = pathf("%s/fifo", dir);
        assert_int_equal(mkfifo(fifo, 0600), 0);
        return dir;
}

static void assert_outside_intact(struct fixture *f)
{
        _cleanup_free_ char *of = pathf("%s/precious", f->outside), *odf = pathf("%s/dir/keep", f->outside);
        assert_true(has(of, "precious\n"));
        assert_true(has(odf, "keep\n"));
}

static void test_quarantine_and_purge(void **state)
{
        struct fixture *f = *state;
        _cleanup_free_ char *dir = make_instance(f, UUID), *path = NULL, *detail = NULL, *info = NULL, *text = NULL;
        _cleanup_free_ char *other = pathf("%s/%s", f->inst, UUID2);
        struct stat st;

        assert_int_equal(mkdir(other, 0755), 0);
        /* dry run: checks, moves nothing */
        assert_int_equal(quarantine_dir(&f->cfg, UUID, "test", "inst-1", QUARANTINE_DRY_RUN, &path, &detail), 1);
        assert_non_null(path);
        assert_true(exists(dir));
        assert_false(exists(f->qdir));
        free(path);
        path = NULL;

        assert_int_equal(quarantine_dir(&f->cfg, UUID, "source cleanup: test", "inst-1", 0, &path, &detail), 1);
        assert_null(detail);
        assert_false(exists(dir));
        assert_int_equal(lstat(path, &st), 0);
        assert_true(S_ISDIR(st.st_mode));
        assert_int_equal(lstat(f->qdir, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0700);
        _cleanup_free_ char *moved_log = pathf("%s/console.log", path);
        assert_true(has(moved_log, "log\n"));
        info = pathf("%s.info", path);
        assert_true(read_full_file(info, 8192, &text) > 0);
        assert_non_null(strstr(text, "uuid " UUID "\n"));
        assert_non_null(strstr(text, "reason source cleanup: test\n"));
        assert_non_null(strstr(text, "domain inst-1\n"));
        assert_non_null(strstr(text, "host "));
        _cleanup_free_ char *from = pathf("from %s\n", dir);
        assert_non_null(strstr(text, from));
        assert_true(exists(other)); /* the neighbour is untouched */

        /* idempotent */
        assert_int_equal(quarantine_dir(&f->cfg, UUID, "again", NULL, 0, NULL, NULL), 0);

        struct quarantine_entry *l;
        int n = quarantine_list(&f->cfg, &l);
        assert_int_equal(n, 1);
        assert_string_equal(l[0].uuid, UUID);
        assert_string_equal(l[0].domain, "inst-1");
        assert_string_equal(l[0].reason, "source cleanup: test");
        assert_string_equal(l[0].from, dir);
        quarantine_list_free(l, n);

        /* within the retention: kept */
        struct purge_stats ps;
        assert_int_equal(quarantine_purge(&f->cfg, 3600, time(NULL), false, NULL, NULL, &ps), 0);
        assert_int_equal(ps.young, 1);
        assert_int_equal(ps.purged, 0);
        assert_true(exists(path));
        /* dry run: counted, kept */
        assert_int_equal(quarantine_purge(&f->cfg, 0, time(NULL) + 1, true, NULL, NULL, &ps), 0);
        assert_int_equal(ps.purged, 1);
        assert_true(exists(path));
        /* due: gone, with its .info; symlink targets outside intact */
        assert_int_equal(quarantine_purge(&f->cfg, 0, time(NULL) + 1, false, NULL, NULL, &ps), 0);
        assert_int_equal(ps.purged, 1);
        assert_int_equal(ps.kept, 0);
        assert_true(ps.files >= 8);
        assert_false(exists(path));
        assert_false(exists(info));
        assert_int_equal(count_entries(f->qdir), 0);
        assert_outside_intact(f);
        assert_true(exists(other));
}

/* The seam (-Wl,--wrap=renameat2, Makefile): when armed, the next rename
 * first replaces <instances>/<uuid> with a stranger, as another process could
 * between quarantine_dir()'s checks and its rename. */
int __real_renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, unsigned flags);
int __wrap_renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, unsigned flags);
static const char *swap_dir, *swap_aside;
int __wrap_renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, unsigned flags)
{
        if (swap_dir) {
                const char *dir = swap_dir;
                swap_dir = NULL;
                if (rename(dir, swap_aside) < 0 || mkdir(dir, 0755) < 0)
                        return -1;
                _cleanup_free_ char *mark = pathf("%s/stranger", dir);
                put(mark, "not the checked one\n");
        }
        return __real_renameat2(olddirfd, oldpath, newdirfd, newpath, flags);
}

/* What was renamed into the quarantine must be what was checked: a
 * directory swapped in between goes back where it was, and nothing is
 * quarantined. */
static void test_replaced_while_checked(void **state)
{
        struct fixture *f = *state;
        _cleanup_free_ char *dir = make_instance(f, UUID), *aside = pathf("%s/checked", f->root), *detail = NULL, *path = NULL;
        _cleanup_free_ char *mark = pathf("%s/stranger", dir), *log = pathf("%s/console.log", aside);

        swap_dir = dir;
        swap_aside = aside;
        assert_int_equal(quarantine_dir(&f->cfg, UUID, "test", NULL, 0, &path, &detail), -ESTALE);
        assert_null(swap_dir); /* the seam did run */
        assert_null(path);
        assert_non_null(detail);
        assert_non_null(strstr(detail, "was replaced while it was being checked"));
        assert_true(has(mark, "not the checked one\n")); /* the stranger is back */
        assert_true(has(log, "log\n"));
        assert_int_equal(count_entries(f->qdir), 0);   /* no entry, no .info */
        assert_outside_intact(f);
}

static void test_refusals(void **state)
{
        struct fixture *f = *state;
        _cleanup_free_ char *dir = pathf("%s/%s", f->inst, UUID), *detail = NULL;
        _cleanup_free_ char *target = make_instance(f, UUID2);
        static const char *const bad[] = { "", "..", "../../etc", "/", UUID "/..", UUID "x", "4a6b2c1e-9f3d-4b8a-a1c2-3d4e5f60718",
                                           "4a6b2c1e-9f3d-4b8a-a1c2/3d4e5f607182", ".migkit-quarantine" };
        struct stat st;

        for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
                assert_int_equal(quarantine_dir(&f->cfg, bad[i], "x", NULL, 0, NULL, NULL), -EINVAL);

        /* the instance directory is a symlink to another instance's */
        assert_int_equal(symlink(target, dir), 0);
        assert_int_equal(quarantine_dir(&f->cfg, UUID, "x", NULL, 0, NULL, &detail), -ELOOP);
        assert_non_null(strstr(detail, "symlink"));
        assert_int_equal(lstat(dir, &st), 0);
        assert_true(S_ISLNK(st.st_mode));
        _cleanup_free_ char *tlog = pathf("%s/console.log", target);
        assert_true(has(tlog, "log\n"));
        assert_int_equal(unlink(dir), 0);

        /* a file in the way */
        put(dir, "file\n");
        assert_int_equal(quarantine_dir(&f->cfg, UUID, "x", NULL, 0, NULL, NULL), -ENOTDIR);
        assert_true(has(dir, "file\n"));
        assert_int_equal(unlink(dir), 0);

        /* the quarantine directory is a symlink (to somewhere outside) */
        assert_int_equal(symlink(f->outside, f->qdir), 0);
        assert_int_equal(quarantine_dir(&f->cfg, UUID2, "x", NULL, 0, NULL, NULL), -EPERM);
        assert_true(exists(target));
        assert_int_equal(quarantine_purge(&f->cfg, 0, time(NULL), false, NULL, NULL, NULL), -EPERM);
        assert_outside_intact(f);
        assert_int_equal(unlink(f->qdir), 0);

        /* the quarantine directory is not private, or not ours */
        assert_int_equal(mkdir(f->qdir, 0700), 0);
        assert_int_equal(chmod(f->qdir, 0777), 0);
        assert_int_equal(quarantine_dir(&f->cfg, UUID2, "x", NULL, 0, NULL, NULL), -EPERM);
        assert_int_equal(chmod(f->qdir, 0700), 0);
        if (geteuid() == 0) {
                assert_int_equal(chown(f->qdir, 4242, 0), 0);
                assert_int_equal(quarantine_dir(&f->cfg, UUID2, "x", NULL, 0, NULL, NULL), -EPERM);
                assert_int_equal(chown(f->qdir, 0, 0), 0);
        }
        assert_true(exists(target));

        /* the instances path is a symlink */
        _cleanup_free_ char *real = pathf("%s/real-instances", f->root);
        assert_int_equal(rename(f->inst, real), 0);
        assert_int_equal(symlink(real, f->inst), 0);
        assert_int_equal(quarantine_dir(&f->cfg, UUID2, "x", NULL, 0, NULL, NULL), -ELOOP);
        assert_int_equal(quarantine_purge(&f->cfg, 0, time(NULL), false, NULL, NULL, NULL), -ELOOP);
        _cleanup_free_ char *still = pathf("%s/%s/console.log", real, UUID2);
        assert_true(has(still, "log\n"));
        assert_int_equal(unlink(f->inst), 0);
        assert_int_equal(rename(real, f->inst), 0);

        /* never "/" */
        set_field(&f->cfg.instances_path, "/");
        assert_int_equal(quarantine_dir(&f->cfg, UUID2, "x", NULL, 0, NULL, NULL), -EINVAL);
        assert_int_equal(quarantine_purge(&f->cfg, 0, time(NULL), false, NULL, NULL, NULL), -EINVAL);
        /* missing instances path */
        set_field(&f->cfg.instances_path, "%s/nope", f->root);
        assert_int_equal(quarantine_dir(&f->cfg, UUID2, "x", NULL, 0, NULL, NULL), -ENOENT);
        assert_true(exists(target));
}

/* A recorded mount table that puts the instances path (its mount id) on
 * NFS. */
static void test_shared_recorded(void **state)
{
        struct fixture *f = *state;
        _cleanup_free_ char *dir = make_instance(f, UUID), *mi = pathf("%s/mountinfo", f->root), *detail = NULL;
        fake_mountinfo(mi, f->inst, "nfs4");
        set_field(&f->cfg.mountinfo, "%s", mi);
        assert_int_equal(quarantine_dir(&f->cfg, UUID, "x", NULL, 0, NULL, &detail), -EREMOTE);
        assert_non_null(strstr(detail, "nfs4"));
        assert_true(exists(dir));
        assert_false(exists(f->qdir));
        assert_int_equal(quarantine_purge(&f->cfg, 0, time(NULL), false, NULL, NULL, NULL), -EREMOTE);
        /* a mount table that cannot be read: unsure, so no */
        set_field(&f->cfg.mountinfo, "%s/no-such-mountinfo", f->root);
        assert_true(quarantine_dir(&f->cfg, UUID, "x", NULL, 0, NULL, NULL) < 0);
        assert_true(exists(dir));
}

struct kept_log {
        char text[4096];
        int n;
};

static void kept_cb(void *userdata, const char *relpath, int err)
{
        struct kept_log *k = userdata;
        size_t len = strlen(k->text);
        snprintf(k->text + len, sizeof(k->text) - len, "%s %d\n", relpath, err);
        k->n++;
}

static void test_rm_rf(void **state)
{
        struct fixture *f = *state;
        _cleanup_free_ char *dir = make_instance(f, UUID);
        struct rm_rf_stats st = { 0 };
        struct kept_log k = { .n = 0 };

        /* nested deeper than rm_rf goes */
        _cleanup_free_ char *deep = pathf("%s/d", dir);
        for (int i = 0; i < 140; i++) {
                assert_int_equal(mkdir(deep, 0755), 0);
                char *n = pathf("%s/d", deep);
                free(deep);
                deep = n;
        }
        _cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(rm_rf_children(fd, "top", kept_cb, &k, &st), 1);
        assert_int_equal(k.n, 1);
        assert_non_null(strstr(k.text, " -40\n")); /* -ELOOP, the one too deep */
        assert_int_equal(strncmp(k.text, "top/d/d/", 8), 0);
        assert_outside_intact(f);
        assert_int_equal(count_entries(dir), 1); /* only the too-deep chain */

        /* not a directory */
        _cleanup_free_ char *pf = pathf("%s/precious", f->outside);
        _cleanup_close_ int filefd = open(pf, O_RDONLY | O_CLOEXEC);
        assert_int_equal(rm_rf_children(filefd, "x", NULL, NULL, NULL), -ENOTDIR);
        assert_outside_intact(f);
}

/* An entry that cannot be deleted (immutable file) is kept and reported;
 * the rest of the quarantine is purged. */
static void test_purge_keeps_undeletable(void **state)
{
        struct fixture *f = *state;
        _cleanup_free_ char *dir = make_instance(f, UUID), *dir2 = make_instance(f, UUID2), *p1 = NULL, *p2 = NULL;
        struct kept_log k = { .n = 0 };
        struct purge_stats ps;

        assert_int_equal(quarantine_dir(&f->cfg, UUID, "x", NULL, 0, &p1, NULL), 1);
        assert_int_equal(quarantine_dir(&f->cfg, UUID2, "x", NULL, 0, &p2, NULL), 1);
        _cleanup_free_ char *imm = pathf("%s/sub/disk.info", p1), *cmd = pathf("chattr +i %s 2>/dev/null", imm);
        if (geteuid() != 0 || system(cmd) != 0)
                skip(); /* chattr +i needs root and ext2/3/4, xfs or btrfs under /tmp */
        assert_int_equal(quarantine_purge(&f->cfg, 0, time(NULL) + 1, false, kept_cb, &k, &ps), 1);
        _cleanup_free_ char *undo = pathf("chattr -i %s", imm);
        assert_int_equal(system(undo), 0);
        assert_int_equal(ps.purged, 1);
        assert_int_equal(ps.kept, 1);
        assert_non_null(strstr(k.text, "/sub/disk.info -1\n")); /* -EPERM */
        assert_true(exists(imm));
        assert_false(exists(p2));
        /* the next purge finishes it */
        assert_int_equal(quarantine_purge(&f->cfg, 0, time(NULL) + 1, false, NULL, NULL, &ps), 0);
        assert_int_equal(count_entries(f->qdir), 0);
        assert_outside_intact(f);
}

static void test_purge_names(void **state)
{
        struct fixture *f = *state;
        char uuid[37];
        time_t t;

        assert_true(quarantine_parse_name(UUID ".1700000000", uuid, &t));
        assert_string_equal(uuid, UUID);
        assert_int_equal(t, 1700000000);
        assert_true(quarantine_parse_name(UUID ".1700000000.3", NULL, &t));
        assert_false(quarantine_parse_name(UUID, NULL, NULL));
        assert_false(quarantine_parse_name(UUID ".", NULL, NULL));
        assert_false(quarantine_parse_name(UUID ".17x", NULL, NULL));
        assert_false(quarantine_parse_name(UUID ".1700000000.", NULL, NULL));
        assert_false(quarantine_parse_name(UUID ".1700000000.info", NULL, NULL));
        assert_false(quarantine_parse_name(UUID ".-1", NULL, NULL));
        assert_false(quarantine_parse_name("lost+found", NULL, NULL));

        /* old and young entries, an orphan .info, and names not ours */
        assert_int_equal(mkdir(f->qdir, 0700), 0);
        time_t now = time(NULL);
        _cleanup_free_ char *old = pathf("%s/%s.%lld", f->qdir, UUID, (long long)now - 7200);
        _cleanup_free_ char *oldf = pathf("%s/file", old);
        _cleanup_free_ char *young = pathf("%s/%s.%lld", f->qdir, UUID, (long long)now - 60);
        _cleanup_free_ char *future = pathf("%s/%s.%lld.1", f->qdir, UUID2, (long long)now + 86400);
        _cleanup_free_ char *orphan = pathf("%s/%s.%lld.info", f->qdir, UUID2, (long long)now - 7200);
        _cleanup_free_ char *youngorphan = pathf("%s/%s.%lld.info", f->qdir, UUID2, (long long)now - 60);
        _cleanup_free_ char *notes = pathf("%s/notes.txt", f->qdir), *lf = pathf("%s/lost+found", f->qdir);
        _cleanup_free_ char *oldlink = pathf("%s/%s.%lld", f->qdir, UUID2, (long long)now - 7200);
        assert_int_equal(mkdir(old, 0700), 0);
        put(oldf, "x");
        assert_int_equal(mkdir(young, 0700), 0);
        assert_int_equal(mkdir(future, 0700), 0);
        put(orphan, "x");
        put(youngorphan, "x");
        put(notes, "mine\n");
        assert_int_equal(mkdir(lf, 0700), 0);
        assert_int_equal(symlink(f->outside, oldlink), 0); /* a symlink entry: unlinked, never followed */

        struct purge_stats ps;
        assert_int_equal(quarantine_purge(&f->cfg, 3600, now, false, NULL, NULL, &ps), 0);
        assert_int_equal(ps.purged, 2);
        assert_int_equal(ps.young, 2);
        assert_false(exists(old));
        assert_false(exists(oldlink));
        assert_false(exists(orphan));
        assert_true(exists(young));
        assert_true(exists(future));
        assert_true(exists(youngorphan));
        assert_true(has(notes, "mine\n"));
        assert_true(exists(lf));
        assert_true(exists(f->outside));
}

/* Many processes quarantine the same directory at once: one wins. */
static void test_concurrent(void **state)
{
        struct fixture *f = *state;
        enum { N = 8 };
        for (int round = 0; round < 5; round++) {
                _cleanup_free_ char *dir = make_instance(f, UUID);
                pid_t pids[N];
                int moved = 0, nothing = 0;
                for (int i = 0; i < N; i++) {
                        pids[i] = fork();
                        assert_true(pids[i] >= 0);
                        if (pids[i] == 0) {
                                int r = quarantine_dir(&f->cfg, UUID, "race", NULL, 0, NULL, NULL);
                                _exit(r == 1 ? 1 : r == 0 ? 0 : 99);
                        }
                }
                for (int i = 0; i < N; i++) {
                        int status;
                        assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
                        assert_true(WIFEXITED(status));
                        if (WEXITSTATUS(status) == 1)
                                moved++;
                        else if (WEXITSTATUS(status) == 0)
                                nothing++;
                        else
                                fail_msg("a concurrent quarantine_dir failed");
                }
                assert_int_equal(moved, 1);
                assert_int_equal(nothing, N - 1);
                assert_false(exists(dir));
                /* entries (and their .info) so far: one per round */
                assert_int_equal(count_entries(f->qdir), 2 * (round + 1));
        }
        assert_outside_intact(f);
}

/* The mount-namespace cases run in a forked child: 77 = cannot unshare. */
static void in_mount_ns(struct fixture *f, int (*fn)(struct fixture *f))
{
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                        _exit(77);
                _exit(fn(f));
        }
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        if (WEXITSTATUS(status) == 77)
                skip(); /* not root or no mount namespaces */
        if (WEXITSTATUS(status) != 0)
                fail_msg("check %d failed in the mount namespace", WEXITSTATUS(status));
}

#define CHECK(n, cond) do { if (!(cond)) return (n); } while (0)

static int ns_bind_inside(struct fixture *f)
{
        _cleanup_free_ char *dir = make_instance(f, UUID), *mnt = pathf("%s/sub/mnt", dir), *fmnt = pathf("%s/bound-file", dir);
        _cleanup_free_ char *victim = pathf("%s/victim", f->outside), *vf = pathf("%s/victim/data", f->outside);
        _cleanup_free_ char *of = pathf("%s/precious", f->outside), *detail = NULL, *path = NULL;
        CHECK(2, mkdir(victim, 0755) == 0 && mkdir(mnt, 0755) == 0);
        put(vf, "must survive\n");
        put(fmnt, "");
        CHECK(3, mount(victim, mnt, NULL, MS_BIND, NULL) == 0);

        /* quarantine refuses while something is mounted inside */
        CHECK(4, quarantine_dir(&f->cfg, UUID, "x", NULL, 0, NULL, &detail) == -EBUSY);
        CHECK(5, detail && strstr(detail, mnt));
        CHECK(6, exists(dir) && has(vf, "must survive\n"));

        /* mounted after it was quarantined: purge leaves the mount and
         * everything under it, removes the rest, and says so */
        CHECK(7, umount(mnt) == 0);
        CHECK(8, quarantine_dir(&f->cfg, UUID, "x", NULL, 0, &path, NULL) == 1);
        _cleanup_free_ char *qmnt = pathf("%s/sub/mnt", path), *qfile = pathf("%s/bound-file", path);
        CHECK(9, mount(victim, qmnt, NULL, MS_BIND, NULL) == 0);
        CHECK(10, mount(of, qfile, NULL, MS_BIND, NULL) == 0);
        struct kept_log k = { .n = 0 };
        struct purge_stats ps;
        CHECK(11, quarantine_purge(&f->cfg, 0, time(NULL) + 1, false, kept_cb, &k, &ps) == 1);
        CHECK(12, ps.kept == 1 && ps.purged == 0);
        CHECK(13, has(vf, "must survive\n") && has(of, "precious\n"));
        CHECK(14, strstr(k.text, "/sub/mnt -18\n") && strstr(k.text, "/bound-file -18\n")); /* -EXDEV */
        CHECK(15, exists(qmnt) && !exists(pathf("%s/console.log", path)) && !exists(pathf("%s/sub/deeper", path)));
        /* unmounted, the next purge finishes; the mounted data was never touched */
        CHECK(16, umount(qmnt) == 0 && umount(qfile) == 0);
        CHECK(17, quarantine_purge(&f->cfg, 0, time(NULL) + 1, false, NULL, NULL, &ps) == 0 && ps.purged == 1);
        CHECK(18, !exists(path) && has(vf, "must survive\n") && has(of, "precious\n"));
        return 0;
}

static void test_bind_mount_inside(void **state)
{
        in_mount_ns(*state, ns_bind_inside);
}

static int ns_mount_points(struct fixture *f)
{
        _cleanup_free_ char *dir = make_instance(f, UUID), *dir2 = pathf("%s/%s", f->inst, UUID2), *detail = NULL;
        _cleanup_free_ char *onfs = pathf("%s/on-tmpfs", dir2);

        /* the instance directory itself is a mount point (tmpfs, and a bind
         * mount of the same filesystem, which only the mount id tells) */
        CHECK(2, mkdir(dir2, 0755) == 0 && mount("t", dir2, "tmpfs", 0, "size=1m") == 0);
        put(onfs, "x");
        CHECK(3, quarantine_dir(&f->cfg, UUID2, "x", NULL, 0, NULL, &detail) == -EXDEV);
        CHECK(4, has(onfs, "x"));
        CHECK(5, umount(dir2) == 0);
        CHECK(6, mount(dir, dir, NULL, MS_BIND, NULL) == 0);
        CHECK(7, quarantine_dir(&f->cfg, UUID, "x", NULL, 0, NULL, NULL) == -EXDEV);
        CHECK(8, umount(dir) == 0);

        /* the quarantine directory on another filesystem */
        CHECK(9, mkdir(f->qdir, 0700) == 0 && mount("t", f->qdir, "tmpfs", 0, "size=1m,mode=0700") == 0);
        CHECK(10, quarantine_dir(&f->cfg, UUID, "x", NULL, 0, NULL, NULL) == -EXDEV);
        CHECK(11, quarantine_purge(&f->cfg, 0, time(NULL), false, NULL, NULL, NULL) == -EXDEV);
        CHECK(12, exists(pathf("%s/console.log", dir)));
        CHECK(13, umount(f->qdir) == 0);

        /* the instances path on a filesystem type taken off the local
         * list, seen through the live mount table */
        CHECK(14, mount("t", f->inst, "tmpfs", 0, "size=1m") == 0);
        _cleanup_free_ char *d3 = pathf("%s/%s", f->inst, UUID), *d3f = pathf("%s/%s/f", f->inst, UUID);
        CHECK(15, mkdir(d3, 0755) == 0);
        put(d3f, "x");
        CHECK(16, quarantine_dir(&f->cfg, UUID, "x", NULL, 0, NULL, NULL) == 1); /* tmpfs is local by default */
        CHECK(17, mkdir(d3, 0755) == 0);
        put(d3f, "x");
        strv_free(f->cfg.local_fs_types);
        f->cfg.local_fs_types = NULL;
        strv_push(&f->cfg.local_fs_types, "ext4");
        free(detail);
        detail = NULL;
        CHECK(18, quarantine_dir(&f->cfg, UUID, "x", NULL, 0, NULL, &detail) == -EREMOTE);
        CHECK(19, detail && strstr(detail, "tmpfs"));
        CHECK(20, has(d3f, "x"));
        CHECK(21, quarantine_purge(&f->cfg, 0, time(NULL) + 1, false, NULL, NULL, NULL) == -EREMOTE);
        _cleanup_free_ char *q = pathf("%s/%s", f->inst, QUARANTINE_DIR);
        CHECK(22, count_entries(q) == 2); /* the earlier entry and its .info are still there */
        return 0;
}

static void test_mount_points(void **state)
{
        in_mount_ns(*state, ns_mount_points);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_quarantine_and_purge, setup, teardown),
                cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
                cmocka_unit_test_setup_teardown(test_replaced_while_checked, setup, teardown),
                cmocka_unit_test_setup_teardown(test_shared_recorded, setup, teardown),
                cmocka_unit_test_setup_teardown(test_rm_rf, setup, teardown),
                cmocka_unit_test_setup_teardown(test_purge_keeps_undeletable, setup, teardown),
                cmocka_unit_test_setup_teardown(test_purge_names, setup, teardown),
                cmocka_unit_test_setup_teardown(test_concurrent, setup, teardown),
                cmocka_unit_test_setup_teardown(test_bind_mount_inside, setup, teardown),
                cmocka_unit_test_setup_teardown(test_mount_points, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
