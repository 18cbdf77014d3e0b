/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "limit.h"

#include <stdarg.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "state.h"
#include "util.h"
#include "validate.h"

#define POLL_MS 200
#define RECORD_MAX 4096
#define STATUS_MAX (16 << 20)

/* ------------------------------------------------------------ outgoing */

static __thread unsigned held; /* slots this thread holds (1 + nested) */

static int slot_open(const struct mk_config *cfg, unsigned i)
{
        _cleanup_free_ char *p = state_outgoing_path(cfg->state_dir, i);
        if (!p)
                return -ENOMEM;
        int fd = open(p, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
        return fd < 0 ? -errno : fd;
}

/* Tries every slot once. Returns the locked fd, -EAGAIN if all are held,
 * or -errno. */
static int slot_try(const struct mk_config *cfg, const char *domain)
{
        for (unsigned i = 0; i < cfg->limit_outgoing; i++) {
                int fd = slot_open(cfg, i);
                if (fd < 0)
                        return fd;
                if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
                        char buf[300];
                        int n = snprintf(buf, sizeof(buf), "%ld %s\n", (long)getpid(), domain);
                        if (ftruncate(fd, 0) == 0)
                                (void)!pwrite(fd, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1, 0);
                        return fd;
                }
                int e = errno;
                close(fd);
                if (e != EWOULDBLOCK)
                        return -e;
        }
        return -EAGAIN;
}

/* "pid 123 (web1), pid 456 (db2)": who holds the slots, from their files. */
static char *slot_holders(const struct mk_config *cfg)
{
        _cleanup_strv_ char **l = NULL;
        for (unsigned i = 0; i < cfg->limit_outgoing; i++) {
                char *text = NULL, *item = NULL;
                _cleanup_free_ char *p = state_outgoing_path(cfg->state_dir, i);
                if (!p || read_full_file(p, 512, &text) <= 0) {
                        free(text);
                        continue;
                }
                long pid = 0;
                char dom[256] = "";
                if (sscanf(text, "%ld %255[^\n]", &pid, dom) >= 1 && asprintf(&item, "pid %ld (%s)", pid, dom) >= 0) {
                        (void)strv_push(&l, item);
                        free(item);
                }
                free(text);
        }
        return l ? strv_join(l, ", ") : strdup("?");
}

static void set_err(char **ret_err, const char *fmt, ...) _printf_(2, 3);
static void set_err(char **ret_err, const char *fmt, ...)
{
        va_list ap;
        if (!ret_err)
                return;
        va_start(ap, fmt);
        *ret_err = strdup_vprintf(fmt, ap);
        va_end(ap);
}

int limit_outgoing_acquire(const struct mk_config *cfg, const char *domain, bool (*cancelled)(void), FILE *notify,
                           int *ret_fd, char **ret_err)
{
        uint64_t t0 = now_ms();
        bool said = false;
        int r;

        *ret_fd = -1;
        if (ret_err)
                *ret_err = NULL;
        if (cfg->limit_outgoing == 0)
                return 0;
        if (held > 0) {
                held++;
                *ret_fd = LIMIT_NESTED;
                return 0;
        }
        r = mkdir_p(cfg->state_dir, 0700);
        if (r < 0) {
                set_err(ret_err, "cannot create the state directory %s for the outgoing slots: %s", cfg->state_dir,
                        strerror(-r));
                return r;
        }
        for (;;) {
                r = slot_try(cfg, domain);
                if (r >= 0) {
                        held = 1;
                        *ret_fd = r;
                        return 0;
                }
                if (r != -EAGAIN) {
                        set_err(ret_err, "cannot take an outgoing slot in %s: %s", cfg->state_dir, strerror(-r));
                        return r;
                }
                uint64_t waited = now_ms() - t0;
                if (cancelled && cancelled()) {
                        set_err(ret_err, "%s: cancelled while waiting for an outgoing slot", domain);
                        return -ECANCELED;
                }
                if (waited >= cfg->limit_outgoing_wait_ms) {
                        _cleanup_free_ char *who = slot_holders(cfg);
                        set_err(ret_err,
                                "%s: this host already runs %u outgoing migration%s ([limits] outgoing = %u: %s); "
                                "waited %llu s ([limits] outgoing-wait); retry later or raise the limit",
                                domain, cfg->limit_outgoing, cfg->limit_outgoing == 1 ? "" : "s", cfg->limit_outgoing,
                                who ? who : "?", (unsigned long long)(waited / 1000));
                        return -ETIMEDOUT;
                }
                if (!said && notify) {
                        _cleanup_free_ char *who = slot_holders(cfg);
                        fprintf(notify,
                                "%s: waiting for a free outgoing slot: %u migration%s already leave%s this host "
                                "([limits] outgoing = %u: %s); at most %u s, Ctrl-C to give up\n",
                                domain, cfg->limit_outgoing, cfg->limit_outgoing == 1 ? "" : "s",
                                cfg->limit_outgoing == 1 ? "s" : "", cfg->limit_outgoing, who ? who : "?",
                                cfg->limit_outgoing_wait_ms / 1000);
                        fflush(notify);
                        said = true;
                }
                uint64_t left = cfg->limit_outgoing_wait_ms - waited;
                struct timespec ts = { 0, (long)(left < POLL_MS ? left : POLL_MS) * 1000000L };
                nanosleep(&ts, NULL);
        }
}

