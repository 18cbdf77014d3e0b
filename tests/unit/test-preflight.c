/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The checks of `migkit check` against libvirt's test driver: two nodes
 * described by tests/data/driver/host{A,B}.xml (test:///<file> gives each
 * file a driver instance of its own), disks judged with a recorded
 * mountinfo where /var/lib/nova/instances is NFS. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <limits.h>
#include <libvirt/virterror.h>

#include "config.h"
#include "migrate.h"
#include "preflight.h"
#include "util.h"

static virConnectPtr A, B;
static struct mk_config cfg;
static struct block_plan plan;

static void quiet(void *u, virErrorPtr e) { (void)u; (void)e; }

static virConnectPtr open_node(const char *file)
{
        char abs[PATH_MAX], uri[PATH_MAX + 16];
        assert_non_null(realpath(file, abs));
        snprintf(uri, sizeof(uri), "test://%s", abs);
        virConnectPtr c = virConnectOpen(uri);
        assert_non_null(c);
        return c;
}

static int setup(void **state)
{
        (void)state;
        virSetErrorFunc(NULL, quiet);
        if (config_defaults(&cfg) < 0)
                return -1;
        free(cfg.mountinfo);
        cfg.mountinfo = strdup("tests/data/mountinfo/nfs.txt");
        return 0;
}

static int teardown(void **state)
{
        (void)state;
        block_plan_free(&plan);
        config_free(&cfg);
        return 0;
}

/* Runs the checks of domain name from hostA to hostB (or dest); the disks
 * to copy in plan. */
static void run_mode(const char *dest, const char *name, char *const *copy, int mode, struct preflight *p)
{
        A = open_node("tests/data/driver/hostA.xml");
        B = open_node(dest);
        virDomainPtr d = virDomainLookupByName(A, name);
        assert_non_null(d);
        assert_int_equal(preflight_run(&cfg, A, d, B, "test:///hostB", NULL, copy, mode, &plan, p), 0);
        virDomainFree(d);
        virConnectClose(A);
        virConnectClose(B);
}

static void run_to(const char *dest, const char *name, char *const *copy, struct preflight *p)
{
        run_mode(dest, name, copy, COPY_AUTO, p);
}

static void run(const char *name, char *const *copy, struct preflight *p)
{
        run_to("tests/data/driver/hostB.xml", name, copy, p);
}

/* The result named name; fails the test if there is none. */
static const struct check_result *find(const struct preflight *p, const char *name)
{
        for (size_t i = 0; i < p->n; i++)
                if (streq(p->v[i].name, name))
                        return &p->v[i];
        fail_msg("no check named %s", name);
        return NULL;
}

static void expect(const struct preflight *p, const char *name, int status, const char *needle)
{
        const struct check_result *c = find(p, name);
        if (c->status != status || !strstr(c->message, needle))
                fail_msg("%s: expected %s with \"%s\", got %s: %s", name, check_status_to_string(status), needle,
                         check_status_to_string(c->status), c->message);
        if (status == CHECK_FAIL)
                assert_non_null(c->fix);
}

static void test_ready(void **state)
{
        struct preflight p;
        (void)state;
        run("busy", NULL, &p);
        expect(&p, "destination", CHECK_OK, "connected to test:///hostB");
        expect(&p, "hypervisor", CHECK_OK, "both hosts run TEST");
        expect(&p, "cpu", CHECK_OK, "default CPU model");
        expect(&p, "memory", CHECK_OK, "busy needs 256 MiB");
        expect(&p, "uuid", CHECK_OK, "no domain with UUID 4a6b2c1e-9f3d-4b8a-a1c2-3d4e5f607182");
        expect(&p, "disk vda", CHECK_OK, "on shared storage (nfs4)");
        expect(&p, "disk vdb", CHECK_OK, "block device /dev/disk/by-path/");
        expect(&p, "disk vdc", CHECK_OK, "network disk");
        expect(&p, "disk hdd", CHECK_OK, "config drive");
        expect(&p, "hook", CHECK_OK, "migkit's hook is installed on the destination (/etc/libvirt/hooks/qemu.d)");
        expect(&p, "lun vdb", CHECK_OK, "(LUN 3 behind target port 0x500a098280feeba5) is visible on the destination");
        expect(&p, "machine", CHECK_WARN, "cannot ask the destination"); /* the test driver has no domain capabilities */
        assert_int_equal(p.n_fail, 0);
        assert_int_equal(p.n_warn, 1);

        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        preflight_print(&p, f);
        fclose(f);
        assert_non_null(strstr(text, "OK    disk vda: /var/lib/nova/instances/4a6b2c1e-9f3d-4b8a-a1c2-3d4e5f607182/disk is on shared storage (nfs4): not copied\n"));
        free(text);
        preflight_free(&p);
}

