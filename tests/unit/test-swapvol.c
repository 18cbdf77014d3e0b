/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* swapvol_run() against libvirt's test driver (test:///default: the
 * running, persistent guest "test" with disk vda on /guest/diskimage1). The
 * test driver has no block jobs, so they are a fake (-Wl,--wrap): the copy
 * creates the new file as libvirt would, its progress is a script, the
 * pivot makes the running definition name the new path. What matters: a
 * refusal starts no copy; after the pivot the persistent definition names
 * the new path; a failed or cancelled copy leaves the guest on its old disk
 * and removes only a file the copy created, never one that was there. The
 * abort request is never reset: last test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <libvirt/virterror.h>

#include "config.h"
#include "migrate.h"
#include "swapvol.h"
#include "util.h"
#include "virt.h"
#include "testutil.h"

#define OLD_PATH "/guest/diskimage1"

/* ------------------------------------------------------------ the fake block job */

static struct {
        const char *new_path;      /* created by the copy when missing */
        unsigned copies, polls, cancels, pivots;
        unsigned long flags;
        char *dest_xml;
        unsigned steps;            /* polls until the mirror is ready */
        bool end_early;            /* the job vanishes before it is ready */
        bool pivot_fails;
        unsigned abort_at;         /* ask to abort at that poll (0: never) */
        bool job, pivoted;
} fb;

int __wrap_virDomainBlockCopy(virDomainPtr, const char *, const char *, virTypedParameterPtr, int, unsigned);
int __wrap_virDomainGetBlockJobInfo(virDomainPtr, const char *, virDomainBlockJobInfoPtr, unsigned);
int __real_virDomainBlockJobAbort(virDomainPtr, const char *, unsigned);
int __wrap_virDomainBlockJobAbort(virDomainPtr, const char *, unsigned);
char *__real_virDomainGetXMLDesc(virDomainPtr, unsigned);
char *__wrap_virDomainGetXMLDesc(virDomainPtr, unsigned);

int __wrap_virDomainBlockCopy(virDomainPtr d, const char *disk, const char *xml, virTypedParameterPtr p, int np, unsigned flags)
{
        fb.copies++;
        fb.flags = flags;
        free(fb.dest_xml);
        fb.dest_xml = strdup(xml);
        if (!exists(fb.new_path))
                put(fb.new_path, "");
        fb.job = true;
        return 0;
}

int __wrap_virDomainGetBlockJobInfo(virDomainPtr d, const char *disk, virDomainBlockJobInfoPtr info, unsigned flags)
{
        fb.polls++;
        if (fb.abort_at && fb.polls == fb.abort_at)
                migrate_request_abort();
        if (!fb.job || (fb.end_early && fb.polls == 2)) {
                fb.job = false;
                return 0;
        }
        *info = (virDomainBlockJobInfo) { .type = VIR_DOMAIN_BLOCK_JOB_TYPE_COPY, .end = 1000,
                                          .cur = fb.polls >= fb.steps ? 1000 : 1000 * fb.polls / fb.steps };
        return 1;
}

int __wrap_virDomainBlockJobAbort(virDomainPtr d, const char *disk, unsigned flags)
{
        if (flags & VIR_DOMAIN_BLOCK_JOB_ABORT_PIVOT) {
                if (fb.pivot_fails)
                        return __real_virDomainBlockJobAbort(NULL, disk, 0); /* a real libvirt error */
                fb.pivots++;
                fb.pivoted = true;
        } else
                fb.cancels++;
        fb.job = false;
        return 0;
}

/* The running definition: the new path once pivoted. */
char *__wrap_virDomainGetXMLDesc(virDomainPtr d, unsigned flags)
{
        char *x = __real_virDomainGetXMLDesc(d, flags), *at;
        if (!x || (flags & VIR_DOMAIN_XML_INACTIVE) || !fb.pivoted || !(at = strstr(x, OLD_PATH)))
                return x;
        char *y = pathf("%.*s%s%s", (int)(at - x), x, fb.new_path, at + strlen(OLD_PATH));
        free(x);
        return y;
}

/* ------------------------------------------------------------ fixture */

struct fx {
        char root[64];
        char *new_path;
        struct mk_config cfg;
        struct swapvol_opts o;
        virConnectPtr c; /* keeps test:///default's state for the checks after each run */
        char *out;
        size_t outlen;
};

static int setup(void **state)
{
        struct fx *f = calloc(1, sizeof(*f));
        if (!f || scratch_dir(f->root, sizeof(f->root), "swapvol") < 0 || config_defaults(&f->cfg) < 0)
                return -1;
        f->new_path = pathf("%s/new.img", f->root);
        set_field(&f->cfg.libvirt_uri, "test:///default");
        set_field(&f->cfg.state_dir, "%s", f->root);
        f->o = (struct swapvol_opts) { .domain = "test", .disk = "vda", .new_path = f->new_path, .output = MIGRATE_OUT_JSON };
        free(fb.dest_xml);
        memset(&fb, 0, sizeof(fb));
        fb.new_path = f->new_path;
        fb.steps = 3;
        virt_quiet_errors();
        f->c = virConnectOpen("test:///default");
        *state = f;
        return f->c ? 0 : -1;
}