void limit_outgoing_release(int *fd)
{
        if (*fd == LIMIT_NESTED) {
                if (held > 0)
                        held--;
        } else if (*fd >= 0) {
                held = 0;
                /* The file stays: unlinking it would race with a waiter
                 * that opened it and locks the unlinked inode. */
                (void)!ftruncate(*fd, 0);
                close(*fd);
        }
        *fd = -1;
}

/* ------------------------------------------------------------ incoming */

struct record {
        char *uuid, *name, *boot;
        time_t started;
};

static void record_free(struct record *r)
{
        free(r->uuid);
        free(r->name);
        free(r->boot);
        memset(r, 0, sizeof(*r));
}

static int record_line(const char *key, const char *val, void *userdata)
{
        struct record *r = userdata;
        char **f = streq(key, "uuid") ? &r->uuid : streq(key, "name") ? &r->name : streq(key, "boot") ? &r->boot : NULL;
        if (f) {
                if (*f)
                        return -EBADMSG;
                return (*f = strdup(val)) ? 0 : -ENOMEM;
        }
        if (streq(key, "started")) {
                char *end;
                errno = 0;
                long long t = strtoll(val, &end, 10);
                if (errno || end == val || *end || t <= 0)
                        return -EBADMSG;
                r->started = (time_t)t;
                return 0;
        }
        return 0; /* newer keys: ignored */
}

static bool name_is_safe(const char *s)
{
        return s && *s && s[0] != '.' && !strchr(s, '/') && strlen(s) < 256;
}

/* This boot's id ("" if unknown). */
static char *boot_id(const struct mk_config *cfg)
{
        _cleanup_free_ char *p = path_join(cfg->proc_root, "sys/kernel/random/boot_id");
        char *text = NULL;
        if (!p || read_full_file(p, 128, &text) < 0) {
                free(text);
                return strdup("");
        }
        text[strcspn(text, "\n")] = 0;
        return text;
}

/* Does libvirt's status file of name (this uuid) show an incoming migration
 * job? 1 yes, 0 it shows something else, -ENOENT no status file. */
static int status_incoming(const struct mk_config *cfg, const char *name, const char *uuid)
{
        _cleanup_free_ char *text = NULL, *fn = NULL, *p = NULL;
        if (asprintf(&fn, "libvirt/qemu/%s.xml", name) < 0 || !(p = path_join(cfg->run_dir, fn)))
                return -ENOMEM;
        ssize_t n = read_full_file(p, STATUS_MAX, &text);
        if (n < 0)
                return n == -ENOENT ? -ENOENT : 1; /* unreadable: count it, the time bound ends it */
        _cleanup_free_ char *u = NULL;
        if (asprintf(&u, "<uuid>%s</uuid>", uuid) < 0)
                return -ENOMEM;
        if (!strstr(text, u))
                return -ENOENT; /* another domain of that name: ours has none */
        return strstr(text, "async='migration in'") || strstr(text, "async=\"migration in\"") ? 1 : 0;
}

/* Does the record still count? */
static bool record_in_flight(const struct mk_config *cfg, const struct record *r, const char *boot, time_t now)
{
        if (!r->uuid || !uuid_is_valid(r->uuid) || !name_is_safe(r->name) || r->started <= 0)
                return false;
        if (r->boot && *r->boot && *boot && !streq(r->boot, boot))
                return false; /* from an earlier boot */
        if (now - r->started > (time_t)(cfg->limit_stale_ms / 1000))
                return false;
        int s = status_incoming(cfg, r->name, r->uuid);
        if (s == -ENOENT) {
                time_t grace = (time_t)(2 * (cfg->hook_deadline_ms / 1000) + 60);
                return now - r->started <= grace; /* libvirt has not started its QEMU yet */
        }
        return s != 0;
}

void limit_incoming_free(struct limit_incoming *l, size_t n)
{
        for (size_t i = 0; l && i < n; i++) {
                free(l[i].uuid);
                free(l[i].name);
        }
        free(l);
}

