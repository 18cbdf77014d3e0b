/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Processes and listening sockets, read from /proc below a root prefix
 * ([paths] proc), so tests use a fake tree. For `migkit doctor`. Mechanism:
 * returns -errno, never logs. */
#pragma once

#include <stdbool.h>
#include <time.h>

/* A process's start time in seconds since the epoch, from <proc>/<pid>/stat
 * (field 22, clock ticks after boot) and btime in <proc>/stat. 0 or -errno. */
int proc_start_time(const char *proc, int pid, time_t *ret);

/* A running process whose comm is one of names (NULL-terminated): from the
 * pid files (NULL-terminated; comm checked), else a scan of proc that skips
 * the processes of other mount namespaces (counted in *n_other_ns). Returns
 * the pid, 0 if none runs, -EEXIST if several do, -errno. *how says how it
 * was found (static text, or one of pidfiles). */
int proc_find(const char *proc, const char *const *pidfiles, const char *const *names, const char **how,
              int *n_other_ns);

/* Is something listening on TCP port (any address), by <proc>/net/tcp and
 * tcp6? 1 yes (*loopback_only set when only on 127.0.0.1/::1), 0 no,
 * -errno (-ENOENT) if neither table can be read. */
int proc_tcp_listening(const char *proc, unsigned port, bool *loopback_only);
