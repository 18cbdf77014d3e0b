/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Logging: how the policy modules and the mains talk to the operator.
 *
 * The rule (README, "Layout"): mechanism modules (util, config, validate,
 * state, journal, proof, pending, limit, bridge, instdir, quarantine, fc,
 * fcname, fclun, udevwait, mpath, domxml, virt, detach, json, procfs, ...)
 * never include this file: they return -errno and, where an errno cannot
 * say it, hand a message to their caller (a char **err argument, or the
 * words in what they return). Policy modules (dest, destfc, cleanup,
 * watch, dispatch, swapvol, migrate, evacuate, cli) decide for the
 * operator and log here what they decided, naming the domain, the object,
 * the failure and what to do. Report modules (status, checks, preflight,
 * remote, doctor, progress) print to the FILE their caller gives them.
 * Each main() maps the outcome to an exit code (exitcode.h). */
#pragma once

#include <stdbool.h>
#include <syslog.h>

#include "util.h"

/* ident: program name for syslog. Errors and warnings always go to stderr
 * (libvirt shows a failing hook's stderr to the operator); info goes there
 * too when verbose, debug when verbose > 1. */
void log_open(const char *ident, int verbose, bool use_syslog);
int log_get_verbose(void);

/* Logs and returns -|err| (or -EIO if err is 0), so callers can write
 * `return log_error_errno(r, "...: %m");`. errno is set to |err| so %m works. */
int log_internal(int prio, int err, const char *fmt, ...) _printf_(3, 4);

#define log_error_errno(err, ...) log_internal(LOG_ERR, (err), __VA_ARGS__)
#define log_warning_errno(err, ...) log_internal(LOG_WARNING, (err), __VA_ARGS__)
#define log_error(...) log_internal(LOG_ERR, 0, __VA_ARGS__)
#define log_warning(...) log_internal(LOG_WARNING, 0, __VA_ARGS__)
#define log_notice(...) log_internal(LOG_NOTICE, 0, __VA_ARGS__)
#define log_info(...) log_internal(LOG_INFO, 0, __VA_ARGS__)
#define log_debug(...) log_internal(LOG_DEBUG, 0, __VA_ARGS__)
