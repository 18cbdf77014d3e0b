/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "migrate.h"

#include <ctype.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <libvirt/virterror.h>

#include "converge.h"
#include "dispatch.h"
#include "domxml.h"
#include "instdir.h"
#include "limit.h"
#include "log.h"
#include "preflight.h"
#include "progress.h"
#include "proof.h"
#include "upload.h"
#include "util.h"
#include "virt.h"

static volatile sig_atomic_t abort_flag;

void migrate_request_abort(void) { abort_flag = 1; }
bool migrate_abort_requested(void) { return abort_flag != 0; }



int migrate_exit_code(int status)
{
        switch (status) {
        case MIGRATE_OK: return MIGKIT_EXIT_OK;
        case MIGRATE_REFUSED: return MIGKIT_EXIT_REFUSED;
        case MIGRATE_ABORTED: return MIGKIT_EXIT_ABORTED;
        default: return MIGKIT_EXIT_FAILED;
        }
}

static bool host_is_valid(const char *h)
{
        if (!*h || strlen(h) > 253 || h[0] == '-')
                return false;
        for (const char *p = h; *p; p++)
                if (!isalnum((unsigned char)*p) && !strchr(".-_:[]", *p))
                        return false;
        return true;
}

int migrate_dest_uri(const char *tmpl, const char *dest, char **ret)
{
        *ret = NULL;
        if (strstr(dest, "://")) {
                *ret = strdup(dest);
                return *ret ? 0 : -ENOMEM;
        }
        if (!host_is_valid(dest) || !strstr(tmpl, "{dest}"))
                return -EINVAL;
        size_t n = 0;
        for (const char *p = strstr(tmpl, "{dest}"); p; p = strstr(p + 6, "{dest}"))
                n++;
        char *s = malloc(strlen(tmpl) + n * strlen(dest) + 1), *o = s;
        if (!s)
                return -ENOMEM;
        for (const char *p = tmpl; *p;) {
                if (strncmp(p, "{dest}", 6) == 0) {
                        o = stpcpy(o, dest);
                        p += 6;
                } else
                        *o++ = *p++;
        }
        *o = 0;
        *ret = s;
        return 0;
}

bool migrate_uri_is_plain(const char *uri)
{
        const char *e = strstr(uri, "://");
        if (!e)
                return false;
        size_t n = (size_t)(e - uri);
        return (n >= 4 && strncmp(e - 4, "+tcp", 4) == 0) || (n == 3 && strncmp(uri, "tcp", 3) == 0);
}

int migrate_build(const struct mk_config *cfg, const struct migrate_opts *o, unsigned long *ret_flags,
                  virTypedParameterPtr *ret_params, int *ret_nparams, char ***warnings)
{
        virTypedParameterPtr params = NULL;
        int n = 0, maxp = 0;
        unsigned long flags = VIR_MIGRATE_LIVE | VIR_MIGRATE_PEER2PEER | VIR_MIGRATE_PERSIST_DEST;
        bool ac = o->auto_converge < 0 ? cfg->migrate_auto_converge : o->auto_converge;
        bool pc = o->postcopy < 0 ? cfg->migrate_postcopy : o->postcopy;
        int bw = o->bandwidth < 0 ? (int)cfg->migrate_bandwidth : o->bandwidth;
        _cleanup_strv_ char **warn = NULL;

        /* the typed-parameter helpers use libvirt's error state, which only
         * virInitialize (or opening a connection) sets up */
        if (virInitialize() < 0)
                return -EIO;
        if (!o->keep_source)
                flags |= VIR_MIGRATE_UNDEFINE_SOURCE;
        if (o->tunnelled)
                flags |= VIR_MIGRATE_TUNNELLED; /* the stream goes through the libvirt connection */
        else if (cfg->migrate_tls)
                flags |= VIR_MIGRATE_TLS;
        if (ac)
                flags |= VIR_MIGRATE_AUTO_CONVERGE;
        if (pc)
                flags |= VIR_MIGRATE_POSTCOPY;
        if (o->compress)
                flags |= VIR_MIGRATE_COMPRESSED;
        if (o->copy_disks && o->copy_disks[0])
                flags |= VIR_MIGRATE_NON_SHARED_DISK;
        if (o->parallel > 1)
                flags |= VIR_MIGRATE_PARALLEL;

        if (bw > 0 && virTypedParamsAddULLong(&params, &n, &maxp, VIR_MIGRATE_PARAM_BANDWIDTH, (unsigned long long)bw) < 0)
                goto oom;
        for (size_t i = 0; o->copy_disks && o->copy_disks[i]; i++)
                if (virTypedParamsAddString(&params, &n, &maxp, VIR_MIGRATE_PARAM_MIGRATE_DISKS, o->copy_disks[i]) < 0)
                        goto oom;
        if (o->parallel > 1 && virTypedParamsAddInt(&params, &n, &maxp, VIR_MIGRATE_PARAM_PARALLEL_CONNECTIONS, (int)o->parallel) < 0)
                goto oom;
        if (o->dest_xml && virTypedParamsAddString(&params, &n, &maxp, VIR_MIGRATE_PARAM_DEST_XML, o->dest_xml) < 0)
                goto oom;

        if (warnings) {
                _cleanup_free_ char *uri = NULL;
                if (migrate_dest_uri(cfg->migrate_uri, o->dest, &uri) == 0 && migrate_uri_is_plain(uri)) {
                        _cleanup_free_ char *w = NULL;
                        if (asprintf(&w, "%s is plain TCP: the libvirt connection to the destination is neither encrypted nor "
                                         "authenticated; use qemu+tls ([migrate] uri in %s)", uri, cfg->file ? cfg->file : "migkit.conf") < 0 ||
                            strv_push(&warn, w) < 0)
                                goto oom;
                }
                if (!o->tunnelled && !cfg->migrate_tls &&
                    strv_push(&warn, "the migration stream (the guest's memory) is not encrypted ([migrate] tls = no)") < 0)
                        goto oom;
                *warnings = TAKE_PTR(warn);
        }
        *ret_flags = flags;
        *ret_params = params;
        *ret_nparams = n;
        return 0;
oom:
        virTypedParamsFree(params, n);
        return -ENOMEM;
}

