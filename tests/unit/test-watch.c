/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* migkit-watch's decisions, row by row and exhaustively for the rules that
 * must never break (no proof of failure for a guest that arrived, nothing
 * committed during post-copy), then the event plumbing in this process
 * against libvirt's test driver (test:///default). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>

#include <libvirt/libvirt.h>

#include "cleanup.h"
#include "config.h"
#include "journal.h"
#include "lifecycle.h"
#include "log.h"
#include "pending.h"
#include "proof.h"
#include "testutil.h"
#include "util.h"
#include "watch.h"

#define U1 "4a6b2c1e-9f3d-4b8a-a1c2-3d4e5f607182"
#define U2 "0f0e0d0c-0b0a-4998-8776-655443322110"
#define U3 "11111111-2222-4333-8444-555555555555"

/* A journal started at 1000 on a connection up since 900, with the
 * incoming QEMU's start seen: the case where a stop proves a failure. */
static struct watch_facts seen_throughout(void)
{
        return (struct watch_facts){ .journal = true, .journal_started = 1000, .connected_since = 900, .incoming_seen = true };
}

static unsigned ev(int event, int detail, struct watch_facts f)
{
        return watch_decide_event(event, detail, &f).actions;
}

static struct watch_decision evd(int event, int detail, struct watch_facts f)
{
        return watch_decide_event(event, detail, &f);
}

static unsigned found(int state, int reason, struct watch_facts f)
{
        return watch_decide_found(state, reason, &f).actions;
}

static void test_source_rows(void **state)
{
        struct watch_facts none = { .connected_since = 900 }, f = seen_throughout();
        (void)state;
        /* the source of a completed migration: proof, then the cleanup */
        assert_int_equal(ev(VIR_DOMAIN_EVENT_STOPPED, VIR_DOMAIN_EVENT_STOPPED_MIGRATED, none),
                         WATCH_PROOF_MIGRATED | WATCH_RUN_SOURCE);
        /* not even connected throughout: the event itself is the proof */
        none.connected_since = 0;
        assert_int_equal(ev(VIR_DOMAIN_EVENT_STOPPED, VIR_DOMAIN_EVENT_STOPPED_MIGRATED, none),
                         WATCH_PROOF_MIGRATED | WATCH_RUN_SOURCE);
        /* a guest that had migrated in here and now left: its journal is moot */
        assert_int_equal(ev(VIR_DOMAIN_EVENT_STOPPED, VIR_DOMAIN_EVENT_STOPPED_MIGRATED, f),
                         WATCH_COMMIT | WATCH_PROOF_MIGRATED | WATCH_RUN_SOURCE);
        /* the source's other events of a migration: nothing */
        assert_int_equal(ev(VIR_DOMAIN_EVENT_SUSPENDED, VIR_DOMAIN_EVENT_SUSPENDED_MIGRATED, none), 0);
        assert_int_equal(ev(VIR_DOMAIN_EVENT_SUSPENDED, VIR_DOMAIN_EVENT_SUSPENDED_POSTCOPY, none), 0);
        assert_int_equal(ev(VIR_DOMAIN_EVENT_RESUMED, VIR_DOMAIN_EVENT_RESUMED_UNPAUSED, none), 0);
}

static void test_plain_guest_rows(void **state)
{
        struct watch_facts none = { .connected_since = 900 };
        (void)state;
        /* normal shutdown, destroy, crash, ... of a guest without a journal: nothing */
        for (int d = 0; d < 7; d++) {
                if (d == VIR_DOMAIN_EVENT_STOPPED_MIGRATED)
                        continue;
                struct watch_decision x = evd(VIR_DOMAIN_EVENT_STOPPED, d, none);
                assert_int_equal(x.actions, 0);
                assert_non_null(x.why);
                assert_non_null(strstr(x.why, "no journal"));
        }
        assert_int_equal(ev(VIR_DOMAIN_EVENT_STARTED, VIR_DOMAIN_EVENT_STARTED_BOOTED, none), 0);
        assert_int_equal(ev(VIR_DOMAIN_EVENT_DEFINED, VIR_DOMAIN_EVENT_DEFINED_ADDED, none), 0);
        assert_int_equal(ev(VIR_DOMAIN_EVENT_UNDEFINED, VIR_DOMAIN_EVENT_UNDEFINED_REMOVED, none), 0);
        assert_int_equal(ev(VIR_DOMAIN_EVENT_RESUMED, VIR_DOMAIN_EVENT_RESUMED_MIGRATED, none), 0);
        assert_int_equal(ev(VIR_DOMAIN_EVENT_STARTED, VIR_DOMAIN_EVENT_STARTED_MIGRATED, none), 0);
}

