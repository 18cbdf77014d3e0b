/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Bridges over rtnetlink, against the real kernel: every test runs in a fresh
 * network namespace (the setup moves the whole test process into a new one,
 * so the host's interfaces are never visible, let alone touched), and what
 * the library reports is cross-checked with `ip -d -j link show` and
 * if_nametoindex(). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <net/if.h>
#include <sched.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

#include "bridge.h"
#include "util.h"
#include "testutil.h"

extern char **environ;

/* Why this test cannot run here, or NULL. */
static char skip_reason[256];

static const char *ip_path(void)
{
        static const char *const candidates[] = { "/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip" };

        for (size_t i = 0; i < ARRAY_SIZE(candidates); i++)
                if (access(candidates[i], X_OK) == 0)
                        return candidates[i];
        return NULL;
}

static size_t count_links(void)
{
        struct if_nameindex *l = if_nameindex();
        size_t n = 0;

        assert_non_null(l);
        while (l[n].if_index)
                n++;
        if_freenameindex(l);
        return n;
}

static int setup_netns(void **state)
{
        struct if_nameindex *l;

        skip_reason[0] = '\0';
        if (geteuid() != 0) {
                snprintf(skip_reason, sizeof(skip_reason), "not root (euid %u): cannot create a network namespace",
                         (unsigned) geteuid());
                return 0;
        }
        if (!ip_path()) {
                snprintf(skip_reason, sizeof(skip_reason), "no ip(8) binary for the cross-checks");
                return 0;
        }
        if (unshare(CLONE_NEWNET) < 0) {
                snprintf(skip_reason, sizeof(skip_reason), "unshare(CLONE_NEWNET): %s", strerror(errno));
                return 0;
        }
        /* Refuse to go on unless this is a fresh namespace: only "lo". */
        l = if_nameindex();
        if (!l)
                return -1;
        bool fresh = l[0].if_index && streq(l[0].if_name, "lo") && !l[1].if_index;
        if_freenameindex(l);
        if (!fresh) {
                fprintf(stderr, "setup: the new network namespace is not empty; refusing to run\n");
                return -1;
        }
        return 0;
}

#define REQUIRE_NETNS() SKIP_IF_REASON(skip_reason)

/* Runs ip(8) with args (no shell) and returns its exit status; its stdout and
 * stderr go to *out and *err when not NULL. */
static int run_ip(const char *const *args, char **out, char **err)
{
        const char *argv[16] = { ip_path() };
        posix_spawn_file_actions_t fa;
        int po[2], pe[2], status;
        pid_t pid;
        size_t n = 1;

        for (; args[n - 1]; n++) {
                assert_true(n < ARRAY_SIZE(argv) - 1);
                argv[n] = args[n - 1];
        }
        argv[n] = NULL;

        assert_int_equal(pipe2(po, O_CLOEXEC), 0);
        assert_int_equal(pipe2(pe, O_CLOEXEC), 0);
        assert_int_equal(posix_spawn_file_actions_init(&fa), 0);
        assert_int_equal(posix_spawn_file_actions_adddup2(&fa, po[1], STDOUT_FILENO), 0);
        assert_int_equal(posix_spawn_file_actions_adddup2(&fa, pe[1], STDERR_FILENO), 0);
        assert_int_equal(posix_spawn(&pid, argv[0], &fa, NULL, (char *const *) argv, environ), 0);
        posix_spawn_file_actions_destroy(&fa);
        close(po[1]);
        close(pe[1]);

        /* The outputs are far below a pipe's capacity, so reading one after
         * the other cannot deadlock. */
        char *o = NULL, *e = NULL;
        assert_true(read_full_fd(po[0], 1 << 20, &o) >= 0);
        assert_true(read_full_fd(pe[0], 1 << 20, &e) >= 0);
        close(po[0]);
        close(pe[0]);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));

        if (out)
                *out = o;
        else
                free(o);
        if (err)
                *err = e;
        else
                free(e);
        return WEXITSTATUS(status);
}

/* What ip(8) says about an interface. */
struct ip_view {
        bool exists;
        unsigned ifindex;
        unsigned mtu;
        bool up;
        char kind[32];  /* linkinfo info_kind, "" if none */
};

static unsigned json_uint(const char *json, const char *key)
{
        const char *p = strstr(json, key);
        unsigned v;

        assert_non_null(p);
        assert_int_equal(sscanf(p + strlen(key), "%u", &v), 1);
        return v;
}

static struct ip_view ip_show(const char *name)
{
        _cleanup_free_ char *out = NULL;
        struct ip_view v = {};
        const char *p, *end;

