/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Host metrics for Prometheus: [metrics] textfile names a file in
 * node_exporter's textfile-collector directory that migkit-watch, each
 * migkit-cleanup run and migkit migrate rewrite after what they did.
 *
 * The counters persist in <state>/metrics ("migkit-metrics 1", then one
 * "<series> <value>" line each); every update takes <state>/lock/metrics,
 * reads them, adds, writes them back and then the textfile, each atomically
 * (temporary file, fsync, rename), so two writers never lose a count and
 * the exporter never reads half a file. The gauges (pending items, the
 * quarantine's entries and bytes) are measured at each write. With no
 * textfile configured nothing is counted or written.
 *
 * Series (units in the names, counters end in _total):
 *   migkit_migrations_in_total{result="success"|"failed"}
 *   migkit_migrations_out_total{result="success"|"failed"|"aborted"}
 *   migkit_rollbacks_total{result="done"|"partial"|"refused"}
 *   migkit_source_cleanups_total{result="done"|"refused"}
 *   migkit_refusals_total{action="source"|"rollback",reason=...}
 *   migkit_pending_items{action="source"|"rollback"}
 *   migkit_quarantine_entries, migkit_quarantine_bytes
 *   migkit_last_purge_timestamp_seconds (0: never)
 *   migkit_metrics_updated_timestamp_seconds */
#pragma once

#include <stdio.h>
#include <time.h>

#include "config.h"

enum metrics_event {
        METRIC_IN_SUCCESS,       /* an incoming migration completed here */
        METRIC_IN_FAILED,        /* an incoming migration failed here */
        METRIC_OUT_SUCCESS,      /* a guest migrated away (stopped/migrated) */
        METRIC_OUT_FAILED,       /* migkit migrate: the migration failed */
        METRIC_OUT_ABORTED,      /* migkit migrate: aborted on request */
        METRIC_ROLLBACK_DONE,
        METRIC_ROLLBACK_PARTIAL,
        METRIC_ROLLBACK_REFUSED,
        METRIC_SOURCE_DONE,      /* a source cleanup moved the directory to quarantine */
        METRIC_SOURCE_REFUSED,
        METRIC_PURGED,           /* a purge ran: the last purge time is now */
        _METRIC_EVENT_MAX,
};

/* Counts ev and rewrites the textfile. Returns 0 (also when no textfile is
 * configured) or -errno; the caller logs (a metric is never a reason to
 * fail what was done). */
int metrics_count(const struct mk_config *cfg, enum metrics_event ev);

/* Counts a refusal of action ("source" or "rollback") with the reason
 * text refused (classified by metrics_refusal_reason) and rewrites the
 * textfile. Returns 0 or -errno. */
int metrics_refusal(const struct mk_config *cfg, const char *action, const char *reason);

/* Rewrites the textfile with the counters as they are and fresh gauges.
 * Returns 0 or -errno. */
int metrics_update(const struct mk_config *cfg);

/* The reason label of a refusal's text: "no_proof", "domain_here",
 * "incoming_migration", "shared_storage", "unsafe_path" or "other". */
const char *metrics_refusal_reason(const char *text);

/* Writes the exposition text of the counters in state_dir and the gauges
 * measured in cfg at now to f (what the textfile holds). Returns 0 or
 * -errno. For tests and `migkit-cleanup metrics`. */
int metrics_render(const struct mk_config *cfg, FILE *f, time_t now);