static void test_destination_success_rows(void **state)
{
        struct watch_facts f = seen_throughout();
        (void)state;
        /* started/migrated comes before any memory moved: no success */
        assert_int_equal(ev(VIR_DOMAIN_EVENT_STARTED, VIR_DOMAIN_EVENT_STARTED_MIGRATED, f), 0);
        assert_int_equal(ev(VIR_DOMAIN_EVENT_DEFINED, VIR_DOMAIN_EVENT_DEFINED_ADDED, f), 0);
        /* resumed/migrated: it runs here, done */
        assert_int_equal(ev(VIR_DOMAIN_EVENT_RESUMED, VIR_DOMAIN_EVENT_RESUMED_MIGRATED, f),
                         WATCH_MARK_ARRIVED | WATCH_FIXUP | WATCH_COMMIT);
        /* also when the watcher came late: the event is the proof */
        f.connected_since = 0;
        f.incoming_seen = false;
        assert_int_equal(ev(VIR_DOMAIN_EVENT_RESUMED, VIR_DOMAIN_EVENT_RESUMED_MIGRATED, f),
                         WATCH_MARK_ARRIVED | WATCH_FIXUP | WATCH_COMMIT);
        /* virsh migrate --suspend: the end is suspended/paused right after the start */
        f = seen_throughout();
        assert_int_equal(ev(VIR_DOMAIN_EVENT_SUSPENDED, VIR_DOMAIN_EVENT_SUSPENDED_PAUSED, f),
                         WATCH_MARK_ARRIVED | WATCH_FIXUP | WATCH_COMMIT);
        f.incoming_seen = false;
        assert_int_equal(ev(VIR_DOMAIN_EVENT_SUSPENDED, VIR_DOMAIN_EVENT_SUSPENDED_PAUSED, f), 0);
        /* other pauses and resumes of a guest with a journal: nothing */
        f = seen_throughout();
        assert_int_equal(ev(VIR_DOMAIN_EVENT_SUSPENDED, VIR_DOMAIN_EVENT_SUSPENDED_IOERROR, f), 0);
        assert_int_equal(ev(VIR_DOMAIN_EVENT_RESUMED, VIR_DOMAIN_EVENT_RESUMED_UNPAUSED, f), 0);
}

static void test_destination_failure_rows(void **state)
{
        struct watch_facts f = seen_throughout();
        struct watch_decision d;
        (void)state;
        /* seen from the incoming QEMU's start to its stop, connected since
         * before the journal: failed (domjobabort, QEMU killed, ...) */
        assert_int_equal(ev(VIR_DOMAIN_EVENT_STOPPED, VIR_DOMAIN_EVENT_STOPPED_FAILED, f),
                         WATCH_PROOF_FAILED | WATCH_RUN_ROLLBACK);
        assert_int_equal(ev(VIR_DOMAIN_EVENT_STOPPED, VIR_DOMAIN_EVENT_STOPPED_DESTROYED, f),
                         WATCH_PROOF_FAILED | WATCH_RUN_ROLLBACK);
        assert_int_equal(ev(VIR_DOMAIN_EVENT_STOPPED, VIR_DOMAIN_EVENT_STOPPED_CRASHED, f),
                         WATCH_PROOF_FAILED | WATCH_RUN_ROLLBACK);

        /* not connected, or connected only since the journal's second or
         * later: never guess, record why */
        for (time_t since = 0; since <= 1002; since += since ? 1 : 1000) {
                f.connected_since = since;
                d = evd(VIR_DOMAIN_EVENT_STOPPED, VIR_DOMAIN_EVENT_STOPPED_FAILED, f);
                assert_int_equal(d.actions, WATCH_PENDING);
                assert_int_equal(d.pending, WATCH_PENDING_NOT_CONNECTED);
        }
        /* connected throughout, but the incoming QEMU's start was not seen
         * (an offline migration, booted later, ...) */
        f = seen_throughout();
        f.incoming_seen = false;
        d = evd(VIR_DOMAIN_EVENT_STOPPED, VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN, f);
        assert_int_equal(d.actions, WATCH_PENDING);
        assert_int_equal(d.pending, WATCH_PENDING_NOT_SEEN);
        /* a journal that could not be read has no start time: never a proof */
        f = seen_throughout();
        f.journal_started = 0;
        assert_int_equal(ev(VIR_DOMAIN_EVENT_STOPPED, VIR_DOMAIN_EVENT_STOPPED_FAILED, f), WATCH_PENDING);
}

/* The dangerous rows: a guest that migrated in and stops later. */
static void test_arrived_then_stopped_is_never_a_failure(void **state)
{
        (void)state;
        for (int d = 0; d < 7; d++) {
                if (d == VIR_DOMAIN_EVENT_STOPPED_MIGRATED)
                        continue;
                for (int bits = 0; bits < 4; bits++) {
                        struct watch_facts f = seen_throughout();
                        f.incoming_seen = bits & 1;
                        f.connected_since = bits & 2 ? 900 : 0;
                        f.arrived = true;
                        assert_int_equal(ev(VIR_DOMAIN_EVENT_STOPPED, d, f), WATCH_FIXUP | WATCH_COMMIT);
                        /* committed already: no journal, nothing at all */
                        f = (struct watch_facts){ .connected_since = 900 };
                        assert_int_equal(ev(VIR_DOMAIN_EVENT_STOPPED, d, f), 0);
                }
        }
}

static void test_postcopy_rows(void **state)
{
        struct watch_facts f = seen_throughout();
        struct watch_decision d;
        (void)state;
        /* the guest runs here while its memory still arrives: note it, commit nothing */
        assert_int_equal(ev(VIR_DOMAIN_EVENT_RESUMED, VIR_DOMAIN_EVENT_RESUMED_POSTCOPY, f), WATCH_MARK_POSTCOPY);
        f.postcopy = true;
        f.incoming_seen = false;
        /* the end of post-copy: libvirt sends resumed/migrated */
        assert_int_equal(ev(VIR_DOMAIN_EVENT_RESUMED, VIR_DOMAIN_EVENT_RESUMED_MIGRATED, f),
                         WATCH_MARK_ARRIVED | WATCH_FIXUP | WATCH_COMMIT);
        /* stopped after post-copy began: its state was split, never rolled back */
        f.incoming_seen = true;
        for (int s = 0; s < 7; s++) {
                if (s == VIR_DOMAIN_EVENT_STOPPED_MIGRATED)
                        continue;
                d = evd(VIR_DOMAIN_EVENT_STOPPED, s, f);
                assert_int_equal(d.actions, WATCH_PENDING);
                assert_int_equal(d.pending, WATCH_PENDING_POSTCOPY);
        }
        /* post-copy failed: paused on both sides; a person decides */
        f = seen_throughout();
        d = evd(VIR_DOMAIN_EVENT_SUSPENDED, VIR_DOMAIN_EVENT_SUSPENDED_POSTCOPY_FAILED, f);
        assert_int_equal(d.actions, WATCH_MARK_POSTCOPY | WATCH_PENDING);
        assert_int_equal(d.pending, WATCH_PENDING_POSTCOPY_FAILED);
        d = evd(VIR_DOMAIN_EVENT_RESUMED, VIR_DOMAIN_EVENT_RESUMED_POSTCOPY_FAILED, f);
        assert_int_equal(d.actions, WATCH_MARK_POSTCOPY | WATCH_PENDING);
        /* --suspend after post-copy began is no arrival by itself */
        f.postcopy = true;
        assert_int_equal(ev(VIR_DOMAIN_EVENT_SUSPENDED, VIR_DOMAIN_EVENT_SUSPENDED_PAUSED, f), 0);
}

