/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "lunrec.h"

#include <ctype.h>
#include <inttypes.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "fc.h"
#include "fclun.h"
#include "state.h"
#include "util.h"
#include "validate.h"

#define LUNREC_MAX (256 << 10)

/* ---- resolving ------------------------------------------------------------ */

/* The basename of the link <dir>/<name>'s target into buf ("" if none). */
static void link_base(const char *dir, const char *name, char *buf, size_t size)
{
        _cleanup_free_ char *p = path_join(dir, name);
        char t[PATH_MAX];
        ssize_t n = p ? readlink(p, t, sizeof(t) - 1) : -1;
        buf[0] = '\0';
        if (n <= 0)
                return;
        t[n] = '\0';
        const char *b = strrchr(t, '/');
        b = b ? b + 1 : t;
        if (strlen(b) < size)
                strcpy(buf, b);
}

/* "sdc=5:0:1:1" for disk sdc; -ENOENT when sdc is not a SCSI disk. */
static int add_path(const char *sysfs, const char *disk, struct lun_id *l)
{
        _cleanup_free_ char *dev = NULL, *real = NULL, *entry = NULL;
        unsigned h, c, t;
        unsigned long long n;
        if (asprintf(&dev, "%s/block/%s/device", sysfs, disk) < 0)
                return -ENOMEM;
        if (!(real = realpath(dev, NULL)))
                return -ENOENT;
        const char *hctl = strrchr(real, '/') + 1;
        if (sscanf(hctl, "%u:%u:%u:%llu", &h, &c, &t, &n) != 4)
                return -ENOENT;
        if (asprintf(&entry, "%s=%s", disk, hctl) < 0)
                return -ENOMEM;
        return strv_push_unique(&l->paths, entry);
}

/* A PCI function address such as "0000:05:00.0". */
static bool is_pci(const char *s, size_t len)
{
        return len == 12 && s[4] == ':' && s[7] == ':' && s[10] == '.' && isxdigit((unsigned char)s[0]);
}

/* udev's by-path name of SCSI disk sdX behind an FC target
 * (pci-<pci>-fc-<target port_name>-lun-<L>), or NULL. */
static char *by_path_of(const char *sysfs, const char *disk)
{
        _cleanup_free_ char *dev = NULL, *real = NULL, *ft = NULL;
        char port[64];
        unsigned h, c, t;
        unsigned long long lun;
        if (asprintf(&dev, "%s/block/%s/device", sysfs, disk) < 0 || !(real = realpath(dev, NULL)))
                return NULL;
        const char *base = strrchr(real, '/');
        if (!base || sscanf(base + 1, "%u:%u:%u:%llu", &h, &c, &t, &lun) != 4)
                return NULL;
        if (asprintf(&ft, "%s/class/fc_transport/target%u:%u:%u", sysfs, h, c, t) < 0 ||
            read_one_line(ft, "port_name", port, sizeof(port)) < 0)
                return NULL;
        /* the nearest PCI function above the SCSI host */
        const char *pci = NULL;
        size_t pci_len = 0;
        for (const char *s = real; *s;) {
                const char *e = strchrnul(s + 1, '/');
                if (is_pci(s + 1, (size_t)(e - s - 1))) {
                        pci = s + 1;
                        pci_len = (size_t)(e - s - 1);
                }
                if (strncmp(s + 1, "host", 4) == 0)
                        break;
                s = e;
        }
        char l[32], *ret = NULL;
        fc_format_lun(lun, l, sizeof(l));
        if (!pci || asprintf(&ret, "pci-%.*s-fc-%s-lun-%s", (int)pci_len, pci, port, l) < 0)
                return NULL;
        return ret;
}

/* The dm map over disk with uuid mpath-<wwid>, into map (its dm/name). */
static void map_over(const char *sysfs, const char *disk, const char *wwid, char *map, size_t size)
{
        _cleanup_free_ char *hd = NULL;
        _cleanup_strv_ char **h = NULL;
        map[0] = '\0';
        if (asprintf(&hd, "%s/block/%s/holders", sysfs, disk) < 0 || dir_list(hd, &h) < 0)
                return;
        for (size_t i = 0; h && h[i]; i++) {
                _cleanup_free_ char *dm = NULL;
                char uuid[FC_WWID_MAX + 16];
                if (asprintf(&dm, "%s/block/%s/dm", sysfs, h[i]) < 0 || read_one_line(dm, "uuid", uuid, sizeof(uuid)) < 0)
                        continue;
                if (strncmp(uuid, "mpath-", 6) == 0 && strcasecmp(uuid + 6, wwid) == 0 &&
                    read_one_line(dm, "name", map, size) == 0)
                        return;
        }
        map[0] = '\0';
}

