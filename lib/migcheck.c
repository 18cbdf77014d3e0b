/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* `migkit check`: the checks `migkit migrate` runs before it starts
 * (preflight.h), on their own, printed as lines or one JSON object. */
#include "migrate.h"

#include "log.h"
#include "netcheck.h"
#include "preflight.h"
#include "util.h"
#include "virt.h"

int migrate_check_network(const struct mk_config *cfg, const char *dest, const char *uri, virConnectPtr dst,
                          struct preflight *pf)
{
        _cleanup_free_ char *inbound = NULL;
        int r = strstr(dest, "://") ? 0 : migrate_inbound_address(cfg->migrate_inbound, dest, &inbound);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return preflight_add(pf, CHECK_FAIL, "resolve inbound", "give DEST=ADDRESS pairs or a template with {dest}",
                                     "[migrate] inbound-address '%s' gives no valid address for %s", cfg->migrate_inbound, dest);
        _cleanup_free_ char *self = dst && !inbound ? virConnectGetHostname(dst) : NULL;
        return netcheck_run(uri, inbound, self, 0, pf);
}

int migrate_check(const struct mk_config *cfg, const char *domain, const char *dest, const char *source_uri,
                  char *const *copy_disks, bool no_copy_storage, bool json, FILE *f)
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
                /* nothing was checked: an error of this host, not a refusal */
                return log_error_errno(-ENOTCONN, "cannot connect to this host's libvirt at %s: %s; start libvirtd here, or give --connect URI",
                                       src_uri, virt_last_error());
        else if (!(dom = virDomainLookupByUUIDString(src, domain)) && !(dom = virDomainLookupByName(src, domain)))
                r = preflight_add(&pf, CHECK_FAIL, "domain", "check the name with virsh list --all", "no domain '%s' on this host (%s)",
                                  domain, src_uri);
        else {
                name = virDomainGetName(dom);
                dst = virConnectOpen(uri);
                if (!dst && !(dst_err = strdup(virt_last_error())))
                        return -ENOMEM;
                r = preflight_run(cfg, src, dom, dst, uri, dst_err, copy_disks, no_copy_storage ? COPY_NEVER : COPY_AUTO, NULL, &pf);
                if (r == 0 && migrate_uri_is_plain(uri))
                        r = preflight_add(&pf, CHECK_WARN, "transport", "use qemu+tls ([migrate] uri)",
                                          "%s is plain TCP (unencrypted, unauthenticated)", uri);
                if (r == 0)
                        r = migrate_check_network(cfg, dest, uri, dst, &pf);
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
