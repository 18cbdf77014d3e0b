/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "doctor.h"

#include <ctype.h>
#include <dirent.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>

#include "domxml.h"
#include "fc.h"
#include "instdir.h"
#include "localcheck.h"
#include "migrate.h"
#include "mpath.h"
#include "procfs.h"
#include "secrets.h"
#include "util.h"

#include <libvirt/virterror.h>

static int strcmpp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* What the local guests use, gathered once from libvirt. */
struct use {
        char *domain;
        char *what;      /* bridge name, or disk source */
        char *target;    /* disk target (vda), NULL for bridges */
        int kind;        /* enum fc_source_kind for disks */
};

struct uses {
        struct use *v;
        size_t n;
};

static void uses_free(struct uses *u)
{
        for (size_t i = 0; i < u->n; i++) {
                free(u->v[i].domain);
                free(u->v[i].what);
                free(u->v[i].target);
        }
        free(u->v);
        u->v = NULL;
        u->n = 0;
}

static int uses_add(struct uses *u, const char *domain, const char *what, const char *target, int kind)
{
        struct use *v = realloc(u->v, (u->n + 1) * sizeof(*v));
        if (!v)
                return -ENOMEM;
        u->v = v;
        v[u->n] = (struct use){ strdup(domain), strdup(what), target ? strdup(target) : NULL, kind };
        u->n++;
        if (!v[u->n - 1].domain || !v[u->n - 1].what || (target && !v[u->n - 1].target))
                return -ENOMEM;
        return 0;
}

/* ---- the checks ------------------------------------------------------------ */

#define ADD(...) do { if (preflight_add(p, __VA_ARGS__) < 0) return -ENOMEM; } while (0)

static int check_config(const struct mk_config *cfg, const struct doctor_opts *o, struct preflight *p)
{
        if (o->config_error)
                ADD(CHECK_FAIL, "config", "correct what the message names (file, line, key), then check with: migkit config check",
                    "%s (the other checks use the built-in defaults)", o->config_error);
        else if (cfg->file)
                ADD(CHECK_OK, "config", NULL, "%s is valid", cfg->file);
        else
                ADD(CHECK_OK, "config", NULL, "no configuration file (%s): the built-in defaults apply", MIGKIT_CONFIG_PATH);
        for (size_t i = 0; !o->config_error && cfg->notes && cfg->notes[i]; i++)
                ADD(CHECK_WARN, "config", NULL, "%s: %s", cfg->file ? cfg->file : "configuration", cfg->notes[i]);
        return 0;
}

/* Does path (a hook) end up at a file named migkit-hook? 1 yes, 0 no, and
 * -ENOENT for a dangling link to migkit-hook. */
static int runs_migkit_hook(const char *path, char **target)
{
        char buf[PATH_MAX];
        _cleanup_free_ char *real = realpath(path, NULL);
        if (real) {
                const char *b = strrchr(real, '/');
                *target = TAKE_PTR(real);
                return streq(b ? b + 1 : *target, "migkit-hook");
        }
        ssize_t l = readlink(path, buf, sizeof(buf) - 1);
        if (l > 0) {
                buf[l] = 0;
                const char *b = strrchr(buf, '/');
                *target = strdup(buf);
                if (streq(b ? b + 1 : buf, "migkit-hook"))
                        return -ENOENT;
        }
        return 0;
}

