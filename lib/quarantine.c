/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "quarantine.h"

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "instdir.h"
#include "util.h"
#include "validate.h"

/* Deeper than any instance directory; bounds the open fds of rm_rf. */
#define RM_RF_MAX_DEPTH 128
#define INFO_MAX 8192

/* Where an inode lives: device, inode number and (kernel >= 5.8) the mount. */
struct ident {
        dev_t dev;
        ino_t ino;
        uint64_t mnt_id;
        bool has_mnt_id;
        mode_t mode;
        uid_t uid;
};

static int ident_at(int dfd, const char *name, struct ident *id)
{
        struct statx sx;
        int flags = AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | (*name ? 0 : AT_EMPTY_PATH);

        if (statx(dfd, name, flags, STATX_TYPE | STATX_MODE | STATX_INO | STATX_UID | STATX_MNT_ID, &sx) < 0)
                return -errno;
        *id = (struct ident) {
                .dev = makedev(sx.stx_dev_major, sx.stx_dev_minor),
                .ino = sx.stx_ino,
                .mnt_id = sx.stx_mnt_id,
                .has_mnt_id = sx.stx_mask & STATX_MNT_ID,
                .mode = sx.stx_mode,
                .uid = sx.stx_uid,
        };
        return 0;
}

/* Same filesystem and same mount: a bind mount of the same filesystem has
 * the same st_dev, so the mount id is what tells it. */
static bool same_mount(const struct ident *a, const struct ident *b)
{
        if (a->dev != b->dev)
                return false;
        return !a->has_mnt_id || !b->has_mnt_id || a->mnt_id == b->mnt_id;
}

static bool same_inode(const struct ident *a, const struct ident *b)
{
        return a->dev == b->dev && a->ino == b->ino && same_mount(a, b);
}

static void set_detail(char **ret, const char *fmt, ...) _printf_(2, 3);
static void set_detail(char **ret, const char *fmt, ...)
{
        va_list ap;
        if (!ret)
                return;
        free(*ret);
        va_start(ap, fmt);
        if (vasprintf(ret, fmt, ap) < 0)
                *ret = NULL;
        va_end(ap);
}

/* Opens the instances path: a real directory, not a symlink, not "/", and
 * not on a shared filesystem. */
static int open_instances(const struct mk_config *cfg, struct ident *id, char **detail)
{
        struct stat st;
        int r;

        if (!cfg->instances_path || !path_is_absolute_normalized(cfg->instances_path) || streq(cfg->instances_path, "/")) {
                set_detail(detail, "instances path '%s' is not an absolute path below /", cfg->instances_path ? cfg->instances_path : "");
                return -EINVAL;
        }
        _cleanup_close_ int fd = open(cfg->instances_path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
                r = -errno;
                if (lstat(cfg->instances_path, &st) == 0 && S_ISLNK(st.st_mode)) {
                        set_detail(detail, "instances path %s is a symlink", cfg->instances_path);
                        return -ELOOP;
                }
                set_detail(detail, "instances path %s", cfg->instances_path);
                return r;
        }
        r = ident_at(fd, "", id);
        if (r < 0)
                return r;

        _cleanup_free_ char *fstype = NULL, *target = NULL;
        r = fs_is_shared(cfg, cfg->instances_path, &fstype, &target);
        if (r < 0) {
                set_detail(detail, "cannot tell which filesystem holds %s from %s", cfg->instances_path, cfg->mountinfo);
                return r;
        }
        if (r > 0) {
                set_detail(detail, "%s is on the shared filesystem %s mounted at %s", cfg->instances_path,
                           fstype ? fstype : "?", target ? target : "?");
                return -EREMOTE;
        }
        return TAKE_FD(fd);
}

/* Opens (and with create, makes) the quarantine directory below ifd: a
 * directory of ours, private, on the same mount as the instances path. */
