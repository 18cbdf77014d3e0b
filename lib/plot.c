/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "plot.h"

#include <errno.h>

#include "svg.h"
#include "util.h"

#define MiB (1024.0 * 1024.0)

/* The frame: both panels share the x axis. */
enum {
        LEFT = 80, RIGHT = PLOT_WIDTH - 30,
        A_TOP = 80, A_BOTTOM = 320,   /* memory left */
        B_TOP = 370, B_BOTTOM = 560,  /* rates */
};

static const char css[] =
        "text{font-family:DejaVu Sans,Helvetica,Arial,sans-serif;font-size:12px;fill:#222}"
        ".title{font-size:16px;font-weight:bold}.subtitle{fill:#555}"
        ".axis{stroke:#444;stroke-width:1}.grid{stroke:#e2e2e2;stroke-width:1}"
        ".remaining{stroke-width:2}.transfer{stroke-width:2}.dirty{stroke-width:1.5}"
        ".pass{stroke-width:1;stroke-dasharray:2,3}.decision line{stroke-width:2;stroke-dasharray:6,3;shape-rendering:crispEdges}"
        ".done{stroke-width:1.5}.label{font-size:11px}";

#define C_REMAINING "#1f77b4"
#define C_TRANSFER "#2ca02c"
#define C_DIRTY "#d62728"
#define C_POSTCOPY "#ffd8b0"
#define C_DECISION "#7b3fb5"
#define C_PASS "#999999"

/* A round step for about n ticks over range: 1, 2 or 5 times a power of ten. */
static double nice_step(double range, int n)
{
        double raw = range / n, m = 1;
        if (raw <= 0)
                return 1;
        while (m * 10 <= raw)
                m *= 10;
        while (m > raw)
                m /= 10;
        return raw <= m ? m : raw <= 2 * m ? 2 * m : raw <= 5 * m ? 5 * m : 10 * m;
}

static double nice_max(double v, int n)
{
        double step = nice_step(v > 0 ? v : 1, n);
        double top = step;
        while (top < v)
                top += step;
        return top;
}

struct frame {
        double t_max;       /* seconds */
        double a_max, b_max; /* MiB, MiB/s */
};

static double x_of(const struct frame *fr, double t_s)
{
        return LEFT + (RIGHT - LEFT) * (t_s / fr->t_max);
}

static double ya_of(const struct frame *fr, double mib)
{
        return A_BOTTOM - (A_BOTTOM - A_TOP) * (mib / fr->a_max);
}

static double yb_of(const struct frame *fr, double mibs)
{
        return B_BOTTOM - (B_BOTTOM - B_TOP) * (mibs / fr->b_max);
}

static double remaining_of(const struct mig_sample *s)
{
        return (double)(s->mem_remaining ? s->mem_remaining : s->data_remaining) / MiB;
}

static void frame_of(const struct recording *r, struct frame *fr)
{
        double t = 0, a = 0, b = 0;
        for (size_t i = 0; i < r->n_samples; i++) {
                const struct mig_sample *s = &r->samples[i].s;
                t = t > s->elapsed_ms / 1000.0 ? t : s->elapsed_ms / 1000.0;
                a = a > remaining_of(s) ? a : remaining_of(s);
                b = b > s->mem_bps / MiB ? b : s->mem_bps / MiB;
                b = b > s->dirty_bps / MiB ? b : s->dirty_bps / MiB;
        }
        if (r->have_result && r->elapsed_ms / 1000.0 > t)
                t = r->elapsed_ms / 1000.0;
        for (size_t i = 0; i < r->n_marks; i++)
                t = t > r->marks[i].elapsed_ms / 1000.0 ? t : r->marks[i].elapsed_ms / 1000.0;
        fr->t_max = nice_max(t, 10);
        fr->a_max = nice_max(a, 5);
        fr->b_max = nice_max(b, 4);
}

