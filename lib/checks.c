/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "checks.h"

#include <stdarg.h>

#include "json.h"
#include "util.h"

const char *check_status_to_string(int status)
{
        switch (status) {
        case CHECK_OK: return "OK";
        case CHECK_WARN: return "WARN";
        case CHECK_WILL_FIX: return "WILL FIX";
        default: return "FAIL";
        }
}

int preflight_add(struct preflight *p, int status, const char *name, const char *fix, const char *fmt, ...)
{
        struct check_result *v = realloc(p->v, (p->n + 1) * sizeof(*v));
        va_list ap;
        if (!v)
                return -ENOMEM;
        p->v = v;
        struct check_result *c = &v[p->n];
        memset(c, 0, sizeof(*c));
        c->status = status;
        c->name = strdup(name);
        c->fix = fix ? strdup(fix) : NULL;
        va_start(ap, fmt);
        c->message = strdup_vprintf(fmt, ap);
        va_end(ap);
        p->n++;
        if (!c->name || !c->message || (fix && !c->fix))
                return -ENOMEM;
        if (status == CHECK_FAIL)
                p->n_fail++;
        else if (status == CHECK_WARN)
                p->n_warn++;
        return 0;
}

void preflight_print(const struct preflight *p, FILE *f)
{
        for (size_t i = 0; i < p->n; i++) {
                const struct check_result *c = &p->v[i];
                fprintf(f, "%-5s %s: %s\n", check_status_to_string(c->status), c->name, c->message);
                if (c->fix)
                        fprintf(f, "      fix: %s\n", c->fix);
        }
}

void preflight_print_json_fields(const struct preflight *p, FILE *f, const char *const *fields)
{
        struct json j;
        json_init(&j, f);
        json_object_begin(&j);
        for (size_t i = 0; fields && fields[i]; i += 2)
                json_kv_string(&j, fields[i], fields[i + 1]);
        json_key(&j, "ready");
        json_bool(&j, p->n_fail == 0);
        json_kv_int(&j, "failed", (long long)p->n_fail);
        json_kv_int(&j, "warnings", (long long)p->n_warn);
        json_key(&j, "checks");
        json_array_begin(&j);
        for (size_t i = 0; i < p->n; i++) {
                const struct check_result *c = &p->v[i];
                json_object_begin(&j);
                json_kv_string(&j, "check", c->name);
                json_kv_string(&j, "status", check_status_to_string(c->status));
                json_kv_string(&j, "message", c->message);
                json_kv_string(&j, "fix", c->status == CHECK_OK ? NULL : c->fix);
                json_object_end(&j);
        }
        json_array_end(&j);
        json_object_end(&j);
        (void)json_end(&j);
}

void preflight_free(struct preflight *p)
{
        for (size_t i = 0; i < p->n; i++) {
                free(p->v[i].name);
                free(p->v[i].message);
                free(p->v[i].fix);
        }
        free(p->v);
        memset(p, 0, sizeof(*p));
}
