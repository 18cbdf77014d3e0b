/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "remote.h"

#include <libvirt/virterror.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "fcname.h"
#include "util.h"
#include "virt.h"

/* ---------------------------------------------------------------- XML bits */

/* The string value of expr in the XML text xml, malloc'ed ("" when
 * absent), or NULL when the XML does not parse or memory runs out. */
static char *xml_string(const char *xml, const char *expr)
{
        xmlDocPtr doc = xmlReadMemory(xml, (int)strlen(xml), NULL, NULL, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
        if (!doc)
                return NULL;
        char *s = NULL;
        xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
        xmlXPathObjectPtr o = ctx ? xmlXPathEvalExpression((const xmlChar *)expr, ctx) : NULL;
        if (o && o->type == XPATH_STRING)
                s = strdup(o->stringval ? (const char *)o->stringval : "");
        xmlXPathFreeObject(o);
        xmlXPathFreeContext(ctx);
        xmlFreeDoc(doc);
        return s;
}

/* Node devices of one capability with what the checks need of each, read
 * once when listed (every XML is a round trip to the destination). */
struct devs {
        int n;
        char **name, **parent; /* parent: "" when none */
        char **val;            /* the string value of the listing's expression */
};

static void devs_free(struct devs *d)
{
        for (int i = 0; i < d->n; i++) {
                free(d->name[i]);
                free(d->parent[i]);
                free(d->val[i]);
        }
        free(d->name);
        free(d->parent);
        free(d->val);
        memset(d, 0, sizeof(*d));
}

/* Lists dst's node devices with capability flags and reads expr of each.
 * 0, -1 (libvirt's error) or -ENOMEM. */
static int list_devs(virConnectPtr dst, unsigned flags, const char *expr, struct devs *d)
{
        virNodeDevicePtr *v = NULL;
        int n = virConnectListAllNodeDevices(dst, &v, flags), r = 0;
        memset(d, 0, sizeof(*d));
        if (n < 0)
                return -1;
        d->name = calloc((size_t)n + 1, sizeof(char *));
        d->parent = calloc((size_t)n + 1, sizeof(char *));
        d->val = calloc((size_t)n + 1, sizeof(char *));
        if (!d->name || !d->parent || !d->val)
                r = -ENOMEM;
        for (int i = 0; i < n; i++) {
                if (r == 0) {
                        const char *nm = virNodeDeviceGetName(v[i]), *pa = virNodeDeviceGetParent(v[i]);
                        _cleanup_free_ char *xml = virNodeDeviceGetXMLDesc(v[i], 0);
                        d->name[i] = strdup(nm ? nm : "");
                        d->parent[i] = strdup(pa ? pa : "");
                        d->val[i] = xml ? xml_string(xml, expr) : strdup("");
                        d->n = i + 1;
                        if (!d->name[i] || !d->parent[i] || !d->val[i])
                                r = -ENOMEM;
                }
                virNodeDeviceFree(v[i]);
        }
        free(v);
        if (r < 0)
                devs_free(d);
        return r;
}

/* ---------------------------------------------------------------- the hook */

/* The active pool whose target is path (virStoragePoolLookupByTargetPath
 * is not in every driver), or NULL. */
static virStoragePoolPtr pool_by_path(virConnectPtr c, const char *path)
{
        virStoragePoolPtr *pools = NULL, found = NULL;
        int n = virConnectListAllStoragePools(c, &pools, VIR_CONNECT_LIST_STORAGE_POOLS_ACTIVE);
        for (int i = 0; i < n; i++) {
                _cleanup_free_ char *xml = found ? NULL : virStoragePoolGetXMLDesc(pools[i], 0);
                _cleanup_free_ char *t = xml ? xml_string(xml, "string(/pool/target/path)") : NULL;
                if (t && streq(t, path))
                        found = pools[i];
                else
                        virStoragePoolFree(pools[i]);
        }
        free(pools);
        return found;
}

virStoragePoolPtr remote_dir_pool(virConnectPtr c, const char *dir, bool build, bool *ours, bool *built, int *errnum, char **err)
{
        _cleanup_free_ char *xml = NULL;
        static unsigned seq;
        unsigned n = __atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED);

        *ours = *built = false;
        *errnum = 0;
        if (err)
                *err = NULL;
        _cleanup_free_ char *edir = xml_escape(dir);
        if (!edir || asprintf(&xml, "<pool type='dir'><name>migkit-%d-%u-%lx</name><target><path>%s</path>"
                                    "<permissions><mode>0755</mode></permissions></target></pool>",
                              (int)getpid(), n, (unsigned long)now_ms(), edir) < 0) {
                *errnum = ENOMEM;
                return NULL;
        }
        virStoragePoolPtr pool = virStoragePoolCreateXML(c, xml, 0);
        if (pool) {
                *ours = true;
                return pool;
        }
        virErrorPtr e = virGetLastError();
        /* libvirt's message for a missing target: "cannot open directory ...: No such file or directory" */
        if (e && e->message && strstr(e->message, "No such file or directory")) {
                if (!build) {
                        *errnum = ENOENT;
                        return NULL;
                }
                pool = virStoragePoolCreateXML(c, xml, VIR_STORAGE_POOL_CREATE_WITH_BUILD);
                if (pool) {
                        *ours = *built = true;
                        return pool;
                }
        } else if ((pool = pool_by_path(c, dir))) /* a pool on that directory exists already: use it, leave it be */
                return pool;
        *errnum = EIO;
        if (err)
                *err = strdup(virt_last_error());
        return NULL;
}