char *plot_title(const struct recording *r)
{
        char *t = NULL, dt[48] = "";
        const char *dom = r->domain ? r->domain : "?", *to = r->destination ? r->destination : "the destination";
        if (!r->have_result)
                return asprintf(&t, "%s to %s: no result recorded", dom, to) < 0 ? NULL : t;
        if (r->downtime_ms >= 0)
                snprintf(dt, sizeof(dt), ", downtime %lld ms", r->downtime_ms);
        if (streq_ptr(r->status, "ok"))
                return asprintf(&t, "%s to %s: migrated in %.1f s%s%s", dom, to, r->elapsed_ms / 1000.0,
                                r->postcopy ? " (post-copy)" : "", dt) < 0 ? NULL : t;
        return asprintf(&t, "%s to %s: %s after %.1f s%s", dom, to, r->status ? r->status : "failed", r->elapsed_ms / 1000.0,
                        r->postcopy ? " (in post-copy)" : "") < 0 ? NULL : t;
}

static void draw_axes(struct svg *s, const struct frame *fr)
{
        char label[32];
        double step = nice_step(fr->t_max, 10);

        svg_group_begin(s, "axes", NULL, NULL, NULL);
        for (double t = 0; t <= fr->t_max + step / 2; t += step) {
                double x = x_of(fr, t);
                svg_line(s, x, A_TOP, x, A_BOTTOM, "grid", NULL);
                svg_line(s, x, B_TOP, x, B_BOTTOM, "grid", NULL);
                snprintf(label, sizeof(label), "%g", t);
                svg_text(s, x, B_BOTTOM + 16, "middle", 0, NULL, label);
        }
        svg_text(s, (LEFT + RIGHT) / 2.0, B_BOTTOM + 34, "middle", 0, NULL, "time (s)");
        step = nice_step(fr->a_max, 5);
        for (double v = 0; v <= fr->a_max + step / 2; v += step) {
                svg_line(s, LEFT, ya_of(fr, v), RIGHT, ya_of(fr, v), "grid", NULL);
                snprintf(label, sizeof(label), "%g", v);
                svg_text(s, LEFT - 6, ya_of(fr, v) + 4, "end", 0, NULL, label);
        }
        step = nice_step(fr->b_max, 4);
        for (double v = 0; v <= fr->b_max + step / 2; v += step) {
                svg_line(s, LEFT, yb_of(fr, v), RIGHT, yb_of(fr, v), "grid", NULL);
                snprintf(label, sizeof(label), "%g", v);
                svg_text(s, LEFT - 6, yb_of(fr, v) + 4, "end", 0, NULL, label);
        }
        svg_text(s, 22, (A_TOP + A_BOTTOM) / 2.0, "middle", -90, NULL, "memory left to send (MiB)");
        svg_text(s, 22, (B_TOP + B_BOTTOM) / 2.0, "middle", -90, NULL, "MiB/s");
        svg_line(s, LEFT, A_BOTTOM, RIGHT, A_BOTTOM, "axis", "#444444");
        svg_line(s, LEFT, A_TOP, LEFT, A_BOTTOM, "axis", "#444444");
        svg_line(s, LEFT, B_BOTTOM, RIGHT, B_BOTTOM, "axis", "#444444");
        svg_line(s, LEFT, B_TOP, LEFT, B_BOTTOM, "axis", "#444444");
        svg_group_end(s);
}

/* The post-copy phase: from the switch (or the first post-copy sample) to
 * the end. */
static void draw_postcopy(struct svg *s, const struct recording *r, const struct frame *fr)
{
        double from = -1, to = r->have_result ? r->elapsed_ms / 1000.0 : 0;
        for (size_t i = 0; i < r->n_marks && from < 0; i++)
                if (streq_ptr(r->marks[i].action, "postcopy") && r->marks[i].applied)
                        from = r->marks[i].elapsed_ms / 1000.0;
        for (size_t i = 0; i < r->n_samples; i++) {
                double t = r->samples[i].s.elapsed_ms / 1000.0;
                if (r->samples[i].s.postcopy && from < 0)
                        from = t;
                to = to > t ? to : t;
        }
        if (from < 0)
                return;
        svg_group_begin(s, "postcopy", "postcopy", NULL, NULL);
        svg_rect(s, x_of(fr, from), A_TOP, x_of(fr, to) - x_of(fr, from), A_BOTTOM - A_TOP, NULL, C_POSTCOPY);
        svg_rect(s, x_of(fr, from), B_TOP, x_of(fr, to) - x_of(fr, from), B_BOTTOM - B_TOP, NULL, C_POSTCOPY);
        svg_text(s, x_of(fr, from) + 4, A_BOTTOM - 6, "start", 0, "label", "post-copy");
        svg_group_end(s);
}