static void test_found_rows(void **state)
{
        struct watch_facts f = { .journal = true, .journal_started = 1000, .connected_since = 2000 };
        struct watch_decision d;
        (void)state;
        /* running here (not in post-copy): it arrived while we were away */
        assert_int_equal(found(VIR_DOMAIN_RUNNING, VIR_DOMAIN_RUNNING_MIGRATED, f), WATCH_MARK_ARRIVED | WATCH_FIXUP | WATCH_COMMIT);
        assert_int_equal(found(VIR_DOMAIN_RUNNING, VIR_DOMAIN_RUNNING_BOOTED, f), WATCH_MARK_ARRIVED | WATCH_FIXUP | WATCH_COMMIT);
        assert_int_equal(found(VIR_DOMAIN_RUNNING, VIR_DOMAIN_RUNNING_POSTCOPY, f), WATCH_MARK_POSTCOPY);
        d = watch_decide_found(VIR_DOMAIN_RUNNING, VIR_DOMAIN_RUNNING_POSTCOPY_FAILED, &f);
        assert_int_equal(d.actions, WATCH_MARK_POSTCOPY | WATCH_PENDING);
        assert_int_equal(d.pending, WATCH_PENDING_POSTCOPY_FAILED);
        /* an incoming migration in progress: its events will tell */
        assert_int_equal(found(VIR_DOMAIN_PAUSED, VIR_DOMAIN_PAUSED_MIGRATION, f), 0);
        assert_int_equal(found(VIR_DOMAIN_PAUSED, VIR_DOMAIN_PAUSED_STARTING_UP, f), 0);
        assert_int_equal(found(VIR_DOMAIN_PAUSED, VIR_DOMAIN_PAUSED_USER, f), 0);
        assert_int_equal(found(VIR_DOMAIN_PAUSED, VIR_DOMAIN_PAUSED_POSTCOPY_FAILED, f), WATCH_MARK_POSTCOPY | WATCH_PENDING);
        /* gone or shut off: what happened was not seen */
        d = watch_decide_found(-1, 0, &f);
        assert_int_equal(d.actions, WATCH_PENDING);
        assert_int_equal(d.pending, WATCH_PENDING_NOT_CONNECTED);
        assert_int_equal(found(VIR_DOMAIN_SHUTOFF, VIR_DOMAIN_SHUTOFF_SHUTDOWN, f), WATCH_PENDING);
        /* ... unless the hook already proved the failure */
        f.failed_proof = true;
        assert_int_equal(found(-1, 0, f), 0);
        /* ... or a pending item already says why (it is not overwritten) */
        f.failed_proof = false;
        f.pending = true;
        assert_int_equal(found(-1, 0, f), 0);
        f.pending = false;
        /* ... or it had arrived, or post-copy had begun */
        f.failed_proof = false;
        f.arrived = true;
        assert_int_equal(found(VIR_DOMAIN_SHUTOFF, VIR_DOMAIN_SHUTOFF_DESTROYED, f), WATCH_FIXUP | WATCH_COMMIT);
        assert_int_equal(found(VIR_DOMAIN_PAUSED, VIR_DOMAIN_PAUSED_USER, f), WATCH_FIXUP | WATCH_COMMIT);
        f.arrived = false;
        f.postcopy = true;
        d = watch_decide_found(-1, 0, &f);
        assert_int_equal(d.actions, WATCH_PENDING);
        assert_int_equal(d.pending, WATCH_PENDING_POSTCOPY);
        /* no journal: nothing to reconcile */
        f = (struct watch_facts){ .connected_since = 2000 };
        assert_int_equal(found(VIR_DOMAIN_RUNNING, VIR_DOMAIN_RUNNING_MIGRATED, f), 0);
}

