/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Regressions found by the libFuzzer targets (fuzz/, tests/fuzz/README.md):
 * each case is the minimal form of a reproducer kept in
 * tests/fuzz/regressions/<target>/, asserted on the library directly so
 * it fails here even where clang is missing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "config.h"
#include "fc.h"
#include "util.h"
#include "testutil.h"

/* fuzz-fc: udev's by-path LUN spelling "0x%04x%04x00000000" starts with a
 * hex letter for every LUN whose low 16 bits are 0xa000 or more (extended
 * and some flat-space LUNs); fc_parse_lun refused those as malformed, so
 * the hook failed the migration instead of scanning for the LUN. */
static void test_lun_hex_letters(void **state)
{
        static const uint64_t luns[] = { 256, 252555, 565554, 2500000000u, 0xa000, 0xffff, 0xc101, 0xffffffffu };
        uint64_t v;
        char buf[32];
        (void)state;

        for (size_t i = 0; i < ARRAY_SIZE(luns); i++) {
                fc_format_lun(luns[i], buf, sizeof(buf));
                if (fc_parse_lun(buf, &v) != 0 || v != luns[i])
                        fail_msg("LUN %llu formats as '%s', which does not parse back", (unsigned long long)luns[i], buf);
        }
        assert_int_equal(fc_parse_lun("0xda8b000300000000", &v), 0);
        assert_int_equal(v, 252555);
        assert_int_equal(fc_parse_lun("0xDA8B000300000000", &v), 0);
        assert_int_equal(v, 252555);

        struct fc_source src;
        assert_int_equal(fc_parse_source("/dev/disk/by-path/pci-0000:05:00.0-fc-0x5006016839a01c4e-lun-0xc101000000000000", &src), 0);
        assert_int_equal(src.kind, FC_SRC_PATH);
        assert_int_equal(src.lun, 0xc101);

        /* still refused: what udev never writes */
        assert_int_equal(fc_parse_lun("0x0x01000000000000", &v), -EINVAL);  /* a second 0x that strtoull takes */
        assert_int_equal(fc_parse_lun("0x 101000000000000", &v), -EINVAL);
        assert_int_equal(fc_parse_lun("0x-101000000000000", &v), -EINVAL);
        assert_int_equal(fc_parse_lun("0xg101000000000000", &v), -EINVAL);
        assert_int_equal(fc_parse_lun("0xc101000000000001", &v), -EINVAL);  /* low 32 bits set */
        assert_int_equal(fc_parse_lun("0xc10100000000000", &v), -EINVAL);   /* 15 digits */
}

/* fuzz-config: "allow =;x" (no blank after '=') gave a glob ";x" that
 * --dump-config wrote as "allow = ;x", which reads back as an empty
 * allow-list (a comment). Values and list words that begin with ';' or '#'
 * are refused now, so what is dumped always loads to the same values. */
static void test_config_comment_like_values(void **state)
{
        static const char *const bad[] = {
                "[bridges]\nallow =;qbr*\n",
                "[bridges]\nallow =#qbr*\n",
                "[bridges]\nallow = qbr*,;brq*\n",
                "[filesystems]\nshared = nfs,#ceph\n",
                "[cleanup]\nlibvirt-uri =;qemu:///system\n",
                "[instance]\nowner =#root\n",
        };
        char dir[] = "/tmp/migkit-test-hostile-fuzz.XXXXXX";
        (void)state;
        assert_non_null(mkdtemp(dir));
        _cleanup_free_ char *p = pathf("%s/migkit.conf", dir);
        for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
                _cleanup_free_ char *err = NULL;
                struct mk_config cfg;
                put(p, bad[i]);
                if (config_load(&cfg, p, &err) != -EINVAL || !err || !strstr(err, "migkit.conf:2: [") || !strstr(err, "is not valid"))
                        fail_msg("accepted or odd message for %s: %s", bad[i], err ? err : "(none)");
        }
        /* a real comment after a blank is still a comment */
        struct mk_config cfg;
        put(p, "[bridges]\nallow = qbr* ;brq*\n");
        assert_int_equal(config_load(&cfg, p, NULL), 0);
        assert_string_equal(cfg.bridge_allow[0], "qbr*");
        assert_null(cfg.bridge_allow[1]);
        config_free(&cfg);
        unlink(p);
        rmdir(dir);
}

/* fuzz-config: --dump-config printed mode 02750 as "2750", which the
 * parser refuses (an octal mode needs its leading 0): the effective
 * configuration it shows could not be loaded back. */
static void test_config_dump_modes(void **state)
{
        static const char *const modes[] = { "0755", "02750", "04711", "07777", "0", "0700" };
        char dir[] = "/tmp/migkit-test-hostile-fuzz.XXXXXX";
        (void)state;
        assert_non_null(mkdtemp(dir));
        _cleanup_free_ char *p = pathf("%s/migkit.conf", dir), *p2 = pathf("%s/dumped.conf", dir);
        for (size_t i = 0; i < ARRAY_SIZE(modes); i++) {
                struct mk_config cfg, cfg2;
                _cleanup_free_ char *text = NULL, *in = NULL, *err = NULL;
                size_t len;
                in = pathf("[instance]\nmode = %s\n", modes[i]);
                put(p, in);
                assert_int_equal(config_load(&cfg, p, NULL), 0);
                FILE *f = open_memstream(&text, &len);
                assert_non_null(f);
                config_dump(&cfg, f);
                fclose(f);
                put(p2, text);
                if (config_load(&cfg2, p2, &err) != 0)
                        fail_msg("mode %s: the dump does not load: %s", modes[i], err ? err : "?");
                assert_int_equal(cfg2.instance_mode, cfg.instance_mode);
                config_free(&cfg);
                config_free(&cfg2);
        }
        unlink(p);
        unlink(p2);
        rmdir(dir);
}

/* fuzz-config: "instances=/..." as a 199-character line (the longest
 * accepted) was dumped as "instances = /...", 200 characters, which does
 * not load. A value now gets only the room "key = " leaves on a line. */
static void test_config_dump_long_values(void **state)
{
        char dir[] = "/tmp/migkit-test-hostile-fuzz.XXXXXX";
        char val[200];
        (void)state;
        assert_non_null(mkdtemp(dir));
        _cleanup_free_ char *p = pathf("%s/migkit.conf", dir);
        for (size_t n = 170; n <= 188; n++) {
                memset(val, 'a', sizeof(val));
                val[0] = '/';
                val[n] = 0;
                _cleanup_free_ char *text = pathf("[paths]\ninstances=%s\n", val), *err = NULL;
                struct mk_config cfg;
                put(p, text);
                int r = config_load(&cfg, p, &err);
                if (r == 0) {
                        /* accepted: its dump line fits */
                        assert_true(strlen("instances = ") + n <= 199);
                        config_free(&cfg);
                } else if (strlen("instances = ") + n <= 199 || !strstr(err, "at most 187 fit on a line"))
                        fail_msg("value of %zu characters: %s", n, err ? err : "?");
        }
        unlink(p);
        rmdir(dir);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_lun_hex_letters),
                cmocka_unit_test(test_config_comment_like_values),
                cmocka_unit_test(test_config_dump_modes),
                cmocka_unit_test(test_config_dump_long_values),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
