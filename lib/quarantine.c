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
#include "mountinfo.h"
#include "util.h"
#include "validate.h"

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
                .mode = sx.stx_mode,
                .uid = sx.stx_uid,
        };
        if (sx.stx_mask & STATX_MNT_ID)
                return 0;
        int r = mount_id_from_handle(dfd, name, &id->mnt_id);
        return r < 0 ? r : 0;
}

/* Same filesystem and same mount: a bind mount of the same filesystem has
 * the same st_dev, so the mount id is what tells it. */
static bool same_mount(const struct ident *a, const struct ident *b)
{
        return a->dev == b->dev && a->mnt_id == b->mnt_id;
}

static bool same_inode(const struct ident *a, const struct ident *b)
{
        return a->ino == b->ino && same_mount(a, b);
}

static const char no_mount_id[] = "the kernel tells no mount id (no statx STATX_MNT_ID before Linux 5.8, and "
                                  "name_to_handle_at is not supported there): a bind mount could not be told";

/* Opens the instances path (a real directory, not a symlink, not "/") and
 * fills its identity. Nothing is decided about its filesystem here. */
static int open_instances(const struct mk_config *cfg, struct ident *id, char **detail)
{
        _cleanup_close_ int fd = instances_open(cfg, detail);
        if (fd < 0)
                return fd;
        int r = ident_at(fd, "", id);
        if (r == -EOPNOTSUPP)
                set_message(detail, "%s: %s", cfg->instances_path, no_mount_id);
        return r < 0 ? r : TAKE_FD(fd);
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
                        set_message(detail, "%s is a symlink or not a directory", QUARANTINE_DIR);
                        return -EPERM;
                }
                return r;
        }
        r = ident_at(fd, "", &qid);
        if (r < 0) {
                if (r == -EOPNOTSUPP)
                        set_message(detail, "%s: %s", QUARANTINE_DIR, no_mount_id);
                return r;
        }
        if (!same_mount(&qid, iid)) {
                set_message(detail, "%s is a mount point or on another filesystem", QUARANTINE_DIR);
                return -EXDEV;
        }
        if (qid.uid != geteuid() || (qid.mode & 0077)) {
                set_message(detail, "%s is owned by uid %u with mode %04o; it must be ours with mode 0700",
                           QUARANTINE_DIR, (unsigned)qid.uid, (unsigned)(qid.mode & 07777));
                return -EPERM;
        }
        return TAKE_FD(fd);
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

/* ---- quarantine_move, in steps ---------------------------------------------- */

/* One move: what was opened and checked, for the steps below. */
struct qmove {
        const struct mk_config *cfg;
        const struct quarantine_req *req;
        char **detail;
        int ifd, ufd, qfd;
        struct ident iid, uid;  /* the instances path, <uuid> */
        struct dir_ident checked; /* <uuid>, with its birth time */
        char name[64], info[80];
        time_t now;
};

static void qmove_done(struct qmove *q)
{
        if (q->ifd >= 0)
                close(q->ifd);
        if (q->ufd >= 0)
                close(q->ufd);
        if (q->qfd >= 0)
                close(q->qfd);
}

/* Opens the instances path and <uuid> below it: a directory, not a symlink,
 * on the same mount, with nothing mounted below it. 1 opened, 0 no such
 * directory, or -errno. */
