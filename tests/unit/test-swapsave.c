/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* swap-volume's order and refusals against libvirt's test driver (shared
 * state: test:///default). The block copy itself is a seam
 * (-Wl,--wrap=virDomainBlockCopy): the test driver has none, and the seam
 * is the moment to look at what is true when the copy starts. Proves:
 *  - a qcow2 disk onto a block device without --format is refused before
 *    anything happens (no copy, nothing saved, the definition untouched);
 *  - with --format, when the copy starts, the persistent definition is
 *    saved in <state>/swap (naming the old disk) and the domain is not
 *    persistent (a crash now leaves no definition naming the old disk);
 *  - a copy that cannot start defines the saved definition again and
 *    removes the saved files;
 *  - a copy that gets ready and pivots (the job's progress, the pivot and
 *    the running definition after it are seams too) ends with the saved
 *    definition, naming the new path, defined again and nothing saved;
 *    --disconnect-old on a file disk has no LUN to remove.
 * A real copy and pivot: tests/lab/e2e-driver, e2e-san. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "config.h"
#include "migrate.h"
#include "swapvol.h"
#include "testutil.h"
#include "util.h"

#define UUID "8c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f"

struct fixture {
        char root[64];
        char *state, *blk, *old, *newfile;
        struct mk_config cfg;
        virConnectPtr c;
        virDomainPtr dom;
};

/* What the seam saw when the copy started. */
static struct {
        unsigned calls;
        int persistent;
        bool saved_names_old;
        bool meta_names_new;
        char dest_xml[512];
        unsigned flags;
        bool copy_ok;       /* the copy starts, gets ready and pivots */
        bool pivoted;
        const struct fixture *f;
} seen;

int __real_virDomainGetBlockJobInfo(virDomainPtr dom, const char *disk, virDomainBlockJobInfoPtr info, unsigned int flags);
int __wrap_virDomainGetBlockJobInfo(virDomainPtr dom, const char *disk, virDomainBlockJobInfoPtr info, unsigned int flags);
int __wrap_virDomainGetBlockJobInfo(virDomainPtr dom, const char *disk, virDomainBlockJobInfoPtr info, unsigned int flags)
{
        if (!seen.copy_ok)
                return __real_virDomainGetBlockJobInfo(dom, disk, info, flags);
        memset(info, 0, sizeof(*info));
        info->cur = info->end = 1 << 20; /* in sync at once */
        return seen.pivoted ? 0 : 1;
}

int __real_virDomainBlockJobAbort(virDomainPtr dom, const char *disk, unsigned int flags);
int __wrap_virDomainBlockJobAbort(virDomainPtr dom, const char *disk, unsigned int flags);
int __wrap_virDomainBlockJobAbort(virDomainPtr dom, const char *disk, unsigned int flags)
{
        if (!seen.copy_ok)
                return __real_virDomainBlockJobAbort(dom, disk, flags);
        seen.pivoted |= (flags & VIR_DOMAIN_BLOCK_JOB_ABORT_PIVOT) != 0;
        return 0;
}

/* After the pivot the running definition names the new path. */
char *__real_virDomainGetXMLDesc(virDomainPtr dom, unsigned int flags);
char *__wrap_virDomainGetXMLDesc(virDomainPtr dom, unsigned int flags);
char *__wrap_virDomainGetXMLDesc(virDomainPtr dom, unsigned int flags)
{
        char *x = __real_virDomainGetXMLDesc(dom, flags), *at;
        if (!x || !seen.pivoted || (flags & VIR_DOMAIN_XML_INACTIVE) || !(at = strstr(x, seen.f->old)))
                return x;
        char *n = NULL;
        assert_true(asprintf(&n, "%.*s%s%s", (int)(at - x), x, seen.f->newfile, at + strlen(seen.f->old)) > 0);
        free(x);
        return n;
}

int __wrap_virDomainBlockCopy(virDomainPtr dom, const char *disk, const char *destxml, virTypedParameterPtr params,
                              int nparams, unsigned int flags);
int __wrap_virDomainBlockCopy(virDomainPtr dom, const char *disk, const char *destxml, virTypedParameterPtr params,
                              int nparams, unsigned int flags)
{
        (void)disk, (void)params, (void)nparams;
        seen.calls++;
        seen.flags = flags;
        seen.persistent = virDomainIsPersistent(dom);
        snprintf(seen.dest_xml, sizeof(seen.dest_xml), "%s", destxml);
        _cleanup_free_ char *x = pathf("%s/swap/%s.xml", seen.f->state, UUID), *m = pathf("%s/swap/%s.swap", seen.f->state, UUID),
                            *xt = NULL, *mt = NULL;
        seen.saved_names_old = read_full_file(x, 1 << 20, &xt) > 0 && strstr(xt, seen.f->old);
        seen.meta_names_new = read_full_file(m, 1 << 20, &mt) > 0 && strstr(mt, seen.f->blk);
        return seen.copy_ok ? 0 : -1; /* -1: the copy cannot start */
}

static void quiet(void *u, virErrorPtr e) { (void)u; (void)e; }

static int setup(void **state)
{
        struct fixture *f = calloc(1, sizeof(*f));
        if (!f || scratch_dir(f->root, sizeof(f->root), "swapsave") < 0 || config_defaults(&f->cfg) < 0)
                return -1;
        f->state = pathf("%s/state", f->root);
        f->blk = pathf("%s/new-lun", f->root);
        f->old = pathf("%s/old.qcow2", f->root);
        f->newfile = pathf("%s/new.qcow2", f->root);
        set_field(&f->cfg.state_dir, "%s", f->state);
        set_field(&f->cfg.libvirt_uri, "test:///default");
        if (mkdir(f->state, 0700) < 0)
                return -1;
        put(f->old, "QFI\xfb");
        virSetErrorFunc(NULL, quiet);
        f->c = virConnectOpen("test:///default");
        _cleanup_free_ char *xml = pathf(
                "<domain type='test'><name>inst-swap</name><uuid>" UUID "</uuid><memory>65536</memory>"
                "<os><type>hvm</type></os><devices>"
                "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='%s'/>"
                "<target dev='vdb' bus='virtio'/></disk></devices></domain>", f->old);
        if (!f->c || !(f->dom = virDomainDefineXML(f->c, xml)) || virDomainCreate(f->dom) < 0)
                return -1;
        memset(&seen, 0, sizeof(seen));
        seen.f = f;
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;
        virDomainDestroy(f->dom);
        virDomainUndefine(f->dom);
        virDomainFree(f->dom);
        virConnectClose(f->c);
        assert_int_equal(rm_tree(f->root), 0);
        free(f->state);
        free(f->blk);
        free(f->old);
        free(f->newfile);
        config_free(&f->cfg);
        free(f);
        return 0;
}

/* A block device node for NEW-PATH (the loop device numbers; nothing
 * opens it). Returns "" or why it cannot be made. */
static const char *make_block(const struct fixture *f)
{
        if (mknod(f->blk, S_IFBLK | 0600, makedev(7, 0)) < 0)
                return "cannot make a block device node (mknod needs CAP_MKNOD)";
        return "";
}

static int swap_to(const struct fixture *f, const char *to, const char *format, bool disconnect_old)
{
        FILE *out = fopen("/dev/null", "w");
        struct swapvol_opts o = { .domain = "inst-swap", .disk = "vdb", .new_path = to, .output = MIGRATE_OUT_QUIET,
                                  .out = out, .format = format, .disconnect_old = disconnect_old };
        int r = swapvol_run(&f->cfg, &o);
        fclose(out);
        return r;
}

static int swap(const struct fixture *f, const char *format)
{
        return swap_to(f, f->blk, format, false);
}

static bool swap_dir_empty(const struct fixture *f)
{
        _cleanup_free_ char *d = pathf("%s/swap", f->state);
        _cleanup_strv_ char **names = NULL;
        return !exists(d) || (dir_list(d, &names) == 0 && !names);
}

static void test_qcow2_onto_block_refused(void **state)
{
        struct fixture *f = *state;
        SKIP_IF_REASON(make_block(f));
        assert_int_equal(swap(f, NULL), SWAPVOL_REFUSED);
        assert_int_equal(seen.calls, 0);
        assert_true(swap_dir_empty(f));
        assert_int_equal(virDomainIsPersistent(f->dom), 1);
        _cleanup_free_ char *x = virDomainGetXMLDesc(f->dom, VIR_DOMAIN_XML_INACTIVE);
        assert_non_null(strstr(x, f->old));
}

static void test_saved_before_copy_restored_after(void **state)
{
        struct fixture *f = *state;
        SKIP_IF_REASON(make_block(f));
        assert_int_equal(swap(f, "raw"), SWAPVOL_FAILED);
        /* when the copy started */
        assert_int_equal(seen.calls, 1);
        assert_true(seen.saved_names_old);
        assert_true(seen.meta_names_new);
        assert_int_equal(seen.persistent, 0);
        assert_non_null(strstr(seen.dest_xml, "<disk type='block'><driver type='raw'/>"));
        /* after it failed: defined again, unchanged; nothing left saved */
        assert_int_equal(virDomainIsPersistent(f->dom), 1);
        _cleanup_free_ char *x = virDomainGetXMLDesc(f->dom, VIR_DOMAIN_XML_INACTIVE);
        assert_non_null(strstr(x, f->old));
        assert_null(strstr(x, f->blk));
        assert_true(swap_dir_empty(f));
}

static void test_pivot_redefines_saved(void **state)
{
        struct fixture *f = *state;
        seen.copy_ok = true;
        assert_int_equal(swap_to(f, f->newfile, NULL, true), SWAPVOL_OK);
        assert_int_equal(seen.calls, 1);
        assert_true(seen.saved_names_old);
        assert_int_equal(seen.persistent, 0);
        /* undefined for the copy: a plain job, not a transient one */
        assert_int_equal(seen.flags & VIR_DOMAIN_BLOCK_COPY_TRANSIENT_JOB, 0);
        assert_true(seen.pivoted);
        assert_int_equal(virDomainIsPersistent(f->dom), 1);
        _cleanup_free_ char *x = virDomainGetXMLDesc(f->dom, VIR_DOMAIN_XML_INACTIVE);
        assert_non_null(strstr(x, f->newfile));
        assert_null(strstr(x, f->old));
        assert_true(swap_dir_empty(f));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_qcow2_onto_block_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(test_saved_before_copy_restored_after, setup, teardown),
                cmocka_unit_test_setup_teardown(test_pivot_redefines_saved, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