/* Memory passes: from the iteration events, else where samples change pass. */
/* A pass label, moved down a line when it would overlap the one before. */
static void pass_label(struct svg *s, double x, unsigned long long pass, double *last_x, int *row)
{
        char label[32];
        *row = x - *last_x < 44 ? (*row + 1) % 4 : 0;
        *last_x = x;
        snprintf(label, sizeof(label), "pass %llu", pass);
        svg_text(s, x + 3, A_TOP + 12 + 12 * *row, "start", 0, "label", label);
}

static void draw_passes(struct svg *s, const struct recording *r, const struct frame *fr)
{
        double last_x = -100;
        int row = 0;
        bool events = false;
        svg_group_begin(s, "passes", NULL, NULL, NULL);
        for (size_t i = 0; i < r->n_marks; i++)
                if (streq(r->marks[i].event, "iteration") && r->marks[i].value >= 2) {
                        double x = x_of(fr, r->marks[i].elapsed_ms / 1000.0);
                        events = true;
                        svg_line(s, x, A_TOP, x, A_BOTTOM, "pass", C_PASS);
                        pass_label(s, x, (unsigned long long)r->marks[i].value, &last_x, &row);
                }
        for (size_t i = 1; i < r->n_samples && !events; i++)
                if (r->samples[i].s.iteration > r->samples[i - 1].s.iteration && r->samples[i].s.iteration >= 2) {
                        double x = x_of(fr, r->samples[i].s.elapsed_ms / 1000.0);
                        svg_line(s, x, A_TOP, x, A_BOTTOM, "pass", C_PASS);
                        pass_label(s, x, r->samples[i].s.iteration, &last_x, &row);
                }
        svg_group_end(s);
}

static int draw_series(struct svg *s, const struct recording *r, const struct frame *fr)
{
        _cleanup_free_ double *a = malloc(r->n_samples * 2 * sizeof(double)), *b = malloc(r->n_samples * 2 * sizeof(double)),
                              *c = malloc(r->n_samples * 2 * sizeof(double));
        if (!a || !b || !c)
                return -ENOMEM;
        for (size_t i = 0; i < r->n_samples; i++) {
                const struct mig_sample *x = &r->samples[i].s;
                double px = x_of(fr, x->elapsed_ms / 1000.0);
                a[2 * i] = b[2 * i] = c[2 * i] = px;
                a[2 * i + 1] = ya_of(fr, remaining_of(x));
                b[2 * i + 1] = yb_of(fr, x->mem_bps / MiB);
                c[2 * i + 1] = yb_of(fr, x->dirty_bps / MiB);
        }
        svg_group_begin(s, "series", NULL, NULL, NULL);
        svg_polyline(s, a, r->n_samples, "remaining", C_REMAINING);
        svg_polyline(s, b, r->n_samples, "transfer", C_TRANSFER);
        svg_polyline(s, c, r->n_samples, "dirty", C_DIRTY);
        svg_group_end(s);
        return 0;
}

/* A label for a decision: "post-copy", "downtime 320 ms", "abort", ... */
static void decision_label(const struct rec_mark *m, char *buf, size_t n)
{
        if (streq_ptr(m->action, "downtime"))
                snprintf(buf, n, "downtime %lld ms%s", m->value, m->applied ? "" : " (refused)");
        else if (streq_ptr(m->action, "postcopy"))
                snprintf(buf, n, "post-copy%s", m->applied ? "" : " (refused)");
        else if (streq_ptr(m->action, "keep"))
                snprintf(buf, n, "%s", m->converges ? "converging" : "cannot converge");
        else
                snprintf(buf, n, "%s", m->action ? m->action : "?");
}