/* The list, with the lock held by the caller. */
static int list_locked(const struct mk_config *cfg, const char *skip_uuid, bool gc, struct limit_incoming **ret,
                       size_t *ret_n)
{
        _cleanup_free_ char *boot = boot_id(cfg);
        _cleanup_strv_ char **names = NULL;
        struct limit_incoming *l = NULL;
        size_t n = 0;
        time_t now = time(NULL);

        *ret = NULL;
        *ret_n = 0;
        if (!boot)
                return -ENOMEM;
        int r = state_list(cfg->state_dir, STATE_INCOMING, &names);
        if (r < 0)
                return r;
        for (size_t i = 0; r == 0 && names && names[i]; i++) {
                const char *name = names[i];
                if (!uuid_is_valid(name))
                        continue; /* temp files */
                if (skip_uuid && streq(name, skip_uuid))
                        continue;
                _cleanup_free_ char *p = state_path(cfg->state_dir, STATE_INCOMING, name), *text = NULL;
                struct record rec = { 0 };
                if (!p) {
                        r = -ENOMEM;
                        break;
                }
                ssize_t sz = read_full_file(p, RECORD_MAX, &text);
                if (sz == -ENOENT)
                        continue;
                bool live = sz > 0 && kv_parse(text, "migkit-incoming", "1", record_line, &rec) == 0 &&
                            streq_ptr(rec.uuid, name) && record_in_flight(cfg, &rec, boot, now);
                if (!live) {
                        if (gc)
                                (void)unlink(p); /* over, stale or garbage: it no longer counts */
                        record_free(&rec);
                        continue;
                }
                struct limit_incoming *nl = realloc(l, (n + 1) * sizeof(*l));
                if (!nl) {
                        record_free(&rec);
                        r = -ENOMEM;
                        break;
                }
                l = nl;
                l[n++] = (struct limit_incoming){ .uuid = TAKE_PTR(rec.uuid), .name = TAKE_PTR(rec.name), .started = rec.started };
                record_free(&rec);
        }
        if (r < 0) {
                limit_incoming_free(l, n);
                return r;
        }
        *ret = l;
        *ret_n = n;
        return 0;
}

int limit_incoming_list(const struct mk_config *cfg, const char *skip_uuid, struct limit_incoming **ret, size_t *ret_n)
{
        _cleanup_close_ int lk = state_lock_all(cfg->state_dir);
        if (lk < 0) {
                *ret = NULL;
                *ret_n = 0;
                return lk;
        }
        return list_locked(cfg, skip_uuid, true, ret, ret_n);
}

int limit_incoming_begin(const struct mk_config *cfg, const char *uuid, const char *name, bool dry_run,
                         struct limit_incoming **ret, size_t *ret_n)
{
        struct limit_incoming *l = NULL;
        size_t n = 0;
        int r;

        if (ret) {
                *ret = NULL;
                *ret_n = 0;
        }
        if (cfg->limit_incoming == 0)
                return 0;
        if (!uuid_is_valid(uuid) || !name_is_safe(name) || strchr(name, '\n'))
                return -EINVAL;
        /* A dry run reads only: no lock file, no state directory. */
        _cleanup_close_ int lk = dry_run ? -1 : state_lock_all(cfg->state_dir);
        if (lk < 0 && !dry_run)
                return lk;
        r = list_locked(cfg, uuid, !dry_run, &l, &n);
        if (r < 0)
                return r;
        if (n >= cfg->limit_incoming) {
                if (ret) {
                        *ret = l;
                        *ret_n = n;
                } else
                        limit_incoming_free(l, n);
                return -EBUSY;
        }
        limit_incoming_free(l, n);
        if (dry_run)
                return 0;

        _cleanup_free_ char *dir = state_area_path(cfg->state_dir, STATE_INCOMING), *boot = boot_id(cfg), *text = NULL;
        if (!dir || !boot)
                return -ENOMEM;
        bool made = access(dir, F_OK) < 0;
        r = state_area_create(cfg->state_dir, STATE_INCOMING, NULL);
        if (r < 0)
                return r;
        int len = asprintf(&text, "migkit-incoming 1\nuuid %s\nname %s\nstarted %lld\nboot %s\n", uuid, name,
                           (long long)time(NULL), *boot ? boot : "-");
        r = len < 0 ? -ENOMEM : write_file_atomic(dir, uuid, text, (size_t)len, 0600, 0);
        if (r < 0 && made)
                (void)rmdir(dir); /* leave the state directory as it was */
        return r;
}

int limit_incoming_end(const struct mk_config *cfg, const char *uuid)
{
        if (!uuid_is_valid(uuid))
                return -EINVAL;
        int r = state_remove(cfg->state_dir, STATE_INCOMING, uuid, false);
        return r < 0 ? r : 0;
}

char *limit_incoming_describe(const struct limit_incoming *l, size_t n)
{
        _cleanup_strv_ char **v = NULL;
        time_t now = time(NULL);
        for (size_t i = 0; i < n; i++) {
                struct tm tm;
                char ts[16] = "?", *item = NULL;
                if (localtime_r(&l[i].started, &tm))
                        strftime(ts, sizeof(ts), "%H:%M:%S", &tm);
                if (asprintf(&item, "%s (since %s, %lld s)", l[i].name, ts, (long long)(now - l[i].started)) < 0)
                        return NULL;
                int r = strv_push(&v, item);
                free(item);
                if (r < 0)
                        return NULL;
        }
        return v ? strv_join(v, ", ") : strdup("");
}
