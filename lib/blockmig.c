/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "blockmig.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>

#include <libvirt/virterror.h>
#include <libxml/tree.h>

#include "instdir.h"
#include "remote.h"
#include "sharetest.h"
#include "upload.h"
#include "util.h"
#include "validate.h"
#include "virt.h"
#include "xmlnode.h"

/* ------------------------------------------------------------ the plan */

static char *dir_of(const char *path)
{
        const char *s = strrchr(path, '/');
        return s == path ? strdup("/") : s ? strndup(path, (size_t)(s - path)) : strdup(".");
}

static const char *base_of(const char *path)
{
        const char *s = strrchr(path, '/');
        return s ? s + 1 : path;
}

static void block_disk_done(struct block_disk *b)
{
        free(b->target);
        free(b->path);
        free(b->format);
        free(b->backing);
        free(b->backing_format);
        memset(b, 0, sizeof(*b));
}

/* Moves b into the plan. */
static int plan_add(struct block_plan *plan, struct block_disk *b)
{
        struct block_disk *v = realloc(plan->v, (plan->n + 1) * sizeof(*v));
        if (!v)
                return -ENOMEM;
        plan->v = v;
        if (strv_push(&plan->copy, b->target) < 0)
                return -ENOMEM;
        plan->incremental |= b->backing != NULL;
        plan->v[plan->n++] = *b;
        memset(b, 0, sizeof(*b));
        return 0;
}

/* What a disk element says about its image and backing chain. 1 a chain of
 * more than one backing file (or one that is not a plain file), 0 fine. */
static int read_disk(const struct dom_disk *dk, struct block_disk *b)
{
        xmlNodePtr n = dk->node, bs = xml_child(n, "backingStore");
        b->target = strdup(dk->target);
        b->path = strdup(dk->source);
        b->format = xml_prop(xml_child(n, "driver"), "type");
        if (!b->format)
                b->format = strdup("raw");
        if (!b->target || !b->path || !b->format)
                return -ENOMEM;
        xmlNodePtr src = xml_child(bs, "source");
        if (!bs || !src)
                return 0; /* no backing store element, or an empty one: none */
        _cleanup_free_ char *type = xml_prop(bs, "type");
        b->backing = xml_prop(src, "file");
        b->backing_format = xml_prop(xml_child(bs, "format"), "type");
        xmlNodePtr deeper = xml_child(bs, "backingStore");
        if (!type || !streq(type, "file") || !b->backing || (deeper && xml_child(deeper, "source")))
                return 1;
        return 0;
}

int block_plan_disk(const struct mk_config *cfg, virConnectPtr dst, const struct dom_disk *dk, char *const *force, int mode,
                    struct block_plan *plan, struct preflight *p)
{
        if (dk->type != DOM_DISK_FILE || !dk->source || !dk->target || !streq_ptr(dk->device, "disk"))
                return 0;
        _cleanup_free_ char *name = NULL, *dir = dir_of(dk->source), *err = NULL, *fstype = NULL, *why = NULL;
        struct block_disk b = { 0 };
        bool forced = strv_contains(force, dk->target);
        int r;

