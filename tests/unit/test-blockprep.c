/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Block migration's preparation of the destination (block_prepare) and its
 * undo (block_prep_undo), against libvirt's test driver (test:///default,
 * one instance for both ends) with the volume streams of fakestream.h:
 * which images are created there (name, capacity, format, backing file), a
 * backing file uploaded only when the destination lacks it (an identical
 * one reused, a different one refused), a destination without room refused
 * before anything is created, a failure half-way removing what was
 * created, and the undo removing exactly what prepare created and nothing
 * that was there before or that a guest there uses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <libvirt/virterror.h>

#include "blockmig.h"
#include "util.h"
#include "virt.h"
#include "testutil.h"
#include "fakestream.h"

#define GiB (1ULL << 30)
#define BASE_BYTES "a backing file's bytes, the _base image of the flavor"

/* The disks' sizes as this host's libvirt reports them: the test driver
 * reports 1 TiB allocated for every disk, more than its pools hold, so the
 * test sets them; a disk not listed goes to the test driver, which does not
 * know it. The guest "bp" names no file: on this one test driver, it would
 * stand for a guest of the destination that uses the images. */
static struct {
        const char *target;
        unsigned long long capacity, allocation;
} sizes[4];

int __real_virDomainGetBlockInfo(virDomainPtr dom, const char *disk, virDomainBlockInfoPtr info, unsigned flags);
int __wrap_virDomainGetBlockInfo(virDomainPtr dom, const char *disk, virDomainBlockInfoPtr info, unsigned flags);
int __wrap_virDomainGetBlockInfo(virDomainPtr dom, const char *disk, virDomainBlockInfoPtr info, unsigned flags)
{
        for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
                if (sizes[i].target && streq(sizes[i].target, disk)) {
                        *info = (virDomainBlockInfo) { .capacity = sizes[i].capacity, .allocation = sizes[i].allocation,
                                                       .physical = sizes[i].allocation };
                        return 0;
                }
        return __real_virDomainGetBlockInfo(dom, disk, info, flags);
}

/* The test driver lacks virStorageVolGetInfoFlags; with the physical size
 * asked for, a raw file's is its allocation, which the test driver has. */
int __wrap_virStorageVolGetInfoFlags(virStorageVolPtr vol, virStorageVolInfoPtr info, unsigned flags);
int __wrap_virStorageVolGetInfoFlags(virStorageVolPtr vol, virStorageVolInfoPtr info, unsigned flags)
{
        assert_int_equal(flags, VIR_STORAGE_VOL_GET_PHYSICAL);
        return virStorageVolGetInfo(vol, info);
}

struct fx {
        char root[64];
        char *gdir, *bdir, *disk, *eph, *base;
        virConnectPtr c;
        virStoragePoolPtr gpool, bpool; /* the destination's pools on the guest's and the _base directory */
        virDomainPtr dom;
        struct block_plan plan;
        char *said;
        size_t said_len;
        FILE *out;
};

static void progress(void *ctx, const char *line)
{
        fprintf(ctx, "%s\n", line);
}

/* block_prepare of f's plan (no guest files here), its lines into f->out */
static int prepare(struct fx *f, struct block_prep *prep, char **err)
{
        return block_prepare(f->c, f->dom, &f->plan, NULL, progress, f->out, prep, err);
}

static const char *said(struct fx *f)
{
        fflush(f->out);
        return f->said ? f->said : "";
}

static void plan_disk(struct fx *f, const char *target, const char *path, const char *format, const char *backing)
{
        f->plan.v = realloc(f->plan.v, (f->plan.n + 1) * sizeof(*f->plan.v));
        assert_non_null(f->plan.v);
        f->plan.v[f->plan.n++] = (struct block_disk) { .target = strdup(target), .path = strdup(path), .format = strdup(format),
                                                        .backing = backing ? strdup(backing) : NULL,
                                                        .backing_format = backing ? strdup("raw") : NULL };
        assert_int_equal(strv_push(&f->plan.copy, target), 0);
        f->plan.incremental |= backing != NULL;
}

static virStoragePoolPtr dest_pool(virConnectPtr c, const char *name, const char *dir)
{
        _cleanup_free_ char *xml = pathf("<pool type='dir'><name>%s</name><target><path>%s</path></target></pool>", name, dir);
        return virStoragePoolCreateXML(c, xml, 0);
}

