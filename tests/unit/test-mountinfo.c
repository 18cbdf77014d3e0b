/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The mount table through libmount: recorded mountinfo files with octal
 * escapes, optional fields and an empty source; what libmount itself does
 * with malformed lines (it skips them, and takes a file whose first line is
 * not mountinfo for fstab) and that migkit refuses such a table; the mount
 * covering a path; every line in order; the live table by the mount id of a real directory; a
 * bind mount of the same filesystem told apart by its mount id alone, and
 * seen below its parent (a private mount namespace). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <libmount.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "mountinfo.h"
#include "util.h"
#include "testutil.h"

#define DATA "tests/data/mountinfo/"

static void test_escapes(void **state)
{
        struct mount_entry e;
        (void)state;
        assert_int_equal(mountinfo_find(DATA "escapes.txt", 47, &e), 0);
        assert_int_equal(e.id, 47);
        assert_int_equal(e.parent, 31);
        assert_int_equal(e.major, 0);
        assert_int_equal(e.minor, 46);
        assert_string_equal(e.root, "/export");
        assert_string_equal(e.target, "/var/lib/nova instances");  /* \040 */
        assert_string_equal(e.fstype, "nfs4");
        assert_string_equal(e.source, "srv:/a\\b");                /* \134 */
        mount_entry_done(&e);
        /* two optional fields before the separator, \011 \012 in the target */
        assert_int_equal(mountinfo_find(DATA "escapes.txt", 48, &e), 0);
        assert_string_equal(e.target, "/var/lib/nova instances/tab\tand\nnewline");
        assert_string_equal(e.fstype, "fuse.sshfs");
        assert_string_equal(e.source, "user@host:/srv x");
        mount_entry_done(&e);
        /* no optional field, an empty source (reads "none") */
        assert_int_equal(mountinfo_find(DATA "escapes.txt", 49, &e), 0);
        assert_string_equal(e.fstype, "tmpfs");
        assert_string_equal(e.source, "none");
        mount_entry_done(&e);
        assert_int_equal(mountinfo_find(DATA "escapes.txt", 50, &e), 0);
        assert_string_equal(e.root, "/sub/vol");
        assert_int_equal(e.major, 0);
        assert_int_equal(e.minor, 49);
        mount_entry_done(&e);
        assert_int_equal(mountinfo_find(DATA "escapes.txt", 2147483647, &e), 0);
        assert_string_equal(e.target, "/srv/last");
        mount_entry_done(&e);
        /* not there; and an id beyond the kernel's int is in no table */
        assert_int_equal(mountinfo_find(DATA "escapes.txt", 46, &e), -ENOENT);
        assert_int_equal(mountinfo_find(DATA "escapes.txt", (uint64_t)47 + ((uint64_t)1 << 32), &e), -ENOENT);
        assert_int_equal(mountinfo_find(DATA "no-such-file.txt", 47, &e), -ENOENT);
}

/* What libmount (linked here, dlopen()ed by migkit) does with each
 * malformed file, so that a libmount that changes its mind shows up here. */
static void libmount_reads(const char *file, int want_entries, int want_last_id)
{
        struct libmnt_table *tb = mnt_new_table();
        struct libmnt_iter *it = mnt_new_iter(MNT_ITER_FORWARD);
        struct libmnt_fs *fs;
        int n = 0, last = 0;
        assert_non_null(tb);
        assert_int_equal(mnt_table_parse_file(tb, file), 0); /* no error: bad lines are skipped */
        while (mnt_table_next_fs(tb, it, &fs) == 0) {
                n++;
                last = mnt_fs_get_id(fs);
        }
        if (n != want_entries || last != want_last_id)
                fail_msg("%s: libmount read %d entries, the last with id %d; expected %d, %d", file, n, last,
                         want_entries, want_last_id);
        mnt_free_iter(it);
        mnt_unref_table(tb);
}