        if (!dir || asprintf(&name, "disk %s", dk->target) < 0)
                return -ENOMEM;
#define ADD(...) (p ? preflight_add(p, __VA_ARGS__) : 0)
        if (!forced) {
                r = sharetest_dir(dst, dir, &err);
                if (r == -ENOMEM)
                        return r;
                if (r > 0)
                        return ADD(CHECK_OK, name, NULL, "%s is on storage shared with the destination (a test file written into "
                                   "%s here was there): not copied", dk->source, dir) < 0 ? -ENOMEM : 1;
                if (r < 0) {
                        /* no proof either way (the directory is not here, or
                         * cannot be written): the filesystem type decides */
                        int s = fs_is_shared(cfg, dk->source, &fstype, NULL);
                        if (s > 0)
                                return ADD(CHECK_OK, name, NULL, "%s is on shared storage (%s): not copied", dk->source,
                                           fstype ? fstype : "shared") < 0 ? -ENOMEM : 1;
                        if (s < 0)
                                return ADD(CHECK_WARN, name, NULL, "could not tell whether %s is on shared storage: %s", dk->source,
                                           strerror(-s)) < 0 ? -ENOMEM : 1;
                }
                if (asprintf(&why, "the destination does not see %s%s%s%s", dir, fstype ? " (" : "", fstype ? fstype : "",
                             fstype ? ")" : "") < 0)
                        return -ENOMEM;
                if (mode == COPY_NEVER) {
                        _cleanup_free_ char *fix = NULL;
                        if (asprintf(&fix, "drop --no-copy-storage (migkit then copies %s), or move it to shared storage", dk->target) < 0)
                                return -ENOMEM;
                        return ADD(CHECK_FAIL, name, fix, "%s is a local file (%s) and --no-copy-storage forbids copying it", dk->source,
                                   why) < 0 ? -ENOMEM : 1;
                }
        }
        xmlNodePtr n = dk->node;
        if (xml_child(n, "readonly") || xml_child(n, "shareable"))
                return ADD(CHECK_FAIL, name, "copy it to the same path on the destination by hand, or move it to shared storage",
                           "%s is a local %s disk: libvirt copies neither read-only nor shareable disks", dk->source,
                           xml_child(n, "readonly") ? "read-only" : "shareable") < 0 ? -ENOMEM : 1;
        r = read_disk(dk, &b);
        if (r == 1) {
                _cleanup_free_ char *fix = NULL;
                r = asprintf(&fix, "flatten it (virsh blockpull %s --wait) or move it to shared storage", dk->target) < 0 ? -ENOMEM
                    : ADD(CHECK_FAIL, name, fix, "%s has a backing chain of more than one file (or not a plain file): only a "
                          "disk on one backing file can be copied incrementally", dk->source) < 0 ? -ENOMEM : 1;
                block_disk_done(&b);
                return r;
        }
        if (r < 0 || plan_add(plan, &b) < 0) {
                block_disk_done(&b);
                return -ENOMEM;
        }
        const struct block_disk *d = &plan->v[plan->n - 1];
        if (d->backing)
                r = ADD(CHECK_OK, name, NULL, "%s (%s on the backing file %s) is copied to the destination with the migration (%s): "
                        "only its top layer, after the backing file (uploaded when the destination lacks it)", d->path, d->format,
                        d->backing, forced ? "--copy-storage" : why);
        else
                r = ADD(CHECK_OK, name, NULL, "%s (%s) is copied to the destination with the migration (%s)", d->path, d->format,
                        forced ? "--copy-storage" : why);
#undef ADD
        return r < 0 ? -ENOMEM : 1;
}

int block_plan_summary(const struct block_plan *plan, struct preflight *p)
{
        if (plan->n == 0)
                return preflight_add(p, CHECK_OK, "storage", NULL, "plain live migration: no disk is copied");
        _cleanup_free_ char *l = strv_join(plan->copy, ", ");
        if (!l)
                return -ENOMEM;
        return preflight_add(p, CHECK_OK, "storage", NULL, "block migration of %s (%s); migkit prepares the images on the "
                             "destination first", l, plan->incremental ? "incremental: the top layers, on backing files the "
                             "destination has or gets" : "full copies");
}

int block_plan_forced(const struct domxml *d, char *const *force, struct block_plan *plan)
{
        memset(plan, 0, sizeof(*plan));
        for (size_t i = 0; i < d->n_disks; i++) {
                const struct dom_disk *dk = &d->disks[i];
                if (dk->type != DOM_DISK_FILE || !dk->source || !dk->target || !strv_contains(force, dk->target))
                        continue;
                struct block_disk b = { 0 };
                int r = read_disk(dk, &b);
                if (r < 0 || (r == 0 && plan_add(plan, &b) < 0)) {
                        block_disk_done(&b);
                        return -ENOMEM;
                }
                block_disk_done(&b);
        }
        return 0;
}

