/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* FC SAN LUNs: from a block disk's source name to the targeted SCSI scans
 * that make it appear. Everything is read from and written to sysfs below a
 * root prefix (the configuration's [paths] sysfs), so the same code runs on
 * committed fake trees. Planning (fc_plan_build) only reads; applying
 * (fc_plan_apply) performs exactly the writes of the plan, so a dry run
 * prints what would be done. No logging here: results carry the words. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

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

/* Works out what a block disk's source names: path is the source as the
 * domain XML has it (/dev/disk/by-path/..., /dev/disk/by-id/..., or
 * /dev/mapper/...); a "-partN" suffix is ignored. Returns 0 (ret->kind may be
 * FC_SRC_NONE for names that say nothing scannable) or -EINVAL for a name of
 * a known form that is malformed (bad WWPN or LUN, unsafe characters). */
int fc_parse_source(const char *path, struct fc_source *ret);

/* One scan request, usually one per missing disk. */
struct fc_scan_req {
        bool any_target;   /* no WWPN known (a WWID only): every target, wildcard scans only */
        uint64_t wwpn;
        bool any_lun;      /* no LUN known: "-" */
        uint64_t lun;
        /* filled by fc_plan_build (malloc'ed, may be NULL): */
        char *scanned;     /* which HBAs and targets the plan scans for it, e.g.
                              "host5 (target 0:1 via rport-5:0-2)" */
        char *why;         /* when the plan does nothing (or only a fallback) for it: why */
};

struct fc_hba {
        unsigned host;           /* hostN */
        uint64_t wwpn;           /* its port_name */
        char state[32];          /* its port_state */
        bool online;
        bool can_scan;           /* class/scsi_host/hostN/scan exists */
        bool can_lip;            /* class/fc_host/hostN/issue_lip exists */
};

struct fc_write {
        unsigned host;
        char *path;              /* absolute, below the sysfs root */
        char data[48];           /* exactly what is written, e.g. "0 1 1\n" */
        int result;              /* after apply: 0, -errno, or -ETIMEDOUT if still blocked at the deadline */
};

struct fc_plan {
        struct fc_hba *hbas;     /* every FC HBA seen, by host number */
        size_t n_hbas;
        struct fc_write *writes; /* in the order they are made per host */
        size_t n_writes;
};

/* Reads <sysfs>/class/fc_host, class/fc_remote_ports and class/scsi_host and
 * plans the writes for reqs: for each request, every online FCP-target rport
 * (port_state Online or Marginal, scsi_target_id != -1) with that WWPN on an
 * online HBA gets "C T L" on its host's scan file, C and T from the rport.
 * When no HBA knows the target: with lip, "1" to issue_lip of every online
 * HBA that has one; with wildcard, "- - L" on every online HBA. Each target
 * and each HBA is written once: several LUNs on one target become "C T -"
 * (REPORT LUNS), several wildcard LUNs on one HBA "- - -". No FC HBA at all
 * is not an error (an empty plan; each request says why).
 * Returns 0, -ENOMEM, or -errno when a sysfs directory cannot be read. */
int fc_plan_build(const char *sysfs, bool wildcard, bool lip, struct fc_scan_req *reqs, size_t n_reqs,
                  struct fc_plan *plan);

/* Prints one line per write: "<prefix>write '0 1 1' to <path>". */
void fc_plan_print(const struct fc_plan *plan, FILE *f, const char *prefix);

/* Performs the writes: one detached worker process per HBA (the kernel
 * scans HBAs in parallel), in plan order within an HBA, each write a single
 * write(2) with O_APPEND. Returns within timeout_ms even if a write blocks (a
 * scan can take long, in uninterruptible sleep): such writes get result
 * -ETIMEDOUT and finish in the background, in a process that holds none of
 * the caller's descriptors. Returns 0 if every write succeeded, else the
 * first failing write's result (in plan order). */
int fc_plan_apply(struct fc_plan *plan, unsigned timeout_ms);

/* "host5 0x10000090fa1b2c3d Online, host6 0x... Linkdown", or "none".
 * malloc'ed, NULL on ENOMEM. */
char *fc_hbas_describe(const struct fc_plan *plan);

void fc_plan_free(struct fc_plan *plan);
void fc_scan_req_done(struct fc_scan_req *req);

/* Looks for SCSI devices whose VPD 0x83 id (sysfs wwid, naa./eui./t10.) is
 * wwid in udev form, below <sysfs>/class/scsi_device. Returns their number
 * (>= 0) and, if hctls is not NULL, a strv of "H:C:T:L" names; or -errno. */
int fc_find_wwid(const char *sysfs, const char *wwid, char ***hctls);

/* ---- removing a LUN that nothing uses any more (source side, opt-in) ---- */

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

/* Adds a blocker for each mount in mountinfo (a /proc/self/mountinfo file)
 * of one of l->devs. Returns 0 or -errno (the file cannot be read). */
int fc_lun_check_mounts(struct fc_lun *l, const char *mountinfo);

/* Adds a blocker for each process (below proc, normally /proc) that has one
 * of l->devs open. Returns 0 or -errno. */
int fc_lun_check_open(struct fc_lun *l, const char *proc);

/* Plans the removal of l's paths: "1" to each <sysfs>/class/scsi_device/
 * <hctl>/device/delete (the map itself goes first, through multipathd).
 * Refuses with -EBUSY if l has blockers. */
int fc_plan_remove(const char *sysfs, const struct fc_lun *l, struct fc_plan *plan);

void fc_lun_free(struct fc_lun *l);
