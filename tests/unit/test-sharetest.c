/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The shared-storage test of `migkit check`/`migkit migrate` against
 * libvirt's test driver, whose storage pools never touch the disk: it sees
 * no file written here, the answer for a destination that does not share
 * the directory; the test file is gone again either way. A destination
 * that does share it is tests/lab/e2e-shared's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>

#include <libvirt/virterror.h>

#include "config.h"
#include "sharetest.h"
#include "util.h"
#include "testutil.h"

static void quiet(void *userdata, virErrorPtr e)
{
        (void)userdata;
        (void)e;
}

static int entries(const char *dir)
{
        DIR *d = opendir(dir);
        int n = 0;
        assert_non_null(d);
        for (struct dirent *de; (de = readdir(d));)
                n += de->d_name[0] != '.';
        closedir(d);
        return n;
}

static void test_not_shared(void **state)
{
        char root[] = "/tmp/migkit-test-sharetest.XXXXXX";
        struct mk_config cfg;
        struct preflight p = { 0 };
        _cleanup_free_ char *err = NULL;
        (void)state;

        virSetErrorFunc(NULL, quiet);
        assert_non_null(mkdtemp(root));
        assert_int_equal(config_defaults(&cfg), 0);
        virConnectPtr c = virConnectOpen("test:///default");
        assert_non_null(c);

        _cleanup_free_ char *missing = pathf("%s/none", root);
        assert_int_equal(sharetest_dir(c, missing, &err), -ENOENT);
        assert_int_equal(sharetest_dir(c, root, &err), 0);
        assert_int_equal(entries(root), 0); /* the test file is removed again */

        free(cfg.instances_path);
        cfg.instances_path = strdup(missing);
        assert_int_equal(preflight_shared(&p, &cfg, c), 0);
        assert_int_equal(p.n, 0); /* no instances path here: nothing to say */
        free(cfg.instances_path);
        cfg.instances_path = strdup(root);
        assert_int_equal(preflight_shared(&p, &cfg, c), 0);
        assert_int_equal(p.n, 1);
        assert_int_equal(p.v[0].status, CHECK_OK);
        assert_string_equal(p.v[0].name, "instances");
        assert_non_null(strstr(p.v[0].message, "is not shared with the destination (a test file written here was not there)"));
        preflight_free(&p);

        virConnectClose(c);
        config_free(&cfg);
        assert_int_equal(rm_tree(root), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_not_shared),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
