/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The state directory ([paths] state, /var/lib/migkit by default): its
 * layout, in this one place. Every file migkit keeps there:
 *
 *   journal/<uuid>            what the hook created for an incoming
 *                             migration (journal.h)
 *   proof/<uuid>              positive evidence for a cleanup or a
 *                             rollback (proof.h)
 *   pending/<uuid>.<action>   a source cleanup, rollback or LUN disconnect
 *                             refused or left for later, with its reasons
 *                             (pending.h)
 *   lock/<uuid>, lock/purge   the per-domain lock, the purge lock and the
 *   lock/metrics              metrics lock (state_lock); empty files, never
 *                             removed
 *   metrics                   the counters of [metrics] textfile (metrics.h)
 *   incoming/<uuid>           an admitted incoming migration (limit.h)
 *   luns/<uuid>               the LUNs a guest's block disks were on here,
 *                             for their removal after it migrated away
 *                             (lunrec.h)
 *   swap/<uuid>.xml, .swap    a guest's persistent definition, saved by
 *                             swap-volume before the copy, and what it
 *                             swaps (swapvol.h); removed once redefined
 *   outgoing.<i>              outgoing slot i, flock()ed by the migkit
 *                             process that holds it (limit.h)
 *   .                         the directory itself, flock()ed while the
 *                             incoming migrations are counted (limit.h)
 *
 * Subdirectories are created (0700) on first use. The modules that own a
 * file format (journal.c, proof.c, pending.c, limit.c) read and write their
 * files; the paths come from here. Mechanism: returns -errno, never logs. */
#pragma once

#include <stdbool.h>

enum state_area {
        STATE_JOURNAL,
        STATE_PROOF,
        STATE_PENDING,
        STATE_LOCK,
        STATE_INCOMING,
        STATE_LUNS,
        STATE_SWAP,
        _STATE_AREA_MAX,
};

/* The name of the lock taken by `migkit-cleanup purge` (state_lock). */
#define STATE_LOCK_PURGE "purge"
/* The lock held while the counters of metrics.h are updated. */
#define STATE_LOCK_METRICS "metrics"

/* "journal", "proof", "pending", "lock", "incoming", "luns", "swap". */
const char *state_area_name(enum state_area a);

/* <state_dir>/<area>, malloc'ed; NULL on ENOMEM. */
char *state_area_path(const char *state_dir, enum state_area a);

/* <state_dir>/<area>/<name>, malloc'ed; NULL on ENOMEM. */
char *state_path(const char *state_dir, enum state_area a, const char *name);

/* Creates <state_dir>/<area> (0700, with missing parents). *ret_dir
 * (optional) receives its path. Returns 0 or -errno. */
int state_area_create(const char *state_dir, enum state_area a, char **ret_dir);

/* 1 if <state_dir>/<area>/<name> exists (as anything, not followed), 0 if
 * not, -errno if that cannot be told. */
int state_exists(const char *state_dir, enum state_area a, const char *name);

/* Removes <state_dir>/<area>/<name>; with durable, the directory is
 * fsync()ed after. Returns 1 if it was there, 0 if not, -errno. */
int state_remove(const char *state_dir, enum state_area a, const char *name, bool durable);

/* The names in <state_dir>/<area>, sorted, without those starting with '.'
 * (temporary files). Returns 0 with *ret (a strv, NULL when there are none
 * or the directory does not exist) or -errno. */
int state_list(const char *state_dir, enum state_area a, char ***ret);

/* "<uuid>.<action>", the name of a pending item; NULL on ENOMEM. */
char *state_pending_name(const char *uuid, const char *action);

/* Splits a pending item's name: 0 with uuid (37 bytes, NUL-terminated)
 * and *ret_action pointing into name, or -EINVAL when name is not
 * "<uuid>.<action>" with a valid UUID. */
int state_pending_split(const char *name, char *uuid, const char **ret_action);

/* <state_dir>/outgoing.<i>, malloc'ed; NULL on ENOMEM. */
char *state_outgoing_path(const char *state_dir, unsigned i);

/* Takes the exclusive lock <state_dir>/lock/<name> (a UUID,
 * STATE_LOCK_PURGE or STATE_LOCK_METRICS), waiting at most timeout_ms (0: do not wait). Returns
 * the lock's file descriptor (close it to unlock), -EAGAIN if another
 * process still holds it after the timeout, -EINVAL for another name, or
 * -errno. */
int state_lock(const char *state_dir, const char *name, unsigned timeout_ms);

/* Takes the lock of the whole state directory (flock on the directory
 * itself, created if missing: no lock file, so a full or read-only state
 * directory gains nothing), waiting as long as it takes. Returns the file
 * descriptor (close it to unlock) or -errno. */
int state_lock_all(const char *state_dir);