/* hook_path, hook_time: the hook found (for the libvirtd check). */
static int check_hook(const struct mk_config *cfg, struct preflight *p, char **hook_path, time_t *hook_time)
{
        _cleanup_free_ char *top = path_join(cfg->hooks_dir, "qemu"), *dir = path_join(cfg->hooks_dir, "qemu.d");
        _cleanup_free_ char *found = NULL, *found_target = NULL, *dangling = NULL;
        if (!top || !dir)
                return -ENOMEM;

        char **cands = NULL;
        _cleanup_strv_ char **list = NULL;
        if (strv_push(&list, top) < 0)
                return -ENOMEM;
        _cleanup_(closedirp) DIR *d = opendir(dir);
        if (d) {
                struct dirent *de;
                _cleanup_strv_ char **names = NULL;
                while ((de = readdir(d)))
                        if (de->d_name[0] != '.' && strv_push(&names, de->d_name) < 0)
                                return -ENOMEM;
                /* libvirt runs them in name order */
                if (names)
                        qsort(names, strv_length(names), sizeof(char *), strcmpp);
                for (size_t i = 0; names && names[i]; i++) {
                        _cleanup_free_ char *e = path_join(dir, names[i]);
                        if (!e || strv_push(&list, e) < 0)
                                return -ENOMEM;
                }
        }
        cands = list;
        for (size_t i = 0; cands[i]; i++) {
                _cleanup_free_ char *t = NULL;
                int r = runs_migkit_hook(cands[i], &t);
                if (r == -ENOENT && !dangling) {
                        if (asprintf(&dangling, "%s -> %s", cands[i], t) < 0)
                                return -ENOMEM;
                } else if (r > 0 && !found) {
                        found = strdup(cands[i]);
                        found_target = TAKE_PTR(t);
                        if (!found)
                                return -ENOMEM;
                }
        }
        if (!found) {
                if (dangling)
                        ADD(CHECK_FAIL, "hook", "reinstall migkit (apt install --reinstall migkit, or make install)",
                            "%s: the hook it names does not exist", dangling);
                else
                        ADD(CHECK_FAIL, "hook",
                            "install migkit (apt install migkit, or make install): it links <hooks>/qemu.d/50-migkit to migkit-hook; then reload libvirtd",
                            "neither %s nor an entry of %s runs migkit-hook: incoming migrations get no instance directory, bridges or LUNs",
                            top, dir);
                return 0;
        }
        struct stat lst, st;
        if (stat(found, &st) < 0 || lstat(found, &lst) < 0) {
                ADD(CHECK_FAIL, "hook", "reinstall migkit", "%s: %s", found, strerror(errno));
                return 0;
        }
        if (!S_ISREG(st.st_mode) || !(st.st_mode & 0111)) {
                ADD(CHECK_FAIL, "hook", "chmod 0755 the file (libvirt skips hooks that are not executable)",
                    "%s -> %s is not an executable file: libvirt does not run it", found, found_target);
                return 0;
        }
        ADD(CHECK_OK, "hook", NULL, "%s runs %s", found, found_target);
        *hook_time = lst.st_mtime > lst.st_ctime ? lst.st_mtime : lst.st_ctime;
        *hook_path = TAKE_PTR(found);
        return 0;
}

static void fmt_time(time_t t, char *buf, size_t size)
{
        struct tm tm;
        if (!localtime_r(&t, &tm) || strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm) == 0)
                snprintf(buf, size, "%lld", (long long)t);
}

