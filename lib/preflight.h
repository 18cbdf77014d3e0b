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

#include "config.h"

/* WILL_FIX: missing now, and migkit (its hook on the destination) will
 * make it so during the migration. */
enum check_status { CHECK_OK, CHECK_WARN, CHECK_FAIL, CHECK_WILL_FIX };

struct check_result {
        int status;        /* enum check_status */
        char *name;        /* "destination", "hypervisor", "cpu", "memory", "uuid", "disk vda", ... */
        char *message;
        char *fix;         /* for CHECK_FAIL (and some WARN), else NULL */
};

struct preflight {
        struct check_result *v;
        size_t n;
        size_t n_fail, n_warn;
};

/* Runs every check of dom (on src) against the destination dst, which the
 * caller opened from dst_uri; dst NULL means the connection failed with
 * dst_error (libvirt's message), which is then the one FAIL reported.
 * copy_disks: targets (vda, ...) the migration copies (NULL: none).
 * Returns 0 with the results in *ret (preflight_free() them), or -ENOMEM. */
int preflight_run(const struct mk_config *cfg, virConnectPtr src, virDomainPtr dom, virConnectPtr dst,
                  const char *dst_uri, const char *dst_error, char *const *copy_disks, struct preflight *ret);

/* Prints the results, one per line ("OK    cpu: ..."), fixes indented
 * below failures. */
void preflight_print(const struct preflight *p, FILE *f);

/* The same as one JSON object: {"domain", "destination", "ready",
 * "failed", "warnings", "checks": [{"check", "status", "message", "fix"}]}. */
void preflight_print_json(const struct preflight *p, FILE *f, const char *domain, const char *dest_uri);

/* The same with other leading string fields: key, value, ..., NULL. */
void preflight_print_json_fields(const struct preflight *p, FILE *f, const char *const *fields);

/* Appends one result (fix may be NULL). Returns 0 or -ENOMEM. */
int preflight_add(struct preflight *p, int status, const char *name, const char *fix, const char *fmt, ...)
        __attribute__((format(printf, 5, 6)));

/* "OK", "WARN", "FAIL", "WILL FIX". */
const char *check_status_to_string(int status);

void preflight_free(struct preflight *p);
