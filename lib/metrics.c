/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "metrics.h"

#include <ftw.h>
#include <libgen.h>
#include <sys/stat.h>

#include "quarantine.h"
#include "state.h"
#include "util.h"

#define METRICS_FILE "metrics"
#define METRICS_MAGIC "migkit-metrics"
#define METRICS_LOCK_TIMEOUT_MS 10000
#define MAX_SERIES 128

struct family {
        const char *name, *type, *help;
};

/* In the order of the textfile. The gauges measured at each write come
 * after these. */
static const struct family families[] = {
        { "migkit_migrations_in_total", "counter", "Incoming live migrations, by result: as migkit-watch saw them; failed before the incoming QEMU started as "
          "migkit-hook proved it." },
        { "migkit_migrations_out_total", "counter",
          "Outgoing live migrations: success seen by migkit-watch (stopped/migrated), failed and aborted as migkit migrate "
          "saw them." },
        { "migkit_rollbacks_total", "counter", "Runs of migkit-cleanup rollback after a failed incoming migration, by result." },
        { "migkit_source_cleanups_total", "counter", "Runs of migkit-cleanup source after a migration away, by result." },
        { "migkit_refusals_total", "counter", "Source cleanups and rollbacks refused by a safety rule, by action and reason." },
        { "migkit_last_purge_timestamp_seconds", "gauge", "When migkit-cleanup purge last ran (unix time, 0: never)." },
};

static const char *const reasons[] = { "no_proof", "domain_here", "incoming_migration", "shared_storage", "unsafe_path", "other" };

/* The series of each event; every known series is written, 0 until counted. */
static const char *const event_series[_METRIC_EVENT_MAX] = {
        [METRIC_IN_SUCCESS] = "migkit_migrations_in_total{result=\"success\"}",
        [METRIC_IN_FAILED] = "migkit_migrations_in_total{result=\"failed\"}",
        [METRIC_OUT_SUCCESS] = "migkit_migrations_out_total{result=\"success\"}",
        [METRIC_OUT_FAILED] = "migkit_migrations_out_total{result=\"failed\"}",
        [METRIC_OUT_ABORTED] = "migkit_migrations_out_total{result=\"aborted\"}",
        [METRIC_ROLLBACK_DONE] = "migkit_rollbacks_total{result=\"done\"}",
        [METRIC_ROLLBACK_PARTIAL] = "migkit_rollbacks_total{result=\"partial\"}",
        [METRIC_ROLLBACK_REFUSED] = "migkit_rollbacks_total{result=\"refused\"}",
        [METRIC_SOURCE_DONE] = "migkit_source_cleanups_total{result=\"done\"}",
        [METRIC_SOURCE_REFUSED] = "migkit_source_cleanups_total{result=\"refused\"}",
        [METRIC_PURGED] = "migkit_last_purge_timestamp_seconds",
};

struct store {
        size_t n;
        struct {
                char key[128];
                unsigned long long v;
        } s[MAX_SERIES];
};

static unsigned long long *store_get(struct store *st, const char *key)
{
        for (size_t i = 0; i < st->n; i++)
                if (streq(st->s[i].key, key))
                        return &st->s[i].v;
        if (st->n == MAX_SERIES || strlen(key) >= sizeof(st->s[0].key))
                return NULL;
        snprintf(st->s[st->n].key, sizeof(st->s[0].key), "%s", key);
        st->s[st->n].v = 0;
        return &st->s[st->n++].v;
}

static void store_init(struct store *st)
{
        char key[128];
        st->n = 0;
        for (size_t i = 0; i < _METRIC_EVENT_MAX; i++)
                (void)store_get(st, event_series[i]);
        for (size_t a = 0; a < 2; a++)
                for (size_t i = 0; i < ARRAY_SIZE(reasons); i++) {
                        snprintf(key, sizeof(key), "migkit_refusals_total{action=\"%s\",reason=\"%s\"}", a ? "rollback" : "source",
                                 reasons[i]);
                        (void)store_get(st, key);
                }
}

/* A series name of ours: a family's name, then nothing or {labels} made
 * of safe characters (it is written back to the textfile as it is). */
