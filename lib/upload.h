/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copying a small local file (the config-drive ISO) to the same path on the
 * destination through its libvirt connection alone, before a migration, so
 * the guest keeps its cdrom instead of the hook stripping it there:
 * a transient `dir` storage pool on the file's directory (built when the
 * directory is missing), a volume created with the file's size, its bytes
 * sent with virStorageVolUpload, read back with virStorageVolDownload and
 * compared byte for byte, the pool destroyed again (the files stay). A file
 * already there is never overwritten. What was created is returned so that
 * a failed migration removes it again (upload_undo). */
#pragma once

#include <libvirt/libvirt.h>
#include <stdbool.h>

struct upload {
        char *path;          /* on the destination, the same as here */
        unsigned long long size;
        bool created_dir;    /* its directory was built for it */
};

/* Copies path to dst. Returns 1 copied and verified (*ret filled; free
 * with upload_free), 0 the destination already has an identical file
 * (nothing done), or -errno with *err (malloc'ed) saying why: -EEXIST a
 * different file is there (left alone), -EIO libvirt failed, -EBADMSG the
 * bytes read back differ (the copy was removed again), -ENOENT/-EACCES the
 * local file. */
int upload_file(virConnectPtr dst, const char *path, struct upload *ret, char **err);

/* Removes what upload_file created: the file, then its directory when it
 * was built for it, with whatever the failed attempt left in it. Only for
 * a migration that failed with nothing of the guest on the destination.
 * Returns 0 or -EIO with *err. */
int upload_undo(virConnectPtr dst, const struct upload *u, char **err);

void upload_free(struct upload *u);