static int check_libvirtd(const struct mk_config *cfg, const struct doctor_opts *o, struct preflight *p,
                          const char *hook_path, time_t hook_time)
{
        if (!hook_path)
                return 0;
        _cleanup_free_ char *pf1 = path_join(cfg->run_dir, "libvirtd.pid"), *pf2 = path_join(cfg->run_dir, "virtqemud.pid");
        if (!pf1 || !pf2)
                return -ENOMEM;
        const char *pidfiles[] = { o->libvirtd_pidfile ? o->libvirtd_pidfile : pf1, o->libvirtd_pidfile ? NULL : pf2, NULL };
        static const char *const names[] = { "libvirtd", "virtqemud", NULL };
        const char *how = NULL;
        int other = 0;
        int pid = proc_find(cfg->proc_root, pidfiles, names, &how, &other);
        if (pid == -EEXIST) {
                ADD(CHECK_WARN, "libvirtd", "give its pid file with the [paths] run directory, or reload it after installing",
                    "several libvirtd/virtqemud processes run in this mount namespace: cannot tell which one must know %s", hook_path);
                return 0;
        }
        if (pid <= 0) {
                ADD(CHECK_WARN, "libvirtd", "start libvirtd (systemctl start libvirtd); it finds the hook when it starts",
                    "no running libvirtd or virtqemud found (%s, %s/*/comm%s): cannot tell whether it knows %s",
                    pidfiles[0], cfg->proc_root, other ? ", only in other mount namespaces" : "", hook_path);
                return 0;
        }
        time_t start;
        int r = proc_start_time(cfg->proc_root, pid, &start);
        if (r < 0) {
                ADD(CHECK_WARN, "libvirtd", "reload libvirtd if the hook was installed after it started (kill -HUP / systemctl reload libvirtd)",
                    "cannot read the start time of libvirtd pid %d: %s", pid, strerror(-r));
                return 0;
        }
        char ts[64], hs[64];
        fmt_time(start, ts, sizeof(ts));
        fmt_time(hook_time, hs, sizeof(hs));
        /* btime is whole seconds: a start within a second of the hook is
         * taken as after it */
        if (hook_time > start + 1) {
                _cleanup_free_ char *fix = NULL;
                if (asprintf(&fix, "reload libvirtd unless that was done since %s (kill -HUP %d / systemctl reload libvirtd); "
                             "running guests are not affected", hs, pid) < 0)
                        return -ENOMEM;
                ADD(CHECK_WARN, "libvirtd", fix,
                    "%s changed at %s, after libvirtd (pid %d, from %s) started at %s: libvirt finds hooks only when it starts or reloads",
                    hook_path, hs, pid, how, ts);
        } else
                ADD(CHECK_OK, "libvirtd", NULL, "libvirtd (pid %d) started at %s, after %s was installed (%s): it runs the hook",
                    pid, ts, hook_path, hs);
        return 0;
}

static int gather(const struct doctor_opts *o, struct uses *bridges, struct uses *disks, int *n_domains)
{
        virDomainPtr *doms = NULL;
        int n = virConnectListAllDomains(o->conn, &doms, 0);
        int r = 0;
        if (n < 0)
                return -EIO;
        *n_domains = n;
        for (int i = 0; i < n; i++) {
                const char *name = virDomainGetName(doms[i]);
                _cleanup_free_ char *xml = virDomainGetXMLDesc(doms[i], 0);
                _cleanup_(domxml_freep) struct domxml *d = NULL;
                if (r >= 0 && name && xml && domxml_parse(xml, strlen(xml), &d, NULL) >= 0) {
                        for (size_t k = 0; r >= 0 && k < d->n_ifaces; k++)
                                if (d->ifaces[k].bridge)
                                        r = uses_add(bridges, name, d->ifaces[k].bridge, NULL, 0);
                        for (size_t k = 0; r >= 0 && k < d->n_disks; k++) {
                                struct fc_source s;
                                if (d->disks[k].type != DOM_DISK_BLOCK || !d->disks[k].source ||
                                    fc_parse_source(d->disks[k].source, &s) < 0 || s.kind == FC_SRC_NONE)
                                        continue;
                                r = uses_add(disks, name, d->disks[k].source, d->disks[k].target ? d->disks[k].target : "?", s.kind);
                        }
                }
                virDomainFree(doms[i]);
        }
        free(doms);
        return r;
}

static int check_libvirt(const struct doctor_opts *o, struct preflight *p, struct uses *bridges, struct uses *disks, bool *have)
{
        const char *uri = o->conn_uri ? o->conn_uri : "libvirt";
        *have = false;
        if (!o->conn) {
                ADD(CHECK_FAIL, "libvirt", "start libvirtd (systemctl start libvirtd), or name this host's libvirt with --connect URI",
                    "cannot connect to %s: %s (the guest checks below are skipped)", uri, o->conn_error ? o->conn_error : "unknown error");
                return 0;
        }
        int n = 0;
        int r = gather(o, bridges, disks, &n);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                virErrorPtr e = virGetLastError();
                ADD(CHECK_WARN, "libvirt", "check libvirtd's log", "connected to %s but cannot list its domains: %s", uri,
                    e && e->message ? e->message : "unknown error");
                return 0;
        }
        unsigned long ver = 0;
        if (virConnectGetLibVersion(o->conn, &ver) < 0)
                ver = 0;
        ADD(CHECK_OK, "libvirt", NULL, "connected to %s (libvirt %lu.%lu.%lu), %d domain%s", uri, ver / 1000000,
            ver / 1000 % 1000, ver % 1000, n, n == 1 ? "" : "s");
        *have = true;
        return 0;
}

