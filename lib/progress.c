/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "progress.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "json.h"
#include "util.h"

#define MiB (1024.0 * 1024.0)

/* Appends like snprintf to buf at *len, keeping the would-be length. */
static void add(char *buf, size_t n, size_t *len, const char *fmt, ...) _printf_(4, 5);
static void add(char *buf, size_t n, size_t *len, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        int r = vsnprintf(*len < n ? buf + *len : NULL, *len < n ? n - *len : 0, fmt, ap);
        va_end(ap);
        if (r > 0)
                *len += (size_t)r;
}

size_t format_bytes(char *buf, size_t n, unsigned long long b)
{
        static const char *const units[] = { "KiB", "MiB", "GiB", "TiB", "PiB" };
        size_t len = 0;
        if (b < 1024) {
                add(buf, n, &len, "%llu B", b);
                return len;
        }
        double v = (double)b / 1024;
        unsigned u = 0;
        while (v >= 1023.95 && u + 1 < ARRAY_SIZE(units)) {
                v /= 1024;
                u++;
        }
        add(buf, n, &len, "%.1f %s", v, units[u]);
        return len;
}

size_t format_duration(char *buf, size_t n, unsigned long long ms)
{
        unsigned long long s = ms / 1000;
        size_t len = 0;
        if (s >= 3600)
                add(buf, n, &len, "%llu:%02llu:%02llu", s / 3600, s / 60 % 60, s % 60);
        else
                add(buf, n, &len, "%llu:%02llu", s / 60, s % 60);
        return len;
}

unsigned progress_percent(const struct mig_sample *s)
{
        if (s->data_total == 0)
                return 0;
        if (s->data_remaining >= s->data_total)
                return 0;
        return (unsigned)((s->data_total - s->data_remaining) * 100 / s->data_total);
}

long long progress_eta_ms(const struct mig_sample *s)
{
        if (s->mem_bps == 0)
                return -1;
        if (s->data_remaining == 0)
                return 0;
        if (s->iteration >= 2 && s->dirty_bps >= s->mem_bps)
                return -1;
        /* what is sent must also cover what gets dirtied meanwhile */
        unsigned long long net = s->iteration >= 2 && s->dirty_bps ? s->mem_bps - s->dirty_bps : s->mem_bps;
        return (long long)(s->data_remaining * 1000 / net);
}

struct fields {
        char left[32], speed[32], dirty[32], elapsed[32], eta[32];
};

static void fill(struct fields *f, const struct mig_sample *s)
{
        long long eta = progress_eta_ms(s);
        format_bytes(f->left, sizeof(f->left), s->data_remaining);
        format_bytes(f->speed, sizeof(f->speed), s->mem_bps);
        format_bytes(f->dirty, sizeof(f->dirty), s->dirty_bps);
        format_duration(f->elapsed, sizeof(f->elapsed), s->elapsed_ms);
        if (eta < 0)
                strcpy(f->eta, "?");
        else
                format_duration(f->eta, sizeof(f->eta), (unsigned long long)eta);
}

size_t progress_bar(char *buf, size_t n, const struct mig_sample *s, const char *phase, unsigned width)
{
        struct fields f;
        unsigned pct = progress_percent(s), full = width * pct / 100;
        size_t len = 0;

        fill(&f, s);
        add(buf, n, &len, "[");
        for (unsigned i = 0; i < width; i++)
                add(buf, n, &len, "%c", i < full ? '#' : '.');
        add(buf, n, &len, "] %3u%%  %s left  %s/s  dirty %s/s", pct, f.left, f.speed, f.dirty);
        if (s->iteration)
                add(buf, n, &len, "  pass %llu", s->iteration);
        add(buf, n, &len, "  %s", f.elapsed);
        if (phase)
                add(buf, n, &len, "  %s", phase);
        else
                add(buf, n, &len, "  ETA %s", f.eta);
        return len;
}

size_t progress_line(char *buf, size_t n, const char *domain, const struct mig_sample *s, const char *phase)
{
        struct fields f;
        size_t len = 0;

        fill(&f, s);
        add(buf, n, &len, "%s: %u%% done, %s left, %s/s, dirty %s/s", domain, progress_percent(s), f.left, f.speed, f.dirty);
        if (s->iteration)
                add(buf, n, &len, ", pass %llu", s->iteration);
        add(buf, n, &len, ", elapsed %s, ETA %s", f.elapsed, f.eta);
        if (phase)
                add(buf, n, &len, ", %s", phase);
        return len;
}

