/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "listen.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>

#include "util.h"

/* addr as a host_addr, false if it is not a numeric IPv4 or IPv6 address. */
static bool parse_addr(const char *addr, struct host_addr *ret)
{
        *ret = (struct host_addr){ 0 };
        if (inet_pton(AF_INET, addr, ret->a) == 1) {
                ret->family = AF_INET;
                return true;
        }
        if (inet_pton(AF_INET6, addr, ret->a) == 1) {
                ret->family = AF_INET6;
                return true;
        }
        return false;
}

enum listen_kind listen_kind(const char *addr)
{
        static const unsigned char any6[16], loop6[16] = { [15] = 1 };
        struct host_addr a;

        if (!addr || !parse_addr(addr, &a))
                return LISTEN_NAME;
        if (a.family == AF_INET)
                return a.a[0] == 127 || memcmp(a.a, any6, 4) == 0 ? LISTEN_ANY : LISTEN_ADDRESS;
        return memcmp(a.a, any6, 16) == 0 || memcmp(a.a, loop6, 16) == 0 ? LISTEN_ANY : LISTEN_ADDRESS;
}

static void freeifaddrsp(struct ifaddrs **p)
{
        if (*p)
                freeifaddrs(*p);
}

int host_addrs_load(struct host_addrs *h)
{
        _cleanup_(freeifaddrsp) struct ifaddrs *ifa = NULL;
        size_t n = 0;

        *h = (struct host_addrs){ 0 };
        if (getifaddrs(&ifa) < 0)
                return -errno;
        for (struct ifaddrs *i = ifa; i; i = i->ifa_next)
                n++;
        h->v = calloc(n ? n : 1, sizeof(*h->v));
        if (!h->v)
                return -ENOMEM;
        for (struct ifaddrs *i = ifa; i; i = i->ifa_next) {
                struct host_addr *a = &h->v[h->n];
                if (!i->ifa_addr)
                        continue;
                if (i->ifa_addr->sa_family == AF_INET) {
                        a->family = AF_INET;
                        memcpy(a->a, &((const struct sockaddr_in *)(const void *)i->ifa_addr)->sin_addr, 4);
                } else if (i->ifa_addr->sa_family == AF_INET6) {
                        a->family = AF_INET6;
                        memcpy(a->a, &((const struct sockaddr_in6 *)(const void *)i->ifa_addr)->sin6_addr, 16);
                } else
                        continue;
                h->n++;
        }
        return 0;
}

bool host_addrs_has(const char *addr, void *userdata)
{
        const struct host_addrs *h = userdata;
        struct host_addr a;

        if (!h || !parse_addr(addr, &a))
                return false;
        for (size_t i = 0; i < h->n; i++)
                if (h->v[i].family == a.family && memcmp(h->v[i].a, a.a, 16) == 0)
                        return true;
        return false;
}

void host_addrs_done(struct host_addrs *h)
{
        free(h->v);
        *h = (struct host_addrs){ 0 };
}

int listen_decide(char *const *addrs, const char *to, bool (*has)(const char *addr, void *userdata), void *userdata,
                  struct listen_decision *ret)
{
        *ret = (struct listen_decision){ .verdict = LISTEN_KEEP };
        for (size_t i = 0; addrs && addrs[i]; i++) {
                if (listen_kind(addrs[i]) != LISTEN_ADDRESS || has(addrs[i], userdata))
                        continue;
                if (!to || !*to) {
                        listen_decision_done(ret);
                        *ret = (struct listen_decision){ .verdict = LISTEN_REFUSE_UNSET, .bad = addrs[i] };
                        return 0;
                }
                if (strv_push_unique(&ret->rewrite, addrs[i]) < 0) {
                        listen_decision_done(ret);
                        return -ENOMEM;
                }
        }
        if (!ret->rewrite)
                return 0;
        if (listen_kind(to) == LISTEN_ADDRESS && !has(to, userdata)) {
                listen_decision_done(ret);
                *ret = (struct listen_decision){ .verdict = LISTEN_REFUSE_TARGET, .bad = to };
                return 0;
        }
        ret->verdict = LISTEN_REWRITE;
        return 0;
}

void listen_decision_done(struct listen_decision *d)
{
        strv_free(d->rewrite);
        d->rewrite = NULL;
}