void block_plan_free(struct block_plan *plan)
{
        for (size_t i = 0; i < plan->n; i++)
                block_disk_done(&plan->v[i]);
        free(plan->v);
        strv_free(plan->copy);
        memset(plan, 0, sizeof(*plan));
}

/* ------------------------------------------------------------ the preparation */

struct pool_ref {
        virStoragePoolPtr pool;
        bool ours;
};

static void pool_close(struct pool_ref *p)
{
        if (!p->pool)
                return;
        if (p->ours)
                virStoragePoolDestroy(p->pool); /* transient: gone, the files stay */
        virStoragePoolFree(p->pool);
        p->pool = NULL;
}

/* A pool on dir (built when missing and build: recorded in prep->dirs). */
static int pool_open(virConnectPtr dst, const char *dir, bool build, struct block_prep *prep, struct pool_ref *ret, char **err)
{
        _cleanup_free_ char *perr = NULL;
        bool built;
        int errnum;
        ret->pool = remote_dir_pool(dst, dir, build, &ret->ours, &built, &errnum, &perr);
        if (!ret->pool)
                return errnum == ENOENT ? -ENOENT
                       : fail_message(err, -errnum, "cannot open %s on the destination as a storage pool: %s", dir,
                                      perr ? perr : strerror(errnum));
        if (built && strv_push(&prep->dirs, dir) < 0)
                return -ENOMEM;
        return 0;
}

/* The free bytes of the filesystem holding dir on dst (or its nearest
 * existing parent), and its size. */
static int dest_space(virConnectPtr dst, const char *dir, unsigned long long *avail, unsigned long long *cap, char **err)
{
        _cleanup_free_ char *d = strdup(dir);
        struct block_prep none = { 0 };
        if (!d)
                return -ENOMEM;
        for (;;) {
                struct pool_ref p = { 0 };
                int r = pool_open(dst, d, false, &none, &p, err);
                if (r == 0) {
                        virStoragePoolInfo info;
                        r = virStoragePoolGetInfo(p.pool, &info) < 0
                                    ? fail_message(err, -EIO, "cannot read the free space of %s on the destination: %s", d, virt_last_error())
                                    : 0;
                        *avail = info.available;
                        *cap = info.capacity;
                        pool_close(&p);
                        return r;
                }
                if (r != -ENOENT || streq(d, "/"))
                        return r;
                char *s = strrchr(d, '/');
                if (s == d)
                        s[1] = 0;
                else
                        *s = 0;
        }
}

/* 1 dst has a file at path, 0 not, -errno (*err). The volume in *ret when
 * asked for (the pool stays open in *pool then). */
static int dest_lookup(virConnectPtr dst, const char *path, struct pool_ref *pool, virStorageVolPtr *ret, char **err)
{
        _cleanup_free_ char *dir = dir_of(path);
        struct block_prep none = { 0 };
        if (!dir)
                return -ENOMEM;
        int r = pool_open(dst, dir, false, &none, pool, err);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        if (!pool->ours)
                (void)virStoragePoolRefresh(pool->pool, 0);
        virStorageVolPtr v = virStorageVolLookupByName(pool->pool, base_of(path));
        virResetLastError();
        if (ret)
                *ret = v;
        else if (v)
                virStorageVolFree(v);
        return v != NULL;
}

static void say(void (*progress)(void *, const char *), void *ctx, const char *fmt, ...) _printf_(3, 4);
static void say(void (*progress)(void *, const char *), void *ctx, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        _cleanup_free_ char *s = strdup_vprintf(fmt, ap);
        va_end(ap);
        if (progress && s)
                progress(ctx, s);
}

/* Compares the local backing file with the destination's: 1 identical
 * (reused), 0 missing there, -EEXIST different, -errno. */
