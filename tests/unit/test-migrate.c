/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The convergence policy fed with recorded job-statistics timelines, and the
 * typed parameters built from options and configuration. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "config.h"
#include "converge.h"
#include "migrate.h"
#include "swapvol.h"
#include "util.h"

#define MiB (1024ULL * 1024)

static const struct converge_policy nova_like = {
        .downtime_max_ms = 500, .downtime_steps = 10, .downtime_step_ms = 10000,
        .stall_ms = 30000, .completion_timeout_ms = 600000, .postcopy = false,
};

/* Feeds a sample and returns the action kind; *value gets its value. */
static int feed(struct converge *c, unsigned long long ms, unsigned long long remaining, unsigned long long iter,
                unsigned long long *value)
{
        struct mig_sample s = { .elapsed_ms = ms, .data_total = 300 * MiB, .data_remaining = remaining, .iteration = iter };
        struct converge_action a;
        converge_next(c, &s, &a);
        if (value)
                *value = a.value;
        if (a.kind != CONVERGE_NONE)
                assert_non_null(a.reason);
        return a.kind;
}

static void test_downtime_steps(void **state)
{
        struct converge c;
        struct converge_policy p = nova_like;
        unsigned long long v;
        (void)state;
        assert_int_equal(converge_downtime_of_step(&nova_like, 0), 50);
        assert_int_equal(converge_downtime_of_step(&nova_like, 5), 275);
        assert_int_equal(converge_downtime_of_step(&nova_like, 10), 500);
        assert_int_equal(converge_downtime_of_step(&nova_like, 99), 500);

        /* it starts at QEMU's default: the end of the first pass is decided
         * before any prediction, as plain libvirt would */
        converge_init(&c, &nova_like);
        assert_int_equal(feed(&c, 0, 300 * MiB, 1, &v), CONVERGE_SET_DOWNTIME);
        assert_int_equal(v, 300);
        assert_int_equal(feed(&c, 500, 290 * MiB, 1, NULL), CONVERGE_NONE);
        /* the steps below where it is change nothing */
        for (unsigned long long t = 10000; t < 60000; t += 10000)
                assert_int_equal(feed(&c, t, 200 * MiB, 1, NULL), CONVERGE_NONE);
        assert_int_equal(feed(&c, 60000, 100 * MiB, 1, &v), CONVERGE_SET_DOWNTIME);
        assert_int_equal(v, 320);
        assert_int_equal(feed(&c, 60500, 90 * MiB, 1, NULL), CONVERGE_NONE);
        /* a late sample skips the steps whose time has passed */
        assert_int_equal(feed(&c, 95000, 80 * MiB, 1, &v), CONVERGE_SET_DOWNTIME);
        assert_int_equal(v, converge_downtime_of_step(&nova_like, 9));
        assert_int_equal(feed(&c, 100000, 70 * MiB, 1, &v), CONVERGE_SET_DOWNTIME);
        assert_int_equal(v, 500);
        /* the last step reached the maximum: nothing more */
        assert_int_equal(feed(&c, 110000, 70 * MiB, 1, NULL), CONVERGE_NONE);
        assert_int_equal(feed(&c, 200000, 70 * MiB, 1, NULL), CONVERGE_NONE);

        /* a maximum under QEMU's default is where it starts, and stays */
        p.downtime_max_ms = 200;
        converge_init(&c, &p);
        assert_int_equal(feed(&c, 0, 300 * MiB, 1, &v), CONVERGE_SET_DOWNTIME);
        assert_int_equal(v, 200);
        for (unsigned long long t = 10000; t <= 200000; t += 10000)
                assert_int_equal(feed(&c, t, 100 * MiB, 1, NULL), CONVERGE_NONE);
}

static void test_no_downtime_management(void **state)
{
        struct converge_policy p = nova_like;
        struct converge c;
        (void)state;
        p.downtime_max_ms = 0;
        converge_init(&c, &p);
        for (unsigned long long t = 0; t < 100000; t += 1000)
                assert_int_equal(feed(&c, t, 100 * MiB, 1, NULL), CONVERGE_NONE);
}

