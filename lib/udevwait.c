/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "udevwait.h"

#include <dirent.h>
#include <fnmatch.h>
#include <libudev.h>
#include <poll.h>
#include <stdint.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>

#include "deadline.h"
#include "util.h"

struct item {
        char *dir;        /* glob: the directory; exact: the parent */
        char *name;       /* glob: the pattern; exact: the basename */
        char *desc;       /* the full path */
        bool glob;
        bool gone;        /* done once the path does not exist */
        bool present;
        bool reported;
};

/* libudev is loaded when a wait needs it, not at every exec of the hook:
 * linked in, its loading and relocations cost each hook call (reconnect,
 * stopped, release...) a tenth of an empty libxml2 program's start. Without
 * it the wait falls back to inotify, as when the monitor cannot be made. */
static struct {
        void *handle;
        struct udev *(*new_)(void);
        struct udev *(*unref)(struct udev *);
        struct udev_monitor *(*monitor_new)(struct udev *, const char *);
        int (*filter)(struct udev_monitor *, const char *, const char *);
        int (*enable)(struct udev_monitor *);
        int (*get_fd)(struct udev_monitor *);
        struct udev_device *(*receive)(struct udev_monitor *);
        struct udev_monitor *(*monitor_unref)(struct udev_monitor *);
        struct udev_device *(*device_unref)(struct udev_device *);
} ud;

static int udev_load(void)
{
        if (ud.handle)
                return 0;
#define SYM(field, name) { name, (void **)&ud.field }
        static const struct dl_sym syms[] = {
                SYM(new_, "udev_new"),
                SYM(unref, "udev_unref"),
                SYM(monitor_new, "udev_monitor_new_from_netlink"),
                SYM(filter, "udev_monitor_filter_add_match_subsystem_devtype"),
                SYM(enable, "udev_monitor_enable_receiving"),
                SYM(get_fd, "udev_monitor_get_fd"),
                SYM(receive, "udev_monitor_receive_device"),
                SYM(monitor_unref, "udev_monitor_unref"),
                SYM(device_unref, "udev_device_unref"),
                {},
        };
#undef SYM
        return dl_open_syms("libudev.so.1", syms, &ud.handle);
}

struct udevwait {
        struct udev *udev;
        struct udev_monitor *mon;
        int mon_fd;
        int ino_fd;
        struct item *items;
        size_t n;
        unsigned wakeups;
};

int udevwait_new(struct udevwait **ret)
{
        struct udevwait *w = calloc(1, sizeof(*w));
        if (!w)
                return -ENOMEM;
        w->mon_fd = -1;
        w->ino_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (w->ino_fd < 0) {
                int r = -errno;
                free(w);
                return r;
        }
        if (udev_load() == 0)
                w->udev = ud.new_();
        if (w->udev)
                w->mon = ud.monitor_new(w->udev, "udev");
        if (w->mon && ud.filter(w->mon, "block", NULL) >= 0 && ud.enable(w->mon) >= 0)
                w->mon_fd = ud.get_fd(w->mon);
        else if (w->mon) {
                ud.monitor_unref(w->mon);
                w->mon = NULL;
        }
        *ret = w;
        return 0;
}

static int add_item(struct udevwait *w, const char *dir, const char *name, bool glob, bool gone)
{
        if (dir[0] != '/' || !*name || strchr(name, '/'))
                return -EINVAL;
        struct item *ni = realloc(w->items, (w->n + 1) * sizeof(*ni));
        if (!ni)
                return -ENOMEM;
        w->items = ni;
        struct item *it = &ni[w->n];
        memset(it, 0, sizeof(*it));
        it->glob = glob;
        it->gone = gone;
        it->dir = strdup(dir);
        it->name = strdup(name);
        it->desc = path_join(dir, name);
        if (!it->dir || !it->name || !it->desc) {
                free(it->dir);
                free(it->name);
                free(it->desc);
                return -ENOMEM;
        }
        return (int)w->n++;
}

static int add_path(struct udevwait *w, const char *path, bool gone)
{
        const char *slash = strrchr(path, '/');
        if (!slash || path[0] != '/')
                return -EINVAL;
        _cleanup_free_ char *dir = slash == path ? strdup("/") : strndup(path, (size_t)(slash - path));
        if (!dir)
                return -ENOMEM;
        return add_item(w, dir, slash + 1, false, gone);
}

int udevwait_add(struct udevwait *w, const char *path)
{
        return add_path(w, path, false);
}

int udevwait_add_gone(struct udevwait *w, const char *path)
{
        return add_path(w, path, true);
}

int udevwait_add_glob(struct udevwait *w, const char *dir, const char *pattern)
{
        return add_item(w, dir, pattern, true, false);
}

