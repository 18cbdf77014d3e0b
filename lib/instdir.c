/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "instdir.h"

#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>

#include "hostmark.h"
#include "mountinfo.h"
#include "util.h"
#include "validate.h"

/* What statfs() magic numbers stand for, in mountinfo's type names ("fuse.*"
 * matches every FUSE subtype). fast: a family of local disk or memory
 * filesystems, unambiguous enough to answer alone in the hook. */
static const struct fs_magic {
        unsigned long magic;
        const char *names[4];
        bool fast;
} magics[] = {
        { 0xEF53, { "ext2", "ext3", "ext4" }, true },
        { 0x58465342, { "xfs" }, true },
        { 0x9123683E, { "btrfs" }, true },
        { 0x2FC12FC1, { "zfs" }, true },
        { 0xF2F52010, { "f2fs" }, true },
        { 0x01021994, { "tmpfs", "devtmpfs" }, true },
        { 0x794C7630, { "overlay" }, true },
        { 0x3153464A, { "jfs" }, false },
        { 0xCA451A4E, { "bcachefs" }, false },
        { 0x858458F6, { "ramfs" }, false },
        { 0x6969, { "nfs", "nfs4" }, false },
        { 0xFF534D42, { "cifs", "smb3" }, false },
        { 0xFE534D42, { "smb3", "cifs", "smb2" }, false },
        { 0x00C36400, { "ceph" }, false },
        { 0x65735546, { "fuse", "fuseblk", "virtiofs", "fuse.*" }, false },
        { 0x01021997, { "9p" }, false },
        { 0x01161970, { "gfs2", "gfs" }, false },
        { 0x7461636F, { "ocfs2" }, false },
        { 0x47504653, { "gpfs" }, false },
        { 0x0BD00BD0, { "lustre" }, false },
};

static const struct fs_magic *magic_find(unsigned long magic)
{
        for (size_t i = 0; i < ARRAY_SIZE(magics); i++)
                if (magics[i].magic == magic)
                        return &magics[i];
        return NULL;
}

static bool name_matches(const char *pattern, const char *type)
{
        size_t n = strlen(pattern);
        if (n > 1 && streq(pattern + n - 1, "*"))
                return strncmp(pattern, type, n - 1) == 0;
        return streq(pattern, type);
}

static bool magic_stands_for(const struct fs_magic *m, const char *type)
{
        for (size_t i = 0; i < ARRAY_SIZE(m->names) && m->names[i]; i++)
                if (name_matches(m->names[i], type))
                        return true;
        return false;
}

/* Every type the magic stands for is on the local list. */
static bool magic_all_local(const struct mk_config *cfg, const struct fs_magic *m)
{
        for (size_t i = 0; i < ARRAY_SIZE(m->names) && m->names[i]; i++)
                if (!strv_contains(cfg->local_fs_types, m->names[i]))
                        return false;
        return true;
}

static char *magic_names(const struct fs_magic *m)
{
        char buf[128] = "";
        for (size_t i = 0; i < ARRAY_SIZE(m->names) && m->names[i]; i++)
                snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%s", i ? "/" : "", m->names[i]);
        return strdup(buf);
}

void fs_verdict_done(struct fs_verdict *v)
{
        free(v->type);
        free(v->target);
        free(v->source);
        free(v->path);
        free(v->rule);
        memset(v, 0, sizeof(*v));
}

static char *fd_path(int fd)
{
        char proc[64], buf[PATH_MAX];
        snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
        ssize_t n = readlink(proc, buf, sizeof(buf) - 1);
        if (n <= 0 || (size_t)n >= sizeof(buf) - 1 || buf[0] != '/')
                return NULL;
        buf[n] = 0;
        return strdup(buf);
}

static int set_rule(struct fs_verdict *v, const char *fmt, ...) _printf_(2, 3);
static int set_rule(struct fs_verdict *v, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        v->rule = strdup_vprintf(fmt, ap);
        va_end(ap);
        return v->rule ? 0 : -ENOMEM;
}

