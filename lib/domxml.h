/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The domain XML as the hook sees it: parsed defensively with libxml2,
 * queried for what migkit needs, and rewritten without changing the ABI. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

enum dom_disk_type { DOM_DISK_FILE, DOM_DISK_BLOCK, DOM_DISK_NETWORK, DOM_DISK_VOLUME, DOM_DISK_DIR, DOM_DISK_OTHER };

struct dom_disk {
        enum dom_disk_type type;
        char *device;  /* "disk", "cdrom", "floppy", "lun" */
        char *source;  /* file or dev attribute of <source>; NULL if none (empty cdrom, network) */
        char *target;  /* <target dev=...>, NULL if absent */
        void *node;    /* the <disk> element (xmlNodePtr) */
};

struct dom_iface {
        char *bridge;  /* <source bridge=...> of an <interface type='bridge'> */
        unsigned mtu;  /* <mtu size=...>, 0 if absent */
        char *mac;     /* may be NULL */
};

struct domxml {
        void *doc;               /* xmlDocPtr */
        char *name;
        char *uuid;              /* lower-case, validated */
        struct dom_disk *disks;
        size_t n_disks;
        struct dom_iface *ifaces; /* only type='bridge' interfaces */
        size_t n_ifaces;
        char **files;            /* every local file path the domain references:
                                    disk sources of type file, serial/console/
                                    parallel/channel file sources, <log file>,
                                    os kernel/initrd/loader/nvram */
};

/* Parses a domain XML document of len bytes (which need not be
 * NUL-terminated). Rejects, with -EINVAL and a one-line message in *err
 * (malloc'ed): a DOCTYPE or entity declaration, XML that is not well formed,
 * a root other than <domain>, zero or several <name> or <uuid>, a UUID that
 * is not a UUID. Never loads anything from the network or disk.
 * Returns 0 or -errno. */
int domxml_parse(const char *buf, size_t len, struct domxml **ret, char **err);

/* Removes the <source> element of disks[i] (which must be a cdrom), keeping
 * the device itself so the guest ABI is unchanged. Returns 0, or -EINVAL if
 * disks[i] is not a cdrom or has no source. */
int domxml_strip_disk_source(struct domxml *d, size_t i);

/* Serializes the document (no XML declaration, as libvirt writes it) into a
 * malloc'ed NUL-terminated buffer. Returns 0 or -ENOMEM. */
int domxml_format(const struct domxml *d, char **ret, size_t *len);

void domxml_free(struct domxml *d);
static inline void domxml_freep(struct domxml **d) { if (*d) domxml_free(*d); }
#define _cleanup_domxml_ __attribute__((cleanup(domxml_freep)))