/* Every event, detail and combination of facts: the invariants. */
static void test_invariants_exhaustive(void **state)
{
        (void)state;
        for (int e = 0; e <= 9; e++)
                for (int dt = 0; dt <= 10; dt++)
                        for (unsigned bits = 0; bits < 128; bits++) {
                                struct watch_facts f = {
                                        .journal = bits & 1, .journal_started = bits & 2 ? 1000 : 0,
                                        .postcopy = bits & 4, .arrived = bits & 8, .incoming_seen = bits & 16,
                                        .failed_proof = bits & 32, .connected_since = bits & 64 ? 900 : 1500,
                                        .pending = bits & 8,
                                };
                                struct watch_decision d = watch_decide_event(e, dt, &f);
                                unsigned a = d.actions;
                                bool may_fail = e == VIR_DOMAIN_EVENT_STOPPED && dt != VIR_DOMAIN_EVENT_STOPPED_MIGRATED &&
                                                f.journal && f.journal_started && !f.arrived && !f.postcopy &&
                                                f.incoming_seen && f.connected_since < f.journal_started;
                                if (a & (WATCH_PROOF_FAILED | WATCH_RUN_ROLLBACK)) {
                                        if (!may_fail)
                                                fail_msg("event %d/%d facts %#x: incoming-failed without seeing it", e, dt, bits);
                                        assert_int_equal(a, WATCH_PROOF_FAILED | WATCH_RUN_ROLLBACK);
                                } else if (may_fail)
                                        fail_msg("event %d/%d facts %#x: a seen failure not acted on", e, dt, bits);
                                if ((a & (WATCH_PROOF_MIGRATED | WATCH_RUN_SOURCE)) &&
                                    !(e == VIR_DOMAIN_EVENT_STOPPED && dt == VIR_DOMAIN_EVENT_STOPPED_MIGRATED))
                                        fail_msg("event %d/%d: migrated proof", e, dt);
                                if ((a & WATCH_RUN_SOURCE) && !(a & WATCH_PROOF_MIGRATED))
                                        fail_msg("event %d/%d: source job without its proof", e, dt);
                                if ((a & WATCH_COMMIT) && e == VIR_DOMAIN_EVENT_RESUMED && dt == VIR_DOMAIN_EVENT_RESUMED_POSTCOPY)
                                        fail_msg("facts %#x: committed during post-copy", bits);
                                if ((a & (WATCH_COMMIT | WATCH_FIXUP | WATCH_PENDING | WATCH_MARK_ARRIVED | WATCH_MARK_POSTCOPY)) &&
                                    !f.journal)
                                        fail_msg("event %d/%d facts %#x: acting on a journal that is not there", e, dt, bits);
                                if ((a & WATCH_PENDING) && d.pending == WATCH_PENDING_NONE)
                                        fail_msg("event %d/%d facts %#x: pending without a reason", e, dt, bits);
                        }
        for (int s = -1; s <= 8; s++)
                for (int rs = 0; rs <= 14; rs++)
                        for (unsigned bits = 0; bits < 64; bits++) {
                                struct watch_facts f = {
                                        .journal = bits & 1, .journal_started = 1000, .postcopy = bits & 2,
                                        .arrived = bits & 4, .incoming_seen = bits & 8, .failed_proof = bits & 16,
                                        .connected_since = bits & 32 ? 900 : 0,
                                };
                                unsigned a = watch_decide_found(s, rs, &f).actions;
                                if (a & (WATCH_PROOF_FAILED | WATCH_RUN_ROLLBACK | WATCH_PROOF_MIGRATED | WATCH_RUN_SOURCE))
                                        fail_msg("found %d/%d facts %#x: a proof from a state", s, rs, bits);
                                if ((a & WATCH_COMMIT) && s == VIR_DOMAIN_RUNNING && rs == VIR_DOMAIN_RUNNING_POSTCOPY)
                                        fail_msg("found in post-copy: committed");
                                if (a && !f.journal)
                                        fail_msg("found %d/%d: acting without a journal", s, rs);
                        }
}

static void test_texts(void **state)
{
        char buf[64];
        (void)state;
        assert_string_equal(watch_event_name(VIR_DOMAIN_EVENT_STOPPED, VIR_DOMAIN_EVENT_STOPPED_MIGRATED, buf, sizeof(buf)),
                            "stopped/migrated");
        assert_string_equal(watch_event_name(VIR_DOMAIN_EVENT_RESUMED, VIR_DOMAIN_EVENT_RESUMED_POSTCOPY, buf, sizeof(buf)),
                            "resumed/postcopy");
        assert_string_equal(watch_event_name(VIR_DOMAIN_EVENT_SUSPENDED, VIR_DOMAIN_EVENT_SUSPENDED_POSTCOPY_FAILED, buf, sizeof(buf)),
                            "suspended/postcopy-failed");
        assert_string_equal(watch_event_name(VIR_DOMAIN_EVENT_STOPPED, 42, buf, sizeof(buf)), "stopped/42");
        assert_string_equal(watch_event_name(77, 1, buf, sizeof(buf)), "event-77/1");
        assert_string_equal(watch_event_name(-1, -1, buf, sizeof(buf)), "event--1/-1");

        _cleanup_free_ char *t = watch_pending_text(WATCH_PENDING_NOT_CONNECTED, U1);
        assert_non_null(t);
        assert_non_null(strstr(t, "outcome of the incoming migration not seen (migkit-watch was not connected); check and run "
                                  "`migkit-cleanup proof " U1 " incoming-failed` if it failed"));
        for (int p = WATCH_PENDING_NOT_CONNECTED; p <= WATCH_PENDING_POSTCOPY_FAILED; p++) {
                _cleanup_free_ char *s = watch_pending_text(p, U1);
                assert_non_null(s);
                assert_non_null(strstr(s, "migkit-cleanup commit " U1));
                assert_null(strchr(s, '\n'));
        }
        assert_null(watch_pending_text(WATCH_PENDING_NONE, U1));
}

/* A failed incoming migration whose source went away (its libvirtd
 * restarted): the destination's libvirt destroys the incoming QEMU and sends
 * started/migrated, shutdown/host, stopped/destroyed. The shutdown event
 * must not hide the incoming start: the stop is the proof of failure. */
