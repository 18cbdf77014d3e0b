/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* `migkit evacuate DEST...`: every running guest of this host to the given
 * destinations, at most `parallel` migrations at a time, each through
 * migrate_run() (preflight, policy, verification, cleanup hand-over). A
 * guest goes to the destination with the most free memory at the moment it
 * starts, less what the migrations already under way there take. One failure
 * does not stop the others; an abort request stops starting new ones. */
#pragma once

#include <stdint.h>
#include <stdio.h>

#include "config.h"
#include "migrate.h"

struct evacuate_item {
        char *name;
        char *dest;                 /* the destination chosen, or NULL if none was */
        struct migrate_result res;
        bool started;
        uint64_t start_ms, end_ms;  /* from the start of the evacuation */
};

/* base: the options for each migration (domain and dest are filled in per
 * guest). dests: NULL-terminated. Fills *ret_items and *ret_n (evacuate_free
 * them). Returns the number of guests that did not migrate (>= 0), or
 * -errno when the guests could not even be listed. */
int evacuate_run(const struct mk_config *cfg, const struct migrate_opts *base, char *const *dests, unsigned parallel,
                 struct evacuate_item **ret_items, size_t *ret_n);

/* The summary table: DOMAIN DEST RESULT START END TIME DOWNTIME DETAIL
 * (START and END: seconds since the evacuation began, preflight included;
 * TIME: the migration job itself). */
void evacuate_print(const struct evacuate_item *items, size_t n, FILE *f);

void evacuate_free(struct evacuate_item *items, size_t n);
