/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "log.h"

#include <stdarg.h>

static const char *log_ident = "migkit";
static int log_verbose;
static bool log_syslog;

void log_open(const char *ident, int verbose, bool use_syslog)
{
        log_ident = ident;
        log_verbose = verbose;
        /* With no syslog daemon glibc retries the connection at every
         * message; don't pay for that where nobody listens. */
        log_syslog = use_syslog && access("/dev/log", W_OK) == 0;
        if (log_syslog)
                openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

int log_get_verbose(void)
{
        return log_verbose;
}

int log_internal(int prio, int err, const char *fmt, ...)
{
        int saved = errno;
        char msg[2048];
        va_list ap;

        if (err < 0)
                err = -err;
        errno = err;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);

        if (log_syslog && (prio < LOG_DEBUG || log_verbose > 1))
                syslog(prio, "%s", msg);
        if (prio <= LOG_WARNING || (prio <= LOG_INFO && log_verbose > 0) || log_verbose > 1)
                fprintf(stderr, "%s: %s%s\n", log_ident, prio <= LOG_ERR ? "error: " : prio == LOG_WARNING ? "warning: " : "", msg);

        errno = saved;
        return err ? -err : -EIO;
}
