/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* `migkit check DOMAIN DEST`, also run before every `migkit migrate`: can
 * this guest live-migrate to that destination now? Each check ends OK, WARN
 * (could not be told, or works with a caveat) or FAIL, with a message naming
 * the domain, disk or host, and for a FAIL how to fix it. The checks ask the
 * two libvirt connections the caller opened; nothing is changed anywhere. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <libvirt/libvirt.h>

#include "blockmig.h"
#include "checks.h"
#include "config.h"

/* Runs every check of dom (on src) against the destination dst, which the
 * caller opened from dst_uri; dst NULL means the connection failed with
 * dst_error (libvirt's message), which is then the one FAIL reported.
 * Each file disk is decided by block_plan_disk (blockmig.h): copy_disks
 * are the targets (vda, ...) the operator wants copied (NULL: none),
 * copy_mode enum copy_mode; the disks to copy go to *plan (optional;
 * block_plan_free() it). Returns 0 with the results in *ret
 * (preflight_free() them), or -ENOMEM. */
int preflight_run(const struct mk_config *cfg, virConnectPtr src, virDomainPtr dom, virConnectPtr dst,
                  const char *dst_uri, const char *dst_error, char *const *copy_disks, int copy_mode, struct block_plan *plan,
                  struct preflight *ret);

/* Prints the results as one JSON object: {"domain", "destination", "ready",
 * "failed", "warnings", "checks": [{"check", "status", "message", "fix"}]}. */
void preflight_print_json(const struct preflight *p, FILE *f, const char *domain, const char *dest_uri);
