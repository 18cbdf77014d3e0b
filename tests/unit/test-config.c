/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sys/stat.h>

#include "config.h"
#include "instdir.h"
#include "util.h"
#include "testutil.h"

static char tmpdir[] = "/tmp/migkit-test-config.XXXXXX";

static int setup(void **state)
{
        (void)state;
        if (!mkdtemp(tmpdir))
                return -1;
        unsetenv("MIGKIT_CONFIG");
        return 0;
}

static int teardown(void **state)
{
        (void)state;
        return rm_tree(tmpdir);
}

static char *write_conf(const char *name, const char *text, mode_t mode)
{
        char *p = path_join(tmpdir, name);
        FILE *f = fopen(p, "w");
        assert_non_null(f);
        fputs(text, f);
        fclose(f);
        assert_int_equal(chmod(p, mode), 0);
        return p;
}

/* Loads text as a config file; returns r and the message in *err. */
static int load_text(const char *text, struct mk_config *cfg, char **err)
{
        _cleanup_free_ char *p = write_conf("t.conf", text, 0644);
        return config_load(cfg, p, err);
}

static void expect_error(const char *text, const char *needle)
{
        struct mk_config cfg;
        _cleanup_free_ char *err = NULL;
        int r = load_text(text, &cfg, &err);
        if (r >= 0 || !err || !strstr(err, needle))
                fail_msg("config %s: expected error containing \"%s\", got r=%d err=%s", text, needle, r, err ? err : "(null)");
        config_free(&cfg);
}

static void test_defaults(void **state)
{
        struct mk_config cfg;
        (void)state;
        assert_int_equal(config_defaults(&cfg), 0);
        assert_string_equal(cfg.instances_path, "/var/lib/nova/instances");
        assert_string_equal(cfg.sysfs_root, "/sys");
        assert_int_equal(cfg.bridge_mtu, 1500);
        assert_true(cfg.create_bridges);
        assert_int_equal(strv_length(cfg.bridge_allow), 2);
        assert_string_equal(cfg.bridge_allow[0], "qbr*");
        assert_string_equal(cfg.bridge_allow[1], "brq*");
        assert_string_equal(cfg.config_drive_names[0], "disk.config");
        assert_true(strv_contains(cfg.local_fs_types, "ext4"));
        assert_true(strv_contains(cfg.local_fs_types, "xfs"));
        assert_true(strv_contains(cfg.local_fs_types, "tmpfs"));
        assert_false(strv_contains(cfg.local_fs_types, "nfs4"));
        assert_false(strv_contains(cfg.local_fs_types, "ceph"));
        assert_false(strv_contains(cfg.local_fs_types, "fuse.sshfs"));
        assert_int_equal(cfg.hook_deadline_ms, 30000);
        assert_int_equal(cfg.instance_mode, 0755);
        assert_int_equal(cfg.instance_dir, INSTANCE_DIR_AUTO);
        assert_int_equal(cfg.max_xml_bytes, 4u << 20);
        config_free(&cfg);
}

static char *dump(const struct mk_config *cfg)
{
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        config_dump(cfg, f);
        fclose(f);
        return buf;
}

/* The shipped file documents every key with its default: uncommenting all
 * of them must give exactly the built-in defaults, and every key must be
 * there. */
static void test_shipped_conf_matches_defaults(void **state)
{
        struct mk_config def, shipped, uncommented;
        _cleanup_free_ char *text = NULL, *err = NULL, *d1 = NULL, *d2 = NULL, *d3 = NULL;
        (void)state;

        assert_true(read_full_file("conf/migkit.conf", 1 << 20, &text) > 0);
        assert_int_equal(config_defaults(&def), 0);
        assert_int_equal(config_load(&shipped, "conf/migkit.conf", &err), 0);

        /* "#key = value" -> "key = value" */
        size_t n_keys = 0;
        for (char *p = text; (p = strstr(p, "\n#")); p++)
                if (p[2] >= 'a' && p[2] <= 'z' && strchr(p + 2, '=') && strchr(p + 2, '=') < strchr(p + 2, '\n')) {
                        memmove(p + 1, p + 2, strlen(p + 2) + 1);
                        n_keys++;
                }
        assert_int_equal(load_text(text, &uncommented, &err), 0);
        d1 = dump(&def);
        d2 = dump(&shipped);
        d3 = dump(&uncommented);
        assert_string_equal(d1, d2);
        assert_string_equal(d1, d3);
        size_t dumped_keys = 0;
        for (char *p = d1; (p = strstr(p, " = ")); p++)
                dumped_keys++;
        assert_int_equal(n_keys, dumped_keys);
        config_free(&def);
        config_free(&shipped);
        config_free(&uncommented);
}