static void test_config_drive_without_strip(void **state)
{
        struct preflight p;
        (void)state;
        cfg.strip_missing = false;
        run("busy", NULL, &p);
        cfg.strip_missing = true;
        expect(&p, "disk hdd", CHECK_FAIL, "is a local file libvirt does not copy");
        assert_int_equal(p.n_fail, 1);
        preflight_free(&p);
}

static void test_local_disk_and_name_clash(void **state)
{
        struct preflight p;
        (void)state;
        /* a local file is copied (block migration of that disk only), a
         * disk on shared storage is not */
        run("local", NULL, &p);
        expect(&p, "disk vda", CHECK_OK, "/srv/images/local.qcow2 (raw) is copied to the destination with the migration "
                                         "(the destination does not see /srv/images (ext4))");
        expect(&p, "disk vdb", CHECK_OK, "shared storage");
        expect(&p, "storage", CHECK_OK, "block migration of vda (full copies)");
        expect(&p, "uuid", CHECK_FAIL, "another domain named local (UUID 00000000-1111-4222-8333-444444444444)");
        assert_int_equal(p.n_fail, 1);
        assert_int_equal(plan.n, 1);
        assert_string_equal(plan.copy[0], "vda");
        assert_null(plan.copy[1]);
        assert_false(plan.incremental);
        preflight_free(&p);

        /* --no-copy-storage: the local disk refuses the migration, by name */
        run_mode("tests/data/driver/hostB.xml", "local", NULL, COPY_NEVER, &p);
        expect(&p, "disk vda", CHECK_FAIL, "/srv/images/local.qcow2 is a local file (the destination does not see /srv/images "
                                           "(ext4)) and --no-copy-storage forbids copying it");
        assert_non_null(strstr(find(&p, "disk vda")->fix, "drop --no-copy-storage"));
        expect(&p, "storage", CHECK_OK, "plain live migration: no disk is copied");
        assert_int_equal(plan.n, 0);
        preflight_free(&p);

        /* --copy-storage: copied even on shared storage; a target that
         * does not exist: refused */
        char *copy[] = { (char *)"vdb", (char *)"vdz", NULL };
        run_mode("tests/data/driver/hostB.xml", "local", copy, COPY_NEVER, &p);
        expect(&p, "disk vdb", CHECK_OK, "is copied to the destination with the migration (--copy-storage)");
        expect(&p, "copy-storage", CHECK_FAIL, "local has no disk vdz to copy");
        assert_int_equal(plan.n, 1);
        assert_string_equal(plan.copy[0], "vdb");
        preflight_free(&p);
}

static void test_backing_files(void **state)
{
        struct preflight p;
        (void)state;
        run("based", NULL, &p);
        expect(&p, "disk vda", CHECK_OK, "/srv/images/based/disk (qcow2 on the backing file /srv/images/_base/0f3a) is copied "
                                         "to the destination with the migration");
        expect(&p, "disk vdb", CHECK_OK, "/srv/images/based/disk.eph0 (raw) is copied");
        expect(&p, "disk vdc", CHECK_FAIL, "/srv/images/based/shared.img is a local read-only disk: libvirt copies neither");
        expect(&p, "disk vdd", CHECK_FAIL, "/srv/images/based/deep has a backing chain of more than one file");
        assert_non_null(strstr(find(&p, "disk vdd")->fix, "virsh blockpull vdd"));
        expect(&p, "storage", CHECK_OK, "block migration of vda, vdb (incremental");
        assert_int_equal(p.n_fail, 2);
        assert_int_equal(plan.n, 2);
        assert_true(plan.incremental);
        assert_string_equal(plan.v[0].format, "qcow2");
        assert_string_equal(plan.v[0].backing, "/srv/images/_base/0f3a");
        assert_string_equal(plan.v[0].backing_format, "raw");
        assert_null(plan.v[1].backing);
        preflight_free(&p);

        /* what migkit migrate asks libvirt for: those two disks, incrementally */
        struct migrate_opts o = { .auto_converge = -1, .postcopy = -1, .bandwidth = -1, .postcopy_bandwidth = -1,
                                  .dest = "hostB", .copy_disks = plan.copy, .copy_incremental = plan.incremental };
        unsigned long flags;
        virTypedParameterPtr params;
        int n;
        const char *disk = NULL;
        assert_int_equal(migrate_build(&cfg, &o, &flags, &params, &n, NULL), 0);
        assert_true(flags & VIR_MIGRATE_NON_SHARED_INC);
        assert_false(flags & VIR_MIGRATE_NON_SHARED_DISK);
        int seen = 0;
        for (int i = 0; i < n; i++)
                if (streq(params[i].field, VIR_MIGRATE_PARAM_MIGRATE_DISKS)) {
                        disk = params[i].value.s;
                        assert_string_equal(disk, seen ? "vdb" : "vda");
                        seen++;
                }
        assert_int_equal(seen, 2);
        virTypedParamsFree(params, n);
        block_plan_free(&plan);
}