static bool check(const struct item *it)
{
        struct stat st;
        if (it->gone)
                return lstat(it->desc, &st) < 0 && errno == ENOENT;
        if (!it->glob)
                return stat(it->desc, &st) == 0;
        DIR *d = opendir(it->dir);
        struct dirent *de;
        bool found = false;
        if (!d)
                return false;
        while (!found && (de = readdir(d))) {
                if (de->d_name[0] == '.' || fnmatch(it->name, de->d_name, FNM_PERIOD) != 0)
                        continue;
                _cleanup_free_ char *p = path_join(it->dir, de->d_name);
                found = p && stat(p, &st) == 0;
        }
        closedir(d);
        return found;
}

/* Watches the item's directory (for a gone item: for deletions in it too),
 * or its nearest existing ancestor while the directory itself is missing
 * (udev creates /dev/disk/by-path on the first link). Watching the same
 * directory again is harmless. */
static void arm(struct udevwait *w, const struct item *it)
{
        _cleanup_free_ char *d = strdup(it->dir);
        /* IN_MASK_ADD: a directory watched for appearing and going items gets both */
        uint32_t mask = IN_CREATE | IN_MOVED_TO | IN_ATTRIB | IN_ONLYDIR | IN_MASK_ADD | (it->gone ? IN_DELETE | IN_MOVED_FROM : 0);
        if (!d)
                return;
        for (;;) {
                if (inotify_add_watch(w->ino_fd, d, mask) >= 0 ||
                    (errno != ENOENT && errno != ENOTDIR))
                        return;
                char *slash = strrchr(d, '/');
                if (!slash || slash == d)
                        return;
                *slash = '\0';
        }
}

/* Re-arms the watches, then looks: a link made in between is still seen. */
static void refresh(struct udevwait *w)
{
        for (size_t i = 0; i < w->n; i++) {
                struct item *it = &w->items[i];
                if (it->present)
                        continue;
                arm(w, it);
                it->present = check(it);
        }
}

static void drain(struct udevwait *w, const struct pollfd *p)
{
        if (p[0].fd >= 0 && p[0].revents) {
                struct udev_device *dev;
                while ((dev = ud.receive(w->mon)))
                        ud.device_unref(dev);
        }
        if (p[1].revents) {
                char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
                while (read(w->ino_fd, buf, sizeof(buf)) > 0)
                        ;
        }
}


int udevwait_next(struct udevwait *w, unsigned timeout_ms)
{
        unsigned dl = deadline_remaining_ms();
        uint64_t until = now_ms() + (timeout_ms < dl ? timeout_ms : dl);

        refresh(w);
        for (;;) {
                int newly = 0;
                for (size_t i = 0; i < w->n; i++)
                        if (w->items[i].present && !w->items[i].reported) {
                                w->items[i].reported = true;
                                newly++;
                        }
                if (newly)
                        return newly;
                uint64_t now = now_ms();
                if (now >= until)
                        return 0;
                struct pollfd p[2] = { { .fd = w->mon_fd, .events = POLLIN }, { .fd = w->ino_fd, .events = POLLIN } };
                int r = poll(p, 2, (int)(until - now));
                if (r < 0 && errno != EINTR)
                        return -errno;
                if (r <= 0)
                        continue;
                w->wakeups++;
                drain(w, p);
                refresh(w);
        }
}

int udevwait_all(struct udevwait *w, unsigned timeout_ms)
{
        uint64_t until = now_ms() + timeout_ms;
        for (;;) {
                bool all = true;
                refresh(w);
                for (size_t i = 0; i < w->n; i++)
                        all &= w->items[i].present;
                if (all)
                        return 0;
                uint64_t now = now_ms();
                if (now >= until)
                        return -ETIMEDOUT;
                int r = udevwait_next(w, (unsigned)(until - now));
                if (r < 0)
                        return r;
                if (r == 0)
                        return -ETIMEDOUT;
        }
}

size_t udevwait_count(const struct udevwait *w)
{
        return w->n;
}

bool udevwait_present(const struct udevwait *w, size_t idx)
{
        return idx < w->n && w->items[idx].present;
}

const char *udevwait_describe(const struct udevwait *w, size_t idx)
{
        return idx < w->n ? w->items[idx].desc : "";
}

bool udevwait_has_monitor(const struct udevwait *w)
{
        return w->mon != NULL;
}

unsigned udevwait_wakeups(const struct udevwait *w)
{
        return w->wakeups;
}

void udevwait_free(struct udevwait *w)
{
        for (size_t i = 0; i < w->n; i++) {
                free(w->items[i].dir);
                free(w->items[i].name);
                free(w->items[i].desc);
        }
        free(w->items);
        if (w->mon)
                ud.monitor_unref(w->mon);
        if (w->udev)
                ud.unref(w->udev);
        if (w->ino_fd >= 0)
                close(w->ino_fd);
        free(w);
}