void migrate_sample_from_params(const virTypedParameter *cparams, int n, struct mig_sample *s)
{
        virTypedParameterPtr params = (virTypedParameterPtr)cparams;
        unsigned long long dirty = 0, page = 4096, reqs = 0;
        memset(s, 0, sizeof(*s));
        virTypedParamsGetULLong(params, n, VIR_DOMAIN_JOB_TIME_ELAPSED, &s->elapsed_ms);
        virTypedParamsGetULLong(params, n, VIR_DOMAIN_JOB_DATA_TOTAL, &s->data_total);
        virTypedParamsGetULLong(params, n, VIR_DOMAIN_JOB_DATA_PROCESSED, &s->data_processed);
        virTypedParamsGetULLong(params, n, VIR_DOMAIN_JOB_DATA_REMAINING, &s->data_remaining);
        virTypedParamsGetULLong(params, n, VIR_DOMAIN_JOB_MEMORY_BPS, &s->mem_bps);
        virTypedParamsGetULLong(params, n, VIR_DOMAIN_JOB_MEMORY_ITERATION, &s->iteration);
        virTypedParamsGetULLong(params, n, VIR_DOMAIN_JOB_MEMORY_PAGE_SIZE, &page);
        if (virTypedParamsGetULLong(params, n, VIR_DOMAIN_JOB_MEMORY_DIRTY_RATE, &dirty) == 1)
                s->dirty_bps = dirty * (page ? page : 4096);
        if (virTypedParamsGetULLong(params, n, VIR_DOMAIN_JOB_MEMORY_POSTCOPY_REQS, &reqs) == 1 && reqs > 0)
                s->postcopy = true;
}

/* ------------------------------------------------------------ the job thread */

struct job {
        virDomainPtr dom;
        const char *duri;
        virTypedParameterPtr params;
        int nparams;
        unsigned long flags;
        int rc;
        int err_code;
        char *err;
        int fd; /* written once when done */
};

static void *job_main(void *arg)
{
        struct job *j = arg;
        j->rc = virDomainMigrateToURI3(j->dom, j->duri, j->params, (unsigned)j->nparams, (unsigned)j->flags);
        if (j->rc < 0) {
                virErrorPtr e = virGetLastError();
                j->err_code = e ? e->code : 0;
                j->err = strdup(virt_last_error());
        }
        char c = 'x';
        (void)!write(j->fd, &c, 1);
        return NULL;
}

/* ------------------------------------------------------------ output */

struct out {
        FILE *f;
        int mode;            /* MIGRATE_OUT_* without AUTO */
        bool tty;            /* a bar is on screen */
        const char *domain;
};

static void out_line(struct out *o, const char *text)
{
        flockfile(o->f);
        if (o->tty) {
                fputs("\r\033[K", o->f);
                o->tty = false;
        }
        fputs(text, o->f);
        fputc('\n', o->f);
        fflush(o->f);
        funlockfile(o->f);
}

static void out_event(struct out *o, const char *event, unsigned long long ms, const char *key, unsigned long long value,
                      const char *text)
{
        char buf[2048];
        if (o->mode == MIGRATE_OUT_QUIET)
                return;
        if (o->mode == MIGRATE_OUT_JSON)
                event_json(buf, sizeof(buf), event, o->domain, ms, key, value, text);
        else
                snprintf(buf, sizeof(buf), "%s: %s", o->domain, text);
        out_line(o, buf);
}