        if (run_ip((const char *[]) { "-d", "-j", "link", "show", "dev", name, NULL }, &out, NULL) != 0)
                return v;  /* "Device does not exist" */
        v.exists = true;
        v.ifindex = json_uint(out, "\"ifindex\":");
        v.mtu = json_uint(out, "\"mtu\":");

        p = strstr(out, "\"flags\":[");
        assert_non_null(p);
        end = strchr(p, ']');
        assert_non_null(end);
        p = strstr(p, "\"UP\"");
        v.up = p && p < end;

        p = strstr(out, "\"info_kind\":\"");
        if (p) {
                p += strlen("\"info_kind\":\"");
                end = strchr(p, '"');
                assert_non_null(end);
                assert_true((size_t) (end - p) < sizeof(v.kind));
                memcpy(v.kind, p, (size_t) (end - p));
        }
        return v;
}

/* Asserts that name is a bridge, up, with the given MTU, according to both
 * link_get and ip(8), which must agree on the ifindex. Returns the ifindex. */
static unsigned assert_bridge(const char *name, unsigned mtu)
{
        struct link_info li = {};
        struct ip_view v;

        assert_int_equal(link_get(name, &li), 0);
        assert_true(li.is_bridge);
        assert_int_equal(link_is_bridge(name), 1);
        assert_true(li.up);
        assert_int_equal(li.mtu, mtu);
        assert_int_not_equal(li.ifindex, 0);
        assert_int_equal(li.ifindex, if_nametoindex(name));

        v = ip_show(name);
        assert_true(v.exists);
        assert_string_equal(v.kind, "bridge");
        assert_true(v.up);
        assert_int_equal(v.mtu, mtu);
        assert_int_equal(v.ifindex, li.ifindex);
        return li.ifindex;
}

static void assert_no_link(const char *name)
{
        struct link_info li;

        assert_int_equal(link_get(name, &li), -ENODEV);
        assert_int_equal(link_is_bridge(name), -ENODEV);
        assert_int_equal(if_nametoindex(name), 0);
        assert_false(ip_show(name).exists);
}

static void test_create_mtus(void **state)
{
        static const unsigned mtus[] = { 1450, 9000, 1500, 68, 65535 };
        char *const sentinel = (char *) "not touched";

        REQUIRE_NETNS();
        for (size_t i = 0; i < ARRAY_SIZE(mtus); i++) {
                char name[IFNAMSIZ];
                char *ext = sentinel;

                snprintf(name, sizeof(name), "mkbr%u", mtus[i]);
                assert_int_equal(bridge_create(name, mtus[i], &ext), 1);
                assert_null(ext);  /* cleared on entry, not set on success */
                assert_bridge(name, mtus[i]);
        }
        assert_int_equal(count_links(), 1 + ARRAY_SIZE(mtus));
}

static void test_lo_is_not_a_bridge(void **state)
{
        struct link_info li = { .is_bridge = true, .up = true };
        int r;

        REQUIRE_NETNS();
        /* Down in a fresh namespace, MTU above any Ethernet one, no link kind. */
        assert_int_equal(link_get("lo", &li), 0);
        assert_int_equal(li.ifindex, if_nametoindex("lo"));
        assert_int_equal(li.mtu, ip_show("lo").mtu);
        assert_int_equal(li.mtu, 65536);
        assert_false(li.up);
        assert_false(li.is_bridge);
        r = link_is_bridge("lo"); /* its driver may not say */
        assert_true(r == 0 || r == -EOPNOTSUPP);
        assert_int_equal(bridge_delete("lo"), -EMEDIUMTYPE);
        assert_int_equal(if_nametoindex("lo"), 1);
}

static void test_create_existing_changes_nothing(void **state)
{
        struct link_info li = {};
        unsigned ifindex;
        char *ext = NULL;

        REQUIRE_NETNS();
        assert_int_equal(bridge_create("mkbr0", 9000, NULL), 1);
        ifindex = assert_bridge("mkbr0", 9000);

        /* Up and same MTU: nothing to do. */
        assert_int_equal(bridge_create("mkbr0", 9000, &ext), 0);
        assert_null(ext);
        assert_int_equal(assert_bridge("mkbr0", 9000), ifindex);

        /* Down, and asked for another MTU: still left exactly as it was. */
        assert_int_equal(run_ip((const char *[]) { "link", "set", "dev", "mkbr0", "down", NULL }, NULL, NULL), 0);
        assert_int_equal(bridge_create("mkbr0", 1450, &ext), 0);
        assert_null(ext);
        assert_int_equal(link_get("mkbr0", &li), 0);
        assert_int_equal(li.ifindex, ifindex);
        assert_int_equal(li.mtu, 9000);
        assert_false(li.up);
        assert_true(li.is_bridge);
        struct ip_view v = ip_show("mkbr0");
        assert_int_equal(v.mtu, 9000);
        assert_false(v.up);
        assert_int_equal(count_links(), 2);
}