static int setup(void **state)
{
        struct fx *f = calloc(1, sizeof(*f));
        if (!f || scratch_dir(f->root, sizeof(f->root), "blockprep") < 0)
                return -1;
        f->gdir = pathf("%s/instances/4a6b2c1e", f->root);
        f->bdir = pathf("%s/instances/_base", f->root);
        f->disk = pathf("%s/disk", f->gdir);
        f->eph = pathf("%s/disk.eph0", f->gdir);
        f->base = pathf("%s/0123abcd", f->bdir);
        assert_int_equal(mkdir_p(f->gdir, 0755), 0);
        assert_int_equal(mkdir_p(f->bdir, 0755), 0);
        put(f->base, BASE_BYTES);
        _cleanup_free_ char *xml = pathf(
                "<domain type='test'><name>bp</name><memory unit='MiB'>64</memory><os><type>hvm</type></os></domain>");
        virt_quiet_errors();
        f->c = virConnectOpen("test:///default");
        f->gpool = f->c ? dest_pool(f->c, "guest", f->gdir) : NULL;
        f->bpool = f->c ? dest_pool(f->c, "base", f->bdir) : NULL;
        f->dom = f->c ? virDomainCreateXML(f->c, xml, 0) : NULL;
        f->out = open_memstream(&f->said, &f->said_len);
        memset(&fs, 0, sizeof(fs));
        memset(sizes, 0, sizeof(sizes));
        sizes[0].target = "vda", sizes[0].capacity = 20 * GiB, sizes[0].allocation = 1 * GiB;
        sizes[1].target = "vdb", sizes[1].capacity = 2 * GiB, sizes[1].allocation = 3 * GiB / 2;
        *state = f;
        return f->gpool && f->bpool && f->dom && f->out ? 0 : -1;
}

static int teardown(void **state)
{
        struct fx *f = *state;
        fclose(f->out);
        free(f->said);
        block_plan_free(&f->plan);
        if (f->dom) {
                virDomainDestroy(f->dom);
                virDomainFree(f->dom);
        }
        virStoragePoolDestroy(f->gpool);
        virStoragePoolFree(f->gpool);
        virStoragePoolDestroy(f->bpool);
        virStoragePoolFree(f->bpool);
        virConnectClose(f->c);
        fake_streams_free();
        int r = rm_tree(f->root);
        free(f->gdir);
        free(f->bdir);
        free(f->disk);
        free(f->eph);
        free(f->base);
        free(f);
        return r;
}

/* The destination's volume XML of name in pool, NULL when it has none. */
static char *vol_xml(virStoragePoolPtr pool, const char *name)
{
        virStorageVolPtr v = virStorageVolLookupByName(pool, name);
        virResetLastError();
        if (!v)
                return NULL;
        char *x = virStorageVolGetXMLDesc(v, 0);
        virStorageVolFree(v);
        assert_non_null(x);
        return x;
}

static void assert_contains(const char *hay, const char *needle)
{
        if (!strstr(hay, needle))
                fail_msg("\"%s\" not in:\n%s", needle, hay);
}

/* A volume on the destination that prepare did not create. */
static void dest_volume(virStoragePoolPtr pool, const char *name, unsigned long long bytes)
{
        _cleanup_free_ char *xml = pathf("<volume><name>%s</name><capacity unit='bytes'>%llu</capacity></volume>", name, bytes);
        virStorageVolPtr v = virStorageVolCreateXML(pool, xml, 0);
        assert_non_null(v);
        virStorageVolFree(v);
}

static int pool_volumes(virStoragePoolPtr pool)
{
        return virStoragePoolNumOfVolumes(pool);
}

