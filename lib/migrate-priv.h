/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Shared by the files of the migrate module only: migrate.c (the job, the
 * monitor, finish) and migsetup.c (everything before the job starts). */
#pragma once

#include <pthread.h>

#include "blockmig.h"
#include "converge.h"
#include "migaround.h"
#include "migevents.h"
#include "migout.h"
#include "migrate.h"
#include "util.h"

/* The migration job, run by a thread of its own. */
struct job {
        virDomainPtr dom;
        const char *duri;
        virTypedParameterPtr params;
        int nparams;
        unsigned long flags;
        int rc;
        char *err;
        int fd; /* written once when done */
};

/* Everything one migration holds, released in one place (run_done). */
struct run {
        const struct mk_config *cfg;
        const struct migrate_opts *o;
        struct migrate_result *res;
        struct migout out;
        virConnectPtr src, dst;
        virDomainPtr dom;
        char *dst_err;
        int slot;                      /* [limits] outgoing */
        unsigned long flags;
        virTypedParameterPtr params;
        int nparams;
        struct mig_uploads ups;
        struct block_plan plan;        /* the disks copied (blockmig.h) */
        struct block_prep prep;        /* what was created for them on the destination */
        struct migrate_opts eff;       /* o with the plan's disks */
        struct converge cv;
        int pfd[2];                    /* wakes the monitor: 'x' job done, 'i' a pass ended */
        struct mig_completed *comp;
        int comp_id, iter_id;
        struct mig_iteration *iter;
        unsigned long long seen_iteration;
        struct job job;
        pthread_t th;
        bool running;                  /* the job thread was started and not joined */
        /* the monitor */
        unsigned long long t0, last_stats, abort_at, last_abort_try;
        bool aborted_by_us, in_postcopy, warned_postcopy;
        unsigned long long postcopy_ms; /* elapsed when the switch was made */
        struct mig_sample last;
        unsigned long long last_at;    /* monotonic ms of the last sample */
        /* recovery of a broken post-copy */
        bool resuming;                 /* an attempt to resume runs */
        bool resume_paused;            /* ... and was paused again by the monitor */
        int resume_tries;
        unsigned long long resume_pause_try; /* monotonic ms of the last try to pause it, 0: none */
        struct resume_watch rw;
        /* QEMU's sampling of the guest's dirty rate, started before the job */
        int dirty_state;               /* enum dirty_sample_state */
        unsigned long long dirty_started, sampled_bps, sampled_ms;
        char dirty_msg[768];           /* what to say about it when the job starts, "": nothing */
};

enum dirty_sample_state {
        DIRTY_SAMPLE_OFF,              /* not asked for, or not available: said so */
        DIRTY_SAMPLE_MEASURING,
        DIRTY_SAMPLE_KNOWN,
};

/* Sets the result's status and reason; returns 0. */
int set_result(struct migrate_result *res, int status, const char *fmt, ...) _printf_(3, 4);

/* Everything before the job starts: connections, preflight, outgoing slot,
 * parameters, policy, record, the disks' images, config-drive upload. 0 to
 * go on, 1 when the result says why not, -errno. */
int run_setup(struct run *r);

/* Has QEMU start sampling the guest's dirty rate when post-copy is asked
 * for (read right before the job starts, migrate.c). */
void migrate_dirty_sample_start(struct run *r);

/* After a failed migration with nothing of the guest on the destination:
 * removes what run_setup created there for the copy of the disks. */
void undo_storage(struct run *r);
