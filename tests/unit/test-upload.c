/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The config-drive upload against libvirt's test driver (storage pools in
 * memory): it reads only a regular file directly in <instances>/<uuid>/,
 * never through a symlink; names with XML's special characters end up as
 * the volume's name, not as XML; the undo removes only the volume it
 * uploaded (while it still holds the same bytes) and the guest's own files
 * in a directory built for it, nothing else. The whole round trip is
 * tests/lab/e2e-driver's (case 7). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <libvirt/virterror.h>

#include "upload.h"
#include "util.h"
#include "testutil.h"

#define UUID "4a6b2c1e-9f3d-4b8a-a1c2-3d4e5f607182"

static void quiet(void *userdata, virErrorPtr e)
{
        (void)userdata;
        (void)e;
}

struct fx {
        char root[64];
        char *inst, *gdir;
        virConnectPtr c;
};

static int setup(void **state)
{
        struct fx *f = calloc(1, sizeof(*f));
        if (!f || scratch_dir(f->root, sizeof(f->root), "upload") < 0)
                return -1;
        f->inst = pathf("%s/instances", f->root);
        f->gdir = pathf("%s/%s", f->inst, UUID);
        if (mkdir(f->inst, 0755) < 0 || mkdir(f->gdir, 0755) < 0)
                return -1;
        virSetErrorFunc(NULL, quiet);
        f->c = virConnectOpen("test:///default");
        *state = f;
        return f->c ? 0 : -1;
}

static int teardown(void **state)
{
        struct fx *f = *state;
        virConnectClose(f->c);
        int r = rm_tree(f->root);
        free(f->inst);
        free(f->gdir);
        free(f);
        return r;
}

static void test_confined(void **state)
{
        struct fx *f = *state;
        struct upload u;
        _cleanup_free_ char *err = NULL, *outside = pathf("%s/secret", f->root), *link = pathf("%s/disk.config", f->gdir);
        _cleanup_free_ char *sub = pathf("%s/sub", f->gdir), *deeper = pathf("%s/sub/disk.config", f->gdir);
        put(outside, "secret\n");

        /* outside the guest's directory, or escaping it: nothing is read */
        assert_int_equal(upload_file(f->c, f->inst, UUID, outside, NULL, &u, &err), -EPERM);
        assert_non_null(strstr(err, "is not a file directly in the guest's directory"));
        free(err);
        _cleanup_free_ char *dots = pathf("%s/../secret", f->gdir);
        assert_int_equal(upload_file(f->c, f->inst, UUID, dots, NULL, &u, &err), -EPERM);
        free(err);
        assert_int_equal(mkdir(sub, 0755), 0);
        put(deeper, "x");
        assert_int_equal(upload_file(f->c, f->inst, UUID, deeper, NULL, &u, &err), -EPERM);
        free(err);
        assert_int_equal(upload_file(f->c, f->inst, "../x", link, NULL, &u, &err), -EPERM);
        free(err);
        /* a symlink where the config drive should be: never followed */
        assert_int_equal(symlink(outside, link), 0);
        assert_int_equal(upload_file(f->c, f->inst, UUID, link, NULL, &u, &err), -ELOOP);
        assert_non_null(strstr(err, "a symlink on the way (never followed)"));
        free(err);
        err = NULL;
        /* the guest's directory itself a symlink */
        _cleanup_free_ char *moved = pathf("%s/moved", f->root), *ml = pathf("%s/%s/disk.config", f->inst, UUID);
        assert_int_equal(unlink(link), 0);
        put(link, "iso");
        assert_int_equal(rename(f->gdir, moved), 0);
        assert_int_equal(symlink(moved, f->gdir), 0);
        assert_int_equal(upload_file(f->c, f->inst, UUID, ml, NULL, &u, &err), -ELOOP);
}

/* An XML-special name goes into the volume XML escaped: the volume is
 * named exactly so (libvirt's test driver parses the XML; it cannot
 * receive the bytes, which the lab does). */
static void test_escaped(void **state)
{
        struct fx *f = *state;
        struct upload u;
        _cleanup_free_ char *err = NULL, *name = pathf("%s/a<b>&'c\".config", f->gdir);
        put(name, "iso");
        int r = upload_file(f->c, f->inst, UUID, name, NULL, &u, &err);
        /* created, then refused by the test driver's missing upload */
        assert_int_equal(r, -EIO);
        assert_non_null(strstr(err, "cannot send"));
        assert_null(strstr(err, "XML"));
}

/* The undo deletes a volume only while it is provably the one uploaded:
 * the destination's pool on the guest's directory (already there, so the
 * undo uses it) holds disk.config, which the test driver cannot read back,
 * and another file: both stay. */
static void test_undo_only_its_own(void **state)
{
        struct fx *f = *state;
        _cleanup_free_ char *pxml = pathf("<pool type='dir'><name>dest</name><target><path>%s</path></target></pool>", f->gdir);
        _cleanup_free_ char *path = pathf("%s/disk.config", f->gdir), *err = NULL;
        put(path, "iso");
        virStoragePoolPtr pool = virStoragePoolCreateXML(f->c, pxml, 0);
        assert_non_null(pool);
        virStorageVolPtr v1 = virStorageVolCreateXML(pool, "<volume><name>disk.config</name><capacity>3</capacity></volume>", 0);
        virStorageVolPtr v2 = virStorageVolCreateXML(pool, "<volume><name>someone-elses</name><capacity>3</capacity></volume>", 0);
        assert_non_null(v1);
        assert_non_null(v2);
        char *files[] = { (char *)"console.log", NULL };
        struct upload u = { .path = path, .size = 3, .created_dir = true, .guest_files = files };
        assert_int_equal(upload_undo(f->c, &u, &err), -EIO);
        assert_non_null(strstr(err, "changed since it was copied: left alone"));
        virStorageVolFree(v1);
        virStorageVolFree(v2);
        v1 = virStorageVolLookupByName(pool, "disk.config");
        v2 = virStorageVolLookupByName(pool, "someone-elses");
        assert_non_null(v1);
        assert_non_null(v2);
        virStorageVolFree(v1);
        virStorageVolFree(v2);
        virStoragePoolDestroy(pool);
        virStoragePoolFree(pool);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_confined, setup, teardown),
                cmocka_unit_test_setup_teardown(test_escaped, setup, teardown),
                cmocka_unit_test_setup_teardown(test_undo_only_its_own, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