static void test_values(void **state)
{
        struct mk_config cfg;
        _cleanup_free_ char *err = NULL;
        (void)state;
        assert_int_equal(load_text("[paths]\ninstances = /srv/inst\n[bridges]\nallow = qbr*, br-ex ,vx*\nmtu = 9000\ncreate = no\n"
                                   "[instance]\nmode = 0750\nowner = 42\ncreate = never\n[hook]\ndeadline = 1500ms\nmax-xml-size = 64K\n",
                                   &cfg, &err), 0);
        assert_string_equal(cfg.instances_path, "/srv/inst");
        assert_int_equal(strv_length(cfg.bridge_allow), 3);
        assert_string_equal(cfg.bridge_allow[1], "br-ex");
        assert_int_equal(cfg.bridge_mtu, 9000);
        assert_false(cfg.create_bridges);
        assert_int_equal(cfg.instance_mode, 0750);
        assert_string_equal(cfg.instance_owner, "42");
        assert_int_equal(cfg.instance_dir, INSTANCE_DIR_NEVER);
        assert_int_equal(cfg.hook_deadline_ms, 1500);
        assert_int_equal(cfg.max_xml_bytes, 64 << 10);
        /* untouched keys keep defaults */
        assert_string_equal(cfg.state_dir, MIGKIT_STATE_DIR);
        config_free(&cfg);
}

static void test_errors(void **state)
{
        (void)state;
        expect_error("[paths]\ninstance = /x\n", "t.conf:2: unknown key 'instance' in section [paths]");
        expect_error("[pathz]\ninstances = /x\n", "t.conf:2: unknown section [pathz]");
        expect_error("instances = /x\n", "t.conf:1: key 'instances' is outside any section");
        expect_error("[bridges]\nmtu = 10\n", "t.conf:2: [bridges] mtu = '10' is not valid; allowed: an MTU from 68 to 65535");
        expect_error("[bridges]\nmtu = 1500x\n", "allowed: an MTU");
        expect_error("[bridges]\nmtu = -1\n", "allowed: an MTU");
        expect_error("[bridges]\ncreate = maybe\n", "allowed: yes or no");
        expect_error("[bridges]\nallow = qbr*\nmtu = 1500\nallow = brq*\n", "t.conf:4: duplicate key 'allow' in section [bridges]");
        expect_error("[bridges]\nallow = ../qbr*\n", "allowed: shell globs");
        expect_error("[paths]\ninstances = relative/path\n", "allowed: an absolute path");
        expect_error("[paths]\ninstances = /a/../etc\n", "allowed: an absolute path");
        expect_error("[instance]\nmode = 755\n", "allowed: an octal mode");
        expect_error("[instance]\nmode = 0999\n", "allowed: an octal mode");
        expect_error("[instance]\nowner = ro ot\n", "allowed: a user name");
        expect_error("[instance]\ncreate = sometimes\n", "allowed: auto, always or never");
        expect_error("[hook]\ndeadline = 0s\n", "allowed: a duration from 1s to 600s");
        expect_error("[hook]\ndeadline = 10h\n", "allowed: a duration");
        expect_error("[hook]\nmax-xml-size = 1G\n", "allowed: a size");
        expect_error("[paths\n", "t.conf:1: syntax error");
        expect_error("[paths]\njust words\n", "t.conf:2: syntax error");
}

