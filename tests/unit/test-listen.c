/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests for lib/listen.c and the graphics listen edit of lib/domedit.c.
 *
 * Golden pairs: for each tests/data/xml/graphics/<case>.in.xml the
 * destination's decision runs for a host whose only addresses are
 * HOST_ADDRS, with [graphics] listen = TO; the rewrite must give
 * <case>.out.xml byte for byte, or, without one, change nothing (and
 * domxml_format() give back the input). The decision on the output must
 * rewrite nothing more. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <limits.h>
#include <sys/stat.h>

#include "config.h"
#include "domxml.h"
#include "listen.h"
#include "testutil.h"
#include "util.h"

#define TO "203.0.113.5"
static char *const host_addrs[] = { (char *)"198.51.100.22", (char *)TO, NULL };

static char *graphics_dir(void)
{
        const char *env = getenv("MIGKIT_TEST_DATA");
        char exe[PATH_MAX], *slash;
        struct stat st;
        ssize_t n;

        if (env)
                return path_join(env, "xml/graphics");
        n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        if (n > 0) {
                exe[n] = 0;
                while ((slash = strrchr(exe, '/'))) {
                        *slash = 0;
                        char *cand = path_join(exe[0] ? exe : "/", "tests/data/xml/graphics");
                        if (cand && stat(cand, &st) == 0 && S_ISDIR(st.st_mode))
                                return cand;
                        free(cand);
                }
        }
        return strdup("tests/data/xml/graphics");
}

/* The oracle: knows host_addrs, records what it was asked. */
static char **asked;

static bool oracle_has(const char *addr, void *userdata)
{
        char *const *known = userdata;
        assert_int_equal(strv_push(&asked, addr), 0);
        return strv_contains(known, addr);
}

static bool in_list(const char *addr, void *userdata)
{
        return strv_contains(userdata, addr);
}

static struct domxml *parse(const char *text, size_t len)
{
        struct domxml *d = NULL;
        _cleanup_free_ char *err = NULL;
        int r = domxml_parse(text, len, &d, &err);
        if (r < 0)
                fail_msg("parse: %s", err ? err : strerror(-r));
        return d;
}

/* Runs the destination's decision and edit on text; *out is the new XML,
 * NULL when nothing changed. */
static void transform(const char *text, size_t len, char **out, size_t *out_len)
{
        _cleanup_domxml_ struct domxml *d = parse(text, len);
        _cleanup_strv_ char **addrs = NULL;
        struct listen_decision dec;

        *out = NULL;
        assert_true(domxml_listen_addresses(d, &addrs) >= 0);
        assert_int_equal(listen_decide(addrs, TO, oracle_has, (void *)host_addrs, &dec), 0);
        if (dec.verdict == LISTEN_KEEP) {
                assert_null(dec.rewrite);
                return;
        }
        assert_int_equal(dec.verdict, LISTEN_REWRITE);
        int n = domxml_rewrite_listens(d, in_list, dec.rewrite, TO);
        listen_decision_done(&dec);
        assert_true(n > 0);
        assert_int_equal(domxml_format(d, out, out_len), 0);
}

static void test_golden(void **state)
{
        _cleanup_free_ char *dir = graphics_dir();
        _cleanup_closedir_ DIR *dh = opendir(dir);
        struct dirent *de;
        int cases = 0, changed = 0;
        (void)state;

        assert_non_null(dh);
        while ((de = readdir(dh))) {
                size_t l = strlen(de->d_name);
                if (l < 8 || strcmp(de->d_name + l - 7, ".in.xml") != 0)
                        continue;
                _cleanup_free_ char *in_path = pathf("%s/%s", dir, de->d_name);
                _cleanup_free_ char *out_path = pathf("%s/%.*s.out.xml", dir, (int)(l - 7), de->d_name);
                _cleanup_free_ char *in = NULL, *exp = NULL, *out = NULL, *again = NULL, *same = NULL;
                size_t out_len = 0, again_len = 0, same_len = 0;
                ssize_t in_len = read_full_file(in_path, 1 << 20, &in);
                ssize_t exp_len = read_full_file(out_path, 1 << 20, &exp);

                assert_true(in_len > 0);
                cases++;
                transform(in, (size_t)in_len, &out, &out_len);
                if (exp_len < 0) {
                        if (out)
                                fail_msg("%s: the rewrite changed it but %s does not exist:\n%s", in_path, out_path, out);
                        _cleanup_domxml_ struct domxml *d = parse(in, (size_t)in_len);
                        assert_int_equal(domxml_format(d, &same, &same_len), 0);
                        assert_int_equal(same_len, (size_t)in_len);
                        assert_memory_equal(same, in, same_len);
                        continue;
                }
                if (!out)
                        fail_msg("%s: %s exists but the rewrite changed nothing", in_path, out_path);
                if (out_len != (size_t)exp_len || memcmp(out, exp, out_len) != 0)
                        fail_msg("%s: the rewrite differs from %s:\n%s", in_path, out_path, out);
                changed++;
                transform(out, out_len, &again, &again_len);
                if (again)
                        fail_msg("%s: rewriting the output again changed it:\n%s", in_path, again);
        }
        assert_true(cases >= 3);
        assert_true(changed >= 2);
        strv_free(asked);
        asked = NULL;
}

