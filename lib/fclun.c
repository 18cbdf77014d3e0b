/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "fclun.h"

#include <fcntl.h>
#include <limits.h>
#include <linux/dm-ioctl.h>
#include <stdarg.h>
#include <sys/ioctl.h>
#include <stdio.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "mountinfo.h"
#include "util.h"

static int add_blocker(struct fc_lun *l, const char *fmt, ...) _printf_(2, 3);
static int add_blocker(struct fc_lun *l, const char *fmt, ...)
{
        _cleanup_free_ char *s = NULL;
        va_list ap;
        va_start(ap, fmt);
        int r = vasprintf(&s, fmt, ap);
        va_end(ap);
        return r < 0 ? -ENOMEM : strv_push(&l->blockers, s);
}

/* Notes the device number of a block device directory; into devno too. */
static int add_dev(struct fc_lun *l, const char *dir, char *devno, size_t size)
{
        char dev[32];
        if (read_one_line(dir, "dev", dev, sizeof(dev)) < 0)
                return 0;
        if (devno)
                snprintf(devno, size, "%s", dev);
        return strv_push_unique(&l->devs, dev);
}

/* Entries of a directory (holders/, slaves/), sorted; a missing one (or a
 * file) is empty. */
static int list_dir(const char *dir, char ***ret)
{
        int r = dir_list(dir, ret);
        return r == -ENOTDIR ? 0 : r;
}

static int read_dm(const char *sysfs, const char *dm, char *uuid, size_t usize, char *name, size_t nsize)
{
        _cleanup_free_ char *d = NULL;
        uuid[0] = name[0] = '\0';
        if (asprintf(&d, "%s/block/%s/dm", sysfs, dm) < 0)
                return -ENOMEM;
        (void)read_one_line(d, "uuid", uuid, usize);
        (void)read_one_line(d, "name", name, nsize);
        return 0;
}

/* The dm uuid of a multipath map of wwid ("mpath-<wwid>"), or of one of
 * its kpartx partition maps ("part<N>-mpath-<wwid>"). */
static bool is_map_of(const char *uuid, const char *wwid)
{
        return strncmp(uuid, "mpath-", 6) == 0 && strcasecmp(uuid + 6, wwid) == 0;
}

static bool is_part_of(const char *uuid, const char *wwid)
{
        if (strncmp(uuid, "part", 4) != 0)
                return false;
        size_t n = strspn(uuid + 4, "0123456789");
        return n > 0 && uuid[4 + n] == '-' && is_map_of(uuid + 5 + n, wwid);
}

enum holder_rule {
        HOLD_PATH,   /* a path or its partition: only the LUN's own map may hold it */
        HOLD_MAP,    /* the map: only its kpartx partition maps may */
        HOLD_NONE,   /* a partition map or a path's partition: nothing may */
};

/* Notes the holders of a block device (or partition) directory. */
static int check_holders(const char *sysfs, struct fc_lun *l, const char *what, const char *dir, enum holder_rule rule)
{
        _cleanup_free_ char *hd = path_join(dir, "holders");
        _cleanup_strv_ char **h = NULL;
        int r = hd ? list_dir(hd, &h) : -ENOMEM;
        for (size_t i = 0; r == 0 && h && h[i]; i++) {
                char uuid[FC_WWID_MAX + 16], name[FC_WWID_MAX + 1];
                if ((r = read_dm(sysfs, h[i], uuid, sizeof(uuid), name, sizeof(name))) < 0)
                        break;
                if (rule == HOLD_PATH && is_map_of(uuid, l->wwid)) {
                        if (!l->map[0]) {
                                snprintf(l->map, sizeof(l->map), "%s", h[i]);
                                snprintf(l->map_name, sizeof(l->map_name), "%s", name);
                        }
                        continue;
                }
                if (rule == HOLD_MAP && is_part_of(uuid, l->wwid)) {
                        if ((r = strv_push_unique(&l->parts, h[i])) < 0 || (r = strv_push(&l->part_names, name)) < 0)
                                break;
                        continue;
                }
                r = add_blocker(l, "%s is held by %s%s%s%s", what, h[i], name[0] ? " (" : "", name, name[0] ? ")" : "");
        }
        return r;
}

/* The multipath map of l's WWID among <sysfs>/block/dm-*, for a map whose
 * paths are gone. */