static void test_creates_images_and_uploads_base(void **state)
{
        struct fx *f = *state;
        struct block_prep prep;
        _cleanup_free_ char *err = NULL;
        size_t len;
        plan_disk(f, "vda", f->disk, "qcow2", f->base);
        plan_disk(f, "vdb", f->eph, "raw", NULL);
        dest_volume(f->gpool, "console.log", 100); /* there before: stays */
        char *const guest_files[] = { f->disk, f->eph, NULL };

        assert_int_equal(block_prepare(f->c, f->dom, &f->plan, guest_files, progress, f->out, &prep, &err), 0);
        assert_null(err);
        /* the base, uploaded and read back, first; then each image */
        assert_int_equal(strv_length(prep.volumes), 3);
        assert_string_equal(prep.volumes[0], f->base);
        assert_string_equal(prep.volumes[1], f->disk);
        assert_string_equal(prep.volumes[2], f->eph);
        assert_int_equal(fs.uploads, 1);
        assert_int_equal(prep.uploaded, strlen(BASE_BYTES));
        assert_memory_equal(dest_bytes("0123abcd", &len), BASE_BYTES, strlen(BASE_BYTES));
        assert_int_equal(len, strlen(BASE_BYTES));
        assert_int_equal(prep.n_reused, 0);
        assert_int_equal(prep.reserved, 1 * GiB + 3 * GiB / 2 + strlen(BASE_BYTES));
        assert_true(strv_contains(prep.guest_files, f->disk));

        _cleanup_free_ char *base = vol_xml(f->bpool, "0123abcd"), *disk = vol_xml(f->gpool, "disk"), *eph = vol_xml(f->gpool, "disk.eph0");
        assert_non_null(base);
        assert_non_null(disk);
        assert_non_null(eph);
        _cleanup_free_ char *cap_disk = pathf("<capacity unit='bytes'>%llu</capacity>", 20 * GiB);
        _cleanup_free_ char *cap_eph = pathf("<capacity unit='bytes'>%llu</capacity>", 2 * GiB);
        _cleanup_free_ char *cap_base = pathf("<capacity unit='bytes'>%zu</capacity>", strlen(BASE_BYTES));
        _cleanup_free_ char *on_base = pathf("<path>%s</path>", f->base);
        assert_contains(disk, cap_disk);
        assert_contains(disk, "<format type='qcow2'/>");
        assert_contains(disk, on_base);
        assert_contains(eph, cap_eph);
        assert_contains(eph, "<format type='raw'/>");
        assert_null(strstr(eph, "<backingStore>"));
        assert_contains(base, cap_base);
        assert_contains(base, "<format type='raw'/>");

        _cleanup_free_ char *l1 = pathf("the destination has room: the copy needs %llu MiB", (1 * GiB + 3 * GiB / 2 + (1 << 20)) >> 20);
        _cleanup_free_ char *l2 = pathf("uploaded the backing file %s to the destination (%zu bytes in ", f->base, strlen(BASE_BYTES));
        _cleanup_free_ char *l3 = pathf("created %s on the destination (qcow2, %llu bytes virtual, on %s)", f->disk, 20 * GiB, f->base);
        _cleanup_free_ char *l4 = pathf("created %s on the destination (raw, %llu bytes virtual)\n", f->eph, 2 * GiB);
        assert_contains(said(f), l1);
        assert_contains(said(f), l2);
        assert_contains(said(f), "read back identical)");
        assert_contains(said(f), l3);
        assert_contains(said(f), l4);

        /* the undo removes the three, not what was there before */
        assert_int_equal(block_prep_undo(f->c, &prep, &err), 0);
        assert_null(err);
        assert_null(prep.volumes);
        assert_int_equal(pool_volumes(f->gpool), 1);
        assert_true(pool_has_volume(f->gpool, "console.log"));
        assert_int_equal(pool_volumes(f->bpool), 0);
        block_prep_free(&prep);
}

/* An identical base there is compared byte for byte and reused: nothing
 * uploaded, and the undo leaves it (prepare did not create it). */
static void test_identical_base_reused(void **state)
{
        struct fx *f = *state;
        struct block_prep prep;
        _cleanup_free_ char *err = NULL;
        plan_disk(f, "vda", f->disk, "qcow2", f->base);
        _cleanup_free_ char *xml = pathf("<volume><name>0123abcd</name><capacity unit='bytes'>%zu</capacity>"
                                         "<allocation unit='bytes'>%zu</allocation></volume>", strlen(BASE_BYTES), strlen(BASE_BYTES));
        virStorageVolPtr v = virStorageVolCreateXML(f->bpool, xml, 0);
        assert_non_null(v);
        int i = vol_slot("0123abcd");
        fs.bytes[i] = strdup(BASE_BYTES);
        fs.len[i] = strlen(BASE_BYTES);
        virStorageVolFree(v);

        assert_int_equal(prepare(f, &prep, &err), 0);
        assert_int_equal(fs.uploads, 0);
        assert_int_equal(prep.n_reused, 1);
        assert_int_equal(prep.uploaded, 0);
        assert_int_equal(prep.reserved, 1 * GiB);
        assert_int_equal(strv_length(prep.volumes), 1);
        assert_string_equal(prep.volumes[0], f->disk);
        _cleanup_free_ char *l = pathf("the destination has the same backing file %s (%zu bytes, compared byte for byte): reused",
                                       f->base, strlen(BASE_BYTES));
        assert_contains(said(f), l);
        assert_null(strstr(said(f), "uploaded"));

        assert_int_equal(block_prep_undo(f->c, &prep, &err), 0);
        assert_false(pool_has_volume(f->gpool, "disk"));
        assert_true(pool_has_volume(f->bpool, "0123abcd"));
        block_prep_free(&prep);

        /* a different one of the same size is refused, and left alone */
        fs.bytes[i][0] ^= 1;
        assert_int_equal(prepare(f, &prep, &err), -EEXIST);
        _cleanup_free_ char *m = pathf("the destination has a different %s: a backing file must be identical", f->base);
        assert_contains(err, m);
        assert_int_equal(fs.uploads, 0);
        assert_true(pool_has_volume(f->bpool, "0123abcd"));
        assert_false(pool_has_volume(f->gpool, "disk"));
        assert_null(prep.volumes);
        block_prep_free(&prep);
}

