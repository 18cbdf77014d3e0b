/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The config-drive upload's copy, read-back and undo against libvirt's test
 * driver, whose volumes hold no bytes: the stream calls are the fake of
 * fakestream.h, which can damage a copy on the way. What matters: a copy counts only once the bytes read
 * back are the local file's (a damaged one is removed again); a file
 * already there is never overwritten (identical: nothing done; different:
 * left alone); the undo removes the volume only while it holds the bytes
 * that were sent. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <libvirt/virterror.h>

#include "upload.h"
#include "util.h"
#include "virt.h"
#include "testutil.h"
#include "fakestream.h"

#define UUID "4a6b2c1e-9f3d-4b8a-a1c2-3d4e5f607182"
#define SIZE (600 * 1024 + 17) /* more than two of the upload's chunks */

/* ------------------------------------------------------------ fixture */

struct fx {
        char root[64];
        char *inst, *gdir, *iso, *log;
        char data[SIZE];
        virConnectPtr c;
        virStoragePoolPtr pool; /* the destination's pool on the guest's directory: its volumes outlive each call */
};

static int setup(void **state)
{
        struct fx *f = calloc(1, sizeof(*f));
        if (!f || scratch_dir(f->root, sizeof(f->root), "upload-bytes") < 0)
                return -1;
        f->inst = pathf("%s/instances", f->root);
        f->gdir = pathf("%s/%s", f->inst, UUID);
        f->iso = pathf("%s/disk.config", f->gdir);
        f->log = pathf("%s/console.log", f->gdir);
        if (mkdir(f->inst, 0755) < 0 || mkdir(f->gdir, 0755) < 0)
                return -1;
        for (size_t i = 0; i < SIZE; i++)
                f->data[i] = (char)('a' + i % 23);
        int fd = open(f->iso, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0 || write_all(fd, f->data, SIZE) < 0)
                return -1;
        close(fd);
        virt_quiet_errors();
        f->c = virConnectOpen("test:///default");
        _cleanup_free_ char *pxml = pathf("<pool type='dir'><name>dest</name><target><path>%s</path></target></pool>", f->gdir);
        f->pool = f->c ? virStoragePoolCreateXML(f->c, pxml, 0) : NULL;
        memset(&fs, 0, sizeof(fs));
        *state = f;
        return f->pool ? 0 : -1;
}

static int teardown(void **state)
{
        struct fx *f = *state;
        virStoragePoolDestroy(f->pool);
        virStoragePoolFree(f->pool);
        virConnectClose(f->c);
        fake_streams_free();
        int r = rm_tree(f->root);
        free(f->inst);
        free(f->gdir);
        free(f->iso);
        free(f->log);
        free(f);
        return r;
}

/* ------------------------------------------------------------ tests */

static void test_copied_and_verified(void **state)
{
        struct fx *f = *state;
        struct upload u;
        _cleanup_free_ char *err = NULL, *other = pathf("%s/elsewhere/x.log", f->root);
        char *files[] = { f->iso, f->log, other, f->log, NULL };
        size_t len;

        assert_int_equal(upload_file(f->c, f->inst, UUID, f->iso, files, &u, &err), 1);
        assert_null(err);
        assert_string_equal(u.path, f->iso);
        assert_int_equal(u.size, SIZE);
        assert_false(u.created_dir);
        /* the guest's other files in that directory, once each; not the ISO,
         * nothing outside it */
        assert_non_null(u.guest_files);
        assert_string_equal(u.guest_files[0], "console.log");
        assert_null(u.guest_files[1]);
        assert_true(pool_has_volume(f->pool, "disk.config"));
        const char *b = dest_bytes("disk.config", &len);
        assert_int_equal(len, SIZE);
        assert_memory_equal(b, f->data, SIZE);

        /* again: identical already, nothing sent */
        struct upload u2;
        assert_int_equal(upload_file(f->c, f->inst, UUID, f->iso, files, &u2, &err), 0);
        assert_int_equal(fs.uploads, 1);

        /* the undo removes what it sent */
        assert_int_equal(upload_undo(f->c, &u, &err), 0);
        assert_null(err);
        assert_false(pool_has_volume(f->pool, "disk.config"));
        /* and, gone already, is no error */
        assert_int_equal(upload_undo(f->c, &u, &err), 0);
        upload_free(&u);
}

static void test_different_file_left_alone(void **state)
{
        struct fx *f = *state;
        struct upload u;
        _cleanup_free_ char *err = NULL;
        size_t len;

        assert_int_equal(upload_file(f->c, f->inst, UUID, f->iso, NULL, &u, &err), 1);
        upload_free(&u);
        /* the local file changes (same size): the destination's is not replaced */
        f->data[100] ^= 0x20;
        int fd = open(f->iso, O_WRONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(pwrite(fd, f->data + 100, 1, 100), 1);
        close(fd);
        assert_int_equal(upload_file(f->c, f->inst, UUID, f->iso, NULL, &u, &err), -EEXIST);
        assert_non_null(strstr(err, "the destination already has a different"));
        assert_non_null(strstr(err, "left alone"));
        assert_int_equal(fs.uploads, 1);
        const char *b = dest_bytes("disk.config", &len);
        assert_int_equal(len, SIZE);
        assert_int_equal(b[100], (char)(f->data[100] ^ 0x20));
}

static void test_damaged_copy_removed(void **state)
{
        struct fx *f = *state;
        struct upload u;
        _cleanup_free_ char *err = NULL;

        fs.damage = true;
        assert_int_equal(upload_file(f->c, f->inst, UUID, f->iso, NULL, &u, &err), -EBADMSG);
        assert_non_null(strstr(err, "differs from this host's after the copy; removed it again"));
        assert_null(u.path);
        assert_false(pool_has_volume(f->pool, "disk.config"));
}

static void test_undo_spares_changed_copy(void **state)
{
        struct fx *f = *state;
        struct upload u;
        _cleanup_free_ char *err = NULL;
        size_t len;

        assert_int_equal(upload_file(f->c, f->inst, UUID, f->iso, NULL, &u, &err), 1);
        /* someone wrote to the copy on the destination meanwhile */
        char *b = (char *)dest_bytes("disk.config", &len);
        b[SIZE - 1] ^= 1;
        assert_int_equal(upload_undo(f->c, &u, &err), -EIO);
        assert_non_null(strstr(err, "changed since it was copied: left alone"));
        assert_true(pool_has_volume(f->pool, "disk.config"));
        upload_free(&u);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_copied_and_verified, setup, teardown),
                cmocka_unit_test_setup_teardown(test_different_file_left_alone, setup, teardown),
                cmocka_unit_test_setup_teardown(test_damaged_copy_removed, setup, teardown),
                cmocka_unit_test_setup_teardown(test_undo_spares_changed_copy, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