static int find_map(const char *sysfs, struct fc_lun *l)
{
        _cleanup_free_ char *dir = path_join(sysfs, "block");
        _cleanup_strv_ char **e = NULL;
        int r = dir ? list_dir(dir, &e) : -ENOMEM;
        for (size_t i = 0; r == 0 && e && e[i] && !l->map[0]; i++) {
                char uuid[FC_WWID_MAX + 16], name[FC_WWID_MAX + 1];
                if (strncmp(e[i], "dm-", 3) != 0 || (r = read_dm(sysfs, e[i], uuid, sizeof(uuid), name, sizeof(name))) < 0)
                        continue;
                if (is_map_of(uuid, l->wwid)) {
                        snprintf(l->map, sizeof(l->map), "%s", e[i]);
                        snprintf(l->map_name, sizeof(l->map_name), "%s", name);
                }
        }
        return r;
}

/* "5:0:1:5" before "5:0:2:5" before "6:0:0:5" (numerically). */
static int cmp_hctl(const void *a, const void *b)
{
        unsigned long long x[4] = { 0 }, y[4] = { 0 };
        sscanf(*(char *const *)a, "%llu:%llu:%llu:%llu", &x[0], &x[1], &x[2], &x[3]);
        sscanf(*(char *const *)b, "%llu:%llu:%llu:%llu", &y[0], &y[1], &y[2], &y[3]);
        for (int i = 0; i < 4; i++)
                if (x[i] != y[i])
                        return x[i] < y[i] ? -1 : 1;
        return 0;
}

int fc_lun_find(const char *sysfs, const char *wwid, struct fc_lun *l)
{
        _cleanup_strv_ char **hctls = NULL;
        int r;

        memset(l, 0, sizeof(*l));
        if (!fc_name_is_valid(wwid))
                return -EINVAL;
        snprintf(l->wwid, sizeof(l->wwid), "%s", wwid);
        r = fc_find_wwid(sysfs, wwid, &hctls);
        if (r < 0)
                return r;
        if (r > 0 && !(l->paths = calloc((size_t)r, sizeof(*l->paths))))
                return -ENOMEM;
        if (r > 1)
                qsort(hctls, (size_t)r, sizeof(*hctls), cmp_hctl);
        for (size_t i = 0; hctls && hctls[i]; i++) {
                struct fc_lun_path *p = &l->paths[l->n_paths++];
                _cleanup_free_ char *bd = NULL;
                _cleanup_strv_ char **disks = NULL;
                snprintf(p->hctl, sizeof(p->hctl), "%s", hctls[i]);
                sscanf(p->hctl, "%u:", &p->host);
                if (asprintf(&bd, "%s/class/scsi_device/%s/device/block", sysfs, p->hctl) < 0)
                        return -ENOMEM;
                if ((r = list_dir(bd, &disks)) < 0)
                        return r;
                if (!disks)
                        continue;
                snprintf(p->disk, sizeof(p->disk), "%s", disks[0]);
                _cleanup_free_ char *dd = path_join(bd, p->disk);
                _cleanup_strv_ char **entries = NULL;
                if (!dd || (r = add_dev(l, dd, p->devno, sizeof(p->devno))) < 0 ||
                    (r = check_holders(sysfs, l, p->disk, dd, HOLD_PATH)) < 0 || (r = list_dir(dd, &entries)) < 0)
                        return r < 0 ? r : -ENOMEM;
                for (size_t j = 0; entries && entries[j]; j++) {
                        _cleanup_free_ char *pd = path_join(dd, entries[j]);
                        if (!pd)
                                return -ENOMEM;
                        if (!file_present(pd, "partition"))
                                continue;
                        if ((r = add_dev(l, pd, NULL, 0)) < 0 || (r = check_holders(sysfs, l, entries[j], pd, HOLD_NONE)) < 0)
                                return r;
                }
        }
        if (!l->map[0] && (r = find_map(sysfs, l)) < 0)
                return r;
        if (l->map[0]) {
                _cleanup_free_ char *md = NULL;
                char what[64 + FC_WWID_MAX];
                if (asprintf(&md, "%s/block/%s", sysfs, l->map) < 0)
                        return -ENOMEM;
                snprintf(what, sizeof(what), "multipath map %s (%s)", l->map_name, l->map);
                if ((r = add_dev(l, md, NULL, 0)) < 0 || (r = check_holders(sysfs, l, what, md, HOLD_MAP)) < 0)
                        return r;
        }
        for (size_t i = 0; l->parts && l->parts[i]; i++) {
                _cleanup_free_ char *pd = NULL;
                char what[64 + FC_WWID_MAX];
                if (asprintf(&pd, "%s/block/%s", sysfs, l->parts[i]) < 0)
                        return -ENOMEM;
                snprintf(what, sizeof(what), "partition map %s (%s)", l->part_names[i], l->parts[i]);
                if ((r = add_dev(l, pd, NULL, 0)) < 0 || (r = check_holders(sysfs, l, what, pd, HOLD_NONE)) < 0)
                        return r;
        }
        return 0;
}

