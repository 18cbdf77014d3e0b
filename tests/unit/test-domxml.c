/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests for lib/domxml.c.
 *
 * Golden pairs in the libvirt style (tests/genericxml2xmltest.c): for each
 * tests/data/xml/<case>.in.xml the config-drive transform runs with the
 * globs {"disk.config"} and an exists() oracle that knows only the paths in
 * <case>.exists (one per line, optional).
 *  - <case>.out.xml present: the transform must change something, and the
 *    output must equal that file byte for byte.
 *  - <case>.out.xml absent: "unchanged", i.e. the transform reports 0 changes
 *    (the hook then prints nothing and libvirt keeps its own XML), and
 *    domxml_format() must still give back the input byte for byte.
 * Either way the transform run again on the output changes nothing, and both
 * input and output must be valid against libvirt's domain.rng.
 * VIR_TEST_REGENERATE_OUTPUT=1 rewrites the .out.xml files: review them.
 *
 * Hostile inputs (tests/data/xml/hostile/) must be refused with -EINVAL and
 * a one-line message naming the problem.
 *
 * Data is found via $MIGKIT_TEST_DATA (the tests/data directory), else next
 * to the binary's source tree, else tests/data from the current directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <fnmatch.h>
#include <libxml/relaxng.h>
#include <limits.h>
#include <sys/stat.h>

#include "domxml.h"
#include "util.h"

#define DEFAULT_SCHEMA "/usr/share/libvirt/schemas/domain.rng"

#define UUID_FULL "6f1c0a4e-2b7d-4c1e-9a3f-5d8e7b2c4a10"
#define INST_FULL "/var/lib/nova/instances/" UUID_FULL

static char *xml_dir;           /* .../tests/data/xml */
static xmlRelaxNG *schema;
static char schema_skip[512];   /* why schema tests skip, if they do */
static char *const config_drive_globs[] = { (char *)"disk.config", NULL };

/* ---- helpers ---------------------------------------------------------- */

