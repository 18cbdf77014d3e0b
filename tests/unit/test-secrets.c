/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* lib/secrets: which libvirt secrets a domain's disks name (auth of network
 * disks, in <disk> or in <source>; encryption), and what a destination
 * that cannot answer about secrets gives (libvirt's test driver has no
 * secret driver: a WARN, never an OK). The real answers (missing: FAIL,
 * defined: OK) come from real libvirtds: tests/lab/e2e-san. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <limits.h>
#include <libvirt/virterror.h>

#include "secrets.h"
#include "testutil.h"

#define S1 "3b1f4d5e-1111-4222-8333-444455556666"
#define S2 "7c2e5f60-aaaa-4bbb-8ccc-ddddeeeeffff"

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

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse),
                cmocka_unit_test(test_check_cannot_ask),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