static void test_malformed(void **state)
{
        static const struct {
                const char *file;
                int entries, last_id; /* as libmount reads it */
        } cases[] = {
                { DATA "malformed-no-separator.txt", 2, 31 },    /* the line without " - " is skipped */
                { DATA "malformed-truncated.txt", 2, 31 },       /* the line cut after the target is skipped */
                { DATA "malformed-first-line.txt", 0, 0 },       /* read as fstab: every line fails */
                { DATA "malformed-id-overflow.txt", 2, -2147483647 - 1 }, /* 2147483648 wraps */
                { DATA "malformed-duplicate-id.txt", 3, 31 },    /* two lines of id 31 */
                { DATA "fstab.txt", 2, 0 },                      /* fstab entries, no ids */
        };
        struct mount_entry e;
        (void)state;
        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                libmount_reads(cases[i].file, cases[i].entries, cases[i].last_id);
                /* migkit refuses the whole table: the line skipped could be
                 * the mount that decides (here: the instances path's) */
                int r = mountinfo_find(cases[i].file, 22, &e);
                if (r != -EBADMSG)
                        fail_msg("%s: mountinfo_find gave %d, expected -EBADMSG", cases[i].file, r);
                r = mountinfo_covering(cases[i].file, "/var/lib/nova/instances/x", &e);
                if (r != -EBADMSG)
                        fail_msg("%s: mountinfo_covering gave %d, expected -EBADMSG", cases[i].file, r);
        }
        assert_non_null(strstr(mountinfo_strerror(-EBADMSG), "libmount cannot parse"));
        assert_non_null(strstr(mountinfo_strerror(-ELIBACC), "install libmount1"));
        assert_string_equal(mountinfo_strerror(-ENOENT), strerror(ENOENT));
}

/* The loader the dlopen()ed libraries (libmount here, libudev, libmnl)
 * share: all symbols or none, and which of the two failures. */
static void test_loader(void **state)
{
        void *strlen_at = NULL, *missing = NULL, *h = NULL;
        const struct dl_sym ok[] = { { "strlen", &strlen_at }, {} };
        const struct dl_sym bad[] = { { "strlen", &strlen_at }, { "migkit_no_such_symbol", &missing }, {} };
        (void)state;
        assert_int_equal(dl_open_syms("libc.so.6", ok, &h), 0);
        assert_non_null(h);
        assert_non_null(strlen_at);
        assert_int_equal(((size_t (*)(const char *))strlen_at)("migkit"), 6);
        dlclose(h);
        h = NULL;
        assert_int_equal(dl_open_syms("libc.so.6", bad, &h), -ELIBBAD);
        assert_null(h);
        assert_int_equal(dl_open_syms("libmigkit-no-such-library.so.0", ok, &h), -ELIBACC);
        assert_null(h);
}

static void covers(const char *file, const char *path, int want, const char *target, const char *fstype)
{
        struct mount_entry e;
        int r = mountinfo_covering(file, path, &e);
        if (r != want || (r == 0 && (!streq(e.target, target) || !streq(e.fstype, fstype))))
                fail_msg("%s %s: got %d %s %s, expected %d %s %s", file, path, r, r == 0 ? e.target : "-",
                         r == 0 ? e.fstype : "-", want, target, fstype);
        mount_entry_done(&e);
}

static void test_covering(void **state)
{
        (void)state;
        covers(DATA "escapes.txt", "/var/lib/nova instances/x", 0, "/var/lib/nova instances", "nfs4");
        covers(DATA "escapes.txt", "/var/lib/nova instances", 0, "/var/lib/nova instances", "nfs4");
        covers(DATA "escapes.txt", "/var/lib/nova instancesX", 0, "/var", "xfs"); /* a prefix is not a parent */
        covers(DATA "escapes.txt", "/var/lib/nova instances/tab\tand\nnewline/d", 0,
               "/var/lib/nova instances/tab\tand\nnewline", "fuse.sshfs");
        covers(DATA "escapes.txt", "/etc", 0, "/", "ext4");
        covers(DATA "local-below-shared.txt", "/var/lib/nova/instances/u", 0, "/var/lib/nova/instances", "ext4");
        covers(DATA "local-below-shared.txt", "/var/lib/nova/x", 0, "/var/lib/nova", "glusterfs");
        /* one mount point twice: the later line is mounted over the earlier */
        _cleanup_free_ char *over = strdup("/tmp/migkit-test-mountinfo-over.XXXXXX");
        int fd = mkstemp(over);
        assert_true(fd >= 0);
        close(fd);
        put(over, "22 1 8:1 / / rw - ext4 /dev/sda1 rw\n40 22 8:3 / /srv rw - xfs /dev/sdb1 rw\n"
                  "41 40 0:46 / /srv rw - nfs4 srv:/x rw\n");
        covers(over, "/srv/a", 0, "/srv", "nfs4");
        put(over, "40 22 8:3 / /srv rw - xfs /dev/sdb1 rw\n");
        covers(over, "/etc", -ENOENT, NULL, NULL);
        unlink(over);
}

static int collect(const struct mount_entry *e, void *userdata)
{
        char ***l = userdata;
        assert_int_equal(strv_push(l, e->target), 0);
        return e->id == 48 ? 7 : 0; /* stop there */
}