static bool series_valid(const char *key)
{
        for (size_t i = 0; i < ARRAY_SIZE(families); i++) {
                size_t n = strlen(families[i].name);
                if (strncmp(key, families[i].name, n) != 0)
                        continue;
                const char *l = key + n;
                if (!*l)
                        return true;
                if (*l != '{' || l[strlen(l) - 1] != '}')
                        return false;
                return l[strspn(l, "{}=,\"_abcdefghijklmnopqrstuvwxyz")] == '\0';
        }
        return false;
}

static int load_cb(const char *key, const char *value, void *userdata)
{
        unsigned long long v, *p;
        char *end;
        errno = 0;
        v = strtoull(value, &end, 10);
        if (errno || end == value || *end || !series_valid(key))
                return 0; /* a line of a later version: dropped, the rest counts */
        if ((p = store_get(userdata, key)))
                *p = v;
        return 0;
}

static int store_load(const char *state_dir, struct store *st)
{
        _cleanup_free_ char *path = path_join(state_dir, METRICS_FILE), *text = NULL;
        store_init(st);
        if (!path)
                return -ENOMEM;
        ssize_t n = read_full_file(path, 64 << 10, &text);
        if (n == -ENOENT)
                return 0;
        if (n < 0)
                return (int)n;
        int r = kv_parse(text, METRICS_MAGIC, "1", load_cb, st);
        return r == -EBADMSG ? 0 : r; /* malformed: start again from 0 rather than never count */
}

static int store_save(const char *state_dir, const struct store *st)
{
        _cleanup_free_ char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        if (!f)
                return -ENOMEM;
        fprintf(f, "%s 1\n", METRICS_MAGIC);
        for (size_t i = 0; i < st->n; i++)
                fprintf(f, "%s %llu\n", st->s[i].key, st->s[i].v);
        if (fclose(f) != 0)
                return -ENOMEM;
        return write_file_atomic(state_dir, METRICS_FILE, buf, len, 0600, WRITE_DURABLE);
}

const char *metrics_refusal_reason(const char *text)
{
        static const struct {
                const char *word, *reason;
        } rules[] = {
                /* in this order: "the proof ... (a new incoming migration?)" is about the proof */
                { "proof", "no_proof" },
                { "libvirt", "domain_here" },
                { "incoming migration", "incoming_migration" },
                { "journal", "incoming_migration" },
                { "post-copy", "incoming_migration" },
                { "shared", "shared_storage" },
                { "mark", "shared_storage" },
                { "another host", "shared_storage" },
                { "filesystem", "shared_storage" },
                { "symlink", "unsafe_path" },
                { "mount point", "unsafe_path" },
                { "quarantine", "unsafe_path" },
                { "does not exist", "unsafe_path" },
        };
        for (size_t i = 0; text && i < ARRAY_SIZE(rules); i++)
                if (strstr(text, rules[i].word))
                        return rules[i].reason;
        return "other";
}

static __thread unsigned long long walk_bytes;

static int add_blocks(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
        (void)path;
        (void)type;
        (void)ftw;
        walk_bytes += (unsigned long long)st->st_blocks * 512;
        return 0;
}

/* The gauges: pending items by action, the quarantine's entries and the
 * disk space it holds (its own filesystem only, symlinks not followed). */
static void render_gauges(const struct mk_config *cfg, FILE *f)
{
        _cleanup_strv_ char **names = NULL;
        unsigned pending[2] = { 0, 0 };
        if (state_list(cfg->state_dir, STATE_PENDING, &names) == 0)
                for (size_t i = 0; names && names[i]; i++) {
                        char uuid[37];
                        const char *action;
                        if (state_pending_split(names[i], uuid, &action) == 0)
                                pending[streq(action, "rollback")]++;
                }
        fprintf(f, "# HELP migkit_pending_items Source cleanups and rollbacks refused or left for later (migkit status).\n"
                   "# TYPE migkit_pending_items gauge\n"
                   "migkit_pending_items{action=\"source\"} %u\n"
                   "migkit_pending_items{action=\"rollback\"} %u\n",
                pending[0], pending[1]);

        struct quarantine_entry *q = NULL;
        int n = quarantine_list(cfg, &q);
        quarantine_list_free(q, n);
        _cleanup_free_ char *qdir = path_join(cfg->instances_path, QUARANTINE_DIR);
        walk_bytes = 0;
        if (n > 0 && qdir)
                (void)nftw(qdir, add_blocks, 16, FTW_PHYS | FTW_MOUNT);
        fprintf(f, "# HELP migkit_quarantine_entries Instance directories in the quarantine, waiting for the purge.\n"
                   "# TYPE migkit_quarantine_entries gauge\n"
                   "migkit_quarantine_entries %d\n"
                   "# HELP migkit_quarantine_bytes Disk space the quarantine holds.\n"
                   "# TYPE migkit_quarantine_bytes gauge\n"
                   "migkit_quarantine_bytes %llu\n",
                n > 0 ? n : 0, n > 0 ? walk_bytes : 0ULL);
}