static void test_uuid_already_there(void **state)
{
        struct preflight p;
        (void)state;
        run("twin", NULL, &p);
        expect(&p, "uuid", CHECK_FAIL, "already has a domain with UUID 7d9e5f41-2c60-4ebd-94f5-607182930415 (twin, running)");
        assert_int_equal(p.n_fail, 1);
        preflight_free(&p);
}

static void test_not_enough_memory(void **state)
{
        struct preflight p;
        (void)state;
        run("huge", NULL, &p);
        expect(&p, "memory", CHECK_FAIL, "huge needs 65536 MiB; the destination has");
        assert_int_equal(p.n_fail, 1);
        preflight_free(&p);
}

static void test_unreachable(void **state)
{
        struct preflight p;
        (void)state;
        A = open_node("tests/data/driver/hostA.xml");
        virDomainPtr d = virDomainLookupByName(A, "busy");
        assert_int_equal(preflight_run(&cfg, A, d, NULL, "qemu+tls://nowhere/system", "Cannot resolve 'nowhere'", NULL, COPY_AUTO, NULL,
                                       &p), 0);
        virDomainFree(d);
        virConnectClose(A);
        assert_int_equal(p.n, 1);
        expect(&p, "destination", CHECK_FAIL, "cannot connect to qemu+tls://nowhere/system: Cannot resolve 'nowhere'");
        preflight_free(&p);
}

static void test_same_state_in_one_process(void **state)
{
        /* test:///default is one shared instance per process: the UUID check
         * sees the guest "already" on the destination */
        struct preflight p;
        (void)state;
        virConnectPtr a = virConnectOpen("test:///default"), b = virConnectOpen("test:///default");
        virDomainPtr d = virDomainLookupByName(a, "test");
        assert_non_null(d);
        assert_int_equal(preflight_run(&cfg, a, d, b, "test:///default", NULL, NULL, COPY_AUTO, NULL, &p), 0);
        expect(&p, "uuid", CHECK_FAIL, "already has a domain with UUID 6695eb01-f6a4-8304-79aa-97f2502e193f (test, running)");
        preflight_free(&p);
        virDomainFree(d);
        virConnectClose(a);
        virConnectClose(b);
}

/* What the destination's libvirt says about bridges, the hook and LUNs. */
static void test_destination_ready_with_hook(void **state)
{
        struct preflight p;
        (void)state;
        run("wired", NULL, &p);
        expect(&p, "hook", CHECK_OK, "installed on the destination");
        expect(&p, "bridge qbr0000aaaa-11", CHECK_OK, "qbr0000aaaa-11 exists on the destination");
        expect(&p, "bridge qbr0000bbbb-22", CHECK_WILL_FIX, "missing on the destination: migkit's hook there creates it at migrate begin");
        expect(&p, "bridge br-ext", CHECK_FAIL, "not in [bridges] allow");
        expect(&p, "lun vda", CHECK_OK, "(WWID 3600a098038304437415d4b6a59684a52) is visible on the destination");
        expect(&p, "lun vdb", CHECK_WILL_FIX, "(LUN 9 behind target port 0x500a098280feeba5) is not visible on the destination yet: "
                                              "migkit's hook there rescans scsi_host5 (wwpn 10000000c9831b4b)");
        assert_int_equal(p.n_fail, 1);

        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        preflight_print(&p, f);
        fclose(f);
        assert_non_null(strstr(text, "\nWILL FIX bridge qbr0000bbbb-22: "));
        free(text);
        preflight_free(&p);
}

