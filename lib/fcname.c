/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "fcname.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>

#include "util.h"

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

int fc_wwid_from_sysfs(const char *sys, char *wwid, size_t size)
{
        static const struct { const char *prefix; char type; } types[] = { { "naa.", '3' }, { "eui.", '2' }, { "t10.", '1' } };
        for (size_t i = 0; i < ARRAY_SIZE(types); i++) {
                if (strncmp(sys, types[i].prefix, 4) != 0 || strlen(sys + 4) + 2 > size)
                        continue;
                wwid[0] = types[i].type;
                strcpy(wwid + 1, sys + 4);
                ascii_strlower(wwid);
                return fc_name_is_valid(wwid) ? 0 : -EINVAL;
        }
        return -EINVAL;
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

static int set_name(char *dst, const char *src)
{
        if (!fc_name_is_valid(src))
                return -EINVAL;
        strcpy(dst, src);
        return 0;
}

/* A multipath map by its name (an alias, or a WWID). */
static int set_map(struct fc_source *ret, const char *name)
{
        int r = set_name(ret->map, name);
        if (r < 0)
                return r;
        if (looks_like_wwid(ret->map))
                strcpy(ret->wwid, ret->map);
        ret->kind = FC_SRC_MAP;
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
                        ascii_strlower(ret->wwid);
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
                if (strncmp(base, "dm-name-", 8) == 0)
                        return set_map(ret, base + 8);
                return 0;
        }
        if (has_dir_suffix(path, dirlen, "mapper")) {
                if (streq(base, "control"))
                        return 0;
                return set_map(ret, slash + 1);
        }
        return 0;
}
