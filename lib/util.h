/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Small shared helpers: cleanup attributes, ownership transfer, string lists. */
#pragma once

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static inline void freep(void *p) { free(*(void **)p); }
static inline void closep(int *fd) { if (*fd >= 0) { int e = errno; close(*fd); errno = e; } }
static inline void fclosep(FILE **f) { if (*f) fclose(*f); }
#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)
#define _cleanup_fclose_ _cleanup_(fclosep)
static inline void closedirp(DIR **d) { if (*d) closedir(*d); }
#define _cleanup_closedir_ _cleanup_(closedirp)

/* Hand ownership over: returns the value and clears the variable. */
#define TAKE_PTR(p) ({ __typeof__(p) _p = (p); (p) = NULL; _p; })
#define TAKE_FD(fd) ({ int _fd = (fd); (fd) = -1; _fd; })

/* CLOCK_MONOTONIC in milliseconds: the one clock for intervals, timeouts and
 * deadlines (never the wall clock, which jumps). */
static inline uint64_t now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static inline bool streq(const char *a, const char *b) { return strcmp(a, b) == 0; }
static inline bool streq_ptr(const char *a, const char *b) { return a && b ? streq(a, b) : a == b; }

/* A NULL-terminated list of strings. */
typedef char **strv;
void strv_free(char **l);
static inline void strv_freep(char ***l) { strv_free(*l); }
#define _cleanup_strv_ _cleanup_(strv_freep)
size_t strv_length(char *const *l);
/* Appends a copy of s; returns 0 or -ENOMEM. */
int strv_push(char ***l, const char *s);
bool strv_contains(char *const *l, const char *s);
/* Appends a copy of s unless l already has it; returns 0 or -ENOMEM. */
int strv_push_unique(char ***l, const char *s);
/* Removes (and frees) every entry equal to s. */
void strv_remove(char **l, const char *s);
/* Splits on commas and whitespace, skipping empty words; returns 0 or -ENOMEM. */
int strv_split(char ***ret, const char *s);
/* vasprintf(3) into a new string; NULL on ENOMEM. */
char *strdup_vprintf(const char *fmt, va_list ap) _printf_(1, 0);

/* Joins with sep into a new string, NULL on ENOMEM. */
char *strv_join(char *const *l, const char *sep);
/* True if name matches one of the fnmatch(3) globs in l. */
bool strv_fnmatch(char *const *l, const char *name);

/* A symbol for dl_open_syms() and where its address goes. */
struct dl_sym {
        const char *name;
        void **slot;
};

/* dlopen()s soname (RTLD_NOW | RTLD_LOCAL) and looks up each of syms, up to
 * an entry with no name, into its slot. Returns 0 and the handle in *ret,
 * -ELIBACC when the library cannot be loaded, -ELIBBAD (nothing stays
 * loaded) when it lacks one of them. For the libraries migkit loads only
 * when a call needs them. */
int dl_open_syms(const char *soname, const struct dl_sym *syms, void **ret);

/* Lower-cases the ASCII letters of s in place. */
void ascii_strlower(char *s);

/* Replaces *ret, when ret is not NULL, with a malloc'ed message built like
 * printf (NULL when memory runs out). */
void set_message(char **ret, const char *fmt, ...) _printf_(2, 3);

/* set_message(), then returns code: `return fail_message(err, -EIO, ...)`. */
int fail_message(char **ret, int code, const char *fmt, ...) _printf_(3, 4);

/* s with & < > ' " written as XML entities, for a value put into XML text
 * or an attribute; malloc'ed, NULL on ENOMEM. */
char *xml_escape(const char *s);

/* Joins a directory and a name with exactly one '/' between them. */
char *path_join(const char *dir, const char *name);

/* True if <dir>/<name> exists (stat(2), links followed). */
bool file_present(const char *dir, const char *name);

/* Reads the small file <dir>/<name> (a sysfs or /proc attribute) into buf
 * without its trailing newline. Returns 0, -EBADMSG if it does not fit in
 * size bytes, or -errno. */
int read_one_line(const char *dir, const char *name, char *buf, size_t size);

/* The names in directory dir, sorted, without those starting with '.'.
 * Returns 0 with *ret (NULL when there are none, or when dir does not
 * exist) or -errno. */
int dir_list(const char *dir, char ***ret);

/* Reads at most max bytes from fd into a NUL-terminated buffer.
 * Returns the length, -EFBIG if the input is longer than max, or -errno. */
ssize_t read_full_fd(int fd, size_t max, char **ret);
/* Same for a file; the file must be regular. */
ssize_t read_full_file(const char *path, size_t max, char **ret);

/* Writes all of buf, retrying on EINTR and short writes. Returns 0 or -errno. */
int write_all(int fd, const void *buf, size_t len);

enum { WRITE_DURABLE = 1 << 0 };
/* Writes data to dir/name atomically: temp file, rename over the old one, so
 * readers see the old or the new content, never a mix. With WRITE_DURABLE
 * the file is fsync()ed before and the directory after the rename.
 * mode is the final file mode. Returns 0 or -errno. */
int write_file_atomic(const char *dir, const char *name, const char *data, size_t len, mode_t mode, int flags);

/* Parses text (modified in place) made of a first line "<magic> <version>"
 * and then "key value" lines, calling cb for each of those. Returns 0,
 * -EBADMSG if the header is not "<magic> <version>" or a line has no space,
 * or the first negative value cb returned. */
int kv_parse(char *text, const char *magic, const char *version,
             int (*cb)(const char *key, const char *value, void *userdata), void *userdata);

/* Creates dir and its missing parents with mode; 0 or -errno. */
int mkdir_p(const char *path, mode_t mode);
