/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* FC SAN names: what a block disk's source (/dev/disk/by-path/...-fc-...,
 * by-id wwn-/scsi-, dm-uuid-mpath-, /dev/mapper/...) says about the LUN it
 * needs, WWPNs, LUN numbers and WWIDs as udev and multipath write them.
 * Pure parsing: no I/O, no logging. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FC_WWID_MAX 128

enum fc_source_kind {
        FC_SRC_NONE, /* not a name migkit can scan for (sdX, dm-N, scsi-S<serial>, a file...) */
        FC_SRC_PATH, /* by-path ...-fc-0x<wwpn>-lun-<lun>: one path through one target port */
        FC_SRC_WWID, /* by-id wwn-0x<id> or scsi-<wwid>: the LUN, whatever the path */
        FC_SRC_MAP,  /* dm-uuid-mpath-<wwid>, dm-name-<name>, /dev/mapper/<name>: a multipath map */
};

struct fc_source {
        enum fc_source_kind kind;
        uint64_t wwpn, lun;          /* FC_SRC_PATH; lun is the kernel LUN number (the H:C:T:L L) */
        char wwid[FC_WWID_MAX + 1];  /* udev/multipath form ("3" + NAA hex), "" if unknown (a map alias) */
        char map[FC_WWID_MAX + 1];   /* FC_SRC_MAP: what to ask multipathd for (the WWID or the alias) */
};

/* Parses a WWPN: 16 hex digits, case-insensitive, with or without "0x",
 * optionally written with colons (50:06:01:68:...). Returns 0 or -EINVAL. */
int fc_parse_wwpn(const char *s, uint64_t *ret);

/* Parses a LUN as udev's by-path writes it: decimal (below 256) or
 * 0x<16 hex digits> for larger LUNs (SAM address form); plain decimal of any
 * size is accepted too. *ret is the kernel LUN number. Returns 0 or -EINVAL. */
int fc_parse_lun(const char *s, uint64_t *ret);

/* Formats a kernel LUN number the way udev's path_id names it (by-path). */
void fc_format_lun(uint64_t lun, char *buf, size_t size);

/* True for a WWID or map name that is safe to pass to multipathd and to use
 * in a path: 1..FC_WWID_MAX characters of [A-Za-z0-9._:-]. */
bool fc_name_is_valid(const char *s);

/* The udev/multipath form of a SCSI device's sysfs wwid: "naa.600A..." is
 * "3600a...", "eui." gives "2", "t10." gives "1" (hex lower-cased). Returns 0,
 * or -EINVAL when it is none of those or not a safe name (fc_name_is_valid). */
int fc_wwid_from_sysfs(const char *sys, char *wwid, size_t size);

/* Works out what a block disk's source names: path is the source as the
 * domain XML has it (/dev/disk/by-path/..., /dev/disk/by-id/..., or
 * /dev/mapper/...); a "-partN" suffix is ignored. Returns 0 (ret->kind may be
 * FC_SRC_NONE for names that say nothing scannable) or -EINVAL for a name of
 * a known form that is malformed (bad WWPN or LUN, unsafe characters). */
int fc_parse_source(const char *path, struct fc_source *ret);
