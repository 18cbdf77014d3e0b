/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* FC SAN LUNs: the targeted SCSI scans that make a LUN appear (what a block
 * disk's source name says is in fcname.h; removing a LUN in fclun.h). Everything is read from and written to sysfs below a
 * root prefix (the configuration's [paths] sysfs), so the same code runs on
 * committed fake trees. Planning (fc_plan_build) only reads; applying
 * (fc_plan_apply) performs exactly the writes of the plan, so a dry run
 * prints what would be done. No logging here: results carry the words. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "fcname.h"

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