static void test_listen_addresses(void **state)
{
        _cleanup_free_ char *dir = graphics_dir(), *path = pathf("%s/mixed.in.xml", dir), *text = NULL;
        ssize_t len = read_full_file(path, 1 << 20, &text);
        _cleanup_strv_ char **addrs = NULL;
        (void)state;

        assert_true(len > 0);
        _cleanup_domxml_ struct domxml *d = parse(text, (size_t)len);
        /* network, socket and none listens are not read; duplicates once */
        assert_int_equal(domxml_listen_addresses(d, &addrs), 5);
        assert_string_equal(addrs[0], "198.51.100.11");
        assert_string_equal(addrs[1], "2001:db8::11");
        assert_string_equal(addrs[2], "127.0.0.1");
        assert_string_equal(addrs[3], "0.0.0.0");
        assert_string_equal(addrs[4], "198.51.100.22");
        assert_null(addrs[5]);
}

static void test_kind(void **state)
{
        (void)state;
        assert_int_equal(listen_kind("0.0.0.0"), LISTEN_ANY);
        assert_int_equal(listen_kind("::"), LISTEN_ANY);
        assert_int_equal(listen_kind("127.0.0.1"), LISTEN_ANY);
        assert_int_equal(listen_kind("127.255.1.2"), LISTEN_ANY);
        assert_int_equal(listen_kind("::1"), LISTEN_ANY);
        assert_int_equal(listen_kind("128.0.0.1"), LISTEN_ADDRESS);
        assert_int_equal(listen_kind("198.51.100.7"), LISTEN_ADDRESS);
        assert_int_equal(listen_kind("2001:db8::7"), LISTEN_ADDRESS);
        assert_int_equal(listen_kind("::2"), LISTEN_ADDRESS);
        assert_int_equal(listen_kind("vnc.example.org"), LISTEN_NAME);
        assert_int_equal(listen_kind("198.51.100"), LISTEN_NAME);
        assert_int_equal(listen_kind(""), LISTEN_NAME);
        assert_int_equal(listen_kind(NULL), LISTEN_NAME);
}

