/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* migkit-watch's event loop: the connection to libvirt with its close
 * callback and reconnection, the queue of lifecycle events, the
 * reconciliation of journals and instance directories at every connection,
 * and the timers. What a decision leads to is in watchact.c. */
#include "watch-priv.h"

#include <dirent.h>
#include <libvirt/virterror.h>
#include <signal.h>
#include <sys/signalfd.h>

#include "hostmark.h"
#include "instdir.h"
#include "metrics.h"
#include "pending.h"
#include "state.h"
#include "validate.h"
#include "virt.h"

#define BACKOFF_MIN_MS 1000
#define BACKOFF_MAX_MS 30000

/* ---- the watcher --------------------------------------------------------- */

/* Whatever libvirt's connection did: the events seen so far are no proof of
 * having seen everything from now on. */
static void forget_connection(struct watch *w)
{
        w->connected_since = 0;
        strv_free(w->incoming);
        w->incoming = NULL;
}

static void disconnect(struct watch *w);

void watch_queue_event(struct watch *w, const char *uuid, const char *name, int event, int detail)
{
        struct item it = { .event = event, .detail = detail, .gen = w->gen };

        w->n_events++;
        if (!uuid || strlen(uuid) >= sizeof(it.uuid))
                return;
        strcpy(it.uuid, uuid);
        it.name = name ? strdup(name) : NULL;
        struct item *nq = realloc(w->queue, (w->n_queue + 1) * sizeof(*nq));
        if (!nq) {
                char what[64];
                log_error("domain %s (%s): %s: out of memory; event lost", name ? name : "-", it.uuid,
                          watch_event_name(event, detail, what, sizeof(what)));
                free(it.name);
                return;
        }
        w->queue = nq;
        w->queue[w->n_queue++] = it;
        arm(w->work_timer, 0);
}

static int on_lifecycle(virConnectPtr conn, virDomainPtr dom, int event, int detail, void *opaque)
{
        struct watch *w = opaque;
        char uuid[VIR_UUID_STRING_BUFLEN];
        (void)conn;

        if (virDomainGetUUIDString(dom, uuid) < 0) {
                w->n_events++;
                return 0;
        }
        watch_queue_event(w, uuid, virDomainGetName(dom), event, detail);
        return 0;
}

static void on_close(virConnectPtr conn, int reason, void *opaque)
{
        struct watch *w = opaque;
        (void)conn;
        log_warning("lost the connection to libvirt at %s (%s); reconnecting", w->uri, virt_close_reason(reason));
        forget_connection(w);
        /* The connection is closed from the timer, not inside libvirt's callback. */
        w->backoff_ms = 0;
        arm(w->connect_timer, 0);
}

static void disconnect(struct watch *w)
{
        if (!w->conn)
                return;
        if (w->cb_id >= 0)
                (void)virConnectDomainEventDeregisterAny(w->conn, w->cb_id);
        (void)virConnectUnregisterCloseCallback(w->conn, on_close);
        virConnectClose(w->conn);
        virResetLastError();
        w->conn = NULL;
        w->cb_id = -1;
        forget_connection(w);
}

int watch_connect(struct watch *w)
{
        disconnect(w);
        virConnectPtr c = virConnectOpen(w->uri);
        if (!c)
                return log_warning_errno(ECONNREFUSED, "cannot connect to libvirt at %s: %s", w->uri, virGetLastErrorMessage());
        int id = virConnectDomainEventRegisterAny(c, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                                  VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle), w, NULL);
        /* Without the close callback a dead connection would look alive,
         * and "connected throughout" would be a lie. */
        if (id < 0 || virConnectRegisterCloseCallback(c, on_close, w, NULL) < 0) {
                int r = log_warning_errno(ECONNREFUSED, "cannot subscribe to domain events of libvirt at %s: %s", w->uri,
                                          virGetLastErrorMessage());
                if (id >= 0)
                        (void)virConnectDomainEventDeregisterAny(c, id);
                virConnectClose(c);
                return r;
        }
        /* Notice a hung daemon too (not every driver has keepalive). */
        (void)virConnectSetKeepAlive(c, 5, 3);
        virResetLastError();
        w->conn = c;
        w->cb_id = id;
        w->gen++;
        w->connected_since = time(NULL);
        w->scan_wanted = true;
        arm(w->work_timer, 0);
        log_info("connected to libvirt at %s; watching domain lifecycle events", w->uri);
        int m = metrics_update(w->cfg); /* the gauges, and the file exists from the start */
        if (m < 0)
                log_warning_errno(m, "cannot write the metrics to %s: %m", w->cfg->metrics_textfile);
        return 0;
}