static void render(const struct mk_config *cfg, const struct store *st, FILE *f, time_t now)
{
        for (size_t i = 0; i < ARRAY_SIZE(families); i++) {
                const char *name = families[i].name;
                size_t len = strlen(name);
                fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, families[i].help, name, families[i].type);
                for (size_t k = 0; k < st->n; k++)
                        if (strncmp(st->s[k].key, name, len) == 0 && (!st->s[k].key[len] || st->s[k].key[len] == '{'))
                                fprintf(f, "%s %llu\n", st->s[k].key, st->s[k].v);
        }
        render_gauges(cfg, f);
        fprintf(f, "# HELP migkit_metrics_updated_timestamp_seconds When migkit last wrote this file (unix time).\n"
                   "# TYPE migkit_metrics_updated_timestamp_seconds gauge\n"
                   "migkit_metrics_updated_timestamp_seconds %lld\n",
                (long long)now);
}

int metrics_render(const struct mk_config *cfg, FILE *f, time_t now)
{
        struct store st;
        int r = store_load(cfg->state_dir, &st);
        if (r < 0)
                return r;
        render(cfg, &st, f, now);
        return ferror(f) ? -EIO : 0;
}

static int write_textfile(const struct mk_config *cfg, const struct store *st)
{
        _cleanup_free_ char *buf = NULL, *dcopy = strdup(cfg->metrics_textfile), *bcopy = strdup(cfg->metrics_textfile);
        size_t len = 0;
        if (!dcopy || !bcopy)
                return -ENOMEM;
        FILE *f = open_memstream(&buf, &len);
        if (!f)
                return -ENOMEM;
        render(cfg, st, f, time(NULL));
        if (fclose(f) != 0)
                return -ENOMEM;
        /* node_exporter reads files of its textfile directory: 0644 */
        return write_file_atomic(dirname(dcopy), basename(bcopy), buf, len, 0644, WRITE_DURABLE);
}

/* Under the metrics lock: the counters, plus add to key (or set it to
 * set_to when add is 0), saved, then the textfile. key NULL: only the
 * textfile. */
static int update(const struct mk_config *cfg, const char *key, unsigned long long add, unsigned long long set_to)
{
        if (!cfg->metrics_textfile || !*cfg->metrics_textfile)
                return 0;
        _cleanup_close_ int lock = state_lock(cfg->state_dir, STATE_LOCK_METRICS, METRICS_LOCK_TIMEOUT_MS);
        if (lock < 0)
                return lock;
        struct store st;
        int r = store_load(cfg->state_dir, &st);
        if (r < 0)
                return r;
        if (key) {
                unsigned long long *v = store_get(&st, key);
                if (!v)
                        return -E2BIG;
                *v = add ? *v + add : set_to;
                r = store_save(cfg->state_dir, &st);
                if (r < 0)
                        return r;
        }
        return write_textfile(cfg, &st);
}

int metrics_count(const struct mk_config *cfg, enum metrics_event ev)
{
        if (ev < 0 || ev >= _METRIC_EVENT_MAX)
                return -EINVAL;
        if (ev == METRIC_PURGED)
                return update(cfg, event_series[ev], 0, (unsigned long long)time(NULL));
        return update(cfg, event_series[ev], 1, 0);
}

int metrics_refusal(const struct mk_config *cfg, const char *action, const char *reason)
{
        char key[128];
        if (!streq(action, "source") && !streq(action, "rollback"))
                return -EINVAL;
        snprintf(key, sizeof(key), "migkit_refusals_total{action=\"%s\",reason=\"%s\"}", action, metrics_refusal_reason(reason));
        return update(cfg, key, 1, 0);
}

int metrics_update(const struct mk_config *cfg)
{
        return update(cfg, NULL, 0, 0);
}
