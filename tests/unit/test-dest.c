/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Preparing this host as a migration's destination (dest_plan, dest_apply)
 * in a network namespace of its own, against a temporary instances path and
 * state directory: what is created is journaled, and what could not be
 * journaled is not left behind. The seams (-Wl,--wrap, Makefile):
 * journal_save, which a test makes fail after everything was created, as a
 * filesystem that fills up meanwhile would, and counts; bridge_create,
 * counted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sched.h>
#include <sys/stat.h>

#include "bridge.h"
#include "config.h"
#include "dest.h"
#include "domxml.h"
#include "journal.h"
#include "log.h"
#include "testutil.h"
#include "util.h"

#define UUID "4a6b2c1e-9f3d-4b8a-a1c2-3d4e5f607182"
#define NAME "instance-0000002a"
#define BR1 "qbrdest0001-01"
#define BR2 "qbrdest0002-02"

static char skip_reason[256];
static int journal_error; /* 0, or the -errno every journal_save() returns */
static unsigned journal_saves; /* journal_save() calls */

int __real_journal_save(const char *state_dir, const struct journal *j);
int __wrap_journal_save(const char *state_dir, const struct journal *j);
int __wrap_journal_save(const char *state_dir, const struct journal *j)
{
        journal_saves++;
        if (journal_error)
                return journal_error;
        return __real_journal_save(state_dir, j);
}

int __real_bridge_create(const char *name, unsigned mtu, char **ret_ext);
int __wrap_bridge_create(const char *name, unsigned mtu, char **ret_ext);
static unsigned bridges_made; /* bridge_create() calls */
int __wrap_bridge_create(const char *name, unsigned mtu, char **ret_ext)
{
        bridges_made++;
        return __real_bridge_create(name, mtu, ret_ext);
}

struct fixture {
        char root[64];
        char *inst, *state, *dir, *jpath;
        struct mk_config cfg;
        struct domxml *dom;
};

static int setup(void **state)
{
        struct fixture *f = calloc(1, sizeof(*f));
        _cleanup_free_ char *xml = NULL, *err = NULL;

        if (!f || scratch_dir(f->root, sizeof(f->root), "dest") < 0 || config_defaults(&f->cfg) < 0)
                return -1;
        f->inst = pathf("%s/instances", f->root);
        f->state = pathf("%s/state", f->root);
        f->dir = pathf("%s/%s", f->inst, UUID);
        f->jpath = pathf("%s/journal/%s", f->state, UUID);
        set_field(&f->cfg.instances_path, "%s", f->inst);
        set_field(&f->cfg.state_dir, "%s", f->state);
        if (mkdir(f->inst, 0755) < 0)
                return -1;
        xml = pathf("<domain type='kvm'><name>" NAME "</name><uuid>" UUID "</uuid><devices>"
                    "<disk type='file' device='cdrom'><source file='%s/disk.config'/><target dev='sda' bus='sata'/></disk>"
                    "<interface type='bridge'><source bridge='" BR1 "'/><mtu size='1450'/></interface>"
                    "<interface type='bridge'><source bridge='" BR2 "'/></interface>"
                    "<serial type='file'><source path='%s/console.log'/></serial></devices></domain>",
                    f->dir, f->dir);
        if (domxml_parse(xml, strlen(xml), &f->dom, &err) < 0)
                return -1;
        journal_error = 0;
        journal_saves = 0;
        bridges_made = 0;
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;
        (void)bridge_delete(BR1);
        (void)bridge_delete(BR2);
        int r = rm_tree(f->root);
        domxml_free(f->dom);
        config_free(&f->cfg);
        free(f->inst);
        free(f->state);
        free(f->dir);
        free(f->jpath);
        free(f);
        return r;
}

#define REQUIRE_NETNS() SKIP_IF_REASON(skip_reason)

static bool link_exists(const char *name)
{
        struct link_info li;
        return link_get(name, &li) == 0;
}

/* What the hook's migrate begin does, planning n_bridges new bridges:
 * returns dest_apply()'s result. */
static int prepare(struct fixture *f, size_t n_bridges)
{
        struct dest d = { .cfg = &f->cfg, .dom = f->dom };
        int r = dest_plan(&d, true);
        assert_int_equal(r, 0);
        assert_true(d.create_dir);
        assert_int_equal(d.n_bridges, n_bridges);
        r = dest_apply(&d, true, true);
        dest_done(&d);
        return r;
}

/* Everything created and the stripped cdrom are in the journal, written
 * once after each creation and not again at the end: the first save has
 * the cdrom already. */
static void test_journaled(void **state)
{
        struct fixture *f = *state;
        REQUIRE_NETNS();
        assert_int_equal(prepare(f, 2), 0);
        assert_true(link_exists(BR1) && link_exists(BR2));
        assert_true(exists(f->dir));
        struct journal j;
        assert_int_equal(journal_load(f->state, UUID, &j), 0);
        assert_true(strv_contains(j.bridges, BR1) && strv_contains(j.bridges, BR2));
        assert_true(strv_contains(j.dirs, f->dir));
        _cleanup_free_ char *cdrom = pathf("sda %s/disk.config", f->dir);
        assert_true(strv_contains(j.stripped, cdrom));
        assert_int_equal(journal_saves, 3);
        journal_free(&j);
}

