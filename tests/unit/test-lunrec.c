/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* lib/lunrec: what a block disk's source is on this host, on a copy of the
 * committed tree tests/data/sysfs/source and a /dev root made like udev's
 * (links to nodes); the record the hook keeps, its merge at release. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lunrec.h"
#include "testutil.h"

#define W21 "3600601604d903a00e8e4b3c7b6a6e821"
#define W22 "3600601604d903a00e8e4b3c7b6a6e822"
#define W25 "3600601604d903a00e8e4b3c7b6a6e825"
#define UUID "5b7a1c2e-9f3d-4b8a-a1c2-3d4e5f607182"
#define BYPATH2 "pci-0000:05:00.0-fc-0x5006016839a01c4e-lun-2"

static char tmpdir[] = "/tmp/migkit-test-lunrec.XXXXXX";
static char sys_[256], dev[256], state_dir[256];

static int setup(void **state)
{
        (void)state;
        if (!mkdtemp(tmpdir))
                return -1;
        snprintf(sys_, sizeof(sys_), "%s/sys", tmpdir);
        snprintf(dev, sizeof(dev), "%s/dev", tmpdir);
        snprintf(state_dir, sizeof(state_dir), "%s/state", tmpdir);
        char *cmd = NULL;
        int r = asprintf(&cmd,
                 "cp -a tests/data/sysfs/source %s && mkdir -p %s/mapper %s/disk/by-path && : > %s/dm-8 && : > %s/sdd && : > %s/sdd1 && "
                 "ln -s ../dm-8 %s/mapper/mpatha && ln -s ../../sdd %s/disk/by-path/" BYPATH2 " && "
                 "ln -s ../../sdd1 %s/disk/by-path/" BYPATH2 "-part1",
                 sys_, dev, dev, dev, dev, dev, dev, dev, dev);
        r = r < 0 ? -1 : system(cmd) == 0 ? 0 : -1;
        free(cmd);
        return r;
}

static int teardown(void **state)
{
        (void)state;
        return rm_tree(tmpdir);
}

static void test_resolve(void **state)
{
        struct lun_id id;
        (void)state;
        /* a map by its /dev/mapper link: the map's LUN and all its paths */
        assert_int_equal(lun_resolve(sys_, dev, "/dev/mapper/mpatha", &id), 1);
        assert_string_equal(id.wwid, W25);
        assert_string_equal(id.map, "mpatha");
        assert_int_equal(strv_length(id.paths), 4);
        assert_string_equal(id.paths[0], "sdh=5:0:1:5");
        assert_string_equal(id.paths[3], "sdk=6:0:1:5");
        lun_id_free(&id);
        /* a path by its by-path link, and a partition of it */
        assert_int_equal(lun_resolve(sys_, dev, "/dev/disk/by-path/" BYPATH2, &id), 1);
        assert_string_equal(id.wwid, W22);
        assert_string_equal(id.map, "");
        assert_string_equal(id.paths[0], "sdd=5:0:1:2");
        lun_id_free(&id);
        assert_int_equal(lun_resolve(sys_, dev, "/dev/disk/by-path/" BYPATH2 "-part1", &id), 1);
        assert_string_equal(id.wwid, W22);
        lun_id_free(&id);
        /* no node here: what the name says (wwn-, dm-uuid-mpath-, a map alias) */
        assert_int_equal(lun_resolve(sys_, dev, "/dev/disk/by-id/wwn-0x600601604d903a00e8e4b3c7b6a6e821", &id), 1);
        assert_string_equal(id.wwid, W21);
        assert_string_equal(id.map, W21);
        assert_int_equal(strv_length(id.paths), 2);
        lun_id_free(&id);
        assert_int_equal(lun_resolve(sys_, dev, "/dev/mapper/mpatha-part1", &id), 1); /* kpartx: the map's LUN */
        assert_string_equal(id.wwid, W25);
        lun_id_free(&id);
        /* LVM, a LUN with no path, a file, a path escaping /dev: none */
        assert_int_equal(lun_resolve(sys_, dev, "/dev/mapper/vg0-data", &id), 0);
        lun_id_free(&id);
        assert_int_equal(lun_resolve(sys_, dev, "/dev/disk/by-id/wwn-0x600601604d903a00e8e4b3c7b6a6e8ff", &id), 0);
        lun_id_free(&id);
        assert_int_equal(lun_resolve(sys_, dev, "/var/lib/x.qcow2", &id), 0);
        lun_id_free(&id);
        assert_int_equal(lun_resolve(sys_, dev, "/dev/../etc/passwd", &id), 0);
        lun_id_free(&id);
}