int remote_hook_installed(virConnectPtr dst, const char *hooks_dir, char **err)
{
        _cleanup_free_ char *dir = NULL;
        bool ours, built;
        int errnum, ret = -1;

        if (err)
                *err = NULL;
        if (asprintf(&dir, "%s/qemu.d", hooks_dir) < 0)
                return -1;
        virStoragePoolPtr pool = remote_dir_pool(dst, dir, false, &ours, &built, &errnum, err);
        if (!pool)
                return errnum == ENOENT ? 0 : -1;
        virStorageVolPtr *vols = NULL;
        int n = virStoragePoolListAllVolumes(pool, &vols, 0);
        if (n >= 0) {
                ret = 0;
                for (int i = 0; i < n; i++) {
                        const char *v = virStorageVolGetName(vols[i]);
                        if (v && strstr(v, "migkit"))
                                ret = 1;
                        virStorageVolFree(vols[i]);
                }
                free(vols);
        } else if (err)
                *err = strdup(virt_last_error());
        if (ours)
                virStoragePoolDestroy(pool); /* transient: gone, the directory stays as it was */
        virStoragePoolFree(pool);
        return ret;
}

/* ---------------------------------------------------------------- bridges */

static int check_bridges(struct preflight *p, const struct mk_config *cfg, virConnectPtr dst, const struct domxml *d, int *hook,
                         const char *hook_err)
{
        if (d->n_ifaces == 0)
                return 0;
        virInterfacePtr *ifs = NULL;
        int n = virConnectListAllInterfaces(dst, &ifs, 0), r = 0;
        if (n < 0)
                return preflight_add(p, CHECK_WARN, "bridges", "check the bridges on the destination by hand (ip link)",
                                     "cannot list the destination's interfaces: %s", virt_last_error());
        _cleanup_strv_ char **have = NULL;
        for (int i = 0; i < n; i++) {
                const char *nm = virInterfaceGetName(ifs[i]);
                if (nm && r == 0)
                        r = strv_push(&have, nm);
                virInterfaceFree(ifs[i]);
        }
        free(ifs);
        if (r < 0)
                return r;

        _cleanup_strv_ char **seen = NULL;
        for (size_t i = 0; i < d->n_ifaces && r >= 0; i++) {
                const char *br = d->ifaces[i].bridge;
                _cleanup_free_ char *name = NULL;
                if (!br || strv_contains(seen, br))
                        continue;
                if (strv_push(&seen, br) < 0 || asprintf(&name, "bridge %s", br) < 0)
                        return -ENOMEM;
                if (strv_contains(have, br))
                        r = preflight_add(p, CHECK_OK, name, NULL, "%s exists on the destination", br);
                else if (*hook < 0)
                        r = preflight_add(p, CHECK_WARN, name, "check that migkit is installed on the destination",
                                          "%s is missing on the destination, and whether migkit's hook there creates it is unknown (%s)", br,
                                          hook_err ? hook_err : "?");
                else if (*hook == 0)
                        r = preflight_add(p, CHECK_FAIL, name, "install migkit on the destination (its hook creates the bridge), or create the bridge there",
                                          "%s is missing on the destination and migkit's hook is not installed there: the migration would fail "
                                          "(Cannot get interface MTU on '%s': No such device)", br, br);
                else if (strv_fnmatch(cfg->bridge_allow, br))
                        r = preflight_add(p, CHECK_WILL_FIX, name, NULL,
                                          "%s is missing on the destination: migkit's hook there creates it at migrate begin "
                                          "(assuming its [bridges] allow matches this host's)", br);
                else
                        r = preflight_add(p, CHECK_FAIL, name, "create the bridge on the destination, or add it to [bridges] allow there",
                                          "%s is missing on the destination and not in [bridges] allow, so migkit's hook will not create it", br);
        }
        return r < 0 ? r : 0;
}

