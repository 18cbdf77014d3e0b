/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Proofs in the state directory, shared by the hook,
 * migkit-watch, the driver and migkit-cleanup. No libvirt, no libmount: the
 * hook may use all of it.
 *
 * A proof is positive evidence, recorded by whoever saw it, that
 *   migrated         the guest left this host by a live migration and now
 *                    runs elsewhere (source side), or
 *   incoming-failed  the incoming migration of this guest to this host
 *                    failed (destination side).
 * migkit-cleanup removes nothing without one. One small text file per
 * domain, <state>/proof/<uuid>, replaced atomically and durably:
 *   migkit-proof 1
 *   uuid <uuid>
 *   kind migrated | incoming-failed
 *   by <hook | watch | driver | operator>
 *   time <unix seconds>
 *   name <domain name>          (optional)
 *   detail <one line of text>   (optional, e.g. "release end migrated")
 *
 * The per-domain lock (state_lock, state.h): migkit-cleanup holds it around
 * each decisive re-check and the removal that follows, and the hook takes
 * it briefly at `migrate begin` to clear stale proofs
 * (proof_incoming_begin), so a proof can never outlive the start of a new
 * incoming migration of the same guest. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>
#include <time.h>

enum proof_kind {
        PROOF_MIGRATED,
        PROOF_INCOMING_FAILED,
        _PROOF_KIND_MAX,
};

struct proof {
        char *uuid;
        char *name;     /* domain name, or NULL */
        int kind;       /* enum proof_kind */
        char *by;       /* who recorded it: hook, watch, driver, operator */
        time_t time;
        char *detail;   /* or NULL */

        /* filled by proof_load: identity of the file, for proof_unchanged */
        dev_t dev;
        ino_t ino;
};

/* "migrated", "incoming-failed"; NULL for an unknown kind. */
const char *proof_kind_to_string(int kind);
/* The kind, or -EINVAL. */
int proof_kind_from_string(const char *s);
/* True for the recorders migkit knows: hook, watch, driver, operator. */
bool proof_by_is_valid(const char *by);

/* Writes p to <state_dir>/proof/<p->uuid> atomically and durably, creating
 * the directory (0700) if needed; a proof already there is replaced. The
 * time 0 means now. Returns 0 or -errno (-EINVAL for a bad UUID, kind,
 * recorder, or a value with a newline). */
int proof_record(const char *state_dir, const struct proof *p);

/* Reads the proof of uuid. Returns 0, -ENOENT if there is none, -EBADMSG if
 * it is malformed or names another UUID, -EINVAL for a bad UUID, or -errno.
 * On error p is left empty. */
int proof_load(const char *state_dir, const char *uuid, struct proof *p);

/* 1 if the proof file is still the very one proof_load read (same inode,
 * not replaced, not removed), 0 if not, -errno if it cannot be told. */
int proof_unchanged(const char *state_dir, const struct proof *p);

/* Removes the proof of uuid. Returns 1 if there was one, 0 if not, -errno. */
int proof_clear(const char *state_dir, const char *uuid);

void proof_free(struct proof *p);

/* For the hook at `migrate begin` of an incoming migration, before it
 * creates anything: takes the lock of uuid (waiting at most timeout_ms),
 * removes any proof of uuid, and unlocks. Afterwards no cleanup or rollback
 * decided on an older proof can still remove anything of this guest.
 * Returns 0, -EAGAIN when a cleanup of this guest holds the lock past the
 * timeout (fail the migration: it is retried once the cleanup is done), or
 * -errno. */
int proof_incoming_begin(const char *state_dir, const char *uuid, unsigned timeout_ms);