static int qmove_open(struct qmove *q)
{
        const char *uuid = q->req->uuid, *inst = q->cfg->instances_path;
        int r;

        if (!uuid_is_valid(uuid)) {
                set_message(q->detail, "'%s' is not a UUID", uuid);
                return -EINVAL;
        }
        q->ifd = open_instances(q->cfg, &q->iid, q->detail);
        if (q->ifd < 0)
                return q->ifd;
        q->ufd = openat(q->ifd, uuid, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (q->ufd < 0) {
                r = -errno;
                if (r == -ENOENT)
                        return 0;
                struct stat st;
                if (fstatat(q->ifd, uuid, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)) {
                        set_message(q->detail, "%s/%s is a symlink", inst, uuid);
                        return -ELOOP;
                }
                if (r == -ENOTDIR)
                        set_message(q->detail, "%s/%s is not a directory", inst, uuid);
                return r;
        }
        r = ident_at(q->ufd, "", &q->uid);
        if (r < 0) {
                if (r == -EOPNOTSUPP)
                        set_message(q->detail, "%s/%s: %s", inst, uuid, no_mount_id);
                return r;
        }
        if (!same_mount(&q->uid, &q->iid)) {
                set_message(q->detail, "%s/%s is a mount point", inst, uuid);
                return -EXDEV;
        }
        _cleanup_free_ char *below = NULL;
        r = mounts_below_fd(q->ufd, &below);
        if (r == -EBUSY)
                set_message(q->detail, "%s is a mount point", below ? below : "something below it");
        return r < 0 ? r : 1;
}

/* The directory may go: proven local, and the one expected. 0 or -errno. */
static int qmove_prove(struct qmove *q)
{
        const struct dir_ident *want = q->req->expect;
        int r = instdir_prove_local(q->cfg, q->ifd, q->ufd, q->req->uuid, q->detail);
        if (r < 0)
                return r;
        struct dir_ident have;
        r = dir_ident_fd(q->ufd, &have);
        if (r < 0)
                return r;
        if (want && !dir_ident_same(want, &have)) {
                set_message(q->detail, "%s/%s is not the directory expected (device %u:%u inode %llu born %lld.%09u, expected "
                           "%u:%u inode %llu born %lld.%09u): it was replaced since migkit checked or created it, and is not "
                           "migkit's to move", q->cfg->instances_path, q->req->uuid, major((dev_t)have.dev), minor((dev_t)have.dev),
                           have.ino, have.btime_s, have.btime_ns, major((dev_t)want->dev), minor((dev_t)want->dev), want->ino,
                           want->btime_s, want->btime_ns);
                return -ESTALE;
        }
        q->checked = have;
        return 0;
}

/* Renames <uuid> into the quarantine under a name its .info file, created
 * exclusively, reserves. 1 moved, 0 someone else moved it first, -errno. */
static int qmove_rename(struct qmove *q)
{
        const char *uuid = q->req->uuid;
        int r;

        for (int i = 0;; i++) {
                if (i >= 100)
                        return -EEXIST;
                if (i == 0)
                        snprintf(q->name, sizeof(q->name), "%s.%lld", uuid, (long long)q->now);
                else
                        snprintf(q->name, sizeof(q->name), "%s.%lld.%d", uuid, (long long)q->now, i);
                snprintf(q->info, sizeof(q->info), "%s.info", q->name);
                _cleanup_close_ int infofd = openat(q->qfd, q->info, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
                if (infofd < 0) {
                        if (errno == EEXIST)
                                continue;
                        return -errno;
                }
                r = write_info(infofd, q->cfg, uuid, q->name, q->now, q->req->reason, q->req->domain);
                if (r < 0) {
                        (void)unlinkat(q->qfd, q->info, 0);
                        return r;
                }
                if (renameat2(q->ifd, uuid, q->qfd, q->name, RENAME_NOREPLACE) == 0)
                        return 1;
                r = -errno;
                if (r == -EINVAL) {
                        /* A filesystem without RENAME_NOREPLACE; the name is
                         * reserved by the .info file, so a plain rename only
                         * races with another of us that chose the same name,
                         * which the .info file already prevents. */
                        struct stat st;
                        if (fstatat(q->qfd, q->name, &st, AT_SYMLINK_NOFOLLOW) == 0)
                                r = -EEXIST;
                        else if (renameat(q->ifd, uuid, q->qfd, q->name) == 0)
                                return 1;
                        else
                                r = -errno;
                }
                (void)unlinkat(q->qfd, q->info, 0);
                if (r == -EEXIST)
                        continue;
                if (r == -ENOENT)
                        return 0;
                if (r == -EXDEV || r == -EBUSY)
                        set_message(q->detail, "%s/%s is a mount point or on another filesystem", q->cfg->instances_path, uuid);
                return r;
        }
}

/* What was renamed must be what was checked: if <uuid> was replaced in
 * between, put the stranger back and give up. */
static int qmove_verify(struct qmove *q)
{
        struct ident moved;
        int r = ident_at(q->qfd, q->name, &moved);
        if (r < 0)
                return r;
        if (!same_inode(&moved, &q->uid)) {
                (void)renameat2(q->qfd, q->name, q->ifd, q->req->uuid, RENAME_NOREPLACE);
                (void)unlinkat(q->qfd, q->info, 0);
                set_message(q->detail, "%s/%s was replaced while it was being checked", q->cfg->instances_path, q->req->uuid);
                return -ESTALE;
        }
        (void)fsync(q->qfd);
        (void)fsync(q->ifd);
        return 0;
}

int quarantine_move(const struct mk_config *cfg, const struct quarantine_req *req, struct dir_ident *ret_id,
                    char **ret_path, char **ret_detail)
{
        struct qmove q = { .cfg = cfg, .req = req, .detail = ret_detail, .ifd = -1, .ufd = -1, .qfd = -1, .now = time(NULL) };
        bool dry = req->flags & QUARANTINE_DRY_RUN;
        int r;

        if (ret_path)
                *ret_path = NULL;
        if (ret_detail)
                *ret_detail = NULL;
        r = qmove_open(&q);
        if (r <= 0)
                goto out;
        r = qmove_prove(&q);
        if (r < 0)
                goto out;
        if (ret_id)
                *ret_id = q.checked;
        q.qfd = open_quarantine(q.ifd, &q.iid, !dry, ret_detail);
        if (q.qfd < 0 && !(dry && q.qfd == -ENOENT)) {
                r = q.qfd;
                goto out;
        }
        if (dry)
                snprintf(q.name, sizeof(q.name), "%s.%lld", req->uuid, (long long)q.now);
        else {
                r = qmove_rename(&q);
                if (r <= 0)
                        goto out;
                r = qmove_verify(&q);
                if (r < 0)
                        goto out;
        }
        if (ret_path && asprintf(ret_path, "%s/%s/%s", cfg->instances_path, QUARANTINE_DIR, q.name) < 0)
                *ret_path = NULL;
        r = 1;
out:
        qmove_done(&q);
        return r;
}

int quarantine_dir(const struct mk_config *cfg, const char *uuid, const char *reason, const char *domain,
                   int flags, char **ret_path, char **ret_detail)
{
        struct quarantine_req req = { .uuid = uuid, .reason = reason, .domain = domain, .flags = flags };
        return quarantine_move(cfg, &req, NULL, ret_path, ret_detail);
}

/* ---- rm_rf_children ------------------------------------------------------------ */

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

static int rm_children(struct rm_ctx *c, int dfd);

/* Unlinks a non-directory entry (a symlink is removed, never followed; a
 * file bind-mounted here gives EBUSY: left alone). 0 gone, 1 kept, or
 * -EISDIR when it turned out to be a directory. */
static int rm_file(struct rm_ctx *c, int dfd, const char *name)
{
        if (unlinkat(dfd, name, 0) == 0) {
                c->st->removed++;
                return 0;
        }
        if (errno == ENOENT)
                return 0;
        if (errno == EISDIR)
                return -EISDIR;
        rm_report(c, name, errno == EBUSY ? -EXDEV : -errno);
        return 1;
}

/* Opens the subdirectory name of dfd, checked to be the entry id just
 * looked at (same inode, same mount). The fd, -ENOENT (gone), or -1 after
 * reporting it kept. */
static int rm_open_subdir(struct rm_ctx *c, int dfd, const char *name, const struct ident *id)
{
        struct ident cid;
        if (c->depth >= RM_RF_MAX_DEPTH) {
                rm_report(c, name, -ELOOP);
                return -1;
        }
        int cfd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
        if (cfd < 0) {
                if (errno == ENOENT)
                        return -ENOENT;
                rm_report(c, name, -errno);
                return -1;
        }
        int r = ident_at(cfd, "", &cid);
        if (r < 0 || !same_inode(&cid, id)) {
                close(cfd);
                rm_report(c, name, r < 0 ? r : -ESTALE);
                return -1;
        }
        return cfd;
}

/* A directory entry (or one of unknown type): checked to be on the same
 * mount as the root before anything below it is touched, emptied
 * recursively, then removed. 0 gone, 1 kept. */
static int rm_entry(struct rm_ctx *c, int dfd, const char *name)
{
        struct ident id;
        int r = ident_at(dfd, name, &id);
        if (r == -ENOENT)
                return 0;
        if (r < 0 || !same_mount(&id, &c->root)) {
                rm_report(c, name, r < 0 ? r : -EXDEV); /* a mount point: nothing under it is ours */
                return 1;
        }
        if (!S_ISDIR(id.mode)) {
                r = rm_file(c, dfd, name);
                if (r == -EISDIR)
                        rm_report(c, name, -ESTALE); /* changed type again */
                return r != 0;
        }
        int cfd = rm_open_subdir(c, dfd, name, &id);
        if (cfd == -ENOENT)
                return 0;
        if (cfd < 0)
                return 1;
        size_t len = strlen(c->path);
        if (len + 1 + strlen(name) >= sizeof(c->path)) {
                close(cfd);
                rm_report(c, name, -ENAMETOOLONG);
                return 1;
        }
        snprintf(c->path + len, sizeof(c->path) - len, "/%s", name);
        c->depth++;
        r = rm_children(c, cfd);
        c->depth--;
        c->path[len] = 0;
        close(cfd);
        if (r > 0)
                return 1; /* not empty: leave the directory too */
        if (unlinkat(dfd, name, AT_REMOVEDIR) == 0) {
                c->st->removed++;
                return 0;
        }
        if (errno == ENOENT)
                return 0;
        rm_report(c, name, errno == EBUSY ? -EXDEV : -errno);
        return 1;
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
                int r = de->d_type != DT_DIR && de->d_type != DT_UNKNOWN ? rm_file(c, dirfd(d), name) : -EISDIR;
                if (r == -EISDIR) /* a directory, of unknown type, or changed type meanwhile */
                        r = rm_entry(c, dirfd(d), name);
                kept |= r > 0;
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

/* Empties and removes the directory entry name of qfd (id its identity).
 * 0 removed, -ENOENT gone already, 1 something kept (reported), or -errno
 * for the entry itself. */
static int purge_dir(int qfd, const struct ident *id, const char *name, kept_fn kept, void *userdata,
                     struct purge_stats *st)
{
        struct ident cid;
        struct rm_rf_stats rs = { 0 };
        _cleanup_close_ int cfd = openat(qfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
        if (cfd < 0)
                return -errno;
        int r = ident_at(cfd, "", &cid);
        if (r == 0 && !same_inode(&cid, id))
                r = -ESTALE;
        if (r == 0)
                r = rm_rf_children(cfd, name, kept, userdata, &rs);
        st->files += rs.removed;
        if (r != 0)
                return r; /* > 0: each thing kept was reported */
        if (unlinkat(qfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
                return errno == EBUSY ? -EXDEV : -errno;
        return 0;
}

/* Removes one due entry of the quarantine qfd (qid its identity): a
 * directory (purge_dir) or a file. 0 removed, -ENOENT gone already, 1
 * something kept (reported). */
static int purge_entry(int qfd, const struct ident *qid, const char *name, kept_fn kept, void *userdata,
                       struct purge_stats *st)
{
        struct ident id;
        int r = ident_at(qfd, name, &id);
        if (r == -ENOENT)
                return r;
        if (r == 0 && !same_mount(&id, qid))
                r = -EXDEV;
        else if (r == 0 && S_ISDIR(id.mode))
                r = purge_dir(qfd, &id, name, kept, userdata, st);
        else if (r == 0 && unlinkat(qfd, name, 0) < 0 && errno != ENOENT)
                r = errno == EBUSY ? -EXDEV : -errno;
        if (r >= 0 || r == -ENOENT)
                return r;
        if (kept)
                kept(userdata, name, r);
        return 1;
}

static bool due(time_t t, time_t now, unsigned long retention_s)
{
        return t <= now && (unsigned long long)(now - t) >= retention_s;
}

/* Opens the quarantine for a purge: the instances path proven local to
 * this host (instdir_prove_local: a shared quarantine is not this host's
 * alone to empty), the quarantine a private directory of ours on its
 * mount. The quarantine fd with *qid, -ENOENT when there is none, -errno. */
static int purge_open(const struct mk_config *cfg, struct ident *qid)
{
        struct ident iid;
        _cleanup_free_ char *detail = NULL;
        _cleanup_close_ int ifd = open_instances(cfg, &iid, NULL);
        if (ifd < 0)
                return ifd;
        int r = instdir_prove_local(cfg, ifd, -1, NULL, &detail);
        if (r < 0)
                return r;
        _cleanup_close_ int qfd = open_quarantine(ifd, &iid, false, NULL);
        if (qfd < 0)
                return qfd;
        r = ident_at(qfd, "", qid);
        return r < 0 ? r : TAKE_FD(qfd);
}

int quarantine_purge(const struct mk_config *cfg, unsigned long retention_s, time_t now, bool dry_run,
                     kept_fn kept, void *userdata, struct purge_stats *st)
{
        struct purge_stats dummy;
        struct ident qid;
        bool any_kept = false;
        int r;

        if (!st)
                st = &dummy;
        memset(st, 0, sizeof(*st));
        _cleanup_close_ int qfd = purge_open(cfg, &qid);
        if (qfd == -ENOENT)
                return 0;
        if (qfd < 0)
                return qfd;
        _cleanup_strv_ char **names = NULL;
        r = list_names(qfd, &names);
        if (r < 0)
                return r;

        for (size_t i = 0; names[i]; i++) {
                const char *name = names[i];
                char base[NAME_MAX + 1], info[NAME_MAX + 1];
                time_t t;

                if (is_info_name(name, base, sizeof(base))) {
                        /* An orphan: its entry is gone (purge killed between
                         * the two unlinks) or was never moved there. */
                        struct stat bst;
                        if (quarantine_parse_name(base, NULL, &t) && due(t, now, retention_s) &&
                            fstatat(qfd, base, &bst, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT && !dry_run)
                                (void)unlinkat(qfd, name, 0);
                        continue;
                }
                if (!quarantine_parse_name(name, NULL, &t))
                        continue; /* not ours: never touched */
                if (!due(t, now, retention_s)) {
                        st->young++;
                        continue;
                }
                if (dry_run) {
                        st->purged++;
                        continue;
                }
                r = purge_entry(qfd, &qid, name, kept, userdata, st);
                if (r == -ENOENT)
                        continue;
                if (r > 0) {
                        st->kept++;
                        any_kept = true;
                        continue;
                }
                st->purged++;
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