void fc_lun_keep_paths(struct fc_lun *l, char *const *hctls)
{
        size_t j = 0;
        for (size_t i = 0; i < l->n_paths; i++)
                if (strv_contains(hctls, l->paths[i].hctl))
                        l->paths[j++] = l->paths[i];
        l->n_paths = j;
}

int fc_wwids_of_target_lun(const char *sysfs, uint64_t wwpn, uint64_t lun, char ***wwids)
{
        _cleanup_free_ char *dir = path_join(sysfs, "class/scsi_device");
        _cleanup_closedir_ DIR *d = NULL;
        _cleanup_strv_ char **found = NULL;
        struct dirent *de;

        if (!dir)
                return -ENOMEM;
        if (!(d = opendir(dir)))
                return errno == ENOENT ? 0 : -errno;
        while ((errno = 0, de = readdir(d))) {
                unsigned h, c, t;
                unsigned long long l;
                int len = 0;
                char buf[256];
                uint64_t pw;
                if (sscanf(de->d_name, "%u:%u:%u:%llu%n", &h, &c, &t, &l, &len) != 4 || de->d_name[len] || l != lun)
                        continue;
                _cleanup_free_ char *ft = NULL, *dev = NULL;
                if (asprintf(&ft, "%s/class/fc_transport/target%u:%u:%u", sysfs, h, c, t) < 0 ||
                    asprintf(&dev, "%s/%s/device", dir, de->d_name) < 0)
                        return -ENOMEM;
                if (read_one_line(ft, "port_name", buf, sizeof(buf)) < 0 || fc_parse_wwpn(buf, &pw) < 0 || pw != wwpn)
                        continue;
                if (read_one_line(dev, "wwid", buf, sizeof(buf)) < 0)
                        continue;
                char w[FC_WWID_MAX + 1];
                if (fc_wwid_from_sysfs(buf, w, sizeof(w)) == 0 && !strv_contains(found, w) && strv_push(&found, w) < 0)
                        return -ENOMEM;
        }
        if (errno)
                return -errno;
        int n = (int)strv_length(found);
        *wwids = TAKE_PTR(found);
        return n;
}

static int blocker_of_mount(const struct mount_entry *e, void *userdata)
{
        struct fc_lun *l = userdata;
        char devno[32];
        snprintf(devno, sizeof(devno), "%u:%u", e->major, e->minor);
        if (!strv_contains(l->devs, devno))
                return 0;
        return add_blocker(l, "device %s is mounted on %s", devno, e->target) < 0 ? -ENOMEM : 0;
}

int fc_lun_check_mounts(struct fc_lun *l, const char *mountinfo)
{
        int r = mountinfo_foreach(mountinfo, blocker_of_mount, l);
        if (r < 0)
                return r;
        return 0;
}

/* Process pid runs multipathd (its executable's name; a binary replaced
 * by an upgrade reads "multipathd (deleted)"). */
static bool is_multipathd(const char *proc, const char *pid)
{
        _cleanup_free_ char *exe = NULL;
        char t[PATH_MAX];
        if (asprintf(&exe, "%s/%s/exe", proc, pid) < 0)
                return false;
        ssize_t n = readlink(exe, t, sizeof(t) - 1);
        if (n <= 0)
                return false;
        t[n] = '\0';
        const char *b = strrchr(t, '/');
        b = b ? b + 1 : t;
        return streq(b, "multipathd") || streq(b, "multipathd (deleted)");
}

static bool is_path_dev(const struct fc_lun *l, const char *devno)
{
        for (size_t i = 0; i < l->n_paths; i++)
                if (streq(l->paths[i].devno, devno))
                        return true;
        return false;
}

