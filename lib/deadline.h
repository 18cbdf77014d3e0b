/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The hook's time budget: libvirt waits synchronously for hooks, so every
 * step asks how much time is left, and a watchdog ends the process if a step
 * overruns anyway. */
#pragma once

#include <stdint.h>

/* Starts the budget now, ms milliseconds long. */
void deadline_start(unsigned ms);

/* Milliseconds left (0 when expired; UINT32_MAX if no deadline started). */
unsigned deadline_remaining_ms(void);

/* Arms a watchdog that fires grace_ms after the deadline: it writes msg to
 * stderr and calls _exit(exit_code). Async-signal-safe. msg must stay valid.
 * Returns 0 or -errno. */
int deadline_arm_watchdog(unsigned grace_ms, int exit_code, const char *msg);

/* After the watchdog's message and before its _exit, runs argv (argv[0] a
 * path) in a child with stdin/stdout/stderr on /dev/null and a session of
 * its own, so whatever the overrun left behind can be handed over; NULL
 * turns it off. argv and its strings must stay valid. */
void deadline_on_overrun_exec(char *const *argv);
