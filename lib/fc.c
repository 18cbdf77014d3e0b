/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "fc.h"

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>

#include "util.h"

/* ---- sysfs ---------------------------------------------------------------- */

struct rport {
        unsigned host, channel, number;
        uint64_t wwpn;
        char state[32];
        long target_id;
};

static bool state_is_online(const char *s)
{
        return streq(s, "Online") || streq(s, "Marginal");
}

static int cmp_hba(const void *a, const void *b)
{
        const struct fc_hba *x = a, *y = b;
        return x->host < y->host ? -1 : x->host > y->host;
}

static int cmp_rport(const void *a, const void *b)
{
        const struct rport *x = a, *y = b;
        if (x->host != y->host)
                return x->host < y->host ? -1 : 1;
        if (x->channel != y->channel)
                return x->channel < y->channel ? -1 : 1;
        return x->number < y->number ? -1 : x->number > y->number;
}

/* Opens <sysfs>/<sub> to read its entries: 1 with *ret_dir (its path) and
 * *ret_d, 0 when it does not exist, or -errno. */
static int open_class(const char *sysfs, const char *sub, char **ret_dir, DIR **ret_d)
{
        if (!(*ret_dir = path_join(sysfs, sub)))
                return -ENOMEM;
        *ret_d = opendir(*ret_dir);
        if (!*ret_d)
                return errno == ENOENT ? 0 : -errno;
        return 1;
}

static int read_hbas(const char *sysfs, struct fc_plan *plan)
{
        _cleanup_free_ char *dir = NULL;
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;

        int r = open_class(sysfs, "class/fc_host", &dir, &d);
        if (r <= 0)
                return r; /* no FC transport: no FC HBA */
        while ((errno = 0, de = readdir(d))) {
                unsigned host;
                int len = 0;
                if (sscanf(de->d_name, "host%u%n", &host, &len) != 1 || de->d_name[len])
                        continue;
                _cleanup_free_ char *hd = path_join(dir, de->d_name);
                _cleanup_free_ char *sh = NULL;
                char name[64];
                struct fc_hba h = { .host = host };
                if (!hd || asprintf(&sh, "%s/class/scsi_host/host%u", sysfs, host) < 0)
                        return -ENOMEM;
                if (read_one_line(hd, "port_name", name, sizeof(name)) < 0 || fc_parse_wwpn(name, &h.wwpn) < 0)
                        h.wwpn = UINT64_MAX;
                if (read_one_line(hd, "port_state", h.state, sizeof(h.state)) < 0)
                        strcpy(h.state, "Unknown");
                h.online = streq(h.state, "Online");
                h.can_scan = file_present(sh, "scan");
                h.can_lip = file_present(hd, "issue_lip");
                struct fc_hba *nh = realloc(plan->hbas, (plan->n_hbas + 1) * sizeof(*nh));
                if (!nh)
                        return -ENOMEM;
                plan->hbas = nh;
                nh[plan->n_hbas++] = h;
        }
        if (errno)
                return -errno;
        qsort(plan->hbas, plan->n_hbas, sizeof(*plan->hbas), cmp_hba);
        return 0;
}