static int teardown(void **state)
{
        struct fx *f = *state;
        virConnectClose(f->c);
        config_free(&f->cfg);
        free(f->out);
        int r = rm_tree(f->root);
        free(f->new_path);
        free(f);
        return r;
}

static int run(struct fx *f)
{
        free(f->out); /* the last run's */
        f->out = NULL;
        FILE *out = open_memstream(&f->out, &f->outlen);
        assert_non_null(out);
        f->o.out = out;
        int r = swapvol_run(&f->cfg, &f->o);
        fclose(out);
        return r;
}

/* The persistent definition's source of vda. */
static bool persistent_names(struct fx *f, const char *path)
{
        virDomainPtr d = virDomainLookupByName(f->c, "test");
        assert_non_null(d);
        char *x = virDomainGetXMLDesc(d, VIR_DOMAIN_XML_INACTIVE);
        virDomainFree(d);
        assert_non_null(x);
        _cleanup_free_ char *want = pathf("file='%s'", path);
        bool r = strstr(x, want) != NULL;
        free(x);
        return r;
}

/* ------------------------------------------------------------ tests */

static void test_refusals_copy_nothing(void **state)
{
        struct fx *f = *state;
        f->o.new_path = "relative.img";
        assert_int_equal(run(f), SWAPVOL_REFUSED);
        f->o.new_path = f->new_path;
        f->o.domain = "no-such-guest";
        assert_int_equal(run(f), SWAPVOL_REFUSED);
        f->o.domain = "test";
        f->o.disk = "vdz";
        assert_int_equal(run(f), SWAPVOL_REFUSED);
        f->o.disk = "vda";
        f->o.source_uri = "test:///nonexistent/node.xml";
        assert_int_equal(run(f), SWAPVOL_REFUSED);
        assert_int_equal(fb.copies, 0);
        assert_false(exists(f->new_path));
        assert_true(persistent_names(f, OLD_PATH));
}

static void test_swapped_and_persisted(void **state)
{
        struct fx *f = *state;
        f->o.bandwidth = 50;
        assert_int_equal(run(f), SWAPVOL_OK);
        assert_int_equal(fb.copies, 1);
        assert_int_equal(fb.pivots, 1);
        assert_int_equal(fb.cancels, 0);
        /* a new file: libvirt creates it (no REUSE_EXT), as a file */
        assert_false(fb.flags & VIR_DOMAIN_BLOCK_COPY_REUSE_EXT);
        /* the domain was undefined for the copy (its definition saved): a plain job */
        assert_false(fb.flags & VIR_DOMAIN_BLOCK_COPY_TRANSIENT_JOB);
        _cleanup_free_ char *src = pathf("<source file='%s'/>", f->new_path);
        assert_non_null(strstr(fb.dest_xml, src));
        assert_true(persistent_names(f, f->new_path));
        assert_false(persistent_names(f, OLD_PATH));
        assert_non_null(strstr(f->out, "\"event\":\"start\""));
        assert_non_null(strstr(f->out, "\"event\":\"copy\""));
        assert_non_null(strstr(f->out, "\"event\":\"pivot\""));
        assert_true(exists(f->new_path));
}

/* An existing target is reused, and never removed when the copy fails. */
static void test_failed_copy_keeps_existing_file(void **state)
{
        struct fx *f = *state;
        put(f->new_path, "precreated volume");
        fb.end_early = true;
        f->o.output = MIGRATE_OUT_LINES;
        assert_int_equal(run(f), SWAPVOL_FAILED);
        assert_true(fb.flags & VIR_DOMAIN_BLOCK_COPY_REUSE_EXT);
        assert_int_equal(fb.pivots, 0);
        assert_true(exists(f->new_path));
        assert_true(persistent_names(f, OLD_PATH));
        assert_non_null(strstr(f->out, "test: copying disk vda to"));
}

/* A failed pivot cancels the copy and removes the file it created. */
static void test_failed_pivot_removes_new_file(void **state)
{
        struct fx *f = *state;
        fb.pivot_fails = true;
        assert_int_equal(run(f), SWAPVOL_FAILED);
        assert_int_equal(fb.cancels, 1);
        assert_false(exists(f->new_path));
        assert_true(persistent_names(f, OLD_PATH));
}

/* Last: the abort request stays set. */
static void test_abort_cancels(void **state)
{
        struct fx *f = *state;
        fb.steps = 100;
        fb.abort_at = 2;
        assert_int_equal(run(f), SWAPVOL_ABORTED);
        assert_int_equal(fb.cancels, 1);
        assert_int_equal(fb.pivots, 0);
        assert_false(exists(f->new_path));
        assert_true(persistent_names(f, OLD_PATH));
        free(fb.dest_xml);
        fb.dest_xml = NULL;
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_refusals_copy_nothing, setup, teardown),
                cmocka_unit_test_setup_teardown(test_swapped_and_persisted, setup, teardown),
                cmocka_unit_test_setup_teardown(test_failed_copy_keeps_existing_file, setup, teardown),
                cmocka_unit_test_setup_teardown(test_failed_pivot_removes_new_file, setup, teardown),
                cmocka_unit_test_setup_teardown(test_abort_cancels, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
