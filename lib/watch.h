/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* migkit-watch: the lifecycle events of the local libvirt turned into
 * proofs, fix-ups and cleanup jobs. On libvirt < 10.5 they are the only
 * reliable signal of how a migration ended (DESIGN.md):
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
 * (watch_decide_event, watch_decide_found), unit-tested row by row; the rest
 * is plumbing: libvirt's default event loop, a close callback and
 * reconnection with back-off, and one log line per decision:
 *   domain NAME (UUID): EVENT: WHAT WAS DONE[; WHY]
 * EVENT is libvirt's event and detail ("stopped/migrated", "resumed/postcopy")
 * or, for the reconciliation at (re)connect, "at connect, STATE" (running,
 * paused, shut-off, not-defined, ...); e.g.
 *   domain inst-1 (UUID): stopped/migrated: recorded proof, started cleanup source
 * Every job is handed to migkit-cleanup (dispatch.h); the event loop never
 * waits for one. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "config.h"

/* What is known about one guest when an event of it arrives. */
struct watch_facts {
        bool journal;            /* <state>/journal/<uuid> exists: an incoming migration not committed */
        time_t journal_started;  /* its "started" */
        bool postcopy;           /* post-copy began (journal mark, or seen) */
        bool arrived;            /* the migration completed here (journal mark, or seen) */
        bool incoming_seen;      /* started/migrated was seen on the current connection,
                                    and no other event of the guest since */
        bool failed_proof;       /* an incoming-failed proof is on record */
        bool pending;            /* a pending rollback is on record (its reason stays) */
        bool migrated_proof;     /* a migrated proof is on record */
        bool pending_source;     /* a pending source cleanup is on record (its reason stays) */
        bool departure_seen;     /* this watcher saw the guest stop or be undefined here (and
                                    no start or define since): nothing was missed */
        time_t connected_since;  /* when the current connection's event subscription
                                    began; 0 when not connected */
};

/* What to do, in this order. */
enum {
        WATCH_MARK_POSTCOPY = 1 << 0,  /* journal mark postcopy */
        WATCH_MARK_ARRIVED = 1 << 1,   /* journal mark arrived */
        WATCH_FIXUP = 1 << 2,          /* the persistent-definition fix-up */
        WATCH_COMMIT = 1 << 3,         /* cleanup_commit (only after a fix-up that worked) */
        WATCH_PROOF_MIGRATED = 1 << 4, /* proof "migrated" by watch */
        WATCH_RUN_SOURCE = 1 << 5,     /* job `source` (only with the proof recorded) */
        WATCH_PROOF_FAILED = 1 << 6,   /* proof "incoming-failed" by watch */
        WATCH_RUN_ROLLBACK = 1 << 7,   /* job `rollback` (only with the proof recorded) */
        WATCH_PENDING = 1 << 8,        /* pending rollback, reason watch_pending_text(pending) */
        WATCH_PENDING_SOURCE = 1 << 9, /* pending source cleanup, reason watch_pending_text(pending) */
};

/* Why an outcome is left to a person. */
enum watch_pending {
        WATCH_PENDING_NONE,
        WATCH_PENDING_NOT_CONNECTED,   /* the watcher was not connected the whole time */
        WATCH_PENDING_NOT_SEEN,        /* connected, but no incoming QEMU start was seen */
        WATCH_PENDING_POSTCOPY,        /* stopped after post-copy began */
        WATCH_PENDING_POSTCOPY_FAILED, /* post-copy failed: the guest is paused, split between hosts */
        WATCH_PENDING_LEFT_UNPROVEN,   /* source: the domain left this host, no migrated event on record */
};

struct watch_decision {
        unsigned actions;     /* WATCH_* */
        int pending;          /* enum watch_pending, with WATCH_PENDING */
        const char *why;      /* static text for the log line, or NULL */
};

/* Decides what a lifecycle event means. event and detail are libvirt's
 * virDomainEventType and its detail (virDomainEventStoppedDetailType, ...).
 * Pure: no I/O. */
struct watch_decision watch_decide_event(int event, int detail, const struct watch_facts *f);

/* Decides, at (re)connect, what a journal means given what libvirt reports
 * about its domain now: state and reason are virDomainState and its reason
 * (virDomainRunningReason, ...), state -1 when libvirt does not know the
 * domain. Events missed while disconnected are never guessed at: only a
 * guest running here (not in post-copy) counts as arrived. Pure. */
struct watch_decision watch_decide_found(int state, int reason, const struct watch_facts *f);

/* Decides, at (re)connect, what an instance directory <instances>/<uuid>
 * means when no journal names it: state as for watch_decide_found (-1: libvirt
 * does not know the domain here). A domain libvirt no longer knows, with no
 * proof, nothing pending and no stop or undefine of it seen by this watcher
 * (a migration away would have been proven then), left this host while no migrated event was
 * recorded (migkit-watch not connected; libvirt < 10.5 passes '-' to the
 * release hook): nothing is guessed, a pending source item says so
 * (WATCH_PENDING_SOURCE, WATCH_PENDING_LEFT_UNPROVEN). With a migrated
 * proof on record, the source job is started again (it re-checks
 * everything). Pure. */
struct watch_decision watch_decide_leftover(int state, const struct watch_facts *f);

/* Whether an event of a guest keeps "started/migrated was seen" (incoming_seen)
 * for the stop that follows: started/migrated itself and any shutdown event (QEMU
 * going down: libvirt destroying the incoming QEMU of a failed migration
 * sends shutdown/host before stopped/destroyed). Any other event (defined,
 * resumed, suspended, ...) may mean the migration completed: it ends it.
 * Pure. */
bool watch_event_keeps_incoming(int event, int detail);

/* The reason recorded with a pending rollback, naming uuid and the command
 * that settles it. malloc'ed; NULL on ENOMEM or for WATCH_PENDING_NONE. */
char *watch_pending_text(int pending, const char *uuid);

/* "stopped/migrated", "resumed/postcopy", "suspended/postcopy-failed", ...
 * ("event-N/M" for one this build does not know). Returns buf. */
const char *watch_event_name(int event, int detail, char *buf, size_t size);

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

/* Lifecycle events received and decisions logged so far (for tests). */
unsigned watch_events_seen(const struct watch *w);
unsigned watch_decisions_made(const struct watch *w);
/* True while connected. */
bool watch_is_connected(const struct watch *w);

void watch_free(struct watch *w);
