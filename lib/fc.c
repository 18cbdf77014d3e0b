/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "fc.h"

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>

#include "util.h"

/* ---- names ---------------------------------------------------------------- */

int fc_parse_wwpn(const char *s, uint64_t *ret)
{
        uint64_t v = 0;
        unsigned digits = 0;

        if (!s)
                return -EINVAL;
        if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
                s += 2;
        for (; *s; s++) {
                if (*s == ':' && digits > 0 && digits % 2 == 0 && s[1])
                        continue;
                if (!isxdigit((unsigned char)*s) || ++digits > 16)
                        return -EINVAL;
                v = v << 4 | (uint64_t)(isdigit((unsigned char)*s) ? *s - '0' : (tolower((unsigned char)*s) - 'a' + 10));
        }
        if (digits != 16)
                return -EINVAL;
        *ret = v;
        return 0;
}

static int parse_u64(const char *s, int base, uint64_t *ret)
{
        char *end;
        /* strtoull would skip blanks and take a sign: only digits of base */
        if (!*s || !(base == 16 ? isxdigit((unsigned char)*s) : isdigit((unsigned char)*s)))
                return -EINVAL;
        errno = 0;
        unsigned long long v = strtoull(s, &end, base);
        if (errno || *end)
                return -EINVAL;
        *ret = v;
        return 0;
}

int fc_parse_lun(const char *s, uint64_t *ret)
{
        uint64_t v;
        if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
                /* path_id: "0x%04lx%04lx00000000" of (L & 0xffff, L >> 16 & 0xffff) */
                if (strlen(s) != 18 || strspn(s + 2, "0123456789abcdefABCDEF") != 16 || parse_u64(s + 2, 16, &v) < 0 ||
                    (v & 0xffffffffULL))
                        return -EINVAL;
                *ret = (v >> 48) | ((v >> 32) & 0xffff) << 16;
                return 0;
        }
        if (s[0] == '0' && s[1]) /* udev never writes a leading 0; the kernel would read it as octal */
                return -EINVAL;
        if (parse_u64(s, 10, &v) < 0)
                return -EINVAL;
        *ret = v;
        return 0;
}

void fc_format_lun(uint64_t lun, char *buf, size_t size)
{
        if (lun < 256)
                snprintf(buf, size, "%" PRIu64, lun);
        else
                snprintf(buf, size, "0x%04" PRIx64 "%04" PRIx64 "00000000", lun & 0xffff, (lun >> 16) & 0xffff);
}

bool fc_name_is_valid(const char *s)
{
        size_t n = strlen(s);
        if (n == 0 || n > FC_WWID_MAX || streq(s, ".") || streq(s, ".."))
                return false;
        for (; *s; s++)
                if (!isalnum((unsigned char)*s) && !strchr("._:-", *s))
                        return false;
        return true;
}

/* A map name that is a WWID in udev form (NAA "3" or EUI "2" + hex). */
static bool looks_like_wwid(const char *s)
{
        size_t n = strlen(s);
        if ((s[0] != '3' && s[0] != '2') || n < 17 || n > 33)
                return false;
        for (s++; *s; s++)
                if (!isxdigit((unsigned char)*s))
                        return false;
        return true;
}

static bool has_dir_suffix(const char *dir, size_t len, const char *suffix)
{
        size_t n = strlen(suffix);
        return len >= n && memcmp(dir + len - n, suffix, n) == 0 && (len == n || dir[len - n - 1] == '/');
}

static void lowercase(char *s)
{
        for (; *s; s++)
                *s = (char)tolower((unsigned char)*s);
}

static int set_name(char *dst, const char *src)
{
        if (!fc_name_is_valid(src))
                return -EINVAL;
        strcpy(dst, src);
        return 0;
}

