/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "journal.h"

#include <fcntl.h>
#include <stdarg.h>

#include "state.h"
#include "util.h"
#include "validate.h"

#define JOURNAL_MAX (1 << 20)

static const char *const mark_keys[] = {
        [JOURNAL_QEMU_STARTED] = "qemu-started",
        [JOURNAL_POSTCOPY] = "postcopy",
        [JOURNAL_ARRIVED] = "arrived",
};

static time_t *mark_field(struct journal *j, enum journal_mark m)
{
        switch (m) {
        case JOURNAL_QEMU_STARTED: return &j->qemu_started;
        case JOURNAL_POSTCOPY: return &j->postcopy;
        case JOURNAL_ARRIVED: return &j->arrived;
        }
        return NULL;
}

static int parse_time(const char *val, time_t *ret)
{
        char *end;
        errno = 0;
        long long t = strtoll(val, &end, 10);
        if (errno || end == val || *end || t <= 0)
                return -EBADMSG;
        *ret = (time_t)t;
        return 0;
}

static int journal_line(const char *key, const char *val, void *userdata)
{
        struct journal *j = userdata;
        for (size_t m = 0; m < ARRAY_SIZE(mark_keys); m++)
                if (streq(key, mark_keys[m]))
                        return parse_time(val, mark_field(j, (enum journal_mark)m));
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
        if (streq(key, "dir-id")) {
                struct dir_ident id;
                int n = 0;
                if (sscanf(val, "%llu %llu %lld.%u %n", &id.dev, &id.ino, &id.btime_s, &id.btime_ns, &n) != 4 || n == 0 ||
                    val[n] != '/')
                        return -EBADMSG;
                return journal_set_dir_id(j, val + n, &id);
        }
        if (streq(key, "bridge-ifindex")) {
                unsigned idx;
                int n = 0;
                if (sscanf(val, "%u %n", &idx, &n) != 1 || n == 0 || !val[n] || idx == 0)
                        return -EBADMSG;
                return journal_set_bridge_ifindex(j, val + n, idx);
        }
        if (streq(key, "scsi"))
                return strv_push(&j->scsi, val);
        if (streq(key, "mpath"))
                return strv_push(&j->mpaths, val);
        return -EBADMSG;
}

int journal_load(const char *state_dir, const char *uuid, struct journal *j)
{
        _cleanup_free_ char *path = NULL, *text = NULL;
        ssize_t n;

        memset(j, 0, sizeof(*j));
        if (!uuid_is_valid(uuid))
                return -EINVAL;
        if (!(path = state_path(state_dir, STATE_JOURNAL, uuid)))
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
        _cleanup_free_ char *dir = NULL;
        struct buf b = { 0 };
        int r;

        if (!j->uuid || !uuid_is_valid(j->uuid))
                return -EINVAL;
        buf_add(&b, "migkit-journal", "1");
        buf_add(&b, "uuid", "%s", j->uuid);
        if (j->name)
                buf_add(&b, "name", "%s", j->name);
        buf_add(&b, "started", "%lld", (long long)j->started);
        for (size_t i = 0; j->dirs && j->dirs[i]; i++)
                buf_add(&b, "dir", "%s", j->dirs[i]);
        for (size_t i = 0; i < j->n_dir_ids; i++)
                if (strv_contains(j->dirs, j->dir_ids[i].path))
                        buf_add(&b, "dir-id", "%llu %llu %lld.%09u %s", j->dir_ids[i].id.dev, j->dir_ids[i].id.ino,
                                j->dir_ids[i].id.btime_s, j->dir_ids[i].id.btime_ns, j->dir_ids[i].path);
        for (size_t i = 0; j->bridges && j->bridges[i]; i++)
                buf_add(&b, "bridge", "%s", j->bridges[i]);
        for (size_t i = 0; i < j->n_bridge_ids; i++)
                if (strv_contains(j->bridges, j->bridge_ids[i].name))
                        buf_add(&b, "bridge-ifindex", "%u %s", j->bridge_ids[i].ifindex, j->bridge_ids[i].name);
        for (size_t i = 0; j->stripped && j->stripped[i]; i++)
                buf_add(&b, "stripped", "%s", j->stripped[i]);
        for (size_t i = 0; j->scsi && j->scsi[i]; i++)
                buf_add(&b, "scsi", "%s", j->scsi[i]);
        for (size_t i = 0; j->mpaths && j->mpaths[i]; i++)
                buf_add(&b, "mpath", "%s", j->mpaths[i]);
        for (size_t m = 0; m < ARRAY_SIZE(mark_keys); m++) {
                time_t t = *mark_field((struct journal *)j, (enum journal_mark)m);
                if (t > 0)
                        buf_add(&b, mark_keys[m], "%lld", (long long)t);
        }
        _cleanup_free_ char *data = b.data;
        if (b.bad)
                return -EINVAL;
        r = state_area_create(state_dir, STATE_JOURNAL, &dir);
        if (r < 0)
                return r;
        /* Not fsync()ed: it would double the hook's run time, and losing
         * the journal in a crash is safe (what it lists is then left in
         * place, never removed without it); the rename keeps it whole. */
        return write_file_atomic(dir, j->uuid, data, b.len, 0600, 0);
}

