/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "converge.h"

#include <string.h>

void converge_init(struct converge *c, const struct converge_policy *p)
{
        memset(c, 0, sizeof(*c));
        c->p = *p;
        if (c->p.downtime_steps == 0)
                c->p.downtime_steps = 1;
}

unsigned converge_downtime_of_step(const struct converge_policy *p, unsigned i)
{
        unsigned steps = p->downtime_steps ? p->downtime_steps : 1;
        unsigned long long base = p->downtime_max_ms / steps;
        if (base == 0)
                base = 1;
        if (i >= steps)
                return p->downtime_max_ms;
        return (unsigned)(base + (p->downtime_max_ms - base) * i / steps);
}

const char *converge_action_to_string(int kind)
{
        switch (kind) {
        case CONVERGE_NONE: return "none";
        case CONVERGE_SET_DOWNTIME: return "downtime";
        case CONVERGE_POSTCOPY: return "postcopy";
        case CONVERGE_ABORT: return "abort";
        default: return "unknown";
        }
}

/* A new low must be this much (1/20) under the previous one to count as
 * progress: under a bandwidth cap data_remaining wanders around a level. */
static bool is_new_low(unsigned long long now, unsigned long long best)
{
        return now < best - best / 20;
}

void converge_next(struct converge *c, const struct mig_sample *s, struct converge_action *a)
{
        memset(a, 0, sizeof(*a));
        if (c->aborted || s->postcopy)
                return;

        /* stall tracking: the first pass always makes progress, so only
         * samples from the second pass on count */
        if (c->best_ms == 0 && c->best_remaining == 0) {
                c->best_remaining = s->data_remaining;
                c->best_ms = s->elapsed_ms;
        } else if (s->iteration < 2 || is_new_low(s->data_remaining, c->best_remaining)) {
                c->best_remaining = s->data_remaining;
                c->best_ms = s->elapsed_ms;
                c->stalled = false;
        }
        if (c->p.stall_ms && s->iteration >= 2 && s->elapsed_ms - c->best_ms >= c->p.stall_ms)
                c->stalled = true;

        if (c->p.completion_timeout_ms && s->elapsed_ms >= c->p.completion_timeout_ms) {
                if (c->p.postcopy && !c->postcopy_requested) {
                        c->postcopy_requested = true;
                        *a = (struct converge_action) { CONVERGE_POSTCOPY, 0, "completion timeout reached" };
                        return;
                }
                if (!c->postcopy_requested) {
                        c->aborted = true;
                        *a = (struct converge_action) { CONVERGE_ABORT, 0, "completion timeout reached" };
                        return;
                }
        }

        if (c->stalled && c->p.postcopy && !c->postcopy_requested) {
                c->postcopy_requested = true;
                *a = (struct converge_action) { CONVERGE_POSTCOPY, 0, "no progress: data remaining stopped shrinking" };
                return;
        }

        if (c->p.downtime_max_ms && !c->postcopy_requested && c->step <= c->p.downtime_steps &&
            s->elapsed_ms >= (unsigned long long)c->step * c->p.downtime_step_ms) {
                /* skip the steps whose time has passed (a slow first sample) */
                unsigned i = c->step;
                while (i < c->p.downtime_steps && s->elapsed_ms >= (unsigned long long)(i + 1) * c->p.downtime_step_ms &&
                       c->p.downtime_step_ms > 0)
                        i++;
                c->step = i + 1;
                *a = (struct converge_action) { CONVERGE_SET_DOWNTIME, converge_downtime_of_step(&c->p, i),
                                                i == 0 ? "initial allowed downtime" : "raising the allowed downtime" };
                return;
        }
}
