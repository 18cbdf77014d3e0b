/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "preflight.h"

#include <libgen.h>
#include <libvirt/virterror.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>
#include <stdarg.h>

#include "blockmig.h"
#include "domxml.h"
#include "instdir.h"
#include "mountinfo.h"
#include "remote.h"
#include "secrets.h"
#include "sharetest.h"
#include "util.h"
#include "virt.h"
#include "xmlnode.h"


/* The first node matching expr, or NULL. */
static xmlNodePtr xpath_node(xmlDocPtr doc, const char *expr)
{
        xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
        xmlNodePtr n = NULL;
        if (!ctx)
                return NULL;
        xmlXPathObjectPtr o = xmlXPathEvalExpression((const xmlChar *)expr, ctx);
        if (o && o->nodesetval && o->nodesetval->nodeNr > 0)
                n = o->nodesetval->nodeTab[0];
        xmlXPathFreeObject(o);
        xmlXPathFreeContext(ctx);
        return n;
}

static int check_cpu(struct preflight *p, virConnectPtr dst, const struct domxml *d)
{
        xmlDocPtr doc = d->doc;
        xmlNodePtr cpu = xpath_node(doc, "/domain/cpu");
        _cleanup_free_ char *mode = xml_prop(cpu, "mode");
        _cleanup_free_ char *virttype = xml_prop(xmlDocGetRootElement(doc), "type");
        xmlNodePtr os = xpath_node(doc, "/domain/os/type");
        _cleanup_free_ char *arch = xml_prop(os, "arch"), *machine = xml_prop(os, "machine");

        if (!cpu || (!xpath_node(doc, "/domain/cpu/model") && (!mode || streq(mode, "custom"))))
                return preflight_add(p, CHECK_OK, "cpu", NULL, "%s uses the hypervisor's default CPU model", d->name);
        if (mode && streq(mode, "host-passthrough"))
                return preflight_add(p, CHECK_WARN, "cpu", "use a named CPU model (or host-model) to check and guarantee compatibility",
                           "%s passes the host CPU through: libvirt cannot compare it; the destination CPU must be the same model", d->name);

        xmlBufferPtr buf = xmlBufferCreate();
        if (!buf)
                return -ENOMEM;
        xmlNodeDump(buf, doc, cpu, 0, 0);
        int r = virConnectCompareHypervisorCPU(dst, NULL, arch, machine, virttype, (const char *)xmlBufferContent(buf), 0);
        xmlBufferFree(buf);
        switch (r) {
        case VIR_CPU_COMPARE_IDENTICAL:
        case VIR_CPU_COMPARE_SUPERSET:
                return preflight_add(p, CHECK_OK, "cpu", NULL, "the destination's hypervisor can run %s's CPU (%s)", d->name,
                           r == VIR_CPU_COMPARE_IDENTICAL ? "identical" : "superset");
        case VIR_CPU_COMPARE_INCOMPATIBLE:
                return preflight_add(p, CHECK_FAIL, "cpu",
                           "choose a destination with a newer CPU, or give the guest a CPU model every host supports (and restart it)",
                           "the destination's hypervisor cannot run %s's CPU", d->name);
        default:
                return preflight_add(p, CHECK_WARN, "cpu", NULL, "could not compare %s's CPU with the destination: %s", d->name, virt_last_error());
        }
}

static int check_memory(struct preflight *p, virDomainPtr dom, virConnectPtr dst, const char *name)
{
        unsigned long long need = (unsigned long long)virDomainGetMaxMemory(dom) * 1024, avail = 0;
        int n = 0;
        const char *how = "free";

        if (need == 0)
                return preflight_add(p, CHECK_WARN, "memory", NULL, "could not read %s's memory size: %s", name, virt_last_error());
        /* free + buffers + cached is what the kernel can give back */
        if (virNodeGetMemoryStats(dst, VIR_NODE_MEMORY_STATS_ALL_CELLS, NULL, &n, 0) == 0 && n > 0) {
                virNodeMemoryStatsPtr st = calloc((size_t)n, sizeof(*st));
                if (!st)
                        return -ENOMEM;
                if (virNodeGetMemoryStats(dst, VIR_NODE_MEMORY_STATS_ALL_CELLS, st, &n, 0) == 0) {
                        for (int i = 0; i < n; i++)
                                if (streq(st[i].field, VIR_NODE_MEMORY_STATS_FREE) || streq(st[i].field, VIR_NODE_MEMORY_STATS_BUFFERS) ||
                                    streq(st[i].field, VIR_NODE_MEMORY_STATS_CACHED))
                                        avail += st[i].value * 1024;
                        how = "free, buffers and cache";
                }
                free(st);
        }
        if (avail == 0) {
                avail = virNodeGetFreeMemory(dst);
                how = "free";
        }
        if (avail == 0) {
                /* no free-memory report (some drivers): total minus what the
                 * running guests were given */
                virNodeInfo ni;
                virDomainPtr *doms = NULL;
                int nd = virConnectListAllDomains(dst, &doms, VIR_CONNECT_LIST_DOMAINS_ACTIVE);
                if (virNodeGetInfo(dst, &ni) == 0 && nd >= 0) {
                        unsigned long long used = 0;
                        for (int i = 0; i < nd; i++) {
                                virDomainInfo di;
                                if (virDomainGetInfo(doms[i], &di) == 0)
                                        used += di.memory;
                        }
                        avail = ni.memory > used ? (ni.memory - used) * 1024 : 0;
                        how = "estimated: total minus running guests";
                        if (avail == 0)
                                return preflight_add(p, CHECK_FAIL, "memory", "free memory on the destination or choose another one",
                                           "%s needs %llu MiB; the running guests on the destination use all its memory", name, need >> 20);
                }
                for (int i = 0; i < nd; i++)
                        virDomainFree(doms[i]);
                free(doms);
        }
        if (avail == 0)
                return preflight_add(p, CHECK_WARN, "memory", NULL, "could not read the destination's free memory: %s", virt_last_error());
        if (avail < need)
                return preflight_add(p, CHECK_FAIL, "memory", "free memory on the destination (stop or migrate guests away) or choose another one",
                           "%s needs %llu MiB; the destination has %llu MiB (%s)", name, need >> 20, avail >> 20, how);
        return preflight_add(p, CHECK_OK, "memory", NULL, "%s needs %llu MiB; the destination has %llu MiB (%s)", name, need >> 20, avail >> 20,
                   how);
}