int fs_decide_fd(const struct mk_config *cfg, int fd, int flags, struct fs_verdict *v)
{
        struct statfs sf;
        struct mount_entry e;
        int r;

        memset(v, 0, sizeof(*v));
        if (fstatfs(fd, &sf) < 0)
                return -errno;
        v->magic = (unsigned long)sf.f_type;
        v->path = fd_path(fd);
        const char *p = v->path ? v->path : "the directory";
        const struct fs_magic *m = magic_find(v->magic);

        /* The fast path answers for the live mount table only: a recorded
         * one (tests) must be asked. */
        if ((flags & FS_DECIDE_FAST) && m && m->fast && magic_all_local(cfg, m) && streq(cfg->mountinfo, "/proc/self/mountinfo")) {
                v->local = true;
                if (!(v->type = magic_names(m)))
                        return -ENOMEM;
                return set_rule(v, "%s is on %s (statfs), a local filesystem type ([filesystems] local)", p, v->type);
        }
        r = mount_id_at(fd, "", &v->mnt_id);
        if (r < 0) {
                fs_verdict_done(v);
                return r;
        }
        v->mnt_id_source = r;
        r = mountinfo_find(cfg->mountinfo, v->mnt_id, &e);
        if (r < 0) {
                fs_verdict_done(v);
                return r;
        }
        v->type = TAKE_PTR(e.fstype);
        v->target = TAKE_PTR(e.target);
        v->source = TAKE_PTR(e.source);
        mount_entry_done(&e);

        if (!strv_contains(cfg->local_fs_types, v->type))
                return set_rule(v, "%s is on %s (%s mounted at %s), not a type listed in [filesystems] local: treated as shared",
                                p, v->type, v->source, v->target);
        if (m && !magic_stands_for(m, v->type)) {
                _cleanup_free_ char *names = magic_names(m);
                return set_rule(v, "%s: mountinfo says %s (mounted at %s) but statfs says %s: treated as shared", p, v->type,
                                v->target, names ? names : "?");
        }
        v->local = true;
        return set_rule(v, "%s is on %s (%s mounted at %s; mount %llu found by %s), a type listed in [filesystems] local",
                        p, v->type, v->source, v->target, (unsigned long long)v->mnt_id, mount_id_source_name(v->mnt_id_source));
}

/* Why fs_decide_fd could not tell, for a message. */
static const char *undecided_reason(int r)
{
        switch (r) {
        case -EOPNOTSUPP: return "the kernel tells no mount id for it (no statx STATX_MNT_ID before Linux 5.8, and "
                                 "name_to_handle_at is not supported there)";
        case -ENOENT: return "its mount id is not in the mountinfo file ([paths] mountinfo)";
        case -ELIBACC: case -ELIBBAD: case -EBADMSG: return mountinfo_strerror(r);
        default: return NULL;
        }
}

int instances_open(const struct mk_config *cfg, char **detail)
{
        struct stat st;

        if (!cfg->instances_path || !path_is_absolute_normalized(cfg->instances_path) || streq(cfg->instances_path, "/"))
                return fail_message(detail, -EINVAL, "instances path '%s' is not an absolute path below /",
                                    cfg->instances_path ? cfg->instances_path : "");
        int fd = open(cfg->instances_path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd >= 0)
                return fd;
        int r = -errno;
        if (lstat(cfg->instances_path, &st) == 0 && S_ISLNK(st.st_mode))
                return fail_message(detail, -ELOOP, "instances path %s is a symlink", cfg->instances_path);
        return fail_message(detail, r, "instances path %s: %s", cfg->instances_path, strerror(-r));
}

int instances_open_decide(const struct mk_config *cfg, int flags, struct fs_verdict *v, char **detail)
{
        memset(v, 0, sizeof(*v));
        if (detail)
                *detail = NULL;
        _cleanup_close_ int fd = instances_open(cfg, detail);
        if (fd < 0)
                return fd;
        int r = fs_decide_fd(cfg, fd, flags, v);
        if (r < 0) {
                const char *why = undecided_reason(r);
                set_message(detail, "cannot tell which filesystem holds %s: %s", cfg->instances_path, why ? why : strerror(-r));
                return r;
        }
        return TAKE_FD(fd);
}

/* A mark of another host in fd (named path for the message)? 0 none,
 * -EREMOTE with *detail, or -errno. */
static int foreign_mark(int fd, const char *path, const struct host_id *self, char **detail)
{
        struct hostmark m;
        int r = hostmark_foreign(fd, self, &m);
        if (r < 0) {
                set_message(detail, "cannot read the host marks in %s: %s", path, strerror(-r));
                return r;
        }
        if (r == 0)
                return 0;
        char who[256];
        set_message(detail, "%s carries the mark of another host, %s: that host sees this directory too (shared storage); "
                   "if no other host uses it (a disk cloned from that host), remove %s/%s", path,
                   hostmark_describe(&m, time(NULL), who, sizeof(who)), path, m.file);
        hostmark_done(&m);
        return -EREMOTE;
}