/* The migrations in and out for [metrics] textfile: a guest that left
 * (stopped/migrated), one whose incoming migration completed (the first
 * arrival decided) or failed (the failure proven). */
static void count_event(struct watch *w, const struct item *it, const struct watch_decision *d, const struct watch_facts *f,
                        const char *what)
{
        int ev = -1;
        if (it->event == VIR_DOMAIN_EVENT_STOPPED && it->detail == VIR_DOMAIN_EVENT_STOPPED_MIGRATED)
                ev = METRIC_OUT_SUCCESS;
        else if ((d->actions & WATCH_MARK_ARRIVED) && !f->arrived)
                ev = METRIC_IN_SUCCESS;
        else if (d->actions & WATCH_PROOF_FAILED)
                ev = METRIC_IN_FAILED;
        int r = ev < 0 ? 0 : metrics_count(w->cfg, ev);
        if (r < 0)
                log_warning_errno(r, "domain %s (%s): %s: cannot update the metrics in %s: %m", it->name ? it->name : "-", it->uuid,
                                  what, w->cfg->metrics_textfile);
}

/* Is the pending source item of uuid one this watcher recorded because the
 * domain left unseen (WATCH_PENDING_LEFT_UNPROVEN)? */
static bool left_unproven_pending(struct watch *w, const char *uuid)
{
        _cleanup_(pending_free) struct pending p = { 0 };
        _cleanup_free_ char *name = state_pending_name(uuid, "source");
        if (!name || pending_load(w->cfg->state_dir, name, &p) < 0)
                return false;
        for (size_t i = 0; p.reasons[i]; i++)
                if (strstr(p.reasons[i], LEFT_UNPROVEN_PREFIX))
                        return true;
        return false;
}

static void handle_event(struct watch *w, const struct item *it)
{
        _cleanup_(journal_free) struct journal j = { 0 };
        struct watch_facts f;
        char what[64];
        bool current = it->gen == w->gen && w->connected_since > 0;

        watch_event_name(it->event, it->detail, what, sizeof(what));
        watch_gather(w, it->uuid, &j, &f);
        if (!current)
                f.connected_since = 0, f.incoming_seen = false;
        struct watch_decision d = watch_decide_event(it->event, it->detail, &f);

        bool started_in = it->event == VIR_DOMAIN_EVENT_STARTED && it->detail == VIR_DOMAIN_EVENT_STARTED_MIGRATED;
        bool left = it->event == VIR_DOMAIN_EVENT_STOPPED && it->detail == VIR_DOMAIN_EVENT_STOPPED_MIGRATED;
        if (started_in || left) {
                /* a new attempt, or the guest is gone: what was seen of the
                 * earlier stay is void */
                strv_remove(w->arrived, it->uuid);
                strv_remove(w->postcopy, it->uuid);
        }
        /* A departure this watcher saw was decided on then (a migration
         * away proven, anything else not one); one it did not see is
         * reported as a leftover at the next connection. */
        if (it->event == VIR_DOMAIN_EVENT_STOPPED || it->event == VIR_DOMAIN_EVENT_UNDEFINED)
                watch_remember(&w->gone_seen, it->uuid);
        else if (it->event == VIR_DOMAIN_EVENT_STARTED || it->event == VIR_DOMAIN_EVENT_DEFINED)
                strv_remove(w->gone_seen, it->uuid);
        if (started_in && current)
                watch_remember(&w->incoming, it->uuid);
        else if (!current || !watch_event_keeps_incoming(it->event, it->detail))
                strv_remove(w->incoming, it->uuid);
        /* It runs here again (a migration back): a source cleanup of it
         * refused here earlier (shared storage) is moot. */
        if (it->event == VIR_DOMAIN_EVENT_RESUMED && it->detail == VIR_DOMAIN_EVENT_RESUMED_MIGRATED &&
            pending_clear(w->cfg->state_dir, it->uuid, "source") > 0)
                log_info("domain %s (%s): %s: it runs here again; cleared its pending source cleanup", it->name ? it->name : "-",
                         it->uuid, what);
        /* Defined or started here: a directory found without its domain at
         * connect was not left behind after all (a guest being created
         * defines its domain after making its directory). */
        if ((it->event == VIR_DOMAIN_EVENT_DEFINED || it->event == VIR_DOMAIN_EVENT_STARTED) &&
            left_unproven_pending(w, it->uuid) && pending_clear(w->cfg->state_dir, it->uuid, "source") > 0)
                log_info("domain %s (%s): %s: libvirt has the domain here; cleared its pending source cleanup "
                         "(awaiting proof)", it->name ? it->name : "-", it->uuid, what);
        watch_act(w, it->uuid, it->name, what, &d, &j);
        count_event(w, it, &d, &f, what);
}

