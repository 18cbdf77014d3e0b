/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Asking multipathd for a map, through libmpathcmd (multipath-tools),
 * loaded with dlopen() only when a disk needs it: hosts without
 * multipath-tools run migkit without it. libmpathcmd talks to multipathd's
 * abstract socket @/org/kernel/linux/storage/multipathd: a native size_t
 * length, then the NUL-terminated command; the reply comes the same way. */
#pragma once

enum mpath_reply_kind {
        MPATH_REPLY_OK,          /* "ok" */
        MPATH_REPLY_FAIL,        /* "fail": e.g. multipathd knows no path of that WWID (yet) */
        MPATH_REPLY_BLACKLISTED, /* "blacklisted" */
        MPATH_REPLY_TIMEOUT,     /* "timeout": multipathd is busy (reconfigure) */
        MPATH_REPLY_DENIED,      /* "permission deny: need to be root" */
        MPATH_REPLY_OTHER,       /* anything else (help text for an unknown command...) */
};

struct mpath;

/* Loads library (a name for the dynamic loader, such as "libmpathcmd.so.0",
 * or an absolute path). Returns 0, -ENOENT if it cannot be loaded (then
 * *err, if err is not NULL, gets dlerror()'s text, malloc'ed), -ENOSYS if it
 * lacks the functions, or -ENOMEM. */
int mpath_open(const char *library, struct mpath **ret, char **err);

/* Sends one command (words separated by single spaces) to multipathd and
 * waits at most timeout_ms (cut to the hook's deadline) for its reply,
 * which is returned malloc'ed in *reply. Returns 0, -ECONNREFUSED or -ENOENT
 * when no multipathd listens, -EAGAIN when its backlog is full, -ETIMEDOUT,
 * or another -errno. */
int mpath_command(struct mpath *m, const char *cmd, unsigned timeout_ms, char **reply);

/* The kind of a reply ("ok\n", "fail\n", ...). */
enum mpath_reply_kind mpath_reply_classify(const char *reply);

/* "add map <name>": name is a WWID or alias checked by fc_name_is_valid().
 * Returns as mpath_command() (-EINVAL for a bad name); *kind tells what
 * multipathd said. reply may be NULL. */
int mpath_add_map(struct mpath *m, const char *name, unsigned timeout_ms, enum mpath_reply_kind *kind, char **reply);

void mpath_close(struct mpath *m);
static inline void mpath_closep(struct mpath **m) { if (*m) mpath_close(*m); }
#define _cleanup_mpath_ __attribute__((cleanup(mpath_closep)))