static bool is_dir(const char *p)
{
        struct stat st;
        return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static char *find_xml_dir(void)
{
        const char *env = getenv("MIGKIT_TEST_DATA");
        char exe[PATH_MAX], *slash;
        ssize_t n;

        if (env)
                return path_join(env, "xml");
        n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        if (n > 0) {
                exe[n] = 0;
                while ((slash = strrchr(exe, '/'))) {
                        *slash = 0;
                        char *cand = path_join(exe[0] ? exe : "/", "tests/data/xml");
                        if (cand && is_dir(cand))
                                return cand;
                        free(cand);
                }
        }
        return strdup("tests/data/xml");
}

static char *data_path(const char *name, const char *suffix)
{
        char *p = NULL;
        assert_true(asprintf(&p, "%s/%s%s", xml_dir, name, suffix) > 0);
        return p;
}

/* Reads a data file; returns its length, -ENOENT if missing. */
static ssize_t read_data(const char *name, const char *suffix, char **ret)
{
        _cleanup_free_ char *p = data_path(name, suffix);
        ssize_t n = read_full_file(p, 16 << 20, ret);
        if (n < 0 && n != -ENOENT)
                fail_msg("cannot read %s: %s", p, strerror((int)-n));
        return n;
}

struct oracle {
        char **present;         /* paths exists() says are there */
        char **asked;           /* what it was asked, in order */
};

static bool oracle_exists(const char *path, void *userdata)
{
        struct oracle *o = userdata;
        assert_int_equal(strv_push(&o->asked, path), 0);
        return strv_contains(o->present, path);
}

static void oracle_done(struct oracle *o)
{
        strv_free(o->present);
        strv_free(o->asked);
        *o = (struct oracle){ 0 };
}

/* <case>.exists: one path per line. */
static void oracle_load(struct oracle *o, const char *name)
{
        _cleanup_free_ char *text = NULL;
        *o = (struct oracle){ 0 };
        if (read_data(name, ".exists", &text) < 0)
                return;
        for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"))
                if (*line && *line != '#')
                        assert_int_equal(strv_push(&o->present, line), 0);
}

static struct domxml *parse_ok(const char *what, const char *buf, size_t len)
{
        _cleanup_free_ char *err = NULL;
        struct domxml *d = NULL;
        int r = domxml_parse(buf, len, &d, &err);
        if (r < 0)
                fail_msg("%s: domxml_parse failed (%d): %s", what, r, err ? err : "(no message)");
        assert_non_null(d);
        assert_null(err);
        return d;
}

static char *format_ok(const struct domxml *d, size_t *len)
{
        char *out = NULL;
        assert_int_equal(domxml_format(d, &out, len), 0);
        assert_non_null(out);
        assert_int_equal(strlen(out), *len);
        return out;
}

/* Fails showing the first differing line. */
static void assert_same_bytes(const char *what, const char *exp, size_t exp_len, const char *got, size_t got_len)
{
        size_t i = 0, line = 1, bol = 0;
        if (exp_len == got_len && memcmp(exp, got, exp_len) == 0)
                return;
        while (i < exp_len && i < got_len && exp[i] == got[i]) {
                if (exp[i] == '\n') {
                        line++;
                        bol = i + 1;
                }
                i++;
        }
        int el = (int)strcspn(exp + bol, "\n"), gl = (int)strcspn(got + bol, "\n");
        fail_msg("%s: output differs at line %zu (byte %zu; lengths %zu expected, %zu got)\n"
                 "  expected: %.*s\n  got:      %.*s",
                 what, line, i, exp_len, got_len, el, exp + bol, gl, got + bol);
}

static bool regenerate(void)
{
        const char *e = getenv("VIR_TEST_REGENERATE_OUTPUT");
        return e && streq(e, "1");
}

/* Runs the transform; returns the number of changes. */
static int transform(struct domxml *d, struct oracle *o, char ***stripped)
{
        strv_free(o->asked);
        o->asked = NULL;
        int n = domxml_strip_missing_config_drives(d, config_drive_globs, oracle_exists, o, stripped);
        assert_true(n >= 0);
        assert_int_equal(strv_length(stripped ? *stripped : NULL), stripped ? (size_t)n : 0);
        return n;
}

/* ---- golden pairs ----------------------------------------------------- */

#define GOLDEN_CASES(X)                                                                                       \
        X("nova-full")                  /* rbd root, FC + multipath volumes, config drive missing: stripped */ \
        X("nova-config-drive-present")  /* q35, local qcow2, config drive listed in .exists: unchanged */     \
        X("cdrom-already-empty")        /* config-drive cdrom without medium: unchanged, oracle not asked */ \
        X("plain-virsh")                /* virt-install guest, UEFI, no Nova paths: unchanged */             \
        X("no-nic")                     /* boot-from-volume, no interfaces, config drive missing: stripped */ \
        X("iso-not-config-drive")       /* a missing installer ISO is not a config drive: unchanged */       \
        X("config-drive-and-iso")       /* config drive + operator-attached ISO, both missing: only the first */ \
        X("config-drive-rbd")           /* images_type=rbd: config drive in Ceph, nothing local: unchanged */ \
        X("lab-qemu")                   /* the lab's TCG guest, direct kernel boot: stripped */

#define CASE_NAME(n) n,
static const char *const golden_cases[] = { GOLDEN_CASES(CASE_NAME) };

static void test_golden(void **state)
{
        const char *name = *state;
        _cleanup_free_ char *in = NULL, *out = NULL, *expected = NULL, *again = NULL;
        _cleanup_strv_ char **stripped = NULL, **stripped2 = NULL;
        _cleanup_domxml_ struct domxml *d = NULL, *d2 = NULL;
        struct oracle o;
        size_t out_len, again_len;
        ssize_t in_len, exp_len;
        int n;

        in_len = read_data(name, ".in.xml", &in);
        if (in_len < 0)
                fail_msg("%s: missing %s/%s.in.xml", name, xml_dir, name);
        oracle_load(&o, name);
        d = parse_ok(name, in, (size_t)in_len);
        size_t n_disks = d->n_disks;

        n = transform(d, &o, &stripped);

        /* exists() is asked only about config-drive cdroms of this domain */
        for (size_t i = 0; o.asked && o.asked[i]; i++) {
                const char *base = strrchr(o.asked[i], '/');
                _cleanup_free_ char *attr = NULL;
                assert_true(asprintf(&attr, "file='%s'", o.asked[i]) > 0);
                if (!base || fnmatch("disk.config", base + 1, 0) != 0 || !strstr(in, attr))
                        fail_msg("%s: exists() asked about '%s', which is no config drive of this domain", name, o.asked[i]);
        }
        /* what was stripped: "<target> <path>", asked, not present */
        for (size_t i = 0; stripped && stripped[i]; i++) {
                const char *path = strchr(stripped[i], ' ');
                assert_non_null(path);
                path++;
                assert_true(strv_contains(o.asked, path));
                assert_false(strv_contains(o.present, path));
        }

        out = format_ok(d, &out_len);
        exp_len = read_data(name, ".out.xml", &expected);
        if (n > 0) {
                if (regenerate()) {
                        _cleanup_free_ char *file = NULL;
                        assert_true(asprintf(&file, "%s.out.xml", name) > 0);
                        assert_int_equal(write_file_atomic(xml_dir, file, out, out_len, 0644, 0), 0);
                        print_message("regenerated %s/%s: review it\n", xml_dir, file);
                } else if (exp_len < 0)
                        fail_msg("%s: the transform changed %d cdrom(s) but %s/%s.out.xml does not exist; "
                                 "run with VIR_TEST_REGENERATE_OUTPUT=1 and review it", name, n, xml_dir, name);
                else
                        assert_same_bytes(name, expected, (size_t)exp_len, out, out_len);
                if (out_len == (size_t)in_len && memcmp(out, in, out_len) == 0)
                        fail_msg("%s: %d change(s) reported but the output equals the input", name, n);
        } else {
                if (exp_len >= 0)
                        fail_msg("%s: %s.out.xml exists but the transform changed nothing; "
                                 "remove it if the case is meant to stay unchanged", name, name);
                /* unchanged: the round trip gives back the input exactly */
                assert_same_bytes(name, in, (size_t)in_len, out, out_len);
        }

        /* idempotent: the output needs no further change */
        d2 = parse_ok(name, out, out_len);
        assert_int_equal(transform(d2, &o, &stripped2), 0);
        assert_null(stripped2);
        again = format_ok(d2, &again_len);
        assert_same_bytes(name, out, out_len, again, again_len);

        /* the guest ABI: same disks, same targets; only stripped ones lost the source */
        assert_int_equal(d2->n_disks, n_disks);
        for (size_t i = 0; i < n_disks; i++) {
                assert_string_equal(d2->disks[i].device, d->disks[i].device);
                assert_true(streq_ptr(d2->disks[i].target, d->disks[i].target));
                assert_true(streq_ptr(d2->disks[i].source, d->disks[i].source));
        }
        assert_int_equal(d2->n_ifaces, d->n_ifaces);
        oracle_done(&o);
}

static void collect_rng_error(void *userdata, xmlErrorPtr e)
{
        FILE *f = userdata;
        if (e && e->message)
                fprintf(f, "  line %d: %s", e->line, e->message);
}

static void validate_doc(const char *what, void *doc)
{
        xmlRelaxNGValidCtxt *v = xmlRelaxNGNewValidCtxt(schema);
        char *errors = NULL;
        size_t errors_len = 0;
        FILE *f = open_memstream(&errors, &errors_len);
        int r;

        assert_non_null(v);
        assert_non_null(f);
        xmlRelaxNGSetValidStructuredErrors(v, collect_rng_error, f);
        r = xmlRelaxNGValidateDoc(v, doc);
        xmlRelaxNGFreeValidCtxt(v);
        fclose(f);
        if (r != 0) {
                print_error("%s", errors);
                free(errors);
                fail_msg("%s is not valid against libvirt's domain schema (xmlRelaxNGValidateDoc: %d)", what, r);
        }
        free(errors);
}

static void test_schema(void **state)
{
        const char *name = *state;
        _cleanup_free_ char *in = NULL, *out = NULL, *what = NULL;
        _cleanup_domxml_ struct domxml *d = NULL, *d2 = NULL;
        struct oracle o;
        size_t out_len;
        ssize_t in_len;

        if (!schema) {
                print_message("SKIP schema %s: %s\n", name, schema_skip);
                skip();
        }
        in_len = read_data(name, ".in.xml", &in);
        assert_true(in_len > 0);
        oracle_load(&o, name);
        d = parse_ok(name, in, (size_t)in_len);
        assert_true(asprintf(&what, "%s.in.xml", name) > 0);
        validate_doc(what, d->doc);
        transform(d, &o, NULL);
        out = format_ok(d, &out_len);
        d2 = parse_ok(name, out, out_len);
        free(what);
        assert_true(asprintf(&what, "the output for %s", name) > 0);
        validate_doc(what, d2->doc);
        oracle_done(&o);
}

/* Every file in tests/data/xml belongs to a listed case, and the other way
 * round: a case added on disk but not here would never run. (hostile/ has
 * its own check below, graphics/ is test-listen's.) */
static void test_data_files_all_used(void **state)
{
        static const char *const suffixes[] = { ".in.xml", ".out.xml", ".exists" };
        DIR *dir = opendir(xml_dir);
        struct dirent *de;
        size_t n_in = 0;

        if (!dir)
                fail_msg("cannot open %s: %m", xml_dir);
        while ((de = readdir(dir))) {
                const char *f = de->d_name;
                bool known = false;
                if (f[0] == '.' || streq(f, "hostile") || streq(f, "graphics"))
                        continue;
                for (size_t s = 0; s < ARRAY_SIZE(suffixes) && !known; s++) {
                        size_t fl = strlen(f), sl = strlen(suffixes[s]);
                        if (fl <= sl || !streq(f + fl - sl, suffixes[s]))
                                continue;
                        for (size_t c = 0; c < ARRAY_SIZE(golden_cases) && !known; c++)
                                known = strlen(golden_cases[c]) == fl - sl && strncmp(f, golden_cases[c], fl - sl) == 0;
                        if (known && s == 0)
                                n_in++;
                }
                if (!known)
                        fail_msg("%s/%s belongs to no case listed in GOLDEN_CASES", xml_dir, f);
        }
        closedir(dir);
        assert_int_equal(n_in, ARRAY_SIZE(golden_cases));
}

/* ---- hostile and broken input ---------------------------------------- */

static const struct hostile {
        const char *file, *phrase;
} hostile_cases[] = {
        { "billion-laughs.xml", "contains a <!DOCTYPE> (at offset 22); DTDs and entity declarations are refused" },
        { "external-entity.xml", "contains a <!DOCTYPE> (at offset 0)" },
        { "doctype.xml", "contains a <!DOCTYPE>" },
        { "doctype-lowercase.xml", "contains a <!DOCTYPE>" },
        { "undeclared-entity.xml", "not well-formed: line 4: Entity 'xxe' not defined" },
        { "nul-byte.xml", "contains a NUL byte at offset 121" },
        { "utf16.xml", "contains a NUL byte at offset 3" },
        { "empty.xml", "domain XML is empty" },
        { "truncated.xml", "not well-formed: line 79: " },
        { "latin1.xml", "not well-formed: line 3: Input is not proper UTF-8" },
        { "root-network.xml", "root element is <network>, expected libvirt's <domain>" },
        { "no-uuid.xml", "has no <uuid> under <domain>" },
        { "two-uuids.xml", "has 2 <uuid> elements under <domain>" },
        { "uuid-traversal.xml", "invalid <uuid> '../../etc'" },
        { "no-name.xml", "has no <name> under <domain>" },
        { "two-names.xml", "has 2 <name> elements under <domain>" },
        { "mtu-abc.xml", "interface on bridge 'qbr3b9d1c2e-7a' (MAC fa:16:3e:5c:21:9b) has an invalid <mtu size='abc'>" },
        { "mtu-too-big.xml", "interface on bridge 'qbrc81f0e52-9d' (MAC fa:16:3e:0d:7e:44) has an invalid <mtu size='4294967297'>; "
                             "expected a number from 68 to 65535" },
        { "bridge-no-source.xml", "<interface type='bridge'> with MAC fa:16:3e:5c:21:9b has no <source bridge='...'>" },
};

static void expect_refused(const char *what, const char *buf, size_t len, const char *phrase)
{
        _cleanup_free_ char *err = NULL;
        struct domxml *d = (struct domxml *)&d; /* must be reset to NULL */
        int r = domxml_parse(buf, len, &d, &err);

        if (r != -EINVAL || !err || !strstr(err, phrase))
                fail_msg("%s: expected -EINVAL and a message containing \"%s\", got %d: %s", what, phrase, r,
                         err ? err : "(no message)");
        if (strchr(err, '\n'))
                fail_msg("%s: the message is not one line: %s", what, err);
        assert_null(d);
        /* and without a message buffer */
        assert_int_equal(domxml_parse(buf, len, &d, NULL), -EINVAL);
        assert_null(d);
}

static void test_hostile(void **state)
{
        for (size_t i = 0; i < ARRAY_SIZE(hostile_cases); i++) {
                _cleanup_free_ char *name = NULL, *buf = NULL;
                assert_true(asprintf(&name, "hostile/%s", hostile_cases[i].file) > 0);
                ssize_t n = read_data(name, "", &buf);
                if (n < 0)
                        fail_msg("missing %s/%s", xml_dir, name);
                expect_refused(name, buf, (size_t)n, hostile_cases[i].phrase);
        }
}

static void test_hostile_files_all_used(void **state)
{
        _cleanup_free_ char *p = data_path("hostile", "");
        DIR *dir = opendir(p);
        struct dirent *de;
        size_t n = 0;

        if (!dir)
                fail_msg("cannot open %s: %m", p);
        while ((de = readdir(dir))) {
                bool known = false;
                if (de->d_name[0] == '.')
                        continue;
                for (size_t i = 0; i < ARRAY_SIZE(hostile_cases); i++)
                        known = known || streq(de->d_name, hostile_cases[i].file);
                if (!known)
                        fail_msg("%s/%s is not in hostile_cases", p, de->d_name);
                n++;
        }
        closedir(dir);
        assert_int_equal(n, ARRAY_SIZE(hostile_cases));
}

/* Inline variants of the same rules. */
#define UUID_EL "<uuid>" UUID_FULL "</uuid>"
#define BRIDGE(mtu) "<devices><interface type='bridge'><source bridge='br0'/>" mtu "</interface></devices>"
static void test_hostile_inline(void **state)
{
        static const struct hostile inl[] = {
                { "<domain><name>a</name><!ENTITY x 'y'>" UUID_EL "</domain>", "contains an <!ENTITY> declaration" },
                { "<domain><name>a</name><!-- <!DOCTYPE -->" UUID_EL "</domain>", "contains a <!DOCTYPE>" },
                { "\xEF\xBB\xBF  \n<!DOCTYPE domain><domain/>", "contains a <!DOCTYPE> (at offset 6)" },
                { "Lo\xA7\x94\x89\x94\x93", "does not start with '<'" },  /* "<domain" in EBCDIC */
                { "<domain><name></name>" UUID_EL "</domain>", "has an empty <name>" },
                { "<domain><name>a/b</name>" UUID_EL "</domain>", "<name> 'a/b' contains '/' or control characters" },
                { "<domain><name>a\nb</name>" UUID_EL "</domain>", "<name> 'a?b' contains '/' or control characters" },
                { "<domain><name>a</name><uuid>6F1C0A4E-2B7D-4C1E-9A3F-5D8E7B2C4A1</uuid></domain>",
                  "invalid <uuid> '6F1C0A4E-2B7D-4C1E-9A3F-5D8E7B2C4A1'" },
                { "<domain><name>a</name><uuid> " UUID_FULL "</uuid></domain>", "invalid <uuid> ' " UUID_FULL "'" },
                { "<domain><name>a</name><uuid>6f1c0a4e2b7d4c1e9a3f5d8e7b2c4a10</uuid></domain>", "invalid <uuid>" },
                { "<domain xmlns='http://example.org/'><name>a</name>" UUID_EL "</domain>",
                  "root element is <domain> in namespace 'http://example.org/'" },
                { "<domain><name>a</name>" UUID_EL "<x:y/></domain>", "not well-formed: line 1: Namespace prefix x on y is not defined" },
                { "<domain><name>a</name>" UUID_EL "</domain><domain/>", "not well-formed: line 1: Extra content at the end of the document" },
                { "<domain><name>a</name>" UUID_EL BRIDGE("<mtu size='67'/>") "</domain>",
                  "interface on bridge 'br0' has an invalid <mtu size='67'>" },
                { "<domain><name>a</name>" UUID_EL BRIDGE("<mtu size='-1450'/>") "</domain>", "invalid <mtu size='-1450'>" },
                { "<domain><name>a</name>" UUID_EL BRIDGE("<mtu size=' 1450'/>") "</domain>", "invalid <mtu size=' 1450'>" },
                { "<domain><name>a</name>" UUID_EL BRIDGE("<mtu/>") "</domain>", "invalid <mtu size='(none)'>" },
                { "<domain><name>a</name>" UUID_EL "<devices><interface type='bridge'><source bridge=''/></interface></devices></domain>",
                  "<interface type='bridge'> has no <source bridge='...'>" },
        };
        for (size_t i = 0; i < ARRAY_SIZE(inl); i++)
                expect_refused(inl[i].file, inl[i].file, strlen(inl[i].file), inl[i].phrase);
}

/* ---- extraction -------------------------------------------------------- */

static struct domxml *parse_case(const char *name)
{
        _cleanup_free_ char *in = NULL;
        ssize_t n = read_data(name, ".in.xml", &in);
        assert_true(n > 0);
        return parse_ok(name, in, (size_t)n);
}

static void assert_disk(const struct dom_disk *k, enum dom_disk_type type, const char *device, const char *source,
                        const char *target)
{
        assert_string_equal(dom_disk_type_to_string(k->type), dom_disk_type_to_string(type));
        assert_string_equal(k->device, device);
        if (!streq_ptr(k->source, source) || !streq_ptr(k->target, target))
                fail_msg("disk: source '%s' target '%s', expected '%s' and '%s'", k->source ? k->source : "(null)",
                         k->target ? k->target : "(null)", source ? source : "(null)", target ? target : "(null)");
        assert_non_null(k->node);
}

static void assert_strv(char **got, const char *const *exp)
{
        size_t n = 0;
        while (exp[n])
                n++;
        for (size_t i = 0; i < n || (got && got[i]); i++)
                if (i >= n || !got || !got[i] || !streq(got[i], exp[i]))
                        fail_msg("list entry %zu: got '%s', expected '%s'", i, got && i <= strv_length(got) && got[i] ? got[i] : "(end)",
                                 i < n ? exp[i] : "(end)");
}

static void test_extract_nova_full(void **state)
{
        _cleanup_domxml_ struct domxml *d = parse_case("nova-full");
        _cleanup_strv_ char **stripped = NULL;
        struct oracle o = { 0 };
        static const char *const files[] = { INST_FULL "/disk.config", INST_FULL "/console.log", NULL };
        static const char *const files_after[] = { INST_FULL "/console.log", NULL };

        assert_string_equal(d->name, "instance-0000002a");
        assert_string_equal(d->uuid, UUID_FULL);
        assert_int_equal(d->n_disks, 4);
        assert_disk(&d->disks[0], DOM_DISK_NETWORK, "disk", NULL, "vda");
        assert_disk(&d->disks[1], DOM_DISK_BLOCK, "disk", "/dev/disk/by-path/pci-0000:05:00.0-fc-0x5006016839a01c4e-lun-1", "vdb");
        assert_disk(&d->disks[2], DOM_DISK_BLOCK, "disk", "/dev/disk/by-id/dm-uuid-mpath-3600601604b003a00d2a1bd5e41c2ee11", "vdc");
        assert_disk(&d->disks[3], DOM_DISK_FILE, "cdrom", INST_FULL "/disk.config", "hdd");
        assert_int_equal(d->n_ifaces, 2);
        assert_string_equal(d->ifaces[0].bridge, "qbr3b9d1c2e-7a");
        assert_int_equal(d->ifaces[0].mtu, 1450);
        assert_string_equal(d->ifaces[0].mac, "fa:16:3e:5c:21:9b");
        assert_string_equal(d->ifaces[1].bridge, "qbrc81f0e52-9d");
        assert_int_equal(d->ifaces[1].mtu, 1450);
        assert_string_equal(d->ifaces[1].mac, "fa:16:3e:0d:7e:44");
        assert_strv(d->files, files); /* console.log once, though serial and console both name it */

        assert_int_equal(domxml_strip_missing_config_drives(d, config_drive_globs, oracle_exists, &o, &stripped), 1);
        assert_strv(o.asked, (const char *const[]){ INST_FULL "/disk.config", NULL });
        assert_strv(stripped, (const char *const[]){ "hdd " INST_FULL "/disk.config", NULL });
        assert_null(d->disks[3].source);
        assert_string_equal(d->disks[3].device, "cdrom");
        assert_string_equal(d->disks[3].target, "hdd");
        assert_strv(d->files, files_after);
        oracle_done(&o);
}

static void test_extract_other_cases(void **state)
{
        {
                _cleanup_domxml_ struct domxml *d = parse_case("lab-qemu");
                const char *inst = "/var/lib/nova/instances/0e8d5c3b-6a1f-4b27-8d94-c2e7f0a1b536";
                _cleanup_free_ char *k = path_join(inst, "kernel"), *r = path_join(inst, "ramdisk"),
                                    *c = path_join(inst, "disk.config"), *l = path_join(inst, "console.log");
                assert_strv(d->files, (const char *const[]){ k, r, c, l, NULL });
                assert_int_equal(d->n_ifaces, 1);
                assert_string_equal(d->ifaces[0].bridge, "qbr1234abcd-ef");
                assert_int_equal(d->ifaces[0].mtu, 1450);
        }
        {
                _cleanup_domxml_ struct domxml *d = parse_case("plain-virsh");
                assert_strv(d->files, (const char *const[]){ "/usr/share/OVMF/OVMF_CODE_4M.ms.fd",
                                                             "/usr/share/OVMF/OVMF_VARS_4M.ms.fd",
                                                             "/var/lib/libvirt/qemu/nvram/debian12_VARS.fd",
                                                             "/var/lib/libvirt/images/debian12.qcow2", NULL });
                assert_int_equal(d->n_ifaces, 0); /* type='network' is not a bridge interface */
                assert_int_equal(d->n_disks, 2);
                assert_disk(&d->disks[1], DOM_DISK_FILE, "cdrom", NULL, "sda");
        }
        {
                /* a backing file is not named by the domain, the <log file> is */
                _cleanup_domxml_ struct domxml *d = parse_case("nova-config-drive-present");
                const char *inst = "/var/lib/nova/instances/2a7f9c31-5e84-4d16-b0a2-8c3e1f6d9b54";
                _cleanup_free_ char *disk = path_join(inst, "disk"), *c = path_join(inst, "disk.config"),
                                    *l = path_join(inst, "console.log");
                assert_strv(d->files, (const char *const[]){ disk, c, l, NULL });
                assert_int_equal(d->ifaces[0].mtu, 9000);
                assert_disk(&d->disks[1], DOM_DISK_FILE, "cdrom", c, "sda");
        }
        {
                _cleanup_domxml_ struct domxml *d = parse_case("iso-not-config-drive");
                assert_int_equal(d->n_ifaces, 1);
                assert_string_equal(d->ifaces[0].bridge, "br0");
                assert_int_equal(d->ifaces[0].mtu, 0);
        }
        {
                _cleanup_domxml_ struct domxml *d = parse_case("config-drive-rbd");
                assert_disk(&d->disks[1], DOM_DISK_NETWORK, "cdrom", NULL, "hdd");
        }
        {
                _cleanup_domxml_ struct domxml *d = parse_case("no-nic");
                assert_int_equal(d->n_ifaces, 0);
                assert_null(d->ifaces);
        }
}

/* ---- the transform's edges -------------------------------------------- */

#define DOM_HEAD "<domain type='kvm'>\n  <name>t</name>\n  <uuid>" UUID_FULL "</uuid>\n  <devices>\n"
#define DOM_TAIL "  </devices>\n</domain>\n"
#define CDROM(src) "    <disk type='file' device='cdrom'>\n      <driver name='qemu' type='raw'/>\n" src \
                   "      <target dev='hdd' bus='ide'/>\n      <readonly/>\n    </disk>\n"
#define CD_SRC "      <source file='" INST_FULL "/disk.config'/>\n"

static void test_oracle_asked_only_for_config_drives(void **state)
{
        static const char *const none[] = { NULL };
        static const char *const cases[] = { "cdrom-already-empty", "config-drive-rbd", "plain-virsh", "iso-not-config-drive" };
        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                _cleanup_domxml_ struct domxml *d = parse_case(cases[i]);
                char *sentinel[] = { NULL }, **stripped = sentinel; /* must be reset to NULL */
                struct oracle o = { 0 };
                assert_int_equal(domxml_strip_missing_config_drives(d, config_drive_globs, oracle_exists, &o, &stripped), 0);
                assert_null(stripped);
                assert_strv(o.asked, none);
                oracle_done(&o);
        }
        {
                /* no globs: nothing is a config drive */
                _cleanup_domxml_ struct domxml *d = parse_case("nova-full");
                struct oracle o = { 0 };
                assert_int_equal(domxml_strip_missing_config_drives(d, NULL, oracle_exists, &o, NULL), 0);
                assert_null(o.asked);
                assert_non_null(d->disks[3].source);
                assert_int_equal(domxml_strip_missing_config_drives(d, config_drive_globs, NULL, NULL, NULL), -EINVAL);
        }
}

