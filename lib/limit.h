/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Per-host limits on concurrent migrations ([limits] in migkit.conf).
 *
 * Outgoing (migkit migrate, evacuate): a slot is an flock()ed file
 * <state>/outgoing.<i>, i < [limits] outgoing, held by the migkit process
 * for the duration of one migration. The kernel drops the lock when the
 * process dies, kill -9 included: a crash never leaks a slot. Without a
 * free slot the caller waits, up to [limits] outgoing-wait.
 *
 * Incoming (the hook, `migrate begin`): the hook exits while the migration
 * goes on, so nothing can be held. Each admitted migration leaves a record
 * <state>/incoming/<uuid> ("migkit-incoming 1", uuid, name, started, boot).
 * The journal cannot serve: it is only written when migkit creates
 * something. A record counts as in flight until libvirt's status file
 * <run>/libvirt/qemu/<name>.xml no longer shows the `migration in` job (the
 * guest arrived, or failed), and is ignored (and removed) when it is from an
 * earlier boot, older than [limits] stale, or has no status file after the
 * time libvirt needs to start the incoming QEMU (2 x [hook] deadline + 60 s:
 * another hook refused `migrate begin`). The hook drops it at `release end`
 * (the incoming migration failed) too. Counting and recording happen under
 * flock() on the state directory, so concurrent hooks cannot both take the
 * last place. Only files are read: the hook never calls libvirt.
 */
#pragma once

#include <stdbool.h>
#include <stdio.h>
#include <time.h>

#include "config.h"

/* *ret_fd of a nested acquisition: the calling thread already holds a slot
 * (evacuate takes it before migrate_run() asks again). */
#define LIMIT_NESTED (-2)

/* Takes an outgoing slot for domain: tries every <state>/outgoing.<i>, and
 * while all are held polls until one is free, [limits] outgoing-wait has
 * passed or cancelled() (may be NULL) returns true. While waiting it prints
 * one line to notify (may be NULL) naming the holders. The slot file then
 * holds "<pid> <domain>". A thread that already holds one gets
 * LIMIT_NESTED. With [limits] outgoing = 0 (unlimited) *ret_fd is -1.
 * Returns 0, -ETIMEDOUT, -ECANCELED or -errno; on failure *ret_err (may be
 * NULL) gets a malloc'ed message for the operator. */
int limit_outgoing_acquire(const struct mk_config *cfg, const char *domain, bool (*cancelled)(void), FILE *notify,
                           int *ret_fd, char **ret_err);

/* Gives the slot back (fd from limit_outgoing_acquire(), set to -1). */
void limit_outgoing_release(int *fd);

/* One in-flight incoming migration. */
struct limit_incoming {
        char *uuid;
        char *name;
        time_t started;
};

/* The in-flight incoming migrations other than skip_uuid's (may be NULL);
 * removes the records that no longer count. *ret is an array of *ret_n
 * (free with limit_incoming_free()). Takes the lock. Returns 0 or -errno. */
int limit_incoming_list(const struct mk_config *cfg, const char *skip_uuid, struct limit_incoming **ret, size_t *ret_n);

/* For `migrate begin` of uuid: counts the other in-flight incoming
 * migrations and, below [limits] incoming, records this one, atomically.
 * With dry_run nothing is written. Returns 0 (admitted; also when the limit
 * is 0), -EBUSY (limit reached: *ret and *ret_n list the in-flight ones, if
 * ret is not NULL) or -errno. */
int limit_incoming_begin(const struct mk_config *cfg, const char *uuid, const char *name, bool dry_run,
                         struct limit_incoming **ret, size_t *ret_n);

/* The incoming migration of uuid is over or was refused: drops its record.
 * Returns 0 (also when there is none) or -errno. */
int limit_incoming_end(const struct mk_config *cfg, const char *uuid);

/* "name (since HH:MM:SS, N s)" for each, joined with ", "; NULL on ENOMEM. */
char *limit_incoming_describe(const struct limit_incoming *l, size_t n);

void limit_incoming_free(struct limit_incoming *l, size_t n);
