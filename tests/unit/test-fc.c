/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* lib/fc: source names, and exactly what is written to which sysfs file, on
 * copies of the committed trees in tests/data/sysfs/ (see make-trees there). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <time.h>

#include "fc.h"
#include "fclun.h"
#include "testutil.h"

#define TGT_A 0x5006016839a01c4eULL
#define TGT_B 0x5006016039a01c4eULL
#define WWID1 "3600601604d903a00e8e4b3c7b6a6e811"

static char tmpdir[] = "/tmp/migkit-test-fc.XXXXXX";
static char root[256];

static int setup(void **state)
{
        (void)state;
        return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
        (void)state;
        return rm_tree(tmpdir);
}

/* A fresh copy of tests/data/sysfs/<name> (symlinks kept) in root. */
static void use_tree(const char *name)
{
        snprintf(root, sizeof(root), "%s/%s", tmpdir, name);
        _cleanup_free_ char *cmd = pathf("rm -rf '%s' && cp -a tests/data/sysfs/%s '%s'", root, name, root);
        assert_int_equal(system(cmd), 0);
}

/* Every write-only file that is no longer empty, as "<relative path>=<content>;"
 * in path order: what the code wrote, and nothing else. */
static void collect(const char *dir, const char *rel, char **out)
{
        struct dirent **names;
        int n = scandir(dir, &names, NULL, alphasort);
        assert_true(n >= 0);
        for (int i = 0; i < n; i++) {
                const char *e = names[i]->d_name;
                if (streq(e, ".") || streq(e, "..")) {
                        free(names[i]);
                        continue;
                }
                _cleanup_free_ char *p = pathf("%s/%s", dir, e), *r = pathf("%s%s%s", rel, *rel ? "/" : "", e);
                struct stat st;
                assert_int_equal(lstat(p, &st), 0);
                if (S_ISDIR(st.st_mode))
                        collect(p, r, out);
                else if (S_ISREG(st.st_mode) && st.st_size > 0 &&
                         (streq(e, "scan") || streq(e, "issue_lip") || streq(e, "delete") || streq(e, "rescan"))) {
                        _cleanup_free_ char *text = NULL, *n2 = NULL;
                        assert_true(read_full_file(p, 4096, &text) >= 0);
                        assert_true(asprintf(&n2, "%s%s=%s;", *out ? *out : "", r, text) >= 0);
                        free(*out);
                        *out = TAKE_PTR(n2);
                }
                free(names[i]);
        }
        free(names);
}

static void assert_written(const char *expected)
{
        _cleanup_free_ char *got = NULL;
        collect(root, "", &got);
        if (!streq(got ? got : "", expected))
                fail_msg("written:\n  got      %s\n  expected %s", got ? got : "(nothing)", expected);
}

/* Plans reqs on the current tree, checks the plan's (path, data) list,
 * applies it, and checks the tree shows exactly those writes. */
static void plan_apply(struct fc_scan_req *reqs, size_t n, bool wildcard, bool lip, const char *expected)
{
        struct fc_plan plan;
        assert_int_equal(fc_plan_build(root, wildcard, lip, reqs, n, &plan), 0);
        for (size_t i = 0; i < plan.n_writes; i++)
                assert_true(strncmp(plan.writes[i].path, root, strlen(root)) == 0 && strstr(plan.writes[i].path, "/class/"));
        assert_int_equal(fc_plan_apply(&plan, 5000), 0);
        for (size_t i = 0; i < plan.n_writes; i++)
                assert_int_equal(plan.writes[i].result, 0);
        fc_plan_free(&plan);
        assert_written(expected);
}

