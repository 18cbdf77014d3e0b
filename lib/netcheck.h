/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The network between this host (the source) and a migration's
 * destination, as `migkit check` and `migkit doctor --dest` report it: the
 * destination's name resolved here, and its migration ports (the TCP range
 * QEMU listens on during an incoming migration) probed with one connect
 * each, all at once, within one bounded wait. Only the destination is
 * probed. Nothing here logs; results go into a struct preflight. */
#pragma once

#include <stdbool.h>

#include "checks.h"

/* libvirt's default migration_port_min/max (qemu.conf). */
#define NETCHECK_PORT_MIN 49152
#define NETCHECK_PORT_MAX 49215

/* The host a destination URI or name designates: dest itself when it is a
 * host name or address, else the host part of a URI
 * ("qemu+tls://user@[2001:db8::1]:16514/system" gives "2001:db8::1").
 * *ret NULL when the URI names no host (qemu:///system). 0 or -ENOMEM. */
int netcheck_dest_host(const char *dest, char **ret);

/* Resolves name with getaddrinfo(3), waiting at most timeout_ms. *ret: the
 * numeric addresses, unique, in the resolver's order. Returns 0, -ETIMEDOUT,
 * -ENOMEM or -EHOSTUNREACH with *gai_err the resolver's error (EAI_*). */
int netcheck_resolve(const char *name, unsigned timeout_ms, char ***ret, int *gai_err);

enum port_state { PORT_OPEN, PORT_CLOSED, PORT_FILTERED, PORT_UNREACHABLE };

/* Connects to every TCP port from port_min to port_max of numeric address
 * addr at once and waits at most timeout_ms for the answers: state[i] for
 * port_min + i. An answer with a reset is PORT_CLOSED (reachable, nothing
 * listens), none in time PORT_FILTERED, an ICMP error PORT_UNREACHABLE
 * (*err its errno). Returns 0, -EINVAL or -errno (socket(2)). */
int netcheck_ports(const char *addr, unsigned port_min, unsigned port_max, unsigned timeout_ms, enum port_state *state,
                   int *err);

/* Adds the checks for destination dest (a name or URI): "resolve" (dest's
 * host from here: FAIL when it does not resolve or resolves to loopback or
 * a wildcard), then "migration ports" of the address the migration stream
 * goes to: inbound (the [migrate] inbound-address for dest, may be NULL;
 * a name is checked as "resolve inbound"), else self_name (the name the
 * destination gives itself, which libvirt sends the stream to; may be
 * NULL; checked as "resolve stream" when it is not dest's host), else
 * dest's first address. The ports: OK when every one answered, WARN when
 * some did not, FAIL when none did or the host is unreachable. Adds
 * nothing for a URI without a host. timeout_ms bounds each probe (0:
 * 2000). Returns 0 or -ENOMEM. */
int netcheck_run(const char *dest, const char *inbound, const char *self_name, unsigned timeout_ms, struct preflight *p);