static void test_foreach(void **state)
{
        _cleanup_strv_ char **l = NULL;
        (void)state;
        assert_int_equal(mountinfo_foreach(DATA "escapes.txt", collect, &l), 7);
        assert_int_equal(strv_length(l), 4);
        assert_string_equal(l[0], "/");
        assert_string_equal(l[2], "/var/lib/nova instances");
        assert_string_equal(l[3], "/var/lib/nova instances/tab\tand\nnewline");
        /* a table refused whole: no line is seen */
        assert_int_equal(mountinfo_foreach(DATA "malformed-truncated.txt", collect, &l), -EBADMSG);
        assert_int_equal(strv_length(l), 4);
}

static void test_live(void **state)
{
        struct mount_entry e;
        uint64_t id;
        (void)state;
        _cleanup_close_ int fd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_true(mount_id_at(fd, "", &id) > 0);
        assert_int_equal(mountinfo_find("/proc/self/mountinfo", id, &e), 0);
        assert_int_equal(e.id, id);
        assert_string_equal(e.fstype, "proc");
        assert_string_equal(e.target, "/proc");
        mount_entry_done(&e);
        assert_int_equal(mountinfo_find("/proc/self/mountinfo", (uint64_t)1 << 40, &e), -ENOENT);
        int h = mount_id_from_handle(fd, "", &id); /* procfs may encode no file handles */
        assert_true(h == MOUNT_ID_HANDLE || h == -EOPNOTSUPP);
}

/* The bind mount's line, by the id the open directory gives, in the live
 * table: 0 or a small exit code for the child. */
static int bind_line(int fd, const char *target, const char *root_suffix)
{
        struct mount_entry e;
        uint64_t id;
        if (mount_id_at(fd, "", &id) < 0 || mountinfo_find("/proc/self/mountinfo", id, &e) < 0)
                return 6;
        size_t rl = strlen(e.root), sl = strlen(root_suffix);
        int r = streq(e.target, target) && rl >= sl && streq(e.root + rl - sl, root_suffix) ? 0 : 7;
        mount_entry_done(&e);
        return r;
}

/* A bind mount of a directory onto another of the same filesystem: the
 * same st_dev, another mount id, by either source; its own line in the
 * live table (the bound directory as its root); seen below its parent. */
static void test_bind(void **state)
{
        char root[] = "/tmp/migkit-test-mountinfo.XXXXXX";
        (void)state;
        assert_non_null(mkdtemp(root));
        _cleanup_free_ char *a = pathf("%s/a", root), *b = pathf("%s/b", root);
        assert_int_equal(mkdir(a, 0755), 0);
        assert_int_equal(mkdir(b, 0755), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                        _exit(77);
                int fa = open(root, O_RDONLY | O_DIRECTORY), fsub = open(a, O_RDONLY | O_DIRECTORY);
                char *below = NULL;
                if (fa < 0 || fsub < 0 || mounts_below_fd(fa, &below) != 0 || below)
                        _exit(8);
                if (mount(a, b, NULL, MS_BIND, NULL) < 0)
                        _exit(2);
                int fb = open(b, O_RDONLY | O_DIRECTORY);
                uint64_t ia, ib, ha, hb;
                struct stat sa, sb;
                if (fb < 0 || fstat(fa, &sa) < 0 || fstat(fb, &sb) < 0 || sa.st_dev != sb.st_dev)
                        _exit(3);
                if (mount_id_at(fa, "", &ia) != MOUNT_ID_STATX || mount_id_at(fb, "", &ib) != MOUNT_ID_STATX || ia == ib)
                        _exit(4);
                /* before Linux 5.8: name_to_handle_at's mount id tells them apart the same */
                if (mount_id_from_handle(fa, "", &ha) != MOUNT_ID_HANDLE || mount_id_from_handle(fb, "", &hb) != MOUNT_ID_HANDLE ||
                    ha != ia || hb != ib)
                        _exit(5);
                int r = bind_line(fb, b, strrchr(a, '/'));
                if (r)
                        _exit(r);
                /* the bind mount is strictly below root, not below a */
                if (mounts_below_fd(fa, &below) != -EBUSY || !below || !streq(below, b))
                        _exit(9);
                free(below);
                below = NULL;
                if (mounts_below_fd(fsub, &below) != 0 || mounts_below_fd(fb, &below) != 0)
                        _exit(10);
                _exit(0);
        }
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        rm_tree(root);
        if (WEXITSTATUS(status) == 77)
                skip();
        assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_escapes),
                cmocka_unit_test(test_malformed),
                cmocka_unit_test(test_loader),
                cmocka_unit_test(test_covering),
                cmocka_unit_test(test_foreach),
                cmocka_unit_test(test_live),
                cmocka_unit_test(test_bind),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
