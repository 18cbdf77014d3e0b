/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* How `migkit migrate` shows a running job: a bar redrawn in place on a
 * terminal, a plain line every few seconds otherwise, or one JSON object per
 * line (--json) for automation. Pure formatting, no I/O: each function
 * writes into buf (always NUL-terminated when n > 0) and returns the length
 * the full text has, like snprintf. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "converge.h"

/* "0 B", "512 B", "1.0 KiB", "12.3 MiB", "1.5 GiB", "2.0 TiB". */
size_t format_bytes(char *buf, size_t n, unsigned long long bytes);
/* "0:07", "1:05", "1:02:03" (hours:minutes:seconds), from ms. */
size_t format_duration(char *buf, size_t n, unsigned long long ms);

/* Percent done (0-100): (total - remaining) / total; 0 when total is 0. */
unsigned progress_percent(const struct mig_sample *s);
/* Estimated time left in ms from data_remaining and the transfer speed,
 * -1 when it cannot be told (no speed yet, or the guest dirties memory at
 * least as fast as it is sent). */
long long progress_eta_ms(const struct mig_sample *s);

/* The terminal bar, without a line end (the caller prefixes "\r" and
 * clears the rest of the line):
 *   [#########...........]  45%  123.4 MiB left  20.0 MiB/s  dirty 3.1 MiB/s  pass 2  0:12  ETA 0:07
 * phase, when not NULL, replaces the ETA (e.g. "post-copy"). width: of
 * the bar between the brackets. */
size_t progress_bar(char *buf, size_t n, const struct mig_sample *s, const char *phase, unsigned width);

/* A plain line for logs, without a line end:
 *   <domain>: 45% done, 123.4 MiB left, 20.0 MiB/s, dirty 3.1 MiB/s, pass 2, elapsed 0:12, ETA 0:07[, phase] */
size_t progress_line(char *buf, size_t n, const char *domain, const struct mig_sample *s, const char *phase);

/* The JSON form, one object per line, for --json and the flight recorder
 * (record.h), written with json.h (strings always valid JSON).
 *
 * The fields of a sample, into an object already begun on j:
 *   "elapsed_ms":N,"percent":N,"data_total":N,"data_processed":N,"data_remaining":N,
 *   "memory_total":N,"memory_processed":N,"memory_remaining":N,"speed_bps":N,"dirty_bps":N,
 *   "iteration":N,"downtime_ms":N,"eta_ms":N|null,"phase":"precopy"|"postcopy"|phase */
struct json;
void progress_json_fields(struct json *j, const struct mig_sample *s, const char *phase);

/* One line: {"event":"progress","domain":"...",<the fields above>} */
void progress_json(FILE *f, const char *domain, const struct mig_sample *s, const char *phase);

/* Starts the line {"event":"<event>","domain":"...","elapsed_ms":N on j,
 * writing to f; add fields with json.h and end it with event_json_end(). */
void event_json_begin(struct json *j, FILE *f, const char *event, const char *domain, unsigned long long elapsed_ms);
/* Closes the object and the line. Returns json_end()'s result. */
int event_json_end(struct json *j);

/* Other events as one line; value_key may be NULL (then no number),
 * message too:
 *   {"event":"<event>","domain":"...","elapsed_ms":N,"<value_key>":N,"message":"..."} */
void event_json(FILE *f, const char *event, const char *domain, unsigned long long elapsed_ms, const char *value_key,
                unsigned long long value, const char *message);

/* A decision of the convergence policy as one line:
 *   {"event":"policy","domain":"...","elapsed_ms":N,"action":"downtime"|"postcopy"|"abort"|"keep",
 *    ["downtime_ms":N,] "applied":true|false,"message":"...",
 * and, when a prediction made it, what was measured and predicted:
 *    "pass":N,"first_pass":N,"pass_ms":N,"remaining":N,"transfer_bps":N,"dirty_bps":N,"ratio_pm":N,
 *    "converges":B,"predicted_passes":N,"predicted_precopy_ms":N,"predicted_postcopy_ms":N,
 *    "predicted_downtime_ms":N} */
void decision_json(FILE *f, const char *domain, unsigned long long elapsed_ms, const struct converge_action *a, bool applied,
                   const char *message);

/* One line for the operator: what a policy action (kind, value, reason,
 * prediction) does and why, with the numbers measured and predicted, e.g.
 *   "pass 1 took 8.1 s: 131.0 MiB left to send, dirtied at 16.2 MiB/s, sent
 *    at 19.9 MiB/s (dirty/sent 0.81); pre-copy predicted to need 12 more
 *    passes, 30.4 s, over 2 times post-copy's 6.6 s (or past the completion
 *    timeout): switching to post-copy now (predicted 6.6 s)"
 * Like snprintf: returns the length of the full text. */
size_t progress_explain(char *buf, size_t n, const struct converge_action *a);