static void test_incoming_kept_across_shutdown(void **state)
{
        (void)state;
        assert_true(watch_event_keeps_incoming(VIR_DOMAIN_EVENT_STARTED, VIR_DOMAIN_EVENT_STARTED_MIGRATED));
        for (int d = 0; d < 3; d++) /* finished, guest, host */
                assert_true(watch_event_keeps_incoming(VIR_DOMAIN_EVENT_SHUTDOWN, d));
        /* anything that may mean the migration completed ends it */
        assert_false(watch_event_keeps_incoming(VIR_DOMAIN_EVENT_STARTED, VIR_DOMAIN_EVENT_STARTED_BOOTED));
        for (int d = 0; d < 4; d++)
                assert_false(watch_event_keeps_incoming(VIR_DOMAIN_EVENT_DEFINED, d));
        for (int d = 0; d < 5; d++)
                assert_false(watch_event_keeps_incoming(VIR_DOMAIN_EVENT_RESUMED, d));
        for (int d = 0; d < 9; d++)
                assert_false(watch_event_keeps_incoming(VIR_DOMAIN_EVENT_SUSPENDED, d));
        for (int d = 0; d < 7; d++)
                assert_false(watch_event_keeps_incoming(VIR_DOMAIN_EVENT_STOPPED, d));
        assert_false(watch_event_keeps_incoming(VIR_DOMAIN_EVENT_UNDEFINED, 0));
        /* and the stop after it, seen throughout: rollback with proof */
        assert_int_equal(ev(VIR_DOMAIN_EVENT_STOPPED, VIR_DOMAIN_EVENT_STOPPED_DESTROYED, seen_throughout()),
                         WATCH_PROOF_FAILED | WATCH_RUN_ROLLBACK);
}

/* An instance directory with no journal, at (re)connect. */
static void test_leftover_rows(void **state)
{
        struct watch_facts f = { .connected_since = 900 };
        struct watch_decision d;
        (void)state;
        /* libvirt no longer knows the domain, nothing on record: pending, never a job */
        d = watch_decide_leftover(-1, &f);
        assert_int_equal(d.actions, WATCH_PENDING_SOURCE);
        assert_int_equal(d.pending, WATCH_PENDING_LEFT_UNPROVEN);
        /* known here in any state: nothing */
        for (int st = VIR_DOMAIN_NOSTATE; st <= VIR_DOMAIN_PMSUSPENDED; st++)
                assert_int_equal(watch_decide_leftover(st, &f).actions, 0);
        /* a journal decides (watch_decide_found) */
        f.journal = true;
        assert_int_equal(watch_decide_leftover(-1, &f).actions, 0);
        /* a pending item keeps its reason */
        f = (struct watch_facts){ .pending_source = true };
        assert_int_equal(watch_decide_leftover(-1, &f).actions, 0);
        /* its stop or undefine was seen by this watcher: nothing was missed
         * (virsh undefine keeping the directory is not a migration) */
        f = (struct watch_facts){ .departure_seen = true };
        assert_int_equal(watch_decide_leftover(-1, &f).actions, 0);
        /* a migrated proof on record: the job again (it re-checks), never a new proof */
        f = (struct watch_facts){ .migrated_proof = true, .pending_source = true };
        assert_int_equal(watch_decide_leftover(-1, &f).actions, WATCH_RUN_SOURCE);
        assert_int_equal(watch_decide_leftover(VIR_DOMAIN_SHUTOFF, &f).actions, 0);
        /* an incoming-failed proof alone proves nothing about leaving */
        f = (struct watch_facts){ .failed_proof = true };
        assert_int_equal(watch_decide_leftover(-1, &f).actions, WATCH_PENDING_SOURCE);
        /* no row ever records a proof or starts a rollback */
        for (int bits = 0; bits < 64; bits++)
                for (int st = -1; st <= VIR_DOMAIN_PMSUSPENDED; st++) {
                        f = (struct watch_facts){ .journal = bits & 1, .migrated_proof = bits & 2, .failed_proof = bits & 4,
                                                  .pending_source = bits & 8, .pending = bits & 16, .departure_seen = bits & 32 };
                        unsigned a = watch_decide_leftover(st, &f).actions;
                        assert_int_equal(a & ~(unsigned)(WATCH_PENDING_SOURCE | WATCH_RUN_SOURCE), 0);
                }

        _cleanup_free_ char *t = watch_pending_text(WATCH_PENDING_LEFT_UNPROVEN, U1);
        assert_non_null(t);
        assert_non_null(strstr(t, "awaiting proof"));
        assert_non_null(strstr(t, "migkit-cleanup proof " U1 " migrated"));
        assert_non_null(strstr(t, "migkit-cleanup source " U1));
        assert_null(strchr(t, '\n'));
}

/* ---- the plumbing, in this process, against the test driver ---------------- */

static char root[] = "/tmp/migkit-test-watch.XXXXXX";
static struct mk_config cfg;

static int setup(void **state)
{
        (void)state;
        log_open("test-watch", 1, false); /* the decisions on stderr, as migkit-watch logs them */
        if (!mkdtemp(root) || config_defaults(&cfg) < 0)
                return -1;
        free(cfg.state_dir);
        free(cfg.run_dir);
        free(cfg.cleanup_program);
        free(cfg.instances_path);
        cfg.instances_path = pathf("%s/instances", root);
        cfg.state_dir = pathf("%s/state", root);
        cfg.run_dir = pathf("%s/run", root);
        /* a job started by mistake would leave a mark */
        cfg.cleanup_program = pathf("%s/no-cleanup-expected", root);
        cfg.cleanup_launcher = LAUNCHER_DIRECT;
        return 0;
}

static int teardown(void **state)
{
        (void)state;
        config_free(&cfg);
        return rm_tree(root);
}

static void tick(int timer, void *opaque)
{
        (void)timer;
        (void)opaque;
}

