/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "instdir.h"

#include <fcntl.h>
#include <grp.h>
#include <libmount.h>
#include <pwd.h>
#include <sys/stat.h>

#include "util.h"
#include "validate.h"

static void mnt_unref_tablep(struct libmnt_table **t) { mnt_unref_table(*t); }

static void mnt_free_iterp(struct libmnt_iter **i) { mnt_free_iter(*i); }

/* True if target is path or one of its parent directories. */
static bool target_covers(const char *target, const char *path)
{
        size_t tl = strlen(target);
        if (streq(target, "/"))
                return true;
        return strncmp(path, target, tl) == 0 && (path[tl] == 0 || path[tl] == '/');
}

int fs_is_shared(const struct mk_config *cfg, const char *path, char **ret_fstype, char **ret_target)
{
        _cleanup_(mnt_unref_tablep) struct libmnt_table *tb = mnt_new_table();
        _cleanup_(mnt_free_iterp) struct libmnt_iter *it = mnt_new_iter(MNT_ITER_FORWARD);
        struct libmnt_fs *fs, *best = NULL;
        size_t best_len = 0;
        int r;

        if (!tb || !it)
                return -ENOMEM;
        r = mnt_table_parse_file(tb, cfg->mountinfo);
        if (r < 0)
                return r;
        /* Longest mount point covering path; on a tie the later entry, which
         * is mounted over the earlier one. Pure string matching (libmount's
         * mnt_table_find_mountpoint() stat()s the path, which need not exist
         * here, and a recorded mountinfo file describes another host). */
        while (mnt_table_next_fs(tb, it, &fs) == 0) {
                const char *t = mnt_fs_get_target(fs);
                if (t && target_covers(t, path) && strlen(t) >= best_len) {
                        best = fs;
                        best_len = strlen(t);
                }
        }
        if (!best)
                return -ENOENT;
        const char *type = mnt_fs_get_fstype(best), *target = mnt_fs_get_target(best);
        if (!type)
                return -EINVAL;
        if (ret_fstype && !(*ret_fstype = strdup(type)))
                return -ENOMEM;
        if (ret_target && !(*ret_target = strdup(target)))
                return -ENOMEM;
        return strv_contains(cfg->shared_fs_types, type);
}

static int parse_id(const char *s, unsigned *ret)
{
        char *end;
        errno = 0;
        unsigned long v = strtoul(s, &end, 10);
        if (errno || *end || end == s || v >= (unsigned)-1)
                return -EINVAL;
        *ret = (unsigned)v;
        return 0;
}

int instance_owner_resolve(const struct mk_config *cfg, uid_t *uid, gid_t *gid)
{
        unsigned id;
        if (parse_id(cfg->instance_owner, &id) == 0)
                *uid = id;
        else {
                struct passwd *pw = getpwnam(cfg->instance_owner);
                if (!pw)
                        return -ESRCH;
                *uid = pw->pw_uid;
        }
        if (parse_id(cfg->instance_group, &id) == 0)
                *gid = id;
        else {
                struct group *gr = getgrnam(cfg->instance_group);
                if (!gr)
                        return -ESRCH;
                *gid = gr->gr_gid;
        }
        return 0;
}

static int open_instances(const struct mk_config *cfg)
{
        int fd = open(cfg->instances_path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return errno == ENOTDIR ? -ELOOP : -errno; /* a symlink to a dir gives ENOTDIR with O_DIRECTORY|O_NOFOLLOW */
        return fd;
}

int instance_dir_exists(const struct mk_config *cfg, const char *uuid)
{
        struct stat st;
        if (!uuid_is_valid(uuid))
                return -EINVAL;
        _cleanup_close_ int dfd = open_instances(cfg);
        if (dfd < 0)
                return dfd;
        if (fstatat(dfd, uuid, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : -errno;
        if (S_ISLNK(st.st_mode))
                return -ELOOP;
        return S_ISDIR(st.st_mode) ? 1 : -ENOTDIR;
}

int instance_dir_create(const struct mk_config *cfg, const char *uuid, uid_t uid, gid_t gid)
{
        if (!uuid_is_valid(uuid))
                return -EINVAL;
        _cleanup_close_ int dfd = open_instances(cfg);
        if (dfd < 0)
                return dfd;
        if (mkdirat(dfd, uuid, 0700) < 0) {
                if (errno != EEXIST)
                        return -errno;
                struct stat st;
                if (fstatat(dfd, uuid, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        return -errno;
                if (S_ISLNK(st.st_mode))
                        return -ELOOP;
                return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
        }
        _cleanup_close_ int fd = openat(dfd, uuid, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0 || fchown(fd, uid, gid) < 0 || fchmod(fd, cfg->instance_mode) < 0) {
                int r = -errno;
                (void)unlinkat(dfd, uuid, AT_REMOVEDIR); /* ours, just made, empty */
                return r;
        }
        return 1;
}