static int check_uuid(struct preflight *p, virConnectPtr dst, const char *uuid, const char *name)
{
        _cleanup_(virt_dom_freep) virDomainPtr d = virDomainLookupByUUIDString(dst, uuid);
        if (d) {
                const char *other = virDomainGetName(d);
                int active = virDomainIsActive(d);
                return preflight_add(p, CHECK_FAIL, "uuid",
                           active == 1 ? "this guest already runs there: find out which copy is the real one before anything else"
                                       : "undefine the stale definition there (virsh undefine) if it is a leftover",
                           "the destination already has a domain with UUID %s (%s, %s)", uuid, other ? other : "?",
                           active == 1 ? "running" : "defined, not running");
        }
        virErrorPtr e = virGetLastError();
        if (!e || e->code != VIR_ERR_NO_DOMAIN)
                return preflight_add(p, CHECK_WARN, "uuid", NULL, "could not ask the destination about UUID %s: %s", uuid, virt_last_error());
        _cleanup_(virt_dom_freep) virDomainPtr byname = virDomainLookupByName(dst, name);
        if (byname) {
                char other[VIR_UUID_STRING_BUFLEN] = "?";
                virDomainGetUUIDString(byname, other);
                return preflight_add(p, CHECK_FAIL, "uuid", "rename or undefine the other domain there",
                           "the destination has another domain named %s (UUID %s)", name, other);
        }
        return preflight_add(p, CHECK_OK, "uuid", NULL, "no domain with UUID %s or name %s on the destination", uuid, name);
}

static int check_disk(struct preflight *p, const struct mk_config *cfg, const struct dom_disk *dk)
{
        const char *t = dk->target ? dk->target : "?";
        _cleanup_free_ char *name = NULL;
        if (asprintf(&name, "disk %s", t) < 0)
                return -ENOMEM;

        switch (dk->type) {
        case DOM_DISK_NETWORK:
                return preflight_add(p, CHECK_OK, name, NULL, "network disk: the destination reaches the same volume");
        case DOM_DISK_BLOCK:
                return preflight_add(p, CHECK_OK, name, NULL,
                           "block device %s: the destination must see the same LUN (the migkit hook rescans FC and maps multipath)",
                           dk->source ? dk->source : "?");
        case DOM_DISK_FILE:
                break;
        default:
                return preflight_add(p, CHECK_WARN, name, NULL, "%s disk: migkit cannot tell whether the destination sees it",
                           dom_disk_type_to_string(dk->type));
        }
        if (!dk->source)
                return preflight_add(p, CHECK_OK, name, NULL, "empty %s", dk->device ? dk->device : "disk");
        _cleanup_free_ char *copy = strdup(dk->source);
        if (!copy)
                return -ENOMEM;
        const char *base = basename(copy);
        if (dk->device && streq(dk->device, "cdrom") && strv_fnmatch(cfg->config_drive_names, base)) {
                if (cfg->strip_missing)
                        return preflight_add(p, CHECK_OK, name, NULL,
                                   "config drive %s: if the destination lacks it, its migkit hook empties the cdrom there (same ABI)",
                                   dk->source);
                return preflight_add(p, CHECK_FAIL, name, "copy the file to the same path on the destination, or set [config-drive] strip-missing = yes there",
                           "config drive %s is a local file libvirt does not copy", dk->source);
        }
        _cleanup_free_ char *fstype = NULL;
        int r = fs_is_shared(cfg, dk->source, &fstype, NULL);
        if (r > 0)
                return preflight_add(p, CHECK_OK, name, NULL, "%s is on shared storage (%s)", dk->source, fstype ? fstype : "shared");
        if (r < 0)
                return preflight_add(p, CHECK_WARN, name, NULL, "could not tell whether %s is on shared storage: %s", dk->source, mountinfo_strerror(r));
        if (dk->device && streq(dk->device, "cdrom"))
                return preflight_add(p, CHECK_WARN, name, "copy the file to the same path on the destination, or eject the cdrom",
                           "cdrom %s is a local file: the destination must have it at the same path", dk->source);
        return preflight_add(p, CHECK_FAIL, name, "copy it to the same path on the destination, or move it to shared storage",
                             "%s is a local %s file: libvirt copies only disks", dk->source, dk->device ? dk->device : "?");
}

