/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* `migkit check` (migrate_check) against libvirt's test driver, nodes from
 * tests/data/driver/host{A,B}.xml: the verdict line and its return value
 * (the number of failed checks), and each way it cannot even start the
 * checks (a bad destination name, this host's libvirt unreachable, an
 * unknown guest) as one failed check that names what and what to do;
 * this host's libvirt unreachable is an error of its own. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <libvirt/virterror.h>

#include "config.h"
#include "migrate.h"
#include "util.h"
#include "virt.h"

static struct mk_config cfg;
static char uri_a[PATH_MAX + 16], uri_b[PATH_MAX + 16];

static void node_uri(const char *file, char *uri, size_t n)
{
        char abs[PATH_MAX];
        assert_non_null(realpath(file, abs));
        snprintf(uri, n, "test://%s", abs);
}

static int setup(void **state)
{
        (void)state;
        virt_quiet_errors();
        if (config_defaults(&cfg) < 0)
                return -1;
        free(cfg.mountinfo);
        cfg.mountinfo = strdup("tests/data/mountinfo/nfs.txt");
        node_uri("tests/data/driver/hostA.xml", uri_a, sizeof(uri_a));
        node_uri("tests/data/driver/hostB.xml", uri_b, sizeof(uri_b));
        return 0;
}

static int teardown(void **state)
{
        (void)state;
        config_free(&cfg);
        return 0;
}

/* migrate_check's output and return value. */
static int check(const char *domain, const char *dest, const char *src, bool json, char **text)
{
        size_t len = 0;
        FILE *f = open_memstream(text, &len);
        assert_non_null(f);
        int r = migrate_check(&cfg, domain, dest, src, NULL, false, json, f);
        fclose(f);
        return r;
}

static void test_ready_verdict(void **state)
{
        _cleanup_free_ char *text = NULL, *want = NULL;
        (void)state;
        assert_int_equal(check("busy", uri_b, uri_a, false, &text), 0);
        assert_non_null(strstr(text, "OK    uuid: no domain with UUID"));
        assert_true(asprintf(&want, "busy: ready to %s (0 failed, ", uri_b) > 0);
        assert_non_null(strstr(text, want));
}

/* The guest's UUID already on the destination (test:///default holds the
 * same guests for both ends): NOT ready, one check failed per reason. */
static void test_not_ready_verdict(void **state)
{
        _cleanup_free_ char *text = NULL;
        (void)state;
        int r = check("test", "test:///default", "test:///default", false, &text);
        assert_true(r >= 1);
        assert_non_null(strstr(text, "FAIL  uuid: the destination already has a domain with UUID"));
        _cleanup_free_ char *want = NULL;
        assert_true(asprintf(&want, "test: NOT ready to test:///default (%d failed, ", r) > 0);
        assert_non_null(strstr(text, want));
}

static void test_cannot_start(void **state)
{
        (void)state;
        char *text = NULL;

        /* a destination that is neither a host name nor a URI */
        assert_int_equal(check("busy", "not a host", uri_a, true, &text), 1);
        assert_non_null(strstr(text, "{\"check\":\"destination\",\"status\":\"FAIL\",\"message\":\"'not a host' is not a host name or URI"));
        assert_non_null(strstr(text, "\"fix\":\"give a host name, or fix [migrate] uri in the configuration\""));
        assert_non_null(strstr(text, "\"destination\":\"not a host\""));
        free(text);

        /* this host's libvirt cannot be reached: an error, not a check
         * result (nothing was checked), and nothing printed */
        assert_int_equal(check("busy", uri_b, "test:///nonexistent/node.xml", false, &text), -ENOTCONN);
        assert_string_equal(text, "");
        free(text);

        /* an unknown guest, by name or UUID */
        assert_int_equal(check("00000000-0000-0000-0000-000000000000", uri_b, uri_a, false, &text), 1);
        assert_non_null(strstr(text, "no domain '00000000-0000-0000-0000-000000000000' on this host"));
        free(text);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_ready_verdict),
                cmocka_unit_test(test_not_ready_verdict),
                cmocka_unit_test(test_cannot_start),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