static void test_other_globs(void **state)
{
        /* the globs decide, on the basename only */
        static char *const iso[] = { (char *)"*.iso", NULL };
        static char *const dir_glob[] = { (char *)"instances", NULL };
        _cleanup_domxml_ struct domxml *d = parse_case("config-drive-and-iso");
        _cleanup_strv_ char **stripped = NULL;
        struct oracle o = { 0 };

        assert_int_equal(domxml_strip_missing_config_drives(d, dir_glob, oracle_exists, &o, NULL), 0);
        assert_int_equal(domxml_strip_missing_config_drives(d, iso, oracle_exists, &o, &stripped), 1);
        assert_strv(stripped, (const char *const[]){ "sdb /srv/iso/virtio-win-0.1.240.iso", NULL });
        assert_non_null(d->disks[1].source);
        assert_null(d->disks[2].source);
        oracle_done(&o);
}

static void test_strip_disk_source_errors(void **state)
{
        _cleanup_domxml_ struct domxml *d = parse_case("nova-full");
        _cleanup_free_ char *before = NULL, *after = NULL;
        size_t bl, al;

        before = format_ok(d, &bl);
        assert_int_equal(domxml_strip_disk_source(d, 0), -EINVAL); /* rbd disk */
        assert_int_equal(domxml_strip_disk_source(d, 1), -EINVAL); /* FC volume */
        assert_int_equal(domxml_strip_disk_source(d, 4), -EINVAL); /* out of range */
        assert_int_equal(domxml_strip_disk_source(NULL, 0), -EINVAL);
        after = format_ok(d, &al);
        assert_same_bytes("refused strips", before, bl, after, al);
        assert_int_equal(domxml_strip_disk_source(d, 3), 0);
        assert_int_equal(domxml_strip_disk_source(d, 3), -EINVAL); /* no source any more */

        _cleanup_domxml_ struct domxml *e = parse_case("cdrom-already-empty");
        assert_int_equal(domxml_strip_disk_source(e, 1), -EINVAL);
}