int journal_probe(const char *state_dir, const char *uuid)
{
        static const char block[4096];
        _cleanup_free_ char *dir = NULL, *tmp = NULL;
        int r;

        r = state_area_create(state_dir, STATE_JOURNAL, &dir);
        if (r < 0)
                return r;
        _cleanup_close_ int fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
        if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
                if (asprintf(&tmp, "%s/.probe-%s-%d", dir, uuid, (int)getpid()) < 0)
                        return -ENOMEM;
                fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
                if (fd >= 0)
                        (void)unlink(tmp);
        }
        if (fd < 0)
                return -errno;
        r = write_all(fd, block, sizeof(block));
        return r < 0 ? r : 0;
}

int journal_set_mark(const char *state_dir, const char *uuid, enum journal_mark m, time_t t)
{
        _cleanup_(journal_free) struct journal j = { 0 };
        time_t *f;
        int r;

        if ((unsigned)m >= ARRAY_SIZE(mark_keys) || t < 0)
                return -EINVAL;
        r = journal_load(state_dir, uuid, &j);
        if (r < 0)
                return r;
        f = mark_field(&j, m);
        if (*f == t)
                return 0;
        *f = t;
        return journal_save(state_dir, &j);
}

int journal_new_attempt(const char *state_dir, const char *uuid)
{
        _cleanup_(journal_free) struct journal j = { 0 };
        int r = journal_load(state_dir, uuid, &j);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        if (!j.qemu_started && !j.postcopy && !j.arrived)
                return 1;
        j.qemu_started = j.postcopy = j.arrived = 0;
        r = journal_save(state_dir, &j);
        return r < 0 ? r : 1;
}

bool journal_is_empty(const struct journal *j)
{
        return !strv_length(j->dirs) && !strv_length(j->bridges) && !strv_length(j->stripped) && !strv_length(j->scsi) &&
               !strv_length(j->mpaths);
}

int journal_set_dir_id(struct journal *j, const char *path, const struct dir_ident *id)
{
        if (strchr(path, '\n'))
                return -EINVAL;
        for (size_t i = 0; i < j->n_dir_ids; i++)
                if (streq(j->dir_ids[i].path, path)) {
                        j->dir_ids[i].id = *id;
                        return 0;
                }
        struct journal_dir_id *n = realloc(j->dir_ids, (j->n_dir_ids + 1) * sizeof(*n));
        if (!n)
                return -ENOMEM;
        j->dir_ids = n;
        if (!(n[j->n_dir_ids].path = strdup(path)))
                return -ENOMEM;
        n[j->n_dir_ids++].id = *id;
        return 0;
}

int journal_set_bridge_ifindex(struct journal *j, const char *name, unsigned ifindex)
{
        if (strchr(name, '\n'))
                return -EINVAL;
        for (size_t i = 0; i < j->n_bridge_ids; i++)
                if (streq(j->bridge_ids[i].name, name)) {
                        j->bridge_ids[i].ifindex = ifindex;
                        return 0;
                }
        struct journal_bridge_id *n = realloc(j->bridge_ids, (j->n_bridge_ids + 1) * sizeof(*n));
        if (!n)
                return -ENOMEM;
        j->bridge_ids = n;
        if (!(n[j->n_bridge_ids].name = strdup(name)))
                return -ENOMEM;
        n[j->n_bridge_ids++].ifindex = ifindex;
        return 0;
}

const struct dir_ident *journal_dir_id(const struct journal *j, const char *path)
{
        for (size_t i = 0; i < j->n_dir_ids; i++)
                if (streq(j->dir_ids[i].path, path))
                        return &j->dir_ids[i].id;
        return NULL;
}

unsigned journal_bridge_ifindex(const struct journal *j, const char *name)
{
        for (size_t i = 0; i < j->n_bridge_ids; i++)
                if (streq(j->bridge_ids[i].name, name))
                        return j->bridge_ids[i].ifindex;
        return 0;
}

void journal_free(struct journal *j)
{
        for (size_t i = 0; i < j->n_dir_ids; i++)
                free(j->dir_ids[i].path);
        free(j->dir_ids);
        for (size_t i = 0; i < j->n_bridge_ids; i++)
                free(j->bridge_ids[i].name);
        free(j->bridge_ids);
        free(j->uuid);
        free(j->name);
        strv_free(j->dirs);
        strv_free(j->bridges);
        strv_free(j->stripped);
        strv_free(j->scsi);
        strv_free(j->mpaths);
        memset(j, 0, sizeof(*j));
}
