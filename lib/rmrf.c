/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "quarantine.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>

#include "quarantine-priv.h"
#include "util.h"
#include "validate.h"

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
