/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <sys/stat.h>

#include "journal.h"
#include "testutil.h"
#include "util.h"

#define UUID "4a6b2c1e-9f3d-4b8a-a1c2-3d4e5f607182"

static char root[] = "/tmp/migkit-test-journal.XXXXXX";

static int setup(void **state)
{
        (void)state;
        return mkdtemp(root) ? 0 : -1;
}

static int teardown(void **state)
{
        (void)state;
        return rm_tree(root);
}

static void test_roundtrip(void **state)
{
        struct journal j = { 0 }, k;
        _cleanup_free_ char *state_dir = path_join(root, "state/nested"), *jdir = NULL, *file = NULL, *text = NULL;
        struct stat st;
        (void)state;

        j.uuid = strdup(UUID);
        j.name = strdup("instance-00000001");
        j.started = 1700000000;
        strv_push(&j.dirs, "/var/lib/nova/instances/" UUID);
        strv_push(&j.bridges, "qbr1234abcd-ef");
        strv_push(&j.bridges, "qbr5678abcd-ef");
        strv_push(&j.stripped, "hdd /var/lib/nova/instances/" UUID "/disk.config");
        assert_false(journal_is_empty(&j));
        assert_int_equal(journal_save(state_dir, &j), 0);

        jdir = path_join(state_dir, "journal");
        file = path_join(jdir, UUID);
        assert_int_equal(stat(jdir, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0700);
        assert_int_equal(stat(file, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
        assert_true(read_full_file(file, 4096, &text) > 0);
        assert_string_equal(text, "migkit-journal 1\nuuid " UUID "\nname instance-00000001\nstarted 1700000000\n"
                                  "dir /var/lib/nova/instances/" UUID "\nbridge qbr1234abcd-ef\nbridge qbr5678abcd-ef\n"
                                  "stripped hdd /var/lib/nova/instances/" UUID "/disk.config\n");
        /* no temporary file left behind */
        DIR *d = opendir(jdir);
        struct dirent *de;
        int n = 0;
        while ((de = readdir(d)))
                n += de->d_name[0] != '.';
        closedir(d);
        assert_int_equal(n, 1);

        assert_int_equal(journal_load(state_dir, UUID, &k), 0);
        assert_string_equal(k.name, "instance-00000001");
        assert_int_equal(k.started, 1700000000);
        assert_int_equal(strv_length(k.bridges), 2);
        assert_string_equal(k.bridges[1], "qbr5678abcd-ef");
        assert_string_equal(k.stripped[0], "hdd /var/lib/nova/instances/" UUID "/disk.config");
        journal_free(&k);

        /* a value with a newline would forge an entry: refused */
        free(j.name);
        j.name = strdup("evil\nbridge eth0");
        assert_int_equal(journal_save(state_dir, &j), -EINVAL);
        assert_int_equal(journal_load(state_dir, UUID, &k), 0);
        assert_string_equal(k.name, "instance-00000001");
        journal_free(&k);
        journal_free(&j);
        assert_true(journal_is_empty(&j));
}

static void test_bad(void **state)
{
        struct journal k;
        _cleanup_free_ char *jdir = path_join(root, "bad/journal"), *file = path_join(jdir, UUID);
        (void)state;

        assert_int_equal(journal_load(root, UUID, &k), -ENOENT);
        assert_int_equal(journal_load(root, "../../etc/passwd", &k), -EINVAL);
        assert_int_equal(mkdir_p(jdir, 0700), 0);
        static const char *const bad[] = {
                "",
                "garbage\n",
                "migkit-journal 2\nuuid " UUID "\n",
                "migkit-journal 1\nuuid 00000000-0000-0000-0000-000000000000\n",
                "migkit-journal 1\nuuid " UUID "\nunknown x\n",
                "migkit-journal 1\nname x\n",
                "migkit-journal 1\nuuid " UUID "\nqemu-started soon\n",
                "migkit-journal 1\nuuid " UUID "\narrived 0\n",
                "migkit-journal 1\nuuid " UUID "\npostcopy -5\n",
        };
        for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
                _cleanup_free_ char *parent = path_join(root, "bad");
                FILE *f = fopen(file, "w");
                fputs(bad[i], f);
                fclose(f);
                int r = journal_load(parent, UUID, &k);
                if (r != -EBADMSG)
                        fail_msg("case %zu: got %d", i, r);
        }
}

static void test_marks(void **state)
{
        struct journal j = { 0 }, k;
        _cleanup_free_ char *sd = path_join(root, "marks"), *file = pathf("%s/marks/journal/%s", root, UUID), *text = NULL;
        (void)state;

        assert_int_equal(journal_set_mark(sd, UUID, JOURNAL_QEMU_STARTED, 1700000100), -ENOENT);
        assert_int_equal(journal_new_attempt(sd, UUID), 0);
        assert_false(exists(file));

        j.uuid = strdup(UUID);
        j.started = 1700000000;
        strv_push(&j.dirs, "/i/" UUID);
        assert_int_equal(journal_save(sd, &j), 0);
        journal_free(&j);

        assert_int_equal(journal_set_mark(sd, UUID, JOURNAL_QEMU_STARTED, 1700000100), 0);
        assert_int_equal(journal_set_mark(sd, UUID, JOURNAL_POSTCOPY, 1700000200), 0);
        assert_int_equal(journal_set_mark(sd, UUID, JOURNAL_ARRIVED, 1700000300), 0);
        assert_true(read_full_file(file, 4096, &text) > 0);
        assert_string_equal(text, "migkit-journal 1\nuuid " UUID "\nstarted 1700000000\ndir /i/" UUID "\n"
                                  "qemu-started 1700000100\npostcopy 1700000200\narrived 1700000300\n");
        assert_int_equal(journal_load(sd, UUID, &k), 0);
        assert_int_equal(k.qemu_started, 1700000100);
        assert_int_equal(k.postcopy, 1700000200);
        assert_int_equal(k.arrived, 1700000300);
        assert_string_equal(k.dirs[0], "/i/" UUID);
        /* a rewrite keeps them */
        assert_int_equal(journal_save(sd, &k), 0);
        journal_free(&k);
        assert_int_equal(journal_load(sd, UUID, &k), 0);
        assert_int_equal(k.arrived, 1700000300);
        journal_free(&k);

        /* clearing one */
        assert_int_equal(journal_set_mark(sd, UUID, JOURNAL_POSTCOPY, 0), 0);
        assert_int_equal(journal_load(sd, UUID, &k), 0);
        assert_int_equal(k.postcopy, 0);
        assert_int_equal(k.qemu_started, 1700000100);
        journal_free(&k);

        /* a new attempt drops every mark and keeps the items and the start */
        assert_int_equal(journal_new_attempt(sd, UUID), 1);
        assert_int_equal(journal_load(sd, UUID, &k), 0);
        assert_int_equal(k.qemu_started, 0);
        assert_int_equal(k.arrived, 0);
        assert_int_equal(k.started, 1700000000);
        assert_string_equal(k.dirs[0], "/i/" UUID);
        journal_free(&k);
        assert_int_equal(journal_new_attempt(sd, UUID), 1);

        assert_int_equal(journal_set_mark(sd, UUID, (enum journal_mark)7, 1), -EINVAL);
        assert_int_equal(journal_set_mark(sd, "../x", JOURNAL_ARRIVED, 1), -EINVAL);
        put(file, "garbage\n");
        assert_int_equal(journal_set_mark(sd, UUID, JOURNAL_ARRIVED, 1), -EBADMSG);
        assert_int_equal(journal_new_attempt(sd, UUID), -EBADMSG);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_roundtrip),
                cmocka_unit_test(test_bad),
                cmocka_unit_test(test_marks),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