static void test_stall_switches_to_postcopy(void **state)
{
        struct converge_policy p = nova_like;
        struct converge c;
        (void)state;
        p.postcopy = true;
        p.downtime_max_ms = 0;
        converge_init(&c, &p);
        /* first pass: steadily down, never a stall even if slow */
        for (unsigned long long t = 0; t <= 60000; t += 1000)
                assert_int_equal(feed(&c, t, (300 - t / 1000) * MiB, 1, NULL), CONVERGE_NONE);
        /* second pass on: remaining wanders between 100 and 104 MiB */
        unsigned long long t;
        for (t = 61000; t < 61000 + 30000; t += 1000)
                assert_int_equal(feed(&c, t, (100 + t / 1000 % 5) * MiB, 2 + (t - 61000) / 5000, NULL), CONVERGE_NONE);
        assert_true(!c.stalled);
        assert_int_equal(feed(&c, t, 102 * MiB, 8, NULL), CONVERGE_POSTCOPY);
        assert_true(c.stalled);
        /* asked once only */
        assert_int_equal(feed(&c, t + 1000, 102 * MiB, 8, NULL), CONVERGE_NONE);
        /* in post-copy: nothing, even past the completion timeout */
        struct mig_sample s = { .elapsed_ms = 700000, .data_remaining = 50 * MiB, .iteration = 9, .postcopy = true };
        struct converge_action a;
        converge_next(&c, &s, &a);
        assert_int_equal(a.kind, CONVERGE_NONE);
}

static void test_progress_resets_stall(void **state)
{
        struct converge_policy p = nova_like;
        struct converge c;
        (void)state;
        p.postcopy = true;
        p.downtime_max_ms = 0;
        p.stall_ms = 10000;
        converge_init(&c, &p);
        assert_int_equal(feed(&c, 0, 300 * MiB, 1, NULL), CONVERGE_NONE);
        assert_int_equal(feed(&c, 20000, 100 * MiB, 2, NULL), CONVERGE_NONE);
        assert_int_equal(feed(&c, 29000, 99 * MiB, 3, NULL), CONVERGE_NONE); /* less than 5%: no new low */
        assert_int_equal(feed(&c, 29500, 90 * MiB, 3, NULL), CONVERGE_NONE); /* a real new low */
        assert_int_equal(feed(&c, 39000, 91 * MiB, 4, NULL), CONVERGE_NONE);
        assert_int_equal(feed(&c, 39500, 91 * MiB, 4, NULL), CONVERGE_POSTCOPY);
}

static void test_stall_without_postcopy_waits_for_timeout(void **state)
{
        struct converge_policy p = nova_like;
        struct converge c;
        (void)state;
        p.downtime_max_ms = 0;
        p.completion_timeout_ms = 120000;
        converge_init(&c, &p);
        assert_int_equal(feed(&c, 0, 300 * MiB, 1, NULL), CONVERGE_NONE);
        for (unsigned long long t = 20000; t < 120000; t += 1000)
                assert_int_equal(feed(&c, t, 100 * MiB, 3, NULL), CONVERGE_NONE);
        assert_true(c.stalled);
        assert_int_equal(feed(&c, 120000, 100 * MiB, 3, NULL), CONVERGE_ABORT);
        /* nothing after the abort */
        assert_int_equal(feed(&c, 121000, 100 * MiB, 3, NULL), CONVERGE_NONE);
}

static void test_timeout_prefers_postcopy(void **state)
{
        struct converge_policy p = nova_like;
        struct converge c;
        (void)state;
        p.postcopy = true;
        p.stall_ms = 0; /* no stall detection: only the timeout */
        p.completion_timeout_ms = 60000;
        converge_init(&c, &p);
        assert_int_equal(feed(&c, 0, 300 * MiB, 1, NULL), CONVERGE_SET_DOWNTIME);
        assert_int_equal(feed(&c, 59000, 100 * MiB, 5, NULL), CONVERGE_NONE);
        assert_int_equal(feed(&c, 60000, 100 * MiB, 5, NULL), CONVERGE_POSTCOPY);
        /* the switch was asked: no abort, no downtime change while it happens */
        assert_int_equal(feed(&c, 70000, 100 * MiB, 5, NULL), CONVERGE_NONE);
        assert_int_equal(feed(&c, 90000, 100 * MiB, 5, NULL), CONVERGE_NONE);
}

