/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "hostmark.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>

#include "util.h"
#include "validate.h"

#define CONF_MAX (1 << 20)
#define MARK_MAX 4096
#define TMP_INFIX ".tmp."

/* ---- this host's id ------------------------------------------------------- */

/* host_uuid = "..." in a libvirt daemon config file (libvirt's own syntax:
 * a key, '=', a double-quoted string; '#' starts a comment). 1 found, 0 not. */
static int conf_host_uuid(const char *file, char *ret, size_t size)
{
        _cleanup_free_ char *text = NULL;
        if (read_full_file(file, CONF_MAX, &text) < 0)
                return 0;
        /* Only the few places naming the key are looked at (the file is
         * mostly comments): the hook does this at every migration. */
        for (char *k = strstr(text, "host_uuid"); k; k = strstr(k + 1, "host_uuid")) {
                char *line = k;
                while (line > text && (line[-1] == ' ' || line[-1] == '\t'))
                        line--;
                if (line > text && line[-1] != '\n')
                        continue; /* a comment, or another key's value */
                char *p = k + 9;
                p += strspn(p, " \t");
                if (*p++ != '=')
                        continue;
                p += strspn(p, " \t");
                if (*p++ != '"')
                        continue;
                size_t n = strcspn(p, "\"\n");
                if (p[n] != '"' || n != 36 || n >= size)
                        continue;
                memcpy(ret, p, n);
                ret[n] = 0;
                if (!uuid_is_valid(ret))
                        continue;
                ascii_strlower(ret);
                return 1;
        }
        *ret = 0;
        return 0;
}

static bool is_machine_id(const char *s)
{
        size_t n = strspn(s, "0123456789abcdefABCDEF");
        return n == 32 && s[n] == 0 && strspn(s, "0") != 32;
}

int host_id_get(const struct mk_config *cfg, struct host_id *ret)
{
        static const char *const daemons[] = { "libvirtd.conf", "virtqemud.conf" };
        memset(ret, 0, sizeof(*ret));
        for (size_t i = 0; i < ARRAY_SIZE(daemons); i++) {
                _cleanup_free_ char *f = path_join(cfg->libvirt_conf_dir, daemons[i]);
                if (!f)
                        return -ENOMEM;
                if (conf_host_uuid(f, ret->id, sizeof(ret->id)) > 0) {
                        snprintf(ret->source, sizeof(ret->source), "host_uuid in %s", f);
                        return 0;
                }
        }
        _cleanup_free_ char *text = NULL;
        ssize_t n = read_full_file(cfg->machine_id_file, 4096, &text);
        if (n < 0)
                return n == -ENOENT ? -ENODATA : (int)n;
        text[strcspn(text, "\n")] = 0;
        if (!is_machine_id(text))
                return -ENODATA;
        snprintf(ret->id, sizeof(ret->id), "%s", text);
        ascii_strlower(ret->id);
        snprintf(ret->source, sizeof(ret->source), "%s", cfg->machine_id_file);
        return 0;
}

/* ---- writing -------------------------------------------------------------- */

static bool fresh(const struct stat *st, time_t now)
{
        return S_ISREG(st->st_mode) && st->st_mtime <= now + 60 && now - st->st_mtime < HOSTMARK_REFRESH_S;
}

int hostmark_touch(int dfd, const struct host_id *self, time_t now)
{
        char name[sizeof(HOSTMARK_PREFIX) + sizeof(self->id)], tmp[sizeof(name) + 32];
        _cleanup_free_ char *text = NULL;
        char host[256] = "";
        struct stat st;

        snprintf(name, sizeof(name), HOSTMARK_PREFIX "%s", self->id);
        if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && fresh(&st, now))
                return 0;
        (void)gethostname(host, sizeof(host) - 1);
        for (char *p = host; *p; p++)
                if ((unsigned char)*p <= ' ' || *p == 0x7f)
                        *p = '?';
        int n = asprintf(&text, "migkit-host 1\nid %s\nsource %s\nhostname %s\ntime %lld\n", self->id, self->source,
                         *host ? host : "?", (long long)now);
        if (n < 0) {
                text = NULL;
                return -ENOMEM;
        }
        snprintf(tmp, sizeof(tmp), "%s" TMP_INFIX "%d", name, (int)getpid());
        _cleanup_close_ int fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0)
                return -errno;
        int r = write_all(fd, text, (size_t)n);
        if (r == 0 && fchmod(fd, 0644) < 0)
                r = -errno;
        if (r == 0 && renameat(dfd, tmp, dfd, name) < 0)
                r = -errno;
        if (r < 0)
                (void)unlinkat(dfd, tmp, 0);
        return r < 0 ? r : 1;
}

static int open_dir(const char *path)
{
        int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        return fd < 0 ? -errno : fd;
}

int hostmark_touch_root(const struct mk_config *cfg, const struct host_id *self, time_t now)
{
        _cleanup_close_ int fd = open_dir(cfg->instances_path);
        if (fd < 0)
                return fd;
        return hostmark_touch(fd, self, now);
}

int hostmark_touch_guest(const struct mk_config *cfg, const struct host_id *self, const char *uuid, time_t now)
{
        if (!uuid_is_valid(uuid))
                return -EINVAL;
        _cleanup_close_ int root = open_dir(cfg->instances_path);
        if (root < 0)
                return root;
        _cleanup_close_ int fd = openat(root, uuid, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0 && errno != ENOENT)
                return -errno;
        return hostmark_touch(fd >= 0 ? fd : root, self, now);
}

