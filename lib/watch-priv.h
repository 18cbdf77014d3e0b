/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Internal to migkit-watch (its API is watch.h): what watch.c (the event
 * loop, the reconciliation at connect) and watchact.c (acting on a
 * decision) share. Nothing else includes it. */
#pragma once

#include <libvirt/libvirt.h>
#include <time.h>

#include "journal.h"
#include "lifecycle.h"
#include "log.h"
#include "util.h"
#include "watch.h"

#define RETRY_MS 60000         /* a fix-up or commit that failed is tried again */

/* One lifecycle event, queued by the callback, handled from a timer. */
struct item {
        char uuid[VIR_UUID_STRING_BUFLEN];
        char *name;
        int event, detail;
        unsigned gen;       /* the connection it came on */
};

struct watch {
        const struct mk_config *cfg;
        char *uri;
        virConnectPtr conn;
        int cb_id;
        unsigned gen;              /* counts connections */
        time_t connected_since;    /* 0 while not connected */
        unsigned backoff_ms;
        int work_timer, connect_timer, retry_timer;
        bool scan_wanted, stop;
        struct item *queue;
        size_t n_queue;
        char **incoming;           /* started/migrated seen on this connection */
        char **arrived, **postcopy;
        char **gone_seen;          /* stopped or undefined seen, no start or define since */
        unsigned n_events, n_decisions;
};

/* Adds uuid to one of the watcher's lists (what it has seen). */
static inline void watch_remember(char ***l, const char *s)
{
        if (strv_push_unique(l, s) < 0)
                log_warning_errno(ENOMEM, "out of memory; uuid %s is not remembered", s);
}

/* Fires timer (one of struct watch's) in ms milliseconds; -1: never. */
static inline void arm(int timer, int ms)
{
        if (timer >= 0)
                virEventUpdateTimeout(timer, ms);
}

/* What the state directory and this process know about uuid. j receives
 * the journal (empty if none). */
void watch_gather(struct watch *w, const char *uuid, struct journal *j, struct watch_facts *f);

/* Carries out decision d about uuid (name may be NULL: the journal's),
 * what being the event or "at connect, STATE", and logs the one line:
 *   domain NAME (UUID): WHAT: WHAT WAS DONE[; WHY] */
void watch_act(struct watch *w, const char *uuid, const char *name, const char *what, const struct watch_decision *d,
               const struct journal *j);
