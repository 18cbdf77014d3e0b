/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Small helpers shared by the libFuzzer targets (setup only, never in the
 * per-input path). Failures abort: a fuzzer that cannot set up must not
 * pretend to run. */
#pragma once

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef FUZZ_SRCDIR
#define FUZZ_SRCDIR "."
#endif

/* mkdir -p, 0755; an existing directory is fine (several fuzzers may run
 * at once and share it: they only read it). */
static inline void fuzz_mkdir_p(const char *path)
{
        char buf[PATH_MAX];
        if (strlen(path) >= sizeof(buf))
                abort();
        strcpy(buf, path);
        for (char *p = buf + 1; *p; p++)
                if (*p == '/') {
                        *p = 0;
                        if (mkdir(buf, 0755) < 0 && errno != EEXIST)
                                abort();
                        *p = '/';
                }
        if (mkdir(buf, 0755) < 0 && errno != EEXIST)
                abort();
}

/* $env if set, else FUZZ_SRCDIR/rel; absolute and normalized (realpath),
 * malloc'ed. */
static inline char *fuzz_data_path(const char *env, const char *rel)
{
        const char *e = getenv(env);
        char *joined = NULL, *r;
        if (e && *e)
                r = realpath(e, NULL);
        else {
                if (asprintf(&joined, "%s/%s", FUZZ_SRCDIR, rel) < 0)
                        abort();
                r = realpath(joined, NULL);
        }
        if (!r) {
                fprintf(stderr, "fuzz: cannot find %s (set %s)\n", e && *e ? e : joined, env);
                abort();
        }
        free(joined);
        return r;
}

/* Writes text to path, mode 0600 (atomically: a rename, so fuzzers starting
 * at once never read a half-written file). Returns a malloc'ed copy of path. */
static inline char *fuzz_write_file(const char *path, const char *text)
{
        char *tmp = NULL;
        if (asprintf(&tmp, "%s.%d.tmp", path, (int)getpid()) < 0)
                abort();
        int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        size_t len = strlen(text);
        if (fd < 0 || write(fd, text, len) != (ssize_t)len || close(fd) < 0 || rename(tmp, path) < 0)
                abort();
        free(tmp);
        char *p = strdup(path);
        if (!p)
                abort();
        return p;
}