void progress_json_fields(struct json *j, const struct mig_sample *s, const char *phase)
{
        long long eta = progress_eta_ms(s);

        json_kv_int(j, "elapsed_ms", (long long)s->elapsed_ms);
        json_kv_int(j, "percent", progress_percent(s));
        json_kv_int(j, "data_total", (long long)s->data_total);
        json_kv_int(j, "data_processed", (long long)s->data_processed);
        json_kv_int(j, "data_remaining", (long long)s->data_remaining);
        json_kv_int(j, "memory_total", (long long)s->mem_total);
        json_kv_int(j, "memory_processed", (long long)s->mem_processed);
        json_kv_int(j, "memory_remaining", (long long)s->mem_remaining);
        json_kv_int(j, "speed_bps", (long long)s->mem_bps);
        json_kv_int(j, "dirty_bps", (long long)s->dirty_bps);
        json_kv_int(j, "iteration", (long long)s->iteration);
        json_kv_int(j, "downtime_ms", (long long)s->downtime_ms);
        if (s->dirty_sampled) {
                json_kv_int(j, "sampled_dirty_bps", (long long)s->sampled_dirty_bps);
                json_kv_int(j, "sampled_ms", (long long)s->sampled_ms);
        }
        json_key(j, "eta_ms");
        if (eta < 0)
                json_null(j);
        else
                json_int(j, eta);
        json_kv_string(j, "phase", phase ? phase : s->postcopy ? "postcopy" : "precopy");
}

void event_json_begin(struct json *j, FILE *f, const char *event, const char *domain, unsigned long long elapsed_ms)
{
        json_init(j, f);
        json_object_begin(j);
        json_kv_string(j, "event", event);
        json_kv_string(j, "domain", domain);
        json_kv_int(j, "elapsed_ms", (long long)elapsed_ms);
}

int event_json_end(struct json *j)
{
        json_object_end(j);
        return json_end(j);
}

void progress_json(FILE *f, const char *domain, const struct mig_sample *s, const char *phase)
{
        struct json j;
        json_init(&j, f);
        json_object_begin(&j);
        json_kv_string(&j, "event", "progress");
        json_kv_string(&j, "domain", domain);
        progress_json_fields(&j, s, phase);
        (void)event_json_end(&j);
}

void event_json(FILE *f, const char *event, const char *domain, unsigned long long elapsed_ms, const char *value_key,
                unsigned long long value, const char *message)
{
        struct json j;
        event_json_begin(&j, f, event, domain, elapsed_ms);
        if (value_key)
                json_kv_int(&j, value_key, (long long)value);
        if (message)
                json_kv_string(&j, "message", message);
        (void)event_json_end(&j);
}

void decision_json(FILE *f, const char *domain, unsigned long long elapsed_ms, const struct converge_action *a, bool applied,
                   const char *message)
{
        const struct converge_prediction *p = &a->pred;
        struct json j;

        event_json_begin(&j, f, "policy", domain, elapsed_ms);
        json_kv_string(&j, "action", converge_action_to_string(a->kind));
        if (a->kind == CONVERGE_SET_DOWNTIME)
                json_kv_int(&j, "downtime_ms", (long long)a->value);
        json_key(&j, "applied");
        json_bool(&j, applied);
        json_kv_string(&j, "message", message);
        if (p->valid) {
                json_kv_int(&j, "pass", (long long)(p->in_pass ? p->iteration : p->iteration - 1));
                json_kv_int(&j, "first_pass", (long long)(p->first_pass ? p->first_pass : p->iteration - 1));
                if (p->in_pass) { /* during the pass, on QEMU's sampled dirty rate */
                        json_key(&j, "in_pass");
                        json_bool(&j, true);
                        json_kv_int(&j, "sampled_ms", (long long)p->sampled_ms);
                }
                json_kv_int(&j, "pass_ms", (long long)p->pass_ms);
                json_kv_int(&j, "remaining", (long long)p->remaining);
                json_kv_int(&j, "transfer_bps", (long long)p->transfer_bps);
                json_kv_int(&j, "dirty_bps", (long long)p->dirty_bps);
                json_kv_int(&j, "ratio_pm", p->ratio_pm);
                json_key(&j, "converges");
                json_bool(&j, p->converges);
                json_kv_int(&j, "predicted_passes", p->passes);
                json_kv_int(&j, "predicted_precopy_ms", (long long)p->precopy_ms);
                json_kv_int(&j, "predicted_postcopy_ms", (long long)p->postcopy_ms);
                json_kv_int(&j, "predicted_downtime_ms", p->downtime_ms);
        }
        (void)event_json_end(&j);
}