static void test_action_names(void **state)
{
        (void)state;
        assert_string_equal(converge_action_to_string(CONVERGE_NONE), "none");
        assert_string_equal(converge_action_to_string(CONVERGE_SET_DOWNTIME), "downtime");
        assert_string_equal(converge_action_to_string(CONVERGE_POSTCOPY), "postcopy");
        assert_string_equal(converge_action_to_string(CONVERGE_ABORT), "abort");
        assert_string_equal(converge_action_to_string(42), "unknown");
}

static void test_dest_uri(void **state)
{
        char *u;
        (void)state;
        assert_int_equal(migrate_dest_uri("qemu+tls://{dest}/system", "hostB", &u), 0);
        assert_string_equal(u, "qemu+tls://hostB/system");
        free(u);
        assert_int_equal(migrate_dest_uri("qemu+ssh://root@{dest}/system?keyfile=/k/{dest}", "node-2.example.org", &u), 0);
        assert_string_equal(u, "qemu+ssh://root@node-2.example.org/system?keyfile=/k/node-2.example.org");
        free(u);
        assert_int_equal(migrate_dest_uri("qemu+tls://{dest}/system", "[2001:db8::2]", &u), 0);
        assert_string_equal(u, "qemu+tls://[2001:db8::2]/system");
        free(u);
        /* a URI is taken as it is */
        assert_int_equal(migrate_dest_uri("qemu+tls://{dest}/system", "qemu+tcp://hostC/system", &u), 0);
        assert_string_equal(u, "qemu+tcp://hostC/system");
        free(u);
        assert_int_equal(migrate_dest_uri("qemu+tls://{dest}/system", "host/../x", &u), -EINVAL);
        assert_int_equal(migrate_dest_uri("qemu+tls://{dest}/system", "a b", &u), -EINVAL);
        assert_int_equal(migrate_dest_uri("qemu+tls://{dest}/system", "", &u), -EINVAL);
        assert_int_equal(migrate_dest_uri("qemu+tls://{dest}/system", "-oProxyCommand=x", &u), -EINVAL);
        assert_int_equal(migrate_dest_uri("qemu+tls://fixed/system", "hostB", &u), -EINVAL);
        assert_null(u);

        assert_true(migrate_uri_is_plain("qemu+tcp://hostB/system"));
        assert_true(migrate_uri_is_plain("tcp://hostB:49152"));
        assert_false(migrate_uri_is_plain("qemu+tls://hostB/system"));
        assert_false(migrate_uri_is_plain("qemu+ssh://hostB/system"));
        assert_false(migrate_uri_is_plain("qemu:///system"));
}

static struct migrate_opts default_opts(void)
{
        return (struct migrate_opts) { .domain = "d", .dest = "hostB", .auto_converge = -1, .postcopy = -1, .bandwidth = -1,
                                       .postcopy_bandwidth = -1, .max_downtime_ms = -1, .completion_timeout_ms = -1,
                                       .stall_ms = -1 };
}

static void test_build_defaults(void **state)
{
        struct mk_config cfg;
        struct migrate_opts o = default_opts();
        virTypedParameterPtr p = NULL;
        int n = -1;
        unsigned long flags = 0;
        char **warn = NULL;
        (void)state;
        assert_int_equal(config_defaults(&cfg), 0);
        assert_int_equal(migrate_build(&cfg, &o, &flags, &p, &n, &warn), 0);
        assert_int_equal(flags, VIR_MIGRATE_LIVE | VIR_MIGRATE_PEER2PEER | VIR_MIGRATE_PERSIST_DEST | VIR_MIGRATE_UNDEFINE_SOURCE |
                                        VIR_MIGRATE_TLS | VIR_MIGRATE_AUTO_CONVERGE);
        assert_int_equal(n, 0);
        assert_null(warn); /* TLS both ways: nothing to warn about */
        virTypedParamsFree(p, n);
        config_free(&cfg);
}

