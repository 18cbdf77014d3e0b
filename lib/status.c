/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "status.h"

#include "journal.h"
#include "json.h"
#include "pending.h"
#include "proof.h"
#include "quarantine.h"
#include "state.h"
#include "util.h"
#include "validate.h"

static void fmt_age(char *buf, size_t n, long long s)
{
        if (s < 0)
                s = 0;
        if (s < 120)
                snprintf(buf, n, "%llds", s);
        else if (s < 7200)
                snprintf(buf, n, "%lldmin", s / 60);
        else if (s < 172800)
                snprintf(buf, n, "%lldh", s / 3600);
        else
                snprintf(buf, n, "%lldd", s / 86400);
}

/* Where status writes: the text lines, or JSON (j set). */
struct sout {
        FILE *f;
        struct json *j;
        time_t now;
};

static void json_strv(struct json *j, const char *key, char *const *l)
{
        json_key(j, key);
        json_array_begin(j);
        for (size_t i = 0; l && l[i]; i++)
                json_string(j, l[i]);
        json_array_end(j);
}

static int status_pending(const struct mk_config *cfg, struct sout *o)
{
        _cleanup_strv_ char **names = NULL;
        int n = 0, r = state_list(cfg->state_dir, STATE_PENDING, &names);
        if (r < 0)
                return r;
        for (size_t i = 0; names && names[i]; i++) {
                _cleanup_(pending_free) struct pending p = { 0 };
                _cleanup_free_ char *joined = NULL;
                r = pending_load(cfg->state_dir, names[i], &p);
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        continue;
                if (o->j) {
                        json_object_begin(o->j);
                        json_kv_string(o->j, "action", p.action);
                        json_kv_string(o->j, "uuid", p.uuid);
                        json_kv_string(o->j, "name", p.name);
                        json_kv_int(o->j, "since", p.since);
                        json_kv_int(o->j, "age", (long long)o->now - p.since);
                        json_strv(o->j, "reasons", p.reasons);
                        json_object_end(o->j);
                } else {
                        char age[32];
                        if (!(joined = strv_join(p.reasons, "; ")))
                                return -ENOMEM;
                        fmt_age(age, sizeof(age), (long long)o->now - p.since);
                        fprintf(o->f, "pending %s %s %s for %s: %s\n", p.action, p.uuid, p.name ? p.name : "-", age, joined);
                }
                n++;
        }
        return n;
}

/* One journal's line or object; -errno when it cannot be read. */
static int journal_item(const struct mk_config *cfg, struct sout *o, const char *uuid)
{
        _cleanup_(journal_free) struct journal j = { 0 };
        int r = journal_load(cfg->state_dir, uuid, &j);
        if (r < 0)
                return r;
        if (o->j) {
                json_kv_string(o->j, "name", j.name);
                json_kv_int(o->j, "started", (long long)j.started);
                json_kv_int(o->j, "age", (long long)(o->now - j.started));
                json_strv(o->j, "dirs", j.dirs);
                json_strv(o->j, "bridges", j.bridges);
                json_strv(o->j, "stripped", j.stripped);
                json_strv(o->j, "scsi", j.scsi);
                json_strv(o->j, "mpaths", j.mpaths);
                return 0;
        }
        char age[32];
        fmt_age(age, sizeof(age), (long long)(o->now - j.started));
        fprintf(o->f, "journal %s %s started %s ago:", uuid, j.name ? j.name : "-", age);
        const char *sep = " ";
        for (size_t k = 0; j.dirs && j.dirs[k]; k++, sep = ", ")
                fprintf(o->f, "%sdir %s", sep, j.dirs[k]);
        for (size_t k = 0; j.bridges && j.bridges[k]; k++, sep = ", ")
                fprintf(o->f, "%sbridge %s", sep, j.bridges[k]);
        for (size_t k = 0; j.stripped && j.stripped[k]; k++, sep = ", ")
                fprintf(o->f, "%sstripped %s", sep, j.stripped[k]);
        for (size_t k = 0; j.scsi && j.scsi[k]; k++, sep = ", ")
                fprintf(o->f, "%sscsi %s", sep, j.scsi[k]);
        for (size_t k = 0; j.mpaths && j.mpaths[k]; k++, sep = ", ")
                fprintf(o->f, "%smpath %s", sep, j.mpaths[k]);
        fprintf(o->f, "%s\n", streq(sep, " ") ? " nothing created" : "");
        return 0;
}

