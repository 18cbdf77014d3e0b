/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Starting work that must outlive the hook without holding libvirt up. */
#pragma once

/* Runs path with argv fully detached: double fork, new session, every file
 * descriptor closed and stdin/stdout/stderr on /dev/null, so nothing of the
 * caller's (libvirt's pipes above all) stays open in it. Returns once the
 * intermediate child has exited: 0 if the program was forked off, or -errno.
 * Whether the exec itself succeeded is not known to the caller (the program
 * logs for itself). */
int spawn_detached(const char *path, char *const argv[]);
