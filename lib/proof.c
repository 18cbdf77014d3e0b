/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "proof.h"

#include <fcntl.h>
#include <stdarg.h>
#include <strings.h>
#include <sys/stat.h>

#include "state.h"
#include "util.h"
#include "validate.h"

#define PROOF_MAX 4096

static const char *const kinds[_PROOF_KIND_MAX] = {
        [PROOF_MIGRATED] = "migrated",
        [PROOF_INCOMING_FAILED] = "incoming-failed",
};

static const char *const recorders[] = { "hook", "watch", "driver", "operator" };

const char *proof_kind_to_string(int kind)
{
        return kind >= 0 && kind < _PROOF_KIND_MAX ? kinds[kind] : NULL;
}

int proof_kind_from_string(const char *s)
{
        for (int i = 0; i < _PROOF_KIND_MAX; i++)
                if (streq(kinds[i], s))
                        return i;
        return -EINVAL;
}

bool proof_by_is_valid(const char *by)
{
        for (size_t i = 0; i < ARRAY_SIZE(recorders); i++)
                if (streq(recorders[i], by))
                        return true;
        return false;
}

static bool value_ok(const char *s)
{
        for (const char *p = s; *p; p++)
                if ((unsigned char)*p < 0x20 || *p == 0x7f)
                        return false;
        return true;
}

int proof_record(const char *state_dir, const struct proof *p)
{
        _cleanup_free_ char *dir = NULL, *text = NULL;
        const char *kind = proof_kind_to_string(p->kind);
        int r, n;

        if (!p->uuid || !uuid_is_valid(p->uuid) || !kind || !p->by || !proof_by_is_valid(p->by))
                return -EINVAL;
        if ((p->name && (!*p->name || !value_ok(p->name))) || (p->detail && !value_ok(p->detail)))
                return -EINVAL;
        n = asprintf(&text, "migkit-proof 1\nuuid %s\nkind %s\nby %s\ntime %lld\n%s%s%s%s%s%s",
                     p->uuid, kind, p->by, (long long)(p->time ? p->time : time(NULL)),
                     p->name ? "name " : "", p->name ? p->name : "", p->name ? "\n" : "",
                     p->detail ? "detail " : "", p->detail ? p->detail : "", p->detail ? "\n" : "");
        if (n < 0) {
                text = NULL;
                return -ENOMEM;
        }
        r = state_area_create(state_dir, STATE_PROOF, &dir);
        if (r < 0)
                return r;
        /* Durable: a proof is what allows a removal after a crash too. */
        return write_file_atomic(dir, p->uuid, text, (size_t)n, 0600, WRITE_DURABLE);
}

struct proof_parse {
        struct proof *p;
        bool have_time;
};

static int proof_line(const char *key, const char *val, void *userdata)
{
        struct proof_parse *pp = userdata;
        struct proof *p = pp->p;
        if (streq(key, "uuid") && !p->uuid)
                return (p->uuid = strdup(val)) ? 0 : -ENOMEM;
        if (streq(key, "kind") && p->kind < 0)
                return (p->kind = proof_kind_from_string(val)) < 0 ? -EBADMSG : 0;
        if (streq(key, "by") && !p->by)
                return !proof_by_is_valid(val) ? -EBADMSG : (p->by = strdup(val)) ? 0 : -ENOMEM;
        if (streq(key, "time") && !pp->have_time) {
                char *end;
                errno = 0;
                long long t = strtoll(val, &end, 10);
                if (errno || *end || end == val || t <= 0)
                        return -EBADMSG;
                p->time = (time_t)t;
                pp->have_time = true;
                return 0;
        }
        if (streq(key, "name") && !p->name)
                return (p->name = strdup(val)) ? 0 : -ENOMEM;
        if (streq(key, "detail") && !p->detail)
                return (p->detail = strdup(val)) ? 0 : -ENOMEM;
        return -EBADMSG;
}

int proof_load(const char *state_dir, const char *uuid, struct proof *p)
{
        _cleanup_free_ char *path = NULL, *text = NULL;
        _cleanup_close_ int fd = -1;
        struct stat st;
        ssize_t n;
        int r = 0;

        memset(p, 0, sizeof(*p));
        p->kind = -1;
        if (!uuid_is_valid(uuid))
                return -EINVAL;
        if (!(path = state_path(state_dir, STATE_PROOF, uuid)))
                return -ENOMEM;
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
        if (fd < 0)
                return errno == ELOOP ? -EBADMSG : -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EBADMSG;
        n = read_full_fd(fd, PROOF_MAX, &text);
        if (n < 0)
                return n == -EFBIG ? -EBADMSG : (int)n;
        if (memchr(text, 0, (size_t)n))
                return -EBADMSG;

        struct proof_parse pp = { .p = p };
        r = kv_parse(text, "migkit-proof", "1", proof_line, &pp);
        if (r == 0 && (!p->uuid || strcasecmp(p->uuid, uuid) != 0 || p->kind < 0 || !p->by || !pp.have_time))
                r = -EBADMSG;
        if (r < 0) {
                proof_free(p);
                return r;
        }
        p->dev = st.st_dev;
        p->ino = st.st_ino;
        return 0;
}

int proof_unchanged(const char *state_dir, const struct proof *p)
{
        _cleanup_free_ char *path = NULL;
        struct stat st;

        if (!p->uuid || !(path = state_path(state_dir, STATE_PROOF, p->uuid)))
                return -ENOMEM;
        if (lstat(path, &st) < 0)
                return errno == ENOENT ? 0 : -errno;
        return st.st_dev == p->dev && st.st_ino == p->ino;
}

int proof_clear(const char *state_dir, const char *uuid)
{
        if (!uuid_is_valid(uuid))
                return -EINVAL;
        /* Durably gone: a proof that came back after a crash could outlive
         * the start of a new incoming migration. */
        return state_remove(state_dir, STATE_PROOF, uuid, true);
}

void proof_free(struct proof *p)
{
        free(p->uuid);
        free(p->name);
        free(p->by);
        free(p->detail);
        memset(p, 0, sizeof(*p));
        p->kind = -1;
}

int proof_incoming_begin(const char *state_dir, const char *uuid, unsigned timeout_ms)
{
        _cleanup_close_ int lock = state_lock(state_dir, uuid, timeout_ms);
        if (lock < 0)
                return lock;
        int r = proof_clear(state_dir, uuid);
        return r < 0 ? r : 0;
}
