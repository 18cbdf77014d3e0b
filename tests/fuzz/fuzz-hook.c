/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: the hook's input handling end to end, as libvirt drives
 * it: argv (domain, op, subop, extra) and the domain XML on stdin, through
 * the very functions of hooks/qemu.c (included below: its handler table,
 * read_domain(), op_migrate_begin() with the XML rewrite in lib/dest.c and
 * lib/domxml.c, op_prepare_begin(), op_started_begin()).
 *
 * Side effects are confined the way `migkit-hook --dry-run` confines them:
 * the context carries a report stream, so nothing is created (no bridge, no
 * directory, no journal, no proof, no FC scan write, no multipathd). On top,
 * every host path of the configuration points into FUZZ_ROOT or at the
 * committed fake sysfs tree, and the process moves to a network namespace
 * of its own when it can (so even the bridge look-ups see an empty host).
 *
 * Input: four NUL-terminated argv fields, then the domain XML:
 *   "instance-1\0migrate\0begin\0-\0<domain>...</domain>"
 * tests/fuzz/make-seeds builds such seeds from tests/data/xml.
 *
 * Extra oracle: when the hook accepts a domain and rewrites it, the
 * rewritten XML must be accepted again, name the same domain and UUID, and
 * a second pass must not change it further (the hook's output is the next
 * hook's input, doc/design.md). A violation aborts. */
#include <sched.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>

/* hooks/qemu.c has a main(); the fuzzer brings its own. */
int migkit_hook_main(int argc, char **argv);
#define main migkit_hook_main
#include "../hooks/qemu.c"
#undef main

#include "fuzz-common.h"

#ifndef FUZZ_ROOT
#define FUZZ_ROOT "/tmp/migkit-fuzz-root"
#endif

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct mk_config cfg;
static FILE *report;
static int stdin_fd = -1;

/* The UUIDs of tests/data/xml whose instance directory "exists" here, so
 * both the create and the already-there paths are reached. */
static const char *const present[] = {
        "5f2c8a1d-3e6b-4d90-9c47-b1a0e5d7f382",
        "8e4b2d90-1c6a-4f37-9d58-3a0e7b6c2f11",
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
        _cleanup_free_ char *conf = NULL, *sysfs = NULL, *mountinfo = NULL, *text = NULL, *err = NULL;
        (void)argc;
        (void)argv;

        /* Bridges are only looked up (dry run), but look them up in an empty
         * network namespace when we may: nothing of the host's is seen. */
        if (geteuid() == 0)
                (void)unshare(CLONE_NEWNET);

        fuzz_mkdir_p(FUZZ_ROOT "/instances");
        fuzz_mkdir_p(FUZZ_ROOT "/dev/disk/by-path");
        fuzz_mkdir_p(FUZZ_ROOT "/dev/disk/by-id");
        fuzz_mkdir_p(FUZZ_ROOT "/dev/mapper");
        fuzz_mkdir_p(FUZZ_ROOT "/run");
        fuzz_mkdir_p(FUZZ_ROOT "/state");
        for (size_t i = 0; i < ARRAY_SIZE(present); i++) {
                _cleanup_free_ char *d = NULL;
                if (asprintf(&d, FUZZ_ROOT "/instances/%s", present[i]) < 0)
                        abort();
                fuzz_mkdir_p(d);
        }

        /* The committed fake FC hosts (read only: a dry run writes nothing). */
        sysfs = fuzz_data_path("MIGKIT_FUZZ_SYSFS", "tests/data/sysfs/two-hbas");
        mountinfo = fuzz_data_path("MIGKIT_FUZZ_MOUNTINFO", "tests/data/mountinfo/local.txt");
        if (asprintf(&text,
                     "[paths]\ninstances = " FUZZ_ROOT "/instances\nstate = " FUZZ_ROOT "/state\n"
                     "sysfs = %s\ndev = " FUZZ_ROOT "/dev\nmountinfo = %s\nrun = " FUZZ_ROOT "/run\n"
                     "hooks = " FUZZ_ROOT "/hooks\nproc = " FUZZ_ROOT "/proc\n"
                     "[cleanup]\nprogram = " FUZZ_ROOT "/no-cleanup\nlauncher = direct\n"
                     "[fc]\nlibmpathcmd = " FUZZ_ROOT "/no-libmpathcmd.so\n",
                     sysfs, mountinfo) < 0)
                abort();
        conf = fuzz_write_file(FUZZ_ROOT "/migkit.conf", text);
        if (config_load(&cfg, conf, &err) < 0) {
                fprintf(stderr, "fuzz-hook: %s\n", err ? err : "cannot load the fuzzing configuration");
                abort();
        }

        report = fopen("/dev/null", "w");
        stdin_fd = memfd_create("fuzz-hook-stdin", MFD_CLOEXEC);
        if (!report || stdin_fd < 0 || dup2(stdin_fd, STDIN_FILENO) < 0)
                abort();
        log_open("migkit-hook", 0, false);
        return 0;
}

/* Feeds data to the hook's stdin (a memfd: read_full_fd reads to EOF). */
static void set_stdin(const uint8_t *data, size_t size)
{
        if (ftruncate(stdin_fd, 0) < 0 || (size && pwrite(stdin_fd, data, size, 0) != (ssize_t)size) ||
            lseek(stdin_fd, 0, SEEK_SET) != 0)
                abort();
}

/* The hook's output, fed to the hook again: accepted, same domain, and a
 * fixed point of the rewrite. */
static void check_rewrite(const struct hook_ctx *c)
{
        _cleanup_free_ char *out = NULL, *again = NULL, *err = NULL;
        _cleanup_domxml_ struct domxml *d2 = NULL;
        size_t len, len2;

        if (domxml_format(c->dom, &out, &len) < 0)
                return; /* ENOMEM */
        if (domxml_parse(out, len, &d2, &err) < 0) {
                fprintf(stderr, "fuzz-hook: the rewritten XML is refused: %s\n", err ? err : "?");
                abort();
        }
        if (!streq(d2->name, c->dom->name) || !streq(d2->uuid, c->dom->uuid))
                abort();
        struct dest d = { .cfg = &c->cfg, .dom = d2, .report = report };
        if (dest_plan(&d, true) == 0 && dest_apply(&d, true, false) == 0 && d.xml_changed) {
                fprintf(stderr, "fuzz-hook: the rewritten XML is rewritten again\n");
                abort();
        }
        dest_done(&d);
        if (domxml_format(d2, &again, &len2) == 0 && (len2 != len || memcmp(again, out, len) != 0)) {
                fprintf(stderr, "fuzz-hook: formatting the rewritten XML again changes it\n");
                abort();
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const char *argv[4];
        size_t off = 0;

        /* argv[1..4]: NUL-terminated, as the kernel hands them over */
        for (int i = 0; i < 4; i++) {
                const uint8_t *nul = memchr(data + off, 0, size - off);
                if (!nul)
                        return -1;
                argv[i] = (const char *)data + off;
                off = (size_t)(nul - data) + 1;
        }
        /* main(): libvirt's call has four arguments, the first not an option */
        if (argv[0][0] == '-')
                return -1;

        struct hook_ctx c = { .domain = argv[0], .op = argv[1], .subop = argv[2], .extra = argv[3], .report = report };
        const struct handler *h = find_handler(c.op, c.subop);
        if (!h || h->never_fail) /* release end records proofs and starts migkit-cleanup: not in a dry run */
                return 0;

        c.cfg = cfg; /* shared, read only: not freed here */
        set_stdin(data + off, size - off);
        deadline_start(c.cfg.hook_deadline_ms);
        int r = read_domain(&c, h->ids_only);
        if (r == 0)
                r = h->fn(&c);
        if (r == 0 && c.dom && h->fn == op_migrate_begin)
                check_rewrite(&c);
        domxml_free(c.dom);
        free(c.xml);
        return 0;
}
