/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "quarantine.h"

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>

#include "quarantine-priv.h"
#include "util.h"
#include "validate.h"

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

/* The names in the quarantine fd (a copy of the fd is read). fd may be
 * what opening it returned: -ENOENT (no quarantine) gives 0 and no list
 * (*ret NULL), another -errno is returned. */
static int list_names(int fd, char ***ret)
{
        *ret = NULL;
        if (fd == -ENOENT)
                return 0;
        if (fd < 0)
                return fd;

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
        _cleanup_strv_ char **names = NULL;
        r = list_names(qfd, &names);
        if (r < 0 || !names)
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
        _cleanup_strv_ char **names = NULL;
        r = list_names(qfd, &names);
        if (r < 0 || !names)
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