static int resolve_name(const char *sysfs, const char *name, struct lun_id *l, int depth);

/* Every SCSI path with this WWID, and the map over them. */
static int resolve_wwid(const char *sysfs, const char *wwid, struct lun_id *l)
{
        _cleanup_strv_ char **hctls = NULL;
        int r = fc_find_wwid(sysfs, wwid, &hctls);
        if (r <= 0)
                return r;
        snprintf(l->wwid, sizeof(l->wwid), "%s", wwid);
        for (size_t i = 0; hctls[i]; i++) {
                _cleanup_free_ char *bd = NULL;
                _cleanup_strv_ char **disks = NULL;
                if (asprintf(&bd, "%s/class/scsi_device/%s/device/block", sysfs, hctls[i]) < 0)
                        return -ENOMEM;
                if (dir_list(bd, &disks) < 0 || !disks)
                        continue;
                if ((r = add_path(sysfs, disks[0], l)) == -ENOMEM)
                        return r;
                if (!l->map[0])
                        map_over(sysfs, disks[0], wwid, l->map, sizeof(l->map));
        }
        return 1;
}

/* A whole disk or partition by its kernel name (sdc, sdc1, dm-3). */
static int resolve_name(const char *sysfs, const char *name, struct lun_id *l, int depth)
{
        _cleanup_free_ char *dir = NULL, *cdir = NULL;
        char buf[FC_WWID_MAX + 16];
        int r;

        if (depth > 2 || !*name || strchr(name, '/') || name[0] == '.')
                return 0;
        if (asprintf(&dir, "%s/block/%s", sysfs, name) < 0 || asprintf(&cdir, "%s/class/block/%s", sysfs, name) < 0)
                return -ENOMEM;
        if (access(dir, F_OK) < 0) {
                /* a partition: the disk is the parent of its directory */
                _cleanup_free_ char *real = realpath(cdir, NULL);
                char *slash = real ? strrchr(real, '/') : NULL;
                if (!slash || !file_present(real, "partition"))
                        return 0;
                *slash = '\0';
                slash = strrchr(real, '/');
                return slash ? resolve_name(sysfs, slash + 1, l, depth + 1) : 0;
        }
        _cleanup_free_ char *dm = path_join(dir, "dm");
        if (!dm)
                return -ENOMEM;
        if (read_one_line(dm, "uuid", buf, sizeof(buf)) == 0) {
                const char *mp = strstr(buf, "mpath-");
                if (strncmp(buf, "mpath-", 6) == 0) {
                        if (!fc_name_is_valid(buf + 6))
                                return 0;
                        strcpy(l->wwid, buf + 6);
                        if (read_one_line(dm, "name", l->map, sizeof(l->map)) < 0 || !fc_name_is_valid(l->map))
                                l->map[0] = '\0';
                        _cleanup_free_ char *sd = path_join(dir, "slaves");
                        _cleanup_strv_ char **slaves = NULL;
                        if (!sd)
                                return -ENOMEM;
                        (void)dir_list(sd, &slaves);
                        for (size_t i = 0; slaves && slaves[i]; i++)
                                if ((r = add_path(sysfs, slaves[i], l)) == -ENOMEM)
                                        return r;
                        return 1;
                }
                if (strncmp(buf, "part", 4) == 0 && mp) {
                        /* a kpartx partition map: the map it is on */
                        _cleanup_free_ char *sd = path_join(dir, "slaves");
                        _cleanup_strv_ char **slaves = NULL;
                        if (!sd)
                                return -ENOMEM;
                        (void)dir_list(sd, &slaves);
                        return strv_length(slaves) == 1 ? resolve_name(sysfs, slaves[0], l, depth + 1) : 0;
                }
                return 0; /* LVM, crypt, ...: not a LUN of its own */
        }
        _cleanup_free_ char *dev = path_join(dir, "device");
        if (!dev)
                return -ENOMEM;
        if (read_one_line(dev, "wwid", buf, sizeof(buf)) < 0 || fc_wwid_from_sysfs(buf, l->wwid, sizeof(l->wwid)) < 0)
                return 0;
        if ((r = add_path(sysfs, name, l)) < 0)
                return r == -ENOMEM ? r : 0;
        map_over(sysfs, name, l->wwid, l->map, sizeof(l->map));
        return 1;
}