/* ---------------------------------------------------------------- LUNs */

/* Is the LUN of source s visible among dst's node devices? 1 yes, 0 no. */
static int lun_visible(const struct fc_source *s, const struct devs *storage, const struct devs *targets, const struct devs *luns)
{
        if (s->kind == FC_SRC_PATH) {
                for (int i = 0; i < targets->n; i++) {
                        uint64_t wwpn;
                        if (fc_parse_wwpn(targets->val[i], &wwpn) < 0 || wwpn != s->wwpn)
                                continue;
                        for (int j = 0; j < luns->n; j++)
                                if (streq(luns->parent[j], targets->name[i]) && *luns->val[j] &&
                                    strtoull(luns->val[j], NULL, 10) == s->lun)
                                        return 1;
                }
                return 0;
        }
        for (int i = 0; i < storage->n; i++)
                if (*storage->val[i] && strcasecmp(storage->val[i], s->wwid) == 0)
                        return 1;
        return 0;
}

static int check_luns(struct preflight *p, virConnectPtr dst, const struct domxml *d)
{
        struct devs storage = { 0 }, targets = { 0 }, luns = { 0 }, hbas = { 0 };
        _cleanup_free_ char *hba_list = NULL; /* "scsi_host5 (wwpn ...), ..." */
        bool listed = false;
        int r = 0;

        for (size_t i = 0; i < d->n_disks && r >= 0; i++) {
                const struct dom_disk *dk = &d->disks[i];
                struct fc_source s;
                if (dk->type != DOM_DISK_BLOCK || !dk->source || fc_parse_source(dk->source, &s) < 0 || s.kind == FC_SRC_NONE ||
                    (s.kind != FC_SRC_PATH && !s.wwid[0]))
                        continue;
                _cleanup_free_ char *name = NULL;
                if (asprintf(&name, "lun %s", dk->target ? dk->target : "?") < 0) {
                        r = -ENOMEM;
                        break;
                }
                if (!listed) {
                        listed = true;
                        if ((r = list_devs(dst, VIR_CONNECT_LIST_NODE_DEVICES_CAP_STORAGE,
                                           "string(/device/capability[@type='storage']/serial)", &storage)) < 0 ||
                            (r = list_devs(dst, VIR_CONNECT_LIST_NODE_DEVICES_CAP_SCSI_TARGET,
                                           "string(//capability[@type='fc_remote_port']/wwpn)", &targets)) < 0 ||
                            (r = list_devs(dst, VIR_CONNECT_LIST_NODE_DEVICES_CAP_SCSI, "string(/device/capability[@type='scsi']/lun)",
                                           &luns)) < 0 ||
                            (r = list_devs(dst, VIR_CONNECT_LIST_NODE_DEVICES_CAP_FC_HOST, "string(//capability[@type='fc_host']/wwpn)",
                                           &hbas)) < 0) {
                                if (r == -1)
                                        r = preflight_add(p, CHECK_WARN, "luns", NULL, "cannot list the destination's node devices: %s",
                                                          virt_last_error());
                                break;
                        }
                        for (int j = 0; j < hbas.n && r >= 0; j++) { /* what the hook there will rescan, said once */
                                char *nl = NULL;
                                if (asprintf(&nl, "%s%s%s (wwpn %s)", hba_list ? hba_list : "", hba_list ? ", " : "", hbas.name[j],
                                             *hbas.val[j] ? hbas.val[j] : "?") < 0)
                                        r = -ENOMEM;
                                free(hba_list);
                                hba_list = nl;
                        }
                        if (r < 0)
                                break;
                }
                char what[FC_WWID_MAX + 64];
                if (s.kind == FC_SRC_PATH)
                        snprintf(what, sizeof(what), "LUN %llu behind target port 0x%016llx", (unsigned long long)s.lun,
                                 (unsigned long long)s.wwpn);
                else
                        snprintf(what, sizeof(what), "WWID %s", s.wwid);
                if (lun_visible(&s, &storage, &targets, &luns)) {
                        r = preflight_add(p, CHECK_OK, name, NULL, "%s (%s) is visible on the destination", dk->source, what);
                        continue;
                }
                if (hbas.n == 0) {
                        r = preflight_add(p, CHECK_FAIL, name, "zone and map the LUN to the destination's HBAs, or choose another destination",
                                          "%s (%s) is not visible on the destination, which has no FC HBA to rescan", dk->source, what);
                        continue;
                }
                r = preflight_add(p, CHECK_WILL_FIX, name, NULL,
                                  "%s (%s) is not visible on the destination yet: migkit's hook there rescans %s at migrate begin",
                                  dk->source, what, hba_list);
        }
        devs_free(&storage);
        devs_free(&targets);
        devs_free(&luns);
        devs_free(&hbas);
        return r < 0 ? r : 0;
}

