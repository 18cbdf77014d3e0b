/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "migout.h"

#include "json.h"
#include "migrate.h"
#include "progress.h"
#include "util.h"

/* Writes text as a line of its own, clearing a bar first. */
static void put_line(struct migout *o, const char *text)
{
        flockfile(o->f);
        if (o->tty) {
                fputs("\r\033[K", o->f);
                o->tty = false;
        }
        fputs(text, o->f);
        fputc('\n', o->f);
        fflush(o->f);
        funlockfile(o->f);
}

static void put_text(struct migout *o, const char *text)
{
        _cleanup_free_ char *line = NULL;
        if (asprintf(&line, "%s: %s", o->domain, text) >= 0)
                put_line(o, line);
}

/* What every event, decision and result does: its JSON line into the
 * record, then by the form: nothing, the JSON line, or "<domain>: text". */
static void emit(struct migout *o, const char *json_line, const char *text)
{
        if (o->rec && json_line)
                fputs(json_line, o->rec);
        if (o->mode == MIGRATE_OUT_QUIET)
                return;
        if (o->mode != MIGRATE_OUT_JSON) {
                put_text(o, text);
                return;
        }
        if (!json_line)
                return;
        flockfile(o->f);
        fputs(json_line, o->f);
        fflush(o->f);
        funlockfile(o->f);
}

/* A memory stream for one JSON line; NULL on ENOMEM (the line is lost). */
struct line {
        char *buf;
        size_t len;
        FILE *f;
};

static FILE *line_open(struct line *l)
{
        *l = (struct line) { 0 };
        return l->f = open_memstream(&l->buf, &l->len);
}

static const char *line_close(struct line *l)
{
        if (l->f && fclose(l->f) != 0) {
                free(l->buf);
                l->buf = NULL;
        }
        return l->buf;
}

void migout_event(struct migout *o, const char *event, unsigned long long elapsed_ms, const char *value_key,
                  unsigned long long value, const char *text)
{
        struct line l;
        if (line_open(&l))
                event_json(l.f, event, o->domain, elapsed_ms, value_key, value, text);
        emit(o, line_close(&l), text);
        free(l.buf);
}

void migout_progress(struct migout *o, const struct mig_sample *s, const char *phase)
{
        char buf[512];
        unsigned long long t = now_ms();
        /* JSON names the phase itself ("precopy"/"postcopy"); a stall is extra */
        const char *json_phase = phase && streq(phase, "post-copy") ? NULL : phase;

        if (o->rec)
                progress_json(o->rec, o->domain, s, json_phase);
        if (o->mode == MIGRATE_OUT_QUIET)
                return;
        if (o->mode == MIGRATE_OUT_AUTO) { /* a terminal */
                progress_bar(buf, sizeof(buf), s, phase, 30);
                flockfile(o->f);
                fprintf(o->f, "\r%s\033[K", buf);
                fflush(o->f);
                o->tty = true;
                funlockfile(o->f);
                return;
        }
        if (o->last_line && t - o->last_line < o->interval_ms)
                return;
        o->last_line = t;
        if (o->mode == MIGRATE_OUT_JSON) {
                flockfile(o->f);
                progress_json(o->f, o->domain, s, json_phase);
                fflush(o->f);
                funlockfile(o->f);
                return;
        }
        progress_line(buf, sizeof(buf), o->domain, s, phase);
        put_line(o, buf);
}

void migout_decision(struct migout *o, unsigned long long elapsed_ms, const struct converge_action *a, bool applied,
                     const char *text)
{
        struct line l;
        if (line_open(&l))
                decision_json(l.f, o->domain, elapsed_ms, a, applied, text);
        emit(o, line_close(&l), text);
        free(l.buf);
}

void migout_result(struct migout *o, unsigned long long elapsed_ms, int exit_code, const char *status, bool postcopy,
                   long long downtime_ms, long long job_elapsed_ms, const char *text)
{
        struct line l;
        struct json j;
        if (line_open(&l)) {
                event_json_begin(&j, l.f, "result", o->domain, elapsed_ms);
                json_kv_int(&j, "exit", exit_code);
                json_kv_string(&j, "status", status);
                json_key(&j, "postcopy");
                json_bool(&j, postcopy);
                if (downtime_ms >= 0)
                        json_kv_int(&j, "downtime_ms", downtime_ms);
                if (job_elapsed_ms >= 0)
                        json_kv_int(&j, "job_elapsed_ms", job_elapsed_ms);
                json_kv_string(&j, "message", text);
                (void)event_json_end(&j);
        }
        emit(o, line_close(&l), text);
        free(l.buf);
}
