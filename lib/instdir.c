/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "instdir.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <grp.h>
#include <libmount.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include "util.h"
#include "validate.h"

/* libmount and its dependencies (blkid, selinux, pcre2) cost more to load
 * and relocate than everything else the hook does, and most calls never need
 * them: load libmount only when the mount table must really be read. */
static struct {
        void *handle;
        struct libmnt_table *(*new_table)(void);
        void (*unref_table)(struct libmnt_table *);
        struct libmnt_iter *(*new_iter)(int);
        void (*free_iter)(struct libmnt_iter *);
        int (*parse_file)(struct libmnt_table *, const char *);
        int (*next_fs)(struct libmnt_table *, struct libmnt_iter *, struct libmnt_fs **);
        const char *(*get_target)(struct libmnt_fs *);
        const char *(*get_fstype)(struct libmnt_fs *);
} mnt;

static int mnt_load(void)
{
        if (mnt.handle)
                return 0;
        void *h = dlopen("libmount.so.1", RTLD_NOW | RTLD_LOCAL);
        if (!h)
                return -ELIBACC;
#define SYM(field, name) if (!(*(void **)&mnt.field = dlsym(h, name))) { dlclose(h); return -ELIBBAD; }
        SYM(new_table, "mnt_new_table");
        SYM(unref_table, "mnt_unref_table");
        SYM(new_iter, "mnt_new_iter");
        SYM(free_iter, "mnt_free_iter");
        SYM(parse_file, "mnt_table_parse_file");
        SYM(next_fs, "mnt_table_next_fs");
        SYM(get_target, "mnt_fs_get_target");
        SYM(get_fstype, "mnt_fs_get_fstype");
#undef SYM
        mnt.handle = h;
        return 0;
}

static void mnt_unref_tablep(struct libmnt_table **t) { if (*t) mnt.unref_table(*t); }
static void mnt_free_iterp(struct libmnt_iter **i) { if (*i) mnt.free_iter(*i); }

/* True if target is path or one of its parent directories. */
static bool target_covers(const char *target, const char *path)
{
        size_t tl = strlen(target);
        if (streq(target, "/"))
                return true;
        return strncmp(path, target, tl) == 0 && (path[tl] == 0 || path[tl] == '/');
}

/* Local disk filesystems statfs() identifies unambiguously, with the type
 * names mountinfo would show for them. */
static const struct {
        unsigned long magic;
        const char *names[3];
} local_fs[] = {
        { 0xEF53, { "ext2", "ext3", "ext4" } },
        { 0x58465342, { "xfs" } },
        { 0x9123683E, { "btrfs" } },
        { 0x2FC12FC1, { "zfs" } },
        { 0xF2F52010, { "f2fs" } },
};

/* Fast path for the live mount table: 0 if path is on a local disk
 * filesystem none of whose names is configured as shared, else -EAGAIN. */
static int fs_is_local_fast(const struct mk_config *cfg, const char *path)
{
        struct statfs sf;
        if (!streq(cfg->mountinfo, "/proc/self/mountinfo") || statfs(path, &sf) < 0)
                return -EAGAIN;
        for (size_t i = 0; i < ARRAY_SIZE(local_fs); i++) {
                if ((unsigned long)sf.f_type != local_fs[i].magic)
                        continue;
                for (size_t k = 0; k < ARRAY_SIZE(local_fs[i].names) && local_fs[i].names[k]; k++)
                        if (strv_contains(cfg->shared_fs_types, local_fs[i].names[k]))
                                return -EAGAIN;
                return 0;
        }
        return -EAGAIN;
}

int fs_is_shared(const struct mk_config *cfg, const char *path, char **ret_fstype, char **ret_target)
{
        struct libmnt_fs *fs, *best = NULL;
        size_t best_len = 0;
        int r;

        if (ret_fstype)
                *ret_fstype = NULL;
        if (ret_target)
                *ret_target = NULL;
        if (fs_is_local_fast(cfg, path) == 0)
                return 0;
        r = mnt_load();
        if (r < 0)
                return r;
        _cleanup_(mnt_unref_tablep) struct libmnt_table *tb = mnt.new_table();
        _cleanup_(mnt_free_iterp) struct libmnt_iter *it = mnt.new_iter(MNT_ITER_FORWARD);
        if (!tb || !it)
                return -ENOMEM;
        r = mnt.parse_file(tb, cfg->mountinfo);
        if (r < 0)
                return r;
        /* Longest mount point covering path; on a tie the later entry, which
         * is mounted over the earlier one. Pure string matching (libmount's
         * mnt_table_find_mountpoint() stat()s the path, which need not exist
         * here, and a recorded mountinfo file describes another host). */
        while (mnt.next_fs(tb, it, &fs) == 0) {
                const char *t = mnt.get_target(fs);
                if (t && target_covers(t, path) && strlen(t) >= best_len) {
                        best = fs;
                        best_len = strlen(t);
                }
        }
        if (!best)
                return -ENOENT;
        const char *type = mnt.get_fstype(best), *target = mnt.get_target(best);
        if (!type)
                return -EINVAL;
        _cleanup_free_ char *t = strdup(type), *m = strdup(target);
        if (!t || !m)
                return -ENOMEM;
        if (ret_fstype)
                *ret_fstype = TAKE_PTR(t);
        if (ret_target)
                *ret_target = TAKE_PTR(m);
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
        /* root is 0 everywhere; spare the hook loading NSS for the default */
        if (streq(cfg->instance_owner, "root"))
                *uid = 0;
        else if (parse_id(cfg->instance_owner, &id) == 0)
                *uid = id;
        else {
                struct passwd *pw = getpwnam(cfg->instance_owner);
                if (!pw)
                        return -ESRCH;
                *uid = pw->pw_uid;
        }
        if (streq(cfg->instance_group, "root"))
                *gid = 0;
        else if (parse_id(cfg->instance_group, &id) == 0)
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
