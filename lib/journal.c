/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "journal.h"

#include <stdarg.h>

#include "util.h"
#include "validate.h"

#define JOURNAL_MAX (1 << 20)

static char *journal_dir(const char *state_dir)
{
        return path_join(state_dir, "journal");
}

static int journal_line(const char *key, const char *val, void *userdata)
{
        struct journal *j = userdata;
        if (streq(key, "uuid") && !j->uuid)
                return (j->uuid = strdup(val)) ? 0 : -ENOMEM;
        if (streq(key, "name") && !j->name)
                return (j->name = strdup(val)) ? 0 : -ENOMEM;
        if (streq(key, "started")) {
                j->started = (time_t)strtoll(val, NULL, 10);
                return 0;
        }
        if (streq(key, "dir"))
                return strv_push(&j->dirs, val);
        if (streq(key, "bridge"))
                return strv_push(&j->bridges, val);
        if (streq(key, "stripped"))
                return strv_push(&j->stripped, val);
        return -EBADMSG;
}

int journal_load(const char *state_dir, const char *uuid, struct journal *j)
{
        _cleanup_free_ char *dir = journal_dir(state_dir), *path = NULL, *text = NULL;
        ssize_t n;

        memset(j, 0, sizeof(*j));
        if (!uuid_is_valid(uuid))
                return -EINVAL;
        if (!dir || !(path = path_join(dir, uuid)))
                return -ENOMEM;
        n = read_full_file(path, JOURNAL_MAX, &text);
        if (n < 0)
                return (int)n;

        int r = kv_parse(text, "migkit-journal", "1", journal_line, j);
        if (r == 0 && (!j->uuid || !streq(j->uuid, uuid)))
                r = -EBADMSG;
        if (r < 0)
                journal_free(j);
        return r;
}

struct buf {
        char *data;
        size_t len;
        bool bad;
};

static void buf_add(struct buf *b, const char *key, const char *fmt, ...) _printf_(3, 4);
static void buf_add(struct buf *b, const char *key, const char *fmt, ...)
{
        _cleanup_free_ char *val = NULL;
        va_list ap;
        va_start(ap, fmt);
        int n = vasprintf(&val, fmt, ap);
        va_end(ap);
        if (n < 0 || strchr(val, '\n')) {
                b->bad = true;
                return;
        }
        char *nd = realloc(b->data, b->len + strlen(key) + (size_t)n + 3);
        if (!nd) {
                b->bad = true;
                return;
        }
        b->data = nd;
        b->len += (size_t)sprintf(nd + b->len, "%s %s\n", key, val);
}

int journal_save(const char *state_dir, const struct journal *j)
{
        _cleanup_free_ char *dir = journal_dir(state_dir);
        struct buf b = { 0 };
        int r;

        if (!dir)
                return -ENOMEM;
        if (!j->uuid || !uuid_is_valid(j->uuid))
                return -EINVAL;
        buf_add(&b, "migkit-journal", "1");
        buf_add(&b, "uuid", "%s", j->uuid);
        if (j->name)
                buf_add(&b, "name", "%s", j->name);
        buf_add(&b, "started", "%lld", (long long)j->started);
        for (size_t i = 0; j->dirs && j->dirs[i]; i++)
                buf_add(&b, "dir", "%s", j->dirs[i]);
        for (size_t i = 0; j->bridges && j->bridges[i]; i++)
                buf_add(&b, "bridge", "%s", j->bridges[i]);
        for (size_t i = 0; j->stripped && j->stripped[i]; i++)
                buf_add(&b, "stripped", "%s", j->stripped[i]);
        _cleanup_free_ char *data = b.data;
        if (b.bad)
                return -EINVAL;
        r = mkdir_p(dir, 0700);
        if (r < 0)
                return r;
        /* Not fsync()ed: it would double the hook's run time, and losing
         * the journal in a crash is safe (what it lists is then left in
         * place, never removed without it); the rename keeps it whole. */
        return write_file_atomic(dir, j->uuid, data, b.len, 0600, 0);
}

bool journal_is_empty(const struct journal *j)
{
        return !strv_length(j->dirs) && !strv_length(j->bridges) && !strv_length(j->stripped);
}

void journal_free(struct journal *j)
{
        free(j->uuid);
        free(j->name);
        strv_free(j->dirs);
        strv_free(j->bridges);
        strv_free(j->stripped);
        memset(j, 0, sizeof(*j));
}