int fc_lun_check_open(struct fc_lun *l, const char *proc)
{
        _cleanup_closedir_ DIR *d = opendir(proc);
        struct dirent *de;
        if (!d)
                return -errno;
        while ((de = readdir(d))) {
                if (strspn(de->d_name, "0123456789") != strlen(de->d_name))
                        continue;
                _cleanup_free_ char *fdd = NULL;
                if (asprintf(&fdd, "%s/%s/fd", proc, de->d_name) < 0)
                        return -ENOMEM;
                _cleanup_closedir_ DIR *f = opendir(fdd);
                struct dirent *fe;
                if (!f)
                        continue; /* gone, or not ours to see */
                bool found = false, mpathd = is_multipathd(proc, de->d_name);
                while (!found && (fe = readdir(f))) {
                        struct stat st;
                        char devno[32];
                        if (fe->d_name[0] == '.' || fstatat(dirfd(f), fe->d_name, &st, 0) < 0 || !S_ISBLK(st.st_mode))
                                continue;
                        snprintf(devno, sizeof(devno), "%u:%u", major(st.st_rdev), minor(st.st_rdev));
                        if (!strv_contains(l->devs, devno) || (mpathd && is_path_dev(l, devno)))
                                continue;
                        char comm[64] = "?";
                        _cleanup_free_ char *pd = path_join(proc, de->d_name);
                        if (pd)
                                (void)read_one_line(pd, "comm", comm, sizeof(comm));
                        if (add_blocker(l, "device %s is open in process %s (%s)", devno, de->d_name, comm) < 0)
                                return -ENOMEM;
                        found = true;
                }
        }
        return 0;
}

static int dm_open_count(int ctl, const char *name, unsigned *count)
{
        struct dm_ioctl io;
        memset(&io, 0, sizeof(io));
        io.version[0] = DM_VERSION_MAJOR;
        io.data_size = sizeof(io);
        if (strlen(name) >= sizeof(io.name))
                return -EINVAL;
        strcpy(io.name, name);
        if (ioctl(ctl, DM_DEV_STATUS, &io) < 0)
                return -errno;
        *count = (unsigned)io.open_count;
        return 0;
}

int fc_lun_check_dm_open(struct fc_lun *l, const char *dev_root)
{
        _cleanup_free_ char *path = NULL;
        unsigned n;
        int r;

        if (!l->map[0])
                return 0;
        if (asprintf(&path, "%s/mapper/control", dev_root) < 0)
                return -ENOMEM;
        _cleanup_close_ int ctl = open(path, O_RDWR | O_CLOEXEC | O_NOCTTY);
        if (ctl < 0)
                return -errno;
        if ((r = dm_open_count(ctl, l->map_name, &n)) < 0)
                return r;
        if (n > strv_length(l->parts) &&
            add_blocker(l, "multipath map %s (%s) is open %u time%s%s", l->map_name, l->map, n - (unsigned)strv_length(l->parts),
                        n - strv_length(l->parts) == 1 ? "" : "s", l->parts ? " besides its partition maps" : "") < 0)
                return -ENOMEM;
        for (size_t i = 0; l->parts && l->parts[i]; i++) {
                if ((r = dm_open_count(ctl, l->part_names[i], &n)) < 0)
                        return r;
                if (n > 0 && add_blocker(l, "partition map %s (%s) is open %u time%s", l->part_names[i], l->parts[i], n,
                                         n == 1 ? "" : "s") < 0)
                        return -ENOMEM;
        }
        return 0;
}

int fc_plan_remove(const char *sysfs, const struct fc_lun *l, struct fc_plan *plan)
{
        memset(plan, 0, sizeof(*plan));
        if (l->blockers)
                return -EBUSY;
        for (size_t i = 0; i < l->n_paths; i++) {
                struct fc_write *nw = realloc(plan->writes, (plan->n_writes + 1) * sizeof(*nw));
                if (!nw) {
                        fc_plan_free(plan);
                        return -ENOMEM;
                }
                plan->writes = nw;
                struct fc_write *w = &nw[plan->n_writes];
                memset(w, 0, sizeof(*w));
                w->host = l->paths[i].host;
                snprintf(w->data, sizeof(w->data), "1\n");
                if (asprintf(&w->path, "%s/class/scsi_device/%s/device/delete", sysfs, l->paths[i].hctl) < 0) {
                        w->path = NULL;
                        fc_plan_free(plan);
                        return -ENOMEM;
                }
                plan->n_writes++;
        }
        return 0;
}

void fc_lun_free(struct fc_lun *l)
{
        free(l->paths);
        strv_free(l->parts);
        strv_free(l->part_names);
        strv_free(l->devs);
        strv_free(l->blockers);
        memset(l, 0, sizeof(*l));
}
