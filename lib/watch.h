/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* migkit-watch: the lifecycle events of the local libvirt turned into
 * proofs, fix-ups and cleanup jobs. On libvirt < 10.5 they are the only
 * reliable signal of how a migration ended (doc/design.md):
 *   source       stopped/migrated: the guest left -> proof "migrated",
 *                job `source`;
 *   destination  resumed/migrated: the migration completed and the guest
 *                runs here -> note it in the journal, fix the persistent
 *                definition (virt_fixup_persistent), commit;
 *                started/migrated then stopped/<anything> with no sign of
 *                completion in between, all seen on one connection that
 *                was up before the journal started -> proof
 *                "incoming-failed", job `rollback`; when the watcher was
 *                not connected all that time it cannot know: a pending
 *                item says so, nothing is guessed.
 *   leftovers    at (re)connect, an instance directory no journal names whose
 *                domain libvirt no longer knows here (it left while no
 *                migrated event was recorded): a pending source item that
 *                says so; nothing is removed (watch_decide_leftover).
 * Post-copy: resumed/postcopy means the guest runs here while its memory
 * still arrives; nothing is committed until resumed/migrated, and a guest
 * whose post-copy began is never rolled back automatically (its state was
 * split between the hosts).
 *
 * The decisions are pure functions of the event and a few facts
 * (lifecycle.h: watch_decide_event, watch_decide_found,
 * watch_decide_leftover), unit-tested row by row; this is the rest, the
 * plumbing: libvirt's default event loop, a close callback and
 * reconnection with back-off, and one log line per decision:
 *   domain NAME (UUID): EVENT: WHAT WAS DONE[; WHY]
 * EVENT is libvirt's event and detail ("stopped/migrated", "resumed/postcopy")
 * or, for the reconciliation at (re)connect, "at connect, STATE" (running,
 * paused, shut-off, not-defined, ...); e.g.
 *   domain inst-1 (UUID): stopped/migrated: recorded proof, started cleanup source
 * Every cleanup and rollback is handed to migkit-cleanup, the event loop
 * never waits for one; only the commit, which touches nothing but the state
 * directory, runs in process (the rule is in dispatch.h). */
#pragma once

#include <stdbool.h>

#include "config.h"

struct watch;

/* A watcher of the libvirt at uri (NULL: [cleanup] libvirt-uri) acting on
 * cfg's state directory. Registers libvirt's default event loop
 * implementation (once per process), so call it before any other
 * connection that should deliver events is opened. Returns 0 or -ENOMEM. */
int watch_new(const struct mk_config *cfg, const char *uri, struct watch **ret);

/* Connects once: opens uri read-write, subscribes to lifecycle events,
 * registers the close callback, and queues the reconciliation of every
 * journal with libvirt's view (watch_decide_found), done by the next loop
 * iterations. Returns 0, or -ECONNREFUSED after logging libvirt's message. */
int watch_connect(struct watch *w);

/* Runs one iteration of the event loop (blocks until something happens).
 * Returns 0 or -EIO. */
int watch_iterate(struct watch *w);

/* Runs until SIGTERM or SIGINT (then returns 0): connects, reconnecting
 * with back-off (1 s doubling to 30 s) whenever libvirt goes away, and acts
 * on every event. With once: connects a single time, reconciles the
 * journals, and returns (0, or -ECONNREFUSED when libvirt is not there). */
int watch_run(struct watch *w, bool once);

/* Queues a lifecycle event of the domain uuid (name may be NULL) as if
 * libvirt had sent it on the current connection; it is handled by the next
 * watch_iterate(). The event callback uses it; so do the tests, for the
 * migration events libvirt's test driver cannot send. */
void watch_queue_event(struct watch *w, const char *uuid, const char *name, int event, int detail);

/* Lifecycle events received and decisions logged so far (for tests). */
unsigned watch_events_seen(const struct watch *w);
unsigned watch_decisions_made(const struct watch *w);
/* True while connected. */
bool watch_is_connected(const struct watch *w);

void watch_free(struct watch *w);
