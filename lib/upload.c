/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "upload.h"

#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>

#include "hostmark.h"
#include "remote.h"
#include "util.h"
#include "validate.h"
#include "virt.h"

#define CHUNK (256 * 1024)

static int split(const char *path, char **dir, char **base)
{
        _cleanup_free_ char *a = strdup(path), *b = strdup(path);
        if (!a || !b)
                return -ENOMEM;
        *dir = strdup(dirname(a));
        *base = strdup(basename(b));
        return *dir && *base ? 0 : -ENOMEM;
}

/* Opens path for reading only when it is a regular file directly in
 * <instances>/<uuid>/, through directory fds and O_NOFOLLOW: no symlink,
 * no "..", nothing else of this host. The fd or -errno with *err. */
static int open_confined(const char *instances, const char *uuid, const char *path, char **err)
{
        _cleanup_free_ char *gdir = path_join(instances, uuid);
        if (!gdir)
                return -ENOMEM;
        const char *rel = path_is_absolute_normalized(path) && uuid_is_valid(uuid) ? path_below(path, gdir) : NULL;
        if (!rel || strchr(rel, '/'))
                return fail_message(err, -EPERM, "%s is not a file directly in the guest's directory %s: not copied", path, gdir);
        _cleanup_close_ int ifd = open(instances, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        _cleanup_close_ int gfd = ifd < 0 ? -1 : openat(ifd, uuid, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        int fd = gfd < 0 ? -1 : openat(gfd, rel, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return fail_message(err, errno == ENOTDIR ? -ELOOP : -errno, "cannot read %s here: %s", path,
                            errno == ELOOP || errno == ENOTDIR ? "a symlink on the way (never followed)" : strerror(errno));
        struct stat st;
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
                close(fd);
                return fail_message(err, -EINVAL, "%s is not a regular file", path);
        }
        return fd;
}

/* The names of the guest's files in dir other than base. */
static int guest_files_in(char *const *files, const char *dir, const char *base, char ***ret)
{
        _cleanup_strv_ char **l = calloc(1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        for (size_t i = 0; files && files[i]; i++) {
                const char *rel = path_below(files[i], dir);
                if (rel && !strchr(rel, '/') && !streq(rel, base) && !strv_contains(l, rel) && strv_push(&l, rel) < 0)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

int upload_same_bytes(virConnectPtr c, virStorageVolPtr vol, int fd, unsigned long long size)
{
        virStreamPtr st = virStreamNew(c, 0);
        _cleanup_free_ char *a = malloc(CHUNK), *b = malloc(CHUNK);
        unsigned long long off = 0;
        int r = 1;
        if (!st || !a || !b || virStorageVolDownload(vol, st, 0, size, 0) < 0) {
                if (st)
                        virStreamFree(st);
                return -1;
        }
        for (;;) {
                int n = virStreamRecv(st, a, CHUNK);
                if (n < 0) {
                        r = -1;
                        break;
                }
                if (n == 0)
                        break;
                if (pread(fd, b, (size_t)n, (off_t)off) != n || memcmp(a, b, (size_t)n) != 0)
                        r = 0; /* go on reading: the stream must be drained */
                off += (unsigned long long)n;
        }
        if (r == 1 && off != size)
                r = 0;
        if (r < 0)
                virStreamAbort(st);
        else
                virStreamFinish(st);
        virStreamFree(st);
        return r;
}

int upload_send_file(virConnectPtr c, virStorageVolPtr vol, int fd, unsigned long long size)
{
        virStreamPtr st = virStreamNew(c, 0);
        _cleanup_free_ char *buf = malloc(CHUNK);
        unsigned long long off = 0;
        if (!st || !buf || virStorageVolUpload(vol, st, 0, size, 0) < 0) {
                if (st)
                        virStreamFree(st);
                return -1;
        }
        while (off < size) {
                ssize_t n = pread(fd, buf, CHUNK, (off_t)off);
                if (n <= 0)
                        break;
                if (virStreamSend(st, buf, (size_t)n) < 0) {
                        virStreamAbort(st);
                        virStreamFree(st);
                        return -1;
                }
                off += (unsigned long long)n;
        }
        int r = off == size ? virStreamFinish(st) : (virStreamAbort(st), -1);
        virStreamFree(st);
        return r;
}

/* libvirt deletes a pool's directory only for an inactive, defined pool,
 * so one is defined for that moment (after any transient pool on dir is
 * gone) and undefined again. */
int upload_remove_dir(virConnectPtr c, const char *dir, char **err)
{
        _cleanup_free_ char *xml = NULL, *edir = xml_escape(dir);
        if (!edir || asprintf(&xml, "<pool type='dir'><name>migkit-rm-%d-%lx</name><target><path>%s</path></target></pool>",
                              (int)getpid(), (unsigned long)now_ms(), edir) < 0)
                return -ENOMEM;
        virStoragePoolPtr p = virStoragePoolDefineXML(c, xml, 0);
        if (!p)
                return fail_message(err, -EIO, "cannot remove %s from the destination: %s", dir, virt_last_error());
        int r = virStoragePoolDelete(p, 0) < 0 ? fail_message(err, -EIO, "cannot remove %s from the destination: %s", dir, virt_last_error()) : 0;
        virStoragePoolUndefine(p);
        virStoragePoolFree(p);
        return r;
}

int upload_file(virConnectPtr dst, const char *instances, const char *uuid, const char *path, char *const *guest_files,
                struct upload *ret, char **err)
{
        _cleanup_free_ char *dir = NULL, *base = NULL, *volxml = NULL, *ebase = NULL;
        _cleanup_close_ int fd = -1;
        struct stat st;
        bool ours = false, built = false;
        int errnum, r;

        memset(ret, 0, sizeof(*ret));
        if (err)
                *err = NULL;
        if (split(path, &dir, &base) < 0 || !(ebase = xml_escape(base)))
                return -ENOMEM;
        fd = open_confined(instances, uuid, path, err);
        if (fd < 0)
                return fd;
        if (fstat(fd, &st) < 0)
                return fail_message(err, -errno, "cannot read %s here: %s", path, strerror(errno));
        unsigned long long size = (unsigned long long)st.st_size;

        _cleanup_free_ char *perr = NULL;
        virStoragePoolPtr pool = remote_dir_pool(dst, dir, true, &ours, &built, &errnum, &perr);
        if (!pool)
                return fail_message(err, -errnum, "cannot open %s on the destination as a storage pool: %s", dir, perr ? perr : strerror(errnum));
        virStorageVolPtr vol = virStorageVolLookupByName(pool, base);
        if (vol) { /* there already: identical is fine, anything else is not ours to replace */
                virStorageVolInfo info;
                int same = virStorageVolGetInfo(vol, &info) == 0 && info.capacity == size ? upload_same_bytes(dst, vol, fd, size) : 0;
                r = same == 1 ? 0
                    : same == 0 ? fail_message(err, -EEXIST, "the destination already has a different %s: left alone", path)
                                : fail_message(err, -EIO, "cannot read %s on the destination: %s", path, virt_last_error());
                goto out;
        }
        if (asprintf(&volxml,
                     "<volume type='file'><name>%s</name><capacity unit='bytes'>%llu</capacity><allocation unit='bytes'>%llu</allocation>"
                     "<target><format type='raw'/><permissions><mode>0644</mode></permissions></target></volume>",
                     ebase, size, size) < 0) {
                volxml = NULL;
                r = -ENOMEM;
                goto out;
        }
        vol = virStorageVolCreateXML(pool, volxml, 0);
        if (!vol) {
                r = fail_message(err, -EIO, "cannot create %s on the destination: %s", path, virt_last_error());
                goto out;
        }
        if (upload_send_file(dst, vol, fd, size) < 0) {
                r = fail_message(err, -EIO, "cannot send %s to the destination: %s", path, virt_last_error());
                virStorageVolDelete(vol, 0);
                goto out;
        }
        int same = upload_same_bytes(dst, vol, fd, size);
        if (same != 1) {
                r = fail_message(err, same == 0 ? -EBADMSG : -EIO, "%s on the destination %s; removed it again", path,
                         same == 0 ? "differs from this host's after the copy" : "cannot be read back");
                virStorageVolDelete(vol, 0);
                goto out;
        }
        ret->path = strdup(path);
        ret->size = size;
        ret->created_dir = built;
        r = ret->path && guest_files_in(guest_files, dir, base, &ret->guest_files) == 0 ? 1 : -ENOMEM;
        if (r < 0)
                upload_free(ret);
        built = false; /* recorded: undone by upload_undo, not here */
out:
        if (vol)
                virStorageVolFree(vol);
        if (ours)
                virStoragePoolDestroy(pool);
        virStoragePoolFree(pool);
        if (built && r <= 0)
                upload_remove_dir(dst, dir, NULL); /* the directory built for nothing (empty) */
        return r;
}

/* Deletes the uploaded volume while it still holds the local file's
 * bytes. 0 (deleted, or gone), 1 kept (changed since), -EIO with *err. */
static int undo_volume(virConnectPtr dst, virStoragePoolPtr pool, const struct upload *u, const char *base, char **err)
{
        virStorageVolPtr vol = virStorageVolLookupByName(pool, base);
        if (!vol)
                return 0;
        _cleanup_close_ int fd = open(u->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
        virStorageVolInfo info;
        int same = fd >= 0 && virStorageVolGetInfo(vol, &info) == 0 && info.capacity == u->size ? upload_same_bytes(dst, vol, fd, u->size) : 0;
        int r = same != 1 ? 1
                : virStorageVolDelete(vol, 0) < 0 ? fail_message(err, -EIO, "cannot remove %s from the destination: %s", u->path, virt_last_error())
                                                   : 0;
        virStorageVolFree(vol);
        return r;
}

bool upload_clear_dir(virStoragePoolPtr pool, char *const *guest_files)
{
        virStorageVolPtr *vols = NULL;
        int n = virStoragePoolListAllVolumes(pool, &vols, 0);
        bool alone = n >= 0;
        for (int i = 0; i < n; i++) {
                const char *name = virStorageVolGetName(vols[i]);
                bool ours = name && (strv_contains(guest_files, name) ||
                                     strncmp(name, HOSTMARK_PREFIX, strlen(HOSTMARK_PREFIX)) == 0);
                if (ours && virStorageVolDelete(vols[i], 0) == 0)
                        ;
                else
                        alone = false;
                virStorageVolFree(vols[i]);
        }
        free(vols);
        return alone;
}

int upload_undo(virConnectPtr dst, const struct upload *u, char **err)
{
        _cleanup_free_ char *dir = NULL, *base = NULL, *perr = NULL;
        bool ours, built;
        int errnum, r;

        if (err)
                *err = NULL;
        if (split(u->path, &dir, &base) < 0)
                return -ENOMEM;
        virStoragePoolPtr pool = remote_dir_pool(dst, dir, false, &ours, &built, &errnum, &perr);
        if (!pool)
                return errnum == ENOENT ? 0 : fail_message(err, -EIO, "cannot open %s on the destination: %s", dir, perr ? perr : strerror(errnum));
        r = undo_volume(dst, pool, u, base, err);
        if (r > 0)
                r = fail_message(err, -EIO, "%s on the destination changed since it was copied: left alone", u->path);
        /* A directory built for this copy goes too, once the guest's own
         * files (its console log) are gone and nothing else is there:
         * only through a pool of our own. */
        bool rmdir = r == 0 && u->created_dir && ours && upload_clear_dir(pool, u->guest_files);
        if (ours)
                virStoragePoolDestroy(pool);
        virStoragePoolFree(pool);
        if (r == 0 && u->created_dir && ours && !rmdir)
                return fail_message(err, -EIO, "%s on the destination holds files migkit did not put there: the directory is left", dir);
        return rmdir ? upload_remove_dir(dst, dir, err) : r;
}

void upload_free(struct upload *u)
{
        free(u->path);
        strv_free(u->guest_files);
        memset(u, 0, sizeof(*u));
}
