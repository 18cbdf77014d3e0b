/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>

#include "config.h"
#include "instdir.h"
#include "util.h"
#include "testutil.h"

#define UUID "4a6b2c1e-9f3d-4b8a-a1c2-3d4e5f607182"

struct fixture {
        char root[64];
        struct mk_config cfg;
};

static int setup(void **state)
{
        struct fixture *f = calloc(1, sizeof(*f));
        if (!f || scratch_dir(f->root, sizeof(f->root), "instdir") < 0 || config_defaults(&f->cfg) < 0)
                return -1;
        set_field(&f->cfg.instances_path, "%s/instances", f->root);
        if (mkdir(f->cfg.instances_path, 0755) < 0)
                return -1;
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;
        int r = rm_tree(f->root);
        config_free(&f->cfg);
        free(f);
        return r;
}

static void test_create(void **state)
{
        struct fixture *f = *state;
        struct stat st;
        struct dir_ident id;
        _cleanup_free_ char *dir = path_join(f->cfg.instances_path, UUID);

        f->cfg.instance_mode = 0750;
        mode_t old = umask(0077); /* the configured mode wins over the umask */
        assert_int_equal(instance_dir_exists(&f->cfg, UUID), 0);
        assert_int_equal(instance_dir_create(&f->cfg, UUID, 123, 456, &id), 1);
        umask(old);
        assert_int_equal(lstat(dir, &st), 0);
        assert_true(id.dev == st.st_dev && id.ino == st.st_ino); /* what the journal records */
        assert_true(id.btime_s > 0); /* ext4, xfs, btrfs, tmpfs keep a birth time */
        assert_true(S_ISDIR(st.st_mode));
        assert_int_equal(st.st_mode & 07777, 0750);
        assert_int_equal(st.st_uid, 123);
        assert_int_equal(st.st_gid, 456);
        assert_int_equal(instance_dir_exists(&f->cfg, UUID), 1);
        /* idempotent, and an existing directory is not re-owned */
        assert_int_equal(instance_dir_create(&f->cfg, UUID, 0, 0, NULL), 0);
        assert_int_equal(lstat(dir, &st), 0);
        assert_int_equal(st.st_uid, 123);
}

static void test_refusals(void **state)
{
        struct fixture *f = *state;
        _cleanup_free_ char *dir = path_join(f->cfg.instances_path, UUID);
        _cleanup_free_ char *target = path_join(f->root, "elsewhere");
        struct stat st;

        assert_int_equal(instance_dir_create(&f->cfg, "../../etc", 0, 0, NULL), -EINVAL);
        assert_int_equal(instance_dir_exists(&f->cfg, "../x"), -EINVAL);

        /* a symlink where the directory would be: not followed, not replaced */
        assert_int_equal(mkdir(target, 0700), 0);
        assert_int_equal(symlink(target, dir), 0);
        assert_int_equal(instance_dir_exists(&f->cfg, UUID), -ELOOP);
        assert_int_equal(instance_dir_create(&f->cfg, UUID, 0, 0, NULL), -ELOOP);
        assert_int_equal(lstat(dir, &st), 0);
        assert_true(S_ISLNK(st.st_mode));
        assert_int_equal(unlink(dir), 0);

        /* a file in the way */
        int fd = open(dir, O_CREAT | O_WRONLY, 0600);
        assert_true(fd >= 0);
        close(fd);
        assert_int_equal(instance_dir_create(&f->cfg, UUID, 0, 0, NULL), -ENOTDIR);
        assert_int_equal(instance_dir_exists(&f->cfg, UUID), -ENOTDIR);
        assert_int_equal(unlink(dir), 0);

        /* the instances path itself is a symlink */
        _cleanup_free_ char *real = strdup(f->cfg.instances_path);
        _cleanup_free_ char *moved = path_join(f->root, "real-instances");
        assert_int_equal(rename(real, moved), 0);
        assert_int_equal(symlink(moved, real), 0);
        assert_int_equal(instance_dir_create(&f->cfg, UUID, 0, 0, NULL), -ELOOP);
        _cleanup_free_ char *inside = path_join(moved, UUID);
        assert_int_equal(lstat(inside, &st), -1);
        assert_int_equal(unlink(real), 0);
        assert_int_equal(rename(moved, real), 0);

        /* missing instances path */
        set_field(&f->cfg.instances_path, "%s/no-such-dir", f->root);
        assert_int_equal(instance_dir_create(&f->cfg, UUID, 0, 0, NULL), -ENOENT);
}

static void check_fs(struct mk_config *cfg, const char *mountinfo, const char *path, int expect, const char *type, const char *target)
{
        _cleanup_free_ char *t = NULL, *m = NULL;
        set_field(&cfg->mountinfo, "%s", mountinfo);
        int r = fs_is_shared(cfg, path, &t, &m);
        if (r != expect || !streq_ptr(t, type) || !streq_ptr(m, target))
                fail_msg("%s %s: got %d %s %s, expected %d %s %s", mountinfo, path, r, t, m, expect, type, target);
}

