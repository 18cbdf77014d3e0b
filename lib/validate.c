/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "validate.h"

#include <ctype.h>

#include "util.h"

bool uuid_is_valid(const char *s)
{
        for (int i = 0; i < 36; i++) {
                bool dash = i == 8 || i == 13 || i == 18 || i == 23;
                if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
                        return false;
        }
        return s[36] == 0;
}

const char *ifname_invalid_reason(const char *s)
{
        size_t len = strlen(s);
        if (len == 0)
                return "is empty";
        if (len > 15)
                return "is longer than 15 characters (IFNAMSIZ)";
        if (streq(s, ".") || streq(s, ".."))
                return "is '.' or '..'";
        for (const char *p = s; *p; p++)
                if (!isalnum((unsigned char)*p) && !strchr("_.-", *p))
                        return "has characters other than letters, digits, '_', '.' and '-'";
        return NULL;
}

bool path_is_absolute_normalized(const char *s)
{
        if (s[0] != '/')
                return false;
        if (s[1] == 0)
                return true;
        for (const char *c = s; *c;) {
                c++; /* skip '/' */
                size_t len = strcspn(c, "/");
                if (len == 0 || (len == 1 && c[0] == '.') || (len == 2 && c[0] == '.' && c[1] == '.'))
                        return false;
                for (size_t i = 0; i < len; i++)
                        if ((unsigned char)c[i] < 0x20 || c[i] == 0x7f)
                                return false;
                c += len;
        }
        return true;
}

const char *path_below(const char *path, const char *dir)
{
        size_t dl = strlen(dir);
        if (streq(dir, "/"))
                return path[0] == '/' && path[1] ? path + 1 : NULL;
        if (strncmp(path, dir, dl) != 0 || path[dl] != '/' || path[dl + 1] == 0)
                return NULL;
        return path + dl + 1;
}

bool name_is_valid_user(const char *s)
{
        if (!*s || strlen(s) > 32 || *s == '-')
                return false;
        for (const char *p = s; *p; p++)
                if (!isalnum((unsigned char)*p) && !strchr("_.-", *p))
                        return false;
        return true;
}
