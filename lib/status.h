/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* `migkit status` and `migkit-cleanup status`: what is not finished on this
 * host, read from the state directory (pending items, journals, proofs) and
 * the quarantine, as text lines or one JSON document. Reads only; prints to
 * the FILE it is given and never logs. */
#pragma once

#include <stdio.h>
#include <time.h>

#include "config.h"

/* Prints the pending items, journals of incoming migrations, proofs and
 * quarantined directories, one per line:
 *   pending <source|rollback|disconnect> <uuid> <name|-> for <age>: <reason>[; <reason>...]
 *   journal <uuid> <name|-> started <age> ago: <item>, ...
 *   proof <uuid> <name|-> <kind> by <who> <age> ago[: <detail>]
 *   quarantined <uuid> <name|-> <age> ago, purged in <time>: <path> (<reason>)
 *   swap <uuid> <name|-> disk <d> <old> -> <new> <age> ago: <saved XML> (...)
 * Returns the number of lines, or -errno. */
int status_print(const struct mk_config *cfg, FILE *f, time_t now);

struct status_counts {
        unsigned pending;     /* refused, or left for a later run */
        unsigned journals;    /* incoming migrations not yet committed or rolled back */
        unsigned proofs;      /* recorded, not yet acted on */
        unsigned quarantined;
        unsigned swaps;       /* swap-volume runs that did not finish (their saved definitions) */
};

enum {
        STATUS_JSON = 1 << 0,
};

/* status_print with flags; counts (optional) receives how many of each.
 * With STATUS_JSON, one JSON document instead of the lines (times in
 * unix seconds, ages and durations in seconds, absent values null):
 *   {"now": T, "instances": PATH, "state": PATH, "retention": S,
 *    "pending": [{"action", "uuid", "name", "since", "age", "reasons": [..]}],
 *    "journals": [{"uuid", "name", "started", "age", "dirs": [..],
 *                  "bridges": [..], "stripped": [..], "scsi": [..],
 *                  "mpaths": [..]}   or {"uuid", "error"}],
 *    "proofs": [{"uuid", "name", "kind", "by", "time", "age", "detail"}
 *               or {"uuid", "error"}],
 *    "quarantined": [{"uuid", "name", "time", "age", "purge_in", "path",
 *                     "from", "reason"}],
 *    "swaps": [{"uuid", "name", "disk", "from", "to", "time", "age", "saved"}],
 *    "errors": [{"part", "error", "errno"}]}
 * The document is complete even when a part cannot be read: that part is
 * empty and named in "errors". Returns the number of items or the first
 * -errno. */
int status_print_ex(const struct mk_config *cfg, FILE *f, time_t now, int flags, struct status_counts *counts);