/* ---------------------------------------------------------------- machine */

static int check_machine(struct preflight *p, virConnectPtr dst, const struct domxml *d, const char *xml)
{
        _cleanup_free_ char *emulator = xml_string(xml, "string(/domain/devices/emulator)");
        _cleanup_free_ char *arch = xml_string(xml, "string(/domain/os/type/@arch)");
        _cleanup_free_ char *machine = xml_string(xml, "string(/domain/os/type/@machine)");
        _cleanup_free_ char *virttype = xml_string(xml, "string(/domain/@type)");
        if (!emulator || !arch || !machine || !virttype)
                return -ENOMEM;
        _cleanup_free_ char *caps = virConnectGetDomainCapabilities(dst, *emulator ? emulator : NULL, *arch ? arch : NULL,
                                                                     *machine ? machine : NULL, *virttype ? virttype : NULL, 0);
        if (!caps && virGetLastErrorCode() == VIR_ERR_NO_SUPPORT)
                return preflight_add(p, CHECK_WARN, "machine", NULL, "cannot ask the destination about machine type %s: %s", machine,
                                     virt_last_error());
        if (!caps)
                return preflight_add(p, CHECK_FAIL, "machine", "install the same QEMU (and machine types) on the destination",
                                     "the destination cannot run %s's machine type %s with %s (%s): %s", d->name, machine,
                                     *emulator ? emulator : "the default emulator", *virttype ? virttype : "?", virt_last_error());
        _cleanup_free_ char *got = xml_string(caps, "string(/domainCapabilities/machine)");
        return preflight_add(p, CHECK_OK, "machine", NULL, "the destination's %s runs machine type %s (%s)",
                             *emulator ? emulator : "QEMU", machine, got && *got ? got : "as asked");
}

/* ---------------------------------------------------------------- all */

int preflight_remote(struct preflight *p, const struct mk_config *cfg, virConnectPtr dst, const struct domxml *d, const char *xml)
{
        _cleanup_free_ char *hook_err = NULL;
        int hook = remote_hook_installed(dst, cfg->hooks_dir, &hook_err), r;

        if (hook > 0)
                r = preflight_add(p, CHECK_OK, "hook", NULL, "migkit's hook is installed on the destination (%s/qemu.d)", cfg->hooks_dir);
        else if (hook == 0)
                r = preflight_add(p, CHECK_WARN, "hook", "install migkit there, then reload libvirtd",
                                  "migkit's hook is not installed on the destination (no %s/qemu.d/*migkit*): nothing is prepared there",
                                  cfg->hooks_dir);
        else
                r = preflight_add(p, CHECK_WARN, "hook", NULL, "cannot tell whether migkit's hook is installed on the destination: %s",
                                  hook_err ? hook_err : "?");
        if (r < 0)
                return r;
        if ((r = check_bridges(p, cfg, dst, d, &hook, hook_err)) < 0 || (r = check_luns(p, dst, d)) < 0)
                return r;
        return check_machine(p, dst, d, xml);
}
