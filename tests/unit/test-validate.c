/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "util.h"
#include "validate.h"

static void test_uuid(void **state)
{
        (void)state;
        assert_true(uuid_is_valid("4a6b2c1e-9f3d-4b8a-a1c2-3d4e5f607182"));
        assert_true(uuid_is_valid("4A6B2C1E-9F3D-4B8A-A1C2-3D4E5F607182"));
        assert_false(uuid_is_valid(""));
        assert_false(uuid_is_valid("../../etc"));
        assert_false(uuid_is_valid("4a6b2c1e-9f3d-4b8a-a1c2-3d4e5f60718"));   /* short */
        assert_false(uuid_is_valid("4a6b2c1e-9f3d-4b8a-a1c2-3d4e5f6071822")); /* long */
        assert_false(uuid_is_valid("4a6b2c1e9f3d-4b8a-a1c2-3d4e5f6071822"));  /* dash moved */
        assert_false(uuid_is_valid("4a6b2c1e-9f3d-4b8a-a1c2-3d4e5f60718g"));  /* not hex */
        assert_false(uuid_is_valid("4a6b2c1e-9f3d-4b8a-a1c2-3d4e5f60718/"));
}

static void test_ifname(void **state)
{
        (void)state;
        assert_null(ifname_invalid_reason("qbr1234abcd-ef"));
        assert_null(ifname_invalid_reason("brq0123456789a"));
        assert_null(ifname_invalid_reason("br_ex.100"));
        assert_null(ifname_invalid_reason("abcdefghijklmno")); /* 15 */
        assert_string_equal(ifname_invalid_reason("abcdefghijklmnop"), "is longer than 15 characters (IFNAMSIZ)");
        assert_string_equal(ifname_invalid_reason(""), "is empty");
        assert_string_equal(ifname_invalid_reason("."), "is '.' or '..'");
        assert_string_equal(ifname_invalid_reason(".."), "is '.' or '..'");
        assert_non_null(ifname_invalid_reason("qbr/evil"));
        assert_non_null(ifname_invalid_reason("qbr evil"));
        assert_non_null(ifname_invalid_reason("qbr:1"));
        assert_non_null(ifname_invalid_reason("qbr\xc3\xa9"));
        assert_non_null(ifname_invalid_reason("qbr\n"));
}

static void test_paths(void **state)
{
        (void)state;
        assert_true(path_is_absolute_normalized("/"));
        assert_true(path_is_absolute_normalized("/var/lib/nova/instances"));
        assert_true(path_is_absolute_normalized("/a/.hidden/..x"));
        assert_false(path_is_absolute_normalized(""));
        assert_false(path_is_absolute_normalized("var/lib"));
        assert_false(path_is_absolute_normalized("/var/lib/"));
        assert_false(path_is_absolute_normalized("/var//lib"));
        assert_false(path_is_absolute_normalized("/var/./lib"));
        assert_false(path_is_absolute_normalized("/var/../etc"));
        assert_false(path_is_absolute_normalized("/var/.."));
        assert_false(path_is_absolute_normalized("/var/li\nb"));

        assert_string_equal(path_below("/var/lib/nova/instances/u/disk", "/var/lib/nova/instances"), "u/disk");
        assert_null(path_below("/var/lib/nova/instances", "/var/lib/nova/instances"));
        assert_null(path_below("/var/lib/nova/instances2/x", "/var/lib/nova/instances"));
        assert_null(path_below("/etc/passwd", "/var/lib/nova/instances"));
        assert_string_equal(path_below("/etc", "/"), "etc");

        _cleanup_free_ char *a = path_join("/a/", "/b"), *b = path_join("/", "x"), *c = path_join("/a", "b/c");
        assert_string_equal(a, "/a/b");
        assert_string_equal(b, "/x");
        assert_string_equal(c, "/a/b/c");
}

static void test_user(void **state)
{
        (void)state;
        assert_true(name_is_valid_user("nova"));
        assert_true(name_is_valid_user("libvirt-qemu"));
        assert_true(name_is_valid_user("0"));
        assert_false(name_is_valid_user(""));
        assert_false(name_is_valid_user("-x"));
        assert_false(name_is_valid_user("a b"));
        assert_false(name_is_valid_user("a/b"));
}

static void test_strv(void **state)
{
        _cleanup_strv_ char **l = NULL;
        (void)state;
        assert_int_equal(strv_split(&l, " qbr*,, brq*\tx "), 0);
        assert_int_equal(strv_length(l), 3);
        assert_true(strv_fnmatch(l, "qbr1234abcd-ef"));
        assert_true(strv_fnmatch(l, "x"));
        assert_false(strv_fnmatch(l, "xx"));
        assert_false(strv_fnmatch(l, "eth0"));
        _cleanup_free_ char *j = strv_join(l, "|");
        assert_string_equal(j, "qbr*|brq*|x");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_uuid),
                cmocka_unit_test(test_ifname),
                cmocka_unit_test(test_paths),
                cmocka_unit_test(test_user),
                cmocka_unit_test(test_strv),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
