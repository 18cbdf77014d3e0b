/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The preflight's verdict on each kind of guest definition, against
 * libvirt's test driver (source tests/data/driver/hostA.xml, destination
 * hostB.xml, guests made here): the CPU (default, passed through, a named
 * model), every disk type (network, block, volume, an empty or a local
 * cdrom, a config drive with and without [config-drive] strip-missing, a
 * disk copied with the migration), a guest that does not run, a disk to
 * copy that the guest does not have. Every refusal names a fix. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <libvirt/virterror.h>

#include "config.h"
#include "preflight.h"
#include "util.h"
#include "virt.h"
#include "testutil.h"

struct fx {
        char root[64];
        struct mk_config cfg;
        virConnectPtr a, b;
        struct preflight p;
};

static virConnectPtr open_node(const char *file)
{
        char abs[PATH_MAX], uri[PATH_MAX + 16];
        assert_non_null(realpath(file, abs));
        snprintf(uri, sizeof(uri), "test://%s", abs);
        return virConnectOpen(uri);
}

static int setup(void **state)
{
        struct fx *f = calloc(1, sizeof(*f));
        if (!f || scratch_dir(f->root, sizeof(f->root), "preflight-guests") < 0 || config_defaults(&f->cfg) < 0)
                return -1;
        virt_quiet_errors();
        f->a = open_node("tests/data/driver/hostA.xml");
        f->b = open_node("tests/data/driver/hostB.xml");
        *state = f;
        return f->a && f->b ? 0 : -1;
}

static int teardown(void **state)
{
        struct fx *f = *state;
        preflight_free(&f->p);
        virConnectClose(f->a);
        virConnectClose(f->b);
        config_free(&f->cfg);
        int r = rm_tree(f->root);
        free(f);
        return r;
}

/* Makes guest name (running unless defined_only) with the given <cpu> and
 * <devices> and runs the preflight of it to hostB. */
static void check(struct fx *f, const char *name, bool defined_only, const char *cpu, const char *devices, char *const *copy)
{
        _cleanup_free_ char *xml = pathf("<domain type='test'><name>%s</name><memory unit='MiB'>64</memory>"
                                         "<os><type>hvm</type></os>%s<devices>%s</devices></domain>", name, cpu, devices);
        virDomainPtr d = defined_only ? virDomainDefineXML(f->a, xml) : virDomainCreateXML(f->a, xml, 0);
        assert_non_null(d);
        preflight_free(&f->p);
        assert_int_equal(preflight_run(&f->cfg, f->a, d, f->b, "test:///hostB", NULL, copy, COPY_AUTO, NULL, &f->p), 0);
        virDomainFree(d);
}

static const struct check_result *find(struct fx *f, const char *name)
{
        for (size_t i = 0; i < f->p.n; i++)
                if (streq(f->p.v[i].name, name))
                        return &f->p.v[i];
        fail_msg("no check named %s", name);
        return NULL;
}

static void expect(struct fx *f, const char *name, int status, const char *needle)
{
        const struct check_result *c = find(f, name);
        if (c->status != status || !strstr(c->message, needle))
                fail_msg("%s: expected %s with \"%s\", got %s: %s", name, check_status_to_string(status), needle,
                         check_status_to_string(c->status), c->message);
        if (status == CHECK_FAIL)
                assert_non_null(c->fix);
}

static void test_cpu(void **state)
{
        struct fx *f = *state;
        check(f, "dflt", false, "<cpu mode='custom'/>", "", NULL);
        expect(f, "cpu", CHECK_OK, "dflt uses the hypervisor's default CPU model");
        check(f, "pt", false, "<cpu mode='host-passthrough'/>", "", NULL);
        expect(f, "cpu", CHECK_WARN, "pt passes the host CPU through: libvirt cannot compare it");
        assert_non_null(find(f, "cpu")->fix);
        /* a named model is compared by the destination's hypervisor */
        check(f, "named", false, "<cpu mode='custom'><model>qemu64</model></cpu>", "", NULL);
        const struct check_result *c = find(f, "cpu");
        assert_true(strstr(c->message, "the destination's hypervisor can run named's CPU") ||
                    strstr(c->message, "the destination's hypervisor cannot run named's CPU") ||
                    strstr(c->message, "could not compare named's CPU with the destination"));
}