static void test_long_line(void **state)
{
        (void)state;
        char *text = malloc(10100);
        assert_non_null(text);
        strcpy(text, "[paths]\ninstances = /");
        memset(text + strlen(text), 'a', 10000);
        strcpy(text + 10021, "\n");
        expect_error(text, "t.conf:2: line is 10013 characters long; at most 199 allowed");
        free(text);
}

static void test_file_problems(void **state)
{
        struct mk_config cfg;
        _cleanup_free_ char *err = NULL, *p = NULL, *missing = NULL;
        (void)state;

        p = write_conf("ww.conf", "[bridges]\nmtu = 1400\n", 0666);
        assert_int_equal(config_load(&cfg, p, &err), -EPERM);
        assert_non_null(strstr(err, "refusing a world-writable configuration file; run chmod o-w"));
        free(err);
        err = NULL;

        missing = path_join(tmpdir, "nope.conf");
        assert_int_equal(config_load(&cfg, missing, &err), -ENOENT);
        assert_non_null(strstr(err, "nope.conf: cannot open: No such file or directory"));
        free(err);
        err = NULL;

        /* $MIGKIT_CONFIG is explicit too */
        setenv("MIGKIT_CONFIG", missing, 1);
        assert_int_equal(config_load(&cfg, NULL, &err), -ENOENT);
        unsetenv("MIGKIT_CONFIG");
        free(err);
        err = NULL;

        assert_int_equal(config_load(&cfg, tmpdir, &err), -EINVAL);
        assert_non_null(strstr(err, "not a regular file"));
        free(err);
        err = NULL;

        _cleanup_free_ char *nul = path_join(tmpdir, "nul.conf");
        FILE *f = fopen(nul, "w");
        fwrite("[paths]\n\0x", 1, 10, f);
        fclose(f);
        assert_int_equal(config_load(&cfg, nul, &err), -EINVAL);
        assert_non_null(strstr(err, "NUL byte"));

        /* through the environment */
        _cleanup_free_ char *good = write_conf("env.conf", "[bridges]\nmtu = 1400\n", 0600);
        setenv("MIGKIT_CONFIG", good, 1);
        assert_int_equal(config_load(&cfg, NULL, NULL), 0);
        assert_int_equal(cfg.bridge_mtu, 1400);
        assert_string_equal(cfg.file, good);
        unsetenv("MIGKIT_CONFIG");
        config_free(&cfg);
}

static void test_fc_keys(void **state)
{
        struct mk_config cfg;
        _cleanup_free_ char *err = NULL;
        (void)state;
        assert_int_equal(config_defaults(&cfg), 0);
        assert_true(cfg.fc_rescan);
        assert_false(cfg.fc_wildcard_scan);
        assert_false(cfg.fc_issue_lip);
        assert_int_equal(cfg.fc_on_missing, FC_ON_MISSING_FAIL);
        assert_int_equal(cfg.fc_multipath, FC_MULTIPATH_AUTO);
        assert_string_equal(cfg.fc_libmpathcmd, "libmpathcmd.so.0");
        config_free(&cfg);
        assert_int_equal(load_text("[fc]\nrescan = no\nwildcard-scan = yes\nissue-lip = on\non-missing = warn\nmultipath = no\n"
                                   "libmpathcmd = /opt/lib/libmpathcmd.so.0\n", &cfg, &err), 0);
        assert_false(cfg.fc_rescan);
        assert_true(cfg.fc_wildcard_scan);
        assert_true(cfg.fc_issue_lip);
        assert_int_equal(cfg.fc_on_missing, FC_ON_MISSING_WARN);
        assert_int_equal(cfg.fc_multipath, FC_MULTIPATH_NO);
        assert_string_equal(cfg.fc_libmpathcmd, "/opt/lib/libmpathcmd.so.0");
        config_free(&cfg);
        expect_error("[fc]\non-missing = ignore\n", "[fc] on-missing = 'ignore' is not valid; allowed: fail or warn");
        expect_error("[fc]\nmultipath = maybe\n", "allowed: auto, yes or no");
}

