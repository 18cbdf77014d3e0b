/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Where `migkit migrate` tells what happens, one place for every form: a
 * bar redrawn in place on a terminal, plain lines ("<domain>: text"), one
 * JSON object per line (--json), nothing (--quiet), and, whatever the form,
 * every sample and event into the flight record (record.h) when one is
 * open. The lines and JSON objects are progress.h's. Thread-safe per line
 * (the FILE is locked). */
#pragma once

#include <stdbool.h>
#include <stdio.h>

#include "converge.h"

struct migout {
        FILE *f;
        int mode;                    /* MIGRATE_OUT_* (AUTO means a terminal) */
        bool tty;                    /* a bar is on screen */
        const char *domain;
        FILE *rec;                   /* the flight record, or NULL */
        unsigned interval_ms;        /* between plain lines and JSON objects */
        unsigned long long last_line; /* monotonic ms of the last one */
};

/* An event: "<domain>: text" as a line, event_json() as JSON (value_key
 * may be NULL), always into the record. */
void migout_event(struct migout *o, const char *event, unsigned long long elapsed_ms, const char *value_key,
                  unsigned long long value, const char *text);

/* A sample: the bar at every call, a line or JSON object once per
 * interval, the record every time. phase: NULL, "stalled", "post-copy". */
void migout_progress(struct migout *o, const struct mig_sample *s, const char *phase);

/* A policy decision and its explanation (text). */
void migout_decision(struct migout *o, unsigned long long elapsed_ms, const struct converge_action *a, bool applied,
                     const char *text);

/* The last line: {"event":"result",...,"exit":N,"status":S,"postcopy":B,
 * "downtime_ms":N (when known),"message":text}; "<domain>: text" as a line. */
void migout_result(struct migout *o, unsigned long long elapsed_ms, int exit_code, const char *status, bool postcopy,
                   long long downtime_ms, long long job_elapsed_ms, const char *text);
