/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copying a small local file (the config-drive ISO) to the same path on the
 * destination through its libvirt connection alone, before a migration, so
 * the guest keeps its cdrom instead of the hook stripping it there:
 * a transient `dir` storage pool on the file's directory (built when the
 * directory is missing), a volume created with the file's size, its bytes
 * sent with virStorageVolUpload, read back with virStorageVolDownload and
 * compared byte for byte, the pool destroyed again (the files stay). A file
 * already there is never overwritten. What was created is returned so that
 * a failed migration removes it again (upload_undo). Only a file directly
 * in the guest's own directory <instances>/<uuid>/ is read here and
 * written there; every name put into pool or volume XML is escaped. */
#pragma once

#include <libvirt/libvirt.h>
#include <stdbool.h>

struct upload {
        char *path;          /* on the destination, the same as here */
        unsigned long long size;
        bool created_dir;    /* its directory was built for it */
        char **guest_files;  /* the names of the guest's other files in that directory
                                (its console log...): what a failed attempt leaves there */
};

/* Copies path, which must be a file directly in <instances>/<uuid>/, to
 * dst. guest_files: every local file the guest's definition names (NULL:
 * none); those in the same directory are recorded for upload_undo.
 * Returns 1 copied and verified (*ret filled; free with upload_free), 0
 * the destination already has an identical file (nothing done), or -errno
 * with *err (malloc'ed) saying why: -EPERM path is not directly in the
 * guest's directory (nothing read), -ELOOP a symlink on the way, -EEXIST a
 * different file is there (left alone), -EIO libvirt failed, -EBADMSG the
 * bytes read back differ (the copy was removed again), -ENOENT/-EACCES the
 * local file. */
int upload_file(virConnectPtr dst, const char *instances, const char *uuid, const char *path, char *const *guest_files,
                struct upload *ret, char **err);

/* Removes what upload_file created: the volume it uploaded, while it still
 * holds the bytes of the local file; then, when its directory was built
 * for it, the guest's own files the failed attempt left there
 * (u->guest_files) and the destination hook's host marks, and the
 * directory, if nothing else is in it. Nothing
 * else is ever deleted. Only for a migration that failed with nothing of
 * the guest on the destination. Returns 0 or -EIO with *err. */
int upload_undo(virConnectPtr dst, const struct upload *u, char **err);

void upload_free(struct upload *u);

/* The pieces, for other copies through the destination's libvirt
 * (blockmig.h): */

/* Sends size bytes of the local file fd (from its start) into vol on c.
 * 0, or -1 with libvirt's error. */
int upload_send_file(virConnectPtr c, virStorageVolPtr vol, int fd, unsigned long long size);

/* Reads vol back and compares it with the local file fd (size bytes from
 * its start). 1 identical, 0 different, -1 libvirt error. */
int upload_same_bytes(virConnectPtr c, virStorageVolPtr vol, int fd, unsigned long long size);

/* Removes the empty directory dir on c (after any transient pool on it is
 * gone). 0 or -EIO with *err. */
int upload_remove_dir(virConnectPtr c, const char *dir, char **err);

/* In a directory built for a copy, on the pool open on it: deletes the
 * guest's own files a failed attempt left there (guest_files: names) and
 * the destination hook's host marks (hostmark.h: it marks the guest's
 * directory at migrate begin). True when nothing else is left there. */
bool upload_clear_dir(virStoragePoolPtr pool, char *const *guest_files);
