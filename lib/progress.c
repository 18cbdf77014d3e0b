/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "progress.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

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

size_t json_escape(char *buf, size_t n, const char *s)
{
        size_t len = 0;
        for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
                if (*p == '"' || *p == '\\')
                        add(buf, n, &len, "\\%c", *p);
                else if (*p == '\n')
                        add(buf, n, &len, "\\n");
                else if (*p == '\t')
                        add(buf, n, &len, "\\t");
                else if (*p < 0x20 || *p == 0x7f)
                        add(buf, n, &len, "\\u%04x", *p);
                else
                        add(buf, n, &len, "%c", *p);
        }
        if (n > 0 && len >= n)
                buf[n - 1] = 0;
        return len;
}

/* Appends "\"<escaped s>\"". */
static void add_str(char *buf, size_t n, size_t *len, const char *s)
{
        add(buf, n, len, "\"");
        *len += json_escape(*len < n ? buf + *len : NULL, *len < n ? n - *len : 0, s);
        add(buf, n, len, "\"");
}

size_t progress_json(char *buf, size_t n, const char *domain, const struct mig_sample *s, const char *phase)
{
        long long eta = progress_eta_ms(s);
        size_t len = 0;

        add(buf, n, &len, "{\"event\":\"progress\",\"domain\":");
        add_str(buf, n, &len, domain);
        add(buf, n, &len,
            ",\"elapsed_ms\":%llu,\"percent\":%u,\"data_total\":%llu,\"data_processed\":%llu,\"data_remaining\":%llu,"
            "\"speed_bps\":%llu,\"dirty_bps\":%llu,\"iteration\":%llu,",
            s->elapsed_ms, progress_percent(s), s->data_total, s->data_processed, s->data_remaining, s->mem_bps,
            s->dirty_bps, s->iteration);
        if (eta < 0)
                add(buf, n, &len, "\"eta_ms\":null");
        else
                add(buf, n, &len, "\"eta_ms\":%lld", eta);
        add(buf, n, &len, ",\"phase\":");
        add_str(buf, n, &len, phase ? phase : s->postcopy ? "postcopy" : "precopy");
        add(buf, n, &len, "}");
        return len;
}

size_t event_json(char *buf, size_t n, const char *event, const char *domain, unsigned long long elapsed_ms,
                  const char *value_key, unsigned long long value, const char *message)
{
        size_t len = 0;
        add(buf, n, &len, "{\"event\":");
        add_str(buf, n, &len, event);
        add(buf, n, &len, ",\"domain\":");
        add_str(buf, n, &len, domain);
        add(buf, n, &len, ",\"elapsed_ms\":%llu", elapsed_ms);
        if (value_key) {
                add(buf, n, &len, ",");
                add_str(buf, n, &len, value_key);
                add(buf, n, &len, ":%llu", value);
        }
        if (message) {
                add(buf, n, &len, ",\"message\":");
                add_str(buf, n, &len, message);
        }
        add(buf, n, &len, "}");
        return len;
}
