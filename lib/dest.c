/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "dest.h"

#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "bridge.h"
#include "instdir.h"
#include "listen.h"
#include "log.h"
#include "util.h"
#include "validate.h"

static int plan_bridge(struct dest *d, const struct dom_iface *ifc)
{
        const struct mk_config *cfg = d->cfg;
        const char *name = ifc->bridge, *why;
        struct link_info li;
        int r;

        why = ifname_invalid_reason(name);
        if (why)
                return log_error("domain %s: bridge name '%s' %s; refusing", d->dom->name, name, why);

        for (size_t i = 0; i < d->n_bridges; i++)
                if (streq(d->bridges[i].name, name)) {
                        unsigned mtu = ifc->mtu ? ifc->mtu : cfg->bridge_mtu;
                        if (mtu > d->bridges[i].mtu)
                                d->bridges[i].mtu = mtu;
                        return 0;
                }

        r = link_is_bridge(name); /* the common case, an existing bridge, loads no libmnl */
        if (r == -EOPNOTSUPP) {
                r = link_get(name, &li);
                if (r == 0)
                        r = li.is_bridge;
        }
        if (r >= 0) {
                if (r == 0)
                        log_warning("domain %s: interface '%s' exists but is not a bridge; leaving it alone",
                                    d->dom->name, name);
                return 0;
        }
        if (r != -ENODEV)
                return log_error_errno(r, "domain %s: cannot look up bridge '%s': %s", d->dom->name, name, bridge_strerror(r));
        if (!cfg->create_bridges)
                return log_error("domain %s: bridge '%s' does not exist and [bridges] create = no; "
                                 "create it on this host first", d->dom->name, name);
        if (!strv_fnmatch(cfg->bridge_allow, name)) {
                _cleanup_free_ char *allow = strv_join(cfg->bridge_allow, " ");
                return log_error("domain %s: bridge '%s' does not exist and is not in the allow-list ([bridges] allow = %s); "
                                 "create it on this host or add a matching pattern to %s",
                                 d->dom->name, name, allow ? allow : "", cfg->file ? cfg->file : MIGKIT_CONFIG_PATH);
        }
        struct dest_bridge *nb = realloc(d->bridges, (d->n_bridges + 1) * sizeof(*nb));
        if (!nb)
                return log_error_errno(ENOMEM, "out of memory");
        d->bridges = nb;
        nb[d->n_bridges].name = strdup(name);
        if (!nb[d->n_bridges].name)
                return log_error_errno(ENOMEM, "out of memory");
        nb[d->n_bridges++].mtu = ifc->mtu ? ifc->mtu : cfg->bridge_mtu;
        return 0;
}

/* Checks the files the domain names under the instances path and says
 * whether one of them lies in the domain's own instance directory. */
static int check_instance_paths(struct dest *d, bool *uses_dir)
{
        const char *inst = d->cfg->instances_path;

        *uses_dir = false;
        for (size_t i = 0; d->dom->files && d->dom->files[i]; i++) {
                const char *f = d->dom->files[i], *rel;
                if (strncmp(f, inst, strlen(inst)) != 0)
                        continue;
                if (!path_is_absolute_normalized(f))
                        return log_error("domain %s: path '%s' is not a plain absolute path (it has '..', '.', '//' "
                                         "or control characters) and would escape %s; refusing", d->dom->name, f, inst);
                rel = path_below(f, inst);
                if (!rel)
                        continue;
                size_t len = strcspn(rel, "/");
                if (len == 36 && strncasecmp(rel, d->dom->uuid, 36) == 0)
                        *uses_dir = true;
                else if (len == 36) {
                        _cleanup_free_ char *other = strndup(rel, len);
                        if (other && uuid_is_valid(other))
                                return log_error("domain %s (uuid %s): path '%s' is in another instance's directory; refusing",
                                                 d->dom->name, d->dom->uuid, f);
                }
        }
        return 0;
}

/* The instance directory is missing: it is created only where the
 * instances path is on a local filesystem ([filesystems] local); on shared
 * storage it must already exist. */
