/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Preparing this host as the destination of an incoming migration: the
 * policy layer shared by the hook, its dry-run and the driver. Every name is
 * validated and every decision made (dest_plan) before anything is touched
 * (dest_apply); what is created is recorded in the journal. Messages name
 * the domain and the object and go through log.h. */
#pragma once

#include <stdbool.h>
#include <stdio.h>

#include "config.h"
#include "domxml.h"
#include "fc.h"
#include "journal.h"

struct dest_bridge {
        char *name;
        unsigned mtu;
};

/* A block disk whose source is missing on this host: what to scan for and
 * what to wait for. */
struct dest_lun {
        char *disk;              /* for messages: target dev ("vdb") or what the operator named */
        char *source;            /* as the XML names it, NULL if none (migkit-fcscan --wwpn) */
        char *path;              /* what must appear below the /dev root (NULL: glob) */
        char *glob_dir, *glob;   /* or any entry of glob_dir matching glob (--wwpn without a PCI address) */
        char *paths_link;        /* a map's member path link to wait for before asking multipathd, or NULL */
        struct fc_source src;
        long req;                /* index in dest.fc_reqs, -1 if nothing is scanned for it */
        bool map;                /* ask multipathd for src.map once its paths exist */
        bool have_paths;         /* SCSI devices with its WWID already exist (sysfs) */
        /* progress (dest_fc_apply) */
        int stage;               /* 0 waiting for paths_link, 1 waiting for path/glob, 2 done */
        bool map_asked;
        bool map_retry;          /* multipathd said fail/timeout: ask again at retry_at */
        unsigned long long retry_at; /* now_ms() */
        char *error;             /* why it cannot appear (decided), NULL if it may */
};

struct dest {
        const struct mk_config *cfg;
        struct domxml *dom;
        FILE *report;               /* dry-run: "would ..." lines go here; NULL = act */

        /* decided by dest_plan */
        bool create_dir;
        uid_t uid;
        gid_t gid;
        struct dest_bridge *bridges; /* to create */
        size_t n_bridges;

        struct dest_lun *luns;      /* missing block disks */
        size_t n_luns;
        struct fc_scan_req *fc_reqs;
        size_t n_fc_reqs;
        struct fc_plan fc_plan;
        FILE *out;                  /* migkit-fcscan: a line per write and per device; NULL in the hook */
        unsigned fc_wait_ms;        /* device wait budget; 0 = until the hook's deadline */
        bool fc_no_wait;            /* look once, and a device not there yet is no error (fcscan without --wait) */
        unsigned fc_scan_timeout_ms; /* scan writes; 0 = until the hook's deadline */

        /* filled by dest_apply */
        bool xml_changed;
        size_t n_created;
        size_t fc_missing;          /* LUNs still missing after dest_fc_apply */
        size_t fc_write_errors;     /* sysfs writes that failed */
};

/* Validates the domain against the configuration and decides what to do.
 * with_dir/with_strip: whether this operation handles the instance
 * directory and the config drive (migrate) or only bridges (prepare).
 * Touches nothing. Returns 0 or -errno after logging a one-line error. */
int dest_plan(struct dest *d, bool with_dir);

/* Carries out the plan (or reports it when d->report is set): bridges, the
 * instance directory, then, if strip, the missing config drives. Records
 * what it created in the domain's journal; with journal_create false an
 * existing journal is extended but none is started.
 * Returns 0 or -errno after logging. */
int dest_apply(struct dest *d, bool strip, bool journal_create);

/* Adds a missing LUN to scan for and wait for. disk names it in messages;
 * source is the XML's source (NULL if none); path is what must appear below
 * the /dev root, or NULL for a FC_SRC_PATH source to wait for any by-path
 * link of that WWPN and LUN, or for a FC_SRC_WWID/FC_SRC_MAP one to wait
 * for its by-id scsi-/dm-uuid-mpath- link. Reads sysfs (is the WWID there
 * already?), touches nothing. Returns 0 or -ENOMEM. */
int dest_fc_add(struct dest *d, const char *disk, const char *source, const char *path, const struct fc_source *src);

/* Adds every <disk type='block'> of d->dom whose source is missing below
 * the /dev root (when [fc] rescan = yes), then plans the sysfs writes for all
 * LUNs added so far. Touches nothing. Returns 0 or -errno after logging. */
int dest_fc_plan(struct dest *d);

/* Carries out dest_fc_plan's plan: starts watching for the devices, writes
 * the scans (one thread per HBA), asks multipathd for the maps once their
 * paths exist, and waits for every device in one event loop, within
 * fc_wait_ms and the hook's deadline. With d->report it only says what it
 * would do. Sets fc_missing and fc_write_errors; logs a message per missing
 * LUN naming the disk, WWPN/LUN or WWID, the HBAs scanned and what to do.
 * Returns 0, or -ENODEV when a LUN is missing and [fc] on-missing = fail. */
int dest_fc_apply(struct dest *d);

void dest_done(struct dest *d);