static void test_decide(void **state)
{
        char *const addrs[] = { (char *)"0.0.0.0", (char *)"127.0.0.1", (char *)"::1", (char *)"name.example",
                                (char *)"198.51.100.22", (char *)"198.51.100.9", (char *)"2001:db8::9", NULL };
        char *const only_ok[] = { (char *)"0.0.0.0", (char *)"198.51.100.22", (char *)"vnc.example.org", NULL };
        struct listen_decision dec;
        (void)state;

        /* wildcards, loopback and names are never looked up */
        assert_int_equal(listen_decide(only_ok, NULL, oracle_has, (void *)host_addrs, &dec), 0);
        assert_int_equal(dec.verdict, LISTEN_KEEP);
        assert_null(dec.rewrite);
        assert_int_equal(strv_length(asked), 1);
        assert_string_equal(asked[0], "198.51.100.22");
        strv_free(asked);
        asked = NULL;

        /* missing and [graphics] listen unset: refused, naming the first */
        assert_int_equal(listen_decide(addrs, "", oracle_has, (void *)host_addrs, &dec), 0);
        assert_int_equal(dec.verdict, LISTEN_REFUSE_UNSET);
        assert_string_equal(dec.bad, "198.51.100.9");
        assert_null(dec.rewrite);
        assert_int_equal(listen_decide(addrs, NULL, oracle_has, (void *)host_addrs, &dec), 0);
        assert_int_equal(dec.verdict, LISTEN_REFUSE_UNSET);

        /* set: exactly the missing ones are rewritten */
        assert_int_equal(listen_decide(addrs, TO, oracle_has, (void *)host_addrs, &dec), 0);
        assert_int_equal(dec.verdict, LISTEN_REWRITE);
        assert_int_equal(strv_length(dec.rewrite), 2);
        assert_string_equal(dec.rewrite[0], "198.51.100.9");
        assert_string_equal(dec.rewrite[1], "2001:db8::9");
        listen_decision_done(&dec);

        /* the replacement itself missing here: refused, naming it */
        assert_int_equal(listen_decide(addrs, "203.0.113.99", oracle_has, (void *)host_addrs, &dec), 0);
        assert_int_equal(dec.verdict, LISTEN_REFUSE_TARGET);
        assert_string_equal(dec.bad, "203.0.113.99");
        assert_null(dec.rewrite);

        /* a wildcard replacement needs no address of the host */
        assert_int_equal(listen_decide(addrs, "0.0.0.0", oracle_has, (void *)host_addrs, &dec), 0);
        assert_int_equal(dec.verdict, LISTEN_REWRITE);
        listen_decision_done(&dec);

        /* the replacement is not judged when nothing needs it */
        assert_int_equal(listen_decide(only_ok, "203.0.113.99", oracle_has, (void *)host_addrs, &dec), 0);
        assert_int_equal(dec.verdict, LISTEN_KEEP);
        strv_free(asked);
        asked = NULL;
}

static void test_rewrite_errors(void **state)
{
        static const char xml[] = "<domain><name>a</name><uuid>3d2e1f0a-5b4c-4d3e-8f2a-1b0c9d8e7f60</uuid>"
                                  "<devices><graphics type='vnc' listen='198.51.100.9'/></devices></domain>";
        _cleanup_domxml_ struct domxml *d = parse(xml, sizeof(xml) - 1);
        char *const none[] = { NULL };
        (void)state;

        assert_int_equal(domxml_rewrite_listens(d, in_list, (void *)host_addrs, ""), -EINVAL);
        assert_int_equal(domxml_rewrite_listens(d, in_list, (void *)none, TO), 0);
}

static void test_host_addrs(void **state)
{
        struct host_addrs h;
        (void)state;

        assert_int_equal(host_addrs_load(&h), 0);
        /* a documentation address no test host carries outside a namespace */
        assert_false(host_addrs_has("192.0.2.254", &h));
        assert_false(host_addrs_has("not-an-address", &h));
        /* each address the kernel lists is found */
        for (size_t i = 0; i < h.n; i++) {
                char buf[64];
                assert_non_null(inet_ntop(h.v[i].family, h.v[i].a, buf, sizeof(buf)));
                assert_true(host_addrs_has(buf, &h));
        }
        host_addrs_done(&h);
}

static void test_config_key(void **state)
{
        static const struct {
                const char *value;
                bool ok;
        } cases[] = {
                { "", true }, { "203.0.113.5", true }, { "2001:db8::5", true }, { "0.0.0.0", true },
                { "vnc.example.org", false }, { "203.0.113", false }, { "203.0.113.5 x", false },
        };
        const char *dir = ((struct scratch *)*state)->root;

        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                _cleanup_free_ char *path = pathf("%s/c%zu.conf", dir, i), *text = pathf("[graphics]\nlisten = %s\n",
                                                                                         cases[i].value);
                _cleanup_free_ char *err = NULL;
                struct mk_config cfg;
                put(path, text);
                int r = config_load(&cfg, path, &err);
                if (cases[i].ok != (r == 0))
                        fail_msg("[graphics] listen = '%s': %s", cases[i].value, err ? err : "accepted");
                if (r == 0)
                        assert_string_equal(cfg.graphics_listen, cases[i].value);
                else
                        assert_non_null(strstr(err, "listen"));
                config_free(&cfg);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_golden),
                cmocka_unit_test(test_listen_addresses),
                cmocka_unit_test(test_kind),
                cmocka_unit_test(test_decide),
                cmocka_unit_test(test_rewrite_errors),
                cmocka_unit_test(test_host_addrs),
                cmocka_unit_test_setup_teardown(test_config_key, scratch_setup, scratch_teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
