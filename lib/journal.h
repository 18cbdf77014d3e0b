/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The per-domain journal: what migkit created or changed on this host for an
 * incoming migration, so that a failed migration can be undone exactly and
 * nothing else. One small text file per domain UUID under
 * <state>/journal/, replaced atomically.
 *
 * Format, one item per line, values without newlines:
 *   migkit-journal 1
 *   uuid <uuid>
 *   name <domain name>
 *   started <unix seconds>
 *   dir <absolute path>          (instance directory migkit created)
 *   bridge <name>                (bridge migkit created)
 *   stripped <target> <path>     (cdrom source removed from the XML)
 */
#pragma once

#include <stdbool.h>
#include <time.h>

struct journal {
        char *uuid;
        char *name;
        time_t started;
        char **dirs;
        char **bridges;
        char **stripped;
};

/* Reads <state_dir>/journal/<uuid>. Returns 0, -ENOENT if there is none,
 * -EBADMSG if it is malformed, or another -errno. */
int journal_load(const char *state_dir, const char *uuid, struct journal *j);

/* Writes the journal atomically (not durably: see journal.c), creating <state_dir>/journal (0700) if
 * needed. Returns 0 or -errno (-EINVAL if a value contains a newline). */
int journal_save(const char *state_dir, const struct journal *j);

/* True if the journal records nothing created or changed. */
bool journal_is_empty(const struct journal *j);

void journal_free(struct journal *j);