/* Byte-exact removal in layouts libvirt does not write itself. */
static void test_strip_layouts(void **state)
{
        static const struct {
                const char *what, *in, *out;
        } cases[] = {
                { "source with children",
                  DOM_HEAD CDROM("      <source file='" INST_FULL "/disk.config'>\n        <seclabel model='dac' relabel='no'/>\n      </source>\n") DOM_TAIL,
                  DOM_HEAD CDROM("") DOM_TAIL },
                { "source first, no whitespace",
                  DOM_HEAD "<disk type='file' device='cdrom'><source file=\"" INST_FULL "/disk.config\"/><target dev='hdd'/></disk>\n" DOM_TAIL,
                  DOM_HEAD "<disk type='file' device='cdrom'><target dev='hdd'/></disk>\n" DOM_TAIL },
                { "CRLF line ends",
                  "<domain>\r\n<name>t</name>\r\n<uuid>" UUID_FULL "</uuid>\r\n<devices>\r\n<disk device='cdrom'>\r\n"
                  "  <source file='/x/disk.config' />\r\n  <backingStore/>\r\n  <target dev='hdc'/>\r\n</disk>\r\n</devices>\r\n</domain>",
                  "<domain>\r\n<name>t</name>\r\n<uuid>" UUID_FULL "</uuid>\r\n<devices>\r\n<disk device='cdrom'>\r\n"
                  "  <target dev='hdc'/>\r\n</disk>\r\n</devices>\r\n</domain>" },
                { "backingStore terminator goes, a real backing chain stays",
                  DOM_HEAD CDROM(CD_SRC "      <backingStore/>\n") CDROM(CD_SRC "      <backingStore type='file'><source file='/b'/></backingStore>\n") DOM_TAIL,
                  DOM_HEAD CDROM("") CDROM("      <backingStore type='file'><source file='/b'/></backingStore>\n") DOM_TAIL },
                { "comment before the source stays, non-ASCII and tabs kept",
                  "<domain><name>caf\xC3\xA9</name><uuid>" UUID_FULL "</uuid><devices>"
                  "<disk type='file' device='cdrom'><!-- config drive --><source file='/a b/disk.config'/></disk>"
                  "<disk type='file' device='cdrom' x='\xC3\xA9'>\n\t<source file='/x/disk.config'/>\n</disk>"
                  "</devices></domain>",
                  "<domain><name>caf\xC3\xA9</name><uuid>" UUID_FULL "</uuid><devices>"
                  "<disk type='file' device='cdrom'><!-- config drive --></disk>"
                  "<disk type='file' device='cdrom' x='\xC3\xA9'>\n</disk>"
                  "</devices></domain>" },
        };
        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                _cleanup_domxml_ struct domxml *d = parse_ok(cases[i].what, cases[i].in, strlen(cases[i].in));
                _cleanup_free_ char *out = NULL;
                struct oracle o = { 0 };
                size_t len;
                int n = domxml_strip_missing_config_drives(d, config_drive_globs, oracle_exists, &o, NULL);
                if (n < 1)
                        fail_msg("%s: %d changes", cases[i].what, n);
                out = format_ok(d, &len);
                assert_same_bytes(cases[i].what, cases[i].out, strlen(cases[i].out), out, len);
                oracle_done(&o);
        }
}