static void test_parse_wwpn_lun(void **state)
{
        uint64_t v;
        char buf[32];
        (void)state;
        assert_int_equal(fc_parse_wwpn("0x5006016839a01c4e", &v), 0);
        assert_true(v == TGT_A);
        assert_int_equal(fc_parse_wwpn("0X5006016839A01C4E", &v), 0);
        assert_true(v == TGT_A);
        assert_int_equal(fc_parse_wwpn("5006016839a01c4e", &v), 0);
        assert_true(v == TGT_A);
        assert_int_equal(fc_parse_wwpn("50:06:01:68:39:A0:1C:4E", &v), 0);
        assert_true(v == TGT_A);
        assert_int_equal(fc_parse_wwpn("0x5006016839a01c4", &v), -EINVAL);
        assert_int_equal(fc_parse_wwpn("0x5006016839a01c4e0", &v), -EINVAL);
        assert_int_equal(fc_parse_wwpn("0x5006016839a01c4g", &v), -EINVAL);
        assert_int_equal(fc_parse_wwpn("", &v), -EINVAL);
        assert_int_equal(fc_parse_wwpn("50:06:01:68:39:a0:1c:4e:", &v), -EINVAL);

        assert_int_equal(fc_parse_lun("1", &v), 0);
        assert_true(v == 1);
        assert_int_equal(fc_parse_lun("255", &v), 0);
        assert_true(v == 255);
        assert_int_equal(fc_parse_lun("0x4100000000000000", &v), 0); /* flat LUN 256 */
        assert_true(v == 16640);
        assert_int_equal(fc_parse_lun("0x0001000200000000", &v), 0);
        assert_true(v == (1 | 2 << 16));
        assert_int_equal(fc_parse_lun("08", &v), -EINVAL);
        assert_int_equal(fc_parse_lun("-1", &v), -EINVAL);
        assert_int_equal(fc_parse_lun("0x41000000000000", &v), -EINVAL);
        assert_int_equal(fc_parse_lun("0x4100000000000001", &v), -EINVAL);
        fc_format_lun(16640, buf, sizeof(buf));
        assert_string_equal(buf, "0x4100000000000000");
        fc_format_lun(1 | 2 << 16, buf, sizeof(buf));
        assert_string_equal(buf, "0x0001000200000000");
        fc_format_lun(7, buf, sizeof(buf));
        assert_string_equal(buf, "7");
}

static void test_parse_source(void **state)
{
        struct fc_source s;
        (void)state;
        assert_int_equal(fc_parse_source("/dev/disk/by-path/pci-0000:05:00.0-fc-0x5006016839a01c4e-lun-1", &s), 0);
        assert_int_equal(s.kind, FC_SRC_PATH);
        assert_true(s.wwpn == TGT_A && s.lun == 1);
        assert_int_equal(fc_parse_source("/dev/disk/by-path/pci-0000:05:00.0-fc-0x5006016839a01c4e-lun-0x4100000000000000-part2", &s), 0);
        assert_int_equal(s.kind, FC_SRC_PATH);
        assert_true(s.lun == 16640);
        assert_int_equal(fc_parse_source("/dev/disk/by-path/ccw-0.0.1900-fc-0x5006016839A01C4E-lun-3", &s), 0);
        assert_true(s.kind == FC_SRC_PATH && s.wwpn == TGT_A && s.lun == 3);
        assert_int_equal(fc_parse_source("/dev/disk/by-path/pci-0000:00:1f.2-ata-1", &s), 0);
        assert_int_equal(s.kind, FC_SRC_NONE);
        assert_int_equal(fc_parse_source("/dev/disk/by-path/pci-0000:05:00.0-fc-0x5006016839a01c4e-lun-08", &s), -EINVAL);
        assert_int_equal(fc_parse_source("/dev/disk/by-path/pci-0000:05:00.0-fc-5006016839a01c4e-lun-1", &s), -EINVAL);

        assert_int_equal(fc_parse_source("/dev/disk/by-id/wwn-0x600601604D903A00E8E4B3C7B6A6E811", &s), 0);
        assert_int_equal(s.kind, FC_SRC_WWID);
        assert_string_equal(s.wwid, WWID1);
        assert_int_equal(fc_parse_source("/dev/disk/by-id/scsi-" WWID1 "-part1", &s), 0);
        assert_int_equal(s.kind, FC_SRC_WWID);
        assert_string_equal(s.wwid, WWID1);
        assert_int_equal(fc_parse_source("/dev/disk/by-id/scsi-SDGC_VRAID_CKM00123", &s), 0);
        assert_int_equal(s.kind, FC_SRC_NONE);
        assert_int_equal(fc_parse_source("/dev/disk/by-id/dm-uuid-mpath-" WWID1, &s), 0);
        assert_int_equal(s.kind, FC_SRC_MAP);
        assert_string_equal(s.wwid, WWID1);
        assert_string_equal(s.map, WWID1);
        assert_int_equal(fc_parse_source("/dev/disk/by-id/dm-name-mpatha", &s), 0);
        assert_int_equal(s.kind, FC_SRC_MAP);
        assert_string_equal(s.map, "mpatha");
        assert_string_equal(s.wwid, "");
        assert_int_equal(fc_parse_source("/dev/mapper/" WWID1, &s), 0);
        assert_int_equal(s.kind, FC_SRC_MAP);
        assert_string_equal(s.wwid, WWID1);
        assert_int_equal(fc_parse_source("/dev/mapper/vg0-lv_root", &s), 0);
        assert_int_equal(s.kind, FC_SRC_MAP);
        assert_string_equal(s.wwid, "");
        assert_int_equal(fc_parse_source("/dev/mapper/evil name", &s), -EINVAL);
        assert_int_equal(fc_parse_source("/dev/disk/by-id/dm-uuid-mpath-3600;reconfigure", &s), -EINVAL);
        assert_int_equal(fc_parse_source("/dev/sdb", &s), 0);
        assert_int_equal(s.kind, FC_SRC_NONE);
        assert_int_equal(fc_parse_source("/var/lib/libvirt/images/disk.img", &s), 0);
        assert_int_equal(s.kind, FC_SRC_NONE);
}

