/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Which mount an open file lives on, and that mount's line in mountinfo.
 *
 * The mount id comes from the file itself, never from a path string:
 * statx()'s STATX_MNT_ID (Linux >= 5.8), else the mount id that
 * name_to_handle_at() reports (any kernel, on filesystems that can encode
 * file handles). When neither tells, the caller must not guess: there is no
 * st_dev-only fallback (a bind mount of the same filesystem has the same
 * st_dev). Nothing here logs. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

enum mount_id_source {
        MOUNT_ID_STATX = 1,  /* statx() STATX_MNT_ID */
        MOUNT_ID_HANDLE = 2, /* name_to_handle_at() */
};

/* The id of the mount holding name relative to the directory dfd ("" for
 * dfd itself); a final symlink is not followed. Returns the enum
 * mount_id_source that told it, or -errno: -EOPNOTSUPP when the kernel
 * offers neither source for that file, -ENOENT, ... */
int mount_id_at(int dfd, const char *name, uint64_t *ret);

/* The second source alone, for a caller whose statx() lacked
 * STATX_MNT_ID: MOUNT_ID_HANDLE or -errno (-EOPNOTSUPP). */
int mount_id_from_handle(int dfd, const char *name, uint64_t *ret);

/* "statx" or "name_to_handle_at" (or "?"). */
const char *mount_id_source_name(int source);

struct mount_entry {
        uint64_t id, parent;
        unsigned major, minor;
        char *root;    /* the mounted part of the filesystem, "/" usually */
        char *target;  /* where it is mounted */
        char *fstype;  /* "ext4", "nfs4", "fuse.sshfs", ... */
        char *source;  /* "/dev/sda1", "srv:/export", ... */
};

/* Finds the line of mount id in a mountinfo(5) file (normally
 * /proc/self/mountinfo, whose ids are those mount_id_at() returns).
 * Returns 0 with *ret filled (mount_entry_done() it), -ENOENT when no line
 * has that id, -EBADMSG for a malformed line of that id, or -errno. */
int mountinfo_find(const char *file, uint64_t id, struct mount_entry *ret);

/* Parses one mountinfo line (modified in place; octal escapes undone).
 * Returns 0 or -EBADMSG. The strings point into line. */
int mountinfo_parse_line(char *line, struct mount_entry *ret);

void mount_entry_done(struct mount_entry *e);

/* Is anything mounted strictly below the directory fd, in this process's
 * mount namespace? Returns 0, -EBUSY with *ret_target (optional,
 * malloc'ed) naming the first such mount point, or -errno when it cannot
 * be told. */
int mounts_below_fd(int fd, char **ret_target);