enum {
        RACE_EXISTED = 0,
        RACE_CREATED = 1,
        RACE_FAILED = 2,     /* bridge_create < 0 */
        RACE_BAD_VIEW = 3,   /* returned >= 0, but link_get disagrees */
};

/* Forked: waits at the barrier, races, then checks that what it sees right
 * after returning is the finished bridge, up. */
static _Noreturn void race_child(int barrier, const char *name, unsigned mtu)
{
        struct link_info li = {};
        char c;
        int r;

        if (read(barrier, &c, 1) != 0)
                _exit(100);
        r = bridge_create(name, mtu, NULL);
        if (r < 0)
                _exit(RACE_FAILED);
        if (link_get(name, &li) < 0 || !li.is_bridge || !li.up || li.mtu != mtu)
                _exit(RACE_BAD_VIEW);
        _exit(r == 1 ? RACE_CREATED : RACE_EXISTED);
}

static void test_concurrent_create(void **state)
{
        enum { N = 8, ROUNDS = 5 };

        REQUIRE_NETNS();
        for (unsigned round = 0; round < ROUNDS; round++) {
                char name[IFNAMSIZ];
                unsigned counts[4] = {};
                pid_t pids[N];
                int barrier[2];

                snprintf(name, sizeof(name), "mkrace%u", round);
                assert_int_equal(pipe(barrier), 0);
                for (int i = 0; i < N; i++) {
                        pids[i] = fork();
                        assert_true(pids[i] >= 0);
                        if (pids[i] == 0) {
                                close(barrier[1]);
                                race_child(barrier[0], name, 1400 + round);
                        }
                }
                close(barrier[0]);
                close(barrier[1]);  /* releases all children at once */

                for (int i = 0; i < N; i++) {
                        int status;
                        assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
                        assert_true(WIFEXITED(status));
                        assert_in_range(WEXITSTATUS(status), 0, 3);
                        counts[WEXITSTATUS(status)]++;
                }
                assert_int_equal(counts[RACE_FAILED], 0);
                assert_int_equal(counts[RACE_BAD_VIEW], 0);
                assert_int_equal(counts[RACE_CREATED], 1);
                assert_int_equal(counts[RACE_EXISTED], N - 1);
                assert_bridge(name, 1400 + round);
        }
        assert_int_equal(count_links(), 1 + ROUNDS);
}

/* Creates a non-bridge interface `name` with ip(8): a dummy if the kernel has
 * the module, else a veth pair. Returns false if neither is available. */
static bool make_non_bridge(const char *name, char *kind, size_t kind_size)
{
        _cleanup_free_ char *err = NULL;

        if (run_ip((const char *[]) { "link", "add", name, "type", "dummy", NULL }, NULL, &err) == 0) {
                snprintf(kind, kind_size, "dummy");
                return true;
        }
        free(err);
        err = NULL;
        if (run_ip((const char *[]) { "link", "add", name, "type", "veth", "peer", "name", "mkpeer0", NULL },
                   NULL, &err) == 0) {
                snprintf(kind, kind_size, "veth");
                return true;
        }
        fprintf(stderr, "ip link add %s type veth: %s", name, err);
        return false;
}

static void test_existing_non_bridge(void **state)
{
        struct link_info before = {}, after = {};
        struct ip_view v;
        char kind[16];
        char *ext = NULL;

        REQUIRE_NETNS();
        if (!make_non_bridge("mkbr0", kind, sizeof(kind))) {
                fprintf(stderr, "\n*** SKIP %s: neither dummy nor veth links can be created ***\n\n", __func__);
                skip();
        }
        /* Some MTU no bridge call below would set. */
        assert_int_equal(run_ip((const char *[]) { "link", "set", "dev", "mkbr0", "mtu", "1234", NULL }, NULL, NULL), 0);
        assert_int_equal(link_get("mkbr0", &before), 0);
        assert_false(before.is_bridge);
        assert_int_equal(link_is_bridge("mkbr0"), 0); /* dummy and veth drivers say who they are */
        assert_false(before.up);
        assert_int_equal(before.mtu, 1234);

        assert_int_equal(bridge_create("mkbr0", 9000, &ext), 0);
        assert_null(ext);
        assert_int_equal(bridge_delete("mkbr0"), -EMEDIUMTYPE);

        assert_int_equal(link_get("mkbr0", &after), 0);
        assert_memory_equal(&before, &after, sizeof(before));
        v = ip_show("mkbr0");
        assert_true(v.exists);
        assert_string_equal(v.kind, kind);
        assert_int_equal(v.ifindex, before.ifindex);
        assert_int_equal(v.mtu, 1234);
        assert_false(v.up);
}