static void out_progress(struct out *o, const struct mig_sample *s, const char *phase, bool bar_tick, bool line_tick)
{
        char buf[512];
        if (o->mode == MIGRATE_OUT_QUIET)
                return;
        if (o->mode == MIGRATE_OUT_AUTO) { /* terminal */
                if (!bar_tick)
                        return;
                progress_bar(buf, sizeof(buf), s, phase, 30);
                flockfile(o->f);
                fprintf(o->f, "\r%s\033[K", buf);
                fflush(o->f);
                o->tty = true;
                funlockfile(o->f);
                return;
        }
        if (!line_tick)
                return;
        if (o->mode == MIGRATE_OUT_JSON)
                progress_json(buf, sizeof(buf), o->domain, s, phase);
        else
                progress_line(buf, sizeof(buf), o->domain, s, phase);
        out_line(o, buf);
}

/* ------------------------------------------------------------ after the job */

/* Waits up to timeout_ms for the domain to run on dst. 1 running, 0 not
 * (state in *state), -1 unknown (message in *state). */
static int verify_running(virConnectPtr dst, const char *uuid, unsigned timeout_ms, char **state)
{
        unsigned long long end = now_ms() + timeout_ms;
        for (;;) {
                _cleanup_(virt_dom_freep) virDomainPtr d = virDomainLookupByUUIDString(dst, uuid);
                int st = -1, reason;
                if (d && virDomainGetState(d, &st, &reason, 0) == 0 && st == VIR_DOMAIN_RUNNING)
                        return 1;
                if (now_ms() >= end) {
                        free(*state);
                        if (!d)
                                *state = strdup(virt_last_error());
                        else if (asprintf(state, "state %d (%s)", st,
                                          st == VIR_DOMAIN_PAUSED ? "paused" : st == VIR_DOMAIN_SHUTOFF ? "shut off" : "not running") < 0)
                                *state = NULL;
                        return d ? 0 : -1;
                }
                usleep(250 * 1000);
        }
}

/* One phrase about where the guest is after a failed job. */
static char *where_after_failure(virConnectPtr src, virConnectPtr dst, const char *uuid)
{
        char *s = NULL;
        const char *a, *b;
        int st = -1, reason;
        _cleanup_(virt_dom_freep) virDomainPtr ds = virDomainLookupByUUIDString(src, uuid);
        if (ds && virDomainGetState(ds, &st, &reason, 0) == 0 && st == VIR_DOMAIN_RUNNING)
                a = "the guest is still running on the source";
        else if (ds && st == VIR_DOMAIN_PAUSED)
                a = "the guest is PAUSED on the source (resume it with virsh resume once you know why)";
        else if (ds)
                a = "the guest is NOT running on the source";
        else
                a = "the source no longer knows the guest";
        _cleanup_(virt_dom_freep) virDomainPtr dd = dst ? virDomainLookupByUUIDString(dst, uuid) : NULL;
        if (!dst)
                b = "the destination could not be asked";
        else if (dd)
                b = virDomainIsActive(dd) == 1 ? "the destination HAS a running copy" : "the destination still has a definition of it";
        else
                b = "the destination has nothing of it (libvirt removed the incoming domain; the destination's migkit rolls back what its hook created)";
        if (asprintf(&s, "%s; %s", a, b) < 0)
                return NULL;
        return s;
}

static int handover_cleanup(const struct mk_config *cfg, const struct migrate_result *res)
{
        struct proof p = { .uuid = res->uuid, .name = res->name, .kind = PROOF_MIGRATED, .by = (char *)"driver" };
        _cleanup_free_ char *detail = NULL;
        int r;
        if (asprintf(&detail, "migkit migrate: running on %s", res->dest_uri) < 0)
                return -ENOMEM;
        p.detail = detail;
        r = proof_record(cfg->state_dir, &p);
        if (r < 0)
                return log_error_errno(r, "%s (%s): cannot record the migrated proof in %s: %m; the source cleanup is left to migkit-watch",
                                       res->name, res->uuid, cfg->state_dir);
        return dispatch_cleanup(cfg, "source", res->uuid); /* logs its failures */
}

/* ------------------------------------------------------------ the run */

static int set_result(struct migrate_result *res, int status, const char *fmt, ...) _printf_(3, 4);
static int set_result(struct migrate_result *res, int status, const char *fmt, ...)
{
        va_list ap;
        res->status = status;
        free(res->error);
        va_start(ap, fmt);
        if (vasprintf(&res->error, fmt, ap) < 0)
                res->error = NULL;
        va_end(ap);
        return 0;
}

/* ------------------------------------------------------------ uploads */

struct uploads {
        struct upload *v;
        size_t n;
};

static void uploads_free(struct uploads *u)
{
        for (size_t i = 0; i < u->n; i++)
                upload_free(&u->v[i]);
        free(u->v);
        u->v = NULL;
        u->n = 0;
}

