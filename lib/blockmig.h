/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Live migration without shared storage, decided as Nova decides it.
 *
 * The plan, per disk: a network or volume disk (rbd, iSCSI) and a block
 * device (an FC LUN) are not copied: the destination reaches the same
 * volume. A file disk is not copied when the destination sees its
 * directory (sharetest.h: a test file written there here is found through
 * the destination's libvirt); it is copied when the destination does not
 * (block migration: libvirt's migrate_disks list, nothing else), and the
 * migration is refused, naming the disk, when it can be neither shared nor
 * copied (read-only or shareable, a chain of more than one backing file,
 * or copying forbidden with --no-copy-storage). A copied qcow2 on a
 * backing file (Nova's _base images) makes the copy incremental
 * (VIR_MIGRATE_NON_SHARED_INC: only the top layer is sent), which needs
 * the same backing file on the destination.
 *
 * The preparation, through the destination's libvirt alone (no ssh): the
 * free space of each directory is checked first (refused with the numbers);
 * a missing backing file is uploaded and read back, an identical one
 * reused, a different one refused; every copied disk is pre-created with
 * its format and virtual size (a qcow2 on the same backing file), in a
 * directory built when missing. libvirt itself can pre-create only through
 * a storage pool already on that directory, and never for an incremental
 * copy. What was created is listed so that a failed migration removes
 * exactly that (block_prep_undo). */
#pragma once

#include <stdbool.h>

#include <libvirt/libvirt.h>

#include "checks.h"
#include "config.h"
#include "domxml.h"

/* migrate_opts.copy_storage */
enum copy_mode {
        COPY_AUTO = -1,  /* copy what is local (the default) */
        COPY_NEVER = 0,  /* --no-copy-storage: a local disk refuses the migration */
};

struct block_disk {
        char *target;          /* vda */
        char *path;            /* the image, at the same path on both hosts */
        char *format;          /* raw, qcow2 */
        char *backing;         /* its backing file, NULL if none */
        char *backing_format;  /* raw, qcow2 (NULL if unknown) */
};

struct block_plan {
        struct block_disk *v;  /* the disks copied */
        size_t n;
        char **copy;           /* their targets: libvirt's migrate_disks */
        bool incremental;      /* one of them has a backing file */
};

/* Decides for one disk of d (parsed from the live XML), on the destination
 * dst: appends the result "disk <target>" to p (when p is not NULL), and a
 * disk to be copied to plan. force: targets the operator named with
 * --copy-storage (always copied when they can be); mode enum copy_mode.
 * Only file disks of device "disk" are decided here (the caller handles
 * the rest); returns 1 when it decided, 0 when not its kind, -ENOMEM. */
int block_plan_disk(const struct mk_config *cfg, virConnectPtr dst, const struct dom_disk *dk, char *const *force, int mode,
                    struct block_plan *plan, struct preflight *p);

/* Appends the summary "storage" to p: plain live migration, or block
 * migration of which disks (incremental or full). 0 or -ENOMEM. */
int block_plan_summary(const struct block_plan *plan, struct preflight *p);

/* The plan for --no-preflight: the disks of d named in force, no test. */
int block_plan_forced(const struct domxml *d, char *const *force, struct block_plan *plan);

void block_plan_free(struct block_plan *plan);

/* What block_prepare created on the destination. */
struct block_prep {
        char **volumes;        /* paths of images created there (the base last uploaded last) */
        char **dirs;           /* directories built there, in the order built */
        char **guest_files;    /* names of the guest's files (console log...) a failed attempt leaves in them */
        unsigned long long uploaded;  /* bytes of backing files sent */
        unsigned long long reserved;  /* bytes the free-space check asked for */
        size_t n_reused;       /* backing files that were there already, identical */
};

/* Prepares dst for plan's disks of dom as above. guest_files: every local
 * file the guest's definition names (domxml's files). progress (optional)
 * is called with one line per step. Returns 0 (*prep filled; on failure
 * too, with what was created and removed again: nothing), or -errno with
 * *err: -ENOSPC (the numbers), -EEXIST (a different backing file there),
 * -EBADMSG (a copy read back different), -EIO (libvirt), -ENOENT (a local
 * image). On failure everything created is removed again. */
int block_prepare(virConnectPtr dst, virDomainPtr dom, const struct block_plan *plan, char *const *guest_files,
                  void (*progress)(void *ctx, const char *line), void *ctx, struct block_prep *prep, char **err);

/* Removes what block_prepare created on dst, newest first: each volume,
 * then each directory built for it once only the guest's own files and
 * host marks are left in it. Only for a migration that failed with nothing
 * of the guest on the destination. Returns 0 or -EIO with *err (what could
 * not be removed; the rest is removed anyway). */
int block_prep_undo(virConnectPtr dst, struct block_prep *prep, char **err);

void block_prep_free(struct block_prep *prep);