/* The WWID of the multipath map with this dm name, "" if none. */
static void wwid_of_alias(const char *sysfs, const char *alias, char *dmname, size_t size)
{
        _cleanup_free_ char *dir = path_join(sysfs, "block");
        _cleanup_strv_ char **l = NULL;
        dmname[0] = '\0';
        if (!dir || dir_list(dir, &l) < 0)
                return;
        for (size_t i = 0; l && l[i]; i++) {
                _cleanup_free_ char *dm = NULL;
                char name[FC_WWID_MAX + 1];
                if (strncmp(l[i], "dm-", 3) != 0 || asprintf(&dm, "%s/%s/dm", dir, l[i]) < 0)
                        continue;
                if (read_one_line(dm, "name", name, sizeof(name)) == 0 && streq(name, alias)) {
                        snprintf(dmname, size, "%s", l[i]);
                        return;
                }
        }
}

/* The kernel name the source's device node has: by its device number when
 * it is a block device (<sysfs>/dev/block/M:m), else by where its links
 * lead below the /dev root (udev's links, or a fake /dev in tests). */
static void kernel_name(const char *sysfs, const char *dev_root, const char *path, char *name, size_t size)
{
        struct stat st;
        name[0] = '\0';
        if (stat(path, &st) == 0 && S_ISBLK(st.st_mode)) {
                _cleanup_free_ char *d = NULL;
                char devno[32];
                snprintf(devno, sizeof(devno), "%u:%u", major(st.st_rdev), minor(st.st_rdev));
                if ((d = path_join(sysfs, "dev/block")))
                        link_base(d, devno, name, size);
                if (name[0])
                        return;
        }
        _cleanup_free_ char *real = realpath(path, NULL), *root = realpath(dev_root, NULL);
        size_t n = root ? strlen(root) : 0;
        if (real && root && strncmp(real, root, n) == 0 && real[n] == '/' && !strchr(real + n + 1, '/'))
                snprintf(name, size, "%s", real + n + 1);
}

int lun_resolve(const char *sysfs, const char *dev_root, const char *source, struct lun_id *ret)
{
        struct fc_source s;
        char name[FC_WWID_MAX + 1];
        int r;

        memset(ret, 0, sizeof(*ret));
        if (strncmp(source, "/dev/", 5) != 0 || !path_is_absolute_normalized(source))
                return 0;
        _cleanup_free_ char *path = path_join(dev_root, source + 5);
        if (!path)
                return -ENOMEM;
        kernel_name(sysfs, dev_root, path, name, sizeof(name));
        if (name[0] && (r = resolve_name(sysfs, name, ret, 0)) != 0)
                return r;
        lun_id_free(ret);

        /* no device node here (now): what its name says */
        if (fc_parse_source(source, &s) < 0)
                return 0;
        switch (s.kind) {
        case FC_SRC_PATH: {
                _cleanup_strv_ char **w = NULL;
                r = fc_wwids_of_target_lun(sysfs, s.wwpn, s.lun, &w);
                return r == 1 ? resolve_wwid(sysfs, w[0], ret) : r == -ENOMEM ? r : 0;
        }
        case FC_SRC_WWID:
                return resolve_wwid(sysfs, s.wwid, ret);
        case FC_SRC_MAP:
                if (s.wwid[0])
                        return resolve_wwid(sysfs, s.wwid, ret);
                wwid_of_alias(sysfs, s.map, name, sizeof(name));
                return name[0] ? resolve_name(sysfs, name, ret, 0) : 0;
        default:
                return 0;
        }
}

static int finish(const char *sysfs, struct lun_id *l)
{
        if (l->paths) {
                char disk[64];
                snprintf(disk, sizeof(disk), "%.*s", (int)strcspn(l->paths[0], "="), l->paths[0]);
                l->by_path = by_path_of(sysfs, disk);
        }
        return 0;
}

/* ---- the record ----------------------------------------------------------- */