static void test_target_found(void **state)
{
        struct fc_scan_req rq = { .wwpn = TGT_A, .lun = 1 };
        struct fc_plan plan;
        (void)state;
        use_tree("one-target");
        assert_int_equal(fc_plan_build(root, false, false, &rq, 1, &plan), 0);
        assert_int_equal(plan.n_writes, 1);
        _cleanup_free_ char *want = pathf("%s/class/scsi_host/host5/scan", root);
        assert_string_equal(plan.writes[0].path, want);
        assert_string_equal(plan.writes[0].data, "0 1 1\n");
        assert_string_equal(rq.scanned, "host5 (target 0:1 via rport-5:0-2)");
        assert_null(rq.why);
        _cleanup_free_ char *hbas = fc_hbas_describe(&plan);
        assert_string_equal(hbas, "host5 0x10000090fa1b2c3d Online");
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        fc_plan_print(&plan, f, "would ");
        fclose(f);
        _cleanup_free_ char *line = pathf("would write '0 1 1' to %s/class/scsi_host/host5/scan\n", root);
        assert_string_equal(buf, line);
        free(buf);
        assert_int_equal(fc_plan_apply(&plan, 5000), 0);
        fc_plan_free(&plan);
        fc_scan_req_done(&rq);
        assert_written("devices/pci0000:00/0000:00:03.0/0000:05:00.0/host5/scsi_host/host5/scan=0 1 1\n;");
}

static void test_uppercase_wwpn(void **state)
{
        struct fc_scan_req rq = { .lun = 7 };
        (void)state;
        use_tree("one-target");
        assert_int_equal(fc_parse_wwpn("0X5006016839A01C4E", &rq.wwpn), 0);
        plan_apply(&rq, 1, false, false, "devices/pci0000:00/0000:00:03.0/0000:05:00.0/host5/scsi_host/host5/scan=0 1 7\n;");
        fc_scan_req_done(&rq);
}

static void test_target_unknown(void **state)
{
        struct fc_scan_req rq = { .wwpn = TGT_B, .lun = 3 };
        (void)state;

        use_tree("one-target");
        plan_apply(&rq, 1, false, false, "");
        assert_null(rq.scanned);
        assert_string_equal(rq.why, "target WWPN 0x5006016039a01c4e is not an online FCP target of any online FC HBA "
                                    "and [fc] wildcard-scan is off");
        fc_scan_req_done(&rq);

        use_tree("one-target");
        plan_apply(&rq, 1, true, false, "devices/pci0000:00/0000:00:03.0/0000:05:00.0/host5/scsi_host/host5/scan=- - 3\n;");
        assert_string_equal(rq.scanned, "host5 (all targets)");
        fc_scan_req_done(&rq);

        /* LIP only where the target is unknown, before the scan */
        use_tree("one-target");
        plan_apply(&rq, 1, false, true, "devices/pci0000:00/0000:00:03.0/0000:05:00.0/host5/fc_host/host5/issue_lip=1\n;");
        fc_scan_req_done(&rq);
        struct fc_plan plan;
        use_tree("one-target");
        assert_int_equal(fc_plan_build(root, true, true, &rq, 1, &plan), 0);
        assert_int_equal(plan.n_writes, 2);
        assert_non_null(strstr(plan.writes[0].path, "/issue_lip"));
        assert_string_equal(plan.writes[1].data, "- - 3\n");
        fc_plan_free(&plan);
        fc_scan_req_done(&rq);

        /* an initiator in the zone with that WWPN is not a target */
        rq = (struct fc_scan_req){ .wwpn = 0x10000090fa1b2c99ULL, .lun = 1 };
        use_tree("one-target");
        plan_apply(&rq, 1, false, false, "");
        assert_non_null(strstr(rq.why, "(rport-5:0-1 on host5 is not an FCP target)"));
        fc_scan_req_done(&rq);

        /* no LIP for a known target */
        rq = (struct fc_scan_req){ .wwpn = TGT_A, .lun = 1 };
        use_tree("one-target");
        plan_apply(&rq, 1, false, true, "devices/pci0000:00/0000:00:03.0/0000:05:00.0/host5/scsi_host/host5/scan=0 1 1\n;");
        fc_scan_req_done(&rq);
}

