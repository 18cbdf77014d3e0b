/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Pending items: a source cleanup, a rollback or the disconnect of a
 * migrated-away guest's LUNs (lundisc.h) that a safety rule refused, or
 * that was left for later, with the reasons an operator reads in
 * `migkit status`. One small text file per domain and action,
 * <state>/pending/<uuid>.<action> (state.h), replaced atomically, removed
 * once a later run succeeds:
 *   migkit-pending 1
 *   uuid <uuid>
 *   action source | rollback | disconnect
 *   name <domain name>          (optional)
 *   since <unix seconds>        (when it was first recorded)
 *   time <unix seconds>         (when it was last recorded)
 *   reason <one line>           (any number)
 * Mechanism: returns -errno, never logs. */
#pragma once

#include <stdbool.h>

struct pending {
        char *uuid;
        char *action;   /* "source", "rollback" or "disconnect" */
        char *name;     /* domain name, or NULL */
        long long since;
        char **reasons; /* never NULL after pending_load */
};

/* Records (replaces) the pending item of uuid and action ("source",
 * "rollback" or "disconnect") with its reasons (a NULL-terminated list; control characters
 * become spaces), keeping the time it was first recorded. name may be
 * NULL. Returns 0 or -errno (-EINVAL for a bad UUID or action). */
int pending_record(const char *state_dir, const char *uuid, const char *action, const char *name, char *const *reasons);

/* Removes it. Returns 1 if there was one, 0 if not, -errno. */
int pending_clear(const char *state_dir, const char *uuid, const char *action);

/* True if a pending item of uuid and action is on record. */
bool pending_exists(const char *state_dir, const char *uuid, const char *action);

/* Reads the pending item named fname in <state>/pending (as state_list()
 * lists them). Returns 0, -EBADMSG when it names no uuid or action, or
 * -errno. On error p is left empty. */
int pending_load(const char *state_dir, const char *fname, struct pending *p);

void pending_free(struct pending *p);
