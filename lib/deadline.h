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
