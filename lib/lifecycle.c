/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "lifecycle.h"

#include <libvirt/libvirt.h>

#include "util.h"

static struct watch_decision decision(unsigned actions, int pending, const char *why)
{
        return (struct watch_decision){ .actions = actions, .pending = pending, .why = why };
}

static const char no_journal[] = "no journal here: not an incoming migration prepared by migkit";

/* Connected, on this very connection, since before the journal started
 * (whole seconds: the journal's time is rounded down, so strictly before). */
static bool connected_throughout(const struct watch_facts *f)
{
        return f->connected_since > 0 && f->journal_started > 0 && f->connected_since < f->journal_started;
}

static struct watch_decision postcopy_failed(const struct watch_facts *f)
{
        if (f->arrived)
                return decision(0, 0, "it had arrived here before");
        return decision(WATCH_MARK_POSTCOPY | WATCH_PENDING, WATCH_PENDING_POSTCOPY_FAILED,
                        "post-copy failed: the guest is paused, its state split between the hosts");
}

/* A guest with a journal stopped here, not by migrating away. */
static struct watch_decision stopped_with_journal(const struct watch_facts *f)
{
        if (f->arrived)
                return decision(WATCH_FIXUP | WATCH_COMMIT, 0, "it had arrived here: a stop after a successful migration, not a failure");
        if (f->postcopy)
                return decision(WATCH_PENDING, WATCH_PENDING_POSTCOPY, "post-copy had begun: never rolled back automatically");
        if (!connected_throughout(f))
                return decision(WATCH_PENDING, WATCH_PENDING_NOT_CONNECTED,
                                "migkit-watch was not connected all the time since the journal started");
        if (!f->incoming_seen)
                return decision(WATCH_PENDING, WATCH_PENDING_NOT_SEEN, "no incoming QEMU start (started/migrated) of this attempt was seen");
        return decision(WATCH_PROOF_FAILED | WATCH_RUN_ROLLBACK, 0, "stopped before the incoming migration completed");
}

struct watch_decision watch_decide_event(int event, int detail, const struct watch_facts *f)
{
        switch (event) {
        case VIR_DOMAIN_EVENT_STOPPED:
                if (detail == VIR_DOMAIN_EVENT_STOPPED_MIGRATED)
                        /* Only the source of a completed migration sees it. A
                         * journal left from the guest's arrival here is moot. */
                        return decision((f->journal ? WATCH_COMMIT : 0) | WATCH_PROOF_MIGRATED | WATCH_RUN_SOURCE, 0, NULL);
                if (!f->journal)
                        return decision(0, 0, no_journal);
                return stopped_with_journal(f);

        case VIR_DOMAIN_EVENT_RESUMED:
                if (!f->journal)
                        return decision(0, 0, no_journal);
                switch (detail) {
                case VIR_DOMAIN_EVENT_RESUMED_MIGRATED:
                        /* Pre-copy: the guest runs here with all its state. Post-copy:
                         * libvirt sends it again once the last page arrived. */
                        return decision(WATCH_MARK_ARRIVED | WATCH_FIXUP | WATCH_COMMIT, 0, NULL);
                case VIR_DOMAIN_EVENT_RESUMED_POSTCOPY:
                        if (f->arrived)
                                return decision(0, 0, "it had arrived here before");
                        return decision(WATCH_MARK_POSTCOPY, 0,
                                        "post-copy began: the guest runs here while its memory still arrives; "
                                        "nothing is committed before resumed/migrated");
                case VIR_DOMAIN_EVENT_RESUMED_POSTCOPY_FAILED:
                        return postcopy_failed(f);
                default:
                        return decision(0, 0, "not a migration event");
                }

        case VIR_DOMAIN_EVENT_SUSPENDED:
                if (!f->journal)
                        return decision(0, 0, no_journal);
                if (detail == VIR_DOMAIN_EVENT_SUSPENDED_POSTCOPY_FAILED)
                        return postcopy_failed(f);
                /* virsh migrate --suspend: the migration ends with the guest
                 * paused here, and no resumed/migrated. */
                if (detail == VIR_DOMAIN_EVENT_SUSPENDED_PAUSED && f->incoming_seen && !f->arrived && !f->postcopy)
                        return decision(WATCH_MARK_ARRIVED | WATCH_FIXUP | WATCH_COMMIT, 0,
                                        "the incoming migration completed with the guest left paused");
                return decision(0, 0, "not a migration event");

        case VIR_DOMAIN_EVENT_STARTED:
                if (detail == VIR_DOMAIN_EVENT_STARTED_MIGRATED)
                        return decision(0, 0, f->journal ? "incoming migration begun; waiting for resumed/migrated"
                                                         : "incoming migration begun; migkit prepared nothing for it");
                return decision(0, 0, f->journal ? "not a migration event" : no_journal);

        default:
                return decision(0, 0, f->journal ? "not a migration event" : no_journal);
        }
}