static int check_instances(const struct mk_config *cfg, struct preflight *p)
{
        return localcheck_instances(cfg, p);
}

static int list_bridges(const char *sysfs, char ***ret)
{
        _cleanup_free_ char *dir = path_join(sysfs, "class/net");
        if (!dir)
                return -ENOMEM;
        _cleanup_(closedirp) DIR *d = opendir(dir);
        if (!d)
                return -errno;
        struct dirent *de;
        _cleanup_strv_ char **l = NULL;
        while ((de = readdir(d))) {
                struct stat st;
                char p[PATH_MAX];
                if (de->d_name[0] == '.')
                        continue;
                snprintf(p, sizeof(p), "%s/%s/bridge", dir, de->d_name);
                if (stat(p, &st) == 0 && S_ISDIR(st.st_mode) && strv_push(&l, de->d_name) < 0)
                        return -ENOMEM;
        }
        if (l)
                qsort(l, strv_length(l), sizeof(char *), strcmpp);
        *ret = TAKE_PTR(l);
        return 0;
}

static int check_bridges(const struct mk_config *cfg, struct preflight *p, const struct uses *u, bool have)
{
        _cleanup_strv_ char **present = NULL;
        _cleanup_free_ char *allow = cfg->bridge_allow ? strv_join(cfg->bridge_allow, ", ") : strdup("(empty)");
        if (!allow)
                return -ENOMEM;
        int r = list_bridges(cfg->sysfs_root, &present);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                ADD(CHECK_WARN, "bridges", "check [paths] sysfs", "cannot list the bridges in %s/class/net: %s", cfg->sysfs_root, strerror(-r));
                return 0;
        }
        size_t n_bad = 0, n_warn = 0;
        for (size_t i = 0; i < u->n; i++) {
                const char *b = u->v[i].what;
                bool here = strv_contains(present, b), allowed = strv_fnmatch(cfg->bridge_allow, b);
                bool dup = false;
                for (size_t k = 0; k < i; k++)
                        dup = dup || streq(u->v[k].what, b);
                if (dup)
                        continue;
                if (!here && (!allowed || !cfg->create_bridges)) {
                        n_bad++;
                        ADD(CHECK_FAIL, "bridges",
                            cfg->create_bridges ? "create the bridge, or add a pattern for it to [bridges] allow"
                                                : "create the bridge, or set [bridges] create = yes with a matching allow pattern",
                            "guest %s uses bridge %s, which is not here and %s: it cannot start or migrate in here",
                            u->v[i].domain, b, !allowed ? "not in the allow-list" : "bridge creation is off");
                } else if (here && !allowed) {
                        n_warn++;
                        ADD(CHECK_WARN, "bridges", "create it on every destination by hand, or add a pattern for it to [bridges] allow",
                            "guest %s uses bridge %s, which is not in the allow-list (%s): a destination that lacks it refuses the migration",
                            u->v[i].domain, b, allow);
                }
        }
        _cleanup_free_ char *pl = present ? strv_join(present, ", ") : strdup("none");
        if (!pl)
                return -ENOMEM;
        size_t n_allowed = 0;
        for (size_t i = 0; present && present[i]; i++)
                n_allowed += strv_fnmatch(cfg->bridge_allow, present[i]);
        if (cfg->create_bridges && !cfg->bridge_allow)
                ADD(CHECK_WARN, "bridges", "set [bridges] allow (e.g. qbr* brq*)",
                    "bridge creation is on but the allow-list is empty: migkit creates no bridge; present: %s", pl);
        else if (n_bad == 0 && n_warn == 0)
                ADD(CHECK_OK, "bridges", NULL, "allow-list %s (creation %s); present: %s (%zu allowed); %s", allow,
                    cfg->create_bridges ? "on" : "off", pl, n_allowed,
                    have ? (u->n ? "every bridge a local guest uses is here or allowed" : "no local guest uses a bridge")
                         : "local guests not checked (no libvirt)");
        return 0;
}