/* Nothing to create: the stripped cdrom alone is journaled, once. */
static void test_journaled_strip_only(void **state)
{
        struct fixture *f = *state;
        _cleanup_free_ char *ext = NULL;
        REQUIRE_NETNS();
        assert_true(bridge_create(BR1, 1450, &ext) > 0);
        assert_true(bridge_create(BR2, 1500, &ext) > 0);
        assert_int_equal(mkdir(f->dir, 0755), 0);
        struct dest d = { .cfg = &f->cfg, .dom = f->dom };
        assert_int_equal(dest_plan(&d, true), 0);
        assert_int_equal(d.n_bridges, 0);
        assert_false(d.create_dir);
        assert_int_equal(dest_apply(&d, true, true), 0);
        assert_true(d.xml_changed);
        dest_done(&d);
        struct journal j;
        assert_int_equal(journal_load(f->state, UUID, &j), 0);
        _cleanup_free_ char *cdrom = pathf("sda %s/disk.config", f->dir);
        assert_true(strv_contains(j.stripped, cdrom));
        assert_true(journal_is_empty(&j) == false && !j.bridges && !j.dirs);
        assert_int_equal(journal_saves, 1);
        journal_free(&j);
}

/* The journal cannot be written after the bridges and the directory were
 * made (the probe before found room): dest_apply() removes them again, and
 * fails naming the journal. */
static void test_unrecorded_undone(void **state)
{
        struct fixture *f = *state;
        REQUIRE_NETNS();
        journal_error = -ENOSPC;
        assert_int_equal(prepare(f, 2), -ENOSPC);
        assert_false(link_exists(BR1));
        assert_false(link_exists(BR2));
        assert_false(exists(f->dir));
        assert_false(exists(f->jpath));
}

/* A bridge that existed before is not ours to remove, even then. */
static void test_unrecorded_keeps_what_existed(void **state)
{
        struct fixture *f = *state;
        _cleanup_free_ char *ext = NULL;
        REQUIRE_NETNS();
        assert_true(bridge_create(BR2, 1500, &ext) > 0);
        journal_error = -ENOSPC;
        assert_int_equal(prepare(f, 1), -ENOSPC);
        assert_false(link_exists(BR1));
        assert_true(link_exists(BR2));
        assert_false(exists(f->dir));
}

/* The state directory cannot take a journal at all: refused before
 * anything is created. */
static void test_no_room_refused_first(void **state)
{
        struct fixture *f = *state;
        REQUIRE_NETNS();
        _cleanup_free_ char *jdir = pathf("%s/journal", f->state);
        assert_int_equal(mkdir(f->state, 0700), 0);
        put(jdir, "not a directory\n"); /* <state>/journal is a file: no journal can go there */
        assert_true(prepare(f, 2) < 0);
        assert_int_equal(bridges_made, 0); /* not made and removed again: never made */
        assert_false(link_exists(BR1));
        assert_false(link_exists(BR2));
        assert_false(exists(f->dir));
}

/* Interfaces that exist are left as they are: a bridge (its driver says
 * so) and one whose driver does not say what it is (lo: rtnetlink says it
 * is not a bridge; a warning, no failure). */
static void test_existing_interfaces(void **state)
{
        struct fixture *f = *state;
        _cleanup_free_ char *ext = NULL, *err = NULL;
        struct domxml *dom = NULL;
        REQUIRE_NETNS();
        assert_true(bridge_create(BR1, 1450, &ext) > 0);
        static const char xml[] = "<domain type='kvm'><name>" NAME "</name><uuid>" UUID "</uuid><devices>"
                                  "<interface type='bridge'><source bridge='" BR1 "'/></interface>"
                                  "<interface type='bridge'><source bridge='lo'/></interface></devices></domain>";
        assert_int_equal(domxml_parse(xml, strlen(xml), &dom, &err), 0);
        struct dest d = { .cfg = &f->cfg, .dom = dom };
        assert_int_equal(dest_plan(&d, true), 0);
        assert_int_equal(d.n_bridges, 0);
        dest_done(&d);
        domxml_free(dom);
        assert_int_equal(bridges_made, 1); /* the test's own */
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_journaled, setup, teardown),
                cmocka_unit_test_setup_teardown(test_journaled_strip_only, setup, teardown),
                cmocka_unit_test_setup_teardown(test_unrecorded_undone, setup, teardown),
                cmocka_unit_test_setup_teardown(test_unrecorded_keeps_what_existed, setup, teardown),
                cmocka_unit_test_setup_teardown(test_no_room_refused_first, setup, teardown),
                cmocka_unit_test_setup_teardown(test_existing_interfaces, setup, teardown),
        };
        log_open("test-dest", 0, false);
        if (geteuid() != 0)
                snprintf(skip_reason, sizeof(skip_reason), "not root (euid %u): cannot create a network namespace",
                         (unsigned)geteuid());
        else if (unshare(CLONE_NEWNET) < 0)
                snprintf(skip_reason, sizeof(skip_reason), "unshare(CLONE_NEWNET): %s", strerror(errno));
        return cmocka_run_group_tests(tests, NULL, NULL);
}
