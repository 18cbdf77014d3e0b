/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* mountinfo(5) lines and mount ids: octal escapes, optional fields, a
 * malformed line; the mount id of a real directory found in the live
 * table, and a bind mount of the same filesystem telling itself apart by
 * its mount id alone (a private mount namespace). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "mountinfo.h"
#include "util.h"
#include "testutil.h"

static void test_parse(void **state)
{
        struct mount_entry e;
        (void)state;
        char l1[] = "47 31 0:46 /export /var/lib/nova\\040instances rw,relatime shared:28 master:3 - nfs4 srv:/a\\134b rw,vers=4.2\n";
        assert_int_equal(mountinfo_parse_line(l1, &e), 0);
        assert_int_equal(e.id, 47);
        assert_int_equal(e.parent, 31);
        assert_int_equal(e.major, 0);
        assert_int_equal(e.minor, 46);
        assert_string_equal(e.root, "/export");
        assert_string_equal(e.target, "/var/lib/nova instances");
        assert_string_equal(e.fstype, "nfs4");
        assert_string_equal(e.source, "srv:/a\\b");
        char l2[] = "22 1 8:1 / / rw - ext4 /dev/sda1 rw";
        assert_int_equal(mountinfo_parse_line(l2, &e), 0);
        assert_string_equal(e.fstype, "ext4");
        char bad1[] = "22 1 8:1 / / rw ext4 /dev/sda1 rw"; /* no separator */
        char bad2[] = "x 1 8:1 / / rw - ext4 /dev/sda1 rw";
        char bad3[] = "22 1 8:1 / /";
        assert_int_equal(mountinfo_parse_line(bad1, &e), -EBADMSG);
        assert_int_equal(mountinfo_parse_line(bad2, &e), -EBADMSG);
        assert_int_equal(mountinfo_parse_line(bad3, &e), -EBADMSG);
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
        assert_string_equal(e.fstype, "proc");
        assert_string_equal(e.target, "/proc");
        mount_entry_done(&e);
        assert_int_equal(mountinfo_find("/proc/self/mountinfo", (uint64_t)1 << 40, &e), -ENOENT);
        int h = mount_id_from_handle(fd, "", &id); /* procfs may encode no file handles */
        assert_true(h == MOUNT_ID_HANDLE || h == -EOPNOTSUPP);
}

/* A bind mount of a directory onto another of the same filesystem: the
 * same st_dev, another mount id, by either source. */
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
                if (mount(a, b, NULL, MS_BIND, NULL) < 0)
                        _exit(2);
                int fa = open(root, O_RDONLY | O_DIRECTORY), fb = open(b, O_RDONLY | O_DIRECTORY);
                uint64_t ia, ib, ha, hb;
                struct stat sa, sb;
                if (fa < 0 || fb < 0 || fstat(fa, &sa) < 0 || fstat(fb, &sb) < 0 || sa.st_dev != sb.st_dev)
                        _exit(3);
                if (mount_id_at(fa, "", &ia) != MOUNT_ID_STATX || mount_id_at(fb, "", &ib) != MOUNT_ID_STATX || ia == ib)
                        _exit(4);
                /* before Linux 5.8: name_to_handle_at's mount id tells them apart the same */
                if (mount_id_from_handle(fa, "", &ha) != MOUNT_ID_HANDLE || mount_id_from_handle(fb, "", &hb) != MOUNT_ID_HANDLE ||
                    ha != ia || hb != ib)
                        _exit(5);
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
                cmocka_unit_test(test_parse),
                cmocka_unit_test(test_live),
                cmocka_unit_test(test_bind),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