static void test_shared_fs_recorded(void **state)
{
        struct fixture *f = *state;
        check_fs(&f->cfg, "tests/data/mountinfo/nfs.txt", "/var/lib/nova/instances", 1, "nfs4", "/var/lib/nova/instances");
        check_fs(&f->cfg, "tests/data/mountinfo/nfs.txt", "/var/lib/nova/instances/" UUID, 1, "nfs4", "/var/lib/nova/instances");
        check_fs(&f->cfg, "tests/data/mountinfo/nfs.txt", "/var/lib/nova", 0, "xfs", "/var");
        check_fs(&f->cfg, "tests/data/mountinfo/local.txt", "/var/lib/nova/instances", 0, "xfs", "/var");
        check_fs(&f->cfg, "tests/data/mountinfo/cephfs-parent.txt", "/var/lib/nova/instances", 1, "ceph", "/var/lib/nova");
        check_fs(&f->cfg, "tests/data/mountinfo/local-below-shared.txt", "/var/lib/nova/instances", 0, "ext4", "/var/lib/nova/instances");
        /* the list is configuration: a type not on it counts as shared */
        strv_free(f->cfg.local_fs_types);
        f->cfg.local_fs_types = NULL;
        strv_push(&f->cfg.local_fs_types, "ext4");
        check_fs(&f->cfg, "tests/data/mountinfo/local.txt", "/var/lib/nova/instances", 1, "xfs", "/var");
        set_field(&f->cfg.mountinfo, "tests/data/mountinfo/missing.txt");
        assert_true(fs_is_shared(&f->cfg, "/", NULL, NULL) < 0);
}

/* A real mount namespace: a tmpfs mounted over the instances path, taken
 * off the local list by configuration, must be seen through
 * /proc/self/mountinfo. */
static void test_shared_fs_real_mount(void **state)
{
        struct fixture *f = *state;
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                        _exit(77);
                if (mount("migkit-test", f->cfg.instances_path, "tmpfs", 0, "size=1m") < 0)
                        _exit(3);
                set_field(&f->cfg.mountinfo, "/proc/self/mountinfo");
                strv_free(f->cfg.local_fs_types);
                f->cfg.local_fs_types = NULL;
                strv_push(&f->cfg.local_fs_types, "ext4");
                strv_push(&f->cfg.local_fs_types, "xfs");
                _cleanup_free_ char *t = NULL, *m = NULL;
                int r = fs_is_shared(&f->cfg, f->cfg.instances_path, &t, &m);
                if (r != 1 || !streq(t, "tmpfs") || !streq(m, f->cfg.instances_path))
                        _exit(4);
                r = fs_is_shared(&f->cfg, f->root, NULL, NULL);
                _exit(r == 0 ? 0 : 5);
        }
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        if (WEXITSTATUS(status) == 77)
                skip(); /* not root or no mount namespaces: reported as SKIPPED */
        assert_int_equal(WEXITSTATUS(status), 0);
}

/* The live mount table: a local ext4/xfs/... path is answered by statfs()
 * alone; once its type is off the local list, /proc/self/mountinfo is read
 * (by mount id) and says so. */
static void test_shared_fs_fast_path(void **state)
{
        struct fixture *f = *state;
        _cleanup_free_ char *t = NULL, *m = NULL;
        struct statfs sf;

        assert_int_equal(statfs(f->root, &sf), 0);
        if (sf.f_type != 0xEF53 && sf.f_type != 0x58465342)
                skip(); /* /tmp is not ext4 or xfs on this machine */
        set_field(&f->cfg.mountinfo, "/proc/self/mountinfo");
        assert_int_equal(fs_is_shared(&f->cfg, f->root, &t, &m), 0);
        assert_null(m); /* fast path: mountinfo not consulted */
        assert_string_equal(t, sf.f_type == 0xEF53 ? "ext2/ext3/ext4" : "xfs");
        free(t);
        t = NULL;
        strv_free(f->cfg.local_fs_types);
        f->cfg.local_fs_types = NULL;
        strv_push(&f->cfg.local_fs_types, "tmpfs");
        assert_int_equal(fs_is_shared(&f->cfg, f->root, &t, &m), 1);
        assert_non_null(m);
        assert_true(streq(t, "ext4") || streq(t, "ext3") || streq(t, "ext2") || streq(t, "xfs"));
}

static void test_owner(void **state)
{
        struct fixture *f = *state;
        uid_t u;
        gid_t g;
        assert_int_equal(instance_owner_resolve(&f->cfg, &u, &g), 0); /* root:root */
        assert_int_equal(u, 0);
        assert_int_equal(g, 0);
        set_field(&f->cfg.instance_owner, "no-such-user-migkit");
        assert_int_equal(instance_owner_resolve(&f->cfg, &u, &g), -ESRCH);
        set_field(&f->cfg.instance_owner, "4242");
        assert_int_equal(instance_owner_resolve(&f->cfg, &u, &g), 0);
        assert_int_equal(u, 4242);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_create, setup, teardown),
                cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
                cmocka_unit_test_setup_teardown(test_shared_fs_recorded, setup, teardown),
                cmocka_unit_test_setup_teardown(test_shared_fs_real_mount, setup, teardown),
                cmocka_unit_test_setup_teardown(test_shared_fs_fast_path, setup, teardown),
                cmocka_unit_test_setup_teardown(test_owner, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
