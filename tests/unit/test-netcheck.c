/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* lib/netcheck.c against the real kernel, in a fresh network namespace
 * (unshare(CLONE_NEWNET), root only, else SKIP) with documentation
 * addresses: 198.51.100.1 on a bridge (its ports refuse, one listens),
 * 198.51.100.2 whose packets are dropped (iptables: filtered), 203.0.113.0/24
 * routed as unreachable. The destination name's resolution: a numeric
 * address, localhost (loopback: refused), a name under .invalid. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>

#include "checks.h"
#include "netcheck.h"
#include "testutil.h"
#include "util.h"

#define NPORTS (NETCHECK_PORT_MAX - NETCHECK_PORT_MIN + 1)

static char skip_reason[256];
static bool have_drop;          /* the iptables DROP rule is in place */

static int run(const char *cmd)
{
        int r = system(cmd);
        return r == 0 ? 0 : -1;
}

static int setup(void **state)
{
        (void)state;
        if (geteuid() != 0) {
                snprintf(skip_reason, sizeof(skip_reason), "not root: cannot create a network namespace");
                return 0;
        }
        if (unshare(CLONE_NEWNET) < 0) {
                snprintf(skip_reason, sizeof(skip_reason), "unshare(CLONE_NEWNET): %s", strerror(errno));
                return 0;
        }
        if (run("ip link set lo up && ip link add mk-nc0 type bridge && ip addr add 198.51.100.1/24 dev mk-nc0 && "
                "ip addr add 198.51.100.2/24 dev mk-nc0 && ip link set mk-nc0 up && "
                "ip route add unreachable 203.0.113.0/24") < 0)
                return -1;
        have_drop = run("iptables -A INPUT -d 198.51.100.2 -p tcp -j DROP 2>/dev/null") == 0;
        return 0;
}

/* A socket listening on addr:port (closed by the caller). */
static int listener(const char *addr, unsigned port)
{
        struct sockaddr_in in = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
        assert_true(fd >= 0);
        assert_int_equal(inet_pton(AF_INET, addr, &in.sin_addr), 1);
        assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), 0);
        assert_int_equal(bind(fd, (struct sockaddr *)&in, sizeof(in)), 0);
        assert_int_equal(listen(fd, 4), 0);
        return fd;
}

static const struct check_result *find(const struct preflight *p, const char *name)
{
        for (size_t i = 0; i < p->n; i++)
                if (streq(p->v[i].name, name))
                        return &p->v[i];
        return NULL;
}

static void test_dest_host(void **state)
{
        static const struct {
                const char *in, *host;
        } cases[] = {
                { "host2", "host2" },
                { "198.51.100.7", "198.51.100.7" },
                { "qemu+tls://host2/system", "host2" },
                { "qemu+tcp://root@host2:16509/system", "host2" },
                { "qemu+ssh://[2001:db8::1]:22/system", "2001:db8::1" },
                { "qemu:///system", NULL },
                { "test:///default", NULL },
        };
        (void)state;
        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                _cleanup_free_ char *h = NULL;
                assert_int_equal(netcheck_dest_host(cases[i].in, &h), 0);
                if (!cases[i].host)
                        assert_null(h);
                else
                        assert_string_equal(h, cases[i].host);
        }
}

static void test_ports(void **state)
{
        enum port_state st[NPORTS];
        int err = -1, lfd;
        (void)state;
        SKIP_IF_REASON(skip_reason);

        lfd = listener("198.51.100.1", NETCHECK_PORT_MIN + 5);
        uint64_t t0 = now_ms();
        assert_int_equal(netcheck_ports("198.51.100.1", NETCHECK_PORT_MIN, NETCHECK_PORT_MAX, 2000, st, &err), 0);
        close(lfd);
        /* refusals come at once: no waiting for the timeout */
        assert_true(now_ms() - t0 < 1000);
        for (size_t i = 0; i < NPORTS; i++)
                assert_int_equal(st[i], i == 5 ? PORT_OPEN : PORT_CLOSED);

        /* an unreachable route: an error at once, not a timeout */
        assert_int_equal(netcheck_ports("203.0.113.9", NETCHECK_PORT_MIN, NETCHECK_PORT_MIN + 3, 2000, st, &err), 0);
        for (size_t i = 0; i < 4; i++)
                assert_int_equal(st[i], PORT_UNREACHABLE);
        assert_true(err != 0);

        assert_int_equal(netcheck_ports("not-an-address", 1, 2, 100, st, &err), -EINVAL);
        assert_int_equal(netcheck_ports("198.51.100.1", 3, 2, 100, st, &err), -EINVAL);
}

static void test_ports_filtered(void **state)
{
        enum port_state st[NPORTS];
        int err = 0;
        (void)state;
        SKIP_IF_REASON(skip_reason);
        if (!have_drop) {
                fprintf(stderr, "\n*** SKIP %s: iptables cannot add a DROP rule in the namespace ***\n\n", __func__);
                skip();
        }
        uint64_t t0 = now_ms();
        assert_int_equal(netcheck_ports("198.51.100.2", NETCHECK_PORT_MIN, NETCHECK_PORT_MAX, 500, st, &err), 0);
        uint64_t took = now_ms() - t0;
        /* every port waited for once, all at the same time */
        assert_true(took >= 500 && took < 1500);
        for (size_t i = 0; i < NPORTS; i++)
                assert_int_equal(st[i], PORT_FILTERED);
}