static int backing_there(virConnectPtr dst, const char *path, int fd, unsigned long long size, char **err)
{
        struct pool_ref pool = { 0 };
        virStorageVolPtr vol = NULL;
        int r = dest_lookup(dst, path, &pool, &vol, err);
        if (r > 0) {
                virStorageVolInfo info;
                int same = virStorageVolGetInfoFlags(vol, &info, VIR_STORAGE_VOL_GET_PHYSICAL) == 0 && info.allocation == size
                                   ? upload_same_bytes(dst, vol, fd, size) : 0;
                r = same == 1 ? 1
                    : same == 0 ? fail_message(err, -EEXIST, "the destination has a different %s: a backing file must be identical on "
                                               "both hosts; left alone (compare them, and rename one if they are different images)", path)
                                : fail_message(err, -EIO, "cannot read %s on the destination: %s", path, virt_last_error());
                virStorageVolFree(vol);
        }
        pool_close(&pool);
        return r;
}

static int open_local(const char *path, unsigned long long *size, char **err)
{
        struct stat st;
        int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return fail_message(err, -errno, "cannot read %s here: %s", path, strerror(errno));
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
                close(fd);
                return fail_message(err, -EINVAL, "%s is not a regular file here", path);
        }
        *size = (unsigned long long)st.st_size;
        return fd;
}

/* Creates path on dst from volume XML (its directory built when missing).
 * With ret, the volume and the pool it is in (which must stay active while
 * the volume is used: pool_close() it after) go to the caller. */
static int create_volume(virConnectPtr dst, const char *path, const char *xml, struct block_prep *prep, virStorageVolPtr *ret,
                         struct pool_ref *ret_pool, char **err)
{
        _cleanup_free_ char *dir = dir_of(path);
        struct pool_ref pool = { 0 };
        if (!dir)
                return -ENOMEM;
        int r = pool_open(dst, dir, true, prep, &pool, err);
        if (r < 0)
                return r;
        if (!pool.ours)
                (void)virStoragePoolRefresh(pool.pool, 0);
        virStorageVolPtr vol = virStorageVolLookupByName(pool.pool, base_of(path));
        if (vol) {
                virStorageVolFree(vol);
                pool_close(&pool);
                return fail_message(err, -EEXIST, "the destination already has %s: left alone (a leftover of an earlier attempt? "
                                    "remove it there if nothing uses it)", path);
        }
        vol = virStorageVolCreateXML(pool.pool, xml, 0);
        if (!vol)
                r = fail_message(err, -EIO, "cannot create %s on the destination: %s", path, virt_last_error());
        else if (strv_push(&prep->volumes, path) < 0)
                r = -ENOMEM;
        if (vol && ret) {
                *ret = vol;
                *ret_pool = pool;
                return r;
        }
        if (vol)
                virStorageVolFree(vol);
        pool_close(&pool);
        return r;
}

static int upload_backing(virConnectPtr dst, const char *path, int fd, unsigned long long size, struct block_prep *prep, char **err)
{
        _cleanup_free_ char *xml = NULL, *ename = xml_escape(base_of(path));
        virStorageVolPtr vol = NULL;
        struct pool_ref pool = { 0 };
        if (!ename || asprintf(&xml, "<volume type='file'><name>%s</name><capacity unit='bytes'>%llu</capacity>"
                               "<allocation unit='bytes'>0</allocation><target><format type='raw'/>"
                               "<permissions><mode>0644</mode></permissions></target></volume>", ename, size) < 0)
                return -ENOMEM;
        int r = create_volume(dst, path, xml, prep, &vol, &pool, err);
        if (r < 0 || !vol) {
                if (vol)
                        virStorageVolFree(vol);
                pool_close(&pool);
                return r;
        }
        if (upload_send_file(dst, vol, fd, size) < 0)
                r = fail_message(err, -EIO, "cannot send %s to the destination: %s", path, virt_last_error());
        else {
                int same = upload_same_bytes(dst, vol, fd, size);
                if (same != 1)
                        r = fail_message(err, same == 0 ? -EBADMSG : -EIO, "%s on the destination %s", path,
                                         same == 0 ? "differs from this host's after the copy" : "cannot be read back");
        }
        virStorageVolFree(vol);
        pool_close(&pool);
        return r;
}