/* At (re)connect: one journal against libvirt's view. */
/* Asks libvirt about the domain of uuid: 1 with *ret when it knows it, 0
 * when it does not, -1 when it cannot be asked (said, naming what the
 * domain is looked up for, and asked again later). */
static int lookup(struct watch *w, const char *uuid, const char *about, virDomainPtr *ret)
{
        *ret = virDomainLookupByUUIDString(w->conn, uuid);
        if (*ret)
                return 1;
        virErrorPtr e = virGetLastError();
        if (e && e->code == VIR_ERR_NO_DOMAIN)
                return 0;
        log_warning("uuid %s: cannot ask libvirt about the domain of %s: %s; asking again in %d s", uuid, about,
                    virGetLastErrorMessage(), RETRY_MS / 1000);
        arm(w->retry_timer, RETRY_MS);
        return -1;
}

static void handle_found(struct watch *w, const char *uuid)
{
        _cleanup_(journal_free) struct journal j = { 0 };
        struct watch_facts f;
        int state = -1, reason = 0;
        char what[64];
        _cleanup_free_ char *name = NULL;
        virDomainPtr dom;

        int k = lookup(w, uuid, "its journal", &dom);
        if (k < 0)
                return;
        if (k > 0) {
                const char *n = virDomainGetName(dom);
                name = n ? strdup(n) : NULL;
                int r = virDomainGetState(dom, &state, &reason, 0);
                virDomainFree(dom);
                if (r < 0) {
                        log_warning("uuid %s: cannot get the state of domain %s: %s; asking again in %d s", uuid,
                                    name ? name : "-", virGetLastErrorMessage(), RETRY_MS / 1000);
                        arm(w->retry_timer, RETRY_MS);
                        return;
                }
        }
        watch_gather(w, uuid, &j, &f);
        struct watch_decision d = watch_decide_found(state, reason, &f);
        snprintf(what, sizeof(what), "at connect, %s", watch_state_name(state));
        watch_act(w, uuid, name, what, &d, &j);
}

/* At (re)connect: an instance directory no journal names, against
 * libvirt's view (watch_decide_leftover). */
static void handle_leftover(struct watch *w, const char *uuid)
{
        _cleanup_(journal_free) struct journal j = { 0 };
        struct watch_facts f;
        int state = -1;
        _cleanup_free_ char *about = NULL;
        virDomainPtr dom;

        if (asprintf(&about, "instance directory %s/%s", w->cfg->instances_path, uuid) < 0)
                about = NULL;
        int k = lookup(w, uuid, about ? about : "its instance directory", &dom);
        if (k < 0)
                return;
        if (k > 0) {
                /* defined or running here (e.g. it came back): nothing left
                 * behind; a pending item this watcher recorded is moot */
                virDomainFree(dom);
                if (left_unproven_pending(w, uuid) && pending_clear(w->cfg->state_dir, uuid, "source") > 0)
                        log_info("uuid %s: libvirt has the domain here again; cleared its pending source cleanup "
                                 "(awaiting proof)", uuid);
                return;
        }
        watch_gather(w, uuid, &j, &f);
        struct watch_decision d = watch_decide_leftover(state, &f);
        if (!d.actions)
                return; /* one line per leftover at most: quiet when nothing is done */
        watch_act(w, uuid, NULL, "at connect, not-defined, instance directory left", &d, &j);
}

