/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* `migkit migrate` before the job starts: the connections and the
 * preflight, the outgoing slot, the flags and parameters, the convergence
 * policy, the flight record, the disks' images on the destination and the
 * config-drive upload. What it created is undone by undo_storage and by
 * run_done (migrate.c). */
#include "migrate-priv.h"

#include <time.h>

#include "domxml.h"
#include "limit.h"
#include "log.h"
#include "preflight.h"
#include "record.h"
#include "util.h"
#include "virt.h"

/* Connects, finds the domain, runs the preflight. 0 to go on, 1 when the
 * result says why not, -errno. */
static int setup_connect(struct run *r)
{
        const struct migrate_opts *o = r->o;
        const char *src_uri = o->source_uri ? o->source_uri : r->cfg->libvirt_uri;
        char uuid[VIR_UUID_STRING_BUFLEN];
        int q = migrate_dest_uri(r->cfg->migrate_uri, o->dest, &r->res->dest_uri);

        if (q < 0)
                return q == -ENOMEM ? q : (set_result(r->res, MIGRATE_REFUSED, "'%s' is not a host name or URI (or [migrate] uri '%s' has no {dest})",
                                                      o->dest, r->cfg->migrate_uri), 1);
        if (!(r->src = virConnectOpen(src_uri)))
                return set_result(r->res, MIGRATE_ERROR, "cannot connect to this host's libvirt at %s: %s; start libvirtd here, "
                                  "or give --connect URI", src_uri, virt_last_error()), 1;
        if (!(r->dom = virDomainLookupByUUIDString(r->src, o->domain)) && !(r->dom = virDomainLookupByName(r->src, o->domain)))
                return set_result(r->res, MIGRATE_REFUSED, "no domain '%s' on this host (%s)", o->domain, src_uri), 1;
        if (virDomainGetUUIDString(r->dom, uuid) < 0 || !(r->res->uuid = strdup(uuid)) ||
            !(r->res->name = strdup(virDomainGetName(r->dom) ? virDomainGetName(r->dom) : o->domain)))
                return -ENOMEM;
        r->out.domain = r->res->name;
        migrate_dirty_sample_start(r); /* measures while the rest is set up */
        if (!(r->dst = virConnectOpen(r->res->dest_uri)) && !(r->dst_err = strdup(virt_last_error())))
                return -ENOMEM;
        if (o->no_preflight) {
                if (!r->dst)
                        return set_result(r->res, MIGRATE_REFUSED, "cannot connect to %s: %s", r->res->dest_uri, r->dst_err), 1;
                _cleanup_free_ char *xml = virDomainGetXMLDesc(r->dom, 0), *perr = NULL;
                _cleanup_domxml_ struct domxml *d = NULL;
                if (xml && domxml_parse(xml, strlen(xml), &d, &perr) == 0)
                        return block_plan_forced(d, o->copy_disks, &r->plan);
                return 0;
        }

        struct preflight pf;
        q = preflight_run(r->cfg, r->src, r->dom, r->dst, r->res->dest_uri, r->dst_err, o->copy_disks,
                          o->no_copy_storage ? COPY_NEVER : COPY_AUTO, &r->plan, &pf);
        if (q < 0)
                return q;
        if (pf.n_fail > 0 || o->output != MIGRATE_OUT_QUIET) {
                flockfile(r->out.f);
                if (pf.n_fail > 0 || pf.n_warn > 0)
                        preflight_print(&pf, pf.n_fail ? stderr : r->out.f);
                funlockfile(r->out.f);
        }
        size_t nf = pf.n_fail;
        for (size_t i = 0; i < pf.n && !nf && !pf.n_warn; i++)
                if (streq(pf.v[i].name, "instances")) /* whether migkit removes the guest's directory afterwards */
                        migout_event(&r->out, "instances", 0, NULL, 0, pf.v[i].message);
        preflight_free(&pf);
        if (nf)
                return set_result(r->res, MIGRATE_REFUSED, "%s cannot migrate to %s now: %zu check%s failed (above)", r->res->name,
                                  r->res->dest_uri, nf, nf == 1 ? "" : "s"), 1;
        return 0;
}