static int read_rports(const char *sysfs, struct rport **ret, size_t *n_ret)
{
        _cleanup_free_ char *dir = NULL;
        _cleanup_closedir_ DIR *d = NULL;
        _cleanup_free_ struct rport *rp = NULL;
        size_t n = 0;
        struct dirent *de;

        int k = open_class(sysfs, "class/fc_remote_ports", &dir, &d);
        if (k <= 0)
                return k;
        while ((errno = 0, de = readdir(d))) {
                struct rport r = { 0 };
                char buf[64];
                int len = 0;
                if (sscanf(de->d_name, "rport-%u:%u-%u%n", &r.host, &r.channel, &r.number, &len) != 3 || de->d_name[len])
                        continue;
                _cleanup_free_ char *rd = path_join(dir, de->d_name);
                if (!rd)
                        return -ENOMEM;
                if (read_one_line(rd, "port_name", buf, sizeof(buf)) < 0 || fc_parse_wwpn(buf, &r.wwpn) < 0)
                        continue;
                if (read_one_line(rd, "port_state", r.state, sizeof(r.state)) < 0)
                        strcpy(r.state, "Unknown");
                char *end;
                if (read_one_line(rd, "scsi_target_id", buf, sizeof(buf)) < 0 || (r.target_id = strtol(buf, &end, 10), *end))
                        r.target_id = -1;
                struct rport *nr = realloc(rp, (n + 1) * sizeof(*nr));
                if (!nr)
                        return -ENOMEM;
                rp = nr;
                rp[n++] = r;
        }
        if (errno)
                return -errno;
        if (n)
                qsort(rp, n, sizeof(*rp), cmp_rport);
        *ret = TAKE_PTR(rp);
        *n_ret = n;
        return 0;
}

/* ---- planning ------------------------------------------------------------- */

struct target {
        unsigned host, channel;
        long id;              /* -1: wildcard scan of the whole HBA */
        bool any_lun;
        uint64_t lun;
        unsigned n_luns;      /* distinct LUNs asked for */
};

struct planner {
        struct target *t;
        size_t n;
};

static int add_target(struct planner *p, unsigned host, unsigned channel, long id, bool any_lun, uint64_t lun)
{
        for (size_t i = 0; i < p->n; i++) {
                struct target *t = &p->t[i];
                if (t->host != host || t->channel != channel || t->id != id)
                        continue;
                if (any_lun)
                        t->any_lun = true;
                else if (t->n_luns == 0 || t->lun != lun) {
                        t->lun = lun;
                        t->n_luns++;
                }
                return 0;
        }
        struct target *nt = realloc(p->t, (p->n + 1) * sizeof(*nt));
        if (!nt)
                return -ENOMEM;
        p->t = nt;
        nt[p->n++] = (struct target){ .host = host, .channel = channel, .id = id, .any_lun = any_lun, .lun = lun, .n_luns = !any_lun };
        return 0;
}