static int check_state(const struct mk_config *cfg, struct preflight *p)
{
        const char *dir = cfg->state_dir;
        struct stat st;
        _cleanup_free_ char *fix = NULL;
        if (asprintf(&fix, "mkdir -p -m 0700 %s (the package creates it), or set [paths] state", dir) < 0)
                return -ENOMEM;
        if (stat(dir, &st) < 0) {
                ADD(CHECK_FAIL, "state", fix, "%s: %s: %sno journal can be written, so every incoming migration is refused", dir,
                    strerror(errno), errno == ENOENT ? "migkit is not installed on this host; " : "");
                return 0;
        }
        if (!S_ISDIR(st.st_mode)) {
                ADD(CHECK_FAIL, "state", fix, "%s is not a directory: no journal can be written, so every incoming migration is refused", dir);
                return 0;
        }
        struct statvfs sv;
        if (access(dir, W_OK | X_OK) < 0) {
                ADD(CHECK_FAIL, "state", errno == EROFS ? "remount its filesystem read-write, or set [paths] state" : "run as root; chown root and chmod 0700 it",
                    "%s is not writable: %s: no journal can be written, so every incoming migration is refused", dir, strerror(errno));
                return 0;
        }
        if (statvfs(dir, &sv) == 0 && sv.f_bfree == 0) {
                ADD(CHECK_FAIL, "state", "free space on its filesystem", "%s: its filesystem is full", dir);
                return 0;
        }
        if (st.st_mode & 0022) {
                ADD(CHECK_WARN, "state", "chmod 0700 it", "%s is writable by others (mode %04o): anyone could forge proofs and journals",
                    dir, st.st_mode & 07777);
                return 0;
        }
        ADD(CHECK_OK, "state", NULL, "%s is writable (mode %04o)", dir, st.st_mode & 07777);
        return 0;
}

static int check_watch(const struct mk_config *cfg, const struct doctor_opts *o, struct preflight *p)
{
        _cleanup_free_ char *pf = path_join(cfg->run_dir, "migkit-watch.pid");
        if (!pf)
                return -ENOMEM;
        const char *pidfiles[] = { o->watch_pidfile ? o->watch_pidfile : pf, NULL };
        static const char *const names[] = { "migkit-watch", NULL };
        const char *how = NULL;
        int other = 0;
        int pid = proc_find(cfg->proc_root, pidfiles, names, &how, &other);
        if (pid == -EEXIST)
                ADD(CHECK_WARN, "watch", "stop all but one (systemctl restart migkit-watch)",
                    "several migkit-watch processes run: each would act on the same events");
        else if (pid > 0)
                ADD(CHECK_OK, "watch", NULL, "migkit-watch runs (pid %d, from %s)", pid, how);
        else if (other > 0)
                ADD(CHECK_WARN, "watch", "systemctl enable --now migkit-watch (if this host's runs elsewhere, ignore this)",
                    "migkit-watch runs only in another mount namespace (%d process%s): cannot tell whether one watches this libvirt",
                    other, other == 1 ? "" : "es");
        else
                ADD(CHECK_FAIL, "watch", "systemctl enable --now migkit-watch",
                    "migkit-watch is not running (%s, %s/*/comm): before libvirt 10.5 nothing proves that a migration out "
                    "succeeded or one in failed, so nothing is cleaned up or rolled back", pidfiles[0], cfg->proc_root);
        return 0;
}

