/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What `migkit migrate` does to the hosts around the job: before it, the
 * copy of the guest's config-drive ISO to the destination (undone when the
 * migration fails); after it, the check that the guest runs there, the
 * phrase saying where it is after a failure, and the hand-over of the
 * source cleanup (a `migrated` proof by "driver", then migkit-cleanup). */
#include "migaround.h"

#include "dispatch.h"
#include "domxml.h"
#include "instdir.h"
#include "log.h"
#include "proof.h"
#include "util.h"
#include "virt.h"

/* ------------------------------------------------------------ after the job */

/* Waits up to timeout_ms for the domain to run on dst. 1 running, 0 not
 * (state in *state), -1 unknown (message in *state). */
int mig_verify_running(virConnectPtr dst, const char *uuid, unsigned timeout_ms, char **state)
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
char *mig_where_after_failure(virConnectPtr src, virConnectPtr dst, const char *uuid)
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

int mig_handover_cleanup(const struct mk_config *cfg, const struct migrate_result *res)
{
        struct proof p = { .uuid = res->uuid, .name = res->name, .kind = PROOF_MIGRATED, .by = (char *)"driver" };
        _cleanup_free_ char *detail = NULL;
        bool recorded = false;
        if (asprintf(&detail, "migkit migrate: running on %s", res->dest_uri) < 0)
                return -ENOMEM;
        p.detail = detail;
        int r = dispatch_handover(cfg, &p, "source", &recorded);
        if (r < 0 && !recorded)
                return log_error_errno(r, "%s (%s): cannot record the migrated proof in %s: %m; the source cleanup is left to migkit-watch",
                                       res->name, res->uuid, cfg->state_dir);
        return r; /* dispatch_cleanup() logged why the job did not start */
}

/* ------------------------------------------------------------ uploads */


void mig_uploads_free(struct mig_uploads *u)
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
int mig_upload_config_drives(const struct mk_config *cfg, virDomainPtr dom, virConnectPtr dst, struct migout *out,
                                struct mig_uploads *ups)
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
                migout_event(out, "upload", 0, NULL, 0, m);
        }
        return 0;
}

/* After a failed migration with nothing of the guest on the destination:
 * removes what mig_upload_config_drives copied there. */
void mig_undo_uploads(virConnectPtr dst, const char *uuid, struct mig_uploads *ups, struct migout *out)
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
                migout_event(out, "upload", 0, NULL, 0, m);
        }
}


