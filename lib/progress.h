/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* How `migkit migrate` shows a running job: a bar redrawn in place on a
 * terminal, a plain line every few seconds otherwise, or one JSON object per
 * line (--json) for automation. Pure formatting, no I/O: each function
 * writes into buf (always NUL-terminated when n > 0) and returns the length
 * the full text has, like snprintf. */
#pragma once

#include <stddef.h>

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

/* A JSON object on one line, without a line end:
 *   {"event":"progress","domain":"...","elapsed_ms":N,"percent":N,"data_total":N,
 *    "data_processed":N,"data_remaining":N,"speed_bps":N,"dirty_bps":N,
 *    "iteration":N,"eta_ms":N|null,"phase":"precopy"|"..."} */
size_t progress_json(char *buf, size_t n, const char *domain, const struct mig_sample *s, const char *phase);

/* Other events as one JSON line; value_key may be NULL (then no number):
 *   {"event":"<event>","domain":"...","elapsed_ms":N,"<value_key>":N,"message":"..."} */
size_t event_json(char *buf, size_t n, const char *event, const char *domain, unsigned long long elapsed_ms,
                  const char *value_key, unsigned long long value, const char *message);

/* s as a JSON string body (no quotes): ", \, control characters escaped. */
size_t json_escape(char *buf, size_t n, const char *s);