/* One proof's line or object; -errno when it cannot be read. */
static int proof_item(const struct mk_config *cfg, struct sout *o, const char *uuid)
{
        _cleanup_(proof_free) struct proof p = { 0 };
        int r = proof_load(cfg->state_dir, uuid, &p);
        if (r < 0)
                return r;
        if (o->j) {
                json_kv_string(o->j, "name", p.name);
                json_kv_string(o->j, "kind", proof_kind_to_string(p.kind));
                json_kv_string(o->j, "by", p.by);
                json_kv_int(o->j, "time", (long long)p.time);
                json_kv_int(o->j, "age", (long long)(o->now - p.time));
                json_kv_string(o->j, "detail", p.detail);
                return 0;
        }
        char age[32];
        fmt_age(age, sizeof(age), (long long)(o->now - p.time));
        fprintf(o->f, "proof %s %s %s by %s %s ago%s%s\n", uuid, p.name ? p.name : "-", proof_kind_to_string(p.kind),
                p.by, age, p.detail ? ": " : "", p.detail ? p.detail : "");
        return 0;
}

/* Every UUID-named file of area through item(); one that cannot be read is
 * listed as "<what> <uuid> - unreadable" ({"uuid", "error"}). Returns the
 * number listed or -errno. */
static int status_files(const struct mk_config *cfg, struct sout *o, enum state_area area, const char *what,
                        int (*item)(const struct mk_config *cfg, struct sout *o, const char *uuid))
{
        _cleanup_strv_ char **names = NULL;
        int n = 0, r = state_list(cfg->state_dir, area, &names);
        if (r < 0)
                return r;
        for (size_t i = 0; names && names[i]; i++) {
                if (!uuid_is_valid(names[i]))
                        continue;
                n++;
                if (o->j) {
                        json_object_begin(o->j);
                        json_kv_string(o->j, "uuid", names[i]);
                }
                bool ok = item(cfg, o, names[i]) >= 0;
                if (o->j) {
                        if (!ok)
                                json_kv_string(o->j, "error", "unreadable");
                        json_object_end(o->j);
                } else if (!ok)
                        fprintf(o->f, "%s %s - unreadable\n", what, names[i]);
        }
        return n;
}

static int status_journals(const struct mk_config *cfg, struct sout *o)
{
        return status_files(cfg, o, STATE_JOURNAL, "journal", journal_item);
}

static int status_proofs(const struct mk_config *cfg, struct sout *o)
{
        return status_files(cfg, o, STATE_PROOF, "proof", proof_item);
}

static int status_quarantine(const struct mk_config *cfg, struct sout *o)
{
        struct quarantine_entry *l = NULL;
        int n = quarantine_list(cfg, &l);
        if (n < 0)
                return n == -ENOENT ? 0 : n;
        for (int i = 0; i < n; i++) {
                _cleanup_free_ char *path = NULL;
                long long a = (long long)(o->now - l[i].time), due = (long long)(cfg->quarantine_retention_ms / 1000) - a;
                if (asprintf(&path, "%s/%s/%s", cfg->instances_path, QUARANTINE_DIR, l[i].name) < 0) {
                        quarantine_list_free(l, n);
                        return -ENOMEM;
                }
                if (o->j) {
                        json_object_begin(o->j);
                        json_kv_string(o->j, "uuid", l[i].uuid);
                        json_kv_string(o->j, "name", l[i].domain);
                        json_kv_int(o->j, "time", (long long)l[i].time);
                        json_kv_int(o->j, "age", a);
                        json_kv_int(o->j, "purge_in", due > 0 ? due : 0);
                        json_kv_string(o->j, "path", path);
                        json_kv_string(o->j, "from", l[i].from);
                        json_kv_string(o->j, "reason", l[i].reason);
                        json_object_end(o->j);
                        continue;
                }
                char age[32], left[32];
                fmt_age(age, sizeof(age), a);
                fmt_age(left, sizeof(left), due);
                fprintf(o->f, "quarantined %s %s %s ago, purged %s%s: %s (%s)\n", l[i].uuid, l[i].domain ? l[i].domain : "-",
                        age, due > 0 ? "in " : "at the next purge", due > 0 ? left : "", path,
                        l[i].reason ? l[i].reason : "no .info file");
        }
        quarantine_list_free(l, n);
        return n;
}

struct swapfile {
        char *name, *disk, *from, *to;
        long long time;
};

static int swap_line(const char *key, const char *val, void *userdata)
{
        struct swapfile *w = userdata;
        char **f = streq(key, "name") ? &w->name : streq(key, "disk") ? &w->disk : streq(key, "from") ? &w->from
                 : streq(key, "to") ? &w->to : NULL;
        if (streq(key, "time"))
                w->time = strtoll(val, NULL, 10);
        if (!f || *f)
                return 0;
        return (*f = strdup(val)) ? 0 : -ENOMEM;
}

/* swap-volume runs that did not finish: the persistent definition it saved
 * before the copy is still there (swapvol.h). */
