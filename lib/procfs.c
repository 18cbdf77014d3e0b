/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "procfs.h"

#include <limits.h>

#include "util.h"

static int read_comm(const char *proc, int pid, char *buf, size_t size)
{
        _cleanup_free_ char *p = NULL, *s = NULL;
        if (asprintf(&p, "%s/%d/comm", proc, pid) < 0)
                return -ENOMEM;
        ssize_t n = read_full_file(p, 256, &s);
        if (n < 0)
                return (int)n;
        s[strcspn(s, "\n")] = 0;
        snprintf(buf, size, "%s", s);
        return 0;
}

int proc_start_time(const char *proc, int pid, time_t *ret)
{
        _cleanup_free_ char *p = NULL, *s = NULL, *ps = NULL, *st = NULL;
        unsigned long long ticks = 0, btime = 0;

        if (asprintf(&p, "%s/%d/stat", proc, pid) < 0 || asprintf(&ps, "%s/stat", proc) < 0)
                return -ENOMEM;
        ssize_t n = read_full_file(p, 4096, &s);
        if (n < 0)
                return (int)n;
        /* the name may hold spaces and parentheses: fields follow the last ')' */
        char *e = strrchr(s, ')');
        if (!e)
                return -EBADMSG;
        e++;
        for (int field = 3; field <= 22; field++) {
                while (*e == ' ')
                        e++;
                if (!*e)
                        return -EBADMSG;
                if (field == 22) {
                        char *end;
                        errno = 0;
                        ticks = strtoull(e, &end, 10);
                        if (errno || end == e)
                                return -EBADMSG;
                        break;
                }
                e += strcspn(e, " ");
        }
        n = read_full_file(ps, 1 << 20, &st);
        if (n < 0)
                return (int)n;
        const char *b = strstr(st, "\nbtime ");
        if (!b || sscanf(b + 7, "%llu", &btime) != 1)
                return -EBADMSG;
        long hz = sysconf(_SC_CLK_TCK);
        *ret = (time_t)(btime + ticks / (unsigned long long)(hz > 0 ? hz : 100));
        return 0;
}

static int read_pidfile(const char *path)
{
        _cleanup_free_ char *s = NULL;
        if (read_full_file(path, 64, &s) < 0)
                return -1;
        char *end;
        long v = strtol(s, &end, 10);
        if (end == s || v <= 0 || v > INT_MAX)
                return -1;
        return (int)v;
}

/* Processes below proc whose comm is one of names; their pids in found
 * (at most max). Returns the count or -errno. */
static int proc_scan(const char *proc, const char *const *names, int *found, int max, int *n_other_ns)
{
        _cleanup_(closedirp) DIR *d = opendir(proc);
        _cleanup_free_ char *self = NULL;
        char selfbuf[128] = "";
        int n = 0;
        if (!d)
                return -errno;
        if (asprintf(&self, "%s/self/ns/mnt", proc) < 0)
                return -ENOMEM;
        ssize_t sl = readlink(self, selfbuf, sizeof(selfbuf) - 1);
        if (sl > 0)
                selfbuf[sl] = 0;
        *n_other_ns = 0;
        struct dirent *de;
        while ((de = readdir(d))) {
                char comm[64], *end;
                long pid = strtol(de->d_name, &end, 10);
                if (*end || pid <= 0 || pid > INT_MAX || read_comm(proc, (int)pid, comm, sizeof(comm)) < 0)
                        continue;
                bool match = false;
                for (size_t i = 0; names[i]; i++)
                        match = match || streq(comm, names[i]);
                if (!match)
                        continue;
                /* a process of another mount namespace (a container, another
                 * lab host) serves another libvirt */
                if (sl > 0) {
                        char buf[128], p[PATH_MAX];
                        snprintf(p, sizeof(p), "%s/%ld/ns/mnt", proc, pid);
                        ssize_t l = readlink(p, buf, sizeof(buf) - 1);
                        if (l > 0) {
                                buf[l] = 0;
                                if (!streq(buf, selfbuf)) {
                                        (*n_other_ns)++;
                                        continue;
                                }
                        }
                }
                if (n < max)
                        found[n] = (int)pid;
                n++;
        }
        return n;
}

int proc_find(const char *proc, const char *const *pidfiles, const char *const *names, const char **how,
                        int *n_other_ns)
{
        *n_other_ns = 0;
        for (size_t i = 0; pidfiles[i]; i++) {
                int pid = read_pidfile(pidfiles[i]);
                char comm[64];
                if (pid <= 0 || read_comm(proc, pid, comm, sizeof(comm)) < 0)
                        continue;
                for (size_t k = 0; names[k]; k++)
                        if (streq(comm, names[k])) {
                                *how = pidfiles[i];
                                return pid;
                        }
        }
        int found[2];
        int n = proc_scan(proc, names, found, 2, n_other_ns);
        *how = "process list";
        if (n < 0)
                return n;
        if (n > 1)
                return -EEXIST;
        return n == 1 ? found[0] : 0;
}

int proc_tcp_listening(const char *proc, unsigned port, bool *loopback_only)
{
        static const char *const files[] = { "net/tcp", "net/tcp6" };
        bool any = false, wide = false, read_one = false;
        for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
                _cleanup_free_ char *path = path_join(proc, files[i]);
                if (!path)
                        return -ENOMEM;
                _cleanup_fclose_ FILE *f = fopen(path, "re");
                if (!f)
                        continue;
                read_one = true;
                char line[512];
                while (fgets(line, sizeof(line), f)) {
                        char local[80], remote[80], st[8];
                        if (sscanf(line, " %*[0-9]: %79s %79s %7s", local, remote, st) != 3 || !streq(st, "0A"))
                                continue;
                        char *c = strrchr(local, ':');
                        if (!c || strtoul(c + 1, NULL, 16) != port)
                                continue;
                        *c = 0;
                        any = true;
                        if (!streq(local, "0100007F") && !streq(local, "00000000000000000000000001000000"))
                                wide = true;
                }
        }
        if (!read_one)
                return -ENOENT;
        *loopback_only = any && !wide;
        return any;
}