static void test_migrate_keys(void **state)
{
        struct mk_config cfg;
        _cleanup_free_ char *err = NULL;
        (void)state;
        assert_int_equal(config_defaults(&cfg), 0);
        assert_string_equal(cfg.migrate_uri, "qemu+tls://{dest}/system");
        assert_true(cfg.migrate_tls);
        assert_true(cfg.migrate_auto_converge);
        assert_false(cfg.migrate_postcopy);
        assert_int_equal(cfg.migrate_bandwidth, 0);
        assert_int_equal(cfg.migrate_downtime_ms, 500);
        assert_int_equal(cfg.migrate_downtime_steps, 10);
        assert_int_equal(cfg.migrate_downtime_delay_ms, 10000);
        assert_int_equal(cfg.migrate_stall_ms, 30000);
        assert_int_equal(cfg.migrate_completion_timeout_ms, 900000);
        assert_int_equal(cfg.migrate_progress_interval_ms, 2000);
        config_free(&cfg);
        assert_int_equal(load_text("[migrate]\nuri = qemu+tcp://{dest}/system\ntls = no\npostcopy = yes\nbandwidth = 20\n"
                                   "stall-timeout = 0\ncompletion-timeout = 2min\n", &cfg, &err), 0);
        assert_string_equal(cfg.migrate_uri, "qemu+tcp://{dest}/system");
        assert_false(cfg.migrate_tls);
        assert_true(cfg.migrate_postcopy);
        assert_int_equal(cfg.migrate_bandwidth, 20);
        assert_int_equal(cfg.migrate_stall_ms, 0);
        assert_int_equal(cfg.migrate_completion_timeout_ms, 120000);
        config_free(&cfg);
        expect_error("[migrate]\ndowntime-steps = 0\n", "allowed: a number from 1 to 100");
        expect_error("[migrate]\nprogress-interval = 10ms\n", "allowed: a duration from 100ms to 600s");
}

static void test_launcher_keys(void **state)
{
        struct mk_config cfg;
        _cleanup_free_ char *err = NULL;
        (void)state;
        assert_int_equal(config_defaults(&cfg), 0);
        assert_string_equal(cfg.run_dir, "/run");
        assert_int_equal(cfg.cleanup_launcher, LAUNCHER_AUTO);
        assert_string_equal(cfg.systemctl, "/bin/systemctl");
        config_free(&cfg);
        assert_int_equal(load_text("[paths]\nrun = /tmp/root/run\n[cleanup]\nlauncher = direct\nsystemctl = /usr/bin/systemctl\n",
                                   &cfg, &err), 0);
        assert_string_equal(cfg.run_dir, "/tmp/root/run");
        assert_int_equal(cfg.cleanup_launcher, LAUNCHER_DIRECT);
        assert_string_equal(cfg.systemctl, "/usr/bin/systemctl");
        config_free(&cfg);
        expect_error("[cleanup]\nlauncher = sysv\n", "[cleanup] launcher = 'sysv' is not valid; allowed: auto, systemd or direct");
        expect_error("[cleanup]\nsystemctl = systemctl\n", "allowed: an absolute path");
        expect_error("[paths]\nrun = run\n", "allowed: an absolute path");
}

