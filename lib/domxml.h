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

struct domxml_priv;

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
                                    parallel/channel sources of type file, pipe,
                                    unix and dev, <log file>, os kernel/initrd/
                                    loader/nvram (and nvram template); NULL-
                                    terminated, no duplicates, document order
                                    (<os> first); kept current by the strip
                                    functions */
        struct domxml_priv *priv; /* internal: the input bytes and edits */
};

/* "file", "block", "network", "volume", "dir" or "other". */
const char *dom_disk_type_to_string(enum dom_disk_type t);

/* Parses a domain XML document of len bytes (which need not be
 * NUL-terminated). Rejects, with -EINVAL and a one-line message in *err
 * (malloc'ed; err may be NULL): empty input, a NUL byte, input that does not
 * start with '<' (UTF-16, EBCDIC), any "<!DOCTYPE" or "<!ENTITY" (looked for
 * in the raw bytes before libxml2 sees them, so no DTD, no entity expansion),
 * XML that is not well formed or not UTF-8 (libxml2's line and message), a
 * root other than <domain>, zero or several <name> or <uuid> directly under
 * it, a UUID that is not a UUID, a bridge interface without <source bridge>
 * or with an <mtu size> outside 68..65535. Never loads anything from the
 * network or disk, never prints libxml2 errors to stderr.
 * Returns 0, -EINVAL or -ENOMEM. */
int domxml_parse(const char *buf, size_t len, struct domxml **ret, char **err);

/* Only the domain's name and uuid, for callers that need nothing else (the
 * hook's started and release): the same raw checks, the whole document
 * parsed and refused for the same reasons up to the devices (well-formed,
 * no DTD, root <domain>, exactly one <name> and <uuid>, a valid UUID), but
 * with SAX and no tree, and the devices not read (disks, ifaces and files
 * stay empty; the result cannot be edited or formatted). Returns as
 * domxml_parse(). */
int domxml_parse_ids(const char *buf, size_t len, struct domxml **ret, char **err);

/* Removes the <source> element of disks[i] (which must be a cdrom), keeping
 * the device itself so the guest ABI is unchanged. The whitespace before it
 * goes too, and so does an empty <backingStore/> terminator (libvirt writes
 * none for an empty cdrom). disks[i].source becomes NULL, files is updated.
 * Returns 0, -EINVAL if i is out of range, disks[i] is not a cdrom or has no
 * source, or -ENOMEM (then nothing was changed). */
int domxml_strip_disk_source(struct domxml *d, size_t i);

/* Empties the config-drive cdroms whose file is missing on this host: for
 * each <disk type='file' device='cdrom'> whose <source file> basename matches
 * one of the fnmatch(3) name_globs (e.g. "disk.config") and for which
 * exists(path, userdata) is false, removes the <source> as
 * domxml_strip_disk_source() does. exists() is called only for such cdroms.
 * Empty cdroms, cdroms whose file exists, other names and other disks are
 * left alone. If stripped is not NULL it receives a strv (possibly NULL when
 * nothing was stripped) of "<target-dev> <path>" entries, target "-" if
 * absent, for the journal. Returns the number stripped (>= 0) or -errno
 * (-ENOMEM; cdroms before the failing one may already be stripped). */
int domxml_strip_missing_config_drives(struct domxml *d, char *const *name_globs,
                                       bool (*exists)(const char *path, void *userdata), void *userdata,
                                       char ***stripped);

/* The addresses the graphics devices (VNC, SPICE) listen on, as written:
 * the listen attribute of a <graphics> that has no <listen> child or whose
 * first one is of type 'address' (libvirt wants the two equal), and the
 * address attribute of each <listen type='address'>. Listens of type
 * network, socket or none and empty values are not included. *ret is a
 * strv without duplicates in document order (NULL when there are none).
 * Returns the count, -EINVAL or -ENOMEM. */
int domxml_listen_addresses(const struct domxml *d, char ***ret);

/* Sets to `to` each of the attributes domxml_listen_addresses() reads whose
 * value rewrite(value, userdata) accepts; the rest of the document stays
 * byte for byte. rewrite() is called twice per attribute and must answer
 * the same. Returns the number of attributes changed, -EINVAL (to empty)
 * or -ENOMEM (then nothing changed, unless libxml2 itself ran out of memory
 * half way: the attributes before stay changed). */
int domxml_rewrite_listens(struct domxml *d, bool (*rewrite)(const char *address, void *userdata), void *userdata,
                           const char *to);

/* Formats the document into a malloc'ed NUL-terminated buffer. The result
 * is the input, byte for byte, minus what the strip functions removed, as
 * long as libxml2 confirms that this text parses to the same tree as the
 * edited document; otherwise (never seen with libvirt's own XML) it is
 * libxml2's serialization of the tree, without XML declaration or
 * reformatting (attributes then come out in double quotes). Either way
 * libvirt reads the same definition. Returns 0, -ENOMEM or -EIO. */
int domxml_format(const struct domxml *d, char **ret, size_t *len);

void domxml_free(struct domxml *d);
static inline void domxml_freep(struct domxml **d) { if (*d) domxml_free(*d); }
#define _cleanup_domxml_ __attribute__((cleanup(domxml_freep)))
