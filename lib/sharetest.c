/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sharetest.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/random.h>

#include <libvirt/virterror.h>

#include "remote.h"
#include "util.h"
#include "virt.h"

/* Writes <dir>/migkit-shared-test.<random> (not hidden: a volume every
 * libvirt lists). The directory fd, with the name in name. */
static int write_probe(const char *dir, char *name, size_t size, char **err)
{
        unsigned char rnd[8];
        if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
                return fail_message(err, -EIO, "cannot get random bytes: %s", strerror(errno));
        snprintf(name, size, "migkit-shared-test.%02x%02x%02x%02x%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2], rnd[3], rnd[4],
                 rnd[5], rnd[6], rnd[7]);
        _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return errno == ENOENT ? -ENOENT : fail_message(err, -errno, "cannot open %s here: %s", dir, strerror(errno));
        _cleanup_close_ int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
                return fail_message(err, -errno, "cannot write a test file into %s here: %s", dir, strerror(errno));
        if (write_all(fd, "migkit shared storage test\n", 27) < 0) {
                int r = -errno;
                (void)unlinkat(dfd, name, 0);
                return fail_message(err, r, "cannot write a test file into %s here: %s", dir, strerror(-r));
        }
        return TAKE_FD(dfd);
}

int sharetest_dir(virConnectPtr dst, const char *dir, char **err)
{
        char name[64];
        bool ours, built;
        int errnum, r;

        if (err)
                *err = NULL;
        _cleanup_close_ int dfd = write_probe(dir, name, sizeof(name), err);
        if (dfd < 0)
                return dfd;
        _cleanup_free_ char *perr = NULL;
        virStoragePoolPtr pool = remote_dir_pool(dst, dir, false, &ours, &built, &errnum, &perr);
        if (!pool)
                r = errnum == ENOENT ? 0 : fail_message(err, -EIO, "cannot open %s on the destination as a storage pool: %s", dir,
                                                perr ? perr : strerror(errnum));
        else {
                /* A pool that was there already lists what it saw when it
                 * was last refreshed. */
                if (!ours && virStoragePoolRefresh(pool, 0) < 0)
                        r = fail_message(err, -EIO, "cannot refresh the storage pool on %s on the destination: %s", dir, virt_last_error());
                else {
                        virStorageVolPtr vol = virStorageVolLookupByName(pool, name);
                        r = vol != NULL;
                        if (vol)
                                virStorageVolFree(vol);
                }
                if (ours)
                        virStoragePoolDestroy(pool); /* transient: gone; the directory stays as it was */
                virStoragePoolFree(pool);
        }
        virResetLastError();
        (void)unlinkat(dfd, name, 0);
        return r;
}

int preflight_shared(struct preflight *p, const struct mk_config *cfg, virConnectPtr dst)
{
        const char *dir = cfg->instances_path;
        _cleanup_free_ char *err = NULL;
        int r = sharetest_dir(dst, dir, &err);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return preflight_add(p, CHECK_WARN, "instances", "check by hand whether the destination mounts the same "
                                     "instances directory (migkit removes nothing it cannot prove local anyway)",
                                     "cannot tell whether the destination sees %s too: %s", dir, err ? err : strerror(-r));
        if (r > 0)
                return preflight_add(p, CHECK_OK, "instances", NULL, "%s is shared with the destination (a test file written "
                                     "here was there, through its libvirt storage API): the guest's directory stays here "
                                     "after the migration, migkit never removes it", dir);
        return preflight_add(p, CHECK_OK, "instances", NULL, "%s is not shared with the destination (a test file written "
                             "here was not there): after the migration migkit moves the guest's directory here to the "
                             "quarantine, once the guest is proven to run there", dir);
}
