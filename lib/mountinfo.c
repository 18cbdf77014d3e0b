/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "mountinfo.h"

#include <fcntl.h>
#include <libmount.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

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

/* libmount and what it pulls in (libblkid, libselinux, libpcre2) cost more
 * to load and relocate than everything else the hook does, and most calls
 * never read the mount table (a local filesystem is told by statfs alone):
 * libmount is loaded when the table must really be read. The header is
 * included for its types only. */
static struct {
        void *handle;
        struct libmnt_table *(*new_table)(void);
        void (*unref_table)(struct libmnt_table *);
        int (*set_errcb)(struct libmnt_table *, int (*)(struct libmnt_table *, const char *, int));
        int (*set_userdata)(struct libmnt_table *, void *);
        void *(*get_userdata)(struct libmnt_table *);
        int (*parse_file)(struct libmnt_table *, const char *);
        struct libmnt_iter *(*new_iter)(int);
        void (*free_iter)(struct libmnt_iter *);
        void (*reset_iter)(struct libmnt_iter *, int);
        int (*next_fs)(struct libmnt_table *, struct libmnt_iter *, struct libmnt_fs **);
        int (*get_nents)(struct libmnt_table *);
        int (*is_kernel)(struct libmnt_fs *);
        int (*get_id)(struct libmnt_fs *);
        int (*get_parent_id)(struct libmnt_fs *);
        dev_t (*get_devno)(struct libmnt_fs *);
        const char *(*get_root)(struct libmnt_fs *);
        const char *(*get_target)(struct libmnt_fs *);
        const char *(*get_fstype)(struct libmnt_fs *);
        const char *(*get_source)(struct libmnt_fs *);
} mnt;

static int mnt_load(void)
{
        if (mnt.handle)
                return 0;
#define SYM(field, name) { name, (void **)&mnt.field }
        static const struct dl_sym syms[] = {
                SYM(new_table, "mnt_new_table"),
                SYM(unref_table, "mnt_unref_table"),
                SYM(set_errcb, "mnt_table_set_parser_errcb"),
                SYM(set_userdata, "mnt_table_set_userdata"),
                SYM(get_userdata, "mnt_table_get_userdata"),
                SYM(parse_file, "mnt_table_parse_file"),
                SYM(new_iter, "mnt_new_iter"),
                SYM(free_iter, "mnt_free_iter"),
                SYM(reset_iter, "mnt_reset_iter"),
                SYM(next_fs, "mnt_table_next_fs"),
                SYM(get_nents, "mnt_table_get_nents"),
                SYM(is_kernel, "mnt_fs_is_kernel"),
                SYM(get_id, "mnt_fs_get_id"),
                SYM(get_parent_id, "mnt_fs_get_parent_id"),
                SYM(get_devno, "mnt_fs_get_devno"),
                SYM(get_root, "mnt_fs_get_root"),
                SYM(get_target, "mnt_fs_get_target"),
                SYM(get_fstype, "mnt_fs_get_fstype"),
                SYM(get_source, "mnt_fs_get_source"),
                {},
        };
#undef SYM
        return dl_open_syms("libmount.so.1", syms, &mnt.handle);
}

static void mnt_unref_tablep(struct libmnt_table **t) { if (*t) mnt.unref_table(*t); }
static void mnt_free_iterp(struct libmnt_iter **i) { if (*i) mnt.free_iter(*i); }
#define _cleanup_table_ _cleanup_(mnt_unref_tablep)
#define _cleanup_iter_ _cleanup_(mnt_free_iterp)

const char *mountinfo_strerror(int r)
{
        switch (r) {
        case -ELIBACC: return "libmount (libmount.so.1, from util-linux) cannot be loaded: install libmount1 "
                              "(Debian, Ubuntu) or libmount (Fedora, RHEL)";
        case -ELIBBAD: return "libmount.so.1 lacks a function migkit needs: install a newer libmount (util-linux)";
        case -EBADMSG: return "the mount table has a line libmount cannot parse as mountinfo(5), so it cannot be trusted";
        default: return strerror(-r);
        }
}

/* libmount skips a line it cannot parse and reads on, unless told
 * otherwise: a mount missing from the table could hide the very mount that
 * decides, so any such line fails the whole read. */
static int parse_error(struct libmnt_table *tb, const char *file, int line)
{
        int *bad = mnt.get_userdata(tb);
        if (!*bad)
                *bad = line;
        return 1; /* read on; the caller fails */
}

static int cmp_int(const void *a, const void *b)
{
        int x = *(const int *)a, y = *(const int *)b;
        return x < y ? -1 : x > y;
}

/* The table of file and a forward iterator over it, or -errno: -EBADMSG
 * when a line is not a mountinfo line (libmount guesses the format from the
 * first line and reads a file that starts otherwise as fstab: no such
 * entry is the kernel's). */
