/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* domxml_parse_ids(), the hook's cheap parse for started and release, must
 * see every document as domxml_parse() does up to the devices: the same
 * name and UUID when both accept it, the same message when it refuses it,
 * and a refusal of its own never (only the full parse reads devices and
 * may refuse for them). Every XML input of the repository is tried: the
 * golden files, the hostile ones, the hook's fuzz seeds, plus made-up edge cases
 * of name and UUID. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "domxml.h"
#include "util.h"

/* The full parse's refusals that depend on devices alone. */
static bool device_error(const char *e)
{
        return strstr(e, "<interface") || strstr(e, "interface on bridge") || strstr(e, "<disk") || strstr(e, "MTU") ||
               strstr(e, "bridge");
}

static void compare(const char *what, const char *buf, size_t len)
{
        struct domxml *full = NULL, *ids = NULL;
        char *ef = NULL, *ei = NULL;
        int rf = domxml_parse(buf, len, &full, &ef), ri = domxml_parse_ids(buf, len, &ids, &ei);
        if (rf == 0 && ri == 0) {
                if (!streq(full->name, ids->name) || !streq(full->uuid, ids->uuid))
                        fail_msg("%s: name/uuid %s/%s against %s/%s", what, full->name, full->uuid, ids->name, ids->uuid);
        } else if (rf < 0 && ri < 0) {
                if (!streq_ptr(ef, ei))
                        fail_msg("%s: refused differently:\n  full: %s\n  ids:  %s", what, ef, ei);
        } else if (ri < 0)
                fail_msg("%s: refused by the ids parse only: %s", what, ei);
        else if (!ef || !device_error(ef))
                fail_msg("%s: refused by the full parse for something else than devices: %s", what, ef ? ef : "?");
        domxml_free(full);
        domxml_free(ids);
        free(ef);
        free(ei);
}

static size_t compare_dir(const char *dir)
{
        DIR *d = opendir(dir);
        struct dirent *e;
        size_t n = 0;
        if (!d)
                fail_msg("%s: %m (the inputs moved? update this test)", dir);
        while ((e = readdir(d))) {
                char path[512], *buf = NULL;
                if (e->d_name[0] == '.')
                        continue;
                snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
                ssize_t len = read_full_file(path, 8 << 20, &buf);
                if (len < 0)
                        continue; /* a directory */
                compare(path, buf, (size_t)len);
                free(buf);
                n++;
        }
        closedir(d);
        return n;
}

static void test_repository_inputs(void **state)
{
        (void)state;
        size_t n = compare_dir("tests/data/xml") + compare_dir("tests/data/xml/hostile") + compare_dir("tests/fuzz/seeds/hook");
        assert_true(n > 60);
}

static void test_edge_cases(void **state)
{
        static const char *const docs[] = {
                "<domain><name>a&amp;b</name><uuid>4A6B2C1E-9F3D-4B8A-A1C2-3D4E5F607182</uuid></domain>",
                "<domain><name><![CDATA[cd]]>x</name><uuid>4a6b2c1e-9f3d-4b8a-a1c2-3d4e5f607182</uuid></domain>",
                "<domain><name>a<b>c</b>d</name><uuid>4a6b2c1e-9f3d-4b8a-a1c2-3d4e5f607182</uuid></domain>",
                "<domain><name> </name><uuid>4a6b2c1e-9f3d-4b8a-a1c2-3d4e5f607182</uuid></domain>",
                "<domain><name></name><uuid>4a6b2c1e-9f3d-4b8a-a1c2-3d4e5f607182</uuid></domain>",
                "<domain><name/><uuid/></domain>",
                "<domain><name>a/b</name><uuid>4a6b2c1e-9f3d-4b8a-a1c2-3d4e5f607182</uuid></domain>",
                "<domain><name>a&#9;b</name><uuid>4a6b2c1e-9f3d-4b8a-a1c2-3d4e5f607182</uuid></domain>",
                "<domain><uuid>4a6b2c1e-9f3d-4b8a-a1c2-3d4e5f607182</uuid></domain>",
                "<domain><name>x</name></domain>",
                "<domain><name>x</name><name>y</name><uuid>4a6b2c1e-9f3d-4b8a-a1c2-3d4e5f607182</uuid></domain>",
                "<domain><name>x</name><uuid>nope</uuid></domain>",
                "<domain><x><name>deep</name></x><name>x</name><uuid>4a6b2c1e-9f3d-4b8a-a1c2-3d4e5f607182</uuid></domain>",
                "<domain xmlns:v='urn:v'><v:name>n</v:name><name>x</name><uuid>4a6b2c1e-9f3d-4b8a-a1c2-3d4e5f607182</uuid></domain>",
                "<v:domain xmlns:v='urn:v'><name>x</name></v:domain>",
                "<network><name>x</name></network>",
                "<domain><name>x</name><uuid>4a6b2c1e-9f3d-4b8a-a1c2-3d4e5f607182</uuid></domain><extra/>",
                "<domain><name>x</name><uuid>4a6b2c1e-9f3d-4b8a-a1c2-3d4e5f607182</uuid>",
                "<domain><name>x</name><uuid>4a6b2c1e-9f3d-4b8a-a1c2-3d4e5f607182</uuid><devices><interface type='bridge'>"
                "<source bridge='bad name'/></interface></devices></domain>",
                "<!-- c --><?pi x?><domain><name>x</name><uuid>4a6b2c1e-9f3d-4b8a-a1c2-3d4e5f607182</uuid></domain>",
                "<!-- only a comment -->",
        };
        (void)state;
        for (size_t i = 0; i < ARRAY_SIZE(docs); i++)
                compare(docs[i], docs[i], strlen(docs[i]));
        /* and the cheap parse gives what the hook needs */
        struct domxml *d;
        char *err = NULL;
        assert_int_equal(domxml_parse_ids(docs[0], strlen(docs[0]), &d, &err), 0);
        assert_string_equal(d->name, "a&b");
        assert_string_equal(d->uuid, "4a6b2c1e-9f3d-4b8a-a1c2-3d4e5f607182");
        assert_int_equal(d->n_disks, 0);
        domxml_free(d);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_repository_inputs),
                cmocka_unit_test(test_edge_cases),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