static struct domxml *dom(const char *disks)
{
        struct domxml *d = NULL;
        _cleanup_free_ char *xml = pathf("<domain type='kvm'><name>inst-a</name><uuid>" UUID "</uuid><devices>%s</devices></domain>", disks);
        assert_int_equal(domxml_parse(xml, strlen(xml), &d, NULL), 0);
        return d;
}

static void test_record(void **state)
{
        struct lunrec r, r2, old;
        (void)state;
        _cleanup_domxml_ struct domxml *d = dom(
                "<disk type='block' device='disk'><source dev='/dev/mapper/mpatha'/><target dev='vda'/></disk>"
                "<disk type='block' device='disk'><source dev='/dev/disk/by-path/" BYPATH2 "'/><target dev='vdb'/></disk>"
                "<disk type='file' device='disk'><source file='/var/lib/x.qcow2'/><target dev='vdc'/></disk>");
        assert_int_equal(lunrec_from_domain(sys_, dev, d, NULL, &r), 2);
        assert_string_equal(r.luns[0].target, "vda");
        assert_string_equal(r.luns[0].by_path, "pci-0000:05:00.0-fc-0x5006016839a01c4e-lun-5");
        assert_string_equal(r.luns[1].by_path, BYPATH2);
        assert_int_equal(lunrec_save(state_dir, &r), 0);
        assert_int_equal(lunrec_load(state_dir, UUID, &r2), 0);
        assert_int_equal(r2.n, 2);
        assert_string_equal(r2.name, "inst-a");
        assert_string_equal(r2.luns[0].wwid, W25);
        assert_string_equal(r2.luns[0].map, "mpatha");
        assert_int_equal(strv_length(r2.luns[0].paths), 4);
        assert_string_equal(r2.luns[1].source, "/dev/disk/by-path/" BYPATH2);
        assert_string_equal(r2.luns[1].map, "");
        _cleanup_free_ char *desc = lun_id_describe(&r2.luns[0]);
        assert_string_equal(desc, "WWID " W25 " (map mpatha, paths sdh sdi sdj sdk)");
        lunrec_free(&r);

        /* at release the by-path device is gone: its entry of the start stays;
         * a disk the start did not know and that does not resolve is not made up */
        _cleanup_free_ char *rm = pathf("rm %s/disk/by-path/" BYPATH2 " %s/block/sdd %s/class/scsi_device/5:0:1:2", dev, sys_, sys_);
        assert_int_equal(system(rm), 0);
        _cleanup_domxml_ struct domxml *d2 = dom(
                "<disk type='block' device='disk'><source dev='/dev/mapper/mpatha'/><target dev='vda'/></disk>"
                "<disk type='block' device='disk'><source dev='/dev/disk/by-path/" BYPATH2 "'/><target dev='vdb'/></disk>"
                "<disk type='block' device='disk'><source dev='/dev/disk/by-id/wwn-0x600601604d903a00e8e4b3c7b6a6e8ff'/><target dev='vdc'/></disk>");
        assert_int_equal(lunrec_from_domain(sys_, dev, d2, &r2, &old), 2);
        assert_string_equal(old.luns[1].wwid, W22);
        assert_string_equal(old.luns[1].paths[0], "sdd=5:0:1:2");
        assert_int_equal(lunrec_from_domain(sys_, dev, d2, NULL, &r), 1);
        lunrec_free(&r);
        lunrec_free(&old);
        lunrec_free(&r2);

        assert_int_equal(lunrec_remove(state_dir, UUID), 1);
        assert_int_equal(lunrec_load(state_dir, UUID, &r2), -ENOENT);
        _cleanup_free_ char *bad = pathf("%s/luns/" UUID, state_dir);
        put(bad, "migkit-luns 1\nuuid " UUID "\nlun vda 36006;reboot - - - /dev/x\n");
        assert_int_equal(lunrec_load(state_dir, UUID, &r2), -EBADMSG);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_resolve),
                cmocka_unit_test(test_record),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
