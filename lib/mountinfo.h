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

/* The mount table (mountinfo(5): normally /proc/self/mountinfo, whose ids
 * are those mount_id_at() returns) is read with libmount, loaded with
 * dlopen() at the first read. Every reader below returns, besides its own
 * codes: -ELIBACC libmount.so.1 cannot be loaded, -ELIBBAD it lacks a
 * function, -EBADMSG a line libmount cannot parse as mountinfo (the whole
 * table is refused: a skipped line could be the mount that decides), or
 * -errno of reading the file. mountinfo_strerror() words them. */

/* Finds the line of mount id in file. Returns 0 with *ret filled
 * (mount_entry_done() it; a missing source reads "none"), -ENOENT when no
 * line has that id, or the codes above. */
int mountinfo_find(const char *file, uint64_t id, struct mount_entry *ret);

/* The mount that holds path by the table's strings alone (path need not
 * exist here: a recorded table describes another host): the longest mount
 * point that is path or one of its parents; on a tie the later line,
 * mounted over the earlier. 0 with *ret filled, -ENOENT when none covers
 * path, or the codes above. */
int mountinfo_covering(const char *file, const char *path, struct mount_entry *ret);

/* Calls cb with each line of file in order (the entry is freed when cb
 * returns) until cb returns non-zero. Returns 0, cb's non-zero return, or
 * the codes above. */
int mountinfo_foreach(const char *file, int (*cb)(const struct mount_entry *e, void *userdata), void *userdata);

void mount_entry_done(struct mount_entry *e);

/* Is anything mounted strictly below the directory fd, in this process's
 * mount namespace (/proc/self/mountinfo)? Returns 0, -EBUSY with
 * *ret_target (optional, malloc'ed) naming the first such mount point, or
 * -errno when it cannot be told (the codes above among them). */
int mounts_below_fd(int fd, char **ret_target);

/* A phrase for a reader's error: for the libmount codes it names libmount
 * and the package to install; strerror() for the rest. */
const char *mountinfo_strerror(int r);