static int copy_id(struct lun_id *dst, const struct lun_id *src)
{
        memset(dst, 0, sizeof(*dst));
        memcpy(dst->wwid, src->wwid, sizeof(dst->wwid));
        memcpy(dst->map, src->map, sizeof(dst->map));
        if (!(dst->target = strdup(src->target)) || !(dst->source = strdup(src->source)) ||
            (src->by_path && !(dst->by_path = strdup(src->by_path))))
                return -ENOMEM;
        for (size_t i = 0; src->paths && src->paths[i]; i++)
                if (strv_push(&dst->paths, src->paths[i]) < 0)
                        return -ENOMEM;
        return 0;
}

static struct lun_id *add_lun(struct lunrec *r)
{
        struct lun_id *n = realloc(r->luns, (r->n + 1) * sizeof(*n));
        if (!n)
                return NULL;
        r->luns = n;
        memset(&n[r->n], 0, sizeof(*n));
        return &n[r->n++];
}

int lunrec_from_domain(const char *sysfs, const char *dev_root, const struct domxml *d, const struct lunrec *old,
                       struct lunrec *ret)
{
        memset(ret, 0, sizeof(*ret));
        if (!(ret->uuid = strdup(d->uuid)) || !(ret->name = strdup(d->name)))
                return -ENOMEM;
        ret->time = time(NULL);
        for (size_t i = 0; i < d->n_disks; i++) {
                const struct dom_disk *k = &d->disks[i];
                const char *target = k->target ? k->target : "-";
                struct lun_id id;
                if (k->type != DOM_DISK_BLOCK || !k->source || strchr(target, ' '))
                        continue;
                int r = lun_resolve(sysfs, dev_root, k->source, &id);
                if (r < 0)
                        return r;
                if (r == 0) {
                        lun_id_free(&id);
                        for (size_t j = 0; old && j < old->n; j++) {
                                const struct lun_id *o = &old->luns[j];
                                struct lun_id *n;
                                if (!streq(o->target, target) || !streq(o->source, k->source))
                                        continue;
                                if (!(n = add_lun(ret)) || copy_id(n, o) < 0)
                                        return -ENOMEM;
                                break;
                        }
                        continue;
                }
                struct lun_id *n = add_lun(ret);
                if (!n) {
                        lun_id_free(&id);
                        return -ENOMEM;
                }
                *n = id;
                if (!(n->target = strdup(target)) || !(n->source = strdup(k->source)) || finish(sysfs, n) < 0)
                        return -ENOMEM;
        }
        return (int)ret->n;
}

int lunrec_save(const char *state_dir, const struct lunrec *r)
{
        _cleanup_free_ char *dir = NULL, *text = NULL;
        size_t len = 0;
        FILE *f;

        if (!r->uuid || !uuid_is_valid(r->uuid) || (r->name && strchr(r->name, '\n')))
                return -EINVAL;
        for (size_t i = 0; i < r->n; i++) {
                const struct lun_id *l = &r->luns[i];
                if (strpbrk(l->target, " \n") || strchr(l->source, '\n') || strpbrk(l->wwid, " \n") || !l->wwid[0] ||
                    strpbrk(l->map, " \n") || (l->by_path && strpbrk(l->by_path, " \n")))
                        return -EINVAL;
        }
        if (!(f = open_memstream(&text, &len)))
                return -ENOMEM;
        fprintf(f, "migkit-luns 1\nuuid %s\n", r->uuid);
        if (r->name)
                fprintf(f, "name %s\n", r->name);
        fprintf(f, "time %lld\n", (long long)r->time);
        for (size_t i = 0; i < r->n; i++) {
                const struct lun_id *l = &r->luns[i];
                _cleanup_free_ char *paths = l->paths ? strv_join(l->paths, ",") : strdup("-");
                fprintf(f, "lun %s %s %s %s %s %s\n", l->target, l->wwid, l->map[0] ? l->map : "-", paths ? paths : "-",
                        l->by_path ? l->by_path : "-", l->source);
        }
        if (fclose(f) != 0)
                return -ENOMEM;
        int q = state_area_create(state_dir, STATE_LUNS, &dir);
        if (q < 0)
                return q;
        return write_file_atomic(dir, r->uuid, text, len, 0600, 0);
}

