/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The convergence policy of `migkit migrate`: a pure state machine fed with
 * the job statistics libvirt reports over time, answering what to change in
 * the running job. No libvirt here: tests feed it recorded samples.
 *
 * What can change while a migration runs is little: the allowed downtime
 * (virDomainMigrateSetMaxDowntime), the bandwidth, and, only when the job was
 * started with VIR_MIGRATE_POSTCOPY, the switch to post-copy
 * (virDomainMigrateStartPostCopy). Auto-converge (CPU throttling) is a flag
 * chosen when the job starts; the policy cannot turn it on later.
 *
 * The rules, checked in this order at every sample:
 *  1. completion timeout: past it, switch to post-copy if allowed and not
 *     done yet, otherwise abort the job (the guest stays on the source);
 *  2. stall: data_remaining has not reached a new low (at least 5% under the
 *     previous low) for stall_ms after the first memory pass: switch to
 *     post-copy if allowed;
 *  3. downtime steps (as Nova does): the allowed downtime starts at
 *     max/steps and rises linearly to max, one step every step_ms.
 * In post-copy nothing more is done: the guest already runs on the
 * destination and the job cannot be aborted any more. */
#pragma once

#include <stdbool.h>

/* One reading of virDomainGetJobStats; 0 means "not reported". */
struct mig_sample {
        unsigned long long elapsed_ms;
        unsigned long long data_total, data_processed, data_remaining; /* bytes */
        unsigned long long mem_bps;      /* transfer speed, bytes/s */
        unsigned long long dirty_bps;    /* dirty rate, bytes/s */
        unsigned long long iteration;    /* memory pass, from 1 */
        bool postcopy;                   /* the job is in post-copy */
};

struct converge_policy {
        unsigned downtime_max_ms;      /* final allowed downtime; 0: leave libvirt's */
        unsigned downtime_steps;       /* >= 1 */
        unsigned downtime_step_ms;     /* between two steps */
        unsigned stall_ms;             /* 0: no stall detection */
        unsigned completion_timeout_ms; /* 0: none */
        bool postcopy;                 /* the job has VIR_MIGRATE_POSTCOPY */
};

enum converge_action_kind {
        CONVERGE_NONE,
        CONVERGE_SET_DOWNTIME,  /* value: ms */
        CONVERGE_POSTCOPY,
        CONVERGE_ABORT,
};

struct converge_action {
        int kind;                  /* enum converge_action_kind */
        unsigned long long value;
        const char *reason;        /* static text for the operator */
};

struct converge {
        struct converge_policy p;
        unsigned step;                 /* downtime steps applied so far */
        unsigned long long best_remaining;
        unsigned long long best_ms;    /* elapsed_ms at best_remaining */
        bool stalled;
        bool postcopy_requested;
        bool aborted;
};

/* Starts the machine for one job. */
void converge_init(struct converge *c, const struct converge_policy *p);

/* Feeds one sample (elapsed_ms must not go backwards) and returns in *a
 * the one action to take now (CONVERGE_NONE: nothing). Call it again with
 * the next sample; an action that was returned once is not repeated. */
void converge_next(struct converge *c, const struct mig_sample *s, struct converge_action *a);

/* The downtime of step i (0-based) of p: max/steps + (max - max/steps)*i/steps. */
unsigned converge_downtime_of_step(const struct converge_policy *p, unsigned i);

/* "none", "downtime", "postcopy", "abort". */
const char *converge_action_to_string(int kind);
