/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* File helpers shared by the cmocka tests; include after <cmocka.h>. */
#pragma once

#include <fcntl.h>
#include <stdarg.h>
#include <sys/stat.h>

#include "config.h"
#include "util.h"

/* A malloc'ed path built like printf; fails the test on ENOMEM. */
static inline char *pathf(const char *fmt, ...) _printf_(1, 2);
static inline char *pathf(const char *fmt, ...)
{
        char *p;
        va_list ap;
        va_start(ap, fmt);
        assert_true(vasprintf(&p, fmt, ap) >= 0);
        va_end(ap);
        return p;
}

/* Replaces the malloc'ed string *field (a configuration key, a fixture's
 * path) with one built like printf; fails the test on ENOMEM. */
static inline void set_field(char **field, const char *fmt, ...) _printf_(2, 3);
static inline void set_field(char **field, const char *fmt, ...)
{
        va_list ap;
        free(*field);
        va_start(ap, fmt);
        assert_true(vasprintf(field, fmt, ap) >= 0);
        va_end(ap);
}

/* Makes a test's scratch directory /tmp/migkit-test-NAME.XXXXXX in root
 * (size bytes). 0, -1 when it cannot. */
static inline int scratch_dir(char *root, size_t size, const char *name)
{
        if ((size_t)snprintf(root, size, "/tmp/migkit-test-%s.XXXXXX", name) >= size)
                return -1;
        return mkdtemp(root) ? 0 : -1;
}

/* Writes text to path (created 0644 or truncated). */
static inline void put(const char *path, const char *text)
{
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        assert_int_equal(write_all(fd, text, strlen(text)), 0);
        close(fd);
}

/* True if anything, a dangling symlink included, is at path. */
static inline bool exists(const char *path)
{
        struct stat st;
        return lstat(path, &st) == 0;
}

/* Removes a test's scratch tree (rm -rf). Returns system()'s status. */
static inline int rm_tree(const char *path)
{
        char cmd[4200];
        snprintf(cmd, sizeof(cmd), "rm -rf %s", path);
        return system(cmd);
}

/* A test whose only fixture is a scratch directory (cmocka setup and
 * teardown: *state is a struct scratch; removed with what is in it). */
struct scratch {
        char root[64];
};

static inline int scratch_setup(void **state)
{
        struct scratch *s = calloc(1, sizeof(*s));
        if (!s)
                return -1;
        *state = s;
        return scratch_dir(s->root, sizeof(s->root), "scratch");
}

static inline int scratch_teardown(void **state)
{
        struct scratch *s = *state;
        int r = rm_tree(s->root);
        free(s);
        return r;
}

/* The text of path (malloc'ed), "" when there is no such file. */
static inline char *text_or_empty(const char *path)
{
        char *t = NULL;
        if (read_full_file(path, 1 << 20, &t) < 0)
                t = strdup("");
        assert_non_null(t);
        return t;
}

/* Makes cfg's systemctl an executable stand-in at <dir>/systemctl that
 * appends its arguments to <dir>/systemctl.log and exits with the number
 * in the file <dir>/answer (0 while there is none; "Unit not found." on its
 * output then). The two paths are returned in *log and *answer (malloc'ed). */
static inline void fake_systemctl(struct mk_config *cfg, const char *dir, char **log, char **answer)
{
        *log = pathf("%s/systemctl.log", dir);
        *answer = pathf("%s/answer", dir);
        set_field(&cfg->systemctl, "%s/systemctl", dir);
        char *script = pathf("#!/bin/sh\necho \"$@\" >> %s\n[ -f %s ] || exit 0\necho 'Unit not found.'\nexit $(cat %s)\n", *log,
                             *answer, *answer);
        put(cfg->systemctl, script);
        free(script);
        assert_int_equal(chmod(cfg->systemctl, 0755), 0);
}

/* Skips the calling test, loudly, when reason is not empty. */
#define SKIP_IF_REASON(reason)                                                                   \
        do {                                                                                     \
                if ((reason)[0]) {                                                               \
                        fprintf(stderr, "\n*** SKIP %s: %s ***\n\n", __func__, (reason));       \
                        skip();                                                                  \
                }                                                                                \
        } while (0)