int preflight_run(const struct mk_config *cfg, virConnectPtr src, virDomainPtr dom, virConnectPtr dst,
                  const char *dst_uri, const char *dst_error, char *const *copy_disks, int copy_mode, struct block_plan *plan,
                  struct preflight *ret)
{
        struct block_plan own = { 0 };
        if (!plan)
                plan = &own;
        block_plan_free(plan);
        struct preflight p = { 0 };
        _cleanup_free_ char *xml = NULL, *parse_err = NULL;
        _cleanup_domxml_ struct domxml *d = NULL;
        char uuid[VIR_UUID_STRING_BUFLEN];
        int r;

        memset(ret, 0, sizeof(*ret));
        if (!dst) {
                r = preflight_add(&p, CHECK_FAIL, "destination",
                        "check the name resolves, libvirtd listens there (listen_tls, or listen_tcp with [migrate] uri), and the credentials",
                        "cannot connect to %s: %s", dst_uri, dst_error ? dst_error : "unknown error");
                goto done;
        }
        r = preflight_add(&p, CHECK_OK, "destination", NULL, "connected to %s", dst_uri);
        if (r < 0)
                goto done;

        const char *ts = virConnectGetType(src), *td = virConnectGetType(dst);
        if (!ts || !td)
                r = preflight_add(&p, CHECK_WARN, "hypervisor", NULL, "could not read the hypervisor type: %s", virt_last_error());
        else if (!streq(ts, td))
                r = preflight_add(&p, CHECK_FAIL, "hypervisor", "migrate between hosts of the same hypervisor",
                        "the source runs %s, the destination %s", ts, td);
        else
                r = preflight_add(&p, CHECK_OK, "hypervisor", NULL, "both hosts run %s", ts);
        if (r < 0)
                goto done;

        int active = virDomainIsActive(dom);
        const char *name = virDomainGetName(dom);
        if (virDomainGetUUIDString(dom, uuid) < 0 || !name) {
                r = preflight_add(&p, CHECK_FAIL, "domain", NULL, "could not read the domain's name and UUID: %s", virt_last_error());
                goto done;
        }
        if (active != 1) {
                r = preflight_add(&p, CHECK_FAIL, "domain", "start it first, or move its definition instead of live-migrating it",
                        "%s is not running here: a live migration needs a running guest", name);
                if (r < 0)
                        goto done;
        }

        xml = virDomainGetXMLDesc(dom, 0);
        if (!xml) {
                r = preflight_add(&p, CHECK_FAIL, "domain", NULL, "could not read %s's XML: %s", name, virt_last_error());
                goto done;
        }
        r = domxml_parse(xml, strlen(xml), &d, &parse_err);
        if (r < 0) {
                if (r == -ENOMEM)
                        goto done;
                r = preflight_add(&p, CHECK_FAIL, "domain", NULL, "could not parse %s's XML: %s", name, parse_err ? parse_err : "?");
                goto done;
        }

        if ((r = check_cpu(&p, dst, d)) < 0 || (r = check_memory(&p, dom, dst, name)) < 0 ||
            (r = check_uuid(&p, dst, uuid, name)) < 0)
                goto done;
        for (size_t i = 0; i < d->n_disks; i++) {
                r = block_plan_disk(cfg, dst, &d->disks[i], copy_disks, copy_mode, plan, &p);
                if (r == 0)
                        r = check_disk(&p, cfg, &d->disks[i]);
                if (r < 0)
                        goto done;
        }
        if ((r = block_plan_summary(plan, &p)) < 0)
                goto done;
        if ((r = secrets_check(&p, dom, d, dst)) < 0 || (r = preflight_remote(&p, cfg, dst, d, xml)) < 0 ||
            (r = preflight_shared(&p, cfg, dst)) < 0)
                goto done;
        for (size_t i = 0; copy_disks && copy_disks[i]; i++) {
                bool found = false;
                for (size_t j = 0; j < d->n_disks; j++)
                        found |= streq_ptr(d->disks[j].target, copy_disks[i]);
                if (!found && (r = preflight_add(&p, CHECK_FAIL, "copy-storage", "name disks by their target (virsh domblklist)",
                                       "%s has no disk %s to copy", name, copy_disks[i])) < 0)
                        goto done;
        }
        r = 0;
done:
        block_plan_free(&own);
        if (r < 0) {
                preflight_free(&p);
                return r;
        }
        *ret = p;
        return 0;
}

void preflight_print_json(const struct preflight *p, FILE *f, const char *domain, const char *dest_uri)
{
        const char *fields[] = { "domain", domain, "destination", dest_uri, NULL };
        preflight_print_json_fields(p, f, fields);
}
