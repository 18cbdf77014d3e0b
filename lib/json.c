/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "json.h"

#include <errno.h>
#include <stdint.h>

int utf8_char_len(const unsigned char *p)
{
        uint32_t c;
        int n;

        if (p[0] < 0x80)
                return 1;
        if (p[0] >= 0xc2 && p[0] <= 0xdf) {
                n = 2;
                c = p[0] & 0x1f;
        } else if (p[0] >= 0xe0 && p[0] <= 0xef) {
                n = 3;
                c = p[0] & 0x0f;
        } else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
                n = 4;
                c = p[0] & 0x07;
        } else
                return 0;
        for (int i = 1; i < n; i++) {
                if ((p[i] & 0xc0) != 0x80)
                        return 0;
                c = (c << 6) | (p[i] & 0x3f);
        }
        if ((n == 3 && c < 0x800) || (n == 4 && (c < 0x10000 || c > 0x10ffff)) || (c >= 0xd800 && c <= 0xdfff))
                return 0;
        return n;
}

void json_write_string(FILE *f, const char *s)
{
        if (!s) {
                fputs("null", f);
                return;
        }
        fputc('"', f);
        for (const unsigned char *p = (const unsigned char *)s; *p;) {
                int n = utf8_char_len(p);
                if (n == 0) {
                        fputs("\\ufffd", f);
                        p++;
                        continue;
                }
                if (n > 1) {
                        fwrite(p, 1, (size_t)n, f);
                        p += n;
                        continue;
                }
                switch (*p) {
                case '"': fputs("\\\"", f); break;
                case '\\': fputs("\\\\", f); break;
                case '\n': fputs("\\n", f); break;
                case '\t': fputs("\\t", f); break;
                case '\r': fputs("\\r", f); break;
                default:
                        if (*p < 0x20 || *p == 0x7f)
                                fprintf(f, "\\u%04x", *p);
                        else
                                fputc(*p, f);
                }
                p++;
        }
        fputc('"', f);
}

void json_init(struct json *j, FILE *f)
{
        *j = (struct json) { .f = f };
        j->first[0] = true;
}

/* Before any value: the comma, unless it follows its key. */
static void value_prefix(struct json *j)
{
        if (j->key_pending) {
                j->key_pending = false;
                return;
        }
        if (!j->first[j->depth])
                fputc(',', j->f);
        j->first[j->depth] = false;
}

static void open_(struct json *j, char c)
{
        value_prefix(j);
        fputc(c, j->f);
        if (j->depth + 1 >= JSON_MAX_DEPTH) {
                j->bad = true;
                return;
        }
        j->depth++;
        j->first[j->depth] = true;
}

static void close_(struct json *j, char c)
{
        if (j->depth == 0 || j->key_pending)
                j->bad = true;
        else
                j->depth--;
        fputc(c, j->f);
}

void json_object_begin(struct json *j) { open_(j, '{'); }
void json_object_end(struct json *j) { close_(j, '}'); }
void json_array_begin(struct json *j) { open_(j, '['); }
void json_array_end(struct json *j) { close_(j, ']'); }

void json_key(struct json *j, const char *key)
{
        value_prefix(j);
        json_write_string(j->f, key);
        fputc(':', j->f);
        j->key_pending = true;
}

void json_string(struct json *j, const char *s)
{
        value_prefix(j);
        json_write_string(j->f, s);
}

void json_int(struct json *j, long long v)
{
        value_prefix(j);
        fprintf(j->f, "%lld", v);
}

void json_bool(struct json *j, bool v)
{
        value_prefix(j);
        fputs(v ? "true" : "false", j->f);
}

void json_null(struct json *j)
{
        value_prefix(j);
        fputs("null", j->f);
}

void json_kv_string(struct json *j, const char *key, const char *s)
{
        json_key(j, key);
        json_string(j, s);
}

void json_kv_int(struct json *j, const char *key, long long v)
{
        json_key(j, key);
        json_int(j, v);
}

int json_end(struct json *j)
{
        fputc('\n', j->f);
        if (j->bad || j->depth != 0 || j->key_pending)
                return -EINVAL;
        return ferror(j->f) ? -EIO : 0;
}
