/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Safe removal of instance directories: rename into a quarantine directory
 * on the same filesystem first (atomic, undoable with one mv), delete later.
 *
 *   <instances>/.migkit-quarantine/                    0700, owned by us
 *   <instances>/.migkit-quarantine/<uuid>.<time>[.<n>]  a quarantined directory
 *   <instances>/.migkit-quarantine/<entry>.info         what, why, when, where
 *
 * Nothing is moved or deleted unless the directory is proven local to this
 * host (instdir_prove_local: its filesystem, decided from the open
 * directory, is of a type on [filesystems] local, and neither the instances
 * path nor the directory carries another host's mark). Everything is done
 * relative to directory file descriptors opened with O_NOFOLLOW: no symlink
 * is ever followed (the instances path itself must not be one), no mount
 * point is crossed (st_dev and the mount id, from statx or else
 * name_to_handle_at, are compared at every step; with no mount id nothing
 * is touched), and nothing outside the quarantine directory is ever
 * deleted. A kill -9 at any moment leaves either the original directory or
 * its quarantined copy (purge only ever works inside the quarantine).
 * Nothing here logs. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "config.h"
#include "instdir.h"

#define QUARANTINE_DIR ".migkit-quarantine"

enum {
        QUARANTINE_DRY_RUN = 1 << 0, /* check everything, move nothing */
};

struct quarantine_req {
        const char *uuid;
        const char *reason, *domain;   /* recorded in the .info file (domain may be NULL) */
        int flags;                     /* QUARANTINE_DRY_RUN */
        const struct dir_ident *expect; /* the directory must be this one (NULL: any) */
};

/* Moves <cfg->instances_path>/<req->uuid> into the quarantine.
 * Returns 1 when moved (or, with QUARANTINE_DRY_RUN, when it would be) and
 * sets *ret_id (optional) to the identity of what was checked and
 * *ret_path (optional) to the new path; 0 if there is no such directory
 * (nothing to do; safe to call twice or concurrently); or -errno:
 *   -EINVAL     invalid UUID, or the instances path is "/"
 *   -ELOOP      the instances path or <uuid> is a symlink
 *   -ENOTDIR    <uuid> is not a directory
 *   -EREMOTE    not proven local: a filesystem type not in [filesystems]
 *               local, or the mark of another host (instdir_prove_local)
 *   -EOPNOTSUPP no mount id for it (the kernel offers none)
 *   -EXDEV      <uuid> is a mount point, or on another filesystem
 *   -EBUSY      something is mounted below <uuid>
 *   -ESTALE     it is not req->expect, or was replaced while checked
 *   -EPERM      the quarantine directory is not a private directory of ours
 * *ret_detail (optional) then receives a malloc'ed phrase naming what is in
 * the way (a path, a filesystem type, another host), or NULL. */
int quarantine_move(const struct mk_config *cfg, const struct quarantine_req *req, struct dir_ident *ret_id,
                    char **ret_path, char **ret_detail);

/* quarantine_move without an expected identity. */
int quarantine_dir(const struct mk_config *cfg, const char *uuid, const char *reason, const char *domain,
                   int flags, char **ret_path, char **ret_detail);

/* Called by rm_rf and purge for everything they leave behind: the path
 * relative to the quarantine directory and why (-EXDEV: a mount point,
 * -ELOOP: nested too deep, other -errno: the removal failed). */
typedef void (*kept_fn)(void *userdata, const char *relpath, int err);

struct rm_rf_stats {
        unsigned long removed; /* entries removed */
        unsigned long kept;    /* entries left behind (each reported) */
};

/* Removes everything below the directory dfd (not dfd itself), as systemd's
 * rm_rf_children: relative to directory fds, symlinks unlinked and never
 * followed, subdirectories opened with O_NOFOLLOW|O_DIRECTORY and checked to
 * be the entry just looked at, and anything on another mount (a bind mount
 * inside, another filesystem) left alone and reported through kept.
 * relpath names dfd in the reports. Returns 0 if everything went, 1 if
 * something was kept, -errno if dfd itself cannot be read. dfd stays open. */
int rm_rf_children(int dfd, const char *relpath, kept_fn kept, void *userdata, struct rm_rf_stats *st);

struct purge_stats {
        unsigned purged;   /* entries removed completely */
        unsigned kept;     /* entries old enough, but with something left behind */
        unsigned young;    /* entries within the retention */
        unsigned long files;
};

/* Deletes the quarantine entries (and their .info files) quarantined at
 * least retention_s seconds before now; with dry_run only counts them.
 * Refuses (-EREMOTE, -ELOOP, -EPERM, -EXDEV, -EOPNOTSUPP as quarantine_move)
 * when the instances path or the quarantine directory is not safe. Entries whose
 * names are not migkit's are never touched. Returns 0 when all that was due
 * went, 1 when something was kept (reported through kept), or -errno. */
int quarantine_purge(const struct mk_config *cfg, unsigned long retention_s, time_t now, bool dry_run,
                     kept_fn kept, void *userdata, struct purge_stats *st);

struct quarantine_entry {
        char *name;      /* <uuid>.<time>[.<n>] */
        char uuid[37];
        time_t time;     /* when it was quarantined */
        char *domain;    /* from the .info file, or NULL */
        char *reason;    /* from the .info file, or NULL */
        char *from;      /* from the .info file, or NULL */
};

/* Lists the quarantine, oldest first. A missing quarantine directory gives
 * an empty list. Returns the number of entries or -errno. */
int quarantine_list(const struct mk_config *cfg, struct quarantine_entry **ret);
void quarantine_list_free(struct quarantine_entry *l, int n);

/* Parses an entry name <uuid>.<time>[.<n>]: true and *uuid, *time if it is
 * one (uuid must hold 37 bytes). */
bool quarantine_parse_name(const char *name, char *uuid, time_t *time);