static int status_swaps(const struct mk_config *cfg, struct sout *o)
{
        _cleanup_strv_ char **names = NULL;
        int n = 0, r = state_list(cfg->state_dir, STATE_SWAP, &names);
        if (r < 0)
                return r;
        for (size_t i = 0; names && names[i]; i++) {
                size_t len = strlen(names[i]);
                if (len != 41 || !streq(names[i] + 36, ".swap"))
                        continue;
                _cleanup_free_ char *uuid = strndup(names[i], 36), *path = state_path(cfg->state_dir, STATE_SWAP, names[i]),
                                    *text = NULL, *xml = NULL;
                struct swapfile w = { 0 };
                if (!uuid || !path || asprintf(&xml, "%s/swap/%s.xml", cfg->state_dir, uuid) < 0)
                        return -ENOMEM;
                if (!uuid_is_valid(uuid) || read_full_file(path, 64 << 10, &text) < 0 ||
                    kv_parse(text, "migkit-swap", "1", swap_line, &w) < 0) {
                        free(w.name), free(w.disk), free(w.from), free(w.to);
                        continue;
                }
                if (o->j) {
                        json_object_begin(o->j);
                        json_kv_string(o->j, "uuid", uuid);
                        json_kv_string(o->j, "name", w.name);
                        json_kv_string(o->j, "disk", w.disk);
                        json_kv_string(o->j, "from", w.from);
                        json_kv_string(o->j, "to", w.to);
                        json_kv_int(o->j, "time", w.time);
                        json_kv_int(o->j, "age", (long long)o->now - w.time);
                        json_kv_string(o->j, "saved", xml);
                        json_object_end(o->j);
                } else {
                        char age[32];
                        fmt_age(age, sizeof(age), (long long)o->now - w.time);
                        fprintf(o->f, "swap %s %s disk %s %s -> %s %s ago: its persistent definition is saved in %s "
                                "(swap-volume did not finish: define it, with the disk's source set to the one the guest "
                                "runs on, see virsh domblklist)\n", uuid, w.name ? w.name : "-", w.disk ? w.disk : "?",
                                w.from ? w.from : "?", w.to ? w.to : "?", age, xml);
                }
                free(w.name), free(w.disk), free(w.from), free(w.to);
                n++;
        }
        return n;
}

int status_print_ex(const struct mk_config *cfg, FILE *f, time_t now, int flags, struct status_counts *counts)
{
        static const struct {
                const char *key;
                int (*fn)(const struct mk_config *, struct sout *);
        } parts[] = {
                { "pending", status_pending },
                { "journals", status_journals },
                { "proofs", status_proofs },
                { "quarantined", status_quarantine },
                { "swaps", status_swaps },
        };
        struct json j;
        struct sout o = { .f = f, .now = now, .j = (flags & STATUS_JSON) ? &j : NULL };
        int got[ARRAY_SIZE(parts)];
        int total = 0, ret = 0;

        if (o.j) {
                json_init(&j, f);
                json_object_begin(&j);
                json_kv_int(&j, "now", (long long)now);
                json_kv_string(&j, "instances", cfg->instances_path);
                json_kv_string(&j, "state", cfg->state_dir);
                json_kv_int(&j, "retention", (long long)(cfg->quarantine_retention_ms / 1000));
        }
        for (size_t i = 0; i < ARRAY_SIZE(parts); i++) {
                if (o.j) {
                        json_key(&j, parts[i].key);
                        json_array_begin(&j);
                }
                got[i] = parts[i].fn(cfg, &o);
                if (o.j)
                        json_array_end(&j);
                if (got[i] < 0 && ret == 0)
                        ret = got[i];
                else if (got[i] > 0)
                        total += got[i];
        }
        if (o.j) {
                /* What could not be read, so a consumer never mistakes it
                 * for "nothing there". */
                json_key(&j, "errors");
                json_array_begin(&j);
                for (size_t i = 0; i < ARRAY_SIZE(parts); i++) {
                        if (got[i] >= 0)
                                continue;
                        json_object_begin(&j);
                        json_kv_string(&j, "part", parts[i].key);
                        json_kv_string(&j, "error", strerror(-got[i]));
                        json_kv_int(&j, "errno", -got[i]);
                        json_object_end(&j);
                }
                json_array_end(&j);
                json_object_end(&j);
                int r = json_end(&j);
                if (r < 0 && ret == 0)
                        ret = r;
        }
        if (counts)
                *counts = (struct status_counts) {
                        .pending = got[0] > 0 ? (unsigned)got[0] : 0,
                        .journals = got[1] > 0 ? (unsigned)got[1] : 0,
                        .proofs = got[2] > 0 ? (unsigned)got[2] : 0,
                        .quarantined = got[3] > 0 ? (unsigned)got[3] : 0,
                        .swaps = got[4] > 0 ? (unsigned)got[4] : 0,
                };
        return ret < 0 ? ret : total;
}

int status_print(const struct mk_config *cfg, FILE *f, time_t now)
{
        return status_print_ex(cfg, f, now, 0, NULL);
}