static void test_destination_without_hook(void **state)
{
        struct preflight p;
        (void)state;
        run_to("tests/data/driver/hostC.xml", "wired", NULL, &p);
        expect(&p, "hook", CHECK_WARN, "not installed on the destination");
        expect(&p, "bridge qbr0000aaaa-11", CHECK_FAIL, "missing on the destination and migkit's hook is not installed there");
        expect(&p, "bridge qbr0000bbbb-22", CHECK_FAIL, "(Cannot get interface MTU on 'qbr0000bbbb-22': No such device)");
        expect(&p, "lun vda", CHECK_FAIL, "is not visible on the destination, which has no FC HBA to rescan");
        expect(&p, "lun vdb", CHECK_FAIL, "is not visible on the destination, which has no FC HBA to rescan");
        preflight_free(&p);
}

static char *capture_json(const struct preflight *p)
{
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        assert_non_null(f);
        preflight_print_json(p, f, "busy \"1\"", "test:///hostB");
        fclose(f);
        return text;
}

static void test_json(void **state)
{
        struct preflight p;
        (void)state;
        run("busy", NULL, &p);
        _cleanup_free_ char *ok = capture_json(&p);
        assert_non_null(strstr(ok, "{\"domain\":\"busy \\\"1\\\"\",\"destination\":\"test:///hostB\",\"ready\":true,\"failed\":0,"));
        assert_non_null(strstr(ok, "\"checks\":[{\"check\":\"destination\",\"status\":\"OK\",\"message\":\"connected to test:///hostB"));
        assert_non_null(strstr(ok, "\"fix\":null}"));
        assert_ptr_equal(strchr(ok, '\n'), ok + strlen(ok) - 1); /* one line, ending in a newline */

        /* a failure with text that needs escaping */
        assert_int_equal(preflight_add(&p, CHECK_FAIL, "disk \"x\"", "fix\tit", "path %s", "/a\\b\n"), 0);
        _cleanup_free_ char *bad = capture_json(&p);
        assert_non_null(strstr(bad, "\"ready\":false,\"failed\":1,"));
        assert_non_null(strstr(bad, "{\"check\":\"disk \\\"x\\\"\",\"status\":\"FAIL\",\"message\":\"path /a\\\\b\\n\",\"fix\":\"fix\\tit\"}]}\n"));
        preflight_free(&p);
}

static void test_check_unknown_domain_json(void **state)
{
        char abs[PATH_MAX], uri[PATH_MAX + 16];
        char *text = NULL;
        size_t len = 0;
        (void)state;
        assert_non_null(realpath("tests/data/driver/hostA.xml", abs));
        snprintf(uri, sizeof(uri), "test://%s", abs);
        FILE *f = open_memstream(&text, &len);
        assert_int_equal(migrate_check(&cfg, "nosuch", "test:///default", uri, NULL, false, true, f), 1);
        fclose(f);
        assert_non_null(strstr(text, "\"ready\":false,\"failed\":1,"));
        assert_non_null(strstr(text, "{\"check\":\"domain\",\"status\":\"FAIL\",\"message\":\"no domain 'nosuch' on this host"));
        assert_non_null(strstr(text, "\"fix\":\"check the name with virsh list --all\"}"));
        free(text);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_ready),
                cmocka_unit_test(test_config_drive_without_strip),
                cmocka_unit_test(test_local_disk_and_name_clash),
                cmocka_unit_test(test_backing_files),
                cmocka_unit_test(test_uuid_already_there),
                cmocka_unit_test(test_not_enough_memory),
                cmocka_unit_test(test_unreachable),
                cmocka_unit_test(test_same_state_in_one_process),
                cmocka_unit_test(test_destination_ready_with_hook),
                cmocka_unit_test(test_destination_without_hook),
                cmocka_unit_test(test_json),
                cmocka_unit_test(test_check_unknown_domain_json),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
