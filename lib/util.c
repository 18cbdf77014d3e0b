/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "util.h"

#include <ctype.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <limits.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/stat.h>

void strv_free(char **l)
{
        if (!l)
                return;
        for (char **p = l; *p; p++)
                free(*p);
        free(l);
}

size_t strv_length(char *const *l)
{
        size_t n = 0;
        while (l && l[n])
                n++;
        return n;
}

int strv_push(char ***l, const char *s)
{
        size_t n = strv_length(*l);
        char **nl = realloc(*l, (n + 2) * sizeof(char *));
        if (!nl)
                return -ENOMEM;
        *l = nl;
        nl[n] = strdup(s);
        if (!nl[n])
                return -ENOMEM;
        nl[n + 1] = NULL;
        return 0;
}

bool strv_contains(char *const *l, const char *s)
{
        for (size_t i = 0; l && l[i]; i++)
                if (streq(l[i], s))
                        return true;
        return false;
}

int strv_push_unique(char ***l, const char *s)
{
        return strv_contains(*l, s) ? 0 : strv_push(l, s);
}

void strv_remove(char **l, const char *s)
{
        size_t i, j;
        for (i = j = 0; l && l[i]; i++) {
                if (streq(l[i], s))
                        free(l[i]);
                else
                        l[j++] = l[i];
        }
        if (l)
                l[j] = NULL;
}

