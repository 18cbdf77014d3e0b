/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "jsonparse.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct parser {
        const char *p;
        const char *err;
};

static void skip_ws(struct parser *ps)
{
        while (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r')
                ps->p++;
}

static int fail(struct parser *ps, const char *what)
{
        if (!ps->err)
                ps->err = what;
        return -EINVAL;
}

static int hex4(const char *s, uint32_t *ret)
{
        uint32_t v = 0;
        for (int i = 0; i < 4; i++) {
                char c = s[i];
                v <<= 4;
                if (c >= '0' && c <= '9')
                        v |= (uint32_t)(c - '0');
                else if (c >= 'a' && c <= 'f')
                        v |= (uint32_t)(c - 'a' + 10);
                else if (c >= 'A' && c <= 'F')
                        v |= (uint32_t)(c - 'A' + 10);
                else
                        return -EINVAL;
        }
        *ret = v;
        return 0;
}

static char *put_utf8(char *o, uint32_t c)
{
        if (c < 0x80)
                *o++ = (char)c;
        else if (c < 0x800) {
                *o++ = (char)(0xc0 | c >> 6);
                *o++ = (char)(0x80 | (c & 0x3f));
        } else if (c < 0x10000) {
                *o++ = (char)(0xe0 | c >> 12);
                *o++ = (char)(0x80 | (c >> 6 & 0x3f));
                *o++ = (char)(0x80 | (c & 0x3f));
        } else {
                *o++ = (char)(0xf0 | c >> 18);
                *o++ = (char)(0x80 | (c >> 12 & 0x3f));
                *o++ = (char)(0x80 | (c >> 6 & 0x3f));
                *o++ = (char)(0x80 | (c & 0x3f));
        }
        return o;
}

/* \uXXXX at s (after the backslash and 'u'), with a following low
 * surrogate when it is a high one; advances *s past what it used. */
static int unicode_escape(struct parser *ps, const char **s, uint32_t *ret)
{
        uint32_t c, lo;
        if (hex4(*s, &c) < 0)
                return fail(ps, "bad \\u escape");
        *s += 4;
        if (c >= 0xdc00 && c <= 0xdfff)
                return fail(ps, "lone low surrogate");
        if (c >= 0xd800 && c <= 0xdbff) {
                if ((*s)[0] != '\\' || (*s)[1] != 'u' || hex4(*s + 2, &lo) < 0 || lo < 0xdc00 || lo > 0xdfff)
                        return fail(ps, "high surrogate without its low one");
                *s += 6;
                c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
        }
        if (c == 0)
                return fail(ps, "\\u0000 in a string");
        *ret = c;
        return 0;
}

static int parse_string(struct parser *ps, char **ret)
{
        const char *s = ps->p + 1; /* after the quote */
        size_t n = 0;
        while (s[n] && s[n] != '"')
                n += s[n] == '\\' && s[n + 1] ? 2 : 1;
        if (s[n] != '"')
                return fail(ps, "unterminated string");
        /* unescaped is never longer than escaped (\uXXXX: 6 bytes, at most 4 out) */
        char *out = malloc(n + 1), *o = out;
        if (!out)
                return -ENOMEM;
        while (*s != '"') {
                unsigned char c = (unsigned char)*s++;
                if (c < 0x20) {
                        free(out);
                        return fail(ps, "control character in a string");
                }
                if (c != '\\') {
                        *o++ = (char)c;
                        continue;
                }
                uint32_t u;
                switch (*s++) {
                case '"': *o++ = '"'; break;
                case '\\': *o++ = '\\'; break;
                case '/': *o++ = '/'; break;
                case 'b': *o++ = '\b'; break;
                case 'f': *o++ = '\f'; break;
                case 'n': *o++ = '\n'; break;
                case 'r': *o++ = '\r'; break;
                case 't': *o++ = '\t'; break;
                case 'u':
                        if (unicode_escape(ps, &s, &u) < 0) {
                                free(out);
                                return -EINVAL;
                        }
                        o = put_utf8(o, u);
                        break;
                default:
                        free(out);
                        return fail(ps, "unknown escape in a string");
                }
        }
        *o = 0;
        ps->p = s + 1;
        *ret = out;
        return 0;
}

static int parse_number(struct parser *ps, double *ret)
{
        const char *s = ps->p;
        /* JSON's grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
        if (*s == '-')
                s++;
        if (*s == '0')
                s++;
        else if (*s >= '1' && *s <= '9')
                while (*s >= '0' && *s <= '9')
                        s++;
        else
                return fail(ps, "bad number");
        if (*s == '.') {
                if (!(*++s >= '0' && *s <= '9'))
                        return fail(ps, "bad number");
                while (*s >= '0' && *s <= '9')
                        s++;
        }
        if (*s == 'e' || *s == 'E') {
                s++;
                if (*s == '+' || *s == '-')
                        s++;
                if (!(*s >= '0' && *s <= '9'))
                        return fail(ps, "bad number");
                while (*s >= '0' && *s <= '9')
                        s++;
        }
        char *end;
        *ret = strtod(ps->p, &end);
        if (end != s)
                return fail(ps, "bad number");
        ps->p = s;
        return 0;
}

static int parse_value(struct parser *ps, struct json_field *f)
{
        switch (*ps->p) {
        case '"':
                f->type = JSON_STRING;
                return parse_string(ps, &f->str);
        case 't':
        case 'f':
        case 'n': {
                static const struct { const char *word; int type; bool b; } words[] = {
                        { "true", JSON_BOOL, true }, { "false", JSON_BOOL, false }, { "null", JSON_NULL, false },
                };
                for (size_t i = 0; i < 3; i++)
                        if (strncmp(ps->p, words[i].word, strlen(words[i].word)) == 0) {
                                ps->p += strlen(words[i].word);
                                f->type = words[i].type;
                                f->b = words[i].b;
                                return 0;
                        }
                return fail(ps, "unknown word");
        }
        case '{':
        case '[':
                return fail(ps, "nested objects and arrays are not supported");
        default:
                f->type = JSON_NUMBER;
                return parse_number(ps, &f->num);
        }
}

static int parse_members(struct parser *ps, struct json_object *o)
{
        for (;;) {
                skip_ws(ps);
                if (*ps->p != '"')
                        return fail(ps, "expected a key");
                struct json_field *v = realloc(o->v, (o->n + 1) * sizeof(*v));
                if (!v)
                        return -ENOMEM;
                o->v = v;
                struct json_field *f = &o->v[o->n++];
                memset(f, 0, sizeof(*f));
                int r = parse_string(ps, &f->key);
                if (r < 0)
                        return r;
                skip_ws(ps);
                if (*ps->p++ != ':')
                        return fail(ps, "expected ':'");
                skip_ws(ps);
                r = parse_value(ps, f);
                if (r < 0)
                        return r;
                skip_ws(ps);
                if (*ps->p == '}')
                        return 0;
                if (*ps->p++ != ',')
                        return fail(ps, "expected ',' or '}'");
        }
}

int json_parse_object(const char *text, struct json_object *ret, const char **ret_err)
{
        struct parser ps = { .p = text };
        int r;

        memset(ret, 0, sizeof(*ret));
        if (ret_err)
                *ret_err = NULL;
        skip_ws(&ps);
        if (*ps.p++ != '{')
                r = fail(&ps, "expected '{'");
        else {
                skip_ws(&ps);
                r = *ps.p == '}' ? 0 : parse_members(&ps, ret);
                if (r == 0) {
                        ps.p++;
                        skip_ws(&ps);
                        if (*ps.p)
                                r = fail(&ps, "text after the object");
                }
        }
        if (r < 0) {
                json_object_free(ret);
                if (ret_err)
                        *ret_err = r == -ENOMEM ? "out of memory" : ps.err;
        }
        return r;
}

void json_object_free(struct json_object *o)
{
        for (size_t i = 0; i < o->n; i++) {
                free(o->v[i].key);
                free(o->v[i].str);
        }
        free(o->v);
        o->v = NULL;
        o->n = 0;
}

const struct json_field *json_object_get(const struct json_object *o, const char *key)
{
        for (size_t i = o->n; i > 0; i--)
                if (strcmp(o->v[i - 1].key, key) == 0)
                        return &o->v[i - 1];
        return NULL;
}

const char *json_object_str(const struct json_object *o, const char *key)
{
        const struct json_field *f = json_object_get(o, key);
        return f && f->type == JSON_STRING ? f->str : NULL;
}

double json_object_num(const struct json_object *o, const char *key, double def)
{
        const struct json_field *f = json_object_get(o, key);
        return f && f->type == JSON_NUMBER ? f->num : def;
}

bool json_object_bool(const struct json_object *o, const char *key, bool def)
{
        const struct json_field *f = json_object_get(o, key);
        return f && f->type == JSON_BOOL ? f->b : def;
}
