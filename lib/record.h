/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The flight recorder of `migkit migrate` (--record FILE, [migrate]
 * record-dir): a file of JSON lines, the same objects --json prints
 * (progress.h) but every job sample instead of one per interval:
 *   {"event":"record","version":1,...}   first: the job's settings (flags,
 *                                        bandwidth, the policy's limits)
 *   {"event":"progress",...}             each virDomainGetJobStats sample
 *   {"event":"iteration","iteration":N}  libvirt's migration-iteration event
 *   {"event":"policy","action":...}      each decision, measured and
 *                                        predicted values included
 *   {"event":"upload"|"start"|"dirtyrate"|"abort"|"recover"|"completed"|...}
 *   {"event":"result",...}               last: status, downtime, post-copy
 * This module opens such a file and reads one back (for `migkit plot` and
 * the tests, which replay recorded lab migrations through the policy). */
#pragma once

#include <stdbool.h>
#include <stdio.h>
#include <time.h>

#include "converge.h"

/* Creates (or truncates) the record at path: mode 0640, no symlink
 * followed, close-on-exec, line-buffered. Returns 0 or -errno. */
int record_open(const char *path, FILE **ret);

/* The path of a new record for domain `name` in dir:
 * <dir>/<name>-YYYYmmdd-HHMMSS.jsonl (local time t; bytes of name other than
 * letters, digits, '-', '_' and '.' become '_'). Returns 0 or -ENOMEM. */
int record_path(const char *dir, const char *name, time_t t, char **ret);

struct rec_sample {
        struct mig_sample s;
        char *phase;
};

/* Anything that is not a sample: a decision, an event. */
struct rec_mark {
        unsigned long long elapsed_ms;
        char *event;       /* "policy", "iteration", "upload", "start", ... */
        char *action;      /* policy: converge_action_to_string(); else NULL */
        char *message;     /* may be NULL */
        long long value;   /* policy: downtime_ms; iteration: the pass; else -1 */
        bool applied;      /* policy: libvirt took it */
        bool converges;    /* policy with a prediction: the verdict */
        bool predicted;    /* policy: made by a prediction */
};

struct recording {
        char *domain, *destination, *flags;
        unsigned long long memory_bytes;   /* the guest's, from the header */
        unsigned bandwidth_mib, postcopy_bandwidth_mib;
        struct converge_policy policy;     /* from the header */
        bool have_header;
        struct rec_sample *samples;
        size_t n_samples;
        struct rec_mark *marks;
        size_t n_marks;
        /* the result line */
        bool have_result;
        char *status;                      /* "ok", "failed", "aborted", "refused" */
        bool postcopy;
        long long downtime_ms;             /* -1: unknown */
        unsigned long long elapsed_ms;
        char *result_message;
};

/* Reads a record (or --json output) from f; name is for messages. Lines
 * that are not JSON objects are an error (*ret_err, malloc'ed, names the
 * line); events it does not know are kept as marks. Returns 0, -EINVAL,
 * -ENOMEM or -EIO. */
int record_read(FILE *f, const char *name, struct recording *ret, char **ret_err);
/* The same from a file. */
int record_load(const char *path, struct recording *ret, char **ret_err);

void recording_free(struct recording *r);

/* The first line of a record: the job's settings. */
struct record_header {
        const char *domain, *destination;
        const char *flags;                 /* "live,peer2peer,postcopy,..." */
        unsigned long long memory_bytes;
        unsigned bandwidth_mib, postcopy_bandwidth_mib;
        const struct converge_policy *policy;
};
void record_write_header(FILE *f, const struct record_header *h);
