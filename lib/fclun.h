/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Removing a LUN that nothing on this host uses any more (source side,
 * opt-in: migkit-fcscan --remove): its SCSI paths, block devices and
 * multipath map from sysfs below a root prefix, what still holds, mounts or
 * opens them, and the plan of sysfs writes that deletes the paths (applied
 * with fc_plan_apply). No logging: the blockers carry the words. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "fc.h"

struct fc_lun_path {
        char hctl[32];           /* "5:0:1:1" */
        char disk[32];           /* "sdc", "" if it has no block device */
        unsigned host;
};

struct fc_lun {
        char wwid[FC_WWID_MAX + 1];
        struct fc_lun_path *paths;
        size_t n_paths;
        char map[32];            /* the multipath map over the paths ("dm-3"), "" if none */
        char map_name[FC_WWID_MAX + 1]; /* its dm/name */
        char **devs;             /* "maj:min" of every path, partition and the map */
        char **blockers;         /* why it is in use, one phrase each; NULL if nothing found */
};

/* Finds the SCSI paths of the LUN with this WWID (udev form) below
 * <sysfs>/class/scsi_device, their block devices and partitions, and the
 * multipath map (dm uuid "mpath-<wwid>") holding them, and notes as
 * blockers every other holder: LVM, md, a kpartx partition of the map, a
 * map of another WWID. Returns 0 (l->n_paths may be 0) or -errno. */
int fc_lun_find(const char *sysfs, const char *wwid, struct fc_lun *l);

/* The WWIDs of the SCSI devices at LUN lun behind target port wwpn (found
 * through class/fc_transport). Returns their number or -errno. */
int fc_wwids_of_target_lun(const char *sysfs, uint64_t wwpn, uint64_t lun, char ***wwids);

/* Adds a blocker for each mount in mountinfo (a /proc/self/mountinfo file,
 * read by mountinfo_foreach()) of one of l->devs. Returns 0 or -errno (the
 * table cannot be read or trusted: mountinfo.h). */
int fc_lun_check_mounts(struct fc_lun *l, const char *mountinfo);

/* Adds a blocker for each process (below proc, normally /proc) that has one
 * of l->devs open. Returns 0 or -errno. */
int fc_lun_check_open(struct fc_lun *l, const char *proc);

/* Plans the removal of l's paths: "1" to each <sysfs>/class/scsi_device/
 * <hctl>/device/delete (the map itself goes first, through multipathd).
 * Refuses with -EBUSY if l has blockers. */
int fc_plan_remove(const char *sysfs, const struct fc_lun *l, struct fc_plan *plan);

void fc_lun_free(struct fc_lun *l);
