/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Host marks: which hosts use a directory. Nova's shared-storage test file,
 * made continuous: every host running migkit leaves a small file naming
 * itself in the instances root (the hook, migkit-watch and `migkit doctor`
 * rewrite it when it is older than HOSTMARK_REFRESH_S), and the hook of a
 * migration's destination leaves one in the guest's own directory at
 * `migrate begin`. A directory carrying the mark of another host is seen by
 * that host too: migkit never removes it.
 *
 *   <dir>/.migkit-host-<id>     mode 0644, replaced atomically (rename):
 *       migkit-host 1
 *       id <id>
 *       source <where the id comes from>
 *       hostname <gethostname()>
 *       time <unix seconds when written>
 *
 * <id> is this host's libvirt host UUID when libvirtd.conf or
 * virtqemud.conf (in [paths] libvirt-config) sets host_uuid, else
 * /etc/machine-id ([paths] machine-id); lower case. A mark with this
 * host's id but another host name is another host's (a cloned machine id).
 * A mark is never
 * removed by migkit: one copied along with a cloned disk names the host it
 * was cloned from and keeps refusing until a person removes it
 * (`migkit doctor` says which file). Nothing here logs. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "config.h"

#define HOSTMARK_PREFIX ".migkit-host-"
/* A mark of this host older than this is written again. */
#define HOSTMARK_REFRESH_S 600

struct host_id {
        char id[40];         /* a lower-case UUID (36) or machine-id (32 hex digits) */
        char source[300];    /* "host_uuid in /etc/libvirt/libvirtd.conf", "/etc/machine-id" */
};

/* This host's id. Returns 0, or -ENODATA when neither libvirt's host_uuid
 * nor a valid machine-id is there, or -errno. */
int host_id_get(const struct mk_config *cfg, struct host_id *ret);

/* Writes this host's mark into the directory dfd unless a mark of it
 * written less than HOSTMARK_REFRESH_S seconds ago is there. No fsync: a
 * mark lost in a crash is written again next time. Returns 1 written, 0
 * fresh already, or -errno. */
int hostmark_touch(int dfd, const struct host_id *self, time_t now);

/* Marks the instances root ([paths] instances) when stale. Returns as
 * hostmark_touch, or -errno (-ENOENT: no instances path). */
int hostmark_touch_root(const struct mk_config *cfg, const struct host_id *self, time_t now);

/* For the destination of a migration: marks <instances>/<uuid> when it
 * exists, else the instances root. Returns as hostmark_touch. */
int hostmark_touch_guest(const struct mk_config *cfg, const struct host_id *self, const char *uuid, time_t now);

/* host_id_get() and hostmark_touch_root() now: what migkit-watch and
 * `migkit doctor` do whenever they run. Returns as hostmark_touch. */
int hostmark_touch_here(const struct mk_config *cfg);

struct hostmark {
        char *file;          /* its name in the directory */
        char *id;            /* from the name */
        char *hostname;      /* from the content, NULL if unreadable */
        char *source;        /* from the content, NULL if unreadable */
        time_t time;         /* from the content, else the file's mtime */
        bool self;           /* it names this host: its id, and no other host name */
};

/* The marks in the directory dfd (sorted by name). self may be NULL (this
 * host's id unknown: no mark is this host's). Returns the number of marks
 * with *ret (hostmark_list_free()), or -errno. */
int hostmark_list(int dfd, const struct host_id *self, struct hostmark **ret);
void hostmark_list_free(struct hostmark *l, int n);

/* The first mark of another host in dfd: 1 with *ret filled (free its
 * fields with hostmark_done()), 0 when there is none, -errno. */
int hostmark_foreign(int dfd, const struct host_id *self, struct hostmark *ret);
void hostmark_done(struct hostmark *m);

/* "hostB (id 1b2c..., marked 3min ago)" into buf. */
const char *hostmark_describe(const struct hostmark *m, time_t now, char *buf, size_t size);
