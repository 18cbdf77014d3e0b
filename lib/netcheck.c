/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "netcheck.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include "listen.h"
#include "util.h"

#define DEFAULT_TIMEOUT_MS 2000

int netcheck_dest_host(const char *dest, char **ret)
{
        const char *p = strstr(dest, "://"), *end;

        *ret = NULL;
        if (!p)
                return (*ret = strdup(dest)) ? 0 : -ENOMEM;
        p += 3;
        end = p + strcspn(p, "/?");
        const char *at = memchr(p, '@', (size_t)(end - p));
        if (at)
                p = at + 1;
        if (*p == '[') {
                const char *close = memchr(p, ']', (size_t)(end - p));
                if (!close)
                        return 0;
                p++;
                end = close;
        } else {
                const char *colon = memchr(p, ':', (size_t)(end - p));
                if (colon)
                        end = colon;
        }
        if (end == p)
                return 0;
        return (*ret = strndup(p, (size_t)(end - p))) ? 0 : -ENOMEM;
}

int netcheck_resolve(const char *name, unsigned timeout_ms, char ***ret, int *gai_err)
{
        struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_ADDRCONFIG };
        /* on the heap: a lookup that cannot be cancelled still writes into it */
        struct gaicb *req = calloc(1, sizeof(*req));
        struct gaicb *list[1] = { req };
        struct timespec ts = { .tv_sec = timeout_ms / 1000, .tv_nsec = (long)(timeout_ms % 1000) * 1000000 };
        _cleanup_strv_ char **l = NULL;
        int r;

        *ret = NULL;
        *gai_err = 0;
        if (!req)
                return -ENOMEM;
        req->ar_name = name;
        req->ar_request = &hints;
        r = getaddrinfo_a(GAI_NOWAIT, list, 1, NULL);
        if (r != 0) {
                free(req);
                *gai_err = r;
                return r == EAI_MEMORY ? -ENOMEM : -EHOSTUNREACH;
        }
        while ((r = gai_suspend((const struct gaicb *const *)list, 1, &ts)) == EAI_INTR)
                ;
        if (r == EAI_AGAIN && gai_cancel(req) == EAI_NOTCANCELED)
                return -ETIMEDOUT; /* req stays with the resolver's thread */
        r = gai_error(req);
        if (r == EAI_CANCELED || r == EAI_INPROGRESS) {
                free(req);
                return -ETIMEDOUT;
        }
        if (r != 0) {
                if (req->ar_result)
                        freeaddrinfo(req->ar_result);
                free(req);
                *gai_err = r;
                return r == EAI_MEMORY ? -ENOMEM : -EHOSTUNREACH;
        }
        for (struct addrinfo *a = req->ar_result; a && r == 0; a = a->ai_next) {
                char buf[INET6_ADDRSTRLEN];
                const void *src = a->ai_family == AF_INET ? (const void *)&((struct sockaddr_in *)(void *)a->ai_addr)->sin_addr
                                  : (const void *)&((struct sockaddr_in6 *)(void *)a->ai_addr)->sin6_addr;
                if ((a->ai_family == AF_INET || a->ai_family == AF_INET6) && inet_ntop(a->ai_family, src, buf, sizeof(buf)))
                        r = strv_push_unique(&l, buf);
        }
        freeaddrinfo(req->ar_result);
        free(req);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(l);
        return 0;
}

static int fill_sockaddr(const char *addr, unsigned port, struct sockaddr_storage *ss, socklen_t *len)
{
        struct sockaddr_in *in = (struct sockaddr_in *)ss;
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

        memset(ss, 0, sizeof(*ss));
        if (inet_pton(AF_INET, addr, &in->sin_addr) == 1) {
                in->sin_family = AF_INET;
                in->sin_port = htons((uint16_t)port);
                *len = sizeof(*in);
                return AF_INET;
        }
        if (inet_pton(AF_INET6, addr, &in6->sin6_addr) == 1) {
                in6->sin6_family = AF_INET6;
                in6->sin6_port = htons((uint16_t)port);
                *len = sizeof(*in6);
                return AF_INET6;
        }
        return -EINVAL;
}

static enum port_state state_of(int e, int *err)
{
        if (e == 0)
                return PORT_OPEN;
        if (e == ECONNREFUSED)
                return PORT_CLOSED;
        *err = e;
        return PORT_UNREACHABLE;
}

