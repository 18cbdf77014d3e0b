/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pending.h"

#include "state.h"
#include "util.h"
#include "validate.h"

#define PENDING_MAX (64 << 10)

static bool action_ok(const char *action)
{
        return streq(action, "source") || streq(action, "rollback") || streq(action, "disconnect");
}

static void flatten(char *s)
{
        for (char *p = s; *p; p++)
                if ((unsigned char)*p < 0x20 || *p == 0x7f)
                        *p = ' ';
}

int pending_record(const char *state_dir, const char *uuid, const char *action, const char *name, char *const *reasons)
{
        _cleanup_free_ char *dir = NULL, *path = NULL, *old = NULL, *text = NULL;
        _cleanup_free_ char *fname = NULL, *nm = name ? strdup(name) : NULL;
        long long since = 0;
        time_t now = time(NULL);
        size_t len = 0;
        FILE *f;
        int r;

        if (!uuid_is_valid(uuid) || !action_ok(action))
                return -EINVAL;
        if (!(fname = state_pending_name(uuid, action)) || !(path = state_path(state_dir, STATE_PENDING, fname)) ||
            (name && !nm))
                return -ENOMEM;
        if (read_full_file(path, PENDING_MAX, &old) >= 0) {
                char *s = strstr(old, "\nsince ");
                if (s)
                        since = strtoll(s + 7, NULL, 10);
        }
        if (since <= 0)
                since = now;
        f = open_memstream(&text, &len);
        if (!f)
                return -ENOMEM;
        fprintf(f, "migkit-pending 1\nuuid %s\naction %s\n", uuid, action);
        if (nm) {
                flatten(nm);
                fprintf(f, "name %s\n", nm);
        }
        fprintf(f, "since %lld\ntime %lld\n", since, (long long)now);
        for (size_t i = 0; reasons && reasons[i]; i++) {
                _cleanup_free_ char *rs = strdup(reasons[i]);
                if (!rs) {
                        fclose(f);
                        return -ENOMEM;
                }
                flatten(rs);
                fprintf(f, "reason %s\n", rs);
        }
        if (fclose(f) != 0)
                return -ENOMEM;
        r = state_area_create(state_dir, STATE_PENDING, &dir);
        if (r < 0)
                return r;
        return write_file_atomic(dir, fname, text, len, 0600, 0);
}

int pending_clear(const char *state_dir, const char *uuid, const char *action)
{
        _cleanup_free_ char *name = NULL;
        if (!uuid_is_valid(uuid) || !action_ok(action))
                return -EINVAL;
        if (!(name = state_pending_name(uuid, action)))
                return -ENOMEM;
        return state_remove(state_dir, STATE_PENDING, name, false);
}

bool pending_exists(const char *state_dir, const char *uuid, const char *action)
{
        _cleanup_free_ char *name = state_pending_name(uuid, action);
        return name && state_exists(state_dir, STATE_PENDING, name) > 0;
}

int pending_load(const char *state_dir, const char *fname, struct pending *p)
{
        _cleanup_free_ char *path = state_path(state_dir, STATE_PENDING, fname), *text = NULL;

        memset(p, 0, sizeof(*p));
        if (!path || !(p->reasons = calloc(1, sizeof(char *))))
                return -ENOMEM;
        ssize_t n = read_full_file(path, PENDING_MAX, &text);
        if (n < 0) {
                pending_free(p);
                return (int)n;
        }
        char *save = NULL;
        int r = 0;
        for (char *line = strtok_r(text, "\n", &save); line && r == 0; line = strtok_r(NULL, "\n", &save)) {
                char *val = strchr(line, ' ');
                if (!val)
                        continue;
                *val++ = 0;
                if (streq(line, "uuid") && !p->uuid)
                        r = (p->uuid = strdup(val)) ? 0 : -ENOMEM;
                else if (streq(line, "action") && !p->action)
                        r = (p->action = strdup(val)) ? 0 : -ENOMEM;
                else if (streq(line, "name") && !p->name)
                        r = (p->name = strdup(val)) ? 0 : -ENOMEM;
                else if (streq(line, "since"))
                        p->since = strtoll(val, NULL, 10);
                else if (streq(line, "reason"))
                        r = strv_push(&p->reasons, val);
        }
        if (r == 0 && (!p->uuid || !p->action))
                r = -EBADMSG;
        if (r < 0)
                pending_free(p);
        return r;
}

void pending_free(struct pending *p)
{
        free(p->uuid);
        free(p->action);
        free(p->name);
        strv_free(p->reasons);
        memset(p, 0, sizeof(*p));
}