static int plan_dir_fs(struct dest *d, const char *dir)
{
        struct fs_verdict v;
        _cleanup_free_ char *detail = NULL;
        int fd = instances_open_decide(d->cfg, FS_DECIDE_FAST, &v, &detail);
        if (fd < 0)
                return log_error_errno(fd, "domain %s: instance directory %s is missing and %s: %m; refusing to create it",
                                       d->dom->name, dir, detail ? detail : "the instances path cannot be checked");
        close(fd);
        bool local = v.local;
        _cleanup_free_ char *rule = TAKE_PTR(v.rule);
        fs_verdict_done(&v);
        if (!local)
                return log_error("domain %s: instance directory %s is missing, but %s; on shared storage it must already "
                                 "exist: check that mount on this host (or add the type to [filesystems] local if it is "
                                 "local to this host)", d->dom->name, dir, rule ? rule : "the filesystem is not local");
        return 0;
}

static int plan_dir(struct dest *d)
{
        const struct mk_config *cfg = d->cfg;
        bool uses_dir;
        int r;

        r = check_instance_paths(d, &uses_dir);
        if (r < 0)
                return r;
        if (cfg->instance_dir == INSTANCE_DIR_NEVER || (cfg->instance_dir == INSTANCE_DIR_AUTO && !uses_dir))
                return 0;

        _cleanup_free_ char *dir = path_join(cfg->instances_path, d->dom->uuid);
        if (!dir)
                return log_error_errno(ENOMEM, "out of memory");
        r = instance_dir_exists(cfg, d->dom->uuid);
        if (r == -ELOOP)
                return log_error("domain %s: %s or %s is a symlink; refusing to follow it (set [paths] instances to the "
                                 "directory itself, or replace the link with a directory)", d->dom->name, cfg->instances_path, dir);
        if (r == -ENOTDIR)
                return log_error("domain %s: %s exists but is not a directory; move it away", d->dom->name, dir);
        if (r == -ENOENT)
                return log_error("domain %s: instances path %s does not exist on this host; create it or set [paths] instances",
                                 d->dom->name, cfg->instances_path);
        if (r < 0)
                return log_error_errno(r, "domain %s: cannot check %s: %m", d->dom->name, dir);
        if (r > 0)
                return 0;

        r = plan_dir_fs(d, dir);
        if (r < 0)
                return r;
        r = instance_owner_resolve(cfg, &d->uid, &d->gid);
        if (r < 0)
                return log_error_errno(r, "domain %s: [instance] owner '%s' or group '%s' does not exist on this host",
                                       d->dom->name, cfg->instance_owner, cfg->instance_group);
        d->create_dir = true;
        return 0;
}

/* The graphics listen addresses: those missing on this host are rewritten
 * to [graphics] listen, or the migration is refused before anything is
 * touched. */
static int plan_listen(struct dest *d)
{
        const char *to = d->cfg->graphics_listen, *conf = d->cfg->file ? d->cfg->file : MIGKIT_CONFIG_PATH;
        _cleanup_strv_ char **addrs = NULL;
        _cleanup_(host_addrs_done) struct host_addrs host = { 0 };
        struct listen_decision dec;
        int r;

        r = domxml_listen_addresses(d->dom, &addrs);
        if (r < 0)
                return log_error_errno(r, "domain %s: cannot read the graphics listen addresses: %m", d->dom->name);
        if (r == 0)
                return 0;
        r = host_addrs_load(&host);
        if (r < 0)
                return log_error_errno(r, "domain %s: cannot list this host's addresses to check the graphics listen "
                                       "addresses: %m; refusing", d->dom->name);
        r = listen_decide(addrs, to, host_addrs_has, &host, &dec);
        if (r < 0)
                return log_error_errno(r, "out of memory");
        switch (dec.verdict) {
        case LISTEN_KEEP:
                return 0;
        case LISTEN_REFUSE_UNSET:
                return log_error("domain %s: its graphics (VNC/SPICE) listen on %s, an address this host does not have, "
                                 "and [graphics] listen is not set; set [graphics] listen in %s to an address of this "
                                 "host (or 0.0.0.0), or make %s exist here; refusing the migration, nothing was changed",
                                 d->dom->name, dec.bad, conf, dec.bad);
        case LISTEN_REFUSE_TARGET:
                return log_error("domain %s: [graphics] listen = %s in %s is not an address of this host; set it to one "
                                 "that is (or 0.0.0.0); refusing the migration, nothing was changed",
                                 d->dom->name, dec.bad, conf);
        case LISTEN_REWRITE:
                d->listen_rewrite = TAKE_PTR(dec.rewrite);
                return 0;
        }
        return -EINVAL;
}

