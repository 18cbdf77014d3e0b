/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Handing a job to migkit-cleanup without waiting for it, from the hook
 * (which libvirt waits for) and from migkit-watch (whose event loop must not
 * stall). Under systemd the job is a unit of its own,
 * migkit-cleanup@<action>-<uuid>.service, which runs
 * `migkit-cleanup --wait run <action>-<uuid>` in its sandbox; elsewhere (the
 * lab, containers) it is a fully detached process. Like cleanup.c this is a
 * policy layer: failures are logged here, naming the UUID, the program and
 * what to do. */
#pragma once

#include <stdbool.h>

#include "config.h"

/* True for the actions migkit-cleanup takes as a job: source, rollback,
 * commit. */
bool dispatch_action_is_valid(const char *action);

/* True if systemd runs this host: <cfg->run_dir>/systemd/system is a
 * directory (what sd_booted(3) checks). */
bool dispatch_systemd_running(const struct mk_config *cfg);

/* Starts `migkit-cleanup <action> <uuid>` and returns without waiting for
 * it. [cleanup] launcher decides how: systemd runs
 * `<systemctl> start --no-block migkit-cleanup@<action>-<uuid>.service`
 * (waiting a few seconds at most for systemctl itself); direct runs
 * `<program> <action> <uuid>` fully detached (spawn_detached); auto is
 * systemd when dispatch_systemd_running(), else direct, and falls back to
 * direct, with a warning, when systemctl fails. Returns 0 once started,
 * -EINVAL for an unknown action or a bad UUID, or -errno after logging why
 * nothing was started. */
int dispatch_cleanup(const struct mk_config *cfg, const char *action, const char *uuid);
