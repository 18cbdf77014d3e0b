/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Waiting for device nodes and links to appear (or go), driven by events: a
 * libudev monitor (udev's "block" events, sent once the links exist or are
 * gone) and inotify on
 * the nearest existing directory of each awaited path (which also covers a
 * /dev root that udev does not manage, as in tests). No sleep loop: the
 * process sleeps in poll() until an event or the timeout. Create the waiter
 * before the action whose result is awaited (the scan), so that no event
 * can be missed; every wake-up re-checks the paths themselves. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct udevwait;

/* Creates a waiter. If the udev monitor cannot be created (no netlink
 * socket) it works on inotify alone. Returns 0, -ENOMEM or -errno. */
int udevwait_new(struct udevwait **ret);

/* Adds an awaited path: present once stat(2) succeeds on it (links are
 * followed, so a dangling link is not present). Returns its index (>= 0) or
 * -ENOMEM / -EINVAL (not an absolute path). */
int udevwait_add(struct udevwait *w, const char *path);

/* Adds an awaited pattern: present once an entry of dir matching the
 * fnmatch(3) pattern can be stat()ed; e.g. dir /dev/disk/by-path and
 * "*-fc-0x5006016839a01c4e-lun-1". Returns the index or -errno. */
int udevwait_add_glob(struct udevwait *w, const char *dir, const char *pattern);

/* Adds an item awaited to go: present (done) once lstat(2) on path fails
 * with ENOENT, e.g. a SCSI device's <sysfs>/class/scsi_device/<H:C:T:L> or
 * its /dev node after a delete. Returns the index (>= 0) or -errno. */
int udevwait_add_gone(struct udevwait *w, const char *path);

/* Waits until at least one item that udevwait_next() has not reported yet
 * is present, or timeout_ms passes, whichever comes first; the timeout is
 * also cut to the hook's remaining deadline (deadline.h). Returns the number
 * of newly present items (> 0), 0 on timeout, or -errno. */
int udevwait_next(struct udevwait *w, unsigned timeout_ms);

/* Waits until every item is present (0) or the timeout or deadline passes
 * (-ETIMEDOUT). */
int udevwait_all(struct udevwait *w, unsigned timeout_ms);

size_t udevwait_count(const struct udevwait *w);
bool udevwait_present(const struct udevwait *w, size_t idx);
/* The path (or "dir/pattern") of item idx, for messages. */
const char *udevwait_describe(const struct udevwait *w, size_t idx);
/* Whether a udev monitor is in use (false: inotify only). */
bool udevwait_has_monitor(const struct udevwait *w);
/* How many times poll() returned with an event (for tests: 0 while nothing
 * happens shows there is no polling loop). */
unsigned udevwait_wakeups(const struct udevwait *w);

void udevwait_free(struct udevwait *w);
static inline void udevwait_freep(struct udevwait **w) { if (*w) udevwait_free(*w); }
#define _cleanup_udevwait_ __attribute__((cleanup(udevwait_freep)))