static void test_two_hbas(void **state)
{
        struct fc_scan_req rq[] = { { .wwpn = TGT_A, .lun = 2 }, { .wwpn = TGT_B, .lun = 4 } };
        (void)state;
        use_tree("two-hbas");
        plan_apply(rq, 2, false, false,
                   "devices/pci0000:00/0000:00:03.0/0000:05:00.0/host5/scsi_host/host5/scan=0 0 2\n;"
                   "devices/pci0000:00/0000:00:03.0/0000:05:00.1/host6/scsi_host/host6/scan=0 0 4\n0 1 2\n;");
        assert_string_equal(rq[0].scanned, "host5 (target 0:0 via rport-5:0-0), host6 (target 0:1 via rport-6:0-2)");
        assert_string_equal(rq[1].scanned, "host6 (target 0:0 via rport-6:0-1)");
        fc_scan_req_done(&rq[0]);
        fc_scan_req_done(&rq[1]);

        /* unknown target with the fallback: both HBAs, each once */
        struct fc_scan_req u[] = { { .wwpn = 0x500601603ea01c4eULL, .lun = 9 }, { .wwpn = 0x500601603ea01c4fULL, .lun = 9 } };
        use_tree("two-hbas");
        plan_apply(u, 2, true, false,
                   "devices/pci0000:00/0000:00:03.0/0000:05:00.0/host5/scsi_host/host5/scan=- - 9\n;"
                   "devices/pci0000:00/0000:00:03.0/0000:05:00.1/host6/scsi_host/host6/scan=- - 9\n;");
        fc_scan_req_done(&u[0]);
        fc_scan_req_done(&u[1]);
}

static void test_offline_skipped(void **state)
{
        struct fc_scan_req rq = { .wwpn = TGT_A, .lun = 1 };
        (void)state;
        use_tree("offline");
        plan_apply(&rq, 1, false, false, "");
        assert_string_equal(rq.why, "target WWPN 0x5006016839a01c4e is not an online FCP target of any online FC HBA "
                                    "(rport-5:0-0 on host5 is Blocked, host6 is Linkdown) and [fc] wildcard-scan is off");
        fc_scan_req_done(&rq);

        /* the fallback and the LIP skip the Linkdown HBA */
        use_tree("offline");
        plan_apply(&rq, 1, true, true,
                   "devices/pci0000:00/0000:00:03.0/0000:05:00.0/host5/fc_host/host5/issue_lip=1\n;"
                   "devices/pci0000:00/0000:00:03.0/0000:05:00.0/host5/scsi_host/host5/scan=- - 1\n;");
        fc_scan_req_done(&rq);

        struct fc_scan_req np = { .wwpn = TGT_B, .lun = 1 };
        use_tree("offline");
        plan_apply(&np, 1, false, false, "");
        assert_non_null(strstr(np.why, "(rport-5:0-1 on host5 is Not Present)"));
        fc_scan_req_done(&np);

        struct fc_plan plan;
        assert_int_equal(fc_plan_build(root, false, false, NULL, 0, &plan), 0);
        _cleanup_free_ char *hbas = fc_hbas_describe(&plan);
        assert_string_equal(hbas, "host5 0x10000090fa1b2c3d Online, host6 0x10000090fa1b2c3e Linkdown");
        fc_plan_free(&plan);
}

