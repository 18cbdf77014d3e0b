/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The per-domain journal: what migkit created or changed on this host for an
 * incoming migration, so that a failed migration can be undone exactly and
 * nothing else. One small text file per domain UUID,
 * <state>/journal/<uuid> (state.h), replaced atomically.
 *
 * Format, one item per line, values without newlines:
 *   migkit-journal 1
 *   uuid <uuid>
 *   name <domain name>
 *   started <unix seconds>
 *   dir <absolute path>          (instance directory migkit created)
 *   dir-id <dev> <ino> <btime> <path>
 *                                (its identity when created: st_dev, st_ino
 *                                 and birth time <s>.<ns>, 0.0 when unknown; a
 *                                 directory that is not that one any more is
 *                                 never rolled back)
 *   bridge <name>                (bridge migkit created)
 *   bridge-ifindex <n> <name>    (its ifindex when created: a bridge of that
 *                                 name with another ifindex is not migkit's)
 *   stripped <target> <path>     (cdrom source removed from the XML)
 *   scsi <H:C:T:L> <wwid> <disk> (a SCSI path that appeared because of the
 *                                 hook's own scan)
 *   mpath <name> <wwid>          (a multipath map that appeared for it)
 * and the marks of the current attempt (absent = not seen), each cleared
 * when the hook's `migrate begin` starts a new attempt:
 *   qemu-started <unix seconds>  (hook, `started begin`: the incoming QEMU
 *                                 ran; without it a failure before QEMU is
 *                                 certain when libvirt releases the domain)
 *   postcopy <unix seconds>      (migkit-watch: post-copy began, the guest
 *                                 ran here before all its memory arrived;
 *                                 never rolled back automatically)
 *   arrived <unix seconds>       (migkit-watch: the migration completed and
 *                                 the guest ran here; never rolled back)
 */
#pragma once

#include <stdbool.h>
#include <time.h>

#include "instdir.h"

struct journal_dir_id {
        char *path;
        struct dir_ident id;
};

struct journal_bridge_id {
        char *name;
        unsigned ifindex;
};

struct journal {
        char *uuid;
        char *name;
        time_t started;
        char **dirs;
        char **bridges;
        char **stripped;
        char **scsi;             /* "<H:C:T:L> <wwid> <disk>" */
        char **mpaths;           /* "<name> <wwid>" */
        time_t qemu_started;
        time_t postcopy;
        time_t arrived;
        struct journal_dir_id *dir_ids;
        size_t n_dir_ids;
        struct journal_bridge_id *bridge_ids;
        size_t n_bridge_ids;
};

enum journal_mark {
        JOURNAL_QEMU_STARTED,
        JOURNAL_POSTCOPY,
        JOURNAL_ARRIVED,
};

/* Reads <state_dir>/journal/<uuid>. Returns 0, -ENOENT if there is none,
 * -EBADMSG if it is malformed, or another -errno. */
int journal_load(const char *state_dir, const char *uuid, struct journal *j);

/* Writes the journal atomically (not durably: see journal.c), creating <state_dir>/journal (0700) if
 * needed. Returns 0 or -errno (-EINVAL if a value contains a newline). */
int journal_save(const char *state_dir, const struct journal *j);

/* Can a journal be written at all? A block of the state directory's
 * filesystem is taken and given back (an O_TMPFILE, or a named file removed
 * at once), so a full or read-only state directory is found before anything
 * is created: a bridge or directory that no journal lists is debris no
 * rollback would ever remove. uuid names the probe file where O_TMPFILE is
 * not supported. Returns 0 or -errno. */
int journal_probe(const char *state_dir, const char *uuid);

/* True if the journal records nothing created or changed. */
bool journal_is_empty(const struct journal *j);

/* Sets (t > 0) or clears (t == 0) one mark in the journal of uuid,
 * rewriting it atomically. Returns 0, -ENOENT if there is no journal,
 * -EBADMSG if it is malformed, or -errno. */
int journal_set_mark(const char *state_dir, const char *uuid, enum journal_mark m, time_t t);

/* For the hook at `migrate begin`: a new incoming attempt of uuid starts, so
 * the marks of an earlier one (qemu-started, postcopy, arrived) no longer
 * apply; clears them. Returns 1 if there is a journal (now without marks),
 * 0 if there is none, -EBADMSG if it is malformed, or -errno. */
int journal_new_attempt(const char *state_dir, const char *uuid);

/* Records (replaces) the identity of the created directory path, or the
 * ifindex of the created bridge name. 0 or -ENOMEM (-EINVAL for a
 * newline in the name). */
int journal_set_dir_id(struct journal *j, const char *path, const struct dir_ident *id);
int journal_set_bridge_ifindex(struct journal *j, const char *name, unsigned ifindex);

/* The recorded identity of path / ifindex of name, NULL / 0 if none. */
const struct dir_ident *journal_dir_id(const struct journal *j, const char *path);
unsigned journal_bridge_ifindex(const struct journal *j, const char *name);

void journal_free(struct journal *j);
