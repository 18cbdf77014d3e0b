/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the destination's libvirt tells about it, from the source, over the
 * connection `migkit migrate` / `migkit check` already hold: no ssh, no
 * agent. Part of the preflight (preflight_run calls preflight_remote):
 *  - bridges: the destination's host interfaces (virConnectListAllInterfaces;
 *    Debian's udev backend lists them read-only); a missing bridge is
 *    WILL FIX when migkit's hook is installed there and the bridge matches
 *    this host's [bridges] allow (an assumption: the destination's own
 *    allow-list decides), FAIL when the hook is not there;
 *  - is migkit's hook installed there? A transient `dir` storage pool on the
 *    destination's <[paths] hooks>/qemu.d (the same path as here, an
 *    assumption) lists its entries; the pool is destroyed again at once,
 *    nothing on disk changes;
 *  - FC / SAN: each block disk named by a WWID or an FC path is looked for
 *    among the destination's node devices (storage serials, SCSI LUNs under
 *    FC remote ports); missing is WILL FIX when the destination has FC HBAs
 *    (its hook rescans them) and FAIL when it has none;
 *  - machine type: the destination's domain capabilities for the guest's
 *    emulator, architecture, machine type and domain type. */
#pragma once

#include <libvirt/libvirt.h>
#include <stdbool.h>

#include "config.h"
#include "domxml.h"
#include "checks.h"

/* A storage pool on directory dir of c: a new transient `dir` pool (*ours;
 * with build, the directory is created when missing: *built), or the
 * active pool already on it (leave it be). NULL with *errnum ENOENT (dir
 * missing and not build), EIO (*err, optional: libvirt's message) or
 * ENOMEM. Destroy the pool when *ours. */
virStoragePoolPtr remote_dir_pool(virConnectPtr c, const char *dir, bool build, bool *ours, bool *built, int *errnum, char **err);

/* 1 migkit's hook is installed on dst (an entry named *migkit* in
 * <hooks_dir>/qemu.d), 0 it is not (or that directory does not exist), -1
 * unknown (*err, optional, says why: libvirt's message). */
int remote_hook_installed(virConnectPtr dst, const char *hooks_dir, char **err);

/* Appends the checks above for domain d (parsed from its live XML xml) to
 * p. Returns 0 or -ENOMEM. */
int preflight_remote(struct preflight *p, const struct mk_config *cfg, virConnectPtr dst, const struct domxml *d, const char *xml);