int fc_parse_source(const char *path, struct fc_source *ret)
{
        const char *slash = strrchr(path, '/');
        char base[PATH_MAX];
        int r;

        memset(ret, 0, sizeof(*ret));
        if (!slash || strlen(slash + 1) >= sizeof(base))
                return 0;
        size_t dirlen = (size_t)(slash - path);
        strcpy(base, slash + 1);

        /* "-partN": a partition of the LUN; the LUN is what is scanned. */
        char *part = strstr(base, "-part");
        while (part && strstr(part + 1, "-part"))
                part = strstr(part + 1, "-part");
        if (part && part[5] && strspn(part + 5, "0123456789") == strlen(part + 5))
                *part = '\0';

        if (has_dir_suffix(path, dirlen, "disk/by-path")) {
                char *fc = strstr(base, "-fc-"), *lun;
                if (!fc)
                        return 0;
                fc += 4;
                lun = strstr(fc, "-lun-");
                if (!lun)
                        return -EINVAL;
                *lun = '\0';
                if (fc_parse_wwpn(fc, &ret->wwpn) < 0 || strncasecmp(fc, "0x", 2) != 0 || fc_parse_lun(lun + 5, &ret->lun) < 0)
                        return -EINVAL;
                ret->kind = FC_SRC_PATH;
                return 0;
        }
        if (has_dir_suffix(path, dirlen, "disk/by-id")) {
                if (strncmp(base, "wwn-0x", 6) == 0) {
                        if (strlen(base + 6) < 16 || strlen(base + 6) > 32 || strspn(base + 6, "0123456789abcdefABCDEF") != strlen(base + 6))
                                return -EINVAL;
                        ret->wwid[0] = '3';
                        strcpy(ret->wwid + 1, base + 6);
                        lowercase(ret->wwid);
                        ret->kind = FC_SRC_WWID;
                        return 0;
                }
                if (strncmp(base, "scsi-", 5) == 0) {
                        if (!strchr("1238", base[5]) || !base[5])
                                return 0; /* scsi-S<vendor>_<model>_<serial>, scsi-0...: no VPD 0x83 id */
                        if ((r = set_name(ret->wwid, base + 5)) < 0)
                                return r;
                        ret->kind = FC_SRC_WWID;
                        return 0;
                }
                if (strncmp(base, "dm-uuid-mpath-", 14) == 0) {
                        if ((r = set_name(ret->wwid, base + 14)) < 0)
                                return r;
                        strcpy(ret->map, ret->wwid);
                        ret->kind = FC_SRC_MAP;
                        return 0;
                }
                if (strncmp(base, "dm-name-", 8) == 0) {
                        if ((r = set_name(ret->map, base + 8)) < 0)
                                return r;
                        if (looks_like_wwid(ret->map))
                                strcpy(ret->wwid, ret->map);
                        ret->kind = FC_SRC_MAP;
                }
                return 0;
        }
        if (has_dir_suffix(path, dirlen, "mapper")) {
                if (streq(base, "control"))
                        return 0;
                if ((r = set_name(ret->map, slash + 1)) < 0)
                        return r;
                if (looks_like_wwid(ret->map))
                        strcpy(ret->wwid, ret->map);
                ret->kind = FC_SRC_MAP;
        }
        return 0;
}

/* ---- sysfs ---------------------------------------------------------------- */

/* Reads a sysfs attribute into buf without its trailing newline. */
static int read_attr(const char *dir, const char *name, char *buf, size_t size)
{
        _cleanup_free_ char *p = path_join(dir, name), *text = NULL;
        if (!p)
                return -ENOMEM;
        ssize_t n = read_full_file(p, 4096, &text);
        if (n < 0)
                return (int)n;
        text[strcspn(text, "\n")] = '\0';
        if (strlen(text) >= size)
                return -EBADMSG;
        strcpy(buf, text);
        return 0;
}

static bool file_present(const char *dir, const char *name)
{
        _cleanup_free_ char *p = path_join(dir, name);
        struct stat st;
        return p && stat(p, &st) == 0;
}

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

static void closedirp(DIR **d)
{
        if (*d)
                closedir(*d);
}
#define _cleanup_closedir_ _cleanup_(closedirp)