int netcheck_ports(const char *addr, unsigned port_min, unsigned port_max, unsigned timeout_ms, enum port_state *state,
                   int *err)
{
        struct sockaddr_storage ss;
        socklen_t len;
        size_t n, pending = 0;
        int family, r = 0;

        *err = 0;
        if (port_min == 0 || port_max > 65535 || port_min > port_max || (family = fill_sockaddr(addr, port_min, &ss, &len)) < 0)
                return -EINVAL;
        n = port_max - port_min + 1;
        _cleanup_free_ struct pollfd *fds = calloc(n, sizeof(*fds));
        if (!fds)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                fds[i].fd = -1;
        for (size_t i = 0; i < n && r == 0; i++) {
                state[i] = PORT_FILTERED;
                (void)fill_sockaddr(addr, port_min + (unsigned)i, &ss, &len);
                int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
                if (fd < 0) {
                        r = -errno;
                        break;
                }
                int c = connect(fd, (struct sockaddr *)&ss, len) == 0 ? 0 : errno;
                if (c != EINPROGRESS) {
                        state[i] = state_of(c, err);
                        close(fd);
                        continue;
                }
                fds[i] = (struct pollfd){ .fd = fd, .events = POLLOUT };
                pending++;
        }
        uint64_t deadline = now_ms() + timeout_ms;
        while (r == 0 && pending > 0) {
                uint64_t now = now_ms();
                if (now >= deadline)
                        break;
                int q = poll(fds, n, (int)(deadline - now));
                if (q < 0 && errno == EINTR)
                        continue;
                if (q <= 0)
                        break;
                for (size_t i = 0; i < n; i++) {
                        if (fds[i].fd < 0 || !fds[i].revents)
                                continue;
                        int e = 0;
                        socklen_t el = sizeof(e);
                        if (getsockopt(fds[i].fd, SOL_SOCKET, SO_ERROR, &e, &el) < 0)
                                e = errno;
                        state[i] = state_of(e, err);
                        close(fds[i].fd);
                        fds[i].fd = -1;
                        pending--;
                }
        }
        for (size_t i = 0; i < n; i++)
                if (fds[i].fd >= 0)
                        close(fds[i].fd);
        return r;
}

#define ADD(...) do { if (preflight_add(p, __VA_ARGS__) < 0) return -ENOMEM; } while (0)

/* The "resolve" check of name (what names it in messages: what). Its first
 * usable address goes to *first (NULL if none). */
static int check_resolve(const char *check, const char *what, const char *name, unsigned timeout_ms, struct preflight *p,
                         char **first)
{
        _cleanup_strv_ char **addrs = NULL;
        _cleanup_free_ char *list = NULL;
        int gai = 0, r;

        *first = NULL;
        r = netcheck_resolve(name, timeout_ms, &addrs, &gai);
        if (r == -ENOMEM)
                return r;
        if (r == -ETIMEDOUT) {
                ADD(CHECK_FAIL, check, "check this host's resolver (/etc/resolv.conf), or give the destination's address",
                    "%s '%s' did not resolve on this host within %u ms", what, name, timeout_ms);
                return 0;
        }
        if (r < 0 || !addrs) {
                ADD(CHECK_FAIL, check, "add it to DNS or to /etc/hosts on this host, or give the destination's address",
                    "%s '%s' does not resolve on this host: %s", what, name, r < 0 ? gai_strerror(gai) : "no IPv4 or IPv6 address");
                return 0;
        }
        if (!(list = strv_join(addrs, ", ")))
                return -ENOMEM;
        for (size_t i = 0; addrs[i]; i++)
                if (listen_kind(addrs[i]) == LISTEN_ANY) {
                        ADD(CHECK_FAIL, check,
                            "map the name to the destination's real address in DNS or /etc/hosts on this host (a host's own "
                            "name on 127.0.1.1 is Debian's default), or give the address",
                            "%s '%s' resolves on this host to %s: %s is a loopback or wildcard address, the migration would "
                            "connect to this host itself", what, name, list, addrs[i]);
                        return 0;
                }
        ADD(CHECK_OK, check, NULL, "%s '%s' resolves on this host to %s", what, name, list);
        *first = strdup(addrs[0]);
        return *first ? 0 : -ENOMEM;
}

