/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Graphics listen addresses on the destination of a migration: which of
 * the addresses a guest's VNC/SPICE listens on exist on this host, and
 * which must be rewritten to the configured [graphics] listen address. The
 * decision (listen_decide) is pure: the host's addresses come from an
 * oracle, host_addrs_has() over getifaddrs(3) in the hook. Nothing here
 * logs. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

enum listen_kind {
        LISTEN_ANY,         /* a wildcard (0.0.0.0, ::) or loopback (127/8, ::1): valid everywhere */
        LISTEN_NAME,        /* not a numeric address (a host name): not judged */
        LISTEN_ADDRESS,     /* a numeric address that must exist on the host */
};

/* What addr is. */
enum listen_kind listen_kind(const char *addr);

/* The addresses of this host's interfaces (getifaddrs(3), in the caller's
 * network namespace). */
struct host_addrs {
        struct host_addr {
                int family;
                unsigned char a[16];
        } *v;
        size_t n;
};

/* Reads the host's addresses. 0 or -errno. */
int host_addrs_load(struct host_addrs *h);
/* Whether numeric address addr is one of them (an oracle for
 * listen_decide(); userdata is the struct host_addrs). */
bool host_addrs_has(const char *addr, void *userdata);
void host_addrs_done(struct host_addrs *h);

enum listen_verdict {
        LISTEN_KEEP,            /* nothing to rewrite */
        LISTEN_REWRITE,         /* rewrite lists the addresses to set to `to` */
        LISTEN_REFUSE_UNSET,    /* bad is missing here and `to` is unset */
        LISTEN_REFUSE_TARGET,   /* bad (the `to` address) is missing here too */
};

struct listen_decision {
        enum listen_verdict verdict;
        char **rewrite;         /* strv: the addresses missing on this host */
        const char *bad;        /* points into addrs or to */
};

/* Decides for the listen addresses addrs (a strv, as
 * domxml_listen_addresses() gives them) and the configured replacement to
 * ("" or NULL: unset): numeric addresses that are neither wildcard nor
 * loopback and that has(addr, userdata) does not know are rewritten to
 * `to`; refused when `to` is unset, or is itself such an address missing
 * here. `to` is checked only when something needs it. Returns 0 (see
 * ret->verdict) or -ENOMEM. */
int listen_decide(char *const *addrs, const char *to, bool (*has)(const char *addr, void *userdata), void *userdata,
                  struct listen_decision *ret);
void listen_decision_done(struct listen_decision *d);