/* When the cut text would not be the same document (here: the whitespace
 * before <source> is partly a character reference), libxml2 serializes. */
static void test_format_fallback(void **state)
{
        static const char in[] = DOM_HEAD "    <disk type='file' device='cdrom'>&#10;      <source file='" INST_FULL
                                 "/disk.config'/>\n      <target dev='hdd'/>\n    </disk>\n" DOM_TAIL;
        static const char want[] = "<domain type=\"kvm\">\n  <name>t</name>\n  <uuid>" UUID_FULL "</uuid>\n  <devices>\n"
                                   "    <disk type=\"file\" device=\"cdrom\">\n      <target dev=\"hdd\"/>\n    </disk>\n"
                                   DOM_TAIL;
        _cleanup_domxml_ struct domxml *d = parse_ok("fallback", in, strlen(in));
        _cleanup_free_ char *out = NULL;
        struct oracle o = { 0 };
        size_t len;

        assert_int_equal(domxml_strip_missing_config_drives(d, config_drive_globs, oracle_exists, &o, NULL), 1);
        out = format_ok(d, &len);
        assert_same_bytes("fallback", want, strlen(want), out, len);
        oracle_done(&o);
}

/* The cut text is used only when it parses to the tree as edited: a tree
 * changed where no cut says so (an attribute, an element's name, text, a
 * namespace or its prefix, a comment, an element added) is serialized by
 * libxml2, with the change. */