static void test_no_fc(void **state)
{
        struct fc_scan_req rq[] = { { .wwpn = TGT_A, .lun = 1 }, { .any_target = true, .any_lun = true } };
        struct fc_plan plan;
        (void)state;
        use_tree("no-fc");
        assert_int_equal(fc_plan_build(root, true, true, rq, 2, &plan), 0);
        assert_int_equal(plan.n_writes, 0);
        assert_int_equal(plan.n_hbas, 0);
        assert_string_equal(rq[0].why, "this host has no FC HBA (nothing in class/fc_host)");
        assert_string_equal(rq[1].why, rq[0].why);
        _cleanup_free_ char *hbas = fc_hbas_describe(&plan);
        assert_string_equal(hbas, "none");
        assert_int_equal(fc_plan_apply(&plan, 1000), 0);
        fc_plan_free(&plan);
        assert_written("");
        fc_scan_req_done(&rq[0]);
        fc_scan_req_done(&rq[1]);

        /* an empty sysfs root: no class directories at all */
        _cleanup_free_ char *empty = pathf("%s/empty", tmpdir);
        mkdir(empty, 0755);
        assert_int_equal(fc_plan_build(empty, true, false, rq, 1, &plan), 0);
        assert_int_equal(plan.n_writes, 0);
        fc_plan_free(&plan);
        fc_scan_req_done(&rq[0]);
}

static void test_same_target_once(void **state)
{
        (void)state;
        /* the same LUN asked twice: one targeted write */
        struct fc_scan_req same[] = { { .wwpn = TGT_A, .lun = 1 }, { .wwpn = TGT_A, .lun = 1 } };
        use_tree("one-target");
        plan_apply(same, 2, false, false, "devices/pci0000:00/0000:00:03.0/0000:05:00.0/host5/scsi_host/host5/scan=0 1 1\n;");
        fc_scan_req_done(&same[0]);
        fc_scan_req_done(&same[1]);

        /* three LUNs of one target: one REPORT LUNS scan of that target */
        struct fc_scan_req three[] = { { .wwpn = TGT_A, .lun = 1 }, { .wwpn = TGT_A, .lun = 2 }, { .wwpn = TGT_A, .lun = 1 },
                                       { .wwpn = TGT_A, .lun = 16640 } };
        use_tree("one-target");
        plan_apply(three, 4, false, false, "devices/pci0000:00/0000:00:03.0/0000:05:00.0/host5/scsi_host/host5/scan=0 1 -\n;");
        for (size_t i = 0; i < ARRAY_SIZE(three); i++)
                fc_scan_req_done(&three[i]);

        /* two wildcard LUNs on one HBA: one "- - -" */
        struct fc_scan_req wild[] = { { .wwpn = TGT_B, .lun = 1 }, { .wwpn = TGT_B, .lun = 2 } };
        use_tree("one-target");
        plan_apply(wild, 2, true, false, "devices/pci0000:00/0000:00:03.0/0000:05:00.0/host5/scsi_host/host5/scan=- - -\n;");
        fc_scan_req_done(&wild[0]);
        fc_scan_req_done(&wild[1]);

        /* a LUN of an unknown target, then a disk known only by its WWID, on
         * one HBA: they share the wildcard target, whose scan must cover
         * every LUN ("- - -"), not only the first one asked for */
        struct fc_scan_req shared[] = { { .wwpn = TGT_B, .lun = 3 }, { .any_target = true, .any_lun = true } };
        use_tree("one-target");
        plan_apply(shared, 2, true, false, "devices/pci0000:00/0000:00:03.0/0000:05:00.0/host5/scsi_host/host5/scan=- - -\n;");
        fc_scan_req_done(&shared[0]);
        fc_scan_req_done(&shared[1]);

        /* a known and an unknown target on one HBA: targeted first, then the wildcard */
        struct fc_scan_req mixed[] = { { .wwpn = TGT_B, .lun = 3 }, { .wwpn = TGT_A, .lun = 1 } };
        use_tree("one-target");
        plan_apply(mixed, 2, true, false, "devices/pci0000:00/0000:00:03.0/0000:05:00.0/host5/scsi_host/host5/scan=0 1 1\n- - 3\n;");
        fc_scan_req_done(&mixed[0]);
        fc_scan_req_done(&mixed[1]);

        /* a WWID only: the whole HBA, if allowed */
        struct fc_scan_req w = { .any_target = true, .any_lun = true };
        use_tree("two-hbas");
        plan_apply(&w, 1, false, false, "");
        assert_string_equal(w.why, "no target WWPN is known for it and [fc] wildcard-scan is off");
        fc_scan_req_done(&w);
        use_tree("two-hbas");
        plan_apply(&w, 1, true, false,
                   "devices/pci0000:00/0000:00:03.0/0000:05:00.0/host5/scsi_host/host5/scan=- - -\n;"
                   "devices/pci0000:00/0000:00:03.0/0000:05:00.1/host6/scsi_host/host6/scan=- - -\n;");
        fc_scan_req_done(&w);
}