static int check_ports(const char *addr, const char *what, unsigned timeout_ms, struct preflight *p)
{
        enum port_state st[NETCHECK_PORT_MAX - NETCHECK_PORT_MIN + 1];
        size_t n = ARRAY_SIZE(st), open = 0, closed = 0, filtered = 0, unreach = 0;
        unsigned first_filtered = 0;
        char fix[256];
        int err = 0, r;

        r = netcheck_ports(addr, NETCHECK_PORT_MIN, NETCHECK_PORT_MAX, timeout_ms, st, &err);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                ADD(CHECK_WARN, "migration ports", NULL, "cannot probe %s (%s): %s", addr, what, strerror(-r));
                return 0;
        }
        for (size_t i = 0; i < n; i++) {
                open += st[i] == PORT_OPEN;
                closed += st[i] == PORT_CLOSED;
                unreach += st[i] == PORT_UNREACHABLE;
                if (st[i] == PORT_FILTERED && filtered++ == 0)
                        first_filtered = NETCHECK_PORT_MIN + (unsigned)i;
        }
        snprintf(fix, sizeof(fix), "allow TCP %u-%u from this host to %s in the firewalls between them and on it "
                 "(libvirt's migration_port_min/max in the destination's qemu.conf)", NETCHECK_PORT_MIN, NETCHECK_PORT_MAX, addr);
        if (unreach > 0 && open + closed == 0)
                ADD(CHECK_FAIL, "migration ports", "check the route to it and that it is up",
                    "%s (%s) is unreachable from this host: TCP %u-%u: %s", addr, what, NETCHECK_PORT_MIN, NETCHECK_PORT_MAX,
                    strerror(err));
        else if (filtered + unreach == n)
                ADD(CHECK_FAIL, "migration ports", fix,
                    "%s (%s): none of TCP %u-%u answered within %u ms: filtered (a firewall drops them), the migration "
                    "stream could not connect", addr, what, NETCHECK_PORT_MIN, NETCHECK_PORT_MAX, timeout_ms);
        else if (filtered + unreach > 0)
                ADD(CHECK_WARN, "migration ports", fix,
                    "%s (%s): %zu of TCP %u-%u did not answer within %u ms (filtered, from port %u), %zu refused, %zu open: "
                    "a migration given a filtered port cannot connect", addr, what, filtered + unreach, NETCHECK_PORT_MIN,
                    NETCHECK_PORT_MAX, timeout_ms, first_filtered, closed, open);
        else
                ADD(CHECK_OK, "migration ports", NULL,
                    "%s (%s): reachable, every port of TCP %u-%u answered (%zu refused: QEMU listens only during a "
                    "migration, nothing filters them; %zu open: migrations or other services)", addr, what,
                    NETCHECK_PORT_MIN, NETCHECK_PORT_MAX, closed, open);
        return 0;
}

int netcheck_run(const char *dest, const char *inbound, const char *self_name, unsigned timeout_ms, struct preflight *p)
{
        _cleanup_free_ char *host = NULL, *addr = NULL, *stream_addr = NULL, *what = NULL;
        int r;

        if (!timeout_ms)
                timeout_ms = DEFAULT_TIMEOUT_MS;
        if ((r = netcheck_dest_host(dest, &host)) < 0)
                return r;
        if (!host)
                return 0;
        if ((r = check_resolve("resolve", "destination", host, timeout_ms, p, &addr)) < 0)
                return r;
        if (inbound && *inbound) {
                if (asprintf(&what, "[migrate] inbound-address of %s", host) < 0)
                        return -ENOMEM;
                if (listen_kind(inbound) == LISTEN_NAME) {
                        if ((r = check_resolve("resolve inbound", "[migrate] inbound-address", inbound, timeout_ms, p,
                                               &stream_addr)) < 0)
                                return r;
                } else if (listen_kind(inbound) == LISTEN_ANY) {
                        ADD(CHECK_FAIL, "resolve inbound", "set the destination's own address there",
                            "[migrate] inbound-address gives %s for %s: a loopback or wildcard address, the migration "
                            "would connect to this host itself", inbound, host);
                        return 0;
                } else if (!(stream_addr = strdup(inbound)))
                        return -ENOMEM;
        } else if (self_name && *self_name && !streq(self_name, host)) {
                /* libvirt sends the stream to the name the destination
                 * gives itself, which this host must resolve as well */
                if (asprintf(&what, "%s's own host name %s", host, self_name) < 0)
                        return -ENOMEM;
                if ((r = check_resolve("resolve stream", "the destination's own host name (libvirt sends the migration "
                                       "stream to it while [migrate] inbound-address is unset)", self_name, timeout_ms, p,
                                       &stream_addr)) < 0)
                        return r;
        } else {
                if (!(what = strdup(host)))
                        return -ENOMEM;
                stream_addr = TAKE_PTR(addr);
        }
        if (!stream_addr)
                return 0;
        return check_ports(stream_addr, what, timeout_ms, p);
}