/* Copies the guest's config-drive ISOs that are local files here (not on
 * shared storage) to the destination, so its cdrom is kept; what could not
 * be copied is left to the destination's hook (it empties the cdrom). */
static int upload_config_drives(const struct mk_config *cfg, virDomainPtr dom, virConnectPtr dst, struct out *out,
                                struct uploads *ups)
{
        _cleanup_free_ char *xml = virDomainGetXMLDesc(dom, 0), *perr = NULL;
        _cleanup_domxml_ struct domxml *d = NULL;
        if (!xml || domxml_parse(xml, strlen(xml), &d, &perr) < 0)
                return 0; /* the preflight said why; the hook's fallback remains */
        for (size_t i = 0; i < d->n_disks; i++) {
                const struct dom_disk *dk = &d->disks[i];
                if (dk->type != DOM_DISK_FILE || !dk->source || !streq_ptr(dk->device, "cdrom"))
                        continue;
                const char *base = strrchr(dk->source, '/') ? strrchr(dk->source, '/') + 1 : dk->source;
                if (!strv_fnmatch(cfg->config_drive_names, base) || access(dk->source, R_OK) < 0 ||
                    fs_is_shared(cfg, dk->source, NULL, NULL) > 0)
                        continue;
                struct upload u;
                _cleanup_free_ char *err = NULL;
                char m[1024];
                int r = upload_file(dst, cfg->instances_path, d->uuid, dk->source, d->files, &u, &err);
                if (r == 1) {
                        struct upload *v = realloc(ups->v, (ups->n + 1) * sizeof(*v));
                        if (!v) {
                                upload_free(&u);
                                return -ENOMEM;
                        }
                        ups->v = v;
                        ups->v[ups->n++] = u;
                        snprintf(m, sizeof(m), "copied the config drive %s to the destination (%llu bytes, read back identical%s)",
                                 dk->source, u.size, u.created_dir ? "; its directory created" : "");
                } else if (r == 0)
                        snprintf(m, sizeof(m), "the destination already has the same %s", dk->source);
                else if (r == -ENOMEM)
                        return r;
                else {
                        log_warning("%s: could not copy the config drive to the destination: %s; its hook will empty the cdrom there",
                                    out->domain, err ? err : strerror(-r));
                        continue;
                }
                out_event(out, "upload", 0, NULL, 0, m);
        }
        return 0;
}

/* After a failed migration with nothing of the guest on the destination:
 * removes what upload_config_drives copied there. */
static void undo_uploads(virConnectPtr dst, const char *uuid, struct uploads *ups, struct out *out)
{
        if (!ups->n)
                return;
        _cleanup_(virt_dom_freep) virDomainPtr dd = virDomainLookupByUUIDString(dst, uuid);
        for (size_t i = 0; i < ups->n; i++) {
                _cleanup_free_ char *err = NULL;
                char m[1024];
                if (dd)
                        snprintf(m, sizeof(m), "left the copied %s on the destination: it has the guest", ups->v[i].path);
                else if (upload_undo(dst, &ups->v[i], &err) == 0)
                        snprintf(m, sizeof(m), "removed the copied %s from the destination%s", ups->v[i].path,
                                 ups->v[i].created_dir ? ", with its directory" : "");
                else
                        snprintf(m, sizeof(m), "could not remove the copied %s from the destination: %s", ups->v[i].path,
                                 err ? err : "?");
                out_event(out, "upload", 0, NULL, 0, m);
        }
}

/* The source's job-completed event carries the downtime the source QEMU
 * measured, post-copy included (the destination's completed-job stats
 * have none after post-copy on libvirt 9.0). Heap-allocated: libvirt frees
 * it through completed_free once the callback is gone. */
struct completed {
        pthread_mutex_t lock;
        pthread_cond_t cond;
        bool seen;
        long long downtime_ms;
};

static void completed_free(void *opaque)
{
        struct completed *c = opaque;
        pthread_mutex_destroy(&c->lock);
        pthread_cond_destroy(&c->cond);
        free(c);
}

static void on_job_completed(virConnectPtr conn, virDomainPtr d, virTypedParameterPtr params, int n, void *opaque)
{
        struct completed *c = opaque;
        unsigned long long dt;
        (void)conn;
        (void)d;
        pthread_mutex_lock(&c->lock);
        c->seen = true;
        if (virTypedParamsGetULLong(params, n, VIR_DOMAIN_JOB_DOWNTIME, &dt) == 1)
                c->downtime_ms = (long long)dt;
        pthread_cond_broadcast(&c->cond);
        pthread_mutex_unlock(&c->lock);
}

