/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "mountinfo.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>

#include "util.h"
#include "validate.h"

int mount_id_from_handle(int dfd, const char *name, uint64_t *ret)
{
        /* The handle itself is not wanted, but the kernel reports the mount
         * id only along with a handle that fits. */
        union {
                struct file_handle fh;
                char buf[sizeof(struct file_handle) + MAX_HANDLE_SZ];
        } h = { .fh.handle_bytes = MAX_HANDLE_SZ };
        int mnt_id;
        if (name_to_handle_at(dfd, name, &h.fh, &mnt_id, *name ? 0 : AT_EMPTY_PATH) < 0)
                return errno == ENOSYS || errno == EOPNOTSUPP || errno == EOVERFLOW ? -EOPNOTSUPP : -errno;
        *ret = (uint64_t)(unsigned)mnt_id;
        return MOUNT_ID_HANDLE;
}

int mount_id_at(int dfd, const char *name, uint64_t *ret)
{
        struct statx sx;
        int flags = AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | (*name ? 0 : AT_EMPTY_PATH);

        if (statx(dfd, name, flags, STATX_MNT_ID, &sx) < 0)
                return -errno;
        if (sx.stx_mask & STATX_MNT_ID) {
                *ret = sx.stx_mnt_id;
                return MOUNT_ID_STATX;
        }
        return mount_id_from_handle(dfd, name, ret); /* before Linux 5.8 */
}

const char *mount_id_source_name(int source)
{
        return source == MOUNT_ID_STATX ? "statx" : source == MOUNT_ID_HANDLE ? "name_to_handle_at" : "?";
}

/* Undoes the octal escapes (\040 for a blank, ...) of a field in place. */
static void unescape(char *s)
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

static int parse_u64(const char *s, uint64_t *ret)
{
        char *end;
        errno = 0;
        unsigned long long v = strtoull(s, &end, 10);
        if (errno || end == s || *end || *s == '-')
                return -EBADMSG;
        *ret = v;
        return 0;
}

int mountinfo_parse_line(char *line, struct mount_entry *ret)
{
        /* id parent major:minor root target options [optional...] - fstype source superoptions */
        char *f[6], *save = NULL;
        memset(ret, 0, sizeof(*ret));
        line[strcspn(line, "\n")] = 0;
        for (size_t i = 0; i < ARRAY_SIZE(f); i++)
                if (!(f[i] = strtok_r(i ? NULL : line, " ", &save)))
                        return -EBADMSG;
        char *t;
        while ((t = strtok_r(NULL, " ", &save)) && !streq(t, "-"))
                ; /* optional fields: shared:N, master:N, ... */
        if (!t)
                return -EBADMSG;
        char *fstype = strtok_r(NULL, " ", &save), *source = strtok_r(NULL, " ", &save);
        if (!fstype)
                return -EBADMSG;
        if (parse_u64(f[0], &ret->id) < 0 || parse_u64(f[1], &ret->parent) < 0 ||
            sscanf(f[2], "%u:%u", &ret->major, &ret->minor) != 2)
                return -EBADMSG;
        unescape(f[3]);
        unescape(f[4]);
        unescape(fstype);
        if (source)
                unescape(source);
        ret->root = f[3];
        ret->target = f[4];
        ret->fstype = fstype;
        ret->source = source;
        return 0;
}

int mountinfo_find(const char *file, uint64_t id, struct mount_entry *ret)
{
        _cleanup_fclose_ FILE *f = fopen(file, "re");
        _cleanup_free_ char *line = NULL;
        size_t cap = 0;
        char prefix[32];

        memset(ret, 0, sizeof(*ret));
        if (!f)
                return -errno;
        int plen = snprintf(prefix, sizeof(prefix), "%llu ", (unsigned long long)id);
        while (getline(&line, &cap, f) > 0) {
                if (strncmp(line, prefix, (size_t)plen) != 0)
                        continue;
                struct mount_entry e;
                if (mountinfo_parse_line(line, &e) < 0 || e.id != id)
                        return -EBADMSG;
                *ret = (struct mount_entry) {
                        .id = e.id, .parent = e.parent, .major = e.major, .minor = e.minor,
                        .root = strdup(e.root), .target = strdup(e.target), .fstype = strdup(e.fstype),
                        .source = strdup(e.source ? e.source : "none"),
                };
                if (!ret->root || !ret->target || !ret->fstype || !ret->source) {
                        mount_entry_done(ret);
                        return -ENOMEM;
                }
                return 0;
        }
        return ferror(f) ? -EIO : -ENOENT;
}

void mount_entry_done(struct mount_entry *e)
{
        free(e->root);
        free(e->target);
        free(e->fstype);
        free(e->source);
        memset(e, 0, sizeof(*e));
}

int mounts_below_fd(int fd, char **ret_target)
{
        char proc[64], path[PATH_MAX];
        _cleanup_fclose_ FILE *f = NULL;
        _cleanup_free_ char *line = NULL;
        size_t cap = 0;

        if (ret_target)
                *ret_target = NULL;
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
                struct mount_entry e;
                if (mountinfo_parse_line(line, &e) < 0)
                        continue;
                if (path_below(e.target, path)) {
                        if (ret_target && !(*ret_target = strdup(e.target)))
                                return -ENOMEM;
                        return -EBUSY;
                }
        }
        return ferror(f) ? -EIO : 0;
}