static int check_fc(const struct mk_config *cfg, const struct doctor_opts *o, struct preflight *p, const struct uses *u, bool have)
{
        if (!have) {
                ADD(CHECK_WARN, "fc", "fix the libvirt check, then run doctor again", "cannot tell whether local guests use FC SAN disks (no libvirt)");
                return 0;
        }
        if (u->n == 0) {
                ADD(CHECK_OK, "fc", NULL, "no local guest has FC SAN block disks (by-path -fc-, wwn-, dm-uuid-mpath-, /dev/mapper): HBAs and multipathd not needed");
                return 0;
        }
        const struct use *first = &u->v[0];
        struct fc_plan plan = { 0 };
        int r = fc_plan_build(cfg->sysfs_root, false, false, NULL, 0, &plan);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                ADD(CHECK_FAIL, "fc", "check [paths] sysfs and the HBA driver",
                    "guest %s disk %s (%s) is on FC, but %s/class/fc_host cannot be read: %s", first->domain, first->target,
                    first->what, cfg->sysfs_root, strerror(-r));
        else {
                size_t online = 0;
                for (size_t i = 0; i < plan.n_hbas; i++)
                        online += plan.hbas[i].online;
                _cleanup_free_ char *desc = fc_hbas_describe(&plan);
                if (!desc) {
                        fc_plan_free(&plan);
                        return -ENOMEM;
                }
                int rr;
                if (plan.n_hbas == 0)
                        rr = preflight_add(p, CHECK_FAIL, "fc", "install and cable the FC HBAs (and load their driver: lpfc, qla2xxx)",
                                           "%zu FC disk%s in use (guest %s disk %s: %s) but no FC HBA in %s/class/fc_host: "
                                           "their LUNs cannot be found on migrations in", u->n, u->n == 1 ? "" : "s",
                                           first->domain, first->target, first->what, cfg->sysfs_root);
                else if (online == 0)
                        rr = preflight_add(p, CHECK_FAIL, "fc", "check the cabling and the fabric (port_state must be Online)",
                                           "%zu FC disk%s in use but no FC HBA is online: %s", u->n, u->n == 1 ? "" : "s", desc);
                else if (online < plan.n_hbas)
                        rr = preflight_add(p, CHECK_WARN, "fc", "check the cabling and the fabric of the HBAs that are not Online",
                                           "%zu FC disk%s in use; not every FC HBA is online (no redundancy): %s", u->n,
                                           u->n == 1 ? "" : "s", desc);
                else
                        rr = preflight_add(p, CHECK_OK, "fc", NULL, "%zu FC disk%s in use; HBAs %s", u->n, u->n == 1 ? "" : "s", desc);
                if (rr < 0) {
                        fc_plan_free(&plan);
                        return rr;
                }
        }
        fc_plan_free(&plan);

        const struct use *map = NULL;
        for (size_t i = 0; i < u->n && !map; i++)
                if (u->v[i].kind == FC_SRC_MAP)
                        map = &u->v[i];
        if (cfg->fc_multipath == FC_MULTIPATH_NO) {
                if (map)
                        ADD(CHECK_WARN, "multipath", "set [fc] multipath = auto",
                            "guest %s disk %s is a multipath map (%s) but [fc] multipath = no: migkit never asks multipathd for it",
                            map->domain, map->target, map->what);
                return 0;
        }
        if (!map && cfg->fc_multipath != FC_MULTIPATH_YES)
                return 0;
        if (!map)
                map = first;
        _cleanup_mpath_ struct mpath *m = NULL;
        _cleanup_free_ char *err = NULL, *reply = NULL;
        r = mpath_open(cfg->fc_libmpathcmd, &m, &err);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                ADD(CHECK_FAIL, "multipath", "apt install multipath-tools (or set [fc] libmpathcmd)",
                    "guest %s disk %s (%s) needs a multipath map, but %s cannot be loaded: %s", map->domain, map->target,
                    map->what, cfg->fc_libmpathcmd, err ? err : strerror(-r));
                return 0;
        }
        r = mpath_command(m, "show daemon", o->mpath_timeout_ms ? o->mpath_timeout_ms : 2000, &reply);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                ADD(CHECK_FAIL, "multipath", "systemctl enable --now multipathd",
                    "guest %s disk %s (%s) needs a multipath map, but multipathd does not answer: %s", map->domain,
                    map->target, map->what, strerror(-r));
        else {
                reply[strcspn(reply, "\n")] = 0;
                ADD(CHECK_OK, "multipath", NULL, "multipathd answers (%s)", reply);
        }
        return 0;
}