static int create_image(virConnectPtr dst, const struct block_disk *d, unsigned long long capacity, struct block_prep *prep, char **err)
{
        _cleanup_free_ char *xml = NULL, *ename = xml_escape(base_of(d->path)), *eformat = xml_escape(d->format), *bs = NULL;
        if (!ename || !eformat)
                return -ENOMEM;
        if (d->backing) {
                _cleanup_free_ char *eb = xml_escape(d->backing), *ebf = xml_escape(d->backing_format ? d->backing_format : "raw");
                if (!eb || !ebf || asprintf(&bs, "<backingStore><path>%s</path><format type='%s'/></backingStore>", eb, ebf) < 0)
                        return -ENOMEM;
        }
        if (asprintf(&xml, "<volume type='file'><name>%s</name><capacity unit='bytes'>%llu</capacity>"
                     "<allocation unit='bytes'>0</allocation><target><format type='%s'/>"
                     "<permissions><mode>0600</mode></permissions></target>%s</volume>",
                     ename, capacity, eformat, bs ? bs : "") < 0)
                return -ENOMEM;
        return create_volume(dst, d->path, xml, prep, NULL, NULL, err);
}

/* The free-space check: what the copies need against what each destination
 * filesystem has (directories whose filesystems report the same size and
 * free space are taken as one). */
struct space {
        char *dir;
        unsigned long long need, avail, cap;
};

static int space_add(struct space **v, size_t *n, const char *dir, unsigned long long need)
{
        for (size_t i = 0; i < *n; i++)
                if (streq((*v)[i].dir, dir)) {
                        (*v)[i].need += need;
                        return 0;
                }
        struct space *nv = realloc(*v, (*n + 1) * sizeof(**v));
        if (!nv)
                return -ENOMEM;
        *v = nv;
        nv[*n] = (struct space) { .dir = strdup(dir), .need = need };
        return nv[(*n)++].dir ? 0 : -ENOMEM;
}

static int check_space(virConnectPtr dst, struct space *v, size_t n, unsigned long long *total, char **err)
{
        for (size_t i = 0; i < n; i++) {
                int r = dest_space(dst, v[i].dir, &v[i].avail, &v[i].cap, err);
                if (r < 0)
                        return r;
        }
        *total = 0;
        for (size_t i = 0; i < n; i++) {
                unsigned long long need = 0;
                bool first = true;
                for (size_t j = 0; j < n; j++)
                        if (v[j].avail == v[i].avail && v[j].cap == v[i].cap) {
                                first &= j >= i;
                                need += v[j].need;
                        }
                if (!first)
                        continue;
                *total += need;
                if (need > v[i].avail)
                        return fail_message(err, -ENOSPC, "the destination has %llu MiB free for %s but the copy needs %llu MiB "
                                            "(%llu bytes; the images' allocated size here and backing files it lacks): free "
                                            "space there or choose another destination", v[i].avail >> 20, v[i].dir, (need + (1 << 20) - 1) >> 20,
                                            need);
        }
        return 0;
}

