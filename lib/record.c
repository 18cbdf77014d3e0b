/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "record.h"

#include <fcntl.h>
#include <sys/stat.h>

#include "json.h"
#include "jsonparse.h"
#include "progress.h"
#include "util.h"

int record_open(const char *path, FILE **ret)
{
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0640);
        if (fd < 0)
                return -errno;
        FILE *f = fdopen(fd, "w");
        if (!f) {
                int r = -errno;
                close(fd);
                return r;
        }
        setvbuf(f, NULL, _IOLBF, 0); /* a crash leaves whole lines */
        *ret = f;
        return 0;
}

int record_path(const char *dir, const char *name, time_t t, char **ret)
{
        _cleanup_free_ char *safe = strdup(name);
        struct tm tm;
        char when[32];
        if (!safe)
                return -ENOMEM;
        for (char *p = safe; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || strchr("-_.", *p)))
                        *p = '_';
        if (safe[0] == '.')
                safe[0] = '_';
        localtime_r(&t, &tm);
        strftime(when, sizeof(when), "%Y%m%d-%H%M%S", &tm);
        return asprintf(ret, "%s/%s-%s.jsonl", dir, safe, when) < 0 ? -ENOMEM : 0;
}

void record_write_header(FILE *f, const struct record_header *h)
{
        struct json j;
        event_json_begin(&j, f, "record", h->domain, 0);
        json_kv_int(&j, "version", 1);
        json_kv_string(&j, "destination", h->destination);
        json_kv_string(&j, "flags", h->flags);
        json_kv_int(&j, "memory_bytes", (long long)h->memory_bytes);
        json_kv_int(&j, "bandwidth_mib", h->bandwidth_mib);
        json_kv_int(&j, "postcopy_bandwidth_mib", h->postcopy_bandwidth_mib);
        if (h->policy) {
                json_kv_int(&j, "downtime_max_ms", h->policy->downtime_max_ms);
                json_kv_int(&j, "downtime_steps", h->policy->downtime_steps);
                json_kv_int(&j, "downtime_step_ms", h->policy->downtime_step_ms);
                json_kv_int(&j, "stall_ms", h->policy->stall_ms);
                json_kv_int(&j, "completion_timeout_ms", h->policy->completion_timeout_ms);
                json_key(&j, "postcopy_allowed");
                json_bool(&j, h->policy->postcopy);
                json_key(&j, "auto_converge");
                json_bool(&j, h->policy->auto_converge);
        }
        json_kv_int(&j, "time", (long long)time(NULL));
        (void)event_json_end(&j);
}

/* ------------------------------------------------------------ reading */

static unsigned long long ull(const struct json_object *o, const char *key)
{
        double v = json_object_num(o, key, 0);
        return v > 0 ? (unsigned long long)v : 0;
}

static char *dup_or_null(const char *s)
{
        return s ? strdup(s) : NULL;
}

static void read_header(struct recording *r, const struct json_object *o)
{
        r->have_header = true;
        free(r->domain);
        free(r->destination);
        free(r->flags);
        r->domain = dup_or_null(json_object_str(o, "domain"));
        r->destination = dup_or_null(json_object_str(o, "destination"));
        r->flags = dup_or_null(json_object_str(o, "flags"));
        r->memory_bytes = ull(o, "memory_bytes");
        r->bandwidth_mib = (unsigned)ull(o, "bandwidth_mib");
        r->postcopy_bandwidth_mib = (unsigned)ull(o, "postcopy_bandwidth_mib");
        r->policy = (struct converge_policy) {
                .downtime_max_ms = (unsigned)ull(o, "downtime_max_ms"),
                .downtime_steps = (unsigned)ull(o, "downtime_steps"),
                .downtime_step_ms = (unsigned)ull(o, "downtime_step_ms"),
                .stall_ms = (unsigned)ull(o, "stall_ms"),
                .completion_timeout_ms = (unsigned)ull(o, "completion_timeout_ms"),
                .postcopy = json_object_bool(o, "postcopy_allowed", false),
                .auto_converge = json_object_bool(o, "auto_converge", false),
        };
}

static int read_sample(struct recording *r, const struct json_object *o)
{
        struct rec_sample *v = realloc(r->samples, (r->n_samples + 1) * sizeof(*v));
        if (!v)
                return -ENOMEM;
        r->samples = v;
        struct rec_sample *x = &r->samples[r->n_samples];
        const char *phase = json_object_str(o, "phase");
        *x = (struct rec_sample) {
                .s = {
                        .elapsed_ms = ull(o, "elapsed_ms"),
                        .data_total = ull(o, "data_total"),
                        .data_processed = ull(o, "data_processed"),
                        .data_remaining = ull(o, "data_remaining"),
                        .mem_total = ull(o, "memory_total"),
                        .mem_processed = ull(o, "memory_processed"),
                        .mem_remaining = ull(o, "memory_remaining"),
                        .mem_bps = ull(o, "speed_bps"),
                        .dirty_bps = ull(o, "dirty_bps"),
                        .iteration = ull(o, "iteration"),
                        .downtime_ms = ull(o, "downtime_ms"),
                        .postcopy = phase && (streq(phase, "postcopy") || streq(phase, "post-copy")),
                        .dirty_sampled = json_object_get(o, "sampled_dirty_bps") != NULL,
                        .sampled_dirty_bps = ull(o, "sampled_dirty_bps"),
                        .sampled_ms = ull(o, "sampled_ms"),
                },
                .phase = dup_or_null(phase),
        };
        if (phase && !x->phase)
                return -ENOMEM;
        r->n_samples++;
        return 0;
}

