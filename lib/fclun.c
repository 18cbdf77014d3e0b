/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "fclun.h"

#include <limits.h>
#include <stdarg.h>
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

static int add_dev(struct fc_lun *l, const char *dir)
{
        char dev[32];
        if (read_one_line(dir, "dev", dev, sizeof(dev)) < 0 || strv_contains(l->devs, dev))
                return 0;
        return strv_push(&l->devs, dev);
}

/* Entries of a directory (holders/, slaves/), sorted; a missing one (or a
 * file) is empty. */
static int list_dir(const char *dir, char ***ret)
{
        int r = dir_list(dir, ret);
        return r == -ENOTDIR ? 0 : r;
}

/* Notes the holders of a block device (or partition) directory: only the
 * LUN's own multipath map may hold its paths. */
static int check_holders(const char *sysfs, struct fc_lun *l, const char *what, const char *dir, bool map_ok)
{
        _cleanup_free_ char *hd = path_join(dir, "holders");
        _cleanup_strv_ char **h = NULL;
        int r = hd ? list_dir(hd, &h) : -ENOMEM;
        for (size_t i = 0; r == 0 && h && h[i]; i++) {
                _cleanup_free_ char *dm = NULL;
                char uuid[FC_WWID_MAX + 16] = "", name[FC_WWID_MAX + 1] = "";
                if (asprintf(&dm, "%s/block/%s/dm", sysfs, h[i]) < 0)
                        return -ENOMEM;
                (void)read_one_line(dm, "uuid", uuid, sizeof(uuid));
                (void)read_one_line(dm, "name", name, sizeof(name));
                if (map_ok && strncmp(uuid, "mpath-", 6) == 0 && strcasecmp(uuid + 6, l->wwid) == 0) {
                        if (!l->map[0]) {
                                snprintf(l->map, sizeof(l->map), "%s", h[i]);
                                snprintf(l->map_name, sizeof(l->map_name), "%s", name);
                        }
                        continue;
                }
                r = add_blocker(l, "%s is held by %s%s%s%s", what, h[i], name[0] ? " (" : "", name, name[0] ? ")" : "");
        }
        return r;
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
        if (r <= 0)
                return r;
        l->paths = calloc((size_t)r, sizeof(*l->paths));
        if (!l->paths)
                return -ENOMEM;
        for (size_t i = 0; hctls[i]; i++) {
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
                if (!dd || (r = add_dev(l, dd)) < 0 || (r = check_holders(sysfs, l, p->disk, dd, true)) < 0 ||
                    (r = list_dir(dd, &entries)) < 0)
                        return r < 0 ? r : -ENOMEM;
                for (size_t j = 0; entries && entries[j]; j++) {
                        _cleanup_free_ char *pd = path_join(dd, entries[j]);
                        if (!pd)
                                return -ENOMEM;
                        if (!file_present(pd, "partition"))
                                continue;
                        if ((r = add_dev(l, pd)) < 0 || (r = check_holders(sysfs, l, entries[j], pd, false)) < 0)
                                return r;
                }
        }
        if (l->map[0]) {
                _cleanup_free_ char *md = NULL;
                char what[64 + FC_WWID_MAX];
                if (asprintf(&md, "%s/block/%s", sysfs, l->map) < 0)
                        return -ENOMEM;
                snprintf(what, sizeof(what), "multipath map %s (%s)", l->map_name, l->map);
                if ((r = add_dev(l, md)) < 0 || (r = check_holders(sysfs, l, what, md, false)) < 0)
                        return r;
        }
        return 0;
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
                static const struct { const char *prefix; char type; } types[] = { { "naa.", '3' }, { "eui.", '2' }, { "t10.", '1' } };
                for (size_t i = 0; i < ARRAY_SIZE(types); i++) {
                        char w[FC_WWID_MAX + 2];
                        if (strncmp(buf, types[i].prefix, 4) != 0 || strlen(buf + 4) > FC_WWID_MAX - 1)
                                continue;
                        w[0] = types[i].type;
                        strcpy(w + 1, buf + 4);
                        ascii_strlower(w);
                        if (fc_name_is_valid(w) && !strv_contains(found, w) && strv_push(&found, w) < 0)
                                return -ENOMEM;
                }
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
                bool found = false;
                while (!found && (fe = readdir(f))) {
                        struct stat st;
                        char devno[32];
                        if (fe->d_name[0] == '.' || fstatat(dirfd(f), fe->d_name, &st, 0) < 0 || !S_ISBLK(st.st_mode))
                                continue;
                        snprintf(devno, sizeof(devno), "%u:%u", major(st.st_rdev), minor(st.st_rdev));
                        if (!strv_contains(l->devs, devno))
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
        strv_free(l->devs);
        strv_free(l->blockers);
        memset(l, 0, sizeof(*l));
}