int dest_plan(struct dest *d, bool with_dir)
{
        int r;

        if (with_dir) {
                r = plan_listen(d);
                if (r < 0)
                        return r;
        }

        d->fc.cfg = d->cfg;
        d->fc.dom = d->dom;
        d->fc.report = d->report;
        for (size_t i = 0; i < d->dom->n_ifaces; i++) {
                r = plan_bridge(d, &d->dom->ifaces[i]);
                if (r < 0)
                        return r;
        }
        if (!with_dir)
                return 0;
        r = plan_dir(d);
        return r < 0 ? r : dest_fc_plan(&d->fc);
}

static bool file_exists(const char *path, void *userdata)
{
        struct stat st;
        (void)userdata;
        /* Only a definite ENOENT counts as missing: strip nothing on doubt. */
        return stat(path, &st) == 0 || errno != ENOENT;
}

/* The journal could not be written after all (the filesystem filled up
 * meanwhile): undoes what this call created, which nothing else knows of.
 * Returns how many of them could not be removed. */
static size_t undo_unrecorded(const struct dest *d, char **bridges, const char *dir)
{
        size_t left = 0;
        for (size_t i = 0; bridges && bridges[i]; i++) {
                int q = bridge_delete(bridges[i]);
                if (q < 0) {
                        log_warning_errno(q, "domain %s: cannot remove bridge %s, which no journal lists: %m; remove it by hand",
                                          d->dom->name, bridges[i]);
                        left++;
                }
        }
        if (dir && rmdir(dir) < 0 && errno != ENOENT) {
                log_warning_errno(errno, "domain %s: cannot remove %s, which no journal lists: %m; remove it by hand",
                                  d->dom->name, dir);
                left++;
        }
        return left;
}

/* The ifindex of a bridge just created, for the journal: a rollback
 * deletes a bridge of that name only while it is this one. 0 or -ENOMEM
 * (an ifindex that cannot be read is not recorded: that bridge is then
 * never deleted by a rollback). */
static int journal_note_bridge(struct journal *j, const char *name)
{
        struct link_info li;
        if (link_get(name, &li) < 0 || !li.is_bridge)
                return 0;
        return journal_set_bridge_ifindex(j, name, li.ifindex);
}

/* One dest_apply() run: the journal being extended and what this call
 * created, freed in one place (apply_done). */
struct apply {
        struct dest *d;
        struct journal j;
        bool journaled;          /* what is created is recorded in the journal */
        bool dirty;              /* something was created or changed */
        bool saved;              /* the journal on disk is j as it is now */
        char **stripped;         /* cdrom sources this call removed from the XML, for the journal */
        char **made_bridges;     /* created by this call */
        char *made_dir;
};

static void apply_done(struct apply *a)
{
        journal_free(&a->j);
        strv_free(a->stripped);
        strv_free(a->made_bridges);
        free(a->made_dir);
}

/* The cdrom sources stripped by this call go into the journal with the
 * first save: one write of the journal where nothing but the XML changes
 * after the last creation. Returns 0 or -ENOMEM. */
static int note_stripped(struct apply *a)
{
        for (size_t i = 0; a->stripped && a->stripped[i]; i++)
                if (!strv_contains(a->j.stripped, a->stripped[i])) {
                        if (strv_push(&a->j.stripped, a->stripped[i]) < 0)
                                return -ENOMEM;
                        a->dirty = true;
                        a->saved = false;
                }
        return 0;
}

/* Saves the journal right after each creation, so that a hook the deadline
 * watchdog ends in the next step (a bridge creation that never returns)
 * leaves nothing no journal lists. Best effort: the save at the end of
 * dest_apply() reports failures and undoes what it must; it is left out
 * when this one wrote the journal as it ends up. */
static void journal_early_save(struct apply *a)
{
        const struct dest *d = a->d;
        struct journal *j = &a->j;
        a->saved = false;
        if (!a->journaled)
                return;
        if ((!j->uuid && !(j->uuid = strdup(d->dom->uuid))) || (!j->name && !(j->name = strdup(d->dom->name))))
                return;
        if (!j->started)
                j->started = time(NULL);
        a->saved = journal_save(d->cfg->state_dir, j) == 0;
}

/* This call created item (a bridge, a directory): it goes into the journal
 * list, saved at once. Returns 0 or -ENOMEM. */