static int read_hbas(const char *sysfs, struct fc_plan *plan)
{
        _cleanup_free_ char *dir = path_join(sysfs, "class/fc_host");
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;

        if (!dir)
                return -ENOMEM;
        d = opendir(dir);
        if (!d)
                return errno == ENOENT ? 0 : -errno; /* no FC transport: no FC HBA */
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
                if (read_attr(hd, "port_name", name, sizeof(name)) < 0 || fc_parse_wwpn(name, &h.wwpn) < 0)
                        h.wwpn = UINT64_MAX;
                if (read_attr(hd, "port_state", h.state, sizeof(h.state)) < 0)
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
        _cleanup_free_ char *dir = path_join(sysfs, "class/fc_remote_ports");
        _cleanup_closedir_ DIR *d = NULL;
        _cleanup_free_ struct rport *rp = NULL;
        size_t n = 0;
        struct dirent *de;

        if (!dir)
                return -ENOMEM;
        d = opendir(dir);
        if (!d)
                return errno == ENOENT ? 0 : -errno;
        while ((errno = 0, de = readdir(d))) {
                struct rport r = { 0 };
                char buf[64];
                int len = 0;
                if (sscanf(de->d_name, "rport-%u:%u-%u%n", &r.host, &r.channel, &r.number, &len) != 3 || de->d_name[len])
                        continue;
                _cleanup_free_ char *rd = path_join(dir, de->d_name);
                if (!rd)
                        return -ENOMEM;
                if (read_attr(rd, "port_name", buf, sizeof(buf)) < 0 || fc_parse_wwpn(buf, &r.wwpn) < 0)
                        continue;
                if (read_attr(rd, "port_state", r.state, sizeof(r.state)) < 0)
                        strcpy(r.state, "Unknown");
                char *end;
                if (read_attr(rd, "scsi_target_id", buf, sizeof(buf)) < 0 || (r.target_id = strtol(buf, &end, 10), *end))
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
        static const struct { const char *prefix; char type; } types[] = { { "naa.", '3' }, { "eui.", '2' }, { "t10.", '1' } };
        for (size_t i = 0; i < ARRAY_SIZE(types); i++)
                if (strncmp(sys, types[i].prefix, 4) == 0)
                        return wwid[0] == types[i].type && strcasecmp(sys + 4, wwid + 1) == 0;
        return false;
}

int fc_find_wwid(const char *sysfs, const char *wwid, char ***hctls)
{
        _cleanup_free_ char *dir = path_join(sysfs, "class/scsi_device");
        _cleanup_closedir_ DIR *d = NULL;
        _cleanup_strv_ char **found = NULL;
        struct dirent *de;
        int n = 0;

        if (!dir)
                return -ENOMEM;
        d = opendir(dir);
        if (!d)
                return errno == ENOENT ? 0 : -errno;
        while ((errno = 0, de = readdir(d))) {
                char buf[256];
                if (de->d_name[0] == '.')
                        continue;
                _cleanup_free_ char *dev = NULL;
                if (asprintf(&dev, "%s/%s/device", dir, de->d_name) < 0)
                        return -ENOMEM;
                if (read_attr(dev, "wwid", buf, sizeof(buf)) < 0 || !sysfs_wwid_matches(buf, wwid))
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

/* ---- removing an unused LUN ------------------------------------------------- */

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
        if (read_attr(dir, "dev", dev, sizeof(dev)) < 0 || strv_contains(l->devs, dev))
                return 0;
        return strv_push(&l->devs, dev);
}

/* Entries of a directory (holders/, slaves/), sorted; a missing one is empty. */
static int list_dir(const char *dir, char ***ret)
{
        struct dirent **names;
        _cleanup_strv_ char **l = NULL;
        int n = scandir(dir, &names, NULL, alphasort), r = 0;
        *ret = NULL;
        if (n < 0)
                return errno == ENOENT || errno == ENOTDIR ? 0 : -errno;
        for (int i = 0; i < n; i++) {
                if (r == 0 && names[i]->d_name[0] != '.')
                        r = strv_push(&l, names[i]->d_name);
                free(names[i]);
        }
        free(names);
        if (r == 0)
                *ret = TAKE_PTR(l);
        return r;
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
                (void)read_attr(dm, "uuid", uuid, sizeof(uuid));
                (void)read_attr(dm, "name", name, sizeof(name));
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
                if (read_attr(ft, "port_name", buf, sizeof(buf)) < 0 || fc_parse_wwpn(buf, &pw) < 0 || pw != wwpn)
                        continue;
                if (read_attr(dev, "wwid", buf, sizeof(buf)) < 0)
                        continue;
                static const struct { const char *prefix; char type; } types[] = { { "naa.", '3' }, { "eui.", '2' }, { "t10.", '1' } };
                for (size_t i = 0; i < ARRAY_SIZE(types); i++) {
                        char w[FC_WWID_MAX + 2];
                        if (strncmp(buf, types[i].prefix, 4) != 0 || strlen(buf + 4) > FC_WWID_MAX - 1)
                                continue;
                        w[0] = types[i].type;
                        strcpy(w + 1, buf + 4);
                        lowercase(w);
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

int fc_lun_check_mounts(struct fc_lun *l, const char *mountinfo)
{
        _cleanup_free_ char *text = NULL;
        ssize_t n = read_full_file(mountinfo, 16 << 20, &text);
        if (n < 0)
                return (int)n;
        for (char *line = text, *next; line && *line; line = next) {
                next = strchr(line, '\n');
                if (next)
                        *next++ = '\0';
                /* id parent maj:min root mountpoint ... */
                char devno[32], mnt[PATH_MAX];
                if (sscanf(line, "%*s %*s %31s %*s %4095s", devno, mnt) != 2 || !strv_contains(l->devs, devno))
                        continue;
                if (add_blocker(l, "device %s is mounted on %s", devno, mnt) < 0)
                        return -ENOMEM;
        }
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
                                (void)read_attr(pd, "comm", comm, sizeof(comm));
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