static void test_format_checks_the_tree(void **state)
{
        static const char in[] = "<domain xmlns:x='urn:x' type='kvm'>\n  <name>t</name>\n  <!-- c -->\n  <uuid>" UUID_FULL
                                 "</uuid>\n</domain>\n";
        static const struct {
                const char *what, *want;
        } cases[] = {
                { "unchanged", in },
                { "attribute", "<domain xmlns:x=\"urn:x\" type=\"qemu\">" },
                { "attribute namespace", "<domain xmlns:x=\"urn:x\" x:type=\"kvm\">" },
                { "element name", "<title>t</title>" },
                { "text", "<name>u</name>" },
                { "namespace declaration", "<domain xmlns:x=\"urn:x\" xmlns:y=\"urn:y\" type=\"kvm\">" },
                { "comment", "<!-- d -->" },
                { "namespace prefix", "<domain xmlns:z=\"urn:x\" type=\"kvm\">" },
                { "element added", "<title>x</title>" },
        };
        (void)state;
        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                _cleanup_domxml_ struct domxml *d = parse_ok(cases[i].what, in, strlen(in));
                _cleanup_free_ char *out = NULL;
                xmlNode *root = xmlDocGetRootElement(d->doc), *name = xmlFirstElementChild(root);
                size_t len;

                switch (i) {
                case 1: xmlSetProp(root, BAD_CAST "type", BAD_CAST "qemu"); break;
                case 2: xmlHasProp(root, BAD_CAST "type")->ns = root->nsDef; break;
                case 3: xmlNodeSetName(name, BAD_CAST "title"); break;
                case 4: xmlNodeSetContent(name, BAD_CAST "u"); break;
                case 5: xmlNewNs(root, BAD_CAST "urn:y", BAD_CAST "y"); break;
                case 6: xmlNodeSetContent(xmlNextElementSibling(name)->prev->prev, BAD_CAST " d "); break;
                case 7:
                        xmlFree((xmlChar *)root->nsDef->prefix);
                        root->nsDef->prefix = xmlStrdup(BAD_CAST "z");
                        break;
                case 8: xmlNewTextChild(root, NULL, BAD_CAST "title", BAD_CAST "x"); break;
                }
                out = format_ok(d, &len);
                if (i == 0)
                        assert_same_bytes(cases[i].what, in, strlen(in), out, len);
                else if (!strstr(out, cases[i].want))
                        fail_msg("%s changed in the tree: want %s in\n%s", cases[i].what, cases[i].want, out);
        }
}