static int created(struct apply *a, char ***list, const char *item)
{
        a->dirty = true;
        a->d->n_created++;
        if (strv_push_unique(list, item) < 0 || note_stripped(a) < 0)
                return -ENOMEM;
        journal_early_save(a);
        return 0;
}

static int apply_bridges(struct apply *a)
{
        struct dest *d = a->d;
        int r = 0, q;
        for (size_t i = 0; i < d->n_bridges && r == 0; i++) {
                const struct dest_bridge *b = &d->bridges[i];
                _cleanup_free_ char *ext = NULL;
                if (d->report) {
                        fprintf(d->report, "would create bridge %s with MTU %u and bring it up\n", b->name, b->mtu);
                        continue;
                }
                q = bridge_create(b->name, b->mtu, &ext);
                if (q < 0)
                        r = log_error_errno(q, "domain %s: cannot create bridge '%s' (MTU %u): %s%s%s",
                                            d->dom->name, b->name, b->mtu, ext ? ext : "", ext ? ": " : "", bridge_strerror(q));
                else if (q > 0) {
                        log_info("domain %s: created bridge %s (MTU %u, up)", d->dom->name, b->name, b->mtu);
                        if (journal_note_bridge(&a->j, b->name) < 0 || created(a, &a->j.bridges, b->name) < 0 ||
                            strv_push(&a->made_bridges, b->name) < 0)
                                r = log_error_errno(ENOMEM, "out of memory");
                }
        }
        return r;
}

static int apply_dir(struct apply *a)
{
        struct dest *d = a->d;
        int r = 0, q;
        _cleanup_free_ char *dir = path_join(d->cfg->instances_path, d->dom->uuid);
        if (!dir)
                r = log_error_errno(ENOMEM, "out of memory");
        else if (d->report)
                fprintf(d->report, "would create instance directory %s (owner %s:%s, mode %04o)\n", dir,
                        d->cfg->instance_owner, d->cfg->instance_group, d->cfg->instance_mode);
        else {
                struct dir_ident id;
                q = instance_dir_create(d->cfg, d->dom->uuid, d->uid, d->gid, &id);
                if (q < 0)
                        r = log_error_errno(q, "domain %s: cannot create instance directory %s: %m", d->dom->name, dir);
                else if (q > 0) {
                        log_info("domain %s: created instance directory %s", d->dom->name, dir);
                        if (journal_set_dir_id(&a->j, dir, &id) < 0 || created(a, &a->j.dirs, dir) < 0 ||
                            !(a->made_dir = strdup(dir)))
                                r = log_error_errno(ENOMEM, "out of memory");
                }
        }
        return r;
}

static int apply_strip(struct apply *a)
{
        struct dest *d = a->d;
        _cleanup_strv_ char **stripped = NULL;
        int r = 0;
        int q = domxml_strip_missing_config_drives(d->dom, d->cfg->config_drive_names, file_exists, NULL, &stripped);
        if (q < 0)
                r = log_error_errno(q, "domain %s: cannot rewrite the config drive: %m", d->dom->name);
        for (size_t i = 0; q > 0 && stripped && stripped[i]; i++) {
                d->xml_changed = true;
                if (d->report) {
                        fprintf(d->report, "would remove the <source> of cdrom %s (file missing on this host)\n", stripped[i]);
                        continue;
                }
                log_info("domain %s: removed the <source> of cdrom %s (file missing on this host)", d->dom->name, stripped[i]);
                if (strv_push_unique(&a->stripped, stripped[i]) < 0)
                        r = log_error_errno(ENOMEM, "out of memory");
        }
        return r;
}

static bool listen_planned(const char *address, void *userdata)
{
        const struct dest *d = userdata;
        return strv_contains(d->listen_rewrite, address);
}

static int apply_listen(struct dest *d)
{
        const char *to = d->cfg->graphics_listen;
        _cleanup_free_ char *list = strv_join(d->listen_rewrite, ", ");
        int q;

        if (!d->listen_rewrite)
                return 0;
        if (!list)
                return log_error_errno(ENOMEM, "out of memory");
        q = domxml_rewrite_listens(d->dom, listen_planned, d, to);
        if (q < 0)
                return log_error_errno(q, "domain %s: cannot rewrite the graphics listen address %s: %m", d->dom->name, list);
        if (q > 0 && d->report)
                fprintf(d->report, "would set the graphics listen address %s (missing on this host) to %s\n", list, to);
        else if (q > 0)
                log_info("domain %s: graphics listen address %s (missing on this host) set to %s ([graphics] listen)",
                         d->dom->name, list, to);
        d->xml_changed |= q > 0;
        return 0;
}

