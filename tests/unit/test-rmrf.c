/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* rm_rf_children() at its limits: a tree deeper than it descends is left
 * (the part below the limit, and every directory above it), each entry
 * left is reported with its path and why, and everything else is removed;
 * a root that is not a directory is refused before anything is touched;
 * a symlink to a directory is removed, never followed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>

#include "quarantine.h"
#include "util.h"
#include "testutil.h"

#define MAX_DEPTH 128 /* RM_RF_MAX_DEPTH */

struct kept {
        unsigned n;
        char first[PATH_MAX];
        int first_err;
};

static void on_kept(void *userdata, const char *relpath, int err)
{
        struct kept *k = userdata;
        if (k->n++ == 0) {
                snprintf(k->first, sizeof(k->first), "%s", relpath);
                k->first_err = err;
        }
}

static void test_depth_limit(void **state)
{
        struct scratch *f = *state;
        _cleanup_free_ char *top = pathf("%s/top", f->root), *other = pathf("%s/top/other", f->root);
        assert_int_equal(mkdir(top, 0755), 0);
        put(other, "x");
        /* top/d/d/.../d, MAX_DEPTH + 2 levels, a file at the bottom */
        int fd = open(top, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(fd >= 0);
        for (int i = 0; i < MAX_DEPTH + 2; i++) {
                assert_int_equal(mkdirat(fd, "d", 0755), 0);
                int nfd = openat(fd, "d", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                assert_true(nfd >= 0);
                close(fd);
                fd = nfd;
        }
        int ffd = openat(fd, "bottom", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        assert_true(ffd >= 0);
        close(ffd);
        close(fd);

        struct kept k = { 0 };
        struct rm_rf_stats st = { 0 };
        int tfd = open(top, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(tfd >= 0);
        assert_int_equal(rm_rf_children(tfd, "top", on_kept, &k, &st), 1);
        close(tfd);
        /* one entry left at the limit, reported once with -ELOOP and its
         * path; the directories above it stay as they are not empty */
        assert_int_equal(k.n, 1);
        assert_int_equal(k.first_err, -ELOOP);
        assert_true(strncmp(k.first, "top/d/d/", 8) == 0);
        assert_int_equal(st.kept, 1);
        assert_false(exists(other));
        _cleanup_free_ char *d1 = pathf("%s/d", top);
        assert_true(exists(d1));
        assert_int_equal(st.removed, 1);
}

static void test_not_a_directory(void **state)
{
        struct scratch *f = *state;
        _cleanup_free_ char *file = pathf("%s/file", f->root);
        put(file, "x");
        int fd = open(file, O_RDONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(rm_rf_children(fd, "file", NULL, NULL, NULL), -ENOTDIR);
        close(fd);
        assert_true(exists(file));
}

static void test_symlink_not_followed(void **state)
{
        struct scratch *f = *state;
        _cleanup_free_ char *top = pathf("%s/top", f->root), *outside = pathf("%s/outside", f->root);
        _cleanup_free_ char *keep = pathf("%s/outside/keep", f->root), *link = pathf("%s/top/link", f->root);
        _cleanup_free_ char *sub = pathf("%s/top/sub", f->root), *subf = pathf("%s/top/sub/f", f->root);
        assert_int_equal(mkdir(top, 0755), 0);
        assert_int_equal(mkdir(outside, 0755), 0);
        assert_int_equal(mkdir(sub, 0755), 0);
        put(keep, "not ours");
        put(subf, "ours");
        assert_int_equal(symlink(outside, link), 0);
        struct rm_rf_stats st = { 0 };
        int tfd = open(top, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(tfd >= 0);
        assert_int_equal(rm_rf_children(tfd, NULL, NULL, NULL, &st), 0);
        close(tfd);
        assert_int_equal(st.removed, 3); /* link, sub/f, sub */
        assert_int_equal(st.kept, 0);
        assert_false(exists(link));
        assert_false(exists(sub));
        assert_true(exists(keep));
        assert_true(exists(top));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_depth_limit, scratch_setup, scratch_teardown),
                cmocka_unit_test_setup_teardown(test_not_a_directory, scratch_setup, scratch_teardown),
                cmocka_unit_test_setup_teardown(test_symlink_not_followed, scratch_setup, scratch_teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
