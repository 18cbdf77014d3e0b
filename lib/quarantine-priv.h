/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Shared by the files of the quarantine module only: quarantine.c (moving a
 * directory in), rmrf.c (deleting below a directory without leaving it) and
 * quarantine-purge.c (listing and purging what is in). */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"

/* Deeper than any instance directory; bounds the open fds of rm_rf. */
#define RM_RF_MAX_DEPTH 128
#define INFO_MAX 8192

/* Where an inode lives: device, inode number and mount. */
struct ident {
        dev_t dev;
        ino_t ino;
        uint64_t mnt_id;
        mode_t mode;
        uid_t uid;
};

/* Fills id for name in dfd ("" for dfd itself), never following a
 * symlink. The mount id comes from statx (Linux >= 5.8) or, before that,
 * name_to_handle_at: when neither gives one, -EOPNOTSUPP, and the caller
 * keeps its hands off (st_dev alone cannot tell a bind mount). */
int ident_at(int dfd, const char *name, struct ident *id);

/* Same filesystem and same mount: a bind mount of the same filesystem has
 * the same st_dev, so the mount id is what tells it. */
bool same_mount(const struct ident *a, const struct ident *b);
bool same_inode(const struct ident *a, const struct ident *b);

/* Why a directory is left alone when the kernel tells no mount id. */
extern const char no_mount_id[];

/* Opens the instances path (a real directory, not a symlink, not "/") and
 * fills its identity; returns the fd or -errno with *detail set. */
int open_instances(const struct mk_config *cfg, struct ident *id, char **detail);

/* Opens (and with create, makes) the quarantine directory below ifd: a
 * directory of ours, private, on the same mount as the instances path.
 * Returns the fd or -errno (-ENOENT, -EPERM, -EXDEV...) with *detail set. */
int open_quarantine(int ifd, const struct ident *iid, bool create, char **detail);