static int open_quarantine(int ifd, const struct ident *iid, bool create, char **detail)
{
        struct ident qid;
        int r;

        if (create && mkdirat(ifd, QUARANTINE_DIR, 0700) < 0 && errno != EEXIST)
                return -errno;
        _cleanup_close_ int fd = openat(ifd, QUARANTINE_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
                r = -errno;
                if (r == -ENOENT)
                        return r;
                if (r == -ENOTDIR || r == -ELOOP) {
                        set_detail(detail, "%s is a symlink or not a directory", QUARANTINE_DIR);
                        return -EPERM;
                }
                return r;
        }
        r = ident_at(fd, "", &qid);
        if (r < 0)
                return r;
        if (!same_mount(&qid, iid)) {
                set_detail(detail, "%s is a mount point or on another filesystem", QUARANTINE_DIR);
                return -EXDEV;
        }
        if (qid.uid != geteuid() || (qid.mode & 0077)) {
                set_detail(detail, "%s is owned by uid %u with mode %04o; it must be ours with mode 0700",
                           QUARANTINE_DIR, (unsigned)qid.uid, (unsigned)(qid.mode & 07777));
                return -EPERM;
        }
        return TAKE_FD(fd);
}

/* Undoes the octal escapes of a mountinfo field in place. */
static void unescape_mountinfo(char *s)
{
        char *w = s;
        for (char *p = s; *p; p++) {
                if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' && p[3] >= '0' && p[3] <= '7') {
                        *w++ = (char)(((p[1] - '0') << 6) | ((p[2] - '0') << 3) | (p[3] - '0'));
                        p += 3;
                } else
                        *w++ = *p;
        }
        *w = 0;
}

/* Is anything mounted below the directory fd (in our mount namespace)? The
 * live mount table is read: this is about this process's view, whatever
 * [paths] mountinfo says. Returns 0, -EBUSY with *detail naming the mount,
 * or -errno when it cannot be told. */
static int mounts_below(int fd, char **detail)
{
        char proc[64], path[PATH_MAX];
        _cleanup_fclose_ FILE *f = NULL;
        _cleanup_free_ char *line = NULL;
        size_t cap = 0;

        snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
        ssize_t n = readlink(proc, path, sizeof(path) - 1);
        if (n < 0)
                return -errno;
        if ((size_t)n >= sizeof(path) - 1)
                return -ENAMETOOLONG;
        path[n] = 0;
        if (path[0] != '/')
                return -ENOENT; /* deleted or not reachable from our root */
        f = fopen("/proc/self/mountinfo", "re");
        if (!f)
                return -errno;
        while (getline(&line, &cap, f) > 0) {
                /* id parent major:minor root mountpoint ... */
                char *save = NULL, *mp = strtok_r(line, " ", &save);
                for (int i = 0; i < 4 && mp; i++)
                        mp = strtok_r(NULL, " ", &save);
                if (!mp)
                        continue;
                unescape_mountinfo(mp);
                if (path_below(mp, path)) {
                        set_detail(detail, "%s is a mount point", mp);
                        return -EBUSY;
                }
        }
        return ferror(f) ? -EIO : 0;
}

static void info_clean(char *s)
{
        for (char *p = s; *p; p++)
                if ((unsigned char)*p < 0x20 || *p == 0x7f)
                        *p = ' ';
}

static int write_info(int fd, const struct mk_config *cfg, const char *uuid, const char *name, time_t now,
                      const char *reason, const char *domain)
{
        _cleanup_free_ char *text = NULL, *r = strdup(reason ? reason : "-"), *d = domain ? strdup(domain) : NULL;
        char host[256] = "";

        if (!r || (domain && !d))
                return -ENOMEM;
        info_clean(r);
        if (d)
                info_clean(d);
        (void)gethostname(host, sizeof(host) - 1);
        info_clean(host);
        int n = asprintf(&text, "migkit-quarantine 1\nuuid %s\nentry %s\nfrom %s/%s\ntime %lld\nhost %s\npid %ld\n%s%s%sreason %s\n",
                         uuid, name, cfg->instances_path, uuid, (long long)now, host, (long)getpid(),
                         d ? "domain " : "", d ? d : "", d ? "\n" : "", r);
        if (n < 0) {
                text = NULL;
                return -ENOMEM;
        }
        return write_all(fd, text, (size_t)n);
}