struct watch_decision watch_decide_found(int state, int reason, const struct watch_facts *f)
{
        if (!f->journal)
                return decision(0, 0, no_journal);
        switch (state) {
        case VIR_DOMAIN_RUNNING:
                if (reason == VIR_DOMAIN_RUNNING_POSTCOPY)
                        return decision(WATCH_MARK_POSTCOPY, 0, "running in post-copy; nothing is committed before resumed/migrated");
                if (reason == VIR_DOMAIN_RUNNING_POSTCOPY_FAILED)
                        return postcopy_failed(f);
                /* fall through */
        case VIR_DOMAIN_BLOCKED:
        case VIR_DOMAIN_SHUTDOWN:
        case VIR_DOMAIN_PMSUSPENDED:
                return decision(WATCH_MARK_ARRIVED | WATCH_FIXUP | WATCH_COMMIT, 0, "it runs here: the incoming migration completed");
        case VIR_DOMAIN_PAUSED:
                if (reason == VIR_DOMAIN_PAUSED_MIGRATION || reason == VIR_DOMAIN_PAUSED_STARTING_UP)
                        return decision(0, 0, "incoming migration in progress; waiting for its events");
                if (reason == VIR_DOMAIN_PAUSED_POSTCOPY_FAILED)
                        return postcopy_failed(f);
                if (f->arrived)
                        return decision(WATCH_FIXUP | WATCH_COMMIT, 0, "it had arrived here before");
                return decision(0, 0, "paused: whether its incoming migration completed cannot be told; waiting");
        default: /* shut off, crashed, or not known here */
                if (f->arrived)
                        return decision(WATCH_FIXUP | WATCH_COMMIT, 0, "it had arrived here before");
                if (f->postcopy)
                        return decision(WATCH_PENDING, WATCH_PENDING_POSTCOPY, "post-copy had begun: never rolled back automatically");
                if (f->failed_proof)
                        return decision(0, 0, "an incoming-failed proof is on record: its rollback decides");
                if (f->pending)
                        return decision(0, 0, "a pending rollback is on record (see migkit-cleanup status)");
                return decision(WATCH_PENDING, WATCH_PENDING_NOT_CONNECTED, "it ended while migkit-watch was not connected");
        }
}

struct watch_decision watch_decide_leftover(int state, const struct watch_facts *f)
{
        if (f->journal)
                return decision(0, 0, "an incoming migration's journal names it: the journal decides");
        if (state != -1)
                return decision(0, 0, "libvirt has the domain here");
        if (f->migrated_proof)
                return decision(WATCH_RUN_SOURCE, 0, "a migrated proof is on record");
        if (f->pending_source)
                return decision(0, 0, "a pending source cleanup is on record (see migkit-cleanup status)");
        if (f->departure_seen)
                return decision(0, 0, "its stop or undefine was seen: not a missed migration");
        return decision(WATCH_PENDING_SOURCE, WATCH_PENDING_LEFT_UNPROVEN,
                        "the domain left this host without a recorded migrated event: nothing is guessed");
}

bool watch_event_keeps_incoming(int event, int detail)
{
        if (event == VIR_DOMAIN_EVENT_STARTED)
                return detail == VIR_DOMAIN_EVENT_STARTED_MIGRATED;
        return event == VIR_DOMAIN_EVENT_SHUTDOWN;
}

