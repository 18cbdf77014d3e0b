/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "localcheck.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>

#include "hostmark.h"
#include "instdir.h"
#include "util.h"

#define ADD(...) do { if (preflight_add(p, __VA_ARGS__) < 0) return -ENOMEM; } while (0)

/* Not a directory, a symlink, missing: nothing else can be told. 1 when
 * reported, 0 when path is a directory. */
static int check_path(const char *path, struct preflight *p)
{
        struct stat st;
        if (lstat(path, &st) < 0) {
                _cleanup_free_ char *fix = NULL;
                if (asprintf(&fix, "mkdir -p %s (owned as Nova's instances), or set [paths] instances", path) < 0)
                        return -ENOMEM;
                ADD(CHECK_FAIL, "instances", fix, "%s: %s: the hook cannot create instance directories", path, strerror(errno));
                return 1;
        }
        if (S_ISLNK(st.st_mode)) {
                char t[PATH_MAX];
                ssize_t l = readlink(path, t, sizeof(t) - 1);
                t[l > 0 ? l : 0] = 0;
                ADD(CHECK_FAIL, "instances", "set [paths] instances to the real directory (migkit follows no symlink there)",
                    "%s is a symlink to %s: migkit refuses to create or remove anything through it", path, t);
                return 1;
        }
        if (!S_ISDIR(st.st_mode)) {
                ADD(CHECK_FAIL, "instances", "set [paths] instances to Nova's instances directory", "%s is not a directory", path);
                return 1;
        }
        return 0;
}

/* The filesystem rule, from the open directory. */
static int check_fs(const struct mk_config *cfg, struct preflight *p, bool *local)
{
        struct fs_verdict v;
        _cleanup_free_ char *detail = NULL;
        *local = false;
        int fd = instances_open_decide(cfg, 0, &v, &detail);
        if (fd == -ENOMEM)
                return fd;
        if (fd < 0) {
                ADD(CHECK_WARN, "instances", "check [paths] mountinfo, and that the kernel gives mount ids (Linux >= 5.8, or a "
                    "filesystem with file handles)", "%s; migkit treats it as shared: it removes nothing there",
                    detail ? detail : strerror(-fd));
                return 0;
        }
        close(fd);
        *local = v.local;
        _cleanup_free_ char *via = NULL;
        if (v.path && !streq(v.path, cfg->instances_path) &&
            asprintf(&via, " (%s resolves to %s through a symlinked parent; decided for %s)", cfg->instances_path, v.path, v.path) < 0)
                via = NULL;
        if (v.local)
                ADD(CHECK_OK, "instances", NULL, "%s%s: local, so migkit creates instance directories there and removes them "
                    "after a migration, unless another host marked them (see marks)", v.rule ? v.rule : "?", via ? via : "");
        else
                ADD(CHECK_OK, "instances", NULL, "%s%s: instance directories must exist on every host that runs the guest; "
                    "migkit neither creates nor removes them there (add the type to [filesystems] local if only this "
                    "host ever sees it)", v.rule ? v.rule : "?", via ? via : "");
        fs_verdict_done(&v);
        return 0;
}

/* Why a mark of another host might be there, and what to do. */
static int report_foreign(const struct mk_config *cfg, struct preflight *p, const struct hostmark *l, int n, bool local,
                          const char *self_id)
{
        char host[256] = "", who[256];
        _cleanup_free_ char *list = NULL, *files = NULL;
        bool same_name = false, same_id = false;
        (void)gethostname(host, sizeof(host) - 1);
        for (int i = 0; i < n; i++) {
                if (l[i].self)
                        continue;
                same_name |= l[i].hostname && streq(l[i].hostname, host);
                same_id |= self_id && streq(l[i].id, self_id);
                char *nl = NULL, *nf = NULL;
                if (asprintf(&nl, "%s%s%s", list ? list : "", list ? ", " : "", hostmark_describe(&l[i], time(NULL), who, sizeof(who))) < 0 ||
                    asprintf(&nf, "%s%s%s/%s", files ? files : "", files ? " " : "", cfg->instances_path, l[i].file) < 0) {
                        free(nl);
                        return -ENOMEM;
                }
                free(list);
                free(files);
                list = nl;
                files = nf;
        }
        _cleanup_free_ char *fix = NULL;
        if (asprintf(&fix, "if no other host uses %s (this disk was cloned from that host, or this host's id changed), "
                     "remove %s", cfg->instances_path, files) < 0)
                return -ENOMEM;
        ADD(local ? CHECK_WARN : CHECK_OK, "marks", fix,
            "%s carries the mark of another host: %s; that host sees this directory too, so migkit never removes an instance "
            "directory there%s%s%s", cfg->instances_path, list,
            local ? " (its filesystem type is local: a bind-mounted share, a cluster filesystem, or marks copied with a "
                    "cloned disk)" : "",
            same_name ? "; a mark names this host's own hostname with another id: this host's id changed, or the disk "
                        "was cloned from a host of the same name" : "",
            same_id ? "; a mark carries this host's id under another host name: two hosts share an id (a cloned machine "
                      "id): give each its own (host_uuid in libvirtd.conf, or a new /etc/machine-id)" : "");
        return 0;
}

/* This host's id, its mark (written now when stale), the marks of others. */
static int check_marks(const struct mk_config *cfg, struct preflight *p, bool local)
{
        struct host_id self;
        int r = host_id_get(cfg, &self);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                ADD(CHECK_WARN, "marks", "set host_uuid in libvirtd.conf (or virtqemud.conf), or give the host a machine id "
                    "(systemd-machine-id-setup)", "cannot tell this host's id (no host_uuid in %s/libvirtd.conf or "
                    "virtqemud.conf, no valid %s): migkit marks nothing, and counts every mark as another host's",
                    cfg->libvirt_conf_dir, cfg->machine_id_file);
        int w = r == 0 ? hostmark_touch_root(cfg, &self, time(NULL)) : 0;
        _cleanup_close_ int fd = open(cfg->instances_path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        struct hostmark *l = NULL;
        int n = fd >= 0 ? hostmark_list(fd, r == 0 ? &self : NULL, &l) : -errno;
        if (n == -ENOMEM)
                return n;
        if (n < 0) {
                ADD(CHECK_WARN, "marks", NULL, "cannot read the host marks in %s: %s", cfg->instances_path, strerror(-n));
                return 0;
        }
        int foreign = 0;
        for (int i = 0; i < n; i++)
                foreign += !l[i].self;
        int q = foreign ? report_foreign(cfg, p, l, n, local, r == 0 ? self.id : NULL) : 0;
        hostmark_list_free(l, n);
        if (q < 0)
                return q;
        if (r < 0 || foreign)
                return 0;
        if (w < 0)
                ADD(CHECK_WARN, "marks", "let migkit write there (a read-only mount, or a sandbox)",
                    "this host is %s (%s); its mark cannot be written in %s: %s", self.id, self.source, cfg->instances_path,
                    strerror(-w));
        else
                ADD(CHECK_OK, "marks", NULL, "this host is %s (%s); %s carries only its mark (" HOSTMARK_PREFIX "%s): no other "
                    "host running migkit uses it", self.id, self.source, cfg->instances_path, self.id);
        return 0;
}

int localcheck_instances(const struct mk_config *cfg, struct preflight *p)
{
        bool local;
        int r = check_path(cfg->instances_path, p);
        if (r != 0)
                return r < 0 ? r : 0;
        r = check_fs(cfg, p, &local);
        return r < 0 ? r : check_marks(cfg, p, local);
}