/* A destination without room is refused with the numbers before anything
 * is created or sent. */
static void test_no_room(void **state)
{
        struct fx *f = *state;
        struct block_prep prep;
        _cleanup_free_ char *err = NULL;
        plan_disk(f, "vda", f->disk, "qcow2", f->base);
        plan_disk(f, "vdb", f->eph, "raw", NULL);
        /* the two directories' pools report the same size and free space:
         * one filesystem of 100 GiB for vda's 1 GiB, vdb's 99 and the base */
        sizes[1].allocation = 99 * GiB;

        assert_int_equal(prepare(f, &prep, &err), -ENOSPC);
        _cleanup_free_ char *m = pathf("the destination has 102400 MiB free for %s but the copy needs 102401 MiB (%llu bytes;",
                                       f->gdir, 100 * GiB + strlen(BASE_BYTES));
        assert_contains(err, m);
        assert_int_equal(fs.uploads, 0);
        assert_int_equal(pool_volumes(f->gpool), 0);
        assert_int_equal(pool_volumes(f->bpool), 0);
        assert_null(prep.volumes);
        assert_null(strstr(said(f), "has room"));
        block_prep_free(&prep);

        /* 1 byte short, then just enough */
        free(err);
        err = NULL;
        sizes[1].allocation = 99 * GiB - strlen(BASE_BYTES) + 1;
        assert_int_equal(prepare(f, &prep, &err), -ENOSPC);
        assert_int_equal(pool_volumes(f->bpool), 0);
        block_prep_free(&prep);
        free(err);
        err = NULL;
        sizes[1].allocation -= 1;
        assert_int_equal(prepare(f, &prep, &err), 0);
        assert_int_equal(prep.reserved, 100 * GiB);
        assert_int_equal(fs.uploads, 1);
        assert_int_equal(block_prep_undo(f->c, &prep, &err), 0);
        block_prep_free(&prep);
}

/* A failure half-way (the second image is there already) removes the base
 * and the first image again, and leaves the one that was there. */
static void test_failure_removes_what_was_created(void **state)
{
        struct fx *f = *state;
        struct block_prep prep;
        _cleanup_free_ char *err = NULL;
        plan_disk(f, "vda", f->disk, "qcow2", f->base);
        plan_disk(f, "vdb", f->eph, "raw", NULL);
        dest_volume(f->gpool, "disk.eph0", 5);

        assert_int_equal(prepare(f, &prep, &err), -EEXIST);
        _cleanup_free_ char *m = pathf("the destination already has %s: left alone", f->eph);
        assert_contains(err, m);
        assert_int_equal(fs.uploads, 1);
        assert_false(pool_has_volume(f->bpool, "0123abcd"));
        assert_false(pool_has_volume(f->gpool, "disk"));
        assert_true(pool_has_volume(f->gpool, "disk.eph0"));
        assert_contains(said(f), "removed from the destination the 2 things created for this copy");
        block_prep_free(&prep);
}

/* Copies that cannot be made: a disk whose size libvirt cannot tell, a
 * backing file missing here, an upload read back different. */
