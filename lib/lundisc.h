/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Disconnecting SAN LUNs from this host the way os-brick does it for Nova
 * (disconnect_volume): flush and remove the multipath map through
 * multipathd (libmpathcmd; its unused kpartx partition maps go with it),
 * then write "1" to each SCSI path's sysfs device/delete, then wait,
 * bounded, on udev events until the devices are gone. Never a LUN that
 * something here still uses: another domain libvirt knows on this host
 * (running or only defined; compared by WWID, device number and SCSI
 * address, never by path name), a mount, a partition, LVM or md, an open
 * descriptor (multipathd's own on the paths are none), a map that
 * device-mapper counts open. One implementation for every caller:
 *  - the source after its guest migrated away (lundisc_source, run by
 *    cleanup_source with the same proof rules as the directory cleanup)
 *    removes the LUNs the hook recorded for it (lunrec.h);
 *  - the rollback of a failed incoming migration (lundisc_rollback, run by
 *    cleanup_rollback) removes exactly the paths and maps the hook's own
 *    scan made appear (the journal's scsi and mpath items);
 *  - migkit-fcscan --remove and swap-volume --disconnect-old remove a LUN
 *    by WWID (lundisc_remove).
 * A policy layer: messages name the domain, the LUN (WWID, map, paths)
 * and what holds it, through log.h; refusals become pending items
 * ("disconnect") that `migkit status` shows. */
#pragma once

#include <stdbool.h>
#include <stdio.h>

#include "cleanup.h"
#include "config.h"

enum lundisc_result {
        LUNDISC_NOTHING,  /* no device of it on this host */
        LUNDISC_REMOVED,  /* every device of it removed and gone (dry run: would be) */
        LUNDISC_REFUSED,  /* in use: nothing of it removed */
        LUNDISC_FAILED,   /* multipathd refused, a write failed, or a device did not go in time */
};

struct lundisc_priv;

/* One run over this host's LUNs: the settings, and what is asked once (the
 * local domains, multipathd). Zero it, set the first fields, and free it
 * with lundisc_done(). */
struct lundisc {
        const struct mk_config *cfg;
        bool dry_run;
        FILE *report;        /* dry run: "would ..." lines (NULL: stdout) */
        FILE *out;           /* migkit-fcscan: a line per request, write and device; NULL: only the log */
        unsigned wait_ms;    /* how long the removed devices may take to go */
        const char *label;   /* messages start with it ("domain X (uuid U)"), or NULL */
        struct lundisc_priv *priv;
};

/* Which LUN, and what of it one may remove. */
struct lundisc_lun {
        const char *wwid;         /* udev/multipath form */
        char *const *only_paths;  /* H:C:T:L of the paths one may remove; NULL: all its paths */
        bool keep_map;            /* its map is not ours (it was there before): take our paths out of it, leave it */
};

/* Removes one LUN (see above). *why (malloc'ed, may be NULL) says, for
 * REFUSED and FAILED, what holds it or what went wrong, in one line that
 * names the LUN. Returns an enum lundisc_result, or -ENOMEM. */
int lundisc_remove(struct lundisc *ld, const struct lundisc_lun *lun, char **why);

void lundisc_done(struct lundisc *ld);

/* The source side after its guest migrated away: removes the LUNs recorded
 * for uuid (<state>/luns/<uuid>), only with a "migrated" proof, with no
 * incoming journal of the guest here, once libvirt no longer knows the
 * domain (waiting up to [cleanup] settle), re-checked under the guest's
 * lock; what cannot go stays recorded, with a pending "disconnect" item.
 * Without a proof it does nothing (a guest that only shut down). [fc]
 * disconnect = no: nothing. Returns an enum cleanup_outcome or -errno. */
int lundisc_source(const struct mk_config *cfg, const char *uuid, const struct cleanup_opts *o);

/* The destination's rollback of guest uuid: the journal's scsi
 * ("<H:C:T:L> <wwid> <disk>") and mpath ("<name> <wwid>") items, one LUN
 * (WWID) at a time, each path only while it still has that WWID, the map
 * only if it is listed. What cannot go now is appended to *keep_scsi /
 * *keep_mpaths with a reason in *reasons. label starts the messages. The
 * guest's LUN record goes too (it never ran here). Returns the number of
 * LUNs removed, or -ENOMEM. */
int lundisc_rollback(const struct mk_config *cfg, const struct cleanup_opts *o, const char *uuid, const char *label,
                     char *const *scsi, char *const *mpaths, char ***keep_scsi, char ***keep_mpaths, char ***reasons);