int strv_split(char ***ret, const char *s)
{
        _cleanup_strv_ char **l = calloc(1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        while (*s) {
                size_t skip = strspn(s, ", \t\n");
                s += skip;
                size_t len = strcspn(s, ", \t\n");
                if (len == 0)
                        break;
                _cleanup_free_ char *w = strndup(s, len);
                if (!w || strv_push(&l, w) < 0)
                        return -ENOMEM;
                s += len;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

char *strdup_vprintf(const char *fmt, va_list ap)
{
        char *s;
        if (vasprintf(&s, fmt, ap) < 0)
                return NULL;
        return s;
}

char *strv_join(char *const *l, const char *sep)
{
        size_t len = 1, sl = strlen(sep);
        for (size_t i = 0; l && l[i]; i++)
                len += strlen(l[i]) + sl;
        char *r = malloc(len), *p = r;
        if (!r)
                return NULL;
        *p = 0;
        for (size_t i = 0; l && l[i]; i++) {
                if (i > 0)
                        p = stpcpy(p, sep);
                p = stpcpy(p, l[i]);
        }
        return r;
}

bool strv_fnmatch(char *const *l, const char *name)
{
        for (size_t i = 0; l && l[i]; i++)
                if (fnmatch(l[i], name, 0) == 0)
                        return true;
        return false;
}

void ascii_strlower(char *s)
{
        for (; *s; s++)
                *s = (char)tolower((unsigned char)*s);
}

static void vset_message(char **ret, const char *fmt, va_list ap)
{
        if (!ret)
                return;
        free(*ret);
        *ret = strdup_vprintf(fmt, ap);
}

void set_message(char **ret, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        vset_message(ret, fmt, ap);
        va_end(ap);
}

int fail_message(char **ret, int code, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        vset_message(ret, fmt, ap);
        va_end(ap);
        return code;
}

char *xml_escape(const char *s)
{
        size_t n = 1;
        for (const char *p = s; *p; p++)
                n += *p == '&' ? 5 : *p == '<' || *p == '>' ? 4 : *p == '\'' || *p == '"' ? 6 : 1;
        char *r = malloc(n), *w = r;
        if (!r)
                return NULL;
        for (const char *p = s; *p; p++) {
                const char *e = *p == '&' ? "&amp;" : *p == '<' ? "&lt;" : *p == '>' ? "&gt;" : *p == '\'' ? "&apos;"
                              : *p == '"' ? "&quot;" : NULL;
                if (e)
                        w = stpcpy(w, e);
                else
                        *w++ = *p;
        }
        *w = 0;
        return r;
}

char *path_join(const char *dir, const char *name)
{
        size_t dl = strlen(dir);
        while (dl > 1 && dir[dl - 1] == '/')
                dl--;
        while (*name == '/')
                name++;
        char *r = malloc(dl + strlen(name) + 2);
        if (!r)
                return NULL;
        memcpy(r, dir, dl);
        r[dl] = '/';
        strcpy(r + dl + (dl == 1 && dir[0] == '/' ? 0 : 1), name);
        return r;
}

bool file_present(const char *dir, const char *name)
{
        _cleanup_free_ char *p = path_join(dir, name);
        struct stat st;
        return p && stat(p, &st) == 0;
}

int read_one_line(const char *dir, const char *name, char *buf, size_t size)
{
        _cleanup_free_ char *p = path_join(dir, name), *text = NULL;
        if (!p)
                return -ENOMEM;
        ssize_t n = read_full_file(p, 4096, &text);
        if (n < 0)
                return (int)n;
        text[strcspn(text, "\n")] = '\0';
        if (strlen(text) >= size)
                return -EBADMSG;
        strcpy(buf, text);
        return 0;
}

int dir_list(const char *dir, char ***ret)
{
        _cleanup_strv_ char **l = NULL;
        struct dirent **names = NULL;
        int n = scandir(dir, &names, NULL, alphasort), r = 0;

        *ret = NULL;
        if (n < 0)
                return errno == ENOENT ? 0 : -errno;
        for (int i = 0; i < n; i++) {
                if (r == 0 && names[i]->d_name[0] != '.')
                        r = strv_push(&l, names[i]->d_name);
                free(names[i]);
        }
        free(names);
        if (r == 0)
                *ret = TAKE_PTR(l);
        return r;
}

ssize_t read_full_fd(int fd, size_t max, char **ret)
{
        size_t cap = 8192, len = 0;
        _cleanup_free_ char *buf = malloc(cap);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                if (len + 1 >= cap) {
                        if (cap > max + 1) /* already read more than max */
                                return -EFBIG;
                        cap *= 2;
                        char *nb = realloc(buf, cap);
                        if (!nb)
                                return -ENOMEM;
                        buf = nb;
                }
                ssize_t n = read(fd, buf + len, cap - len - 1);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                len += (size_t)n;
                if (len > max)
                        return -EFBIG;
        }
        buf[len] = 0;
        *ret = TAKE_PTR(buf);
        return (ssize_t)len;
}

ssize_t read_full_file(const char *path, size_t max, char **ret)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        struct stat st;
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EINVAL;
        return read_full_fd(fd, max, ret);
}

int write_all(int fd, const void *buf, size_t len)
{
        const char *p = buf;
        while (len > 0) {
                ssize_t n = write(fd, p, len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += n;
                len -= (size_t)n;
        }
        return 0;
}

int write_file_atomic(const char *dir, const char *name, const char *data, size_t len, mode_t mode, int flags)
{
        _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        char tmp[NAME_MAX + 1];
        int r;

        if (dfd < 0)
                return -errno;
        if ((size_t)snprintf(tmp, sizeof(tmp), ".#%s.%ld", name, (long)getpid()) >= sizeof(tmp))
                return -ENAMETOOLONG;
        (void)unlinkat(dfd, tmp, 0);
        _cleanup_close_ int fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
        if (fd < 0)
                return -errno;
        r = write_all(fd, data, len);
        if (r == 0 && fchmod(fd, mode) < 0)
                r = -errno;
        if (r == 0 && (flags & WRITE_DURABLE) && fsync(fd) < 0)
                r = -errno;
        if (r == 0 && renameat(dfd, tmp, dfd, name) < 0)
                r = -errno;
        if (r < 0) {
                (void)unlinkat(dfd, tmp, 0);
                return r;
        }
        if (flags & WRITE_DURABLE)
                (void)fsync(dfd);
        return 0;
}

int kv_parse(char *text, const char *magic, const char *version,
             int (*cb)(const char *key, const char *value, void *userdata), void *userdata)
{
        char *save = NULL;
        bool header = false;
        for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char *val = strchr(line, ' ');
                if (!val)
                        return -EBADMSG;
                *val++ = 0;
                if (!header) {
                        if (!streq(line, magic) || !streq(val, version))
                                return -EBADMSG;
                        header = true;
                        continue;
                }
                int r = cb(line, val, userdata);
                if (r < 0)
                        return r;
        }
        return header ? 0 : -EBADMSG;
}

int mkdir_p(const char *path, mode_t mode)
{
        /* Usually only the last component is missing, if any. */
        if (mkdir(path, mode) == 0 || errno == EEXIST)
                return 0;
        if (errno != ENOENT)
                return -errno;
        _cleanup_free_ char *p = strdup(path);
        if (!p)
                return -ENOMEM;
        for (char *s = p + 1; *s; s++) {
                if (*s != '/')
                        continue;
                *s = 0;
                if (mkdir(p, mode) < 0 && errno != EEXIST)
                        return -errno;
                *s = '/';
        }
        if (mkdir(p, mode) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

int dl_open_syms(const char *soname, const struct dl_sym *syms, void **ret)
{
        void *h = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
        if (!h)
                return -ELIBACC;
        for (const struct dl_sym *s = syms; s->name; s++)
                if (!(*s->slot = dlsym(h, s->name))) {
                        dlclose(h);
                        return -ELIBBAD;
                }
        *ret = h;
        return 0;
}
