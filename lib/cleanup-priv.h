/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Shared by the files of the cleanup module only: cleanup.c (the source
 * cleanup, the purge, and these helpers) and rollback.c (the rollback and
 * the commit). */
#pragma once

#include <limits.h>
#include <stdio.h>

#include "cleanup.h"
#include "proof.h"
#include "util.h"

/* "domain NAME (uuid UUID)" or "uuid UUID": how every message starts. */
struct label {
        char s[512];
};
struct label mklabel(const char *name, const char *uuid);

/* Where a dry run's report goes (stdout unless the caller named a FILE). */
FILE *report(const struct cleanup_opts *o);

/* A step found nothing against going on (not an outcome). */
#define STEP_OK INT_MAX

/* Takes the guest's lock (state_lock). Returns its fd, or -errno after
 * saying so (-EAGAIN: another migkit-cleanup holds it past the wait). */
int lock_guest(const struct mk_config *cfg, const struct cleanup_opts *o, const char *uuid, const char *label);

/* Logs a refusal and records it as pending (not in a dry run); counts it
 * in the metrics. Returns CLEANUP_REFUSED. */
int refuse(const struct mk_config *cfg, const struct cleanup_opts *o, const char *uuid, const char *action,
           const char *name, const char *fmt, ...) _printf_(6, 7);

/* Asks libvirt whether the domain is known here, for up to [cleanup] settle
 * while it is or libvirt cannot be reached. Returns 0 when libvirt said "no
 * such domain", else CLEANUP_REFUSED after refuse(). */
int libvirt_forgot(const struct mk_config *cfg, const struct cleanup_opts *o, const char *uuid, const char *action,
                   const char *name);

/* Refuses unless the proof proof_load() read (it returned r) is of kind
 * want. A missing proof is refused with "<missing><state>/proof/<uuid>
 * <sources>". Returns STEP_OK or the outcome. */
int check_proof(const struct mk_config *cfg, const struct cleanup_opts *o, const char *uuid, const char *action,
                const char *name, int r, const struct proof *p, int want, const char *missing, const char *sources);

/* "<detail>; <advice>" or "<path>: <error>" for a quarantine refusal, as a
 * static-sized string. */
struct qreason {
        char s[1024];
};
struct qreason qreason(int r, const char *path, const char *detail);