/* Instance directories whose domain libvirt does not know here (a guest
 * that left while no migrated event was recorded) become pending source
 * items; pending source items whose directory is gone are cleared. Nothing
 * is removed. Not on a shared filesystem: there every host sees every
 * guest's directory. */
static void scan_instances(struct watch *w)
{
        _cleanup_strv_ char **uuids = NULL, **pend = NULL;
        struct dirent *de;

        if (state_list(w->cfg->state_dir, STATE_PENDING, &pend) < 0)
                pend = NULL;
        for (size_t i = 0; pend && pend[i]; i++) {
                char u[37];
                const char *action;
                if (state_pending_split(pend[i], u, &action) == 0 && streq(action, "source") &&
                    instance_dir_exists(w->cfg, u) == 0 && pending_clear(w->cfg->state_dir, u, "source") > 0)
                        log_info("uuid %s: %s/%s is gone; cleared its pending source cleanup", u, w->cfg->instances_path, u);
        }

        (void)hostmark_touch_here(w->cfg);
        _cleanup_free_ char *detail = NULL;
        int sh = instances_prove_local(w->cfg, &detail);
        if (sh == -EREMOTE)
                log_info("not looking for instance directories left behind: %s", detail ? detail : "shared");
        else if (sh < 0 && sh != -ENOENT)
                log_warning("not looking for instance directories left behind: %s", detail ? detail : strerror(-sh));
        if (sh < 0)
                return;
        DIR *d = opendir(w->cfg->instances_path);
        if (!d) {
                if (errno != ENOENT)
                        log_warning_errno(errno, "cannot list the instance directories in %s: %m", w->cfg->instances_path);
                return;
        }
        while ((de = readdir(d)))
                if (uuid_is_valid(de->d_name) &&
                    (de->d_type == DT_DIR || (de->d_type == DT_UNKNOWN && instance_dir_exists(w->cfg, de->d_name) == 1)) &&
                    strv_push(&uuids, de->d_name) < 0)
                        break;
        closedir(d);
        for (size_t i = 0; uuids && uuids[i] && w->conn; i++)
                handle_leftover(w, uuids[i]);
}

static void scan_journals(struct watch *w)
{
        _cleanup_strv_ char **names = NULL;

        int r = state_list(w->cfg->state_dir, STATE_JOURNAL, &names);
        if (r < 0) {
                log_warning_errno(r, "cannot list the journals in %s/journal: %m", w->cfg->state_dir);
                return;
        }
        for (size_t i = 0; names && names[i] && w->conn; i++)
                if (uuid_is_valid(names[i]))
                        handle_found(w, names[i]);
}

static void scan(struct watch *w)
{
        scan_journals(w);
        if (w->conn)
                scan_instances(w);
        if (w->conn)
                log_info("looked at the journals and instance directories after connecting");
}

static void do_work(struct watch *w)
{
        if (w->scan_wanted && w->conn) {
                w->scan_wanted = false;
                scan(w);
        }
        while (w->n_queue > 0) {
                struct item *q = w->queue;
                size_t n = w->n_queue;
                w->queue = NULL;
                w->n_queue = 0;
                for (size_t i = 0; i < n; i++) {
                        handle_event(w, &q[i]);
                        free(q[i].name);
                }
                free(q);
        }
}

static void on_work(int timer, void *opaque)
{
        struct watch *w = opaque;
        virEventUpdateTimeout(timer, -1);
        do_work(w);
}

static void on_retry(int timer, void *opaque)
{
        struct watch *w = opaque;
        virEventUpdateTimeout(timer, -1);
        w->scan_wanted = true;
        arm(w->work_timer, 0);
}