static void test_build_options(void **state)
{
        struct mk_config cfg;
        struct migrate_opts o = default_opts();
        char *disks[] = { (char *)"vda", (char *)"vdb", NULL };
        virTypedParameterPtr p = NULL;
        int n = 0;
        unsigned long flags = 0, bw = 0;
        unsigned long long ull = 0;
        int conns = 0;
        const char *str = NULL, **list = NULL;
        char **warn = NULL;
        (void)state;
        assert_int_equal(config_defaults(&cfg), 0);
        free(cfg.migrate_uri);
        cfg.migrate_uri = strdup("qemu+tcp://{dest}/system");
        cfg.migrate_tls = false;
        cfg.migrate_bandwidth = 50;
        o.postcopy = 1;
        o.auto_converge = 0;
        o.compress = true;
        o.copy_disks = disks;
        o.parallel = 4;
        o.bandwidth = 20;
        o.dest_xml = "<domain/>";
        o.keep_source = true;
        assert_int_equal(migrate_build(&cfg, &o, &flags, &p, &n, &warn), 0);
        /* post-copy asked for, but QEMU cannot combine it with parallel
         * connections: dropped, with a warning */
        assert_int_equal(flags, VIR_MIGRATE_LIVE | VIR_MIGRATE_PEER2PEER | VIR_MIGRATE_PERSIST_DEST |
                                        VIR_MIGRATE_COMPRESSED | VIR_MIGRATE_NON_SHARED_DISK | VIR_MIGRATE_PARALLEL);
        assert_int_equal(virTypedParamsGetULLong(p, n, VIR_MIGRATE_PARAM_BANDWIDTH, &ull), 1);
        assert_int_equal(ull, 20); /* the option wins over [migrate] bandwidth */
        assert_int_equal(virTypedParamsGetInt(p, n, VIR_MIGRATE_PARAM_PARALLEL_CONNECTIONS, &conns), 1);
        assert_int_equal(conns, 4);
        assert_int_equal(virTypedParamsGetString(p, n, VIR_MIGRATE_PARAM_DEST_XML, &str), 1);
        assert_string_equal(str, "<domain/>");
        /* one string parameter per disk, in order */
        int seen = 0;
        for (int i = 0; i < n; i++)
                if (streq(p[i].field, VIR_MIGRATE_PARAM_MIGRATE_DISKS))
                        assert_string_equal(p[i].value.s, disks[seen++]);
        assert_int_equal(seen, 2);
        (void)list;
        (void)bw;
        /* plain TCP, an unencrypted stream and the dropped post-copy are warned about */
        assert_int_equal(strv_length(warn), 3);
        assert_non_null(strstr(warn[0], "qemu+tcp://hostB/system is plain TCP"));
        assert_non_null(strstr(warn[1], "not encrypted"));
        assert_non_null(strstr(warn[2], "post-copy is off"));
        strv_free(warn);
        virTypedParamsFree(p, n);

        /* tunnelled: the stream rides the libvirt connection, no TLS flag;
         * the configured bandwidth applies when the option is -1 */
        o = default_opts();
        o.tunnelled = true;
        cfg.migrate_tls = true;
        assert_int_equal(migrate_build(&cfg, &o, &flags, &p, &n, NULL), 0);
        assert_true(flags & VIR_MIGRATE_TUNNELLED);
        assert_false(flags & VIR_MIGRATE_TLS);
        assert_int_equal(virTypedParamsGetULLong(p, n, VIR_MIGRATE_PARAM_BANDWIDTH, &ull), 1);
        assert_int_equal(ull, 50);
        virTypedParamsFree(p, n);
        config_free(&cfg);
}

