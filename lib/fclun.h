/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Removing a LUN that nothing on this host uses any more (lundisc.h has the
 * policy: the source after a migration, the rollback of a failed incoming
 * one, migkit-fcscan --remove, swap-volume --disconnect-old): its SCSI
 * paths, block devices, multipath map and kpartx partition maps from sysfs
 * below a root prefix, what still holds, mounts or opens them, and the plan
 * of sysfs writes that deletes the paths (applied with fc_plan_apply). Two
 * facts of real hosts: multipathd keeps every path device it monitors open
 * until the map goes (its descriptors are no use of the LUN), and Debian's
 * 60-kpartx.rules puts partition maps (mpatha-part1) on every map whose LUN
 * has a partition table (multipathd's "del map" removes unused ones with
 * the map). No logging: the blockers carry the words. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "fc.h"

struct fc_lun_path {
        char hctl[32];           /* "5:0:1:1" */
        char disk[32];           /* "sdc", "" if it has no block device */
        char devno[32];          /* its "maj:min", "" if none */
        unsigned host;
};

struct fc_lun {
        char wwid[FC_WWID_MAX + 1];
        struct fc_lun_path *paths;
        size_t n_paths;
        char map[32];            /* the multipath map over the paths ("dm-3"), "" if none */
        char map_name[FC_WWID_MAX + 1]; /* its dm/name */
        char **parts;            /* kpartx partition maps on the map ("dm-7"), removed with it */
        char **part_names;       /* their dm/name, in the same order */
        char **devs;             /* "maj:min" of every path, partition, the map and its partition maps */
        char **blockers;         /* why it is in use, one phrase each; NULL if nothing found */
};

/* Finds the SCSI paths of the LUN with this WWID (udev form) below
 * <sysfs>/class/scsi_device, their block devices and partitions, the
 * multipath map (dm uuid "mpath-<wwid>") holding them and the kpartx
 * partition maps on it (dm uuid "part<N>-mpath-<wwid>"), and notes as
 * blockers every other holder: LVM, md, a map of another WWID, anything on
 * a partition map. A map whose paths are all gone is found too (through
 * <sysfs>/block). Returns 0 (l->n_paths and l->map may be empty) or -errno. */
int fc_lun_find(const char *sysfs, const char *wwid, struct fc_lun *l);

/* Keeps only the paths whose H:C:T:L is in hctls (what one caller may
 * remove, e.g. the paths a rollback's journal lists). */
void fc_lun_keep_paths(struct fc_lun *l, char *const *hctls);

/* The WWIDs of the SCSI devices at LUN lun behind target port wwpn (found
 * through class/fc_transport). Returns their number or -errno. */
int fc_wwids_of_target_lun(const char *sysfs, uint64_t wwpn, uint64_t lun, char ***wwids);

/* Adds a blocker for each mount in mountinfo (a /proc/self/mountinfo file,
 * read by mountinfo_foreach()) of one of l->devs. Returns 0 or -errno (the
 * table cannot be read or trusted: mountinfo.h). */
int fc_lun_check_mounts(struct fc_lun *l, const char *mountinfo);

/* Adds a blocker for each process (below proc, normally /proc) that has one
 * of l->devs open, except multipathd (its exe's name) holding a path
 * device. Returns 0 or -errno. */
int fc_lun_check_open(struct fc_lun *l, const char *proc);

/* Asks device-mapper (DM_DEV_STATUS on <dev_root>/mapper/control) how
 * often the map and its partition maps are open, and adds a blocker unless
 * the map is held only by its partition maps and those by nobody: this
 * also sees openers in other namespaces. Returns 0, -ENOENT when there is
 * no control device (no device-mapper here; the other checks and
 * multipathd's own "map in use" refusal remain), or -errno. */
int fc_lun_check_dm_open(struct fc_lun *l, const char *dev_root);

/* Plans the removal of l's paths: "1" to each <sysfs>/class/scsi_device/
 * <hctl>/device/delete (the map itself goes first, through multipathd).
 * Refuses with -EBUSY if l has blockers. */
int fc_plan_remove(const char *sysfs, const struct fc_lun *l, struct fc_plan *plan);

void fc_lun_free(struct fc_lun *l);
