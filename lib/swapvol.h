/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* `migkit swap-volume DOMAIN DISK NEW-PATH`: live copy of one disk of a
 * running guest to a new file or block device and a pivot onto it (Nova's
 * swap_volume), in Nova's order:
 *  1. a NEW-PATH under /dev that is a missing FC or multipath name is made
 *     to appear first: the targeted rescan, device wait and multipath map
 *     of the hook (destfc.h);
 *  2. the persistent definition is saved (<state>/swap/<uuid>.xml, durably,
 *     with what is swapped in <uuid>.swap) and the domain undefined, so a
 *     crash between the pivot and the redefinition never leaves a
 *     definition naming the old disk (`migkit status` shows the saved
 *     file); when libvirt refuses the undefine (snapshots), the copy runs as
 *     a transient job of the persistent domain instead;
 *  3. virDomainBlockCopy, wait until the job is ready, pivot
 *     (virDomainBlockJobAbort with PIVOT);
 *  4. the saved definition, naming NEW-PATH, is defined again (also after a
 *     cancelled copy, unchanged);
 *  5. with --disconnect-old, the old disk's SAN LUN is removed from this
 *     host under the rules of lundisc.h.
 * An existing NEW-PATH is reused as it is (VIR_DOMAIN_BLOCK_COPY_REUSE_EXT:
 * pre-created volumes, block devices); a missing file is created by libvirt
 * in the disk's format (and removed again when the copy is cancelled or
 * fails). A qcow2 disk is never written onto a raw block device unless
 * --format says which format the copy gets. An abort request
 * (migrate_request_abort) before the pivot cancels the copy: the guest
 * stays on the old disk. */
#pragma once

#include <stdio.h>

#include "config.h"

enum swapvol_status { SWAPVOL_OK, SWAPVOL_REFUSED, SWAPVOL_FAILED, SWAPVOL_ABORTED };

struct swapvol_opts {
        const char *domain, *disk, *new_path;
        const char *source_uri;   /* NULL: [cleanup] libvirt-uri */
        int output;               /* enum migrate_output */
        FILE *out;
        unsigned bandwidth;       /* MiB/s, 0 unlimited */
        const char *format;       /* the copy's format ("raw", "qcow2"); NULL: the disk's own */
        bool disconnect_old;      /* remove the old disk's LUN after the pivot */
};

/* Returns an enum swapvol_status after logging what happened, or -errno. */
int swapvol_run(const struct mk_config *cfg, const struct swapvol_opts *o);

/* Rewrites in the domain XML xml the <source> of the disk whose target is
 * target to new_path (type 'block' with dev= when is_block, else 'file'
 * with file=), keeping everything else. Returns 0 with a malloc'ed *ret,
 * -ENOENT if there is no such disk, -EINVAL for XML that does not parse,
 * -ENOMEM. Used for the persistent definition after the pivot. */
int swapvol_rewrite_xml(const char *xml, const char *target, const char *new_path, bool is_block, char **ret);