/* The flags and parameters, the post-copy preempt channel when both ends
 * have it. 0, 1 (result set), -errno. */
static int setup_params(struct run *r)
{
        _cleanup_strv_ char **warnings = NULL;
        r->eff = *r->o;
        r->eff.copy_disks = r->plan.copy;
        r->eff.copy_incremental = r->plan.incremental;
        _cleanup_free_ char *inbound = NULL;
        if (migrate_inbound_address(r->cfg->migrate_inbound, r->o->dest, &inbound) == -EINVAL)
                return set_result(r->res, MIGRATE_REFUSED, "[migrate] inbound-address '%s' gives no valid address for %s: give "
                                  "DEST=ADDRESS pairs (a host name or IP address) or a template with {dest}",
                                  r->cfg->migrate_inbound, r->o->dest), 1;
        int q = migrate_build(r->cfg, &r->eff, &r->flags, &r->params, &r->nparams, &warnings);
        if (q == -EINVAL)
                return set_result(r->res, MIGRATE_REFUSED, "compression '%s' is not none or methods among xbzrle, mt, zlib, zstd",
                                  r->o->compression ? r->o->compression : r->cfg->migrate_compression), 1;
        if (q < 0)
                return q;
        for (size_t i = 0; warnings && warnings[i]; i++)
                log_warning("%s", warnings[i]);
        if (r->flags & VIR_MIGRATE_POSTCOPY) {
                unsigned long sv = 0, dv = 0;
                (void)virConnectGetLibVersion(r->src, &sv);
                (void)virConnectGetLibVersion(r->dst, &dv);
                if (migrate_want_preempt(r->cfg->migrate_postcopy_preempt, sv, dv))
                        r->flags |= MIGKIT_MIGRATE_POSTCOPY_PREEMPT;
        }
        return 0;
}

/* Opens the flight record (--record, or one in [migrate] record-dir); a
 * record that cannot be written is warned about, never a reason to stop. */
static int setup_record(struct run *r)
{
        const char *dir = r->cfg->migrate_record_dir;
        _cleanup_free_ char *path = NULL, *flags = NULL;
        int q;

        if (r->o->record)
                path = strdup(r->o->record);
        else if (dir && *dir) {
                if (dir[0] != '/') {
                        log_warning("[migrate] record-dir '%s' is not an absolute path; migrating without a flight record", dir);
                        return 0;
                }
                if ((q = mkdir_p(dir, 0750)) < 0) {
                        log_warning("%s: cannot create [migrate] record-dir %s: %s; migrating without a flight record",
                                    r->res->name, dir, strerror(-q));
                        return 0;
                }
                if ((q = record_path(dir, r->res->name, time(NULL), &path)) < 0)
                        return q;
        }
        if (!path)
                return r->o->record ? -ENOMEM : 0;
        if ((q = record_open(path, &r->out.rec)) < 0) {
                log_warning("%s: cannot write the flight record %s: %s; migrating without it", r->res->name, path, strerror(-q));
                return 0;
        }
        virDomainInfo info = { 0 };
        (void)virDomainGetInfo(r->dom, &info);
        flags = migrate_flags_string(r->flags);
        struct record_header h = {
                .domain = r->res->name, .destination = r->res->dest_uri, .flags = flags ? flags : "",
                .memory_bytes = (unsigned long long)info.maxMem * 1024, .policy = &r->cv.p,
        };
        for (int i = 0; i < r->nparams; i++) {
                if (streq(r->params[i].field, VIR_MIGRATE_PARAM_BANDWIDTH))
                        h.bandwidth_mib = (unsigned)r->params[i].value.ul;
                if (streq(r->params[i].field, VIR_MIGRATE_PARAM_BANDWIDTH_POSTCOPY))
                        h.postcopy_bandwidth_mib = (unsigned)r->params[i].value.ul;
        }
        record_write_header(r->out.rec, &h);
        r->res->record = TAKE_PTR(path);
        return 0;
}

