/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* evacuate_run() against libvirt's test driver (test:///default, shared by
 * every connection of the process) with the fake job of fakejob.h: every
 * running guest is migrated once, each to the destination with the most
 * free memory left; one destination that cannot be reached fails its
 * guests, not the others; an abort request starts nothing more; the
 * summary table says so. The abort request is never reset: last test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <libvirt/virterror.h>

#include "config.h"
#include "evacuate.h"
#include "migrate.h"
#include "util.h"
#include "virt.h"
#include "testutil.h"
#include "fakejob.h"

static const struct step quick[] = {
        { 0, 100 * MiB, 100 * MiB, 1 },
        { 500, 100 * MiB, 1 * MiB, 2 },
};

struct fx {
        char root[64]; /* the state directory (the migration slots) lives here, not in the machine's */
        struct mk_config cfg;
        struct migrate_opts o;
        virConnectPtr c; /* keeps test:///default, and the guests made here, alive */
        struct evacuate_item *items;
        size_t n;
        char *out;
        size_t outlen;
};

/* A running transient guest of mem_mib on the test driver. */
static void guest(virConnectPtr c, const char *name, unsigned mem_mib)
{
        _cleanup_free_ char *xml = pathf("<domain type='test'><name>%s</name><memory unit='MiB'>%u</memory>"
                                         "<os><type>hvm</type></os></domain>", name, mem_mib);
        virDomainPtr d = virDomainCreateXML(c, xml, 0);
        assert_non_null(d);
        virDomainFree(d);
}

static int setup(void **state)
{
        struct fx *f = calloc(1, sizeof(*f));
        if (!f || scratch_dir(f->root, sizeof(f->root), "evacuate") < 0 || config_defaults(&f->cfg) < 0)
                return -1;
        set_field(&f->cfg.libvirt_uri, "test:///default");
        set_field(&f->cfg.state_dir, "%s", f->root);
        f->cfg.migrate_upload = false;
        f->o = (struct migrate_opts) {
                .auto_converge = -1, .postcopy = -1, .bandwidth = -1, .postcopy_bandwidth = -1, .max_downtime_ms = -1,
                .completion_timeout_ms = -1, .stall_ms = -1, .upload = 0, .output = MIGRATE_OUT_QUIET, .no_preflight = true,
                .no_cleanup = true,
        };
        virt_quiet_errors();
        f->c = virConnectOpen("test:///default");
        fake_reset();
        fake(quick, ARRAY_SIZE(quick));
        *state = f;
        return f->c ? 0 : -1;
}

static int teardown(void **state)
{
        struct fx *f = *state;
        evacuate_free(f->items, f->n);
        virConnectClose(f->c);
        config_free(&f->cfg);
        rm_tree(f->root);
        free(f->out);
        free(f);
        return 0;
}

static void print(struct fx *f)
{
        FILE *out = open_memstream(&f->out, &f->outlen);
        assert_non_null(out);
        evacuate_print(f->items, f->n, out);
        fclose(out);
}

static const struct evacuate_item *item(struct fx *f, const char *name)
{
        for (size_t i = 0; i < f->n; i++)
                if (streq(f->items[i].name, name))
                        return &f->items[i];
        fail_msg("no item for %s", name);
        return NULL;
}

static void test_every_guest_once(void **state)
{
        struct fx *f = *state;
        char *dests[] = { (char *)"test:///default", NULL };
        guest(f->c, "small-a", 64);
        guest(f->c, "small-b", 64);

        assert_int_equal(evacuate_run(&f->cfg, &f->o, dests, 2, &f->items, &f->n), 0);
        assert_int_equal(f->n, 3); /* test, small-a, small-b */
        assert_int_equal(fk.migrate_calls, 3);
        for (size_t i = 0; i < f->n; i++) {
                assert_true(f->items[i].started);
                assert_int_equal(f->items[i].res.status, MIGRATE_OK);
                assert_string_equal(f->items[i].dest, "test:///default");
                assert_true(f->items[i].end_ms >= f->items[i].start_ms);
        }
        print(f);
        assert_non_null(strstr(f->out, "DOMAIN"));
        assert_non_null(strstr(f->out, "small-a"));
        assert_non_null(strstr(f->out, "migrated"));
        assert_non_null(strstr(f->out, "3 of 3 guests migrated\n"));
}

/* The destination with the most free memory first, less what went there:
 * the unreachable one (no free memory known) gets the guests only once
 * the other's free memory is used up, and those fail alone. */
static void test_placement_and_failures(void **state)
{
        struct fx *f = *state;
        char *dests[] = { (char *)"test:///nonexistent/node.xml", (char *)"test:///default", NULL };

        /* "test" (8 GiB) is bigger than the test driver's free memory: the
         * first guest goes to test:///default, the next to the other one */
        guest(f->c, "second", 64);
        assert_int_equal(evacuate_run(&f->cfg, &f->o, dests, 1, &f->items, &f->n), 1);
        assert_int_equal(f->n, 2);
        const struct evacuate_item *a = &f->items[0], *b = &f->items[1];
        assert_string_equal(a->dest, "test:///default");
        assert_int_equal(a->res.status, MIGRATE_OK);
        assert_string_equal(b->dest, "test:///nonexistent/node.xml");
        assert_int_equal(b->res.status, MIGRATE_REFUSED);
        assert_non_null(strstr(b->res.error, "cannot connect to test:///nonexistent/node.xml"));
        assert_int_equal(fk.migrate_calls, 1);
        print(f);
        assert_non_null(strstr(f->out, "refused"));
        assert_non_null(strstr(f->out, "1 of 2 guests migrated\n"));
}

static void test_source_unreachable(void **state)
{
        struct fx *f = *state;
        char *dests[] = { (char *)"test:///default", NULL };
        f->o.source_uri = "test:///nonexistent/node.xml";
        assert_int_equal(evacuate_run(&f->cfg, &f->o, dests, 1, &f->items, &f->n), -ECONNREFUSED);
        assert_null(f->items);
        assert_int_equal(f->n, 0);
        assert_int_equal(fk.migrate_calls, 0);
}

/* Last: the abort request stays set. Nothing starts; each guest is
 * listed as not started. */
static void test_abort_starts_nothing(void **state)
{
        struct fx *f = *state;
        char *dests[] = { (char *)"test:///default", NULL };
        guest(f->c, "other", 64);
        migrate_request_abort();
        assert_int_equal(evacuate_run(&f->cfg, &f->o, dests, 4, &f->items, &f->n), 2);
        assert_int_equal(fk.migrate_calls, 0);
        assert_false(item(f, "test")->started);
        assert_false(item(f, "other")->started);
        print(f);
        assert_non_null(strstr(f->out, "not-started"));
        assert_non_null(strstr(f->out, "0 of 2 guests migrated\n"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_every_guest_once, setup, teardown),
                cmocka_unit_test_setup_teardown(test_placement_and_failures, setup, teardown),
                cmocka_unit_test_setup_teardown(test_source_unreachable, setup, teardown),
                cmocka_unit_test_setup_teardown(test_abort_starts_nothing, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
