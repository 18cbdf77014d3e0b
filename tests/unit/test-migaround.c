/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What `migkit migrate` does around the job, against libvirt's test driver
 * (test:///default, one instance for both ends) with the volume streams of
 * fakestream.h: the guest's local config-drive ISO is copied to the
 * destination before the job, nothing else (not a disk, not a cdrom of
 * another name, not a file on shared storage); after a failed job the copy
 * is removed only while the destination has nothing of the guest; the
 * phrase that says where the guest is after a failure. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <libvirt/virterror.h>

#include "config.h"
#include "migaround.h"
#include "migout.h"
#include "migrate.h"
#include "util.h"
#include "virt.h"
#include "testutil.h"
#include "fakestream.h"

#define UUID "4a6b2c1e-9f3d-4b8a-a1c2-3d4e5f607182"

struct fx {
        char root[64];
        char *gdir, *iso, *other_iso;
        struct mk_config cfg;
        virConnectPtr c;
        virStoragePoolPtr pool; /* the destination's pool on the guest's directory */
        virDomainPtr dom;
        struct migout out;
        char *text;
        size_t len;
};

static int setup(void **state)
{
        struct fx *f = calloc(1, sizeof(*f));
        if (!f || scratch_dir(f->root, sizeof(f->root), "migaround") < 0 || config_defaults(&f->cfg) < 0)
                return -1;
        set_field(&f->cfg.instances_path, "%s/instances", f->root);
        f->gdir = pathf("%s/%s", f->cfg.instances_path, UUID);
        f->iso = pathf("%s/disk.config", f->gdir);
        f->other_iso = pathf("%s/install.iso", f->gdir);
        assert_int_equal(mkdir_p(f->gdir, 0755), 0);
        put(f->iso, "config drive bytes");
        put(f->other_iso, "an installer");
        _cleanup_free_ char *disk = pathf("%s/disk", f->gdir), *log = pathf("%s/console.log", f->gdir);
        put(disk, "root disk");
        _cleanup_free_ char *xml = pathf(
                "<domain type='test'><name>cd</name><uuid>" UUID "</uuid><memory unit='MiB'>64</memory><os><type>hvm</type></os>"
                "<devices>"
                "<disk type='file' device='disk'><source file='%s'/><target dev='vda'/></disk>"
                "<disk type='file' device='cdrom'><source file='%s'/><target dev='hda'/></disk>"
                "<disk type='file' device='cdrom'><source file='%s'/><target dev='hdb'/></disk>"
                "<serial type='file'><source path='%s'/></serial>"
                "</devices></domain>", disk, f->iso, f->other_iso, log);
        virt_quiet_errors();
        f->c = virConnectOpen("test:///default");
        _cleanup_free_ char *pxml = pathf("<pool type='dir'><name>dest</name><target><path>%s</path></target></pool>", f->gdir);
        f->pool = f->c ? virStoragePoolCreateXML(f->c, pxml, 0) : NULL;
        f->dom = f->c ? virDomainCreateXML(f->c, xml, 0) : NULL;
        FILE *o = open_memstream(&f->text, &f->len);
        f->out = (struct migout) { .f = o, .mode = MIGRATE_OUT_LINES, .domain = "cd" };
        memset(&fs, 0, sizeof(fs));
        *state = f;
        return f->pool && f->dom && o ? 0 : -1;
}

static int teardown(void **state)
{
        struct fx *f = *state;
        fclose(f->out.f);
        free(f->text);
        if (f->dom) {
                virDomainDestroy(f->dom);
                virDomainFree(f->dom);
        }
        virStoragePoolDestroy(f->pool);
        virStoragePoolFree(f->pool);
        virConnectClose(f->c);
        config_free(&f->cfg);
        fake_streams_free();
        int r = rm_tree(f->root);
        free(f->gdir);
        free(f->iso);
        free(f->other_iso);
        free(f);
        return r;
}

static void test_only_the_config_drive(void **state)
{
        struct fx *f = *state;
        struct mig_uploads ups = { 0 };
        size_t len;
        assert_int_equal(mig_upload_config_drives(&f->cfg, f->dom, f->c, &f->out, &ups), 0);
        assert_int_equal(ups.n, 1);
        assert_string_equal(ups.v[0].path, f->iso);
        /* the guest's other files there are recorded for the undo */
        assert_true(strv_contains(ups.v[0].guest_files, "console.log"));
        assert_true(strv_contains(ups.v[0].guest_files, "disk"));
        assert_true(pool_has_volume(f->pool, "disk.config"));
        assert_false(pool_has_volume(f->pool, "install.iso"));
        assert_false(pool_has_volume(f->pool, "disk"));
        assert_memory_equal(dest_bytes("disk.config", &len), "config drive bytes", 18);
        assert_int_equal(fs.uploads, 1);
        fflush(f->out.f);
        assert_non_null(strstr(f->text, "cd: copied the config drive "));
        assert_non_null(strstr(f->text, "(18 bytes, read back identical)"));

        /* a second run finds it there */
        struct mig_uploads again = { 0 };
        assert_int_equal(mig_upload_config_drives(&f->cfg, f->dom, f->c, &f->out, &again), 0);
        assert_int_equal(again.n, 0);
        assert_int_equal(fs.uploads, 1);
        fflush(f->out.f);
        assert_non_null(strstr(f->text, "the destination already has the same "));
        mig_uploads_free(&ups);
}

/* On shared storage the destination sees the file already: no copy. (No
 * file system counts as local here: the allow-list names none there is.) */
static void test_shared_not_copied(void **state)
{
        struct fx *f = *state;
        struct mig_uploads ups = { 0 };
        strv_free(f->cfg.local_fs_types);
        f->cfg.local_fs_types = calloc(2, sizeof(char *));
        assert_non_null(f->cfg.local_fs_types);
        f->cfg.local_fs_types[0] = strdup("no-such-fs");
        assert_int_equal(mig_upload_config_drives(&f->cfg, f->dom, f->c, &f->out, &ups), 0);
        assert_int_equal(ups.n, 0);
        assert_int_equal(fs.uploads, 0);
        assert_false(pool_has_volume(f->pool, "disk.config"));
}

/* After a failed job: the copy stays while the destination has the
 * guest, and goes once it has nothing of it. */
static void test_undo_after_failure(void **state)
{
        struct fx *f = *state;
        struct mig_uploads ups = { 0 };
        assert_int_equal(mig_upload_config_drives(&f->cfg, f->dom, f->c, &f->out, &ups), 0);
        assert_int_equal(ups.n, 1);

        mig_undo_uploads(f->c, UUID, &ups, &f->out);
        assert_true(pool_has_volume(f->pool, "disk.config"));
        fflush(f->out.f);
        assert_non_null(strstr(f->text, "it has the guest"));
        _cleanup_free_ char *where = mig_where_after_failure(f->c, f->c, UUID);
        assert_string_equal(where, "the guest is still running on the source; the destination HAS a running copy");

        assert_int_equal(virDomainDestroy(f->dom), 0); /* transient: gone */
        virDomainFree(f->dom);
        f->dom = NULL;
        mig_undo_uploads(f->c, UUID, &ups, &f->out);
        assert_false(pool_has_volume(f->pool, "disk.config"));
        fflush(f->out.f);
        assert_non_null(strstr(f->text, "removed the copied "));
        free(where);
        where = mig_where_after_failure(f->c, NULL, UUID);
        assert_string_equal(where, "the source no longer knows the guest; the destination could not be asked");
        mig_uploads_free(&ups);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_only_the_config_drive, setup, teardown),
                cmocka_unit_test_setup_teardown(test_shared_not_copied, setup, teardown),
                cmocka_unit_test_setup_teardown(test_undo_after_failure, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
