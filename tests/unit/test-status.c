/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* status_print_ex(): what is not finished on this host, from a state
 * directory written with the library's own writers, as lines and as JSON;
 * a file that cannot be read is listed as unreadable (never left out, so
 * "nothing there" is never a lie); a part that cannot be read at all is an
 * error of the JSON document's and of the return value. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "config.h"
#include "journal.h"
#include "pending.h"
#include "proof.h"
#include "status.h"
#include "util.h"
#include "testutil.h"

#define U1 "4a6b2c1e-9f3d-4b8a-a1c2-3d4e5f607182"
#define U2 "5b7c3d2f-0a4e-4c9b-b2d3-4e5f60718293"
#define U3 "6c8d4e3a-1b5f-4dac-83e4-5f6071829304"

struct fx {
        char root[64];
        struct mk_config cfg;
        char *out;
        size_t len;
};

static int setup(void **state)
{
        struct fx *f = calloc(1, sizeof(*f));
        if (!f || scratch_dir(f->root, sizeof(f->root), "status") < 0 || config_defaults(&f->cfg) < 0)
                return -1;
        set_field(&f->cfg.state_dir, "%s/state", f->root);
        set_field(&f->cfg.instances_path, "%s/instances", f->root);
        *state = f;
        return mkdir(f->cfg.state_dir, 0700);
}

static int teardown(void **state)
{
        struct fx *f = *state;
        config_free(&f->cfg);
        free(f->out);
        int r = rm_tree(f->root);
        free(f);
        return r;
}

static int print(struct fx *f, int flags, struct status_counts *c)
{
        free(f->out);
        f->out = NULL;
        FILE *o = open_memstream(&f->out, &f->len);
        assert_non_null(o);
        int r = status_print_ex(&f->cfg, o, 1000000, flags, c);
        fclose(o);
        return r;
}

/* One of each, plus an unreadable proof. */
static void fill(struct fx *f)
{
        char *reasons[] = { (char *)"domain still running", (char *)"lock busy", NULL };
        assert_int_equal(pending_record(f->cfg.state_dir, U1, "source", "web1", reasons), 0);
        char *dirs[] = { (char *)"/var/lib/nova/instances/" U2, NULL }, *brs[] = { (char *)"qbr1", NULL };
        struct journal j = { .uuid = (char *)U2, .name = (char *)"db2", .started = 999000, .dirs = dirs, .bridges = brs };
        assert_int_equal(journal_save(f->cfg.state_dir, &j), 0);
        struct proof p = { .uuid = (char *)U3, .name = (char *)"app3", .kind = PROOF_MIGRATED, .by = (char *)"watch",
                           .detail = (char *)"running on B" };
        assert_int_equal(proof_record(f->cfg.state_dir, &p), 0);
        _cleanup_free_ char *bad = pathf("%s/proof/%s", f->cfg.state_dir, U1);
        put(bad, "not a proof");
}

static void test_lines(void **state)
{
        struct fx *f = *state;
        struct status_counts c;
        fill(f);
        assert_int_equal(print(f, 0, &c), 4);
        assert_int_equal(c.pending, 1);
        assert_int_equal(c.journals, 1);
        assert_int_equal(c.proofs, 2);
        assert_int_equal(c.quarantined, 0);
        assert_non_null(strstr(f->out, "pending source " U1 " web1 for "));
        assert_non_null(strstr(f->out, ": domain still running; lock busy\n"));
        assert_non_null(strstr(f->out, "journal " U2 " db2 started 16min ago: dir /var/lib/nova/instances/" U2 ", bridge qbr1\n"));
        assert_non_null(strstr(f->out, "proof " U3 " app3 migrated by watch "));
        assert_non_null(strstr(f->out, " ago: running on B\n"));
        assert_non_null(strstr(f->out, "proof " U1 " - unreadable\n"));
}

static void test_json(void **state)
{
        struct fx *f = *state;
        fill(f);
        assert_int_equal(print(f, STATUS_JSON, NULL), 4);
        _cleanup_free_ char *head = pathf("{\"now\":1000000,\"instances\":\"%s\",\"state\":\"%s\",\"retention\":", f->cfg.instances_path,
                                          f->cfg.state_dir);
        assert_true(strncmp(f->out, head, strlen(head)) == 0);
        assert_non_null(strstr(f->out, "\"pending\":[{\"action\":\"source\",\"uuid\":\"" U1 "\",\"name\":\"web1\","));
        assert_non_null(strstr(f->out, "\"reasons\":[\"domain still running\",\"lock busy\"]}]"));
        assert_non_null(strstr(f->out, "\"journals\":[{\"uuid\":\"" U2 "\",\"name\":\"db2\",\"started\":999000,\"age\":1000,"
                                       "\"dirs\":[\"/var/lib/nova/instances/" U2 "\"],\"bridges\":[\"qbr1\"],\"stripped\":[],\"scsi\":[],\"mpaths\":[]}]"));
        assert_non_null(strstr(f->out, "{\"uuid\":\"" U1 "\",\"error\":\"unreadable\"}"));
        assert_non_null(strstr(f->out, "{\"uuid\":\"" U3 "\",\"name\":\"app3\",\"kind\":\"migrated\",\"by\":\"watch\","));
        assert_non_null(strstr(f->out, "\"detail\":\"running on B\"}"));
        assert_non_null(strstr(f->out, "\"quarantined\":[],\"swaps\":[],\"errors\":[]}\n"));
}

/* Nothing there: an empty state directory says so in both forms. */
static void test_empty(void **state)
{
        struct fx *f = *state;
        assert_int_equal(print(f, 0, NULL), 0);
        assert_string_equal(f->out, "");
        assert_int_equal(print(f, STATUS_JSON, NULL), 0);
        assert_non_null(strstr(f->out, "\"pending\":[],\"journals\":[],\"proofs\":[],\"quarantined\":[],\"swaps\":[],\"errors\":[]}"));
}

/* A state area that cannot be listed is an error, named in the JSON. */
static void test_unreadable_area(void **state)
{
        struct fx *f = *state;
        fill(f);
        _cleanup_free_ char *area = pathf("%s/journal", f->cfg.state_dir);
        assert_int_equal(rm_tree(area), 0);
        put(area, "a file where the journal directory should be");
        int r = print(f, STATUS_JSON, NULL);
        assert_true(r < 0);
        assert_non_null(strstr(f->out, "\"errors\":[{\"part\":\"journals\",\"error\":"));
        assert_true(print(f, 0, NULL) < 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_lines, setup, teardown),
                cmocka_unit_test_setup_teardown(test_json, setup, teardown),
                cmocka_unit_test_setup_teardown(test_empty, setup, teardown),
                cmocka_unit_test_setup_teardown(test_unreadable_area, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