/* Runs the loop until no decision came for 3 ticks. */
static void settle(struct watch *w)
{
        unsigned last = watch_decisions_made(w);
        for (int quiet = 0, i = 0; quiet < 3 && i < 100; i++) {
                assert_int_equal(watch_iterate(w), 0);
                quiet = watch_decisions_made(w) == last ? quiet + 1 : 0;
                last = watch_decisions_made(w);
        }
}

/* Runs the loop until the watcher made n decisions (at most 5 s). */
static void run_until(struct watch *w, unsigned n)
{
        for (int i = 0; i < 100 && watch_decisions_made(w) < n; i++)
                assert_int_equal(watch_iterate(w), 0);
        if (watch_decisions_made(w) < n)
                fail_msg("only %u of %u decisions made", watch_decisions_made(w), n);
}

static size_t entries(const char *sub)
{
        _cleanup_free_ char *p = pathf("%s/state/%s", root, sub);
        DIR *d = opendir(p);
        size_t n = 0;
        struct dirent *de;
        if (!d)
                return 0;
        while ((de = readdir(d)))
                n += de->d_name[0] != '.';
        closedir(d);
        return n;
}

static char *guest_xml(const char *name, const char *uuid)
{
        return pathf("<domain type='test'><name>%s</name><uuid>%s</uuid><memory>65536</memory>"
                     "<os><type>hvm</type></os><devices>"
                     "<disk type='file' device='cdrom'><source file='/i/%s/disk.config'/>"
                     "<target dev='hdc' bus='ide'/><readonly/></disk></devices></domain>",
                     name, uuid, uuid);
}

/* The file has this exact line. */
static bool has_line(const char *path, const char *line)
{
        _cleanup_free_ char *t = NULL;
        if (read_full_file(path, 1 << 20, &t) < 0)
                return false;
        size_t n = strlen(line);
        for (const char *p = t; (p = strstr(p, line)); p += n)
                if ((p == t || p[-1] == '\n') && (p[n] == '\n' || !p[n]))
                        return true;
        return false;
}

static void write_journal(const char *uuid, time_t started)
{
        struct journal j = { 0 };
        j.uuid = strdup(uuid);
        j.name = strdup("guest");
        j.started = started;
        _cleanup_free_ char *entry = pathf("hdc /i/%s/disk.config", uuid), *dir = pathf("/i/%s", uuid);
        strv_push(&j.stripped, entry);
        strv_push(&j.dirs, dir);
        assert_int_equal(journal_save(cfg.state_dir, &j), 0);
        journal_free(&j);
}

static void test_plumbing(void **state)
{
        struct watch *w;
        int timer;
        (void)state;

        assert_int_equal(watch_new(&cfg, "test:///default", &w), 0);
        timer = virEventAddTimeout(50, tick, NULL, NULL);
        assert_true(timer >= 0);
        assert_int_equal(watch_connect(w), 0);
        assert_true(watch_is_connected(w));
        virConnectPtr c = virConnectOpen("test:///default");
        assert_non_null(c);

        /* define, start, destroy, undefine a guest of no migration: four
         * events, four decisions, no proof, no pending item, no job */
        _cleanup_free_ char *x1 = guest_xml("plain", U1);
        virDomainPtr d = virDomainDefineXML(c, x1);
        assert_non_null(d);
        assert_int_equal(virDomainCreate(d), 0);
        assert_int_equal(virDomainDestroy(d), 0);
        assert_int_equal(virDomainUndefine(d), 0);
        virDomainFree(d);
        run_until(w, 4);
        assert_int_equal(watch_events_seen(w), 4);
        assert_int_equal(entries("proof"), 0);
        assert_int_equal(entries("pending"), 0);

        /* a guest with a journal (started after we connected) that is
         * booted and destroyed: no incoming migration was seen, so no proof
         * of failure either; a pending item says why */
        write_journal(U2, time(NULL) + 1);
        _cleanup_free_ char *x2 = guest_xml("journaled", U2);
        d = virDomainCreateXML(c, x2, 0);
        assert_non_null(d);
        assert_int_equal(virDomainDestroy(d), 0);
        virDomainFree(d);
        run_until(w, 6);
        assert_int_equal(entries("proof"), 0);
        _cleanup_free_ char *pend = pathf("%s/state/pending/%s.rollback", root, U2), *text = NULL;
        assert_true(read_full_file(pend, 65536, &text) > 0);
        assert_non_null(strstr(text, "saw no incoming QEMU start"));
        _cleanup_free_ char *jpath = pathf("%s/state/journal/%s", root, U2);
        assert_true(exists(jpath));

        /* a guest that runs here with a journal when we (re)connect: it
         * arrived; its persistent definition loses the stripped source and
         * the journal is committed. Shut down later, it is never a failure. */
        _cleanup_free_ char *x3 = guest_xml("arrived", U3);
        d = virDomainDefineXML(c, x3);
        assert_non_null(d);
        assert_int_equal(virDomainCreate(d), 0);
        write_journal(U3, time(NULL) - 100);
        settle(w);
        unsigned before = watch_decisions_made(w);
        assert_int_equal(watch_connect(w), 0);  /* a reconnection: reconciles the journals */
        run_until(w, before + 2);               /* U2's and U3's journals */
        settle(w);                              /* and the defined/updated of the fix-up */
        _cleanup_free_ char *j3 = pathf("%s/state/journal/%s", root, U3);
        assert_false(exists(j3));
        /* U2's pending item keeps its reason */
        _cleanup_free_ char *text2 = NULL;
        assert_true(read_full_file(pend, 65536, &text2) > 0);
        assert_non_null(strstr(text2, "saw no incoming QEMU start"));
        char *inactive = virDomainGetXMLDesc(d, VIR_DOMAIN_XML_INACTIVE);
        assert_non_null(inactive);
        assert_null(strstr(inactive, "disk.config"));
        assert_non_null(strstr(inactive, "<target dev='hdc' bus='ide'/>"));
        free(inactive);
        before = watch_decisions_made(w);
        assert_int_equal(virDomainShutdown(d), 0);
        virDomainFree(d);
        run_until(w, before + 1);
        assert_int_equal(entries("proof"), 0);
        _cleanup_free_ char *p3 = pathf("%s/state/pending/%s.rollback", root, U3);
        assert_false(exists(p3));
        _cleanup_free_ char *nojob = pathf("%s/no-cleanup-expected", root);
        assert_false(exists(nojob));

        virConnectClose(c);
        virEventRemoveTimeout(timer);
        watch_free(w);
}

