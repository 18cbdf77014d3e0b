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
 * The policy predicts instead of waiting. At the end of every memory pass
 * (from the end of the first one on) it takes what that pass measured: the
 * memory still to send R (what the guest dirtied during the pass), the rate
 * it was sent at B (the pass's average) and the rate the guest dirtied it at
 * D (QEMU's, for that pass), and models the passes to come as geometric:
 * each one sends what the previous one left, in R/B seconds, while the guest
 * dirties D times that, so the remainder shrinks by rho = D/B per pass.
 * Pre-copy stops (and the guest pauses for the downtime) once the remainder
 * fits into B x the allowed downtime. Predicted:
 *   passes    n = ceil(ln(B*downtime_max / R) / ln rho), 0 if R fits now;
 *   pre-copy  R/B * (1 - rho^n) / (1 - rho) more milliseconds;
 *   post-copy R/B (every page sent once more, at most).
 * Pre-copy "converges" when rho < 1 and it is predicted to take at most
 * CONVERGE_PRECOPY_FACTOR times what post-copy would, within the completion
 * timeout. Then:
 *   converges           the guest is left alone; the allowed downtime is set
 *                       to the least step that needs no more passes than
 *                       the maximum would even with twice the remainder
 *                       predicted (so no time is lost waiting for a
 *                       smaller remainder), never lowered;
 *   does not converge   post-copy allowed: switch now; otherwise: the allowed
 *                       downtime goes to its maximum now (auto-converge, if
 *                       the job has it, throttles the guest meanwhile).
 * Every such decision carries what was measured and what was predicted.
 * The measured rates are re-taken at each pass, so a guest whose working set
 * turned out larger than the first pass showed is caught one pass later.
 *
 * Earlier, during the first pass, when the caller had QEMU sample the
 * guest's dirty rate right before the job (sampled_dirty_bps) and the job
 * has sent for CONVERGE_WINDOW_MS: the same model once, with R the memory
 * left now, B the rate sent at so far and D the sampled rate. A guest
 * that cannot converge (it dirties memory as fast as it is sent) is
 * switched to post-copy there and then when post-copy is allowed: every
 * page sent in the first pass and dirtied again before the switch is sent
 * twice, so the earlier the switch, the less is sent. Anything else
 * (converges, converges slowly, or post-copy not allowed) leaves the job to
 * the end of the first pass as without the sample: there the model's
 * remainder is what the guest left, not all that was left to send, which
 * over-states a slow guest's later passes. The decision comes once and says
 * that it was made on QEMU's sample.
 *
 * The backstops, checked before and after the prediction at every sample:
 *  1. completion timeout: past it, switch to post-copy if allowed and not
 *     done yet, otherwise abort the job (the guest stays on the source);
 *  2. stall: data_remaining has not reached a new low (at least 5% under the
 *     previous low) for stall_ms after the first memory pass: switch to
 *     post-copy if allowed;
 *  3. downtime steps (as Nova does, but never below where it is): the
 *     allowed downtime starts at QEMU's default, 300 ms (the maximum if
 *     lower), since the end of the first pass is decided before any
 *     prediction; the steps rise linearly from max/steps to max, one every
 *     step_ms.
 * In post-copy nothing more is done: the guest already runs on the
 * destination and the job cannot be aborted any more. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Pre-copy may take this many times the post-copy time before the policy
 * prefers post-copy: past it, the guest would spend more than twice as long
 * migrating (and dirtying the network) as post-copy needs. */
#define CONVERGE_PRECOPY_FACTOR 2

/* One reading of virDomainGetJobStats; 0 means "not reported". */
struct mig_sample {
        unsigned long long elapsed_ms;
        unsigned long long data_total, data_processed, data_remaining; /* bytes, disks included */
        unsigned long long mem_total, mem_processed, mem_remaining;    /* bytes, memory only */
        unsigned long long mem_bps;      /* transfer speed, bytes/s */
        unsigned long long dirty_bps;    /* dirty rate, bytes/s */
        unsigned long long iteration;    /* memory pass, from 1 */
        unsigned long long downtime_ms;  /* the allowed downtime then (the caller's), 0: unknown */
        bool postcopy;                   /* the job is in post-copy */
        bool dirty_sampled;              /* sampled_dirty_bps is known */
        unsigned long long sampled_dirty_bps; /* the guest's dirty rate as QEMU sampled it before
                                               * the job (page-sampling, over sampled_ms), bytes/s */
        unsigned long long sampled_ms;   /* the sampling period */
};

struct converge_policy {
        unsigned downtime_max_ms;      /* final allowed downtime; 0: leave libvirt's */
        unsigned downtime_steps;       /* >= 1 */
        unsigned downtime_step_ms;     /* between two steps */
        unsigned stall_ms;             /* 0: no stall detection */
        unsigned completion_timeout_ms; /* 0: none */
        bool postcopy;                 /* the job has VIR_MIGRATE_POSTCOPY */
        bool auto_converge;            /* the job has VIR_MIGRATE_AUTO_CONVERGE (for the explanation) */
};

enum converge_action_kind {
        CONVERGE_NONE,
        CONVERGE_SET_DOWNTIME,  /* value: ms */
        CONVERGE_POSTCOPY,
        CONVERGE_ABORT,
        CONVERGE_KEEP,          /* a prediction was made; nothing changes */
};

/* What one pass measured and what the model predicts from it. */
struct converge_prediction {
        bool valid;
        unsigned long long iteration;    /* the pass that starts now */
        unsigned long long first_pass;   /* the first pass measured: passes shorter than
                                          * CONVERGE_WINDOW_MS add up into one window */
        unsigned long long pass_ms;      /* how long the passes measured took */
        unsigned long long remaining;    /* bytes to send in the new pass */
        unsigned long long transfer_bps; /* sent during the pass that ended */
        unsigned long long dirty_bps;    /* dirtied during it */
        unsigned ratio_pm;               /* dirty / transfer, per mille */
        bool converges;
        unsigned passes;                 /* more passes at the maximum downtime */
        unsigned long long precopy_ms;   /* to finish in pre-copy; 0 if it never does */
        unsigned long long postcopy_ms;  /* to finish after a switch now */
        unsigned downtime_ms;            /* the least allowed downtime needing no more passes */
        bool in_pass;                    /* made during pass `iteration` on QEMU's sampled dirty
                                          * rate (sampled_ms long), not at the end of a pass */
        unsigned long long sampled_ms;
};

struct converge_action {
        int kind;                  /* enum converge_action_kind */
        unsigned long long value;
        const char *reason;        /* static text for the operator */
        struct converge_prediction pred; /* .valid when a prediction made it */
};

/* The shortest window the rates of a prediction are measured over: QEMU
 * counts the dirty rate over a second or more, and a pass shorter than that
 * has less than a second's transfer left, so its rates are noise. Shorter
 * passes add up into one window, measured when it is this long. */
#define CONVERGE_WINDOW_MS 1000

struct converge {
        struct converge_policy p;
        unsigned step;                 /* downtime steps applied so far */
        unsigned downtime_ms;          /* allowed downtime set so far, 0: none */
        unsigned long long best_remaining;
        unsigned long long best_ms;    /* elapsed_ms at best_remaining */
        unsigned long long pass;       /* the pass of the last sample */
        unsigned long long window_pass; /* the first pass of the window being measured */
        unsigned long long pass_ms;    /* elapsed_ms when the window started */
        unsigned long long pass_processed; /* bytes sent by then */
        struct converge_prediction last; /* the latest prediction */
        bool started;
        bool sampled_decided;          /* the decision on the sampled dirty rate was made */
        bool stalled;
        bool postcopy_requested;
        bool aborted;
};

/* One attempt to resume a broken post-copy (VIR_MIGRATE_POSTCOPY_RESUME).
 * libvirt's resume call returns only once the whole post-copy finished,
 * and an attempt can connect and then send nothing for minutes (a network
 * that fails again without an error: TCP gives up only after its
 * retransmissions). An attempt that sent nothing for stall_ms (0: never
 * judged stuck), or that still runs at the end of the recovery time, is to
 * be paused again: what a broken connection does, so that it can be
 * resumed once more. */
struct resume_watch {
        unsigned long long deadline;   /* monotonic ms: the recovery ends */
        unsigned long long sent_at;    /* monotonic ms of the last progress */
        unsigned long long processed;  /* bytes sent by then */
        unsigned stall_ms;
};

enum resume_verdict {
        RESUME_GOES_ON,
        RESUME_STUCK,    /* nothing sent for stall_ms */
        RESUME_TIMED_OUT, /* the recovery time is over */
};

/* Starts watching an attempt at now; processed: what the job had sent
 * before it (a sample equal to that is no progress). */
void resume_watch_start(struct resume_watch *w, unsigned long long now, unsigned long long deadline,
                        unsigned stall_ms, unsigned long long processed);
/* The verdict at now, given the latest sample's data_processed. */
enum resume_verdict resume_watch_next(struct resume_watch *w, unsigned long long now, unsigned long long processed);

/* Starts the machine for one job. */
void converge_init(struct converge *c, const struct converge_policy *p);

/* Feeds one sample (elapsed_ms must not go backwards) and returns in *a
 * the one action to take now (CONVERGE_NONE: nothing). Call it again with
 * the next sample; an action that was returned once is not repeated
 * (CONVERGE_KEEP comes once per pass). */
void converge_next(struct converge *c, const struct mig_sample *s, struct converge_action *a);

/* The model alone: what pass `iteration` (>= 2) starting with `remaining`
 * bytes to send, after a pass of pass_ms that sent at transfer_bps while
 * the guest dirtied at dirty_bps, is predicted to do under p, at elapsed_ms
 * into the job. Fills *ret (ret->valid false when the rates are unknown). */
void converge_predict(const struct converge_policy *p, unsigned long long elapsed_ms, unsigned long long iteration,
                      unsigned long long pass_ms, unsigned long long remaining, unsigned long long transfer_bps,
                      unsigned long long dirty_bps, struct converge_prediction *ret);

/* The downtime of step i (0-based) of p: max/steps + (max - max/steps)*i/steps. */
unsigned converge_downtime_of_step(const struct converge_policy *p, unsigned i);

/* "none", "downtime", "postcopy", "abort", "keep". */
const char *converge_action_to_string(int kind);