static void test_sample_from_stats(void **state)
{
        virTypedParameterPtr p = NULL;
        int n = 0, maxp = 0;
        struct mig_sample s;
        (void)state;
        assert_int_equal(virInitialize(), 0);
        assert_int_equal(virTypedParamsAddULLong(&p, &n, &maxp, VIR_DOMAIN_JOB_TIME_ELAPSED, 4200), 0);
        assert_int_equal(virTypedParamsAddULLong(&p, &n, &maxp, VIR_DOMAIN_JOB_DATA_TOTAL, 300 * MiB), 0);
        assert_int_equal(virTypedParamsAddULLong(&p, &n, &maxp, VIR_DOMAIN_JOB_DATA_PROCESSED, 200 * MiB), 0);
        assert_int_equal(virTypedParamsAddULLong(&p, &n, &maxp, VIR_DOMAIN_JOB_DATA_REMAINING, 100 * MiB), 0);
        assert_int_equal(virTypedParamsAddULLong(&p, &n, &maxp, VIR_DOMAIN_JOB_MEMORY_BPS, 20 * MiB), 0);
        assert_int_equal(virTypedParamsAddULLong(&p, &n, &maxp, VIR_DOMAIN_JOB_MEMORY_ITERATION, 3), 0);
        assert_int_equal(virTypedParamsAddULLong(&p, &n, &maxp, VIR_DOMAIN_JOB_MEMORY_DIRTY_RATE, 1000), 0);
        migrate_sample_from_params(p, n, &s);
        assert_int_equal(s.elapsed_ms, 4200);
        assert_int_equal(s.data_total, 300 * MiB);
        assert_int_equal(s.data_processed, 200 * MiB);
        assert_int_equal(s.data_remaining, 100 * MiB);
        assert_int_equal(s.mem_bps, 20 * MiB);
        assert_int_equal(s.iteration, 3);
        assert_int_equal(s.dirty_bps, 1000 * 4096); /* pages/s times the default page size */
        assert_false(s.postcopy);
        assert_int_equal(virTypedParamsAddULLong(&p, &n, &maxp, VIR_DOMAIN_JOB_MEMORY_PAGE_SIZE, 65536), 0);
        assert_int_equal(virTypedParamsAddULLong(&p, &n, &maxp, VIR_DOMAIN_JOB_MEMORY_POSTCOPY_REQS, 7), 0);
        migrate_sample_from_params(p, n, &s);
        assert_int_equal(s.dirty_bps, 1000 * 65536);
        assert_true(s.postcopy);
        virTypedParamsFree(p, n);
}

static void test_swapvol_rewrite(void **state)
{
        static const char xml[] =
                "<domain type='qemu'><name>g</name><devices>"
                "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/a/disk'/>"
                "<backingStore type='file'><format type='raw'/><source file='/a/base'/></backingStore><target dev='vda'/></disk>"
                "<disk type='file' device='disk'><source file='/a/data.img'/><target dev='vdb'/></disk>"
                "</devices></domain>";
        char *out = NULL;
        (void)state;
        assert_int_equal(swapvol_rewrite_xml(xml, "vdb", "/b/new.img", false, &out), 0);
        assert_non_null(strstr(out, "<source file=\"/b/new.img\"/><target dev=\"vdb\"/>"));
        assert_non_null(strstr(out, "/a/disk")); /* vda untouched */
        assert_null(strstr(out, "/a/data.img"));
        free(out);
        /* onto a block device: type and attribute change; the old backing chain goes */
        assert_int_equal(swapvol_rewrite_xml(xml, "vda", "/dev/mapper/vol", true, &out), 0);
        assert_non_null(strstr(out, "<disk type=\"block\" device=\"disk\"><driver name=\"qemu\" type=\"qcow2\"/><source dev=\"/dev/mapper/vol\"/><target dev=\"vda\"/>"));
        assert_null(strstr(out, "/a/base"));
        free(out);
        assert_int_equal(swapvol_rewrite_xml(xml, "vdz", "/b/x", false, &out), -ENOENT);
        assert_null(out);
        assert_int_equal(swapvol_rewrite_xml("<domain", "vda", "/b/x", false, &out), -EINVAL);
}

static void test_exit_codes(void **state)
{
        (void)state;
        assert_int_equal(migrate_exit_code(MIGRATE_OK), 0);
        assert_int_equal(migrate_exit_code(MIGRATE_FAILED), 1);
        assert_int_equal(migrate_exit_code(MIGRATE_REFUSED), 3);
        assert_int_equal(migrate_exit_code(MIGRATE_ABORTED), 130);
}