static int table_load(const char *file, struct libmnt_table **ret, struct libmnt_iter **ret_iter)
{
        int bad = 0, r = mnt_load();
        if (r < 0)
                return r;
        _cleanup_table_ struct libmnt_table *tb = mnt.new_table();
        _cleanup_iter_ struct libmnt_iter *it = mnt.new_iter(MNT_ITER_FORWARD);
        if (!tb || !it)
                return -ENOMEM;
        mnt.set_userdata(tb, &bad);
        mnt.set_errcb(tb, parse_error);
        r = mnt.parse_file(tb, file);
        mnt.set_userdata(tb, NULL);
        if (r < 0)
                return r;
        if (bad)
                return -EBADMSG;
        /* Every entry a kernel's, each id once (the line of one id would
         * otherwise depend on which of two is taken). */
        int n = mnt.get_nents(tb);
        _cleanup_free_ int *ids = n > 0 ? calloc((size_t)n, sizeof(int)) : NULL;
        struct libmnt_fs *fs;
        if (n > 0 && !ids)
                return -ENOMEM;
        for (int i = 0; i < n && mnt.next_fs(tb, it, &fs) == 0; i++) {
                if (!mnt.is_kernel(fs) || (ids[i] = mnt.get_id(fs)) < 0 || !mnt.get_target(fs) || !mnt.get_fstype(fs))
                        return -EBADMSG;
        }
        if (n > 1)
                qsort(ids, (size_t)n, sizeof(int), cmp_int);
        for (int i = 1; i < n; i++)
                if (ids[i] == ids[i - 1])
                        return -EBADMSG;
        mnt.reset_iter(it, MNT_ITER_FORWARD);
        *ret = TAKE_PTR(tb);
        *ret_iter = TAKE_PTR(it);
        return 0;
}

static int entry_from_fs(struct libmnt_fs *fs, struct mount_entry *ret)
{
        const char *root = mnt.get_root(fs), *source = mnt.get_source(fs);
        dev_t dev = mnt.get_devno(fs);
        *ret = (struct mount_entry) {
                .id = (uint64_t)mnt.get_id(fs), .parent = (uint64_t)(unsigned)mnt.get_parent_id(fs),
                .major = major(dev), .minor = minor(dev),
                .root = strdup(root ? root : "/"), .target = strdup(mnt.get_target(fs)),
                .fstype = strdup(mnt.get_fstype(fs)), .source = strdup(source && *source ? source : "none"),
        };
        if (!ret->root || !ret->target || !ret->fstype || !ret->source) {
                mount_entry_done(ret);
                return -ENOMEM;
        }
        return 0;
}

int mountinfo_find(const char *file, uint64_t id, struct mount_entry *ret)
{
        _cleanup_table_ struct libmnt_table *tb = NULL;
        _cleanup_iter_ struct libmnt_iter *it = NULL;
        struct libmnt_fs *fs, *found = NULL;

        memset(ret, 0, sizeof(*ret));
        int r = table_load(file, &tb, &it);
        if (r < 0)
                return r;
        /* By iteration: util-linux 2.38 (Debian 12) has no
         * mnt_table_find_id(). Mount ids are the kernel's int, and libmount
         * keeps them so: a larger id is in no table. */
        while (!found && id <= INT_MAX && mnt.next_fs(tb, it, &fs) == 0)
                if ((uint64_t)mnt.get_id(fs) == id)
                        found = fs;
        return found ? entry_from_fs(found, ret) : -ENOENT;
}

int mountinfo_covering(const char *file, const char *path, struct mount_entry *ret)
{
        _cleanup_table_ struct libmnt_table *tb = NULL;
        _cleanup_iter_ struct libmnt_iter *it = NULL;
        struct libmnt_fs *fs, *best = NULL;
        size_t best_len = 0;

        memset(ret, 0, sizeof(*ret));
        int r = table_load(file, &tb, &it);
        if (r < 0)
                return r;
        /* By strings alone: libmount's mnt_table_find_mountpoint() stat()s
         * the path, which need not exist here (a recorded table describes
         * another host). */
        while (mnt.next_fs(tb, it, &fs) == 0) {
                const char *t = mnt.get_target(fs);
                size_t len = strlen(t);
                if ((streq(t, path) || path_below(path, t)) && len >= best_len) {
                        best = fs;
                        best_len = len;
                }
        }
        return best ? entry_from_fs(best, ret) : -ENOENT;
}

int mountinfo_foreach(const char *file, int (*cb)(const struct mount_entry *e, void *userdata), void *userdata)
{
        _cleanup_table_ struct libmnt_table *tb = NULL;
        _cleanup_iter_ struct libmnt_iter *it = NULL;
        struct libmnt_fs *fs;

        int r = table_load(file, &tb, &it);
        while (r == 0 && mnt.next_fs(tb, it, &fs) == 0) {
                struct mount_entry e;
                r = entry_from_fs(fs, &e);
                if (r == 0) {
                        r = cb(&e, userdata);
                        mount_entry_done(&e);
                }
        }
        return r;
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
        _cleanup_table_ struct libmnt_table *tb = NULL;
        _cleanup_iter_ struct libmnt_iter *it = NULL;
        struct libmnt_fs *fs;

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
        int r = table_load("/proc/self/mountinfo", &tb, &it);
        if (r < 0)
                return r;
        while (mnt.next_fs(tb, it, &fs) == 0) {
                const char *t = mnt.get_target(fs);
                if (path_below(t, path)) {
                        if (ret_target && !(*ret_target = strdup(t)))
                                return -ENOMEM;
                        return -EBUSY;
                }
        }
        return 0;
}