int quarantine_dir(const struct mk_config *cfg, const char *uuid, const char *reason, const char *domain,
                   int flags, char **ret_path, char **ret_detail)
{
        struct ident iid, uid_, qid;
        char name[64], info[80];
        time_t now = time(NULL);
        int r;

        if (ret_path)
                *ret_path = NULL;
        if (ret_detail)
                *ret_detail = NULL;
        if (!uuid_is_valid(uuid)) {
                set_detail(ret_detail, "'%s' is not a UUID", uuid);
                return -EINVAL;
        }
        _cleanup_close_ int ifd = open_instances(cfg, &iid, ret_detail);
        if (ifd < 0)
                return ifd;

        _cleanup_close_ int ufd = openat(ifd, uuid, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (ufd < 0) {
                r = -errno;
                if (r == -ENOENT)
                        return 0;
                struct stat st;
                if (fstatat(ifd, uuid, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)) {
                        set_detail(ret_detail, "%s/%s is a symlink", cfg->instances_path, uuid);
                        return -ELOOP;
                }
                if (r == -ENOTDIR)
                        set_detail(ret_detail, "%s/%s is not a directory", cfg->instances_path, uuid);
                return r;
        }
        r = ident_at(ufd, "", &uid_);
        if (r < 0)
                return r;
        if (!same_mount(&uid_, &iid)) {
                set_detail(ret_detail, "%s/%s is a mount point", cfg->instances_path, uuid);
                return -EXDEV;
        }
        r = mounts_below(ufd, ret_detail);
        if (r < 0)
                return r;

        _cleanup_close_ int qfd = -1;
        if (flags & QUARANTINE_DRY_RUN) {
                qfd = open_quarantine(ifd, &iid, false, ret_detail);
                if (qfd < 0 && qfd != -ENOENT)
                        return qfd;
                snprintf(name, sizeof(name), "%s.%lld", uuid, (long long)now);
                if (ret_path && asprintf(ret_path, "%s/%s/%s", cfg->instances_path, QUARANTINE_DIR, name) < 0)
                        *ret_path = NULL;
                return 1;
        }
        qfd = open_quarantine(ifd, &iid, true, ret_detail);
        if (qfd < 0)
                return qfd;

        /* The .info file, created exclusively, reserves the entry's name. */
        for (int i = 0;; i++) {
                if (i >= 100)
                        return -EEXIST;
                if (i == 0)
                        snprintf(name, sizeof(name), "%s.%lld", uuid, (long long)now);
                else
                        snprintf(name, sizeof(name), "%s.%lld.%d", uuid, (long long)now, i);
                snprintf(info, sizeof(info), "%s.info", name);
                _cleanup_close_ int infofd = openat(qfd, info, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
                if (infofd < 0) {
                        if (errno == EEXIST)
                                continue;
                        return -errno;
                }
                r = write_info(infofd, cfg, uuid, name, now, reason, domain);
                if (r < 0) {
                        (void)unlinkat(qfd, info, 0);
                        return r;
                }
                if (renameat2(ifd, uuid, qfd, name, RENAME_NOREPLACE) == 0)
                        break;
                r = -errno;
                if (r == -EINVAL) {
                        /* A filesystem without RENAME_NOREPLACE; the name is
                         * reserved by the .info file, so a plain rename only
                         * races with another of us that chose the same name,
                         * which the .info file already prevents. */
                        struct stat st;
                        if (fstatat(qfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
                                r = -EEXIST;
                        else if (renameat(ifd, uuid, qfd, name) == 0)
                                break;
                        else
                                r = -errno;
                }
                (void)unlinkat(qfd, info, 0);
                if (r == -EEXIST)
                        continue;
                if (r == -ENOENT)
                        return 0; /* someone else moved it first */
                if (r == -EXDEV || r == -EBUSY)
                        set_detail(ret_detail, "%s/%s is a mount point or on another filesystem", cfg->instances_path, uuid);
                return r;
        }

        /* What was renamed must be what was checked: if <uuid> was replaced
         * in between, put the stranger back and give up. */
        r = ident_at(qfd, name, &qid);
        if (r < 0)
                return r;
        if (!same_inode(&qid, &uid_)) {
                (void)renameat2(qfd, name, ifd, uuid, RENAME_NOREPLACE);
                (void)unlinkat(qfd, info, 0);
                set_detail(ret_detail, "%s/%s was replaced while it was being checked", cfg->instances_path, uuid);
                return -ESTALE;
        }
        (void)fsync(qfd);
        (void)fsync(ifd);
        if (ret_path && asprintf(ret_path, "%s/%s/%s", cfg->instances_path, QUARANTINE_DIR, name) < 0)
                *ret_path = NULL;
        return 1;
}

struct rm_ctx {
        kept_fn kept;
        void *userdata;
        struct rm_rf_stats *st;
        struct ident root;
        char path[PATH_MAX];
        int depth;
};

static void rm_report(struct rm_ctx *c, const char *name, int err)
{
        char p[PATH_MAX + NAME_MAX + 2];

        c->st->kept++;
        if (!c->kept)
                return;
        if (name)
                snprintf(p, sizeof(p), "%s/%s", c->path, name);
        else
                snprintf(p, sizeof(p), "%s", c->path);
        c->kept(c->userdata, p, err);
}

/* dfd is borrowed. Returns 0 or 1 (something kept). */
static int rm_children(struct rm_ctx *c, int dfd)
{
        int fd = fcntl(dfd, F_DUPFD_CLOEXEC, 3);
        bool kept = false;
        struct dirent *de;
        DIR *d;

        if (fd < 0 || !(d = fdopendir(fd))) {
                if (fd >= 0)
                        close(fd);
                rm_report(c, NULL, -errno);
                return 1;
        }
        for (;;) {
                errno = 0;
                de = readdir(d);
                if (!de) {
                        if (errno) {
                                rm_report(c, NULL, -errno);
                                kept = true;
                        }
                        break;
                }
                const char *name = de->d_name;
                if (streq(name, ".") || streq(name, ".."))
                        continue;

                if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN) {
                        /* Not a directory: unlink it (a symlink is removed,
                         * never followed). A file bind-mounted here gives
                         * EBUSY: left alone. */
                        if (unlinkat(dirfd(d), name, 0) == 0)
                                c->st->removed++;
                        else if (errno == EBUSY) {
                                rm_report(c, name, -EXDEV);
                                kept = true;
                        } else if (errno == EISDIR)
                                goto as_dir; /* changed type meanwhile */
                        else if (errno != ENOENT) {
                                rm_report(c, name, -errno);
                                kept = true;
                        }
                        continue;
                }
        as_dir:;
                struct ident id, cid;
                int r = ident_at(dirfd(d), name, &id);
                if (r == -ENOENT)
                        continue;
                if (r < 0) {
                        rm_report(c, name, r);
                        kept = true;
                        continue;
                }
                if (!same_mount(&id, &c->root)) {
                        rm_report(c, name, -EXDEV); /* a mount point: nothing under it is ours */
                        kept = true;
                        continue;
                }
                if (!S_ISDIR(id.mode)) {
                        if (unlinkat(dirfd(d), name, 0) == 0)
                                c->st->removed++;
                        else if (errno != ENOENT) {
                                rm_report(c, name, errno == EBUSY ? -EXDEV : -errno);
                                kept = true;
                        }
                        continue;
                }
                if (c->depth >= RM_RF_MAX_DEPTH) {
                        rm_report(c, name, -ELOOP);
                        kept = true;
                        continue;
                }
                int cfd = openat(dirfd(d), name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
                if (cfd < 0) {
                        if (errno != ENOENT) {
                                rm_report(c, name, -errno);
                                kept = true;
                        }
                        continue;
                }
                r = ident_at(cfd, "", &cid);
                if (r < 0 || !same_inode(&cid, &id)) {
                        close(cfd);
                        rm_report(c, name, r < 0 ? r : -ESTALE);
                        kept = true;
                        continue;
                }
                size_t len = strlen(c->path);
                if (len + 1 + strlen(name) >= sizeof(c->path)) {
                        close(cfd);
                        rm_report(c, name, -ENAMETOOLONG);
                        kept = true;
                        continue;
                }
                snprintf(c->path + len, sizeof(c->path) - len, "/%s", name);
                c->depth++;
                r = rm_children(c, cfd);
                c->depth--;
                c->path[len] = 0;
                close(cfd);
                if (r > 0) {
                        kept = true; /* not empty: leave the directory too */
                        continue;
                }
                if (unlinkat(dirfd(d), name, AT_REMOVEDIR) == 0)
                        c->st->removed++;
                else if (errno != ENOENT) {
                        rm_report(c, name, errno == EBUSY ? -EXDEV : -errno);
                        kept = true;
                }
        }
        closedir(d);
        return kept ? 1 : 0;
}

int rm_rf_children(int dfd, const char *relpath, kept_fn kept, void *userdata, struct rm_rf_stats *st)
{
        struct rm_rf_stats dummy = { 0 };
        _cleanup_free_ struct rm_ctx *c = calloc(1, sizeof(*c));
        int r;

        if (!c)
                return -ENOMEM;
        *c = (struct rm_ctx) { .kept = kept, .userdata = userdata, .st = st ? st : &dummy };
        r = ident_at(dfd, "", &c->root);
        if (r < 0)
                return r;
        if (!S_ISDIR(c->root.mode))
                return -ENOTDIR;
        snprintf(c->path, sizeof(c->path), "%s", relpath ? relpath : ".");
        return rm_children(c, dfd);
}

bool quarantine_parse_name(const char *name, char *uuid, time_t *time)
{
        char u[37];
        const char *p;
        char *end;

        if (strlen(name) < 38 || name[36] != '.')
                return false;
        memcpy(u, name, 36);
        u[36] = 0;
        if (!uuid_is_valid(u))
                return false;
        p = name + 37;
        if (!isdigit((unsigned char)*p))
                return false;
        errno = 0;
        long long t = strtoll(p, &end, 10);
        if (errno || t <= 0)
                return false;
        if (*end == '.') {
                const char *n = end + 1;
                if (!isdigit((unsigned char)*n))
                        return false;
                while (isdigit((unsigned char)*n))
                        n++;
                if (*n)
                        return false;
        } else if (*end)
                return false;
        if (uuid)
                memcpy(uuid, u, 37);
        if (time)
                *time = (time_t)t;
        return true;
}

static bool is_info_name(const char *name, char *base, size_t size)
{
        size_t len = strlen(name);
        if (len < 5 || len - 5 >= size || !streq(name + len - 5, ".info"))
                return false;
        memcpy(base, name, len - 5);
        base[len - 5] = 0;
        return quarantine_parse_name(base, NULL, NULL);
}

/* The names in the directory fd (a copy of the fd is read). */
static int list_names(int fd, char ***ret)
{
        _cleanup_strv_ char **l = calloc(1, sizeof(char *));
        int dfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        struct dirent *de;
        DIR *d;
        int r = 0;

        if (!l) {
                if (dfd >= 0)
                        close(dfd);
                return -ENOMEM;
        }
        if (dfd < 0 || !(d = fdopendir(dfd))) {
                r = -errno;
                if (dfd >= 0)
                        close(dfd);
                return r;
        }
        rewinddir(d);
        while ((errno = 0, de = readdir(d)))
                if (!streq(de->d_name, ".") && !streq(de->d_name, "..") && strv_push(&l, de->d_name) < 0) {
                        r = -ENOMEM;
                        break;
                }
        if (r == 0 && errno)
                r = -errno;
        closedir(d);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(l);
        return 0;
}

int quarantine_purge(const struct mk_config *cfg, unsigned long retention_s, time_t now, bool dry_run,
                     kept_fn kept, void *userdata, struct purge_stats *st)
{
        struct purge_stats dummy;
        struct ident iid, qid;
        bool any_kept = false;
        int r;

        if (!st)
                st = &dummy;
        memset(st, 0, sizeof(*st));
        _cleanup_close_ int ifd = open_instances(cfg, &iid, NULL);
        if (ifd < 0)
                return ifd;
        _cleanup_close_ int qfd = open_quarantine(ifd, &iid, false, NULL);
        if (qfd == -ENOENT)
                return 0;
        if (qfd < 0)
                return qfd;
        r = ident_at(qfd, "", &qid);
        if (r < 0)
                return r;
        _cleanup_strv_ char **names = NULL;
        r = list_names(qfd, &names);
        if (r < 0)
                return r;

        for (size_t i = 0; names[i]; i++) {
                const char *name = names[i];
                char base[NAME_MAX + 1];
                time_t t;
                bool due;

                if (is_info_name(name, base, sizeof(base))) {
                        /* An orphan: its entry is gone (purge killed between
                         * the two unlinks) or was never moved there. */
                        struct stat bst;
                        if (quarantine_parse_name(base, NULL, &t) && t <= now && (unsigned long long)(now - t) >= retention_s &&
                            fstatat(qfd, base, &bst, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT && !dry_run)
                                (void)unlinkat(qfd, name, 0);
                        continue;
                }
                if (!quarantine_parse_name(name, NULL, &t))
                        continue; /* not ours: never touched */
                due = t <= now && (unsigned long long)(now - t) >= retention_s;
                if (!due) {
                        st->young++;
                        continue;
                }
                if (dry_run) {
                        st->purged++;
                        continue;
                }

                struct ident id, cid;
                r = ident_at(qfd, name, &id);
                if (r == -ENOENT)
                        continue;
                if (r < 0 || !same_mount(&id, &qid)) {
                        if (kept)
                                kept(userdata, name, r < 0 ? r : -EXDEV);
                        st->kept++;
                        any_kept = true;
                        continue;
                }
                if (S_ISDIR(id.mode)) {
                        _cleanup_close_ int cfd = openat(qfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
                        struct rm_rf_stats rs = { 0 };
                        if (cfd < 0 && errno == ENOENT)
                                continue;
                        r = cfd < 0 ? -errno : ident_at(cfd, "", &cid);
                        if (r == 0 && !same_inode(&cid, &id))
                                r = -ESTALE;
                        if (r == 0)
                                r = rm_rf_children(cfd, name, kept, userdata, &rs);
                        st->files += rs.removed;
                        if (r != 0) {
                                if (r < 0 && kept)
                                        kept(userdata, name, r);
                                st->kept++;
                                any_kept = true;
                                continue;
                        }
                        if (unlinkat(qfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT) {
                                if (kept)
                                        kept(userdata, name, errno == EBUSY ? -EXDEV : -errno);
                                st->kept++;
                                any_kept = true;
                                continue;
                        }
                } else if (unlinkat(qfd, name, 0) < 0 && errno != ENOENT) {
                        if (kept)
                                kept(userdata, name, errno == EBUSY ? -EXDEV : -errno);
                        st->kept++;
                        any_kept = true;
                        continue;
                }
                st->purged++;
                char info[NAME_MAX + 1];
                if ((size_t)snprintf(info, sizeof(info), "%s.info", name) < sizeof(info))
                        (void)unlinkat(qfd, info, 0);
        }
        return any_kept ? 1 : 0;
}

static void entry_free(struct quarantine_entry *e)
{
        free(e->name);
        free(e->domain);
        free(e->reason);
        free(e->from);
}

void quarantine_list_free(struct quarantine_entry *l, int n)
{
        for (int i = 0; l && i < n; i++)
                entry_free(&l[i]);
        free(l);
}

static void read_info(int qfd, struct quarantine_entry *e)
{
        char info[NAME_MAX + 1];
        _cleanup_free_ char *text = NULL;

        if ((size_t)snprintf(info, sizeof(info), "%s.info", e->name) >= sizeof(info))
                return;
        _cleanup_close_ int fd = openat(qfd, info, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0 || read_full_fd(fd, INFO_MAX, &text) < 0)
                return;
        char *save = NULL;
        for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char *val = strchr(line, ' ');
                if (!val)
                        continue;
                *val++ = 0;
                if (streq(line, "domain") && !e->domain)
                        e->domain = strdup(val);
                else if (streq(line, "reason") && !e->reason)
                        e->reason = strdup(val);
                else if (streq(line, "from") && !e->from)
                        e->from = strdup(val);
        }
}

static int entry_cmp(const void *a, const void *b)
{
        const struct quarantine_entry *x = a, *y = b;
        if (x->time != y->time)
                return x->time < y->time ? -1 : 1;
        return strcmp(x->name, y->name);
}

int quarantine_list(const struct mk_config *cfg, struct quarantine_entry **ret)
{
        struct ident iid;
        struct quarantine_entry *l = NULL;
        int n = 0, r;

        *ret = NULL;
        /* Listing is harmless on any filesystem; only the checks that keep
         * us out of other people's directories apply. */
        if (!cfg->instances_path || streq(cfg->instances_path, "/"))
                return -EINVAL;
        _cleanup_close_ int ifd = open(cfg->instances_path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (ifd < 0)
                return -errno;
        r = ident_at(ifd, "", &iid);
        if (r < 0)
                return r;
        _cleanup_close_ int qfd = open_quarantine(ifd, &iid, false, NULL);
        if (qfd == -ENOENT)
                return 0;
        if (qfd < 0)
                return qfd;
        _cleanup_strv_ char **names = NULL;
        r = list_names(qfd, &names);
        if (r < 0)
                return r;
        for (size_t i = 0; names[i]; i++) {
                struct quarantine_entry e = { 0 };
                if (!quarantine_parse_name(names[i], e.uuid, &e.time))
                        continue;
                struct quarantine_entry *nl = realloc(l, (size_t)(n + 1) * sizeof(*l));
                if (!nl || !(e.name = strdup(names[i]))) {
                        if (nl)
                                l = nl;
                        quarantine_list_free(l, n);
                        return -ENOMEM;
                }
                l = nl;
                read_info(qfd, &e);
                l[n++] = e;
        }
        if (n > 0)
                qsort(l, (size_t)n, sizeof(*l), entry_cmp);
        *ret = l;
        return n;
}
