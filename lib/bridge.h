/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Linux bridges over rtnetlink (libmnl, loaded with dlopen() at the first
 * call that needs it), in the caller's network namespace. Each call opens its own netlink
 * socket, so calls may run concurrently from several processes;
 * bridge_ports reads sysfs. Nothing here logs; errors are returned as
 * -errno: -ELIBACC when libmnl cannot be loaded, -ELIBBAD when it lacks a
 * function (bridge_strerror says which). */
#pragma once

#include <stdbool.h>

struct link_info {
        unsigned ifindex;
        unsigned mtu;
        bool up;         /* IFF_UP set */
        bool is_bridge;  /* IFLA_INFO_KIND "bridge" */
};

/* Looks up an interface by name. Returns 0 and fills *ret (if not NULL),
 * -ENODEV if there is no such interface, -EINVAL if name is empty or
 * IFNAMSIZ bytes or longer, or another -errno. */
int link_get(const char *name, struct link_info *ret);

/* Whether interface `name` is a Linux bridge, without rtnetlink (so
 * without loading libmnl): one ethtool ioctl, whose driver name is "bridge"
 * for a bridge. Returns 1 for a bridge, 0 for another interface, -ENODEV if
 * there is no such interface, -EOPNOTSUPP if its driver does not say (ask
 * link_get), -EINVAL for a bad name as link_get, or -errno. */
int link_is_bridge(const char *name);

/* Creates bridge `name` with the given MTU, administratively up, in one
 * RTM_NEWLINK request (NLM_F_CREATE|NLM_F_EXCL|NLM_F_ACK), so that anyone who
 * sees the bridge sees it up. Returns 1 if this call created it, 0 if an
 * interface of that name already existed (another hook won the race, which
 * is fine; it is left exactly as it was, whatever its type, MTU or state, so
 * call link_get to check), or -errno. The kernel bounds the MTU (68 to 65535
 * for a bridge: outside that, -EINVAL and nothing is created).
 * When ext_err is not NULL, *ext_err is set to NULL on entry and, on failure,
 * to the kernel's extended ack message as a malloc'ed string if it sent one.
 * The caller validates the name; this only rejects (-EINVAL) an empty one or
 * one of IFNAMSIZ bytes or more.
 * Note: the kernel treats an MTU given at creation as not "set by the user",
 * so it re-adjusts the bridge MTU to the smallest port MTU whenever a port is
 * added or removed. */
int bridge_create(const char *name, unsigned mtu, char **ext_err);

/* Deletes interface `name` if it is a bridge (looked up by name, deleted by
 * ifindex so that a different interface which took the name meanwhile is never
 * touched). Returns 1 if deleted, 0 if it did not exist, -EMEDIUMTYPE if it is
 * not a bridge, -EINVAL for a bad name as link_get, or -errno. */
int bridge_delete(const char *name);

/* Lists the ports of bridge through <sysfs_root>/class/net/<bridge>/brif,
 * after checking that <sysfs_root>/class/net/<bridge>/ifindex is ifindex
 * (sysfs shows the network namespace it was mounted in, which need not be
 * ours). Returns the number of ports and *ret_ports (optional, sorted), or
 * -ESTALE on an ifindex mismatch, -ENOENT if sysfs does not show it as a
 * bridge, or -errno. */
int bridge_ports(const char *sysfs_root, const char *bridge, unsigned ifindex, char ***ret_ports);

/* Deletes bridge `name` only while it is the interface with index ifindex
 * (the one the caller checked): checked by name, deleted by that index.
 * Returns 1 if deleted, 0 if there is no such interface any more,
 * -ESTALE if the name now belongs to another ifindex, -EMEDIUMTYPE if it
 * is not a bridge, or -errno. */
int bridge_delete_index(const char *name, unsigned ifindex);

/* A message for r, a -errno of the functions above: names libmnl and the
 * package to install for -ELIBACC and -ELIBBAD, else strerror(). */
const char *bridge_strerror(int r);
