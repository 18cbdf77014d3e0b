/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: the validators of every name migkit uses on the host
 * (lib/validate.c): UUIDs, interface (bridge) names, normalized absolute
 * paths, "path below dir", user names. The input is split at the first NUL
 * into two strings (path and dir). Each verdict is checked against an
 * independent, obviously correct statement of the rule; a disagreement
 * aborts. */
#include <ctype.h>
#include <stdint.h>

#include "util.h"
#include "validate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool ref_uuid(const char *s)
{
        if (strlen(s) != 36)
                return false;
        for (int i = 0; i < 36; i++)
                if (i == 8 || i == 13 || i == 18 || i == 23 ? s[i] != '-' : !strchr("0123456789abcdefABCDEF", s[i]) || !s[i])
                        return false;
        return true;
}

static bool ref_ifname(const char *s)
{
        size_t n = strlen(s);
        if (n < 1 || n > 15 || streq(s, ".") || streq(s, ".."))
                return false;
        return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

static bool ref_path(const char *s)
{
        if (s[0] != '/')
                return false;
        if (streq(s, "/"))
                return true;
        size_t n = strlen(s);
        if (s[n - 1] == '/' || strstr(s, "//") || strstr(s, "/./") || strstr(s, "/../"))
                return false;
        if ((n >= 2 && streq(s + n - 2, "/.")) || (n >= 3 && streq(s + n - 3, "/..")))
                return false;
        for (const char *p = s; *p; p++)
                if ((unsigned char)*p < 0x20 || *p == 0x7f)
                        return false;
        return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        _cleanup_free_ char *a = NULL, *b = NULL;
        const uint8_t *nul = memchr(data, 0, size);
        size_t la = nul ? (size_t)(nul - data) : size;

        a = strndup((const char *)data, la);
        b = nul ? strndup((const char *)nul + 1, size - la - 1) : strdup("");
        if (!a || !b)
                return 0;

        if (uuid_is_valid(a) != ref_uuid(a)) {
                fprintf(stderr, "fuzz-validate: uuid_is_valid disagrees on '%s'\n", a);
                abort();
        }
        const char *why = ifname_invalid_reason(a);
        if (!why != ref_ifname(a)) {
                fprintf(stderr, "fuzz-validate: ifname_invalid_reason disagrees on '%s'\n", a);
                abort();
        }
        if (path_is_absolute_normalized(a) != ref_path(a)) {
                fprintf(stderr, "fuzz-validate: path_is_absolute_normalized disagrees on '%s'\n", a);
                abort();
        }
        bool user = name_is_valid_user(a);
        if (user && (!*a || strlen(a) > 32 || a[0] == '-' || strchr(a, '/') || strchr(a, ' ') || strchr(a, ':')))
                abort();

        /* below: only normalized absolute paths reach it in migkit */
        if (ref_path(a) && ref_path(b)) {
                const char *rel = path_below(a, b);
                size_t lb = strlen(b);
                bool expect = streq(b, "/") ? strlen(a) > 1
                                            : strncmp(a, b, lb) == 0 && a[lb] == '/' && a[lb + 1];
                if (!rel != !expect) {
                        fprintf(stderr, "fuzz-validate: path_below('%s', '%s') disagrees\n", a, b);
                        abort();
                }
                /* what is below is a suffix of the path, never climbing out */
                if (rel && (rel < a || rel > a + strlen(a) || *rel == '/' || !*rel || streq(rel, "..") ||
                            strncmp(rel, "../", 3) == 0 || strstr(rel, "/../") || strstr(rel, "/./")))
                        abort();
        }
        return 0;
}