static void test_find_wwid(void **state)
{
        _cleanup_strv_ char **h = NULL;
        (void)state;
        use_tree("two-hbas");
        assert_int_equal(fc_find_wwid(root, WWID1, &h), 2);
        assert_true(strv_contains(h, "5:0:0:0") && strv_contains(h, "6:0:1:0"));
        assert_int_equal(fc_find_wwid(root, "3600601604d903a00e8e4b3c7b6a6e812", NULL), 0);
        assert_int_equal(fc_find_wwid(root, "2600601604d903a00e8e4b3c7b6a6e811", NULL), 0); /* eui is not naa */
        use_tree("no-fc");
        assert_int_equal(fc_find_wwid(root, WWID1, NULL), 0);
}


static void test_apply_errors_and_deadline(void **state)
{
        struct fc_scan_req rq[] = { { .wwpn = TGT_A, .lun = 2 }, { .wwpn = TGT_B, .lun = 4 } };
        struct fc_plan plan;
        (void)state;

        /* a scan file that went away: -ENOENT for that write, the other HBA still scanned */
        use_tree("two-hbas");
        assert_int_equal(fc_plan_build(root, false, false, rq, 2, &plan), 0);
        assert_int_equal(plan.n_writes, 3);
        _cleanup_free_ char *s5 = pathf("%s/class/scsi_host/host5/scan", root);
        assert_int_equal(unlink(s5), 0);
        assert_int_equal(fc_plan_apply(&plan, 5000), -ENOENT);
        assert_int_equal(plan.writes[0].result, -ENOENT);
        assert_int_equal(plan.writes[1].result, 0);
        assert_int_equal(plan.writes[2].result, 0);
        fc_plan_free(&plan);

        /* a scan that blocks (a FIFO nobody reads): apply returns at its timeout */
        use_tree("two-hbas");
        assert_int_equal(fc_plan_build(root, false, false, rq, 2, &plan), 0);
        _cleanup_free_ char *s6 = pathf("%s/class/scsi_host/host6/scan", root);
        assert_int_equal(unlink(s6), 0);
        assert_int_equal(mkfifo(s6, 0600), 0);
        long t0 = now_ms();
        assert_int_equal(fc_plan_apply(&plan, 300), -ETIMEDOUT);
        long took = now_ms() - t0;
        assert_true(took >= 290 && took < 2000);
        assert_int_equal(plan.writes[0].result, 0);           /* host5 done */
        assert_int_equal(plan.writes[1].result, -ETIMEDOUT);  /* host6 blocked */
        assert_int_equal(plan.writes[2].result, -ETIMEDOUT);  /* queued behind it */
        fc_plan_free(&plan); /* the blocked worker has its own copy */
        /* let the blocked writer finish and exit */
        /* O_RDWR: no end-of-file between the worker's two opens */
        int fd = open(s6, O_RDWR | O_CLOEXEC);
        assert_true(fd >= 0);
        char buf[64];
        ssize_t n = 0, k;
        for (long t1 = now_ms(); n < 12 && now_ms() - t1 < 3000;) {
                struct pollfd pfd = { .fd = fd, .events = POLLIN };
                if (poll(&pfd, 1, 100) > 0 && (k = read(fd, buf + n, sizeof(buf) - (size_t)n)) > 0)
                        n += k;
        }
        close(fd);
        assert_int_equal(n, 12);
        assert_memory_equal(buf, "0 0 4\n0 1 2\n", 12);
        fc_scan_req_done(&rq[0]);
        fc_scan_req_done(&rq[1]);
}

#define W21 "3600601604d903a00e8e4b3c7b6a6e821"
#define W22 "3600601604d903a00e8e4b3c7b6a6e822"
#define W23 "3600601604d903a00e8e4b3c7b6a6e823"
#define W24 "3600601604d903a00e8e4b3c7b6a6e824"
#define W25 "3600601604d903a00e8e4b3c7b6a6e825"