static int check_listen(const struct mk_config *cfg, const struct doctor_opts *o, struct preflight *p)
{
        const char *uri = cfg->migrate_uri;
        const char *sep = strstr(uri, "://");
        if (!sep) {
                ADD(CHECK_WARN, "listen", "set [migrate] uri such as qemu+tls://{dest}/system", "[migrate] uri %s is not a URI", uri);
                return 0;
        }
        _cleanup_free_ char *scheme = strndup(uri, (size_t)(sep - uri));
        if (!scheme)
                return -ENOMEM;
        const char *plus = strchr(scheme, '+');
        const char *transport = plus ? plus + 1 : (sep[3] == '/' ? "unix" : "tls");
        const char *host = sep + 3;
        size_t hl = strcspn(host, "/?");
        unsigned port = 0;
        /* a port after the host: {dest}:16514 or [v6]:16514 */
        const char *colon = memrchr(host, ':', hl);
        const char *bracket = memrchr(host, ']', hl);
        if (colon && (!bracket || colon > bracket))
                port = (unsigned)strtoul(colon + 1, NULL, 10);

        if (streq(transport, "tls")) {
                const char *root = o->pki_root ? o->pki_root : "/";
                static const char *const files[] = {
                        "etc/pki/CA/cacert.pem", "etc/pki/libvirt/servercert.pem", "etc/pki/libvirt/private/serverkey.pem",
                        "etc/pki/libvirt/clientcert.pem", "etc/pki/libvirt/private/clientkey.pem",
                };
                _cleanup_strv_ char **missing = NULL;
                for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
                        _cleanup_free_ char *f = path_join(root, files[i]);
                        if (!f)
                                return -ENOMEM;
                        if (access(f, R_OK) < 0 && strv_push(&missing, f) < 0)
                                return -ENOMEM;
                }
                if (missing) {
                        _cleanup_free_ char *l = strv_join(missing, ", ");
                        if (!l)
                                return -ENOMEM;
                        ADD(CHECK_FAIL, "tls", "create them (certtool; see https://libvirt.org/kbase/tlscerts.html): the CA and server "
                            "files for migrations in, the CA and client files for migrations out",
                            "[migrate] uri %s uses TLS, but these are missing: %s", uri, l);
                } else
                        ADD(CHECK_OK, "tls", NULL, "[migrate] uri %s: CA, server and client certificates and keys are in place", uri);
                if (!port)
                        port = 16514;
        } else if (streq(transport, "tcp")) {
                if (!port)
                        port = 16509;
        } else if (streq(transport, "ssh") || streq(transport, "libssh") || streq(transport, "libssh2")) {
                if (!port)
                        port = 22;
        } else {
                ADD(CHECK_WARN, "listen", "use qemu+tls://{dest}/system for migrations between hosts",
                    "[migrate] uri %s: transport %s cannot be checked here", uri, transport);
                return 0;
        }
        bool lo = false;
        int r = proc_tcp_listening(cfg->proc_root, port, &lo);
        const char *daemon = port == 22 ? "sshd" : "libvirtd";
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                ADD(CHECK_WARN, "listen", "check that it listens: ss -ltn",
                    "cannot tell whether %s listens on TCP port %u ([migrate] uri %s): %s/net/tcp: %s", daemon, port, uri,
                    cfg->proc_root, strerror(-r));
        else if (r == 0) {
                const char *fix = port == 22 ? "start sshd (systemctl enable --now ssh)"
                                  : streq(transport, "tls")
                                          ? "systemctl enable --now libvirtd-tls.socket (or listen_tls = 1 in libvirtd.conf and libvirtd --listen)"
                                          : "systemctl enable --now libvirtd-tcp.socket (or listen_tcp = 1 in libvirtd.conf and libvirtd --listen)";
                ADD(CHECK_FAIL, "listen", fix, "nothing listens on TCP port %u ([migrate] uri %s): migrations into this host cannot connect",
                    port, uri);
        } else if (lo)
                ADD(CHECK_WARN, "listen", "listen on all addresses (listen_addr in libvirtd.conf)",
                    "%s listens on TCP port %u only on the loopback address: other hosts cannot connect", daemon, port);
        else
                ADD(CHECK_OK, "listen", NULL, "%s listens on TCP port %u ([migrate] uri %s%s)", daemon, port, uri,
                    streq(transport, "tcp") ? "; without TLS: not encrypted" : "");
        return 0;
}

