/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* lib/secrets: which libvirt secrets a domain's disks name (auth of network
 * disks, in <disk> or in <source>; encryption), and what the check says
 * for each: the destination is libvirt's real secret driver, embedded in
 * this process on a temporary root (secret:///embed), which first lacks
 * the secrets (FAIL naming disk and secret), then has one without a value
 * (FAIL), then with one (OK), or private (OK). A destination that cannot
 * answer about secrets (the test driver has no secret driver) gives a
 * WARN, never an OK, in the check and in migkit doctor's list of the
 * secrets this host's guests need. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>
#include <libvirt/virterror.h>

#include "secrets.h"
#include "testutil.h"

#define S1 "3b1f4d5e-1111-4222-8333-444455556666"
#define S2 "7c2e5f60-aaaa-4bbb-8ccc-ddddeeeeffff"
#define S3 "9d3f6071-bbbb-4ccc-8ddd-eeeeffff0000"

static const char xml[] =
        "<domain type='test'><name>inst-rbd</name><uuid>5b7a1c2e-9f3d-4b8a-a1c2-3d4e5f607182</uuid><memory>65536</memory>"
        "<os><type>hvm</type></os><devices>"
        "<disk type='network' device='disk'><driver name='qemu' type='raw'/>"
        "<auth username='cinder'><secret type='ceph' uuid='" S1 "'/></auth>"
        "<source protocol='rbd' name='volumes/volume-1'><host name='ceph1' port='6789'/></source><target dev='vdb'/></disk>"
        "<disk type='network' device='disk'>"
        "<source protocol='iscsi' name='iqn.2026-01.example:t/1'><host name='10.0.0.1'/>"
        "<auth username='chap'><secret type='iscsi' usage='libvirtiscsi'/></auth></source><target dev='vdc'/></disk>"
        "<disk type='file' device='disk'><source file='/var/lib/x.luks'>"
        "<encryption format='luks'><secret type='passphrase' uuid='" S2 "'/></encryption></source><target dev='vdd'/></disk>"
        "<disk type='file' device='disk'><source file='/var/lib/plain.img'/><target dev='vde'/></disk>"
        "</devices></domain>";

static void quiet(void *u, virErrorPtr e) { (void)u; (void)e; }

static void test_parse(void **state)
{
        struct domxml *d = NULL;
        struct dom_secret *s = NULL;
        (void)state;
        assert_int_equal(domxml_parse(xml, strlen(xml), &d, NULL), 0);
        assert_int_equal(dom_secrets(d, &s), 3);
        assert_string_equal(s[0].disk, "vdb");
        assert_string_equal(s[0].what, "auth");
        assert_string_equal(s[0].type, "ceph");
        assert_string_equal(s[0].uuid, S1);
        assert_null(s[0].usage);
        assert_string_equal(s[0].source, "rbd volumes/volume-1");
        assert_string_equal(s[1].disk, "vdc");
        assert_string_equal(s[1].type, "iscsi");
        assert_null(s[1].uuid);
        assert_string_equal(s[1].usage, "libvirtiscsi");
        assert_string_equal(s[2].what, "encryption");
        assert_string_equal(s[2].uuid, S2);
        assert_string_equal(s[2].source, "/var/lib/x.luks");
        dom_secrets_free(s, 3);
        domxml_free(d);
}

static void test_check_cannot_ask(void **state)
{
        char abs[PATH_MAX], uri[PATH_MAX + 16];
        struct domxml *d = NULL;
        struct preflight p = { 0 };
        (void)state;
        virSetErrorFunc(NULL, quiet);
        assert_non_null(realpath("tests/data/driver/hostB.xml", abs));
        snprintf(uri, sizeof(uri), "test://%s", abs);
        virConnectPtr c = virConnectOpen(uri);
        assert_non_null(c);
        virDomainPtr dom = virDomainDefineXML(c, xml);
        if (!dom)
                fail_msg("define: %s", virGetLastErrorMessage());
        assert_int_equal(domxml_parse(xml, strlen(xml), &d, NULL), 0);
        assert_int_equal(secrets_check(&p, dom, d, c), 0);
        assert_int_equal(p.n, 3);
        for (size_t i = 0; i < p.n; i++) {
                assert_int_equal(p.v[i].status, CHECK_WARN);
                assert_non_null(strstr(p.v[i].message, "cannot ask the destination"));
        }
        assert_string_equal(p.v[0].name, "secret vdb");
        assert_non_null(strstr(p.v[0].message, "disk vdb (rbd volumes/volume-1) of inst-rbd needs secret " S1 " (ceph)"));
        preflight_free(&p);
        domxml_free(d);
        virDomainFree(dom);
        virConnectClose(c);
}

/* The result named "secret <disk>" of p. */
static const struct check_result *result(const struct preflight *p, const char *name)
{
        for (size_t i = 0; i < p->n; i++)
                if (streq(p->v[i].name, name))
                        return &p->v[i];
        fail_msg("no result '%s'", name);
        return NULL;
}

static void expect(const struct preflight *p, const char *name, enum check_status st, const char *text)
{
        const struct check_result *c = result(p, name);
        if (c->status != (int)st || !strstr(c->message, text))
                fail_msg("%s: status %d, '%s'; expected %d with '%s'", name, c->status, c->message, st, text);
}

static void run_check(virDomainPtr dom, const struct domxml *d, virConnectPtr dst, struct preflight *p)
{
        preflight_free(p);
        memset(p, 0, sizeof(*p));
        assert_int_equal(secrets_check(p, dom, d, dst), 0);
        assert_int_equal(p->n, 3);
}

static void test_check_embedded_secret_driver(void **state)
{
        char abs[PATH_MAX], uri[PATH_MAX + 16], root[] = "/tmp/migkit-test-secrets.XXXXXX", dsturi[64];
        struct domxml *d = NULL;
        struct preflight p = { 0 };
        (void)state;
        virSetErrorFunc(NULL, quiet);
        assert_non_null(mkdtemp(root));
        snprintf(dsturi, sizeof(dsturi), "secret:///embed?root=%s", root);
        assert_int_equal(virEventRegisterDefaultImpl(), 0); /* embedded drivers want one */
        virConnectPtr dst = virConnectOpen(dsturi);
        if (!dst) {
                print_message("SKIP: libvirt's embedded secret driver cannot be opened (%s); it comes with "
                              "libvirt-daemon-driver-secret\n", virGetLastErrorMessage());
                skip();
        }
        assert_non_null(realpath("tests/data/driver/hostB.xml", abs));
        snprintf(uri, sizeof(uri), "test://%s", abs);
        virConnectPtr c = virConnectOpen(uri);
        assert_non_null(c);
        virDomainPtr dom = virDomainDefineXML(c, xml);
        assert_non_null(dom);
        assert_int_equal(domxml_parse(xml, strlen(xml), &d, NULL), 0);

        /* the destination has none of them */
        run_check(dom, d, dst, &p);
        expect(&p, "secret vdb", CHECK_FAIL, "disk vdb (rbd volumes/volume-1) of inst-rbd needs secret " S1
               " (ceph), which the destination does not have");
        assert_non_null(strstr(result(&p, "secret vdb")->fix, "virsh secret-define"));
        expect(&p, "secret vdc", CHECK_FAIL, "libvirtiscsi");
        expect(&p, "secret vdc", CHECK_FAIL, "which the destination does not have");
        expect(&p, "secret vdd", CHECK_FAIL, "needs secret " S2);

        /* defined there, without a value; the usage one and a private one */
        virSecretPtr s1 = virSecretDefineXML(dst, "<secret ephemeral='no' private='no'><uuid>" S1 "</uuid>"
                                                  "<usage type='ceph'><name>client.cinder secret</name></usage></secret>", 0);
        virSecretPtr s3 = virSecretDefineXML(dst, "<secret ephemeral='no' private='no'><usage type='iscsi'>"
                                                  "<target>libvirtiscsi</target></usage></secret>", 0);
        virSecretPtr s2 = virSecretDefineXML(dst, "<secret ephemeral='no' private='yes'><uuid>" S2 "</uuid>"
                                                  "<usage type='volume'><volume>/var/lib/x.luks</volume></usage></secret>", 0);
        if (!s1 || !s2 || !s3)
                fail_msg("secret-define: %s", virGetLastErrorMessage());
        run_check(dom, d, dst, &p);
        expect(&p, "secret vdb", CHECK_FAIL, "the destination has it without a value");
        assert_non_null(strstr(result(&p, "secret vdb")->fix, "virsh secret-set-value " S1));
        expect(&p, "secret vdc", CHECK_FAIL, "without a value");
        expect(&p, "secret vdd", CHECK_OK, "the destination has it (private: its value cannot be read)");

        /* with their values */
        static const unsigned char key[] = "not-a-real-ceph-key";
        assert_int_equal(virSecretSetValue(s1, key, sizeof(key) - 1, 0), 0);
        assert_int_equal(virSecretSetValue(s3, key, sizeof(key) - 1, 0), 0);
        run_check(dom, d, dst, &p);
        expect(&p, "secret vdb", CHECK_OK, "disk vdb (rbd volumes/volume-1) of inst-rbd needs secret " S1
               " (ceph): the destination has it, with a value");
        expect(&p, "secret vdc", CHECK_OK, "with a value");

        /* a secret only the persistent definition names (attached with
         * --config) is checked too, and said so */
        static const char persistent[] =
                "<domain type='test'><name>inst-rbd2</name><uuid>6b7a1c2e-9f3d-4b8a-a1c2-3d4e5f607183</uuid><memory>65536</memory>"
                "<os><type>hvm</type></os><devices>"
                "<disk type='network' device='disk'><driver name='qemu' type='raw'/>"
                "<auth username='cinder'><secret type='ceph' uuid='" S3 "'/></auth>"
                "<source protocol='rbd' name='volumes/volume-2'><host name='ceph1' port='6789'/></source><target dev='vdb'/></disk>"
                "</devices></domain>";
        static const char live[] =
                "<domain type='test'><name>inst-rbd2</name><uuid>6b7a1c2e-9f3d-4b8a-a1c2-3d4e5f607183</uuid><memory>65536</memory>"
                "<os><type>hvm</type></os><devices></devices></domain>";
        virDomainPtr dom2 = virDomainDefineXML(c, persistent);
        struct domxml *d2 = NULL;
        assert_non_null(dom2);
        assert_int_equal(domxml_parse(live, strlen(live), &d2, NULL), 0);
        preflight_free(&p);
        memset(&p, 0, sizeof(p));
        assert_int_equal(secrets_check(&p, dom2, d2, dst), 0);
        assert_int_equal(p.n, 1);
        expect(&p, "secret vdb", CHECK_FAIL, "of inst-rbd2 (its persistent definition, which the migration carries) needs "
               "secret " S3 " (ceph), which the destination does not have");

        preflight_free(&p);
        domxml_free(d);
        domxml_free(d2);
        virSecretFree(s1);
        virSecretFree(s2);
        virSecretFree(s3);
        virDomainFree(dom);
        virDomainFree(dom2);
        virConnectClose(c);
        virConnectClose(dst);
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
        assert_int_equal(system(cmd), 0);
}

/* migkit doctor: one result per secret the guests here need, naming each
 * guest and disk that uses it once (a running guest's live and persistent
 * definitions both read); a WARN, never an OK,
 * when libvirt here cannot answer about secrets (the test driver). */
static void test_doctor_cannot_ask(void **state)
{
        char abs[PATH_MAX], uri[PATH_MAX + 16];
        struct preflight p = { 0 };
        (void)state;
        static const char other[] =
                "<domain type='test'><name>inst-b</name><uuid>7b7a1c2e-9f3d-4b8a-a1c2-3d4e5f607184</uuid><memory>65536</memory>"
                "<os><type>hvm</type></os><devices>"
                "<disk type='network' device='disk'><auth username='cinder'><secret type='ceph' uuid='" S1 "'/></auth>"
                "<source protocol='rbd' name='volumes/volume-3'><host name='ceph1'/></source><target dev='vdf'/></disk>"
                "<disk type='network' device='disk'><auth username='cinder'><secret type='ceph' uuid='" S1 "'/></auth>"
                "<source protocol='rbd' name='volumes/volume-4'><host name='ceph1'/></source><target dev='vdg'/></disk>"
                "</devices></domain>";
        virSetErrorFunc(NULL, quiet);
        assert_non_null(realpath("tests/data/driver/hostB.xml", abs));
        snprintf(uri, sizeof(uri), "test://%s", abs);
        virConnectPtr c = virConnectOpen(uri);
        assert_non_null(c);
        assert_int_equal(secrets_doctor(&p, NULL), 0);
        assert_int_equal(p.n, 0);
        assert_int_equal(secrets_doctor(&p, c), 0);
        size_t before = p.n; /* whatever the node file's own guests need */
        virDomainPtr dom = virDomainDefineXML(c, xml), dom2 = virDomainCreateXML(c, other, 0);
        assert_non_null(dom);
        assert_non_null(dom2);
        assert_int_equal(virDomainCreate(dom), 0); /* running and persistent: both definitions read */
        /* a disk only its persistent definition has (attached with --config) */
        _cleanup_free_ char *next = strdup(xml);
        assert_non_null(next);
        char *end = strstr(next, "</devices>");
        assert_non_null(end);
        *end = 0;
        _cleanup_free_ char *next_xml = pathf("%s<disk type='network' device='disk'><auth username='cinder'><secret type='ceph' uuid='"
                                              S3 "'/></auth><source protocol='rbd' name='volumes/volume-5'><host name='ceph1'/>"
                                              "</source><target dev='vdh'/></disk></devices></domain>", next);
        virDomainPtr redefined = virDomainDefineXML(c, next_xml);
        assert_non_null(redefined);
        virDomainFree(redefined);
        _cleanup_free_ char *live = virDomainGetXMLDesc(dom, 0);
        assert_null(strstr(live, S3));
        preflight_free(&p);
        memset(&p, 0, sizeof(p));

        assert_int_equal(secrets_doctor(&p, c), 0);
        assert_int_equal(p.n, before + 4);
        expect(&p, "secret " S3, CHECK_WARN, "secret " S3 " (ceph), used by inst-rbd (vdh): cannot ask");
        /* in the order libvirt lists the guests; inst-rbd's live and
         * persistent definitions both name S1: once */
        const char *m = result(&p, "secret " S1)->message, *e = strstr(m, ": cannot ask libvirt here: ");
        expect(&p, "secret " S1, CHECK_WARN, "secret " S1 " (ceph), used by inst-");
        assert_non_null(e);
        assert_int_equal(e - m, strlen("secret " S1 " (ceph), used by inst-rbd (vdb), inst-b (vdf), inst-b (vdg)"));
        assert_non_null(strstr(m, "inst-rbd (vdb)"));
        assert_non_null(strstr(m, "inst-b (vdf)"));
        assert_non_null(strstr(m, "inst-b (vdg)"));
        expect(&p, "secret libvirtiscsi", CHECK_WARN, "secret of usage 'libvirtiscsi' (iscsi), used by inst-rbd (vdc): cannot ask");
        expect(&p, "secret " S2, CHECK_WARN, "secret " S2 " (passphrase), used by inst-rbd (vdd): cannot ask");
        for (size_t i = 0; i < p.n; i++)
                assert_int_not_equal(p.v[i].status, CHECK_OK);

        preflight_free(&p);
        virDomainDestroy(dom);
        virDomainUndefine(dom);
        virDomainFree(dom);
        virDomainDestroy(dom2);
        virDomainFree(dom2);
        virConnectClose(c);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse),
                cmocka_unit_test(test_check_cannot_ask),
                cmocka_unit_test(test_check_embedded_secret_driver),
                cmocka_unit_test(test_doctor_cannot_ask),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