/* Registers on_job_completed for dom; returns the callback id or -1. */
static int completed_watch(virConnectPtr src, virDomainPtr dom, struct completed **ret)
{
        struct completed *c = calloc(1, sizeof(*c));
        *ret = NULL;
        if (!c)
                return -1;
        pthread_mutex_init(&c->lock, NULL);
        pthread_condattr_t ca;
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&c->cond, &ca);
        pthread_condattr_destroy(&ca);
        c->downtime_ms = -1;
        int id = virConnectDomainEventRegisterAny(src, dom, VIR_DOMAIN_EVENT_ID_JOB_COMPLETED,
                                                  VIR_DOMAIN_EVENT_CALLBACK(on_job_completed), c, completed_free);
        if (id < 0) {
                completed_free(c);
                return -1;
        }
        *ret = c;
        return id;
}

/* The downtime from the event, waiting up to timeout_ms for it; -1 if none. */
static long long completed_downtime(struct completed *c, unsigned timeout_ms)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += timeout_ms / 1000;
        ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
        if (ts.tv_nsec >= 1000000000) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000;
        }
        pthread_mutex_lock(&c->lock);
        while (!c->seen && pthread_cond_timedwait(&c->cond, &c->lock, &ts) == 0)
                ;
        long long dt = c->downtime_ms;
        pthread_mutex_unlock(&c->lock);
        return dt;
}