char *watch_pending_text(int pending, const char *uuid)
{
        /* Each text names the UUID twice: before, uuid, middle, uuid, after. */
        static const char *const texts[][3] = {
                [WATCH_PENDING_NOT_CONNECTED] = {
                        "outcome of the incoming migration not seen (migkit-watch was not connected); check and run "
                        "`migkit-cleanup proof ", " incoming-failed` if it failed (`migkit-cleanup commit ",
                        "` if the guest arrived)" },
                [WATCH_PENDING_NOT_SEEN] = {
                        "outcome of the incoming migration not seen (migkit-watch saw no incoming QEMU start of "
                        "this attempt); check and run `migkit-cleanup proof ", " incoming-failed` if it failed "
                        "(`migkit-cleanup commit ", "` if the guest arrived)" },
                [WATCH_PENDING_POSTCOPY] = {
                        "the guest stopped after post-copy had begun (its state was split between the hosts); "
                        "never rolled back automatically: check where it ran last, then run `migkit-cleanup proof ",
                        " incoming-failed` if it did not arrive here, or `migkit-cleanup commit ", "` if it did" },
                [WATCH_PENDING_POSTCOPY_FAILED] = {
                        "post-copy migration failed: the guest is paused with its state split between the hosts; "
                        "recover it (virsh migrate --postcopy-resume), then run `migkit-cleanup commit ",
                        "` if it ends up running here, or `migkit-cleanup proof ", " incoming-failed` if not" },
                [WATCH_PENDING_LEFT_UNPROVEN] = {
                        LEFT_UNPROVEN_PREFIX " the domain left this host (libvirt here no longer knows it) without a "
                        "recorded migrated event (migkit-watch was not connected, and libvirt < 10.5 passes '-' "
                        "to the release hook for a migration and a shutdown alike); its instance directory is "
                        "kept: if the guest runs on another host, run `migkit-cleanup proof ", " migrated` then "
                        "`migkit-cleanup source ", "`; if it was deleted here, check the directory and remove it "
                        "by hand" },
        };
        char *s;

        if (pending <= WATCH_PENDING_NONE || (size_t)pending >= ARRAY_SIZE(texts))
                return NULL;
        if (asprintf(&s, "%s%s%s%s%s", texts[pending][0], uuid, texts[pending][1], uuid, texts[pending][2]) < 0)
                return NULL;
        return s;
}

const char *watch_event_name(int event, int detail, char *buf, size_t size)
{
        static const char *const events[] = { "defined", "undefined", "started", "suspended", "resumed",
                                              "stopped", "shutdown", "pmsuspended", "crashed" };
        static const char *const details[][9] = {
                { "added", "updated", "renamed", "from-snapshot" },
                { "removed", "renamed" },
                { "booted", "migrated", "restored", "from-snapshot", "wakeup" },
                { "paused", "migrated", "ioerror", "watchdog", "restored", "from-snapshot", "api-error", "postcopy",
                  "postcopy-failed" },
                { "unpaused", "migrated", "from-snapshot", "postcopy", "postcopy-failed" },
                { "shutdown", "destroyed", "crashed", "migrated", "saved", "failed", "from-snapshot" },
                { "finished", "guest", "host" },
                { "memory", "disk" },
                { "panicked", "crashloaded" },
        };
        if (event >= 0 && (size_t)event < ARRAY_SIZE(events) && detail >= 0 && detail < 9 && details[event][detail])
                snprintf(buf, size, "%s/%s", events[event], details[event][detail]);
        else if (event >= 0 && (size_t)event < ARRAY_SIZE(events))
                snprintf(buf, size, "%s/%d", events[event], detail);
        else
                snprintf(buf, size, "event-%d/%d", event, detail);
        return buf;
}

const char *watch_state_name(int state)
{
        switch (state) {
        case VIR_DOMAIN_RUNNING: return "running";
        case VIR_DOMAIN_BLOCKED: return "blocked";
        case VIR_DOMAIN_PAUSED: return "paused";
        case VIR_DOMAIN_SHUTDOWN: return "shutting-down";
        case VIR_DOMAIN_SHUTOFF: return "shut-off";
        case VIR_DOMAIN_CRASHED: return "crashed";
        case VIR_DOMAIN_PMSUSPENDED: return "pmsuspended";
        case -1: return "not-defined";
        default: return "no-state";
        }
}