static void test_remove_unused(void **state)
{
        struct fc_lun l;
        struct fc_plan plan;
        _cleanup_strv_ char **w = NULL;
        (void)state;
        use_tree("source");

        assert_int_equal(fc_wwids_of_target_lun(root, TGT_A, 1, &w), 1);
        assert_string_equal(w[0], W21);

        assert_int_equal(fc_lun_find(root, W21, &l), 0);
        assert_int_equal(l.n_paths, 2);
        assert_string_equal(l.map, "dm-3");
        assert_string_equal(l.map_name, W21);
        assert_true(strv_contains(l.devs, "8:32") && strv_contains(l.devs, "8:80") && strv_contains(l.devs, "254:3"));
        assert_int_equal(strv_length(l.devs), 3);
        assert_null(l.blockers);
        _cleanup_free_ char *mi = pathf("%s/mountinfo", tmpdir);
        put(mi, "22 1 8:1 / / rw - ext4 /dev/sda1 rw\n30 22 8:48 / /srv rw - xfs /dev/sdd rw\n");
        assert_int_equal(fc_lun_check_mounts(&l, mi), 0);
        assert_null(l.blockers);
        assert_int_equal(fc_plan_remove(root, &l, &plan), 0);
        assert_int_equal(plan.n_writes, 2);
        _cleanup_free_ char *want = pathf("%s/class/scsi_device/5:0:1:1/device/delete", root);
        assert_string_equal(plan.writes[0].path, want);
        assert_int_equal(fc_plan_apply(&plan, 5000), 0);
        fc_plan_free(&plan);
        fc_lun_free(&l);
        assert_written("devices/pci0000:00/0000:00:03.0/0000:05:00.0/host5/rport-5:0-2/target5:0:1/5:0:1:1/delete=1\n;"
                       "devices/pci0000:00/0000:00:03.0/0000:05:00.1/host6/rport-6:0-0/target6:0:0/6:0:0:1/delete=1\n;");

        /* a partition mounted */
        assert_int_equal(fc_lun_find(root, W22, &l), 0);
        assert_int_equal(l.n_paths, 1);
        assert_string_equal(l.map, "");
        assert_true(strv_contains(l.devs, "8:48") && strv_contains(l.devs, "8:49"));
        assert_null(l.blockers);
        put(mi, "22 1 8:1 / / rw - ext4 /dev/sda1 rw\n31 22 8:49 / /var/lib/data rw - ext4 /dev/sdd1 rw\n");
        assert_int_equal(fc_lun_check_mounts(&l, mi), 0);
        assert_string_equal(l.blockers[0], "device 8:49 is mounted on /var/lib/data");
        assert_int_equal(fc_plan_remove(root, &l, &plan), -EBUSY);
        fc_lun_free(&l);

        /* held by LVM */
        assert_int_equal(fc_lun_find(root, W23, &l), 0);
        assert_string_equal(l.blockers[0], "sde is held by dm-5 (vg0-data)");
        fc_lun_free(&l);
        /* a kpartx partition map (60-kpartx.rules makes one on every map
         * with a partition table) is no use: it goes with the map */
        assert_int_equal(fc_lun_find(root, W24, &l), 0);
        assert_string_equal(l.map, "dm-6");
        assert_null(l.blockers);
        assert_int_equal(strv_length(l.parts), 1);
        assert_string_equal(l.parts[0], "dm-7");
        assert_string_equal(l.part_names[0], W24 "-part1");
        assert_true(strv_contains(l.devs, "254:7"));
        fc_lun_free(&l);
        /* four paths, sorted by H:C:T:L; the rollback keeps only its own */
        assert_int_equal(fc_lun_find(root, W25, &l), 0);
        assert_int_equal(l.n_paths, 4);
        assert_string_equal(l.paths[0].hctl, "5:0:1:5");
        assert_string_equal(l.paths[3].hctl, "6:0:1:5");
        assert_string_equal(l.paths[3].devno, "8:160");
        assert_string_equal(l.map_name, "mpatha");
        char *mine[] = { (char *)"6:0:1:5", (char *)"5:0:2:5", NULL };
        fc_lun_keep_paths(&l, mine);
        assert_int_equal(l.n_paths, 2);
        assert_string_equal(l.paths[0].hctl, "5:0:2:5");
        assert_string_equal(l.paths[1].hctl, "6:0:1:5");
        fc_lun_free(&l);
        /* a part map held by something: that blocks */
        _cleanup_free_ char *held = pathf("mkdir -p %s/devices/virtual/block/dm-20/dm && echo vg1-lv > %s/devices/virtual/block/dm-20/dm/name && "
                                          "ln -s ../devices/virtual/block/dm-20 %s/block/dm-20 && mkdir -p %s/devices/virtual/block/dm-9/holders && "
                                          "ln -s ../../dm-20 %s/devices/virtual/block/dm-9/holders/dm-20", root, root, root, root, root);
        assert_int_equal(system(held), 0);
        assert_int_equal(fc_lun_find(root, W25, &l), 0);
        assert_int_equal(strv_length(l.blockers), 1);
        assert_string_equal(l.blockers[0], "partition map mpatha-part1 (dm-9) is held by dm-20 (vg1-lv)");
        fc_lun_free(&l);

        /* no such LUN here */
        assert_int_equal(fc_lun_find(root, "3600601604d903a00e8e4b3c7b6a6e8ff", &l), 0);
        assert_int_equal(l.n_paths, 0);
        fc_lun_free(&l);
        assert_int_equal(fc_lun_find(root, "36006 0", &l), -EINVAL);
        fc_lun_free(&l);
}