int migrate_run(const struct mk_config *cfg, const struct migrate_opts *o, struct migrate_result *res)
{
        _cleanup_(virt_conn_closep) virConnectPtr src = NULL, dst = NULL;
        _cleanup_(virt_dom_freep) virDomainPtr dom = NULL;
        _cleanup_strv_ char **warnings = NULL;
        virTypedParameterPtr params = NULL;
        int nparams = 0, r;
        unsigned long flags;
        char uuid[VIR_UUID_STRING_BUFLEN];
        const char *src_uri = o->source_uri ? o->source_uri : cfg->libvirt_uri;
        struct out out = { .f = o->out ? o->out : stdout, .mode = o->output, .domain = o->domain };
        unsigned interval = o->interval_ms ? o->interval_ms : cfg->migrate_progress_interval_ms;

        memset(res, 0, sizeof(*res));
        res->downtime_ms = -1;
        res->abort_latency_ms = -1;
        if (out.mode == MIGRATE_OUT_AUTO && !isatty(fileno(out.f)))
                out.mode = MIGRATE_OUT_LINES;
        virt_quiet_errors();
        bool events = virt_event_thread_start() == 0; /* before the connections */

        r = migrate_dest_uri(cfg->migrate_uri, o->dest, &res->dest_uri);
        if (r < 0)
                return r == -ENOMEM ? r
                                    : set_result(res, MIGRATE_REFUSED, "'%s' is not a host name or URI (or [migrate] uri '%s' has no {dest})",
                                                 o->dest, cfg->migrate_uri);
        src = virConnectOpen(src_uri);
        if (!src)
                return set_result(res, MIGRATE_REFUSED, "cannot connect to this host's libvirt at %s: %s", src_uri, virt_last_error());
        dom = virDomainLookupByUUIDString(src, o->domain);
        if (!dom)
                dom = virDomainLookupByName(src, o->domain);
        if (!dom)
                return set_result(res, MIGRATE_REFUSED, "no domain '%s' on this host (%s)", o->domain, src_uri);
        if (virDomainGetUUIDString(dom, uuid) < 0 || !(res->uuid = strdup(uuid)) ||
            !(res->name = strdup(virDomainGetName(dom) ? virDomainGetName(dom) : o->domain)))
                return -ENOMEM;
        out.domain = res->name;

        dst = virConnectOpen(res->dest_uri);
        _cleanup_free_ char *dst_err = dst ? NULL : strdup(virt_last_error());
        if (!o->no_preflight) {
                struct preflight pf;
                r = preflight_run(cfg, src, dom, dst, res->dest_uri, dst_err, o->copy_disks, &pf);
                if (r < 0)
                        return r;
                if (pf.n_fail > 0 || o->output != MIGRATE_OUT_QUIET) {
                        flockfile(out.f);
                        if (pf.n_fail > 0 || pf.n_warn > 0)
                                preflight_print(&pf, pf.n_fail ? stderr : out.f);
                        funlockfile(out.f);
                }
                size_t nf = pf.n_fail;
                for (size_t i = 0; i < pf.n && !nf && !pf.n_warn; i++)
                        if (streq(pf.v[i].name, "instances")) /* whether migkit removes the guest's directory afterwards */
                                out_event(&out, "instances", 0, NULL, 0, pf.v[i].message);
                preflight_free(&pf);
                if (nf)
                        return set_result(res, MIGRATE_REFUSED, "%s cannot migrate to %s now: %zu check%s failed (above)", res->name,
                                          res->dest_uri, nf, nf == 1 ? "" : "s");
        } else if (!dst)
                return set_result(res, MIGRATE_REFUSED, "cannot connect to %s: %s", res->dest_uri, dst_err ? dst_err : "?");

        /* [limits] outgoing: a slot held until this function returns (limit.h). */
        _cleanup_(limit_outgoing_release) int slot = -1;
        _cleanup_free_ char *slot_err = NULL;
        r = limit_outgoing_acquire(cfg, res->name, migrate_abort_requested, out.mode == MIGRATE_OUT_QUIET ? NULL : stderr,
                                   &slot, &slot_err);
        if (r < 0)
                return r == -ENOMEM ? r : set_result(res, r == -ECANCELED ? MIGRATE_ABORTED : MIGRATE_REFUSED, "%s",
                                                     slot_err ? slot_err : "no outgoing slot ([limits] outgoing)");

        r = migrate_build(cfg, o, &flags, &params, &nparams, &warnings);
        if (r < 0)
                return r;
        for (size_t i = 0; warnings && warnings[i]; i++)
                log_warning("%s", warnings[i]);
        _cleanup_(uploads_free) struct uploads ups = { 0 };
        if ((o->upload < 0 ? cfg->migrate_upload : o->upload > 0) && (r = upload_config_drives(cfg, dom, dst, &out, &ups)) < 0) {
                virTypedParamsFree(params, nparams);
                return r;
        }

        struct converge cv;
        struct converge_policy pol = {
                .downtime_max_ms = o->max_downtime_ms >= 0 ? (unsigned)o->max_downtime_ms : cfg->migrate_downtime_ms,
                .downtime_steps = cfg->migrate_downtime_steps,
                .downtime_step_ms = cfg->migrate_downtime_delay_ms,
                .stall_ms = o->stall_ms >= 0 ? (unsigned)o->stall_ms : cfg->migrate_stall_ms,
                .completion_timeout_ms = o->completion_timeout_ms >= 0 ? (unsigned)o->completion_timeout_ms
                                                                       : cfg->migrate_completion_timeout_ms,
                .postcopy = (flags & VIR_MIGRATE_POSTCOPY) != 0,
        };
        converge_init(&cv, &pol);

        int pfd[2];
        if (pipe2(pfd, O_CLOEXEC) < 0) {
                r = -errno;
                virTypedParamsFree(params, nparams);
                return r;
        }
        struct completed *comp = NULL;
        int comp_id = events ? completed_watch(src, dom, &comp) : -1;
        struct job job = { .dom = dom, .duri = res->dest_uri, .params = params, .nparams = nparams, .flags = flags, .fd = pfd[1] };
        sigset_t block, old;
        sigemptyset(&block);
        sigaddset(&block, SIGINT);
        sigaddset(&block, SIGTERM);
        pthread_t th;
        pthread_sigmask(SIG_BLOCK, &block, &old);
        r = -pthread_create(&th, NULL, job_main, &job);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (r < 0) {
                if (comp_id >= 0)
                        virConnectDomainEventDeregisterAny(src, comp_id);
                close(pfd[0]);
                close(pfd[1]);
                virTypedParamsFree(params, nparams);
                return r;
        }

        {
                char text[256];
                snprintf(text, sizeof(text), "migrating to %s (%s%s%s%s)", res->dest_uri, flags & VIR_MIGRATE_POSTCOPY ? "post-copy allowed" : "pre-copy",
                         flags & VIR_MIGRATE_AUTO_CONVERGE ? ", auto-converge" : "", flags & VIR_MIGRATE_TLS ? ", TLS" : "",
                         flags & VIR_MIGRATE_NON_SHARED_DISK ? ", copying disks" : "");
                out_event(&out, "start", 0, NULL, 0, text);
        }

        unsigned long long t0 = now_ms(), last_stats = 0, last_line = 0, abort_at = 0, last_abort_try = 0;
        bool job_seen = false, aborted_by_us = false, in_postcopy = false;
        struct mig_sample s = { 0 };
        for (;;) {
                struct pollfd p = { .fd = pfd[0], .events = POLLIN };
                if (poll(&p, 1, 200) > 0)
                        break;
                unsigned long long t = now_ms();
                /* An abort can be refused while libvirt is still setting
                 * the job up (no job yet, or a phase that cannot be
                 * cancelled): ask again every second until it is taken. */
                if (abort_flag && !aborted_by_us && t - last_abort_try >= 1000) {
                        bool first = !abort_at;
                        last_abort_try = t;
                        if (first)
                                abort_at = t;
                        if (in_postcopy) {
                                if (first)
                                        out_event(&out, "abort", t - t0, NULL, 0,
                                                  "cannot abort: the guest already runs on the destination (post-copy); waiting for the end");
                        } else if (virDomainAbortJob(dom) == 0) {
                                aborted_by_us = true;
                                out_event(&out, "abort", t - t0, NULL, 0, "aborting the migration on request");
                        } else if (first) {
                                char m[512];
                                snprintf(m, sizeof(m), "could not abort the job yet (%s); retrying every second", virt_last_error());
                                out_event(&out, "abort", t - t0, NULL, 0, m);
                        }
                }
                if (t - last_stats < 500)
                        continue;
                last_stats = t;
                int type = VIR_DOMAIN_JOB_NONE, n = 0;
                virTypedParameterPtr jp = NULL;
                if (virDomainGetJobStats(dom, &type, &jp, &n, 0) < 0 || type == VIR_DOMAIN_JOB_NONE) {
                        virTypedParamsFree(jp, n);
                        continue;
                }
                migrate_sample_from_params(jp, n, &s);
                virTypedParamsFree(jp, n);
                if (s.data_total == 0) /* still setting up, or finishing: no numbers yet */
                        continue;
                job_seen = true;
                s.postcopy |= in_postcopy;

                struct converge_action a;
                converge_next(&cv, &s, &a);
                char m[256];
                switch (a.kind) {
                case CONVERGE_SET_DOWNTIME:
                        if (virDomainMigrateSetMaxDowntime(dom, a.value, 0) == 0)
                                snprintf(m, sizeof(m), "allowed downtime %llu ms (%s)", a.value, a.reason);
                        else
                                snprintf(m, sizeof(m), "could not set the allowed downtime to %llu ms: %s", a.value, virt_last_error());
                        out_event(&out, "policy", s.elapsed_ms, "downtime_ms", a.value, m);
                        break;
                case CONVERGE_POSTCOPY:
                        if (virDomainMigrateStartPostCopy(dom, 0) == 0) {
                                in_postcopy = true;
                                res->postcopy = true;
                                snprintf(m, sizeof(m), "switching to post-copy (%s)", a.reason);
                        } else
                                snprintf(m, sizeof(m), "could not switch to post-copy (%s): %s", a.reason, virt_last_error());
                        out_event(&out, "policy", s.elapsed_ms, NULL, 0, m);
                        break;
                case CONVERGE_ABORT:
                        res->policy_abort = true;
                        if (virDomainAbortJob(dom) == 0)
                                snprintf(m, sizeof(m), "aborting: %s after %u s", a.reason, pol.completion_timeout_ms / 1000);
                        else
                                snprintf(m, sizeof(m), "could not abort (%s): %s", a.reason, virt_last_error());
                        out_event(&out, "policy", s.elapsed_ms, NULL, 0, m);
                        break;
                }
                const char *phase = in_postcopy ? "post-copy" : cv.stalled ? "stalled" : NULL;
                bool line_tick = t - last_line >= interval || last_line == 0;
                if (line_tick)
                        last_line = t;
                out_progress(&out, &s, phase, true, line_tick);
        }
        pthread_join(th, NULL);
        long long ev_downtime = -1;
        if (comp_id >= 0) {
                if (job.rc == 0)
                        ev_downtime = completed_downtime(comp, 2000);
                virConnectDomainEventDeregisterAny(src, comp_id); /* frees comp */
        }
        close(pfd[0]);
        close(pfd[1]);
        virTypedParamsFree(params, nparams);
        res->elapsed_ms = now_ms() - t0;
        if (abort_at)
                res->abort_latency_ms = (long long)(now_ms() - abort_at);
        (void)job_seen;

        if (job.rc < 0) {
                _cleanup_free_ char *err = job.err;
                res->after = where_after_failure(src, dst, res->uuid);
                undo_uploads(dst, res->uuid, &ups, &out);
                if (aborted_by_us)
                        set_result(res, MIGRATE_ABORTED, "aborted on request after %.1f s (%s)", res->elapsed_ms / 1000.0,
                                   err ? err : "?");
                else if (res->policy_abort)
                        set_result(res, MIGRATE_FAILED, "aborted by the convergence policy: not finished within the completion timeout (%u s); libvirt: %s",
                                   pol.completion_timeout_ms / 1000, err ? err : "?");
                else
                        set_result(res, MIGRATE_FAILED, "libvirt: %s", err ? err : "unknown error");
                char m[1024];
                snprintf(m, sizeof(m), "%s: %s", res->error ? res->error : "failed", res->after ? res->after : "");
                out_event(&out, "result", res->elapsed_ms, "exit", (unsigned long long)migrate_exit_code(res->status), m);
                return 0;
        }

        /* success according to libvirt: see it running there before
         * anything is removed here */
        _cleanup_free_ char *state = NULL;
        r = verify_running(dst, res->uuid, 10000, &state);
        if (r <= 0) {
                set_result(res, MIGRATE_FAILED, "libvirt reported success but %s (%s) is not running on %s: %s; the source cleanup was NOT started",
                           res->name, res->uuid, res->dest_uri, state ? state : "?");
                out_event(&out, "result", res->elapsed_ms, "exit", MIGKIT_EXIT_FAILED, res->error);
                return 0;
        }
        res->verified = true;
        res->status = MIGRATE_OK;
        res->downtime_ms = ev_downtime;
        if (res->downtime_ms < 0) { /* no event: the destination's view (none after post-copy) */
                _cleanup_(virt_dom_freep) virDomainPtr dd = virDomainLookupByUUIDString(dst, res->uuid);
                int type = 0, n = 0;
                virTypedParameterPtr jp = NULL;
                unsigned long long dt;
                if (dd && virDomainGetJobStats(dd, &type, &jp, &n, VIR_DOMAIN_JOB_STATS_COMPLETED) == 0 &&
                    virTypedParamsGetULLong(jp, n, VIR_DOMAIN_JOB_DOWNTIME, &dt) == 1)
                        res->downtime_ms = (long long)dt;
                virTypedParamsFree(jp, n);
        }
        if (!o->no_cleanup && !o->keep_source)
                res->cleanup_started = handover_cleanup(cfg, res) == 0;

        char m[512], dt[32] = "unknown";
        if (res->downtime_ms >= 0)
                snprintf(dt, sizeof(dt), "%lld ms", res->downtime_ms);
        snprintf(m, sizeof(m), "migrated to %s in %.1f s%s, downtime %s; running there%s", res->dest_uri, res->elapsed_ms / 1000.0,
                 res->postcopy ? " (post-copy)" : "", dt, res->cleanup_started ? "; source cleanup handed to migkit-cleanup" : "");
        if (out.mode == MIGRATE_OUT_JSON) {
                char buf[1024];
                event_json(buf, sizeof(buf), "result", res->name, res->elapsed_ms, "downtime_ms",
                           res->downtime_ms >= 0 ? (unsigned long long)res->downtime_ms : 0, m);
                out_line(&out, buf);
        } else
                out_event(&out, "result", res->elapsed_ms, NULL, 0, m);
        return 0;
}

