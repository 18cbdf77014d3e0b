/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What a libvirt lifecycle event means for migkit: the decisions of
 * migkit-watch (watch.c runs the event loop and acts on them), as pure
 * functions of the event and a few facts, unit-tested row by row. No I/O.
 * The rules are in watch.h and doc/design.md. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/* Starts the reason of a WATCH_PENDING_LEFT_UNPROVEN pending item, so the
 * watcher knows the items it recorded itself. */
#define LEFT_UNPROVEN_PREFIX "awaiting proof:"

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

/* "running", "paused", "shut-off", ... for a virDomainState, "not-defined"
 * for -1 (libvirt does not know the domain), "no-state" otherwise. */
const char *watch_state_name(int state);
