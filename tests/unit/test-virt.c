/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The persistent-definition fix-up against libvirt's test driver
 * (test:///default, in this process): what the hook stripped from the
 * running definition goes from the persistent one too, and nothing else. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <libvirt/libvirt.h>

#include "testutil.h"
#include "util.h"
#include "virt.h"

#define U1 "4a6b2c1e-9f3d-4b8a-a1c2-3d4e5f607182"
#define U2 "0f0e0d0c-0b0a-4998-8776-655443322110"
#define CFGDRIVE(u) "/var/lib/nova/instances/" u "/disk.config"
#define SRC_LINE(u) "      <source file='" CFGDRIVE(u) "'/>\n"

static virConnectPtr conn;

static int setup(void **state)
{
        (void)state;
        virt_quiet_errors();
        conn = virConnectOpen("test:///default");
        return conn ? 0 : -1;
}

static int teardown(void **state)
{
        (void)state;
        virConnectClose(conn);
        return 0;
}

/* A Nova-like guest: the config drive (hdc), an ISO the operator attached
 * (hdd), a disk (vda). */
static char *domain_xml(const char *name, const char *uuid)
{
        return pathf("<domain type='test'><name>%s</name><uuid>%s</uuid><memory>65536</memory>"
                     "<os><type>hvm</type></os><devices>"
                     "<disk type='file' device='disk'><source file='/var/lib/nova/instances/%s/disk'/>"
                     "<target dev='vda' bus='virtio'/></disk>"
                     "<disk type='file' device='cdrom'><source file='" "/var/lib/nova/instances/%s/disk.config'/>"
                     "<target dev='hdc' bus='ide'/><readonly/></disk>"
                     "<disk type='file' device='cdrom'><source file='/isos/other.iso'/>"
                     "<target dev='hdd' bus='ide'/><readonly/></disk>"
                     "</devices></domain>",
                     name, uuid, uuid, uuid);
}

static char *inactive_xml(const char *uuid)
{
        virDomainPtr d = virDomainLookupByUUIDString(conn, uuid);
        assert_non_null(d);
        char *x = virDomainGetXMLDesc(d, VIR_DOMAIN_XML_INACTIVE | VIR_DOMAIN_XML_SECURE);
        assert_non_null(x);
        virDomainFree(d);
        return x;
}

static char *live_xml(const char *uuid)
{
        virDomainPtr d = virDomainLookupByUUIDString(conn, uuid);
        assert_non_null(d);
        char *x = virDomainGetXMLDesc(d, 0);
        assert_non_null(x);
        virDomainFree(d);
        return x;
}

/* text without the first occurrence of line */
static char *without(const char *text, const char *line)
{
        const char *p = strstr(text, line);
        assert_non_null(p);
        return pathf("%.*s%s", (int)(p - text), text, p + strlen(line));
}

static void undefine(const char *uuid)
{
        virDomainPtr d = virDomainLookupByUUIDString(conn, uuid);
        if (!d)
                return;
        if (virDomainIsActive(d) == 1)
                virDomainDestroy(d);
        virDomainUndefine(d);
        virDomainFree(d);
}

static void test_fixup_persistent(void **state)
{
        _cleanup_free_ char *xml = domain_xml("inst-1", U1), *before = NULL, *after = NULL, *expected = NULL,
                            *again = NULL, *err = NULL;
        _cleanup_strv_ char **done = NULL;
        char *stripped[] = { (char *)"hdc " CFGDRIVE(U1), NULL };
        (void)state;

        virDomainPtr d = virDomainDefineXML(conn, xml);
        assert_non_null(d);
        virDomainFree(d);
        before = inactive_xml(U1);
        assert_non_null(strstr(before, SRC_LINE(U1)));

        assert_int_equal(virt_fixup_persistent(conn, U1, stripped, &done, &err), 1);
        assert_null(err);
        assert_int_equal(strv_length(done), 1);
        assert_string_equal(done[0], stripped[0]);
        after = inactive_xml(U1);
        /* exactly the config drive's <source> went: the cdrom, its target,
         * the other cdrom's ISO and the disk are all still there */
        expected = without(before, SRC_LINE(U1));
        assert_string_equal(after, expected);
        assert_non_null(strstr(after, "<source file='/isos/other.iso'/>"));
        assert_non_null(strstr(after, "<target dev='hdc' bus='ide'/>"));

        /* idempotent */
        assert_int_equal(virt_fixup_persistent(conn, U1, stripped, NULL, NULL), 0);
        again = inactive_xml(U1);
        assert_string_equal(again, after);
        undefine(U1);
}

static void test_fixup_matches_exactly(void **state)
{
        _cleanup_free_ char *xml = domain_xml("inst-1", U1), *before = NULL, *after = NULL;
        char *wrong_path[] = { (char *)"hdc /var/lib/nova/instances/" U2 "/disk.config", NULL };
        char *wrong_target[] = { (char *)"hdd " CFGDRIVE(U1), NULL };
        char *no_target[] = { (char *)"- " CFGDRIVE(U1), NULL };
        char *a_disk[] = { (char *)"vda /var/lib/nova/instances/" U1 "/disk", NULL };
        char *garbage[] = { (char *)"hdc", (char *)"", NULL };
        char *none[] = { NULL };
        (void)state;

        virDomainPtr d = virDomainDefineXML(conn, xml);
        assert_non_null(d);
        virDomainFree(d);
        before = inactive_xml(U1);
        assert_int_equal(virt_fixup_persistent(conn, U1, wrong_path, NULL, NULL), 0);
        assert_int_equal(virt_fixup_persistent(conn, U1, wrong_target, NULL, NULL), 0);
        assert_int_equal(virt_fixup_persistent(conn, U1, no_target, NULL, NULL), 0);
        assert_int_equal(virt_fixup_persistent(conn, U1, a_disk, NULL, NULL), 0);
        assert_int_equal(virt_fixup_persistent(conn, U1, garbage, NULL, NULL), 0);
        assert_int_equal(virt_fixup_persistent(conn, U1, none, NULL, NULL), 0);
        assert_int_equal(virt_fixup_persistent(conn, U1, NULL, NULL, NULL), 0);
        after = inactive_xml(U1);
        assert_string_equal(after, before);
        undefine(U1);
}

/* A running guest: the next boot's definition changes, the running one not. */
static void test_fixup_running(void **state)
{
        _cleanup_free_ char *xml = domain_xml("inst-2", U2), *live_before = NULL, *live_after = NULL, *after = NULL;
        char *stripped[] = { (char *)"hdc " CFGDRIVE(U2), NULL };
        (void)state;

        virDomainPtr d = virDomainDefineXML(conn, xml);
        assert_non_null(d);
        assert_int_equal(virDomainCreate(d), 0);
        virDomainFree(d);
        live_before = live_xml(U2);
        assert_int_equal(virt_fixup_persistent(conn, U2, stripped, NULL, NULL), 1);
        live_after = live_xml(U2);
        assert_string_equal(live_after, live_before);
        after = inactive_xml(U2);
        assert_null(strstr(after, CFGDRIVE(U2)));
        assert_non_null(strstr(after, "<source file='/isos/other.iso'/>"));
        undefine(U2);
}

static void test_fixup_nothing_to_fix(void **state)
{
        _cleanup_free_ char *xml = domain_xml("inst-t", U1), *live = NULL;
        char *stripped[] = { (char *)"hdc " CFGDRIVE(U1), NULL };
        (void)state;

        /* no such domain (it left, or never came) */
        assert_int_equal(virt_fixup_persistent(conn, U1, stripped, NULL, NULL), 0);
        /* a transient domain has no persistent definition to fix */
        virDomainPtr d = virDomainCreateXML(conn, xml, 0);
        assert_non_null(d);
        virDomainFree(d);
        assert_int_equal(virt_fixup_persistent(conn, U1, stripped, NULL, NULL), 0);
        live = live_xml(U1);
        assert_non_null(strstr(live, CFGDRIVE(U1)));
        undefine(U1);
}

static void test_fixup_libvirt_error(void **state)
{
        _cleanup_free_ char *err = NULL;
        char *stripped[] = { (char *)"hdc " CFGDRIVE(U1), NULL };
        (void)state;
        virConnectPtr ro = virConnectOpenReadOnly("test:///default");
        assert_non_null(ro);
        _cleanup_free_ char *xml = domain_xml("inst-ro", U1);
        virDomainPtr d = virDomainDefineXML(conn, xml);
        assert_non_null(d);
        virDomainFree(d);
        /* a read-only connection may not see secrets nor define: an error
         * with libvirt's message, nothing changed */
        assert_int_equal(virt_fixup_persistent(ro, U1, stripped, NULL, &err), -EIO);
        assert_non_null(err);
        assert_non_null(strstr(err, "persistent definition"));
        virConnectClose(ro);
        _cleanup_free_ char *after = inactive_xml(U1);
        assert_non_null(strstr(after, CFGDRIVE(U1)));
        undefine(U1);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_fixup_persistent),
                cmocka_unit_test(test_fixup_matches_exactly),
                cmocka_unit_test(test_fixup_running),
                cmocka_unit_test(test_fixup_nothing_to_fix),
                cmocka_unit_test(test_fixup_libvirt_error),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
