/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Reads back what json.h wrote for the flight recorder: one flat JSON
 * object per line, whose values are strings, numbers, booleans or null (a
 * nested object or array is refused). Strings are unescaped (\uXXXX with
 * surrogate pairs into UTF-8; \u0000 is refused). Small and strict: enough
 * for migkit's own records, not a general JSON library. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

enum json_type { JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING };

struct json_field {
        char *key;
        int type;          /* enum json_type */
        char *str;         /* JSON_STRING */
        double num;        /* JSON_NUMBER */
        bool b;            /* JSON_BOOL */
};

struct json_object {
        struct json_field *v;
        size_t n;
};

/* Parses text (one object; surrounding white space allowed) into *ret.
 * Returns 0, -EINVAL for anything else (*ret_err, optional, says what and
 * where; static text), or -ENOMEM. */
int json_parse_object(const char *text, struct json_object *ret, const char **ret_err);

void json_object_free(struct json_object *o);

/* The field named key, NULL if absent (the last one when repeated). */
const struct json_field *json_object_get(const struct json_object *o, const char *key);
/* The string value of key, NULL if absent or not a string. */
const char *json_object_str(const struct json_object *o, const char *key);
/* The number value of key, def if absent or not a number (null included). */
double json_object_num(const struct json_object *o, const char *key, double def);
/* The boolean value of key, def if absent or not a boolean. */
bool json_object_bool(const struct json_object *o, const char *key, bool def);
