/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* virt_fixup_persistent() where libvirt gets in the way, on its test driver:
 * the persistent definition changes between the read and the write (libvirt
 * has no compare-and-swap: the second read must catch it, and nothing is
 * written), a transient guest (no persistent definition to fix) and an
 * unknown one (nothing to do, no error). The race is a seam
 * (-Wl,--wrap=virDomainGetXMLDesc) that changes the definition right
 * after the first read. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <libvirt/virterror.h>

#include "util.h"
#include "virt.h"
#include "testutil.h"

#define U1 "4a6b2c1e-9f3d-4b8a-a1c2-3d4e5f607182"
#define CD "/var/lib/nova/instances/" U1 "/disk.config"

static virConnectPtr conn;
static int race_at; /* the inactive read after which the definition changes (0: never) */
static int inactive_reads;

char *__real_virDomainGetXMLDesc(virDomainPtr, unsigned);
char *__wrap_virDomainGetXMLDesc(virDomainPtr, unsigned);
char *__wrap_virDomainGetXMLDesc(virDomainPtr d, unsigned flags)
{
        char *x = __real_virDomainGetXMLDesc(d, flags);
        if (!(flags & VIR_DOMAIN_XML_INACTIVE) || ++inactive_reads != race_at || !x)
                return x;
        /* someone else edits the guest meanwhile: a new description */
        _cleanup_free_ char *edited = NULL;
        char *at = strstr(x, "</domain>");
        assert_non_null(at);
        edited = pathf("%.*s<description>edited meanwhile</description></domain>\n", (int)(at - x), x);
        virDomainPtr nd = virDomainDefineXML(conn, edited);
        assert_non_null(nd);
        virDomainFree(nd);
        return x;
}

static const char *const guest =
        "<domain type='test'><name>inst-1</name><uuid>" U1 "</uuid><memory unit='MiB'>64</memory><os><type>hvm</type></os>"
        "<devices><disk type='file' device='cdrom'><source file='" CD "'/><target dev='hdc' bus='ide'/></disk></devices></domain>";

static int setup(void **state)
{
        (void)state;
        virt_quiet_errors();
        conn = virConnectOpen("test:///default");
        race_at = inactive_reads = 0;
        return conn ? 0 : -1;
}

static int teardown(void **state)
{
        (void)state;
        virDomainPtr d = virDomainLookupByUUIDString(conn, U1);
        if (d) {
                if (virDomainIsActive(d) == 1)
                        virDomainDestroy(d);
                virDomainUndefine(d);
                virDomainFree(d);
        }
        virConnectClose(conn);
        return 0;
}

static char *inactive(void)
{
        virDomainPtr d = virDomainLookupByUUIDString(conn, U1);
        assert_non_null(d);
        char *x = __real_virDomainGetXMLDesc(d, VIR_DOMAIN_XML_INACTIVE);
        virDomainFree(d);
        return x;
}

static void test_changed_meanwhile(void **state)
{
        (void)state;
        char *stripped[] = { (char *)"hdc " CD, NULL };
        _cleanup_free_ char *err = NULL, *after = NULL;
        _cleanup_strv_ char **done = NULL;
        virDomainPtr d = virDomainDefineXML(conn, guest);
        assert_non_null(d);
        virDomainFree(d);

        race_at = 1;
        assert_int_equal(virt_fixup_persistent(conn, U1, stripped, &done, &err), -ESTALE);
        assert_non_null(strstr(err, "the persistent definition changed meanwhile; try again"));
        assert_null(done);
        /* the other edit stands, and the config drive is still named: nothing was written */
        after = inactive();
        assert_non_null(strstr(after, "edited meanwhile"));
        assert_non_null(strstr(after, "<source file='" CD "'/>"));

        /* the next try, with no race, does it */
        race_at = 0;
        free(err);
        err = NULL;
        assert_int_equal(virt_fixup_persistent(conn, U1, stripped, &done, &err), 1);
        free(after);
        after = inactive();
        assert_null(strstr(after, "<source file='" CD "'/>"));
        assert_non_null(strstr(after, "edited meanwhile"));
}

static void test_transient_and_unknown(void **state)
{
        (void)state;
        char *stripped[] = { (char *)"hdc " CD, NULL };
        _cleanup_free_ char *err = NULL;
        /* unknown: nothing to fix */
        assert_int_equal(virt_fixup_persistent(conn, U1, stripped, NULL, &err), 0);
        assert_null(err);
        /* transient: no persistent definition, nothing written */
        virDomainPtr d = virDomainCreateXML(conn, guest, 0);
        assert_non_null(d);
        virDomainFree(d);
        assert_int_equal(virt_fixup_persistent(conn, U1, stripped, NULL, &err), 0);
        assert_null(err);
        assert_int_equal(inactive_reads, 0);
}

static void test_close_reasons(void **state)
{
        (void)state;
        assert_string_equal(virt_close_reason(VIR_CONNECT_CLOSE_REASON_ERROR), "I/O error");
        assert_string_equal(virt_close_reason(VIR_CONNECT_CLOSE_REASON_EOF), "libvirt closed it");
        assert_string_equal(virt_close_reason(VIR_CONNECT_CLOSE_REASON_KEEPALIVE), "keepalive timed out");
        assert_string_equal(virt_close_reason(VIR_CONNECT_CLOSE_REASON_CLIENT), "closed by us");
        assert_string_equal(virt_close_reason(99), "unknown reason");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_changed_meanwhile, setup, teardown),
                cmocka_unit_test_setup_teardown(test_transient_and_unknown, setup, teardown),
                cmocka_unit_test(test_close_reasons),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
