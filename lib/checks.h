/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A list of check results, each OK, WARN, FAIL or WILL FIX with a message
 * and, for a failure, how to fix it; printed as lines or as one JSON
 * object. `migkit check` (preflight.c, remote.c), `migkit migrate` before a
 * migration and `migkit doctor` (doctor.c) fill one. (The list is called
 * struct preflight after its first user.) Prints to the FILE it is given;
 * never logs. */
#pragma once

#include <stddef.h>
#include <stdio.h>

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

/* Appends one result (fix may be NULL). Returns 0 or -ENOMEM. */
int preflight_add(struct preflight *p, int status, const char *name, const char *fix, const char *fmt, ...)
        __attribute__((format(printf, 5, 6)));

/* "OK", "WARN", "FAIL", "WILL FIX". */
const char *check_status_to_string(int status);

/* Prints the results, one per line ("OK    cpu: ..."), fixes indented
 * below failures. */
void preflight_print(const struct preflight *p, FILE *f);

/* The same as one JSON object: {<fields>, "ready", "failed", "warnings",
 * "checks": [{"check", "status", "message", "fix"}]}, where fields are the
 * leading string fields: key, value, ..., NULL. */
void preflight_print_json_fields(const struct preflight *p, FILE *f, const char *const *fields);

void preflight_free(struct preflight *p);