/* Instance directories at (re)connect: one whose domain libvirt does not
 * know becomes a pending source item (nothing removed, no job); one of a
 * known domain is left alone; once the leftover is gone, the pending item
 * goes too. */
static void test_leftover_plumbing(void **state)
{
        static const char known[] = "6695eb01-f6a4-8304-79aa-97f2502e193f"; /* test:///default's own domain */
        static const char left[] = "5b1e2c3d-4e5f-4a6b-9c7d-8e9fa0b1c2d3";
        struct watch *w;
        (void)state;

        _cleanup_free_ char *dl = pathf("%s/instances/%s", root, left), *dk = pathf("%s/instances/%s", root, known);
        _cleanup_free_ char *pl = pathf("%s/state/pending/%s.source", root, left);
        _cleanup_free_ char *pk = pathf("%s/state/pending/%s.source", root, known);
        _cleanup_free_ char *idir = pathf("%s/instances", root);
        (void)mkdir(idir, 0755);
        assert_int_equal(mkdir(dl, 0755), 0);
        assert_int_equal(mkdir(dk, 0755), 0);

        assert_int_equal(watch_new(&cfg, "test:///default", &w), 0);
        assert_int_equal(watch_run(w, true), 0); /* --once: connect, reconcile, disconnect */
        _cleanup_free_ char *text = NULL;
        assert_true(read_full_file(pl, 65536, &text) > 0);
        assert_non_null(strstr(text, "awaiting proof"));
        assert_false(exists(pk));
        assert_true(exists(dl));
        _cleanup_free_ char *nojob = pathf("%s/no-cleanup-expected", root);
        assert_false(exists(nojob));

        /* again: the item keeps its first time and reason, nothing else happens */
        assert_int_equal(watch_run(w, true), 0);
        assert_true(exists(pl));
        assert_true(exists(dl));

        /* a domain libvirt has here (again): an "awaiting proof" item of its
         * directory is moot and goes; any other reason (a refusal of
         * migkit-cleanup) stays */
        char *moot[] = { (char *)"awaiting proof: the domain left this host ...", NULL };
        char *refusal[] = { (char *)"libvirt still has domain test here; it must be undefined first", NULL };
        assert_int_equal(pending_record(cfg.state_dir, known, "source", "test", refusal), 0);
        assert_int_equal(watch_run(w, true), 0);
        assert_true(exists(pk));
        assert_int_equal(pending_record(cfg.state_dir, known, "source", "test", moot), 0);
        assert_int_equal(watch_run(w, true), 0);
        assert_false(exists(pk));

        /* a guest this watcher saw being destroyed and undefined (its
         * directory kept): not a missed migration, nothing recorded at the
         * next connection; seen by a watcher that was not there, it is */
        static const char undef[] = "7c1e2c3d-4e5f-4a6b-9c7d-8e9fa0b1c2d4";
        _cleanup_free_ char *du = pathf("%s/instances/%s", root, undef);
        _cleanup_free_ char *pu = pathf("%s/state/pending/%s.source", root, undef);
        int timer = virEventAddTimeout(50, tick, NULL, NULL);
        assert_true(timer >= 0);
        assert_int_equal(watch_connect(w), 0);
        settle(w);
        assert_int_equal(mkdir(du, 0755), 0);
        virConnectPtr c = virConnectOpen("test:///default");
        assert_non_null(c);
        _cleanup_free_ char *xu = guest_xml("undefined-here", undef);
        virDomainPtr dom = virDomainDefineXML(c, xu);
        assert_non_null(dom);
        assert_int_equal(virDomainCreate(dom), 0);
        assert_int_equal(virDomainDestroy(dom), 0);
        assert_int_equal(virDomainUndefine(dom), 0);
        virDomainFree(dom);
        unsigned before = watch_decisions_made(w);
        run_until(w, before + 4);
        assert_int_equal(watch_connect(w), 0); /* a reconnection, same process */
        settle(w);
        assert_false(exists(pu));
        virConnectClose(c);
        virEventRemoveTimeout(timer);
        struct watch *w2;
        assert_int_equal(watch_new(&cfg, "test:///default", &w2), 0);
        assert_int_equal(watch_run(w2, true), 0); /* a new watcher: it cannot know */
        assert_true(exists(pu));
        watch_free(w2);
        assert_int_equal(rmdir(du), 0);

        /* the operator removed the directory: resolved */
        assert_int_equal(rmdir(dl), 0);
        assert_int_equal(watch_run(w, true), 0);
        assert_false(exists(pl));
        assert_int_equal(rmdir(dk), 0);
        watch_free(w);
}

/* Waits (at most 10 s) until file holds line, written by a detached job. */
static bool wait_line(const char *file, const char *line)
{
        for (int i = 0; i < 200; i++) {
                _cleanup_free_ char *t = NULL;
                if (read_full_file(file, 65536, &t) >= 0 && strstr(t, line))
                        return true;
                usleep(50000);
        }
        return false;
}