static void test_resolve(void **state)
{
        _cleanup_strv_ char **a = NULL;
        int gai = 0;
        (void)state;
        SKIP_IF_REASON(skip_reason);

        assert_int_equal(netcheck_resolve("198.51.100.1", 2000, &a, &gai), 0);
        assert_string_equal(a[0], "198.51.100.1");
        assert_null(a[1]);
        strv_free(a);
        a = NULL;
        assert_int_equal(netcheck_resolve("no-such-host.invalid", 2000, &a, &gai), -EHOSTUNREACH);
        assert_null(a);
        assert_true(gai != 0);
}

/* The checks as `migkit check` and `doctor --dest` add them. */
static void test_run(void **state)
{
        struct preflight p = { 0 };
        const struct check_result *c;
        (void)state;
        SKIP_IF_REASON(skip_reason);

        /* reachable, nothing listening: OK, and said why */
        assert_int_equal(netcheck_run("qemu+tls://198.51.100.1/system", NULL, NULL, 0, &p), 0);
        assert_non_null(c = find(&p, "resolve"));
        assert_int_equal(c->status, CHECK_OK);
        assert_non_null(strstr(c->message, "'198.51.100.1' resolves on this host to 198.51.100.1"));
        assert_non_null(c = find(&p, "migration ports"));
        assert_int_equal(c->status, CHECK_OK);
        assert_non_null(strstr(c->message, "reachable, every port of TCP 49152-49215 answered (64 refused"));
        preflight_free(&p);

        /* the inbound address is the one probed */
        assert_int_equal(netcheck_run("198.51.100.1", "203.0.113.9", "ignored-with-inbound", 0, &p), 0);
        assert_non_null(c = find(&p, "migration ports"));
        assert_int_equal(c->status, CHECK_FAIL);
        assert_non_null(strstr(c->message, "203.0.113.9 ([migrate] inbound-address of 198.51.100.1) is unreachable"));
        preflight_free(&p);

        /* loopback: refused, naming the name and what it resolves to */
        assert_int_equal(netcheck_run("localhost", NULL, NULL, 0, &p), 0);
        assert_non_null(c = find(&p, "resolve"));
        assert_int_equal(c->status, CHECK_FAIL);
        assert_non_null(strstr(c->message, "'localhost' resolves on this host to 127.0.0.1"));
        assert_non_null(strstr(c->message, "loopback"));
        assert_null(find(&p, "migration ports"));
        preflight_free(&p);

        /* a name that does not resolve */
        assert_int_equal(netcheck_run("qemu+tls://no-such-host.invalid/system", NULL, NULL, 0, &p), 0);
        assert_non_null(c = find(&p, "resolve"));
        assert_int_equal(c->status, CHECK_FAIL);
        assert_non_null(strstr(c->message, "'no-such-host.invalid' does not resolve on this host"));
        assert_non_null(c->fix);
        assert_int_equal(p.n, 1);
        preflight_free(&p);

        /* a loopback inbound address */
        assert_int_equal(netcheck_run("198.51.100.1", "127.0.0.1", NULL, 0, &p), 0);
        assert_non_null(c = find(&p, "resolve inbound"));
        assert_int_equal(c->status, CHECK_FAIL);
        preflight_free(&p);

        /* the destination's own name is where the stream goes without an
         * inbound address: its resolution is checked, its address probed */
        assert_int_equal(netcheck_run("198.51.100.1", NULL, "localhost", 0, &p), 0);
        assert_non_null(c = find(&p, "resolve stream"));
        assert_int_equal(c->status, CHECK_FAIL);
        assert_non_null(strstr(c->message, "the destination's own host name"));
        assert_non_null(strstr(c->message, "'localhost' resolves on this host to 127.0.0.1"));
        assert_null(find(&p, "migration ports"));
        preflight_free(&p);
        assert_int_equal(netcheck_run("198.51.100.1", NULL, "203.0.113.9", 0, &p), 0);
        assert_non_null(c = find(&p, "migration ports"));
        assert_non_null(strstr(c->message, "203.0.113.9 (198.51.100.1's own host name 203.0.113.9) is unreachable"));
        preflight_free(&p);

        /* a URI without a host: nothing to check */
        assert_int_equal(netcheck_run("qemu:///system", NULL, NULL, 0, &p), 0);
        assert_int_equal(p.n, 0);
}

static void test_run_filtered(void **state)
{
        struct preflight p = { 0 };
        const struct check_result *c;
        (void)state;
        SKIP_IF_REASON(skip_reason);
        if (!have_drop) {
                fprintf(stderr, "\n*** SKIP %s: iptables cannot add a DROP rule in the namespace ***\n\n", __func__);
                skip();
        }
        assert_int_equal(netcheck_run("198.51.100.2", NULL, NULL, 300, &p), 0);
        assert_non_null(c = find(&p, "migration ports"));
        assert_int_equal(c->status, CHECK_FAIL);
        assert_non_null(strstr(c->message, "none of TCP 49152-49215 answered within 300 ms: filtered"));
        assert_non_null(strstr(c->fix, "allow TCP 49152-49215 from this host to 198.51.100.2"));
        preflight_free(&p);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_dest_host),
                cmocka_unit_test(test_ports),
                cmocka_unit_test(test_ports_filtered),
                cmocka_unit_test(test_resolve),
                cmocka_unit_test(test_run),
                cmocka_unit_test(test_run_filtered),
        };
        return cmocka_run_group_tests(tests, setup, NULL);
}