/* A process with the disk open (as QEMU holds it) blocks the removal. */
static void test_remove_open(void **state)
{
        struct fc_lun l;
        (void)state;
        if (geteuid() != 0)
                skip();
        use_tree("source");
        _cleanup_free_ char *proc = pathf("%s/proc", tmpdir), *node = pathf("%s/sdc-node", tmpdir);
        _cleanup_free_ char *cmd = pathf("rm -rf %s %s && mkdir -p %s/4242/fd %s/1/fd && echo qemu-system-x86 > %s/4242/comm && "
                                         "mknod %s b 8 32 && ln -s %s %s/4242/fd/17 && ln -s /dev/null %s/1/fd/0",
                                         proc, node, proc, proc, proc, node, node, proc, proc);
        assert_int_equal(system(cmd), 0);
        assert_int_equal(fc_lun_find(root, W21, &l), 0);
        assert_int_equal(fc_lun_check_open(&l, proc), 0);
        assert_int_equal(strv_length(l.blockers), 1);
        assert_string_equal(l.blockers[0], "device 8:32 is open in process 4242 (qemu-system-x86)");
        fc_lun_free(&l);
        assert_int_equal(fc_lun_find(root, W22, &l), 0);
        assert_int_equal(fc_lun_check_open(&l, proc), 0);
        assert_null(l.blockers);
        fc_lun_free(&l);

        /* multipathd keeps the paths it monitors open: not a use of the LUN;
         * the same process with the map open would be (multipathd never does) */
        _cleanup_free_ char *mp = pathf("rm -rf %s/4242 && mkdir -p %s/77/fd && ln -s /sbin/multipathd %s/77/exe && "
                                        "mknod %s-112 b 8 112 && mknod %s-map b 254 8 && ln -s %s-112 %s/77/fd/5",
                                        proc, proc, proc, node, node, node, proc);
        assert_int_equal(system(mp), 0);
        assert_int_equal(fc_lun_find(root, W25, &l), 0);
        assert_int_equal(fc_lun_check_open(&l, proc), 0);
        assert_null(l.blockers);
        fc_lun_free(&l);
        _cleanup_free_ char *mp2 = pathf("ln -s %s-map %s/77/fd/6", node, proc);
        assert_int_equal(system(mp2), 0);
        assert_int_equal(fc_lun_find(root, W25, &l), 0);
        assert_int_equal(fc_lun_check_open(&l, proc), 0);
        assert_int_equal(strv_length(l.blockers), 1);
        assert_string_equal(l.blockers[0], "device 254:8 is open in process 77 (?)");
        fc_lun_free(&l);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_wwpn_lun),
                cmocka_unit_test(test_parse_source),
                cmocka_unit_test(test_target_found),
                cmocka_unit_test(test_uppercase_wwpn),
                cmocka_unit_test(test_target_unknown),
                cmocka_unit_test(test_two_hbas),
                cmocka_unit_test(test_offline_skipped),
                cmocka_unit_test(test_no_fc),
                cmocka_unit_test(test_same_target_once),
                cmocka_unit_test(test_find_wwid),
                cmocka_unit_test(test_apply_errors_and_deadline),
                cmocka_unit_test(test_remove_unused),
                cmocka_unit_test(test_remove_open),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