int block_prepare(virConnectPtr dst, virDomainPtr dom, const struct block_plan *plan, char *const *guest_files,
                  void (*progress)(void *ctx, const char *line), void *ctx, struct block_prep *prep, char **err)
{
        _cleanup_free_ unsigned long long *cap = calloc(plan->n + 1, sizeof(*cap));
        _cleanup_free_ int *fds = calloc(plan->n + 1, sizeof(*fds));
        _cleanup_free_ unsigned long long *bsize = calloc(plan->n + 1, sizeof(*bsize));
        _cleanup_strv_ char **missing = NULL;
        struct space *sp = NULL;
        size_t nsp = 0;
        int r = 0;

        memset(prep, 0, sizeof(*prep));
        if (err)
                *err = NULL;
        if (!cap || !fds || !bsize)
                return -ENOMEM;
        for (size_t i = 0; i < plan->n; i++)
                fds[i] = -1;
        for (size_t i = 0; guest_files && guest_files[i]; i++)
                if (strv_push(&prep->guest_files, guest_files[i]) < 0) {
                        r = -ENOMEM;
                        goto out;
                }

        /* what is needed where, before anything is created */
        for (size_t i = 0; i < plan->n && r == 0; i++) {
                const struct block_disk *d = &plan->v[i];
                virDomainBlockInfo bi;
                _cleanup_free_ char *dir = dir_of(d->path);
                if (!dir) {
                        r = -ENOMEM;
                        break;
                }
                if (virDomainGetBlockInfo(dom, d->target, &bi, 0) < 0) {
                        r = fail_message(err, -EIO, "cannot read the size of %s (%s) here: %s", d->target, d->path, virt_last_error());
                        break;
                }
                cap[i] = bi.capacity;
                r = space_add(&sp, &nsp, dir, bi.allocation);
                if (r < 0 || !d->backing || strv_contains(missing, d->backing))
                        continue;
                _cleanup_free_ char *bdir = dir_of(d->backing);
                fds[i] = open_local(d->backing, &bsize[i], err);
                if (fds[i] < 0) {
                        r = fds[i];
                        break;
                }
                if (!bdir) {
                        r = -ENOMEM;
                        break;
                }
                r = backing_there(dst, d->backing, fds[i], bsize[i], err);
                if (r == 1) {
                        prep->n_reused++;
                        say(progress, ctx, "the destination has the same backing file %s (%llu bytes, compared byte for byte): "
                            "reused", d->backing, bsize[i]);
                        r = 0;
                } else if (r == 0 && ((r = strv_push(&missing, d->backing)) < 0 || (r = space_add(&sp, &nsp, bdir, bsize[i])) < 0))
                        break;
        }
        if (r == 0)
                r = check_space(dst, sp, nsp, &prep->reserved, err);
        if (r < 0)
                goto out;
        say(progress, ctx, "the destination has room: the copy needs %llu MiB", (prep->reserved + (1 << 20) - 1) >> 20);

        /* the backing files it lacks, then the images */
        for (size_t i = 0; i < plan->n && r == 0; i++) {
                const struct block_disk *d = &plan->v[i];
                if (fds[i] < 0 || !strv_contains(missing, d->backing))
                        continue;
                unsigned long long t0 = now_ms();
                r = upload_backing(dst, d->backing, fds[i], bsize[i], prep, err);
                if (r == 0) {
                        prep->uploaded += bsize[i];
                        strv_remove(missing, d->backing);
                        say(progress, ctx, "uploaded the backing file %s to the destination (%llu bytes in %.1f s, read back identical)",
                            d->backing, bsize[i], (now_ms() - t0) / 1000.0);
                }
        }
        for (size_t i = 0; i < plan->n && r == 0; i++) {
                const struct block_disk *d = &plan->v[i];
                r = create_image(dst, d, cap[i], prep, err);
                if (r == 0)
                        say(progress, ctx, "created %s on the destination (%s, %llu bytes virtual%s%s)", d->path, d->format, cap[i],
                            d->backing ? ", on " : "", d->backing ? d->backing : "");
        }
out:
        for (size_t i = 0; i < plan->n; i++)
                if (fds[i] >= 0)
                        close(fds[i]);
        for (size_t i = 0; i < nsp; i++)
                free(sp[i].dir);
        free(sp);
        if (r < 0) {
                _cleanup_free_ char *uerr = NULL;
                size_t created = strv_length(prep->volumes) + strv_length(prep->dirs);
                if (block_prep_undo(dst, prep, &uerr) < 0 && err && *err) {
                        char *m = NULL;
                        if (asprintf(&m, "%s; and: %s", *err, uerr ? uerr : "?") >= 0) {
                                free(*err);
                                *err = m;
                        }
                } else if (created)
                        say(progress, ctx, "removed from the destination the %zu things created for this copy", created);
        }
        return r;
}

