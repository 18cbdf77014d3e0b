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
#include "quarantine-priv.h"
#include "mountinfo.h"
#include "util.h"
#include "validate.h"

int ident_at(int dfd, const char *name, struct ident *id)
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

bool same_mount(const struct ident *a, const struct ident *b)
{
        return a->dev == b->dev && a->mnt_id == b->mnt_id;
}

bool same_inode(const struct ident *a, const struct ident *b)
{
        return a->ino == b->ino && same_mount(a, b);
}

const char no_mount_id[] = "the kernel tells no mount id (no statx STATX_MNT_ID before Linux 5.8, and "
                           "name_to_handle_at is not supported there): a bind mount could not be told";

/* Nothing is decided about the instances path's filesystem here. */
int open_instances(const struct mk_config *cfg, struct ident *id, char **detail)
{
        _cleanup_close_ int fd = instances_open(cfg, detail);
        if (fd < 0)
                return fd;
        int r = ident_at(fd, "", id);
        if (r == -EOPNOTSUPP)
                set_message(detail, "%s: %s", cfg->instances_path, no_mount_id);
        return r < 0 ? r : TAKE_FD(fd);
}

int open_quarantine(int ifd, const struct ident *iid, bool create, char **detail)
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
        else if (r < 0)
                set_message(q->detail, "cannot tell whether anything is mounted below %s/%s: %s", inst, uuid,
                            mountinfo_strerror(r));
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