int migrate_check(const struct mk_config *cfg, const char *domain, const char *dest, const char *source_uri,
                  char *const *copy_disks, bool json, FILE *f)
{
        _cleanup_(virt_conn_closep) virConnectPtr src = NULL, dst = NULL;
        _cleanup_(virt_dom_freep) virDomainPtr dom = NULL;
        _cleanup_free_ char *uri = NULL, *dst_err = NULL;
        const char *src_uri = source_uri ? source_uri : cfg->libvirt_uri, *name = domain;
        struct preflight pf = { 0 };
        int r;

        virt_quiet_errors();
        r = migrate_dest_uri(cfg->migrate_uri, dest, &uri);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                r = preflight_add(&pf, CHECK_FAIL, "destination", "give a host name, or fix [migrate] uri in the configuration",
                                  "'%s' is not a host name or URI (or [migrate] uri '%s' has no {dest})", dest, cfg->migrate_uri);
        else if (!(src = virConnectOpen(src_uri)))
                r = preflight_add(&pf, CHECK_FAIL, "source", "start libvirtd here, or give --connect URI",
                                  "cannot connect to this host's libvirt at %s: %s", src_uri, virt_last_error());
        else if (!(dom = virDomainLookupByUUIDString(src, domain)) && !(dom = virDomainLookupByName(src, domain)))
                r = preflight_add(&pf, CHECK_FAIL, "domain", "check the name with virsh list --all", "no domain '%s' on this host (%s)",
                                  domain, src_uri);
        else {
                name = virDomainGetName(dom);
                dst = virConnectOpen(uri);
                if (!dst && !(dst_err = strdup(virt_last_error())))
                        return -ENOMEM;
                r = preflight_run(cfg, src, dom, dst, uri, dst_err, copy_disks, &pf);
                if (r == 0 && migrate_uri_is_plain(uri))
                        r = preflight_add(&pf, CHECK_WARN, "transport", "use qemu+tls ([migrate] uri)",
                                          "%s is plain TCP (unencrypted, unauthenticated)", uri);
        }
        if (r < 0) {
                preflight_free(&pf);
                return r;
        }
        if (json)
                preflight_print_json(&pf, f, name, uri ? uri : dest);
        else {
                preflight_print(&pf, f);
                if (dom)
                        fprintf(f, "%s: %s to %s (%zu failed, %zu warnings)\n", name, pf.n_fail ? "NOT ready" : "ready", uri,
                                pf.n_fail, pf.n_warn);
        }
        r = (int)pf.n_fail;
        preflight_free(&pf);
        return r;
}

void migrate_result_free(struct migrate_result *r)
{
        free(r->name);
        free(r->uuid);
        free(r->dest_uri);
        free(r->error);
        free(r->after);
        memset(r, 0, sizeof(*r));
}
