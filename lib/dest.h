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
#include "destfc.h"
#include "journal.h"

struct dest_bridge {
        char *name;
        unsigned mtu;
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

        struct dest_fc fc;          /* the block disks on FC LUNs missing here (destfc.h) */
        char **listen_rewrite;      /* graphics listen addresses missing here, set to [graphics] listen */

        /* filled by dest_apply */
        bool xml_changed;
        size_t n_created;
};

/* Validates the domain against the configuration and decides what to do.
 * with_dir/with_strip: whether this operation handles the instance
 * directory and the config drive (migrate) or only bridges (prepare).
 * Touches nothing. Returns 0 or -errno after logging a one-line error. */
int dest_plan(struct dest *d, bool with_dir);

/* Carries out the plan (or reports it when d->report is set): if strip,
 * the missing block disks and config drives, then bridges, the instance
 * directory and, if strip, the graphics listen addresses. Records what it
 * created or stripped in the domain's journal; with journal_create false an
 * existing journal is extended but none is started.
 * Returns 0 or -errno after logging. */
int dest_apply(struct dest *d, bool strip, bool journal_create);

void dest_done(struct dest *d);