int hostmark_touch_here(const struct mk_config *cfg)
{
        struct host_id self;
        int r = host_id_get(cfg, &self);
        return r < 0 ? r : hostmark_touch_root(cfg, &self, time(NULL));
}

/* ---- reading -------------------------------------------------------------- */

void hostmark_done(struct hostmark *m)
{
        free(m->file);
        free(m->id);
        free(m->hostname);
        free(m->source);
        memset(m, 0, sizeof(*m));
}

void hostmark_list_free(struct hostmark *l, int n)
{
        for (int i = 0; l && i < n; i++)
                hostmark_done(&l[i]);
        free(l);
}

static int mark_line(const char *key, const char *val, void *userdata)
{
        struct hostmark *m = userdata;
        if (streq(key, "hostname") && !m->hostname)
                return (m->hostname = strdup(val)) ? 0 : -ENOMEM;
        if (streq(key, "source") && !m->source)
                return (m->source = strdup(val)) ? 0 : -ENOMEM;
        if (streq(key, "time")) {
                long long t = strtoll(val, NULL, 10);
                if (t > 0)
                        m->time = (time_t)t;
        }
        return 0;
}

/* Fills m from the file name in dfd. Unreadable content leaves hostname
 * NULL: the mark still counts (its name says whose it is). */
static int mark_load(int dfd, const char *name, const struct host_id *self, struct hostmark *m)
{
        struct stat st;
        memset(m, 0, sizeof(*m));
        if (!(m->file = strdup(name)) || !(m->id = strdup(name + strlen(HOSTMARK_PREFIX))))
                return -ENOMEM;
        m->self = self && *self->id && streq(m->id, self->id);
        _cleanup_close_ int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
        if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
                return 0;
        m->time = st.st_mtime;
        _cleanup_free_ char *text = NULL;
        if (read_full_fd(fd, MARK_MAX, &text) < 0)
                return 0;
        int r = kv_parse(text, "migkit-host", "1", mark_line, m);
        if (r == -ENOMEM)
                return r;
        /* This host's id written by a host of another name: two hosts
         * share an id (a cloned machine id). Not ours, then. */
        char host[256] = "";
        (void)gethostname(host, sizeof(host) - 1);
        if (m->self && m->hostname && *host && !streq(m->hostname, host))
                m->self = false;
        return 0;
}

static bool is_mark_name(const char *name)
{
        return strncmp(name, HOSTMARK_PREFIX, strlen(HOSTMARK_PREFIX)) == 0 && name[strlen(HOSTMARK_PREFIX)] &&
               !strstr(name, TMP_INFIX);
}

static int name_cmp(const void *a, const void *b)
{
        return strcmp(((const struct hostmark *)a)->file, ((const struct hostmark *)b)->file);
}

int hostmark_list(int dfd, const struct host_id *self, struct hostmark **ret)
{
        struct hostmark *l = NULL;
        struct dirent *de;
        int n = 0, r = 0;

        *ret = NULL;
        int fd = fcntl(dfd, F_DUPFD_CLOEXEC, 3);
        DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
        if (!d) {
                r = -errno;
                if (fd >= 0)
                        close(fd);
                return r;
        }
        rewinddir(d);
        while ((errno = 0, de = readdir(d))) {
                if (!is_mark_name(de->d_name))
                        continue;
                struct hostmark *nl = realloc(l, (size_t)(n + 1) * sizeof(*l));
                if (!nl) {
                        r = -ENOMEM;
                        break;
                }
                l = nl;
                r = mark_load(dirfd(d), de->d_name, self, &l[n]);
                n++;
                if (r < 0)
                        break;
        }
        if (r == 0 && errno)
                r = -errno;
        closedir(d);
        if (r < 0) {
                hostmark_list_free(l, n);
                return r;
        }
        if (n > 1)
                qsort(l, (size_t)n, sizeof(*l), name_cmp);
        *ret = l;
        return n;
}

int hostmark_foreign(int dfd, const struct host_id *self, struct hostmark *ret)
{
        struct hostmark *l;
        memset(ret, 0, sizeof(*ret));
        int n = hostmark_list(dfd, self, &l);
        if (n < 0)
                return n;
        int found = 0;
        for (int i = 0; i < n && !found; i++)
                if (!l[i].self) {
                        *ret = l[i];
                        memset(&l[i], 0, sizeof(l[i]));
                        found = 1;
                }
        hostmark_list_free(l, n);
        return found;
}

const char *hostmark_describe(const struct hostmark *m, time_t now, char *buf, size_t size)
{
        long long age = m->time ? (long long)(now - m->time) : -1;
        char when[48];
        if (age < 0)
                snprintf(when, sizeof(when), "at an unknown time");
        else if (age < 120)
                snprintf(when, sizeof(when), "%llds ago", age);
        else if (age < 7200)
                snprintf(when, sizeof(when), "%lldmin ago", age / 60);
        else if (age < 172800)
                snprintf(when, sizeof(when), "%lldh ago", age / 3600);
        else
                snprintf(when, sizeof(when), "%lldd ago", age / 86400);
        snprintf(buf, size, "%s (id %s, marked %s)", m->hostname ? m->hostname : "an unknown host", m->id, when);
        return buf;
}