static int read_mark(struct recording *r, const char *event, const struct json_object *o)
{
        struct rec_mark *v = realloc(r->marks, (r->n_marks + 1) * sizeof(*v));
        if (!v)
                return -ENOMEM;
        r->marks = v;
        struct rec_mark *m = &r->marks[r->n_marks];
        bool policy = streq(event, "policy");
        *m = (struct rec_mark) {
                .elapsed_ms = ull(o, "elapsed_ms"),
                .event = strdup(event),
                .action = dup_or_null(json_object_str(o, "action")),
                .message = dup_or_null(json_object_str(o, "message")),
                .value = (long long)json_object_num(o, policy ? "downtime_ms" : "iteration", -1),
                .applied = json_object_bool(o, "applied", true),
                .converges = json_object_bool(o, "converges", false),
                .predicted = json_object_get(o, "converges") != NULL,
        };
        r->n_marks++;
        if (!m->event || (json_object_str(o, "action") && !m->action) || (json_object_str(o, "message") && !m->message))
                return -ENOMEM;
        return 0;
}

static int read_result(struct recording *r, const struct json_object *o)
{
        r->have_result = true;
        free(r->status);
        free(r->result_message);
        r->status = dup_or_null(json_object_str(o, "status"));
        r->result_message = dup_or_null(json_object_str(o, "message"));
        r->postcopy = json_object_bool(o, "postcopy", false);
        r->downtime_ms = (long long)json_object_num(o, "downtime_ms", -1);
        r->elapsed_ms = ull(o, "elapsed_ms");
        if (!r->status) /* older --json output: an "exit" only */
                r->status = strdup(json_object_num(o, "exit", 1) == 0 ? "ok" : "failed");
        return r->status ? 0 : -ENOMEM;
}

static int read_line(struct recording *r, const char *line, const char **why)
{
        struct json_object o;
        int q = json_parse_object(line, &o, why);
        if (q < 0)
                return q;
        const char *event = json_object_str(&o, "event");
        if (!event) {
                *why = "no \"event\" string";
                q = -EINVAL;
        }
        else if (streq(event, "record"))
                read_header(r, &o);
        else if (streq(event, "progress"))
                q = read_sample(r, &o);
        else if (streq(event, "result"))
                q = read_result(r, &o);
        else
                q = read_mark(r, event, &o);
        if (q == 0 && !r->domain && json_object_str(&o, "domain") && !(r->domain = strdup(json_object_str(&o, "domain"))))
                q = -ENOMEM;
        json_object_free(&o);
        return q;
}

int record_read(FILE *f, const char *name, struct recording *ret, char **ret_err)
{
        _cleanup_free_ char *line = NULL;
        size_t cap = 0, lineno = 0;
        ssize_t n;

        memset(ret, 0, sizeof(*ret));
        ret->downtime_ms = -1;
        if (ret_err)
                *ret_err = NULL;
        while ((n = getline(&line, &cap, f)) >= 0) {
                lineno++;
                if (n == 0 || line[strspn(line, " \t\r\n")] == 0)
                        continue;
                const char *why = NULL;
                int r = read_line(ret, line, &why);
                if (r < 0) {
                        if (ret_err && asprintf(ret_err, "%s:%zu: %s (%s)", name, lineno,
                                                r == -ENOMEM ? "out of memory" : "not a line of a migkit record",
                                                why ? why : "?") < 0)
                                *ret_err = NULL;
                        recording_free(ret);
                        return r;
                }
        }
        if (ferror(f)) {
                recording_free(ret);
                return -EIO;
        }
        return 0;
}

int record_load(const char *path, struct recording *ret, char **ret_err)
{
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        if (!f) {
                int r = -errno;
                memset(ret, 0, sizeof(*ret));
                if (ret_err && asprintf(ret_err, "%s: cannot open: %s", path, strerror(-r)) < 0)
                        *ret_err = NULL;
                return r;
        }
        return record_read(f, path, ret, ret_err);
}

void recording_free(struct recording *r)
{
        for (size_t i = 0; i < r->n_samples; i++)
                free(r->samples[i].phase);
        for (size_t i = 0; i < r->n_marks; i++) {
                free(r->marks[i].event);
                free(r->marks[i].action);
                free(r->marks[i].message);
        }
        free(r->samples);
        free(r->marks);
        free(r->domain);
        free(r->destination);
        free(r->flags);
        free(r->status);
        free(r->result_message);
        memset(r, 0, sizeof(*r));
        r->downtime_ms = -1;
}
