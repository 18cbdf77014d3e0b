/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* migkit-cleanup's decisions: when the source's instance directory may go
 * after a migration, what a failed incoming migration may undo, and the
 * record of everything refused. Like dest.c this is a policy layer: its
 * messages name the domain, the UUID, the path and the reason, and go
 * through log.h; the tool maps the outcome to an exit code.
 *
 * The proof rules (doc/design.md, safety invariants 1-6):
 *  source UUID    only with a proof of kind "migrated" (proof.h); never while
 *                 libvirt at [cleanup] libvirt-uri knows the domain (any
 *                 answer but "no such domain", unreachable included, is a
 *                 no); never while a journal of an incoming migration of the
 *                 same guest exists here; the directory goes to quarantine
 *                 (quarantine.h), never straight to deletion; on a shared
 *                 filesystem nothing is done at all (the destination uses
 *                 those files).
 *  rollback UUID  only what the journal of that attempt lists; only with a
 *                 proof of kind "incoming-failed" recorded no earlier than
 *                 the journal was started; never while libvirt knows the
 *                 domain; the directory only if it is exactly
 *                 <instances>/<uuid>, via quarantine; a bridge only if it is
 *                 still a bridge and has no ports left (<sysfs>/class/net/
 *                 <bridge>/brif, checked against the ifindex rtnetlink
 *                 gives). A guest that migrated in successfully has no
 *                 journal any more (commit), so it is never rolled back.
 * Every refusal and every item left for later is recorded, with its
 * reasons, as a pending item (pending.h) until a later run succeeds;
 * `migkit status` lists them (status.h). Each decisive re-check and the
 * removal that follows happen under the per-domain lock (state_lock,
 * state.h).
 * A dry run checks everything, prints what it would do, and records
 * nothing.
 *
 * Who calls what (the CLI is migkit-cleanup; see its --help):
 *  hook, migrate begin (destination), before planning anything:
 *      proof_incoming_begin(state, uuid, <a few seconds>); on -EAGAIN fail
 *      the migration ("a cleanup of this guest is running; retry").
 *  hook, release end migrated (libvirt >= 10.5, source):
 *      dispatch_handover (dispatch.h): proof of kind migrated by "hook",
 *      detail "release end migrated", then `migkit-cleanup source UUID`
 *      without waiting.
 *  hook, release end with anything else, when a journal exists and has no
 *  qemu-started mark (the incoming QEMU never ran): dispatch_handover with
 *      a proof of kind incoming-failed, then `migkit-cleanup rollback UUID`.
 *  migkit-watch: on stopped/migrated (source) record a migrated proof and run
 *      `source`; on the failure of an incoming migration record
 *      incoming-failed and run `rollback`; on resumed/migrated (destination)
 *      run `commit` once the persistent definition is fixed.
 *  driver (migkit migrate): the same from its verified result.
 *  systemd timer: `migkit-cleanup purge`.
 * Every one of them may run any number of times, concurrently. */
#pragma once

#include <stdbool.h>
#include <stdio.h>
#include <time.h>

#include "config.h"

enum cleanup_outcome {
        CLEANUP_DONE,     /* removed what was to be removed (dry run: would) */
        CLEANUP_NOTHING,  /* nothing to do: already gone, shared storage, no journal, ... */
        CLEANUP_REFUSED,  /* a safety rule said no: nothing removed, recorded as pending */
        CLEANUP_PARTIAL,  /* part done, the rest recorded as pending (rollback) or kept (purge) */
};

struct cleanup_opts {
        bool dry_run;
        FILE *report;             /* dry run: "would ..." lines; NULL means stdout */
        unsigned lock_timeout_ms; /* waiting for the per-domain lock */
};

/* Source side, after the guest migrated away. Returns an enum
 * cleanup_outcome, or -errno after logging (-EAGAIN: the domain's lock was
 * busy past the timeout). */
int cleanup_source(const struct mk_config *cfg, const char *uuid, const struct cleanup_opts *o);

/* Destination side, after a failed incoming migration. Same returns. */
int cleanup_rollback(const struct mk_config *cfg, const char *uuid, const struct cleanup_opts *o);

/* The incoming migration of uuid succeeded: drops its journal (so it can
 * never be rolled back), its pending rollback, and an incoming-failed
 * proof. Removes nothing else. Returns CLEANUP_DONE, CLEANUP_NOTHING (no
 * journal) or -errno. */
int cleanup_commit(const struct mk_config *cfg, const char *uuid, const struct cleanup_opts *o);

/* Deletes quarantine entries older than retention_ms. Only one purge runs at
 * a time (another finds the lock taken and does nothing). Returns
 * CLEANUP_DONE, CLEANUP_NOTHING, CLEANUP_PARTIAL (something kept: a mount
 * point inside, an undeletable file; each is logged), CLEANUP_REFUSED (the
 * instances path or quarantine is not safe to work in), or -errno. */
int cleanup_purge(const struct mk_config *cfg, unsigned long long retention_ms, const struct cleanup_opts *o);
