/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Does the destination see this host's instances directory? Nova's shared
 * storage test, through the destination's libvirt alone (the connection
 * `migkit check` and `migkit migrate` hold): a test file written into the
 * instances path here, looked for through a transient `dir` storage pool
 * on the same path there (remote.h), both removed again at once. */
#pragma once

#include <libvirt/libvirt.h>

#include "config.h"
#include "preflight.h"

/* 1 the destination sees the file written into dir here (shared), 0 it
 * does not (its dir is another directory, or it has none), or -errno with
 * *err (malloc'ed, optional) saying why it cannot be told: the file cannot
 * be written here (-EACCES, -EROFS, ...) or the destination's libvirt
 * failed (-EIO). -ENOENT: dir does not exist here. */
int sharetest_dir(virConnectPtr dst, const char *dir, char **err);

/* Appends the result "instances" for [paths] instances to p: shared with
 * the destination (migkit leaves the guest's directory here after the
 * migration) or not (it is moved to the quarantine once the migration is
 * proven). Nothing when the instances path does not exist here. Returns 0
 * or -ENOMEM. */
int preflight_shared(struct preflight *p, const struct mk_config *cfg, virConnectPtr dst);
