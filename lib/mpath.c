/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "mpath.h"

#include <dlfcn.h>

#include "deadline.h"
#include "fcname.h"
#include "util.h"

struct mpath {
        void *dl;
        int (*connect_nb)(int nonblocking);  /* __mpath_connect, may be NULL */
        int (*connect)(void);
        int (*disconnect)(int fd);
        int (*process_cmd)(int fd, const char *cmd, char **reply, unsigned int timeout);
};

int mpath_open(const char *library, struct mpath **ret, char **err)
{
        struct mpath *m;
        void *dl;

        if (err)
                *err = NULL;
        dl = dlopen(library, RTLD_NOW | RTLD_LOCAL);
        if (!dl) {
                const char *e = dlerror();
                if (err && e)
                        *err = strdup(e);
                return -ENOENT;
        }
        m = calloc(1, sizeof(*m));
        if (!m) {
                dlclose(dl);
                return -ENOMEM;
        }
        m->dl = dl;
        *(void **)&m->connect_nb = dlsym(dl, "__mpath_connect");
        *(void **)&m->connect = dlsym(dl, "mpath_connect");
        *(void **)&m->disconnect = dlsym(dl, "mpath_disconnect");
        *(void **)&m->process_cmd = dlsym(dl, "mpath_process_cmd");
        if (!m->connect || !m->disconnect || !m->process_cmd) {
                if (err)
                        *err = strdup("mpath_connect, mpath_disconnect or mpath_process_cmd is missing");
                mpath_close(m);
                return -ENOSYS;
        }
        *ret = m;
        return 0;
}

int mpath_command(struct mpath *m, const char *cmd, unsigned timeout_ms, char **reply)
{
        unsigned dl = deadline_remaining_ms();
        int fd, r = 0;

        *reply = NULL;
        if (dl < timeout_ms)
                timeout_ms = dl;
        if (timeout_ms == 0)
                return -ETIMEDOUT;
        /* Non-blocking connect: a daemon that stopped accepting (full backlog)
         * must not hang the hook. */
        errno = 0;
        fd = m->connect_nb ? m->connect_nb(1) : m->connect();
        if (fd < 0)
                return errno ? -errno : -ECONNREFUSED;
        errno = 0;
        if (m->process_cmd(fd, cmd, reply, timeout_ms) != 0 || !*reply) {
                r = errno ? -errno : -EIO;
                free(*reply);
                *reply = NULL;
        }
        m->disconnect(fd);
        return r;
}

enum mpath_reply_kind mpath_reply_classify(const char *reply)
{
        static const struct { const char *text; enum mpath_reply_kind kind; } k[] = {
                { "ok", MPATH_REPLY_OK }, { "fail", MPATH_REPLY_FAIL }, { "blacklisted", MPATH_REPLY_BLACKLISTED },
                { "timeout", MPATH_REPLY_TIMEOUT },
        };
        size_t len = strcspn(reply, "\n");
        for (size_t i = 0; i < ARRAY_SIZE(k); i++)
                if (len == strlen(k[i].text) && strncmp(reply, k[i].text, len) == 0)
                        return k[i].kind;
        if (strncmp(reply, "fail\n", 5) == 0) /* "fail\n" + details */
                return MPATH_REPLY_FAIL;
        if (strncmp(reply, "permission deny", 15) == 0)
                return MPATH_REPLY_DENIED;
        return MPATH_REPLY_OTHER;
}

int mpath_add_map(struct mpath *m, const char *name, unsigned timeout_ms, enum mpath_reply_kind *kind, char **reply)
{
        _cleanup_free_ char *cmd = NULL, *rep = NULL;
        int r;

        if (!fc_name_is_valid(name))
                return -EINVAL;
        if (asprintf(&cmd, "add map %s", name) < 0)
                return -ENOMEM;
        r = mpath_command(m, cmd, timeout_ms, &rep);
        if (r < 0)
                return r;
        *kind = mpath_reply_classify(rep);
        if (reply)
                *reply = TAKE_PTR(rep);
        return 0;
}

void mpath_close(struct mpath *m)
{
        if (m->dl)
                dlclose(m->dl);
        free(m);
}
