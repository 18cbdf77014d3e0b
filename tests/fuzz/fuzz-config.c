/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: migkit.conf as config_load() reads it (lib/config.c and
 * inih): the input is the file's content, handed over as a 0600 memfd opened
 * through /proc/self/fd, so the real open/fstat/mode/size/line checks run.
 * Oracles: an accepted file dumps (config_dump) to text that loads again to
 * the same dump; a refusal always comes with a one-line message naming the
 * file. The value parsers run on the raw input too. */
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "config.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int memfd_with(const void *data, size_t size, char *path, size_t path_size)
{
        int fd = memfd_create("fuzz-config", MFD_CLOEXEC);
        if (fd < 0 || fchmod(fd, 0600) < 0 || (size && write(fd, data, size) != (ssize_t)size))
                abort();
        snprintf(path, path_size, "/proc/self/fd/%d", fd);
        return fd;
}

static char *dump(const struct mk_config *cfg, size_t *len)
{
        char *buf = NULL;
        FILE *f = open_memstream(&buf, len);
        if (!f)
                abort();
        config_dump(cfg, f);
        if (fclose(f) != 0)
                abort();
        return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char path[64], path2[64];
        struct mk_config cfg;
        _cleanup_free_ char *err = NULL, *str = NULL;

        /* the value parsers, on the input as one string */
        str = strndup((const char *)data, size);
        if (!str)
                return 0;
        unsigned ms;
        size_t sz;
        bool b;
        if (parse_duration_ms(str, &ms) == 0 && !*str)
                abort();
        (void)parse_size(str, &sz);
        (void)parse_bool(str, &b);

        _cleanup_close_ int fd = memfd_with(data, size, path, sizeof(path));
        (void)fd; /* open while config_load() reads it */
        int r = config_load(&cfg, path, &err);
        if (r < 0) {
                /* one line naming the file */
                if (!err || !strstr(err, path) || strchr(err, '\n')) {
                        fprintf(stderr, "fuzz-config: bad message for %d: %s\n", r, err ? err : "(none)");
                        abort();
                }
                config_free(&cfg); /* harmless after a failure */
                return 0;
        }
        if (!cfg.file || !streq(cfg.file, path))
                abort();

        /* what --dump-config prints is a configuration with the same values */
        size_t len, len2;
        _cleanup_free_ char *text = dump(&cfg, &len), *text2 = NULL, *err2 = NULL;
        config_free(&cfg);
        _cleanup_close_ int fd2 = memfd_with(text, len, path2, sizeof(path2));
        (void)fd2;
        r = config_load(&cfg, path2, &err2);
        if (r < 0) {
                fprintf(stderr, "fuzz-config: the dump of an accepted file is refused: %s\n--\n%s", err2 ? err2 : "?", text);
                abort();
        }
        text2 = dump(&cfg, &len2);
        config_free(&cfg);
        if (len != len2 || memcmp(text, text2, len) != 0) {
                fprintf(stderr, "fuzz-config: dump, load, dump differs:\n%s--\n%s", text, text2);
                abort();
        }
        return 0;
}
