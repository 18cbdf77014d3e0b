/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "state.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "util.h"
#include "validate.h"

#define LOCK_POLL_US 10000

static const char *const areas[_STATE_AREA_MAX] = {
        [STATE_JOURNAL] = "journal",
        [STATE_PROOF] = "proof",
        [STATE_PENDING] = "pending",
        [STATE_LOCK] = "lock",
        [STATE_INCOMING] = "incoming",
        [STATE_LUNS] = "luns",
        [STATE_SWAP] = "swap",
};

const char *state_area_name(enum state_area a)
{
        return (unsigned)a < _STATE_AREA_MAX ? areas[a] : NULL;
}

char *state_area_path(const char *state_dir, enum state_area a)
{
        const char *n = state_area_name(a);
        return n ? path_join(state_dir, n) : NULL;
}

char *state_path(const char *state_dir, enum state_area a, const char *name)
{
        _cleanup_free_ char *dir = state_area_path(state_dir, a);
        return dir ? path_join(dir, name) : NULL;
}

int state_area_create(const char *state_dir, enum state_area a, char **ret_dir)
{
        _cleanup_free_ char *dir = state_area_path(state_dir, a);
        if (!dir)
                return -ENOMEM;
        int r = mkdir_p(dir, 0700);
        if (r < 0)
                return r;
        if (ret_dir)
                *ret_dir = TAKE_PTR(dir);
        return 0;
}

int state_exists(const char *state_dir, enum state_area a, const char *name)
{
        _cleanup_free_ char *p = state_path(state_dir, a, name);
        struct stat st;
        if (!p)
                return -ENOMEM;
        if (lstat(p, &st) < 0)
                return errno == ENOENT ? 0 : -errno;
        return 1;
}

int state_remove(const char *state_dir, enum state_area a, const char *name, bool durable)
{
        _cleanup_free_ char *dir = state_area_path(state_dir, a), *p = NULL;
        if (!dir || !(p = path_join(dir, name)))
                return -ENOMEM;
        if (unlink(p) < 0)
                return errno == ENOENT ? 0 : -errno;
        if (durable) {
                _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (dfd >= 0)
                        (void)fsync(dfd);
        }
        return 1;
}

int state_list(const char *state_dir, enum state_area a, char ***ret)
{
        _cleanup_free_ char *dir = state_area_path(state_dir, a);
        *ret = NULL;
        return dir ? dir_list(dir, ret) : -ENOMEM;
}

char *state_pending_name(const char *uuid, const char *action)
{
        char *s;
        if (asprintf(&s, "%s.%s", uuid, action) < 0)
                return NULL;
        return s;
}

int state_pending_split(const char *name, char *uuid, const char **ret_action)
{
        if (strlen(name) < 37 || name[36] != '.')
                return -EINVAL;
        memcpy(uuid, name, 36);
        uuid[36] = 0;
        if (!uuid_is_valid(uuid))
                return -EINVAL;
        *ret_action = name + 37;
        return 0;
}

char *state_outgoing_path(const char *state_dir, unsigned i)
{
        char name[32];
        snprintf(name, sizeof(name), "outgoing.%u", i);
        return path_join(state_dir, name);
}

int state_lock(const char *state_dir, const char *name, unsigned timeout_ms)
{
        _cleanup_free_ char *dir = NULL;
        int r;

        if (!uuid_is_valid(name) && !streq(name, STATE_LOCK_PURGE) && !streq(name, STATE_LOCK_METRICS))
                return -EINVAL;
        r = state_area_create(state_dir, STATE_LOCK, &dir);
        if (r < 0)
                return r;
        _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return -errno;
        /* Lock files are never removed: unlinking a lock file races with
         * whoever opened it just before. They are empty. */
        _cleanup_close_ int fd = openat(dfd, name, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
        if (fd < 0)
                return -errno;
        uint64_t start = now_ms();
        for (;;) {
                if (flock(fd, LOCK_EX | LOCK_NB) == 0)
                        return TAKE_FD(fd);
                if (errno != EWOULDBLOCK && errno != EINTR)
                        return -errno;
                if (now_ms() - start >= timeout_ms)
                        return -EAGAIN;
                usleep(LOCK_POLL_US);
        }
}

int state_lock_all(const char *state_dir)
{
        int r = mkdir_p(state_dir, 0700);
        if (r < 0)
                return r;
        int fd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        while (flock(fd, LOCK_EX) < 0)
                if (errno != EINTR) {
                        r = -errno;
                        close(fd);
                        return r;
                }
        return fd;
}