/* Records what was created, even after a failure (r < 0): it must be
 * undoable. When the journal cannot be written, undoes what this call
 * created. Returns r, or the failure to record. */
static int apply_record(struct apply *a, int r)
{
        struct dest *d = a->d;
        struct journal *j = &a->j;
        int q;
        /* what was stripped is journaled once the XML is handed on, or
         * with what was created before a failure */
        if ((r == 0 || a->dirty) && note_stripped(a) < 0 && r == 0)
                r = log_error_errno(ENOMEM, "out of memory");
        if (d->report || !a->dirty || !a->journaled || a->saved)
                return r;
        if (!j->uuid && !(j->uuid = strdup(d->dom->uuid)))
                q = -ENOMEM;
        else if (!j->name && !(j->name = strdup(d->dom->name)))
                q = -ENOMEM;
        else {
                if (!j->started)
                        j->started = time(NULL);
                q = journal_save(d->cfg->state_dir, j);
        }
        if (q < 0 && r == 0) {
                size_t left = undo_unrecorded(d, a->made_bridges, a->made_dir);
                r = log_error_errno(q, "domain %s: cannot write the journal in %s/journal: %m; %s",
                                    d->dom->name, d->cfg->state_dir,
                                    left ? "what could not be removed is named above" : "removed what this call had created");
        }
        return r;
}

int dest_apply(struct dest *d, bool strip, bool journal_create)
{
        _cleanup_(apply_done) struct apply a = { .d = d, .journaled = journal_create };
        int r = 0, q;

        if (!d->report) {
                q = journal_load(d->cfg->state_dir, d->dom->uuid, &a.j);
                if (q == 0)
                        a.journaled = true;
                else if (q != -ENOENT)
                        log_warning_errno(q, "domain %s: ignoring unreadable journal for %s in %s: %m",
                                          d->dom->name, d->dom->uuid, d->cfg->state_dir);
        }

        /* Block disks (FC LUNs) that are missing: scan, wait, multipath.
         * First: it is the step that can fail at the deadline; what its
         * scans brought is journaled (even on failure), for the rollback. */
        if (strip) {
                r = dest_fc_apply(&d->fc);
                for (size_t i = 0; d->fc.appeared_scsi && d->fc.appeared_scsi[i]; i++)
                        if (created(&a, &a.j.scsi, d->fc.appeared_scsi[i]) < 0)
                                return log_error_errno(ENOMEM, "out of memory");
                for (size_t i = 0; d->fc.appeared_mpaths && d->fc.appeared_mpaths[i]; i++)
                        if (created(&a, &a.j.mpaths, d->fc.appeared_mpaths[i]) < 0)
                                return log_error_errno(ENOMEM, "out of memory");
        }

        /* Whatever is created below must be recorded: make sure it can be. */
        bool must_record = !d->report && a.journaled && (d->n_bridges > 0 || d->create_dir);
        if (r == 0 && must_record) {
                q = journal_probe(d->cfg->state_dir, d->dom->uuid);
                if (q < 0)
                        r = log_error_errno(q, "domain %s: cannot write a journal in %s/journal: %m; refusing before creating "
                                            "anything (free space there, or set [paths] state)", d->dom->name, d->cfg->state_dir);
        }
        /* The config drive before the creations: its stat() hangs, if at
         * all, before anything exists, and what it strips is journaled with
         * the first creation instead of by a save of its own after the last. */
        if (r == 0 && strip && d->cfg->strip_missing)
                r = apply_strip(&a);
        if (r == 0)
                r = apply_bridges(&a);
        if (r == 0 && d->create_dir)
                r = apply_dir(&a);
        if (r == 0 && strip)
                r = apply_listen(d);
        return apply_record(&a, r);
}

void dest_done(struct dest *d)
{
        for (size_t i = 0; i < d->n_bridges; i++)
                free(d->bridges[i].name);
        free(d->bridges);
        d->bridges = NULL;
        d->n_bridges = 0;
        dest_fc_done(&d->fc);
        strv_free(d->listen_rewrite);
        d->listen_rewrite = NULL;
}