static void test_disk_types(void **state)
{
        struct fx *f = *state;
        _cleanup_free_ char *iso = pathf("%s/install.iso", f->root), *devs = NULL;
        put(iso, "iso");
        devs = pathf("<disk type='network' device='disk'><source protocol='rbd' name='pool/vol'><host name='mon1'/></source><target dev='vda'/></disk>"
                     "<disk type='block' device='disk'><source dev='/dev/mapper/mpatha'/><target dev='vdb'/></disk>"
                     "<disk type='volume' device='disk'><source pool='p' volume='v'/><target dev='vdc'/></disk>"
                     "<disk type='file' device='cdrom'><target dev='hda'/></disk>"
                     "<disk type='file' device='cdrom'><source file='%s'/><target dev='hdb'/></disk>", iso);
        check(f, "disks", false, "", devs, NULL);
        expect(f, "disk vda", CHECK_OK, "network disk: the destination reaches the same volume");
        expect(f, "disk vdb", CHECK_OK, "block device /dev/mapper/mpatha: the destination must see the same LUN");
        expect(f, "disk vdc", CHECK_WARN, "volume disk: migkit cannot tell whether the destination sees it");
        expect(f, "disk hda", CHECK_OK, "empty cdrom");
        expect(f, "disk hdb", CHECK_WARN, "is a local file: the destination must have it at the same path");
        assert_non_null(find(f, "disk hdb")->fix);
}

static void test_config_drive_and_copies(void **state)
{
        struct fx *f = *state;
        _cleanup_free_ char *cd = pathf("%s/disk.config", f->root), *disk = pathf("%s/disk", f->root), *devs = NULL;
        put(cd, "cd");
        put(disk, "disk");
        devs = pathf("<disk type='file' device='cdrom'><source file='%s'/><target dev='hda'/></disk>"
                     "<disk type='file' device='disk'><source file='%s'/><target dev='vda'/></disk>", cd, disk);
        char *copy[] = { (char *)"vda", (char *)"vdz", NULL };

        f->cfg.strip_missing = true;
        check(f, "cd1", false, "", devs, copy);
        expect(f, "disk hda", CHECK_OK, "if the destination lacks it, its migkit hook empties the cdrom there");
        expect(f, "disk vda", CHECK_OK, "is copied to the destination with the migration");
        expect(f, "copy-storage", CHECK_FAIL, "cd1 has no disk vdz to copy");

        f->cfg.strip_missing = false;
        check(f, "cd2", false, "", devs, NULL);
        expect(f, "disk hda", CHECK_FAIL, "is a local file libvirt does not copy");
        /* a local disk the destination does not see: copied without being
         * asked (block migration decided per disk) */
        expect(f, "disk vda", CHECK_OK, "is copied to the destination with the migration");
}

static void test_not_running(void **state)
{
        struct fx *f = *state;
        check(f, "off", true, "", "", NULL);
        expect(f, "domain", CHECK_FAIL, "off is not running here: a live migration needs a running guest");
        assert_true(f->p.n_fail >= 1);
}

static void test_no_destination(void **state)
{
        struct fx *f = *state;
        virDomainPtr d = virDomainLookupByName(f->a, "busy");
        assert_non_null(d);
        assert_int_equal(preflight_run(&f->cfg, f->a, d, NULL, "qemu+tls://nowhere/system", "connection refused", NULL, COPY_AUTO, NULL, &f->p), 0);
        virDomainFree(d);
        assert_int_equal(f->p.n, 1);
        expect(f, "destination", CHECK_FAIL, "cannot connect to qemu+tls://nowhere/system: connection refused");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_cpu, setup, teardown),
                cmocka_unit_test_setup_teardown(test_disk_types, setup, teardown),
                cmocka_unit_test_setup_teardown(test_config_drive_and_copies, setup, teardown),
                cmocka_unit_test_setup_teardown(test_not_running, setup, teardown),
                cmocka_unit_test_setup_teardown(test_no_destination, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
