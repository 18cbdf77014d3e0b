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
 *    --disconnect-old on a file disk has no LUN to remove;
 *  - --disconnect-old from a multipath LUN (a copy of tests/data/sysfs/source
 *    with tests/sh/fake-multipathd.py as multipathd, kernel and udev, in a
 *    private network namespace): after the pivot, exactly "del map mpatha"
 *    and then "1" to each of its four paths' delete; nothing before it;
 *    none when another running guest's persistent definition (its next
 *    start) names the LUN.
 * A real copy and pivot: tests/lab/e2e-driver, e2e-san. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "config.h"
#include "migrate.h"
#include "mpath.h"
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
        const char *mpd_log;  /* the fake multipathd's log, when one runs */
        bool log_empty_at_pivot;
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
        if (flags & VIR_DOMAIN_BLOCK_JOB_ABORT_PIVOT) {
                _cleanup_free_ char *t = NULL;
                seen.log_empty_at_pivot = !seen.mpd_log || read_full_file(seen.mpd_log, 1 << 20, &t) <= 0 || !t[0];
        }
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

/* The guest inst-swap with vdb on PATH: a qcow2 file, or a raw block device. */
static char *swap_guest_xml(bool block, const char *path)
{
        return pathf("<domain type='test'><name>inst-swap</name><uuid>" UUID "</uuid><memory>65536</memory>"
                     "<os><type>hvm</type></os><devices>"
                     "<disk type='%s' device='disk'><driver name='qemu' type='%s'/><source %s='%s'/>"
                     "<target dev='vdb' bus='virtio'/></disk></devices></domain>",
                     block ? "block" : "file", block ? "raw" : "qcow2", block ? "dev" : "file", path);
}

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
        _cleanup_free_ char *xml = swap_guest_xml(false, f->old);
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

/* The fake multipathd (and kernel and udev) on a copy of the source tree
 * below root, as tests/sh/lib.sh starts it. Returns "" or why not. */
static const char *start_fake(struct fixture *f, pid_t *pid)
{
        static const char tree[] = "tests/data/sysfs/source", fake[] = "tests/sh/fake-multipathd.py";
        struct mpath *m;
        if (geteuid() != 0)
                return "not root: no private network namespace for multipathd's abstract socket";
        if (access(tree, R_OK) < 0 || access(fake, R_OK) < 0)
                return "run from the top of the tree (tests/run-suite): the sysfs tree or the fake multipathd is not here";
        if (mpath_open("libmpathcmd.so.0", &m, NULL) < 0)
                return "libmpathcmd.so.0 is not installed (package multipath-tools)";
        mpath_close(m);
        if (unshare(CLONE_NEWNET) < 0)
                return "cannot get a private network namespace for multipathd's abstract socket";
        _cleanup_free_ char *cp = pathf("cp -a %s %s/sys && mkdir -p %s/dev %s/proc/1/fd && ln -s /dev/null %s/proc/1/fd/0", tree,
                                        f->root, f->root, f->root, f->root);
        assert_int_equal(system(cp), 0);
        _cleanup_free_ char *mi = pathf("%s/mountinfo", f->root), *log = pathf("%s/mpd.log", f->root),
                            *dev = pathf("%s/dev", f->root), *sys = pathf("%s/sys", f->root),
                            *ready = pathf("%s/mpd.ready", f->root);
        put(mi, "22 1 8:1 / / rw - ext4 /dev/sda1 rw\n");
        set_field(&f->cfg.sysfs_root, "%s", sys);
        set_field(&f->cfg.dev_root, "%s", dev);
        set_field(&f->cfg.mountinfo, "%s", mi);
        set_field(&f->cfg.proc_root, "%s/proc", f->root);
        f->cfg.fc_disconnect_wait_ms = 5000;
        *pid = fork();
        assert_true(*pid >= 0);
        if (*pid == 0) {
                execlp("python3", "python3", fake, "ok", log, dev, ready, sys, (char *)NULL);
                _exit(127);
        }
        /* it creates READY once it listens (coldplug done) */
        for (int i = 0; i < 1000 && !exists(ready); i++) {
                int st;
                assert_int_equal(waitpid(*pid, &st, WNOHANG), 0);
                usleep(10000);
        }
        assert_true(exists(ready));
        return "";
}

static void stop_fake(pid_t pid)
{
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
}

/* The guest's vdb becomes the multipath map mpatha (4 paths), running. */
static void on_mpatha(struct fixture *f)
{
        virDomainDestroy(f->dom);
        virDomainUndefine(f->dom);
        virDomainFree(f->dom);
        free(f->old);
        f->old = strdup("/dev/mapper/mpatha");
        _cleanup_free_ char *xml = swap_guest_xml(true, f->old);
        assert_non_null(f->dom = virDomainDefineXML(f->c, xml));
        assert_int_equal(virDomainCreate(f->dom), 0);
}

