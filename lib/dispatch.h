/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Handing a job to migkit-cleanup without waiting for it, from the hook
 * (which libvirt waits for), migkit-watch (whose event loop must not stall)
 * and `migkit migrate`. Under systemd the job is a unit of its own,
 * migkit-cleanup@<action>-<uuid>.service, which runs
 * `migkit-cleanup --wait run <action>-<uuid>` in its sandbox; elsewhere (the
 * lab, containers) it is a fully detached process. Like cleanup.c this is a
 * policy layer: failures are logged here, naming the UUID, the program and
 * what to do.
 *
 * The rule for what runs where: whatever removes something on the host
 * (an instance directory, a bridge) runs out of process, in migkit-cleanup:
 * under systemd it gets the capabilities it needs in a sandbox of its own
 * (the hook and the watcher have none to give), it may wait minutes for the
 * domain's lock or for libvirt to forget the domain, and it re-checks every
 * proof itself. What only rewrites the state directory and cannot wait (the
 * watcher's commit: dropping a journal, with a 1 s try of the lock) runs in
 * the caller, and is handed over as a `commit` job when the lock is busy. */
#pragma once

#include <stdbool.h>

#include "config.h"
#include "proof.h"

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

/* Records the proof p (proof_record: by whom, when, what was seen) and
 * then, with action set (source for a migrated proof, rollback for an
 * incoming-failed one), hands the cleanup over: dispatch_cleanup(). The one
 * way the hook, migkit-watch and `migkit migrate` turn what they saw into
 * a job; each words the outcome for its own readers. *ret_recorded says
 * whether the proof is on record (a later run can act on it even when the
 * job could not be started). Returns 0 when the proof is recorded and the
 * job started (or action is NULL), or -errno: the proof_record() error
 * (nothing logged) or the dispatch_cleanup() one (logged there). */
int dispatch_handover(const struct mk_config *cfg, const struct proof *p, const char *action, bool *ret_recorded);

/* For a process that runs inside a systemd service's sandbox
 * (migkit-watch.service: no network, read-only system): from now on
 * dispatch_cleanup() never starts migkit-cleanup directly, which would run
 * it in that sandbox too (a rollback there sees none of the host's bridges);
 * it goes through systemd or fails, saying why. */
void dispatch_forbid_direct(void);

/* True when this process is a systemd service's ($INVOCATION_ID is set). */
bool dispatch_in_service(void);
