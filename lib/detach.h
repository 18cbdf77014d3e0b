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

/* Runs path with argv and waits for it, at most timeout_ms: stdin is
 * /dev/null, stdout and stderr go to a pipe whose first 4 KiB are returned
 * in *ret_output (optional, malloc'ed, NUL-terminated, trailing newlines
 * cut); no other descriptor of the caller is inherited. A program still
 * running at the timeout is killed (SIGKILL) and reaped. Returns its exit
 * status (0..255; 127 when it could not be executed), -ETIME after a
 * timeout, -ECHILD if it died of a signal, or -errno. */
int spawn_wait(const char *path, char *const argv[], unsigned timeout_ms, char **ret_output);