static void test_refusals(void **state)
{
        struct fx *f = *state;
        struct block_prep prep;
        char *err = NULL;
        _cleanup_free_ char *missing = pathf("%s/gone", f->bdir);

        plan_disk(f, "vdc", f->disk, "raw", NULL);
        assert_int_equal(prepare(f, &prep, &err), -EIO);
        _cleanup_free_ char *m1 = pathf("cannot read the size of vdc (%s) here: ", f->disk);
        assert_contains(err, m1);
        block_prep_free(&prep);
        block_plan_free(&f->plan);
        free(err);
        err = NULL;

        plan_disk(f, "vda", f->disk, "qcow2", missing);
        assert_int_equal(prepare(f, &prep, &err), -ENOENT);
        _cleanup_free_ char *m2 = pathf("cannot read %s here: ", missing);
        assert_contains(err, m2);
        assert_int_equal(pool_volumes(f->gpool), 0);
        block_prep_free(&prep);
        block_plan_free(&f->plan);
        free(err);
        err = NULL;

        plan_disk(f, "vda", f->disk, "qcow2", f->base);
        fs.damage = true;
        assert_int_equal(prepare(f, &prep, &err), -EBADMSG);
        _cleanup_free_ char *m3 = pathf("%s on the destination differs from this host's after the copy", f->base);
        assert_contains(err, m3);
        assert_false(pool_has_volume(f->bpool, "0123abcd"));
        assert_false(pool_has_volume(f->gpool, "disk"));
        assert_contains(said(f), "removed from the destination the 1 things created");
        block_prep_free(&prep);
        free(err);
}

/* The undo leaves an image a guest on the destination uses by now, and
 * says so; the rest is removed anyway. */
static void test_undo_leaves_used_image(void **state)
{
        struct fx *f = *state;
        struct block_prep prep;
        _cleanup_free_ char *err = NULL;
        plan_disk(f, "vda", f->disk, "qcow2", f->base);
        plan_disk(f, "vdb", f->eph, "raw", NULL);
        assert_int_equal(prepare(f, &prep, &err), 0);

        _cleanup_free_ char *xml = pathf(
                "<domain type='test'><name>other</name><memory unit='MiB'>64</memory><os><type>hvm</type></os><devices>"
                "<disk type='file' device='disk'><source file='%s'/><target dev='vda'/></disk></devices></domain>", f->eph);
        virDomainPtr other = virDomainCreateXML(f->c, xml, 0);
        assert_non_null(other);
        assert_int_equal(block_prep_undo(f->c, &prep, &err), -EIO);
        _cleanup_free_ char *m = pathf("%s on the destination is used by a guest there now: left", f->eph);
        assert_contains(err, m);
        assert_true(pool_has_volume(f->gpool, "disk.eph0"));
        assert_false(pool_has_volume(f->gpool, "disk"));
        assert_false(pool_has_volume(f->bpool, "0123abcd"));
        virDomainDestroy(other);
        virDomainFree(other);
        block_prep_free(&prep);
}

/* A directory prepare built goes again, but one a pool of the
 * destination's own is on by now is left and named, even the guest's own
 * files in it; the undo goes on with the others. */
static void test_undo_directories(void **state)
{
        struct fx *f = *state;
        _cleanup_free_ char *err = NULL, *fresh = pathf("%s/instances/fresh", f->root), *log = pathf("%s/console.log", fresh),
                            *glog = pathf("%s/console.log", f->gdir);
        struct block_prep prep = { 0 };
        dest_volume(f->gpool, "console.log", 10);
        assert_int_equal(strv_push(&prep.dirs, fresh), 0);
        assert_int_equal(strv_push(&prep.dirs, f->gdir), 0);
        assert_int_equal(strv_push(&prep.guest_files, log), 0);
        assert_int_equal(strv_push(&prep.guest_files, glog), 0);

        assert_int_equal(block_prep_undo(f->c, &prep, &err), -EIO);
        _cleanup_free_ char *m = pathf("%s on the destination holds files migkit did not put there: the directory is left", f->gdir);
        assert_string_equal(err, m);
        assert_null(prep.dirs);
        assert_true(pool_has_volume(f->gpool, "console.log"));
        /* the pool defined to delete fresh is gone again */
        virStoragePoolPtr *pools = NULL;
        int n = virConnectListAllStoragePools(f->c, &pools, 0);
        assert_true(n > 0);
        for (int i = 0; i < n; i++) {
                const char *name = virStoragePoolGetName(pools[i]);
                if (strncmp(name, "migkit", 6) == 0)
                        fail_msg("pool %s left on the destination", name);
                virStoragePoolFree(pools[i]);
        }
        free(pools);
        block_prep_free(&prep);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_creates_images_and_uploads_base, setup, teardown),
                cmocka_unit_test_setup_teardown(test_identical_base_reused, setup, teardown),
                cmocka_unit_test_setup_teardown(test_no_room, setup, teardown),
                cmocka_unit_test_setup_teardown(test_failure_removes_what_was_created, setup, teardown),
                cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
                cmocka_unit_test_setup_teardown(test_undo_leaves_used_image, setup, teardown),
                cmocka_unit_test_setup_teardown(test_undo_directories, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