static void draw_decisions(struct svg *s, const struct recording *r, const struct frame *fr)
{
        char label[64];
        svg_group_begin(s, "decisions", NULL, NULL, NULL);
        for (size_t i = 0; i < r->n_marks; i++) {
                const struct rec_mark *m = &r->marks[i];
                if (!streq(m->event, "policy"))
                        continue;
                double x = x_of(fr, m->elapsed_ms / 1000.0);
                decision_label(m, label, sizeof(label));
                svg_group_begin(s, NULL, "decision", "action", m->action ? m->action : "?");
                svg_line(s, x, A_TOP, x, B_BOTTOM, NULL, C_DECISION);
                svg_text(s, x - 4, A_TOP + 4, "end", -90, "label", label);
                svg_group_end(s);
        }
        if (r->have_result) {
                double x = x_of(fr, r->elapsed_ms / 1000.0);
                svg_group_begin(s, "result", "done", "status", r->status ? r->status : "?");
                svg_line(s, x, A_TOP, x, B_BOTTOM, "done", "#000000");
                svg_text(s, x - 4, B_BOTTOM - 6, "end", 0, "label", r->status ? r->status : "?");
                svg_group_end(s);
        }
        svg_group_end(s);
}

static void draw_legend(struct svg *s)
{
        static const struct { const char *color, *text; bool box; } items[] = {
                { C_REMAINING, "memory left to send", false }, { C_TRANSFER, "sent (MiB/s)", false },
                { C_DIRTY, "dirtied (MiB/s)", false }, { C_DECISION, "policy decision", false },
                { C_PASS, "memory pass", false }, { C_POSTCOPY, "post-copy", true },
        };
        double x = LEFT;
        svg_group_begin(s, "legend", NULL, NULL, NULL);
        for (size_t i = 0; i < ARRAY_SIZE(items); i++) {
                if (items[i].box)
                        svg_rect(s, x, PLOT_HEIGHT - 26, 18, 10, NULL, items[i].color);
                else
                        svg_line(s, x, PLOT_HEIGHT - 21, x + 18, PLOT_HEIGHT - 21, "legend", items[i].color);
                svg_text(s, x + 24, PLOT_HEIGHT - 17, "start", 0, NULL, items[i].text);
                x += 24 + 6.5 * (double)strlen(items[i].text) + 18;
        }
        svg_group_end(s);
}

static void draw_header(struct svg *s, const struct recording *r, const char *title)
{
        char sub[512];
        int n = snprintf(sub, sizeof(sub), "%s", r->flags && *r->flags ? r->flags : "");
        if (r->memory_bytes)
                n += snprintf(sub + n, sizeof(sub) - (size_t)n, "%sguest memory %.0f MiB", n ? "; " : "", r->memory_bytes / MiB);
        if (r->bandwidth_mib && (size_t)n < sizeof(sub))
                n += snprintf(sub + n, sizeof(sub) - (size_t)n, "; cap %u MiB/s", r->bandwidth_mib);
        if (r->policy.downtime_max_ms && (size_t)n < sizeof(sub))
                snprintf(sub + n, sizeof(sub) - (size_t)n, "; allowed downtime up to %u ms", r->policy.downtime_max_ms);
        svg_text(s, LEFT, 30, "start", 0, "title", title);
        svg_text(s, LEFT, 52, "start", 0, "subtitle", sub);
}

int plot_svg(const struct recording *r, FILE *f)
{
        struct svg s;
        struct frame fr;
        if (r->n_samples == 0)
                return -ENODATA;
        _cleanup_free_ char *title = plot_title(r);
        if (!title)
                return -ENOMEM;
        frame_of(r, &fr);
        svg_begin(&s, f, PLOT_WIDTH, PLOT_HEIGHT, title);
        svg_style(&s, css);
        svg_rect(&s, 0, 0, PLOT_WIDTH, PLOT_HEIGHT, "background", "#ffffff");
        draw_header(&s, r, title);
        draw_postcopy(&s, r, &fr);
        draw_axes(&s, &fr);
        draw_passes(&s, r, &fr);
        int q = draw_series(&s, r, &fr);
        if (q < 0)
                return q;
        draw_decisions(&s, r, &fr);
        draw_legend(&s);
        return svg_end(&s);
}