/* Whether xml names path (XML-escaped) whole, as an attribute's or an
 * element's value: not as the start of a longer name (disk in disk.eph0,
 * a base in the base resized from it, base_20). */
static bool names_path(const char *xml, const char *epath)
{
        size_t l = strlen(epath);
        for (const char *s = xml; l && (s = strstr(s, epath)); s++)
                if (s > xml && strchr("'\">", s[-1]) && s[l] && strchr("'\"<", s[l]))
                        return true;
        return false;
}

/* Whether a domain on dst names path (a backing file some guest there
 * already uses must stay). */
static bool dest_uses(virConnectPtr dst, const char *path)
{
        virDomainPtr *doms = NULL;
        int n = virConnectListAllDomains(dst, &doms, 0);
        bool used = n < 0; /* cannot tell: keep it */
        _cleanup_free_ char *epath = xml_escape(path);
        for (int i = 0; i < n; i++) {
                _cleanup_free_ char *xml = used ? NULL : virDomainGetXMLDesc(doms[i], 0);
                if (xml && epath && names_path(xml, epath))
                        used = true;
                virDomainFree(doms[i]);
        }
        free(doms);
        return used;
}

int block_prep_undo(virConnectPtr dst, struct block_prep *prep, char **err)
{
        int r = 0;
        size_t n = strv_length(prep->volumes);
        for (size_t i = n; i-- > 0;) {
                const char *path = prep->volumes[i];
                struct pool_ref pool = { 0 };
                virStorageVolPtr vol = NULL;
                _cleanup_free_ char *lerr = NULL;
                int q = dest_lookup(dst, path, &pool, &vol, &lerr);
                if (q > 0 && dest_uses(dst, path))
                        q = fail_message(&lerr, -EBUSY, "%s on the destination is used by a guest there now: left", path);
                else if (q > 0 && virStorageVolDelete(vol, 0) < 0)
                        q = fail_message(&lerr, -EIO, "cannot remove %s from the destination: %s", path, virt_last_error());
                if (vol)
                        virStorageVolFree(vol);
                pool_close(&pool);
                if (q < 0) {
                        r = -EIO;
                        set_message(err, "%s", lerr ? lerr : path);
                }
        }
        strv_free(prep->volumes);
        prep->volumes = NULL;

        for (size_t i = strv_length(prep->dirs); i-- > 0;) {
                const char *dir = prep->dirs[i];
                _cleanup_strv_ char **names = calloc(1, sizeof(char *));
                struct pool_ref pool = { 0 };
                struct block_prep none = { 0 };
                _cleanup_free_ char *lerr = NULL;
                if (!names)
                        return -ENOMEM;
                for (size_t k = 0; prep->guest_files && prep->guest_files[k]; k++) {
                        const char *rel = path_below(prep->guest_files[k], dir);
                        if (rel && !strchr(rel, '/') && strv_push_unique(&names, rel) < 0)
                                return -ENOMEM;
                }
                int q = pool_open(dst, dir, false, &none, &pool, &lerr);
                if (q == -ENOENT)
                        continue;
                bool alone = q == 0 && pool.ours && upload_clear_dir(pool.pool, names);
                pool_close(&pool);
                if (q == 0 && alone)
                        q = upload_remove_dir(dst, dir, &lerr);
                else if (q == 0)
                        q = fail_message(&lerr, -EIO, "%s on the destination holds files migkit did not put there: the directory is left", dir);
                if (q < 0) {
                        r = -EIO;
                        set_message(err, "%s", lerr ? lerr : dir);
                }
        }
        strv_free(prep->dirs);
        prep->dirs = NULL;
        return r;
}

void block_prep_free(struct block_prep *prep)
{
        strv_free(prep->volumes);
        strv_free(prep->dirs);
        strv_free(prep->guest_files);
        memset(prep, 0, sizeof(*prep));
}
