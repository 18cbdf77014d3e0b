/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* `migkit doctor`: is this host ready for live migrations in and out? Each
 * check ends OK, WARN (could not be told, or works with a caveat) or FAIL,
 * with a message naming the path, bridge, process or URI, and a fix. Only
 * reads, but for this host's mark in the instances path (hostmark.h):
 * nothing is created, started or reloaded. Every path comes from
 * the configuration ([paths] hooks, state, instances, sysfs, run, proc,
 * mountinfo) or from struct doctor_opts, so tests run it on temp trees.
 *
 * Checks, in order (their names):
 *   config     the configuration loaded (else the rest runs on the defaults)
 *   hook       <hooks>/qemu or an entry of <hooks>/qemu.d runs migkit-hook
 *   libvirtd   the running libvirtd/virqemud started after the hook was
 *              installed (libvirt finds hooks only at start or reload)
 *   libvirt    this host's libvirt answers (the domains come from it)
 *   instances  the instances path: a directory, no symlink, its filesystem
 *              (from its mount id) and whether migkit takes it as local
 *   marks      this host's id and mark there, the marks of other hosts
 *              (localcheck.h; this host's mark is the one thing written)
 *   bridges    the allow-list, the bridges present, and every bridge a
 *              local guest uses (present, or allowed so the hook creates it)
 *   state      the state directory exists and is writable
 *   watch      migkit-watch runs
 *   fc         FC HBAs online, when a local guest has FC SAN disks
 *   multipath  multipathd answers, when such a disk needs a map
 *   secret ... each libvirt secret a local guest's disks name (rbd auth,
 *              encryption): defined here, with a value (secrets.h)
 *   listen     the [migrate] uri's transport: TLS files, libvirtd listening
 *   resolve, migration ports
 *              with a destination (--dest): its name resolved here, its
 *              migration ports reachable from here (netcheck.h) */
#pragma once

#include <stdbool.h>
#include <stdio.h>

#include <libvirt/libvirt.h>

#include "config.h"
#include "checks.h"

struct doctor_opts {
        /* The configuration failed to load: its message (the config check
         * FAILs with it; the other checks ran on the defaults). */
        const char *config_error;
        /* This host's libvirt, opened by the caller; NULL with conn_error
         * (libvirt's message) when that failed. */
        virConnectPtr conn;
        const char *conn_uri;
        const char *conn_error;
        /* Prefix of /etc/pki (TLS files); NULL: "/". */
        const char *pki_root;
        /* libvirtd's pid file; NULL: <run>/libvirtd.pid, then
         * <run>/virtqemud.pid, then a scan of <proc> for the process. */
        const char *libvirtd_pidfile;
        /* migkit-watch's pid file; NULL: <run>/migkit-watch.pid, then a scan. */
        const char *watch_pidfile;
        /* A destination (host name or URI) whose name resolution and
         * migration ports are checked from here (netcheck.h); NULL: none. */
        const char *dest;
        /* Timeout for multipathd's answer (ms); 0: 2000. */
        unsigned mpath_timeout_ms;
};

/* Runs every check. Returns 0 with the results in *ret (preflight_free()
 * them; ret->n_fail tells whether the host is ready), or -ENOMEM. */
int doctor_run(const struct mk_config *cfg, const struct doctor_opts *o, struct preflight *ret);

enum { DOCTOR_QUIET = 1 << 0 }; /* only WARN and FAIL lines, no summary when all is OK */

/* Prints the results, one per line ("OK    hook: ..."), each fix indented
 * below its line, then a summary line. */
void doctor_print(const struct preflight *p, FILE *f, int flags);

/* The same as one JSON object: {"host", "ready", "failed", "warnings",
 * "checks": [{"check", "status", "message", "fix"}]}. */
void doctor_print_json(const struct preflight *p, FILE *f, const char *host);