/* With a destination: the network from here to it, at the address the
 * migration stream goes to. */
static int check_dest(const struct mk_config *cfg, const struct doctor_opts *o, struct preflight *p)
{
        _cleanup_free_ char *uri = NULL;
        int r;

        if (!o->dest)
                return 0;
        r = migrate_dest_uri(cfg->migrate_uri, o->dest, &uri);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                ADD(CHECK_FAIL, "resolve", "give a host name, or fix [migrate] uri in the configuration",
                    "'%s' is not a host name or URI (or [migrate] uri '%s' has no {dest})", o->dest, cfg->migrate_uri);
                return 0;
        }
        return migrate_check_network(cfg, o->dest, uri, NULL, p);
}

int doctor_run(const struct mk_config *cfg, const struct doctor_opts *o, struct preflight *ret)
{
        struct preflight p = { 0 };
        struct uses bridges = { 0 }, disks = { 0 };
        _cleanup_free_ char *hook = NULL;
        time_t hook_time = 0;
        bool have = false;
        int r;

        if ((r = check_config(cfg, o, &p)) < 0 || (r = check_hook(cfg, &p, &hook, &hook_time)) < 0 ||
            (r = check_libvirtd(cfg, o, &p, hook, hook_time)) < 0 || (r = check_libvirt(o, &p, &bridges, &disks, &have)) < 0 ||
            (r = check_instances(cfg, &p)) < 0 || (r = check_bridges(cfg, &p, &bridges, have)) < 0 ||
            (r = check_state(cfg, &p)) < 0 || (r = check_watch(cfg, o, &p)) < 0 || (r = check_fc(cfg, o, &p, &disks, have)) < 0 ||
            (r = secrets_doctor(&p, have ? o->conn : NULL)) < 0 || (r = check_listen(cfg, o, &p)) < 0 ||
            (r = check_dest(cfg, o, &p)) < 0) {
                preflight_free(&p);
                uses_free(&bridges);
                uses_free(&disks);
                return r;
        }
        uses_free(&bridges);
        uses_free(&disks);
        *ret = p;
        return 0;
}

void doctor_print(const struct preflight *p, FILE *f, int flags)
{
        for (size_t i = 0; i < p->n; i++) {
                const struct check_result *c = &p->v[i];
                if ((flags & DOCTOR_QUIET) && c->status == CHECK_OK)
                        continue;
                fprintf(f, "%-5s %s: %s\n", check_status_to_string(c->status), c->name, c->message);
                if (c->fix && c->status != CHECK_OK)
                        fprintf(f, "      fix: %s\n", c->fix);
        }
        if (p->n_fail)
                fprintf(f, "not ready: %zu failed, %zu warning%s\n", p->n_fail, p->n_warn, p->n_warn == 1 ? "" : "s");
        else if (!(flags & DOCTOR_QUIET) || p->n_warn)
                fprintf(f, "ready for migrations in and out (%zu warning%s)\n", p->n_warn, p->n_warn == 1 ? "" : "s");
}

void doctor_print_json(const struct preflight *p, FILE *f, const char *host)
{
        const char *fields[] = { "host", host, NULL };
        preflight_print_json_fields(p, f, fields);
}