static void on_connect_timer(int timer, void *opaque)
{
        struct watch *w = opaque;
        virEventUpdateTimeout(timer, -1);
        if (watch_connect(w) == 0) {
                w->backoff_ms = 0;
                return;
        }
        w->backoff_ms = w->backoff_ms ? w->backoff_ms * 2 : BACKOFF_MIN_MS;
        if (w->backoff_ms > BACKOFF_MAX_MS)
                w->backoff_ms = BACKOFF_MAX_MS;
        log_info("trying libvirt at %s again in %u s", w->uri, w->backoff_ms / 1000);
        virEventUpdateTimeout(timer, (int)w->backoff_ms);
}

static void on_signal(int watch_id, int fd, int events, void *opaque)
{
        struct watch *w = opaque;
        struct signalfd_siginfo si;
        (void)watch_id;
        (void)events;
        while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
                log_info("received %s; exiting", strsignal((int)si.ssi_signo));
                w->stop = true;
        }
}

/* ---- life cycle ---------------------------------------------------------- */

int watch_new(const struct mk_config *cfg, const char *uri, struct watch **ret)
{
        static bool loop_registered;
        struct watch *w;

        *ret = NULL;
        virt_quiet_errors();
        if (!loop_registered) {
                if (virEventRegisterDefaultImpl() < 0)
                        return log_error_errno(EIO, "cannot set up libvirt's event loop: %s", virGetLastErrorMessage());
                loop_registered = true;
        }
        w = calloc(1, sizeof(*w));
        if (!w || !(w->uri = strdup(uri ? uri : cfg->libvirt_uri))) {
                free(w);
                return -ENOMEM;
        }
        w->cfg = cfg;
        w->cb_id = -1;
        w->work_timer = virEventAddTimeout(-1, on_work, w, NULL);
        w->connect_timer = virEventAddTimeout(-1, on_connect_timer, w, NULL);
        w->retry_timer = virEventAddTimeout(-1, on_retry, w, NULL);
        if (w->work_timer < 0 || w->connect_timer < 0 || w->retry_timer < 0) {
                watch_free(w);
                return log_error_errno(EIO, "cannot add timers to libvirt's event loop");
        }
        *ret = w;
        return 0;
}

int watch_iterate(struct watch *w)
{
        (void)w;
        if (virEventRunDefaultImpl() < 0)
                return log_error_errno(EIO, "libvirt's event loop failed: %s", virGetLastErrorMessage());
        return 0;
}

int watch_run(struct watch *w, bool once)
{
        int r;

        if (once) {
                r = watch_connect(w);
                if (r < 0)
                        return r;
                do_work(w);
                disconnect(w);
                return 0;
        }

        sigset_t mask;
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return log_error_errno(errno, "cannot block SIGTERM and SIGINT: %m");
        _cleanup_close_ int sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
        if (sfd < 0)
                return log_error_errno(errno, "cannot create a signalfd: %m");
        int hid = virEventAddHandle(sfd, VIR_EVENT_HANDLE_READABLE, on_signal, w, NULL);
        if (hid < 0)
                return log_error_errno(EIO, "cannot watch the signalfd in libvirt's event loop");
        signal(SIGPIPE, SIG_IGN);

        arm(w->connect_timer, 0);
        r = 0;
        while (!w->stop && r == 0)
                r = watch_iterate(w);
        virEventRemoveHandle(hid);
        disconnect(w);
        return r;
}

unsigned watch_events_seen(const struct watch *w)
{
        return w->n_events;
}

unsigned watch_decisions_made(const struct watch *w)
{
        return w->n_decisions;
}

bool watch_is_connected(const struct watch *w)
{
        return w->conn && w->connected_since > 0;
}

void watch_free(struct watch *w)
{
        if (!w)
                return;
        disconnect(w);
        if (w->work_timer >= 0)
                virEventRemoveTimeout(w->work_timer);
        if (w->connect_timer >= 0)
                virEventRemoveTimeout(w->connect_timer);
        if (w->retry_timer >= 0)
                virEventRemoveTimeout(w->retry_timer);
        for (size_t i = 0; i < w->n_queue; i++)
                free(w->queue[i].name);
        free(w->queue);
        strv_free(w->incoming);
        strv_free(w->arrived);
        strv_free(w->postcopy);
        strv_free(w->gone_seen);
        free(w->uri);
        free(w);
}
