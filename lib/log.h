/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Logging for the tools. Library modules return -errno and leave the
 * wording to their caller; they log only at debug level. */
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
