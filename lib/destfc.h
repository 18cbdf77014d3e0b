/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The block disks of an incoming guest that live on FC SAN LUNs missing on
 * this host: the part of preparing the destination (dest.h) that plans the
 * targeted rescans (fc.h), writes them, waits for the devices (udevwait.h)
 * and asks multipathd for the maps (mpath.h), all within the hook's
 * deadline. The hook runs it from dest_apply(); migkit-fcscan runs it for a
 * WWPN and LUN, a WWID or a domain XML. Like dest.c a policy layer: the
 * messages name the domain, the disk, the WWPN/LUN or WWID and the HBAs. */
#pragma once

#include <stdbool.h>
#include <stdio.h>

#include "config.h"
#include "domxml.h"
#include "fc.h"

/* A block disk whose source is missing on this host: what to scan for and
 * what to wait for. */
struct dest_lun {
        char *disk;              /* for messages: target dev ("vdb") or what the operator named */
        char *source;            /* as the XML names it, NULL if none (migkit-fcscan --wwpn) */
        char *path;              /* what must appear below the /dev root (NULL: glob) */
        char *glob_dir, *glob;   /* or any entry of glob_dir matching glob (--wwpn without a PCI address) */
        char *paths_link;        /* a map's member path link to wait for before asking multipathd, or NULL */
        struct fc_source src;
        long req;                /* index in dest_fc.reqs, -1 if nothing is scanned for it */
        bool map;                /* ask multipathd for src.map once its paths exist */
        bool have_paths;         /* SCSI devices with its WWID already exist (sysfs) */
        /* progress (dest_fc_apply) */
        int stage;               /* 0 waiting for paths_link, 1 waiting for path/glob, 2 done */
        bool map_asked;
        bool map_retry;          /* multipathd said fail/timeout: ask again at retry_at */
        unsigned long long retry_at; /* now_ms() */
        char *error;             /* why it cannot appear (decided), NULL if it may */
};

/* The missing LUNs of one domain (or of what migkit-fcscan names) and
 * their scan plan. The hook's struct dest holds one (dest.h); migkit-fcscan
 * fills one itself. */
struct dest_fc {
        const struct mk_config *cfg;
        const struct domxml *dom;   /* whose block disks dest_fc_plan looks at; NULL: only what was added */
        FILE *report;               /* dry-run: "would ..." lines go here; NULL = act */
        FILE *out;                  /* migkit-fcscan: a line per write and per device; NULL in the hook */
        unsigned wait_ms;           /* device wait budget; 0 = until the hook's deadline */
        bool no_wait;               /* look once, and a device not there yet is no error (fcscan without --wait) */
        unsigned scan_timeout_ms;   /* scan writes; 0 = until the hook's deadline */

        struct dest_lun *luns;      /* missing block disks */
        size_t n_luns;
        struct fc_scan_req *reqs;
        size_t n_reqs;
        struct fc_plan plan;

        /* filled by dest_fc_apply */
        size_t missing;             /* LUNs still missing */
        size_t write_errors;        /* sysfs writes that failed */
        char **appeared_scsi;       /* with [fc] disconnect: SCSI paths of these LUNs that were not there
                                       before the scans, "<H:C:T:L> <wwid> <disk>" (the journal's scsi) */
        char **appeared_mpaths;     /* and their multipath maps, "<name> <wwid>" (the journal's mpath) */
};

/* Adds a missing LUN to scan for and wait for. disk names it in messages;
 * source is the XML's source (NULL if none); path is what must appear below
 * the /dev root, or NULL for a FC_SRC_PATH source to wait for any by-path
 * link of that WWPN and LUN, or for a FC_SRC_WWID/FC_SRC_MAP one to wait
 * for its by-id scsi-/dm-uuid-mpath- link. Reads sysfs (is the WWID there
 * already?), touches nothing. Returns 0 or -ENOMEM. */
int dest_fc_add(struct dest_fc *d, const char *disk, const char *source, const char *path, const struct fc_source *src);

/* Adds every <disk type='block'> of d->dom whose source is missing below
 * the /dev root (when [fc] rescan = yes), then plans the sysfs writes for all
 * LUNs added so far. Touches nothing. Returns 0 or -errno after logging. */
int dest_fc_plan(struct dest_fc *d);

/* Carries out dest_fc_plan's plan: starts watching for the devices, writes
 * the scans (one thread per HBA), asks multipathd for the maps once their
 * paths exist, and waits for every device in one event loop, within
 * fc_wait_ms and the hook's deadline. With d->report it only says what it
 * would do. Sets missing and write_errors, and notes in appeared_scsi and
 * appeared_mpaths the devices of these LUNs that its scans made appear
 * (for the rollback of a failed migration); logs a message per missing
 * LUN naming the disk, WWPN/LUN or WWID, the HBAs scanned and what to do.
 * Returns 0, or -ENODEV when a LUN is missing and [fc] on-missing = fail. */
int dest_fc_apply(struct dest_fc *d);

/* Frees what dest_fc_add and dest_fc_plan allocated. */
void dest_fc_done(struct dest_fc *d);
