/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Which SAN LUNs a guest's block disks are on, on this host: its WWID, its
 * multipath map, its SCSI paths (sdX and H:C:T:L) and udev's by-path name,
 * worked out from sysfs below the configured root. The hook records them
 * when the guest starts (`started begin`) and when libvirt releases it
 * (`release end`), from the XML on stdin, because once the guest has
 * migrated away libvirt no longer has its XML; the source cleanup then
 * removes those LUNs (lundisc.h). One small text file per domain,
 * <state>/luns/<uuid> (state.h), replaced atomically:
 *   migkit-luns 1
 *   uuid <uuid>
 *   name <domain name>
 *   time <unix seconds>
 *   lun <target> <wwid> <map|-> <paths|-> <by-path|-> <source>
 * where paths is "sdc=5:0:1:1,sdf=6:0:0:1" and source the rest of the
 * line. Cheap enough for the hook: a few sysfs reads per disk, no libvirt.
 * Mechanism: returns -errno, never logs. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "domxml.h"
#include "fcname.h"

struct lun_id {
        char *target;                  /* the disk's target dev ("vdb"), "-" if none */
        char *source;                  /* its source as the XML names it */
        char wwid[FC_WWID_MAX + 1];    /* udev/multipath form ("3600a...") */
        char map[FC_WWID_MAX + 1];     /* dm name of its multipath map, "" if none */
        char **paths;                  /* "sdc=5:0:1:1", NULL if none */
        char *by_path;                 /* udev's by-path name of its first path, or NULL */
};

struct lunrec {
        char *uuid, *name;
        time_t time;
        struct lun_id *luns;
        size_t n;
};

/* What source (a block disk's source path below /dev) is on this host:
 * the device it names (through dev_root, a symlink chain such as udev's
 * by-path links, or its device number and <sysfs>/dev/block), else what
 * its name says (fcname.h: a WWID, a map name, a WWPN and LUN). A SCSI
 * disk or one of its partitions gives that path's LUN; a dm-multipath map
 * (or a kpartx partition map on one) gives the map's LUN and all its
 * paths. Returns 1 with *ret filled (target and source not set), 0 when
 * source is no SCSI or multipath LUN on this host, or -errno (-ENOMEM). */
int lun_resolve(const char *sysfs, const char *dev_root, const char *source, struct lun_id *ret);

/* Resolves every <disk type='block'> of d (lun_resolve). A disk whose LUN
 * cannot be resolved now keeps its entry from old (optional: the record
 * made when the guest started), matched by target and source, so a
 * device gone by `release end` is still known. Returns the number of LUNs
 * in *ret (>= 0) or -ENOMEM. */
int lunrec_from_domain(const char *sysfs, const char *dev_root, const struct domxml *d, const struct lunrec *old,
                       struct lunrec *ret);

/* Writes <state>/luns/<r->uuid> (not durably: a lost record only means a
 * LUN left in place). Returns 0 or -errno (-EINVAL: a bad UUID, a value
 * with a newline or a space where none may be). */
int lunrec_save(const char *state_dir, const struct lunrec *r);

/* Reads <state>/luns/<uuid>. Returns 0, -ENOENT, -EBADMSG, or -errno. */
int lunrec_load(const char *state_dir, const char *uuid, struct lunrec *r);

/* Removes <state>/luns/<uuid>: 1 if it was there, 0 if not, -errno. */
int lunrec_remove(const char *state_dir, const char *uuid);

/* "WWID 3600a... (map mpatha, paths sdc sdf)": a LUN for messages. */
char *lun_id_describe(const struct lun_id *l);

void lun_id_free(struct lun_id *l);
void lunrec_free(struct lunrec *r);