static void test_disconnect_old_lun(void **state)
{
        struct fixture *f = *state;
        pid_t pid;
        SKIP_IF_REASON(start_fake(f, &pid));
        _cleanup_free_ char *log = pathf("%s/mpd.log", f->root), *mapdev = pathf("%s/dev/mapper/mpatha", f->root);
        assert_true(exists(mapdev));
        on_mpatha(f);
        seen.copy_ok = true;
        seen.mpd_log = log;
        int r = swap_to(f, f->newfile, "raw", true);
        stop_fake(pid);
        _cleanup_free_ char *t = NULL;
        assert_true(read_full_file(log, 1 << 20, &t) >= 0);
        print_message("multipathd and the kernel were asked: %s", t ? t : "(nothing)\n");
        assert_int_equal(r, SWAPVOL_OK);
        assert_true(seen.pivoted);
        assert_true(seen.log_empty_at_pivot); /* nothing asked before the pivot */
        /* the map first, then each of its four paths (workers per HBA: any order) */
        char *nl = strchr(t, '\n');
        assert_non_null(nl);
        assert_true(strncmp(t, "del map mpatha\n", 15) == 0);
        const char *paths[] = { "5:0:1:5", "5:0:2:5", "6:0:0:5", "6:0:1:5" };
        for (size_t i = 0; i < 4; i++) {
                _cleanup_free_ char *w = pathf("\nwrite %s delete 1\n", paths[i]);
                assert_non_null(strstr(t, w));
        }
        size_t lines = 0;
        for (const char *c = t; *c; c++)
                lines += *c == '\n';
        assert_int_equal(lines, 5);
        _cleanup_free_ char *sdh = pathf("%s/sys/block/sdh", f->root), *dm8 = pathf("%s/sys/block/dm-8", f->root),
                            *sdc = pathf("%s/sys/block/sdc", f->root);
        assert_false(exists(sdh));
        assert_false(exists(dm8));
        assert_false(exists(mapdev));
        assert_true(exists(sdc)); /* another LUN stays */
}

/* Another guest runs without the LUN, but its persistent definition (its
 * next start) names it: the LUN stays, nothing asked of multipathd. */
static void test_disconnect_old_lun_in_other_definition(void **state)
{
        struct fixture *f = *state;
        pid_t pid;
        SKIP_IF_REASON(start_fake(f, &pid));
        _cleanup_free_ char *log = pathf("%s/mpd.log", f->root), *mapdev = pathf("%s/dev/mapper/mpatha", f->root);
        on_mpatha(f);
        static const char other[] =
                "<domain type='test'><name>other-guest</name><uuid>11111111-2222-4333-8444-555555555555</uuid>"
                "<memory>65536</memory><os><type>hvm</type></os><devices>%s</devices></domain>";
        _cleanup_free_ char *live = pathf(other, ""), *next = pathf(other, "<disk type='block' device='disk'>"
                                                                            "<source dev='/dev/disk/by-id/wwn-0x600601604d903a00e8e4b3c7b6a6e825'/>"
                                                                            "<target dev='vdp' bus='virtio'/></disk>");
        virDomainPtr o = virDomainDefineXML(f->c, live);
        assert_non_null(o);
        assert_int_equal(virDomainCreate(o), 0);
        virDomainFree(o);
        assert_non_null(o = virDomainDefineXML(f->c, next)); /* running: this is its next start's definition */
        _cleanup_free_ char *lx = virDomainGetXMLDesc(o, 0), *ix = virDomainGetXMLDesc(o, VIR_DOMAIN_XML_INACTIVE);
        assert_int_equal(virDomainIsActive(o), 1);
        assert_null(strstr(lx, "wwn-0x6006"));
        assert_non_null(strstr(ix, "wwn-0x6006"));
        seen.copy_ok = true;
        seen.mpd_log = log;
        int r = swap_to(f, f->newfile, "raw", true);
        stop_fake(pid);
        virDomainDestroy(o);
        virDomainUndefine(o);
        virDomainFree(o);
        _cleanup_free_ char *t = NULL;
        int lr = read_full_file(log, 1 << 20, &t); /* nothing asked: no log at all */
        assert_true(lr == -ENOENT || (lr >= 0 && !t[0]));
        assert_true(seen.pivoted);
        assert_int_equal(r, SWAPVOL_REFUSED); /* swapped; the old LUN stays */
        assert_true(exists(mapdev));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_qcow2_onto_block_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(test_saved_before_copy_restored_after, setup, teardown),
                cmocka_unit_test_setup_teardown(test_pivot_redefines_saved, setup, teardown),
                /* last: it moves the process into a new network namespace */
                cmocka_unit_test_setup_teardown(test_disconnect_old_lun, setup, teardown),
                cmocka_unit_test_setup_teardown(test_disconnect_old_lun_in_other_definition, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