/* Appends ", "-separated text to a malloc'ed string. */
static int appendf(char **s, const char *fmt, ...) _printf_(2, 3);
static int appendf(char **s, const char *fmt, ...)
{
        _cleanup_free_ char *add = NULL;
        va_list ap;
        va_start(ap, fmt);
        int r = vasprintf(&add, fmt, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        char *n = NULL;
        if (asprintf(&n, "%s%s%s", *s ? *s : "", *s ? ", " : "", add) < 0)
                return -ENOMEM;
        free(*s);
        *s = n;
        return 0;
}

static int add_write(struct fc_plan *plan, const char *sysfs, unsigned host, bool lip, const char *data)
{
        struct fc_write *nw = realloc(plan->writes, (plan->n_writes + 1) * sizeof(*nw));
        if (!nw)
                return -ENOMEM;
        plan->writes = nw;
        struct fc_write *w = &nw[plan->n_writes];
        memset(w, 0, sizeof(*w));
        w->host = host;
        if ((lip ? asprintf(&w->path, "%s/class/fc_host/host%u/issue_lip", sysfs, host)
                 : asprintf(&w->path, "%s/class/scsi_host/host%u/scan", sysfs, host)) < 0)
                return -ENOMEM;
        snprintf(w->data, sizeof(w->data), "%s", data);
        plan->n_writes++;
        return 0;
}

static const struct fc_hba *find_hba(const struct fc_plan *plan, unsigned host)
{
        for (size_t i = 0; i < plan->n_hbas; i++)
                if (plan->hbas[i].host == host)
                        return &plan->hbas[i];
        return NULL;
}

static int plan_request(struct fc_plan *plan, struct planner *pl, const struct rport *rp, size_t n_rp,
                        bool wildcard, bool *want_lip, struct fc_scan_req *rq)
{
        _cleanup_free_ char *notes = NULL;
        unsigned matched = 0;
        int r;

        if (plan->n_hbas == 0)
                return (rq->why = strdup("this host has no FC HBA (nothing in class/fc_host)")) ? 0 : -ENOMEM;

        for (size_t i = 0; !rq->any_target && i < n_rp; i++) {
                const struct rport *p = &rp[i];
                const struct fc_hba *h = find_hba(plan, p->host);
                if (p->wwpn != rq->wwpn || !h)
                        continue;
                if (!h->online)
                        r = appendf(&notes, "host%u is %s", h->host, h->state);
                else if (p->target_id < 0)
                        r = appendf(&notes, "rport-%u:%u-%u on host%u is not an FCP target", p->host, p->channel, p->number, p->host);
                else if (!state_is_online(p->state))
                        r = appendf(&notes, "rport-%u:%u-%u on host%u is %s", p->host, p->channel, p->number, p->host, p->state);
                else if (!h->can_scan)
                        r = appendf(&notes, "host%u has no scsi_host scan file", h->host);
                else {
                        r = add_target(pl, p->host, p->channel, p->target_id, rq->any_lun, rq->lun);
                        if (r == 0)
                                r = appendf(&rq->scanned, "host%u (target %u:%ld via rport-%u:%u-%u)", p->host, p->channel,
                                            p->target_id, p->host, p->channel, p->number);
                        matched++;
                }
                if (r < 0)
                        return r;
        }
        if (matched)
                return 0;

        if (rq->any_target)
                r = asprintf(&rq->why, "no target WWPN is known for it%s", wildcard ? "" : " and [fc] wildcard-scan is off");
        else
                r = asprintf(&rq->why, "target WWPN 0x%016" PRIx64 " is not an online FCP target of any online FC HBA%s%s%s%s",
                             rq->wwpn, notes ? " (" : "", notes ? notes : "", notes ? ")" : "",
                             wildcard ? "" : " and [fc] wildcard-scan is off");
        if (r < 0) {
                rq->why = NULL;
                return -ENOMEM;
        }
        *want_lip = true;
        if (!wildcard)
                return 0;
        for (size_t i = 0; i < plan->n_hbas; i++) {
                const struct fc_hba *h = &plan->hbas[i];
                if (!h->online || !h->can_scan)
                        continue;
                r = add_target(pl, h->host, 0, -1, rq->any_lun, rq->lun);
                if (r == 0)
                        r = appendf(&rq->scanned, "host%u (all targets)", h->host);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int cmp_target(const void *a, const void *b)
{
        const struct target *x = a, *y = b;
        if (x->host != y->host)
                return x->host < y->host ? -1 : 1;
        if ((x->id < 0) != (y->id < 0)) /* the wildcard last */
                return x->id < 0 ? 1 : -1;
        if (x->channel != y->channel)
                return x->channel < y->channel ? -1 : 1;
        return x->id < y->id ? -1 : x->id > y->id;
}

int fc_plan_build(const char *sysfs, bool wildcard, bool lip, struct fc_scan_req *reqs, size_t n_reqs,
                  struct fc_plan *plan)
{
        _cleanup_free_ struct rport *rp = NULL;
        struct planner pl = { 0 };
        size_t n_rp = 0;
        bool want_lip = false;
        int r;

        memset(plan, 0, sizeof(*plan));
        r = read_hbas(sysfs, plan);
        if (r == 0)
                r = read_rports(sysfs, &rp, &n_rp);
        for (size_t i = 0; r == 0 && i < n_reqs; i++)
                r = plan_request(plan, &pl, rp, n_rp, wildcard, &want_lip, &reqs[i]);
        if (r == 0 && pl.n)
                qsort(pl.t, pl.n, sizeof(*pl.t), cmp_target);

        for (size_t i = 0; r == 0 && i < plan->n_hbas; i++) {
                const struct fc_hba *h = &plan->hbas[i];
                if (lip && want_lip && h->online && h->can_lip)
                        r = add_write(plan, sysfs, h->host, true, "1\n");
                for (size_t j = 0; r == 0 && j < pl.n; j++) {
                        const struct target *t = &pl.t[j];
                        char data[48], lun[24] = "-";
                        if (t->host != h->host)
                                continue;
                        if (!t->any_lun && t->n_luns == 1)
                                snprintf(lun, sizeof(lun), "%" PRIu64, t->lun);
                        if (t->id < 0)
                                snprintf(data, sizeof(data), "- - %s\n", lun);
                        else
                                snprintf(data, sizeof(data), "%u %ld %s\n", t->channel, t->id, lun);
                        r = add_write(plan, sysfs, h->host, false, data);
                }
        }
        free(pl.t);
        if (r < 0)
                fc_plan_free(plan);
        return r;
}

void fc_plan_print(const struct fc_plan *plan, FILE *f, const char *prefix)
{
        for (size_t i = 0; i < plan->n_writes; i++) {
                const struct fc_write *w = &plan->writes[i];
                fprintf(f, "%swrite '%.*s' to %s\n", prefix, (int)strcspn(w->data, "\n"), w->data, w->path);
        }
}

char *fc_hbas_describe(const struct fc_plan *plan)
{
        char *s = NULL;
        for (size_t i = 0; i < plan->n_hbas; i++) {
                const struct fc_hba *h = &plan->hbas[i];
                int r = h->wwpn == UINT64_MAX ? appendf(&s, "host%u %s", h->host, h->state)
                                              : appendf(&s, "host%u 0x%016" PRIx64 " %s", h->host, h->wwpn, h->state);
                if (r < 0) {
                        free(s);
                        return NULL;
                }
        }
        return s ? s : strdup("none");
}

void fc_plan_free(struct fc_plan *plan)
{
        for (size_t i = 0; i < plan->n_writes; i++)
                free(plan->writes[i].path);
        free(plan->writes);
        free(plan->hbas);
        memset(plan, 0, sizeof(*plan));
}

void fc_scan_req_done(struct fc_scan_req *req)
{
        free(req->scanned);
        free(req->why);
        req->scanned = req->why = NULL;
}

/* ---- applying ------------------------------------------------------------- */

/* A scan write runs in the kernel until the scan is done, in uninterruptible
 * sleep (the host's scan_mutex, SCSI command timeouts): a thread stuck there
 * would keep the hook's process from exiting past its deadline. So each HBA
 * gets a detached worker process, in a session of its own, with /dev/null
 * for stdio (so libvirt's pipes close when the hook exits) and only the
 * write end of a result pipe. The caller stops listening at the timeout;
 * a worker still in the kernel finishes on its own. */

struct result {
        uint32_t index;
        int32_t result;
};

static int write_one(const char *path, const char *data)
{
        _cleanup_close_ int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);
        if (fd < 0)
                return -errno;
        ssize_t n;
        do
                n = write(fd, data, strlen(data));
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return -errno;
        return (size_t)n == strlen(data) ? 0 : -EIO;
}

static _Noreturn void worker(const struct fc_plan *plan, unsigned host, int out)
{
        /* keep nothing of the caller's but the result pipe (as fd 3) */
        if (out != 3 && dup2(out, 3) == 3)
                out = 3;
        close_range((unsigned)out + 1, ~0U, 0);
        int null = open("/dev/null", O_RDWR | O_CLOEXEC);
        signal(SIGPIPE, SIG_IGN); /* the caller may have stopped listening */
        if (null >= 0) {
                dup2(null, STDIN_FILENO);
                dup2(null, STDOUT_FILENO);
                dup2(null, STDERR_FILENO);
        }
        for (size_t i = 0; i < plan->n_writes; i++) {
                if (plan->writes[i].host != host)
                        continue;
                struct result res = { .index = (uint32_t)i, .result = write_one(plan->writes[i].path, plan->writes[i].data) };
                /* the caller may be gone (EPIPE): the scans still get done */
                (void)!write(out, &res, sizeof(res));
        }
        _exit(0);
}

/* Starts the worker for host through an intermediate child, so the worker
 * is re-parented at once and never left as our zombie. */
static int spawn_worker(const struct fc_plan *plan, unsigned host, int out)
{
        pid_t pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                setsid();
                pid_t w = fork();
                if (w == 0)
                        worker(plan, host, out);
                _exit(w < 0 ? 1 : 0);
        }
        int st;
        while (waitpid(pid, &st, 0) < 0)
                if (errno != EINTR)
                        return -errno;
        return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -EAGAIN;
}

int fc_plan_apply(struct fc_plan *plan, unsigned timeout_ms)
{
        int p[2], r = 0;
        size_t pending = 0;

        for (size_t i = 0; i < plan->n_writes; i++)
                plan->writes[i].result = -ETIMEDOUT;
        if (plan->n_writes == 0)
                return 0;
        if (pipe2(p, O_CLOEXEC) < 0)
                return -errno;
        _cleanup_close_ int in = p[0];
        {
                _cleanup_close_ int out = p[1];
                /* one worker per HBA, in the order the HBAs first appear */
                for (size_t i = 0; i < plan->n_writes; i++) {
                        bool seen = false;
                        for (size_t j = 0; j < i; j++)
                                seen |= plan->writes[j].host == plan->writes[i].host;
                        if (seen)
                                continue;
                        int q = spawn_worker(plan, plan->writes[i].host, out);
                        if (q < 0) {
                                for (size_t j = i; j < plan->n_writes; j++)
                                        if (plan->writes[j].host == plan->writes[i].host)
                                                plan->writes[j].result = q;
                                continue;
                        }
                        for (size_t j = i; j < plan->n_writes; j++)
                                pending += plan->writes[j].host == plan->writes[i].host;
                }
        }

        uint64_t until = now_ms() + timeout_ms;
        while (pending > 0) {
                uint64_t now = now_ms();
                if (now >= until)
                        break;
                struct pollfd pfd = { .fd = in, .events = POLLIN };
                int n = poll(&pfd, 1, (int)(until - now));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                struct result res;
                ssize_t k = read(in, &res, sizeof(res));
                if (k == 0)
                        break; /* every worker is gone */
                if (k != (ssize_t)sizeof(res) || res.index >= plan->n_writes)
                        continue;
                plan->writes[res.index].result = res.result;
                pending--;
        }
        for (size_t i = 0; i < plan->n_writes && r == 0; i++)
                r = plan->writes[i].result;
        return r;
}

/* ---- WWID ----------------------------------------------------------------- */

/* sysfs wwid ("naa.600a...", "eui.", "t10.") in udev form ("3600a..."). */
static bool sysfs_wwid_matches(const char *sys, const char *wwid)
{
        char w[FC_WWID_MAX + 2];
        return fc_wwid_from_sysfs(sys, w, sizeof(w)) == 0 && strcasecmp(w, wwid) == 0;
}

int fc_find_wwid(const char *sysfs, const char *wwid, char ***hctls)
{
        _cleanup_free_ char *dir = NULL;
        _cleanup_closedir_ DIR *d = NULL;
        _cleanup_strv_ char **found = NULL;
        struct dirent *de;
        int n = 0;

        int r = open_class(sysfs, "class/scsi_device", &dir, &d);
        if (r <= 0)
                return r;
        while ((errno = 0, de = readdir(d))) {
                char buf[256];
                if (de->d_name[0] == '.')
                        continue;
                _cleanup_free_ char *dev = NULL;
                if (asprintf(&dev, "%s/%s/device", dir, de->d_name) < 0)
                        return -ENOMEM;
                if (read_one_line(dev, "wwid", buf, sizeof(buf)) < 0 || !sysfs_wwid_matches(buf, wwid))
                        continue;
                n++;
                if (hctls && strv_push(&found, de->d_name) < 0)
                        return -ENOMEM;
        }
        if (errno)
                return -errno;
        if (hctls)
                *hctls = TAKE_PTR(found);
        return n;
}

