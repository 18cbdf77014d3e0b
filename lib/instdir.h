/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The instance directory <instances>/<uuid> and the filesystem it lives on. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "config.h"

/* Which inode a directory is: recorded when migkit creates one, checked
 * before it moves one. The birth time tells a directory from a later one
 * that got the same, freed, inode number. */
struct dir_ident {
        unsigned long long dev;  /* st_dev */
        unsigned long long ino;  /* st_ino */
        long long btime_s;       /* statx birth time; 0 when the filesystem keeps none */
        unsigned btime_ns;
};

/* The identity of the directory fd. 0 or -errno. */
int dir_ident_fd(int fd, struct dir_ident *ret);

/* Same device and inode, and the same birth time when both know one. */
bool dir_ident_same(const struct dir_ident *a, const struct dir_ident *b);

/* How the filesystem of a directory was decided (fs_decide_fd). */
struct fs_verdict {
        bool local;           /* its type is in [filesystems] local and statfs agrees */
        char *type;           /* the type mountinfo names ("ext4", "nfs4", "fuse.sshfs"), or
                                 on the fast path the names statfs stands for ("ext2/ext3/ext4") */
        char *target;         /* its mount point; NULL on the fast path */
        char *source;         /* what is mounted there; NULL on the fast path */
        char *path;           /* the directory as the kernel resolved it (symlinked parents
                                 followed), or NULL */
        uint64_t mnt_id;
        int mnt_id_source;    /* enum mount_id_source; 0 on the fast path */
        unsigned long magic;  /* statfs f_type */
        char *rule;           /* which rule decided, one phrase naming the path and type */
};

enum {
        /* A statfs magic number that stands only for types of the local
         * list answers by itself, without reading mountinfo (the hook),
         * when cfg->mountinfo is the live /proc/self/mountinfo. */
        FS_DECIDE_FAST = 1 << 0,
};

/* Decides whether the directory fd lives on a local filesystem, from the fd
 * alone: fstatfs() for the filesystem's magic number, the mount id
 * (mountinfo.h: statx, else name_to_handle_at) and the line of that mount
 * id in cfg->mountinfo for its type name. Local means: the type is on the
 * allow-list cfg->local_fs_types and, for a magic number migkit knows, is
 * one of the types that number stands for; everything else, an unknown
 * type included, is not local. Returns 0 with *v filled (fs_verdict_done()
 * it), or -errno when it cannot be told, which callers take as not local:
 * -EOPNOTSUPP the kernel tells no mount id for it, -ENOENT no line of that
 * mount id in cfg->mountinfo. */
int fs_decide_fd(const struct mk_config *cfg, int fd, int flags, struct fs_verdict *v);
void fs_verdict_done(struct fs_verdict *v);

/* Opens the instances path ([paths] instances): an absolute path below /
 * (-EINVAL), not a symlink (-ELOOP; its parents are followed), a
 * directory. The fd, or -errno with *detail (optional) saying why. */
int instances_open(const struct mk_config *cfg, char **detail);

/* The instances path ([paths] instances; a symlink there is refused with
 * -ELOOP, symlinked parents are followed) and its verdict. Returns the
 * open directory fd (>= 0) with *v filled, or -errno; *detail (optional,
 * malloc'ed) then says why. */
int instances_open_decide(const struct mk_config *cfg, int flags, struct fs_verdict *v, char **detail);

/* Proves that a directory may be removed by this host: the instances root
 * rfd (and, when dfd >= 0, its entry dname open as dfd, on the same mount)
 * is on a local filesystem (fs_decide_fd) and neither carries a mark of
 * another host (hostmark.h). Returns 0 when proven; -EREMOTE when not, with
 * *detail (malloc'ed) saying why in one phrase (the filesystem type and
 * rule, or the other host with its id and the mark's file); or another
 * -errno when it cannot be told (also with *detail). */
int instdir_prove_local(const struct mk_config *cfg, int rfd, int dfd, const char *dname, char **detail);

/* instdir_prove_local() for the instances path alone (opened as
 * instances_open_decide opens it): 0, -EREMOTE or -errno, *detail
 * (optional, malloc'ed) saying why. */
int instances_prove_local(const struct mk_config *cfg, char **detail);

/* Whether path lies on a filesystem that is not local (the answer for a
 * guest's disk or config drive). The path is followed as opening it would
 * be, and decided as fs_decide_fd decides. A path that does not exist here
 * (a recorded mountinfo of another host, in tests) is matched against the
 * longest mount point of cfg->mountinfo that covers it. Never used to
 * decide a removal. Returns 1 not local, 0 local, or -errno; *ret_fstype
 * and *ret_target (optional, malloc'ed or NULL) name the type and mount. */
int fs_is_shared(const struct mk_config *cfg, const char *path, char **ret_fstype, char **ret_target);

/* Resolves cfg->instance_owner/group (names or numeric ids). 0 or -errno
 * (-ESRCH for an unknown name). */
int instance_owner_resolve(const struct mk_config *cfg, uid_t *uid, gid_t *gid);

/* Makes sure <cfg->instances_path>/<uuid> exists as a directory.
 * The instances path must exist, be a directory and not a symlink; the
 * directory is created with mkdirat() relative to it (no symlink followed),
 * then given the configured owner, group and mode through its own fd.
 * Returns 1 if created, with *ret_id (optional) set to its identity, 0 if
 * it already existed as a directory, or -errno: -ENOTDIR if something else
 * is in the way, -ELOOP for a symlink. */
int instance_dir_create(const struct mk_config *cfg, const char *uuid, uid_t uid, gid_t gid, struct dir_ident *ret_id);

/* Checks whether <instances>/<uuid> exists as a real directory: 1 yes, 0 no,
 * -errno (-ENOTDIR/-ELOOP when something else is there). */
int instance_dir_exists(const struct mk_config *cfg, const char *uuid);