/* "lun <target> <wwid> <map|-> <paths|-> <by-path|-> <source>" */
static int parse_lun(const char *val, struct lun_id *l)
{
        _cleanup_free_ char *copy = strdup(val);
        char *f[6], *save = NULL, *p = copy;
        if (!copy)
                return -ENOMEM;
        for (int i = 0; i < 5; i++) {
                f[i] = strtok_r(i ? NULL : p, " ", &save);
                if (!f[i])
                        return -EBADMSG;
        }
        f[5] = save;
        if (!f[5] || !*f[5] || !fc_name_is_valid(f[1]) || strlen(f[2]) >= sizeof(l->map))
                return -EBADMSG;
        snprintf(l->wwid, sizeof(l->wwid), "%s", f[1]);
        snprintf(l->map, sizeof(l->map), "%s", streq(f[2], "-") ? "" : f[2]);
        if (!(l->target = strdup(f[0])) || !(l->source = strdup(f[5])) ||
            (!streq(f[4], "-") && !(l->by_path = strdup(f[4]))))
                return -ENOMEM;
        if (!streq(f[3], "-")) {
                char *s2 = NULL;
                for (char *e = strtok_r(f[3], ",", &s2); e; e = strtok_r(NULL, ",", &s2))
                        if (strv_push(&l->paths, e) < 0)
                                return -ENOMEM;
        }
        return 0;
}

static int rec_line(const char *key, const char *val, void *userdata)
{
        struct lunrec *r = userdata;
        if (streq(key, "uuid") && !r->uuid)
                return (r->uuid = strdup(val)) ? 0 : -ENOMEM;
        if (streq(key, "name") && !r->name)
                return (r->name = strdup(val)) ? 0 : -ENOMEM;
        if (streq(key, "time")) {
                r->time = (time_t)strtoll(val, NULL, 10);
                return 0;
        }
        if (streq(key, "lun")) {
                struct lun_id *l = add_lun(r);
                return l ? parse_lun(val, l) : -ENOMEM;
        }
        return -EBADMSG;
}

int lunrec_load(const char *state_dir, const char *uuid, struct lunrec *r)
{
        _cleanup_free_ char *path = NULL, *text = NULL;
        memset(r, 0, sizeof(*r));
        if (!uuid_is_valid(uuid))
                return -EINVAL;
        if (!(path = state_path(state_dir, STATE_LUNS, uuid)))
                return -ENOMEM;
        ssize_t n = read_full_file(path, LUNREC_MAX, &text);
        if (n < 0)
                return (int)n;
        int q = kv_parse(text, "migkit-luns", "1", rec_line, r);
        if (q == 0 && (!r->uuid || !streq(r->uuid, uuid)))
                q = -EBADMSG;
        if (q < 0)
                lunrec_free(r);
        return q;
}

int lunrec_remove(const char *state_dir, const char *uuid)
{
        if (!uuid_is_valid(uuid))
                return -EINVAL;
        return state_remove(state_dir, STATE_LUNS, uuid, false);
}

char *lun_id_describe(const struct lun_id *l)
{
        _cleanup_strv_ char **disks = NULL;
        _cleanup_free_ char *dl = NULL;
        char *s = NULL;
        for (size_t i = 0; l->paths && l->paths[i]; i++) {
                char d[64];
                snprintf(d, sizeof(d), "%.*s", (int)strcspn(l->paths[i], "="), l->paths[i]);
                if (strv_push(&disks, d) < 0)
                        return NULL;
        }
        if (disks && !(dl = strv_join(disks, " ")))
                return NULL;
        if (asprintf(&s, "WWID %s%s%s%s%s%s%s", l->wwid, l->map[0] || dl ? " (" : "", l->map[0] ? "map " : "", l->map,
                     l->map[0] && dl ? ", " : "", dl ? "paths " : "", dl ? dl : "") < 0)
                return NULL;
        if (l->map[0] || dl) {
                char *t = NULL;
                if (asprintf(&t, "%s)", s) < 0)
                        t = NULL;
                free(s);
                s = t;
        }
        return s;
}

void lun_id_free(struct lun_id *l)
{
        free(l->target);
        free(l->source);
        strv_free(l->paths);
        free(l->by_path);
        memset(l, 0, sizeof(*l));
}

void lunrec_free(struct lunrec *r)
{
        for (size_t i = 0; i < r->n; i++)
                lun_id_free(&r->luns[i]);
        free(r->luns);
        free(r->uuid);
        free(r->name);
        memset(r, 0, sizeof(*r));
}
