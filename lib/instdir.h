/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The instance directory <instances>/<uuid> and the filesystem it lives on. */
#pragma once

#include <stdbool.h>

#include "config.h"

/* Finds the filesystem holding path according to the mountinfo file
 * (cfg->mountinfo, so tests can use a recorded one) with libmount.
 * Returns 1 if its type is in cfg->shared_fs_types, 0 if not, -errno on
 * error. *ret_fstype and *ret_target (optional) receive the type and mount
 * point (malloc'ed), or NULL when the answer came from the fast path: for
 * the live mount table, a path that statfs() shows on a local disk
 * filesystem (ext4, xfs, btrfs, zfs, f2fs) not listed as shared is answered
 * without loading libmount. libmount is loaded with dlopen() on first use. */
int fs_is_shared(const struct mk_config *cfg, const char *path, char **ret_fstype, char **ret_target);

/* Resolves cfg->instance_owner/group (names or numeric ids). 0 or -errno
 * (-ESRCH for an unknown name). */
int instance_owner_resolve(const struct mk_config *cfg, uid_t *uid, gid_t *gid);

/* Makes sure <cfg->instances_path>/<uuid> exists as a directory.
 * The instances path must exist, be a directory and not a symlink; the
 * directory is created with mkdirat() relative to it (no symlink followed),
 * then given the configured owner, group and mode through its own fd.
 * Returns 1 if created, 0 if it already existed as a directory, or -errno:
 * -ENOTDIR if something else is in the way, -ELOOP for a symlink. */
int instance_dir_create(const struct mk_config *cfg, const char *uuid, uid_t uid, gid_t gid);

/* Checks whether <instances>/<uuid> exists as a real directory: 1 yes, 0 no,
 * -errno (-ENOTDIR/-ELOOP when something else is there). */
int instance_dir_exists(const struct mk_config *cfg, const char *uuid);