/* The message ip(8) prints for the same kernel error, as iproute2 formats it. */
static void assert_same_message_as_ip(const char *ext, const char *ip_err)
{
        _cleanup_free_ char *expect = NULL;
        size_t len = strlen(ext);

        assert_true(len > 0);
        assert_true(asprintf(&expect, "Error: %s%s\n", ext, ext[len - 1] == '.' ? "" : ".") > 0);
        assert_string_equal(ip_err, expect);
}

static void test_bad_mtu(void **state)
{
        static const unsigned mtus[] = { 70000, 65536, 67, 10, 0 };

        REQUIRE_NETNS();
        for (size_t i = 0; i < ARRAY_SIZE(mtus); i++) {
                _cleanup_free_ char *ext = NULL, *ip_err = NULL;
                char mtu[16];
                int r;

                r = bridge_create("mkbad", mtus[i], &ext);
                assert_int_equal(r, -EINVAL);
                assert_no_link("mkbad");

                /* Without ext_err, the same error. */
                assert_int_equal(bridge_create("mkbad", mtus[i], NULL), -EINVAL);
                assert_no_link("mkbad");

                /* ip(8) sends the same request; whether the kernel explains
                 * itself shows in what ip prints, and we must pass out the
                 * same text. */
                snprintf(mtu, sizeof(mtu), "%u", mtus[i]);
                assert_int_not_equal(run_ip((const char *[]) { "link", "add", "mkbad", "mtu", mtu, "type", "bridge", NULL },
                                            NULL, &ip_err), 0);
                if (strncmp(ip_err, "Error: ", 7) == 0) {
                        assert_non_null(ext);
                        assert_same_message_as_ip(ext, ip_err);
                        fprintf(stderr, "MTU %u: kernel says \"%s\"\n", mtus[i], ext);
                } else {
                        fprintf(stderr, "MTU %u: no extended ack from this kernel (ip says: %s)\n", mtus[i], ip_err);
                        assert_null(ext);
                }
                assert_no_link("mkbad");
        }
        assert_int_equal(count_links(), 1);
}

static void test_missing_and_delete(void **state)
{
        REQUIRE_NETNS();
        assert_no_link("mknone");
        assert_int_equal(bridge_delete("mknone"), 0);

        assert_int_equal(bridge_create("mkbr0", 1500, NULL), 1);
        assert_bridge("mkbr0", 1500);
        assert_int_equal(bridge_delete("mkbr0"), 1);
        assert_no_link("mkbr0");
        assert_int_equal(bridge_delete("mkbr0"), 0);
        assert_int_equal(count_links(), 1);

        /* Gone for good: the name can be created again. */
        assert_int_equal(bridge_create("mkbr0", 1500, NULL), 1);
        assert_bridge("mkbr0", 1500);
}

static void test_name_length(void **state)
{
        const char *too_long = "mk3456789abcdef0";  /* 16 bytes: IFNAMSIZ with the NUL would be 17 */
        const char *longest = "mk3456789abcdef";    /* 15 bytes, the kernel's maximum */
        struct link_info li;
        char *ext = NULL;

        REQUIRE_NETNS();
        assert_int_equal(strlen(too_long), IFNAMSIZ);
        assert_int_equal(link_get(too_long, &li), -EINVAL);
        assert_int_equal(link_is_bridge(too_long), -EINVAL);
        assert_int_equal(bridge_create(too_long, 1500, &ext), -EINVAL);
        assert_null(ext);
        assert_int_equal(bridge_delete(too_long), -EINVAL);
        assert_int_equal(link_get("mk3456789abcdef0123456789", &li), -EINVAL);
        assert_int_equal(bridge_create("", 1500, NULL), -EINVAL);
        assert_int_equal(link_get("", &li), -EINVAL);
        assert_int_equal(count_links(), 1);

        assert_int_equal(bridge_create(longest, 1500, NULL), 1);
        assert_bridge(longest, 1500);
        assert_int_equal(count_links(), 2);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup(test_create_mtus, setup_netns),
                cmocka_unit_test_setup(test_lo_is_not_a_bridge, setup_netns),
                cmocka_unit_test_setup(test_create_existing_changes_nothing, setup_netns),
                cmocka_unit_test_setup(test_concurrent_create, setup_netns),
                cmocka_unit_test_setup(test_existing_non_bridge, setup_netns),
                cmocka_unit_test_setup(test_bad_mtu, setup_netns),
                cmocka_unit_test_setup(test_missing_and_delete, setup_netns),
                cmocka_unit_test_setup(test_name_length, setup_netns),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