static void setup_policy(struct run *r)
{
        const struct migrate_opts *o = r->o;
        const struct mk_config *cfg = r->cfg;
        struct converge_policy pol = {
                .downtime_max_ms = o->max_downtime_ms >= 0 ? (unsigned)o->max_downtime_ms : cfg->migrate_downtime_ms,
                .downtime_steps = cfg->migrate_downtime_steps,
                .downtime_step_ms = cfg->migrate_downtime_delay_ms,
                .stall_ms = o->stall_ms >= 0 ? (unsigned)o->stall_ms : cfg->migrate_stall_ms,
                .completion_timeout_ms = o->completion_timeout_ms >= 0 ? (unsigned)o->completion_timeout_ms
                                                                       : cfg->migrate_completion_timeout_ms,
                .postcopy = (r->flags & VIR_MIGRATE_POSTCOPY) != 0,
                .auto_converge = (r->flags & VIR_MIGRATE_AUTO_CONVERGE) != 0,
        };
        converge_init(&r->cv, &pol);
}

static void storage_event(void *ctx, const char *line)
{
        migout_event(ctx, "storage", 0, NULL, 0, line);
}

/* The images of the disks copied, prepared on the destination. 0, 1 (result
 * set: refused, nothing left there), -errno. */
static int setup_storage(struct run *r)
{
        if (r->plan.n == 0)
                return 0;
        _cleanup_free_ char *xml = virDomainGetXMLDesc(r->dom, 0), *perr = NULL, *err = NULL;
        _cleanup_domxml_ struct domxml *d = NULL;
        if (!xml || domxml_parse(xml, strlen(xml), &d, &perr) < 0)
                return set_result(r->res, MIGRATE_REFUSED, "cannot read %s's disks: %s", r->res->name,
                                  perr ? perr : virt_last_error()), 1;
        int q = block_prepare(r->dst, r->dom, &r->plan, d->files, storage_event, &r->out, &r->prep, &err);
        if (q == -ENOMEM)
                return q;
        if (q < 0)
                return set_result(r->res, MIGRATE_REFUSED, "the destination is not ready for the copy of the disks: %s; "
                                  "nothing was copied", err ? err : strerror(-q)), 1;
        return 0;
}

void undo_storage(struct run *r)
{
        if (!r->prep.volumes && !r->prep.dirs)
                return;
        _cleanup_(virt_dom_freep) virDomainPtr dd = virDomainLookupByUUIDString(r->dst, r->res->uuid);
        _cleanup_free_ char *err = NULL;
        size_t n = strv_length(r->prep.volumes), nd = strv_length(r->prep.dirs);
        char m[1024];
        if (dd)
                snprintf(m, sizeof(m), "left the disk images created on the destination: it has the guest");
        else if (block_prep_undo(r->dst, &r->prep, &err) == 0)
                snprintf(m, sizeof(m), "removed from the destination what was created for the copy (%zu image%s, %zu director%s)",
                         n, n == 1 ? "" : "s", nd, nd == 1 ? "y" : "ies");
        else
                snprintf(m, sizeof(m), "could not remove everything created on the destination for the copy: %s", err ? err : "?");
        migout_event(&r->out, "storage", 0, NULL, 0, m);
}

int run_setup(struct run *r)
{
        int q = setup_connect(r);
        if (q != 0)
                return q;

        /* [limits] outgoing: a slot held until the run is done (limit.h). */
        _cleanup_free_ char *slot_err = NULL;
        q = limit_outgoing_acquire(r->cfg, r->res->name, migrate_abort_requested, r->out.mode == MIGRATE_OUT_QUIET ? NULL : stderr,
                                   &r->slot, &slot_err);
        if (q < 0)
                return q == -ENOMEM ? q : (set_result(r->res, q == -ECANCELED ? MIGRATE_ABORTED : MIGRATE_REFUSED, "%s",
                                                      slot_err ? slot_err : "no outgoing slot ([limits] outgoing)"), 1);
        if ((q = setup_params(r)) != 0)
                return q;
        setup_policy(r);
        if ((q = setup_record(r)) < 0)
                return q;
        if ((q = setup_storage(r)) != 0)
                return q;
        if ((r->o->upload < 0 ? r->cfg->migrate_upload : r->o->upload > 0) &&
            (q = mig_upload_config_drives(r->cfg, r->dom, r->dst, &r->out, &r->ups)) < 0)
                return q;
        return 0;
}