static void test_parse_details(void **state)
{
        {
                static const char in[] = "<domain><name>t</name><uuid>6F1C0A4E-2B7D-4C1E-9A3F-5D8E7B2C4A10</uuid></domain>";
                _cleanup_domxml_ struct domxml *d = parse_ok("upper-case uuid", in, strlen(in));
                assert_string_equal(d->uuid, UUID_FULL);
                assert_int_equal(d->n_disks, 0);
                assert_non_null(d->files);
                assert_null(d->files[0]);
        }
        {
                /* len, not NUL, ends the document; a declaration is fine */
                static const char in[] = "<?xml version='1.0' encoding='UTF-8'?>\n<domain><name>t</name><uuid>" UUID_FULL
                                         "</uuid></domain>\n<garbage";
                _cleanup_domxml_ struct domxml *d = parse_ok("length", in, strlen(in) - strlen("<garbage"));
                assert_string_equal(d->name, "t");
        }
        {
                /* XInclude is not processed, nothing is read from disk */
                static const char in[] = "<domain><name>t</name><uuid>" UUID_FULL "</uuid><description>"
                                         "<xi:include xmlns:xi='http://www.w3.org/2001/XInclude' href='/etc/passwd' parse='text'/>"
                                         "</description></domain>";
                _cleanup_domxml_ struct domxml *d = parse_ok("xinclude", in, strlen(in));
                _cleanup_free_ char *out = NULL;
                size_t len;
                out = format_ok(d, &len);
                assert_same_bytes("xinclude", in, strlen(in), out, len);
                assert_null(strstr(out, "root:"));
        }
        {
                /* <name>/<uuid> of other namespaces or deeper levels do not count */
                static const char in[] = "<domain><metadata><x:name xmlns:x='urn:x'>n</x:name><uuid>u</uuid></metadata>"
                                         "<name>t</name><x:uuid xmlns:x='urn:x'>z</x:uuid><uuid>" UUID_FULL "</uuid></domain>";
                _cleanup_domxml_ struct domxml *d = parse_ok("namespaces", in, strlen(in));
                assert_string_equal(d->name, "t");
        }
        {
                /* disk defaults, other chardev types, nvram <source>, empty attributes */
                static const char in[] =
                        "<domain><name>t</name><uuid>" UUID_FULL "</uuid>"
                        "<os><nvram type='file'><source file='/n/VARS.fd'/></nvram></os><devices>"
                        "<disk><source file='/d/a.img'/></disk>"
                        "<disk type='nvme' device='disk'><source type='pci' managed='yes' namespace='1'/><target dev='vdz'/></disk>"
                        "<disk type='file' device='cdrom'><source file=''/></disk>"
                        "<channel type='unix'><source mode='bind' path='/run/qga.sock'/></channel>"
                        "<serial type='pipe'><source path='/p/pipe'/></serial>"
                        "<parallel type='dev'><source path='/dev/parport0'/></parallel>"
                        "<console type='pty'><source path='/dev/pts/3'/><log file='/l/console.log'/></console>"
                        "<serial type='tcp'><source mode='bind' host='0.0.0.0' service='4555'/></serial>"
                        "<serial type='file'><source path='/l/console.log'/><log file='/p/pipe'/></serial>"
                        "<disk type='file' device='floppy'><source file='/l/console.log'/></disk>"
                        "</devices></domain>";
                _cleanup_domxml_ struct domxml *d = parse_ok("defaults", in, strlen(in));
                assert_int_equal(d->n_disks, 4);
                assert_disk(&d->disks[0], DOM_DISK_FILE, "disk", "/d/a.img", NULL);
                assert_int_equal(d->disks[1].type, DOM_DISK_OTHER);
                assert_null(d->disks[1].source);
                assert_null(d->disks[2].source);
                assert_strv(d->files, (const char *const[]){ "/n/VARS.fd", "/d/a.img", "/run/qga.sock", "/p/pipe",
                                                             "/dev/parport0", "/l/console.log", NULL });
        }
}