static void assert_proof(const char *uuid, int kind, const char *detail)
{
        struct proof p;
        assert_int_equal(proof_load(cfg.state_dir, uuid, &p), 0);
        assert_string_equal(proof_kind_to_string(p.kind), proof_kind_to_string(kind));
        assert_string_equal(p.by, "watch");
        assert_non_null(strstr(p.detail, detail));
        proof_free(&p);
}

/* The migration events libvirt's test driver cannot send, queued as if
 * libvirt had: what the watcher records and hands over for each (the proof
 * file's kind and author, the job it starts), not only what it decides. */
static void test_migration_events(void **state)
{
        struct watch *w;
        (void)state;
        _cleanup_free_ char *prog = pathf("%s/fake-cleanup", root), *ran = pathf("%s/cleanup-ran", root);
        _cleanup_free_ char *j2 = pathf("%s/state/journal/%s", root, U2);
        put(prog, "#!/bin/sh\necho \"$*\" >> \"$(dirname \"$0\")/cleanup-ran\"\n");
        assert_int_equal(chmod(prog, 0755), 0);
        char *no_job = cfg.cleanup_program;
        cfg.cleanup_program = prog;
        _cleanup_free_ char *prom = pathf("%s/migkit.prom", root);
        free(cfg.metrics_textfile);
        cfg.metrics_textfile = strdup(prom);

        assert_int_equal(watch_new(&cfg, "test:///default", &w), 0);
        int timer = virEventAddTimeout(50, tick, NULL, NULL);
        assert_true(timer >= 0);
        assert_int_equal(watch_connect(w), 0);
        settle(w);

        /* the source of a completed migration: proof "migrated" by watch,
         * then `migkit-cleanup source` */
        unsigned before = watch_decisions_made(w);
        watch_queue_event(w, U1, "left", VIR_DOMAIN_EVENT_STOPPED, VIR_DOMAIN_EVENT_STOPPED_MIGRATED);
        run_until(w, before + 1);
        assert_proof(U1, PROOF_MIGRATED, "stopped/migrated");
        assert_true(wait_line(ran, "source " U1 "\n"));
        assert_true(has_line(prom, "migkit_migrations_out_total{result=\"success\"} 1"));

        /* the destination of a failed one (a journal started after this
         * connection, its incoming QEMU's start seen): proof
         * "incoming-failed", then `migkit-cleanup rollback` */
        write_journal(U2, time(NULL) + 1);
        before = watch_decisions_made(w);
        watch_queue_event(w, U2, "failed-in", VIR_DOMAIN_EVENT_STARTED, VIR_DOMAIN_EVENT_STARTED_MIGRATED);
        watch_queue_event(w, U2, "failed-in", VIR_DOMAIN_EVENT_STOPPED, VIR_DOMAIN_EVENT_STOPPED_FAILED);
        run_until(w, before + 2);
        assert_proof(U2, PROOF_INCOMING_FAILED, "stopped/failed");
        assert_true(wait_line(ran, "rollback " U2 "\n"));
        assert_true(exists(j2)); /* the rollback's to remove, not the watcher's */
        assert_true(has_line(prom, "migkit_migrations_in_total{result=\"failed\"} 1"));
        assert_true(has_line(prom, "migkit_migrations_in_total{result=\"success\"} 0"));

        /* the destination of a completed one, post-copy: resumed/migrated
         * twice (libvirt sends it again once the last page arrived), one
         * migration in */
        _cleanup_free_ char *j3 = pathf("%s/state/journal/%s", root, U3);
        write_journal(U3, time(NULL) + 1);
        before = watch_decisions_made(w);
        watch_queue_event(w, U3, "arrived", VIR_DOMAIN_EVENT_STARTED, VIR_DOMAIN_EVENT_STARTED_MIGRATED);
        watch_queue_event(w, U3, "arrived", VIR_DOMAIN_EVENT_RESUMED, VIR_DOMAIN_EVENT_RESUMED_MIGRATED);
        watch_queue_event(w, U3, "arrived", VIR_DOMAIN_EVENT_RESUMED, VIR_DOMAIN_EVENT_RESUMED_MIGRATED);
        run_until(w, before + 3);
        assert_true(has_line(prom, "migkit_migrations_in_total{result=\"success\"} 1"));
        assert_true(has_line(prom, "migkit_migrations_out_total{result=\"success\"} 1"));
        (void)unlink(j3);

        virEventRemoveTimeout(timer);
        watch_free(w);
        assert_true(proof_clear(cfg.state_dir, U1) > 0);
        assert_true(proof_clear(cfg.state_dir, U2) > 0);
        assert_int_equal(unlink(j2), 0);
        assert_int_equal(unlink(ran), 0);
        cfg.cleanup_program = no_job;
        free(cfg.metrics_textfile);
        cfg.metrics_textfile = strdup("");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_source_rows),
                cmocka_unit_test(test_plain_guest_rows),
                cmocka_unit_test(test_destination_success_rows),
                cmocka_unit_test(test_destination_failure_rows),
                cmocka_unit_test(test_arrived_then_stopped_is_never_a_failure),
                cmocka_unit_test(test_postcopy_rows),
                cmocka_unit_test(test_found_rows),
                cmocka_unit_test(test_invariants_exhaustive),
                cmocka_unit_test(test_texts),
                cmocka_unit_test(test_plumbing),
                cmocka_unit_test(test_leftover_plumbing),
                cmocka_unit_test(test_incoming_kept_across_shutdown),
                cmocka_unit_test(test_leftover_rows),
                cmocka_unit_test(test_migration_events),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