static void test_parsers(void **state)
{
        unsigned ms;
        size_t sz;
        bool b;
        (void)state;
        assert_int_equal(parse_duration_ms("30", &ms), 0);
        assert_int_equal(ms, 30000);
        assert_int_equal(parse_duration_ms("250ms", &ms), 0);
        assert_int_equal(ms, 250);
        assert_int_equal(parse_duration_ms("2min", &ms), 0);
        assert_int_equal(ms, 120000);
        assert_int_equal(parse_duration_ms("", &ms), -EINVAL);
        assert_int_equal(parse_duration_ms("s", &ms), -EINVAL);
        assert_int_equal(parse_duration_ms("99999999999s", &ms), -EINVAL);
        /* the options' parser: the same units, the bare number's own */
        assert_int_equal(parse_duration("500", 1, &ms), 0);
        assert_int_equal(ms, 500);
        assert_int_equal(parse_duration("2s", 1, &ms), 0);
        assert_int_equal(ms, 2000);
        assert_int_equal(parse_duration("3m", 1000, &ms), 0);
        assert_int_equal(ms, 180000);
        assert_int_equal(parse_duration("1h", 1, &ms), 0);
        assert_int_equal(ms, 3600000);
        assert_int_equal(parse_duration("90", 1000, &ms), 0);
        assert_int_equal(ms, 90000);
        assert_int_equal(parse_duration("5x", 1000, &ms), -EINVAL);
        assert_int_equal(parse_duration("-5", 1, &ms), -EINVAL);
        assert_int_equal(parse_duration("5000000", 1000, &ms), -EINVAL);
        assert_int_equal(parse_size("4M", &sz), 0);
        assert_int_equal(sz, 4u << 20);
        assert_int_equal(parse_size("12", &sz), 0);
        assert_int_equal(sz, 12);
        assert_int_equal(parse_size("1T", &sz), -EINVAL);
        assert_int_equal(parse_bool("On", &b), 0);
        assert_true(b);
        assert_int_equal(parse_bool("0", &b), 0);
        assert_false(b);
        assert_int_equal(parse_bool("y", &b), -EINVAL);
}

/* [filesystems] local as a file sets it: the list replaces the default, a
 * type it adds is local (no note about the deprecated key), one it leaves
 * out is shared; a value that is not a list of type names is an error that
 * names the key and what it allows. fs_is_shared decides from a recorded
 * mount table here: nfs.txt mounts the instances path over NFS (nfs4) on an
 * xfs /var. */
static void test_local_filesystems(void **state)
{
        _cleanup_free_ char *nfs = realpath("tests/data/mountinfo/nfs.txt", NULL);
        _cleanup_free_ char *text = NULL, *err = NULL;
        struct mk_config cfg;
        (void)state;
        assert_non_null(nfs);

        assert_true(asprintf(&text, "[paths]\nmountinfo = %s\n[filesystems]\nlocal = ext4, nfs4\n", nfs) > 0);
        assert_int_equal(load_text(text, &cfg, &err), 0);
        assert_int_equal(strv_length(cfg.local_fs_types), 2);
        assert_string_equal(cfg.local_fs_types[0], "ext4");
        assert_string_equal(cfg.local_fs_types[1], "nfs4");
        assert_null(cfg.notes);
        assert_int_equal(fs_is_shared(&cfg, "/var/lib/nova/instances", NULL, NULL), 0); /* nfs4: added */
        assert_int_equal(fs_is_shared(&cfg, "/var/lib/nova", NULL, NULL), 1);           /* xfs: left out */
        config_free(&cfg);

        /* the same table with the default list: nfs4 shared, xfs local */
        free(text);
        assert_true(asprintf(&text, "[paths]\nmountinfo = %s\n", nfs) > 0);
        assert_int_equal(load_text(text, &cfg, &err), 0);
        assert_int_equal(fs_is_shared(&cfg, "/var/lib/nova/instances", NULL, NULL), 1);
        assert_int_equal(fs_is_shared(&cfg, "/var/lib/nova", NULL, NULL), 0);
        config_free(&cfg);

        expect_error("[filesystems]\nlocal = ext4 #nfs4\n",
                     "t.conf:2: [filesystems] local = 'ext4 #nfs4' is not valid; allowed: filesystem type names separated by "
                     "spaces or commas");
        expect_error("[filesystems]\nlocal = ext4\nlocal = xfs\n", "t.conf:3: duplicate key 'local' in section [filesystems]");
        expect_error("[filesystem]\nlocal = ext4\n", "t.conf:2: unknown section [filesystem]");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_defaults),
                cmocka_unit_test(test_shipped_conf_matches_defaults),
                cmocka_unit_test(test_values),
                cmocka_unit_test(test_errors),
                cmocka_unit_test(test_long_line),
                cmocka_unit_test(test_file_problems),
                cmocka_unit_test(test_parsers),
                cmocka_unit_test(test_launcher_keys),
                cmocka_unit_test(test_fc_keys),
                cmocka_unit_test(test_migrate_keys),
                cmocka_unit_test(test_local_filesystems),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