int instdir_prove_local(const struct mk_config *cfg, int rfd, int dfd, const char *dname, char **detail)
{
        struct fs_verdict v;
        struct host_id self;
        int r;

        if (detail)
                *detail = NULL;
        r = fs_decide_fd(cfg, rfd, 0, &v);
        if (r < 0) {
                const char *why = undecided_reason(r);
                set_message(detail, "cannot tell which filesystem holds %s: %s", cfg->instances_path, why ? why : strerror(-r));
                return r;
        }
        if (!v.local) {
                set_message(detail, "%s", v.rule ? v.rule : "not a local filesystem");
                fs_verdict_done(&v);
                return -EREMOTE;
        }
        fs_verdict_done(&v);
        bool known = host_id_get(cfg, &self) == 0; /* unknown: every mark is another host's */
        if (dfd >= 0) { /* the directory itself first: the more telling reason */
                _cleanup_free_ char *dpath = path_join(cfg->instances_path, dname ? dname : "?");
                if (!dpath)
                        return -ENOMEM;
                r = foreign_mark(dfd, dpath, known ? &self : NULL, detail);
                if (r < 0)
                        return r;
        }
        return foreign_mark(rfd, cfg->instances_path, known ? &self : NULL, detail);
}

int instances_prove_local(const struct mk_config *cfg, char **detail)
{
        struct fs_verdict v;
        _cleanup_close_ int fd = instances_open_decide(cfg, 0, &v, detail);
        if (fd < 0)
                return fd;
        fs_verdict_done(&v);
        if (detail) {
                free(*detail);
                *detail = NULL;
        }
        return instdir_prove_local(cfg, fd, -1, NULL, detail);
}

int fs_is_shared(const struct mk_config *cfg, const char *path, char **ret_fstype, char **ret_target)
{
        _cleanup_free_ char *type = NULL, *target = NULL;
        int r;

        if (ret_fstype)
                *ret_fstype = NULL;
        if (ret_target)
                *ret_target = NULL;
        _cleanup_close_ int fd = open(path, O_PATH | O_CLOEXEC);
        if (fd >= 0) {
                struct fs_verdict v;
                r = fs_decide_fd(cfg, fd, FS_DECIDE_FAST, &v);
                if (r < 0)
                        return r;
                bool local = v.local;
                type = TAKE_PTR(v.type);
                target = TAKE_PTR(v.target);
                fs_verdict_done(&v);
                r = !local;
        } else if (errno == ENOENT || errno == ENOTDIR) {
                /* not on this host: the recorded table's mount covering it */
                struct mount_entry e;
                r = mountinfo_covering(cfg->mountinfo, path, &e);
                if (r < 0)
                        return r;
                type = TAKE_PTR(e.fstype);
                target = TAKE_PTR(e.target);
                mount_entry_done(&e);
                r = !strv_contains(cfg->local_fs_types, type);
        } else
                return -errno;
        if (ret_fstype)
                *ret_fstype = TAKE_PTR(type);
        if (ret_target)
                *ret_target = TAKE_PTR(target);
        return r;
}

int dir_ident_fd(int fd, struct dir_ident *ret)
{
        struct statx sx;
        if (statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_INO | STATX_BTIME, &sx) < 0)
                return -errno;
        *ret = (struct dir_ident) {
                .dev = makedev(sx.stx_dev_major, sx.stx_dev_minor),
                .ino = sx.stx_ino,
                .btime_s = sx.stx_mask & STATX_BTIME ? sx.stx_btime.tv_sec : 0,
                .btime_ns = sx.stx_mask & STATX_BTIME ? sx.stx_btime.tv_nsec : 0,
        };
        return 0;
}

bool dir_ident_same(const struct dir_ident *a, const struct dir_ident *b)
{
        if (a->dev != b->dev || a->ino != b->ino)
                return false;
        bool known = (a->btime_s || a->btime_ns) && (b->btime_s || b->btime_ns);
        return !known || (a->btime_s == b->btime_s && a->btime_ns == b->btime_ns);
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

int instance_dir_create(const struct mk_config *cfg, const char *uuid, uid_t uid, gid_t gid, struct dir_ident *ret_id)
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
        struct dir_ident id;
        int r = fd < 0 || fchown(fd, uid, gid) < 0 || fchmod(fd, cfg->instance_mode) < 0 ? -errno : dir_ident_fd(fd, &id);
        if (r < 0) {
                (void)unlinkat(dfd, uuid, AT_REMOVEDIR); /* ours, just made, empty */
                return r;
        }
        if (ret_id)
                *ret_id = id;
        return 1;
}