/* ------------------------------------------------------------ decisions */

static void add_measured(char *buf, size_t n, size_t *len, const struct converge_prediction *p)
{
        if (p->in_pass) {
                add(buf, n, len, "pass %llu, %.1f s in: the guest dirties %.1f MiB/s (QEMU's sampling over %.0f s before the "
                    "job), sent at %.1f MiB/s so far (dirty/sent %.2f), %.1f MiB left to send", p->iteration,
                    p->pass_ms / 1000.0, p->dirty_bps / MiB, p->sampled_ms / 1000.0, p->transfer_bps / MiB,
                    p->ratio_pm / 1000.0, p->remaining / MiB);
                return;
        }
        if (p->first_pass && p->first_pass < p->iteration - 1)
                add(buf, n, len, "passes %llu-%llu", p->first_pass, p->iteration - 1);
        else
                add(buf, n, len, "pass %llu", p->iteration - 1);
        add(buf, n, len, " took %.1f s: %.1f MiB left to send, dirtied at %.1f MiB/s, sent at %.1f MiB/s (dirty/sent %.2f)",
            p->pass_ms / 1000.0, p->remaining / MiB, p->dirty_bps / MiB, p->transfer_bps / MiB,
            p->ratio_pm / 1000.0);
}

static void add_predicted(char *buf, size_t n, size_t *len, const struct converge_prediction *p)
{
        if (p->converges && p->passes == 0)
                add(buf, n, len, "; pre-copy can stop now");
        else if (p->converges)
                add(buf, n, len, "; pre-copy converges: %u more pass%s, %.1f s predicted", p->passes, p->passes == 1 ? "" : "es",
                    p->precopy_ms / 1000.0);
        else if (p->precopy_ms == 0)
                add(buf, n, len, "; pre-copy cannot converge: the guest dirties memory as fast as it is sent");
        else
                add(buf, n, len, "; pre-copy predicted to need %u more passes, %.1f s, over %d times post-copy's %.1f s "
                    "(or past the completion timeout)", p->passes, p->precopy_ms / 1000.0, CONVERGE_PRECOPY_FACTOR,
                    p->postcopy_ms / 1000.0);
}

size_t progress_explain(char *buf, size_t n, const struct converge_action *a)
{
        const struct converge_prediction *p = &a->pred;
        size_t len = 0;

        if (n > 0)
                buf[0] = 0;
        if (!p->valid) {
                switch (a->kind) {
                case CONVERGE_SET_DOWNTIME: add(buf, n, &len, "allowed downtime %llu ms (%s)", a->value, a->reason); break;
                case CONVERGE_POSTCOPY: add(buf, n, &len, "switching to post-copy (%s)", a->reason); break;
                case CONVERGE_ABORT: add(buf, n, &len, "aborting: %s", a->reason); break;
                case CONVERGE_KEEP: add(buf, n, &len, "leaving the job as it is (%s)", a->reason); break;
                default: add(buf, n, &len, "nothing to do"); break;
                }
                return len;
        }
        add_measured(buf, n, &len, p);
        add_predicted(buf, n, &len, p);
        switch (a->kind) {
        case CONVERGE_POSTCOPY:
                add(buf, n, &len, ": switching to post-copy now (predicted %.1f s)", p->postcopy_ms / 1000.0);
                break;
        case CONVERGE_SET_DOWNTIME:
                if (p->converges)
                        add(buf, n, &len, ": allowed downtime %llu ms, the least that needs no more passes than the maximum",
                            a->value);
                else
                        add(buf, n, &len, "; post-copy is not allowed: allowed downtime %llu ms, the maximum (%s); "
                            "aborting at the completion timeout if it does not finish", a->value, a->reason);
                break;
        case CONVERGE_KEEP:
                add(buf, n, &len, p->converges && p->in_pass ? ": left alone (looked at again at the end of the pass)" :
                                  p->in_pass ? "; left alone until the end of the pass, which measures what the guest "
                                               "leaves (this early only a guest that dirties memory as fast as it is sent "
                                               "is switched)" :
                                  p->converges ? ": left alone" : "; post-copy is not allowed and the allowed downtime is at "
                                                                 "its maximum: waiting (aborting at the completion timeout)");
                break;
        default:
                break;
        }
        return len;
}
