/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Linux bridges over rtnetlink (libmnl), in the caller's network namespace. */
#pragma once

#include <stdbool.h>

struct link_info {
        unsigned ifindex;
        unsigned mtu;
        bool up;         /* IFF_UP set */
        bool is_bridge;  /* IFLA_INFO_KIND "bridge" */
};

/* Looks up an interface by name. Returns 0 and fills *ret, -ENODEV if there
 * is no such interface, or another -errno. */
int link_get(const char *name, struct link_info *ret);

/* Creates bridge `name` with the given MTU, administratively up, in one
 * RTM_NEWLINK request (NLM_F_CREATE|NLM_F_EXCL|NLM_F_ACK). Returns 1 if this
 * call created it, 0 if an interface of that name already existed (another
 * hook won the race, which is fine), or -errno (the kernel's extended ack
 * message, if any, goes into *ext_err as a malloc'ed string when ext_err is
 * not NULL). The caller validates the name. */
int bridge_create(const char *name, unsigned mtu, char **ext_err);

/* Deletes interface `name` if it is a bridge. Returns 1 if deleted, 0 if it
 * did not exist, -EMEDIUMTYPE if it is not a bridge, or -errno. */
int bridge_delete(const char *name);