static void test_inbound_address(void **state)
{
        struct mk_config cfg;
        struct migrate_opts o = { .auto_converge = -1, .postcopy = -1, .bandwidth = -1, .postcopy_bandwidth = -1, .dest = "hostB" };
        char *disks[] = { (char *)"vda", NULL }, *a = NULL;
        unsigned long flags;
        virTypedParameterPtr p;
        int n;
        const char *str;
        (void)state;

        /* a pair for the destination wins over the template; no entry, no address */
        assert_int_equal(migrate_inbound_address("hostC=10.0.0.3, hostB=10.0.0.2 {dest}-mig", "hostB", &a), 0);
        assert_string_equal(a, "10.0.0.2");
        free(a);
        assert_int_equal(migrate_inbound_address("hostC=10.0.0.3 {dest}-mig.example", "hostB", &a), 0);
        assert_string_equal(a, "hostB-mig.example");
        free(a);
        assert_int_equal(migrate_inbound_address("hostC=10.0.0.3", "hostB", &a), 0);
        assert_null(a);
        assert_int_equal(migrate_inbound_address("", "hostB", &a), 0);
        assert_null(a);
        assert_int_equal(migrate_inbound_address("hostB=a/b", "hostB", &a), -EINVAL);
        assert_int_equal(migrate_inbound_address("{dest};rm", "hostB", &a), -EINVAL);

        assert_int_equal(config_defaults(&cfg), 0);
        free(cfg.migrate_inbound);
        cfg.migrate_inbound = strdup("hostB=2001:db8::2");
        o.copy_disks = disks;
        assert_int_equal(migrate_build(&cfg, &o, &flags, &p, &n, NULL), 0);
        assert_int_equal(virTypedParamsGetString(p, n, VIR_MIGRATE_PARAM_URI, &str), 1);
        assert_string_equal(str, "tcp://[2001:db8::2]");
        assert_int_equal(virTypedParamsGetString(p, n, VIR_MIGRATE_PARAM_DISKS_URI, &str), 1);
        assert_string_equal(str, "tcp://[2001:db8::2]");
        virTypedParamsFree(p, n);
        /* no disk copied: no NBD address; tunnelled: no stream address at all */
        o.copy_disks = NULL;
        assert_int_equal(migrate_build(&cfg, &o, &flags, &p, &n, NULL), 0);
        assert_int_equal(virTypedParamsGetString(p, n, VIR_MIGRATE_PARAM_URI, &str), 1);
        assert_int_equal(virTypedParamsGetString(p, n, VIR_MIGRATE_PARAM_DISKS_URI, &str), 0);
        virTypedParamsFree(p, n);
        o.tunnelled = true;
        assert_int_equal(migrate_build(&cfg, &o, &flags, &p, &n, NULL), 0);
        assert_int_equal(virTypedParamsGetString(p, n, VIR_MIGRATE_PARAM_URI, &str), 0);
        virTypedParamsFree(p, n);
        o.tunnelled = false;
        free(cfg.migrate_inbound);
        cfg.migrate_inbound = strdup("hostB=bad/addr");
        assert_int_equal(migrate_build(&cfg, &o, &flags, &p, &n, NULL), -EINVAL);
        config_free(&cfg);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_downtime_steps),
                cmocka_unit_test(test_no_downtime_management),
                cmocka_unit_test(test_stall_switches_to_postcopy),
                cmocka_unit_test(test_progress_resets_stall),
                cmocka_unit_test(test_stall_without_postcopy_waits_for_timeout),
                cmocka_unit_test(test_timeout_prefers_postcopy),
                cmocka_unit_test(test_action_names),
                cmocka_unit_test(test_dest_uri),
                cmocka_unit_test(test_build_defaults),
                cmocka_unit_test(test_build_options),
                cmocka_unit_test(test_sample_from_stats),
                cmocka_unit_test(test_exit_codes),
                cmocka_unit_test(test_swapvol_rewrite),
                cmocka_unit_test(test_inbound_address),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