/* ---- setup -------------------------------------------------------------- */

static int group_setup(void **state)
{
        const char *path = getenv("MIGKIT_DOMAIN_RNG");
        xmlRelaxNGParserCtxt *pc;

        xml_dir = find_xml_dir();
        if (!xml_dir)
                return -1;
        if (!path)
                path = DEFAULT_SCHEMA;
        if (access(path, R_OK) < 0) {
                snprintf(schema_skip, sizeof(schema_skip),
                         "libvirt's schema %s is missing (%m); install Debian's libvirt0 package or set MIGKIT_DOMAIN_RNG",
                         path);
                fprintf(stderr, "WARNING: %s: schema validation of the golden cases will be SKIPPED\n", schema_skip);
                return 0;
        }
        pc = xmlRelaxNGNewParserCtxt(path);
        if (pc)
                schema = xmlRelaxNGParse(pc);
        xmlRelaxNGFreeParserCtxt(pc);
        if (!schema) {
                fprintf(stderr, "cannot load the RelaxNG schema %s\n", path);
                return -1;
        }
        return 0;
}

static int group_teardown(void **state)
{
        if (schema)
                xmlRelaxNGFree(schema);
        schema = NULL;
        free(xml_dir);
        xml_dir = NULL;
        return 0;
}

#define GOLDEN_TEST(n) { .name = "golden " n, .test_func = test_golden, .initial_state = (void *)(n) },
#define SCHEMA_TEST(n) { .name = "schema " n, .test_func = test_schema, .initial_state = (void *)(n) },

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_data_files_all_used),
                GOLDEN_CASES(GOLDEN_TEST)
                GOLDEN_CASES(SCHEMA_TEST)
                cmocka_unit_test(test_hostile),
                cmocka_unit_test(test_hostile_files_all_used),
                cmocka_unit_test(test_hostile_inline),
                cmocka_unit_test(test_extract_nova_full),
                cmocka_unit_test(test_extract_other_cases),
                cmocka_unit_test(test_oracle_asked_only_for_config_drives),
                cmocka_unit_test(test_other_globs),
                cmocka_unit_test(test_strip_disk_source_errors),
                cmocka_unit_test(test_strip_layouts),
                cmocka_unit_test(test_format_fallback),
                cmocka_unit_test(test_format_checks_the_tree),
                cmocka_unit_test(test_parse_details),
        };
        return cmocka_run_group_tests_name("domxml", tests, group_setup, group_teardown);
}
