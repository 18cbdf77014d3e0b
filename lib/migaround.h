/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Around the job of `migkit migrate` (migrate.c): the config-drive copy
 * before it, the checks and the cleanup hand-over after it. */
#pragma once

#include <libvirt/libvirt.h>

#include "config.h"
#include "migout.h"
#include "migrate.h"
#include "upload.h"

/* The config-drive copies made for one migration. */
struct mig_uploads {
        struct upload *v;
        size_t n;
};

void mig_uploads_free(struct mig_uploads *u);

/* Copies the guest's config-drive ISOs that are local files here (not on
 * shared storage) to the destination, so its cdrom is kept; what could not
 * be copied is left to the destination's hook (it empties the cdrom). Says
 * what it did through out. Returns 0 or -ENOMEM. */
int mig_upload_config_drives(const struct mk_config *cfg, virDomainPtr dom, virConnectPtr dst, struct migout *out,
                         struct mig_uploads *ups);

/* After a failed migration with nothing of the guest on the destination:
 * removes what mig_upload_config_drives copied there. */
void mig_undo_uploads(virConnectPtr dst, const char *uuid, struct mig_uploads *ups, struct migout *out);

/* Waits up to timeout_ms for the domain to run on dst. 1 running, 0 not
 * (state in *state), -1 unknown (message in *state). */
int mig_verify_running(virConnectPtr dst, const char *uuid, unsigned timeout_ms, char **state);

/* One phrase about where the guest is after a failed job (malloc'ed, NULL
 * on ENOMEM). */
char *mig_where_after_failure(virConnectPtr src, virConnectPtr dst, const char *uuid);

/* Records the `migrated` proof (by "driver") and starts the source
 * cleanup. 0 or -errno (logged). */
int mig_handover_cleanup(const struct mk_config *cfg, const struct migrate_result *res);
