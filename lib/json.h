/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A small streaming JSON writer for the tools' --json output: objects,
 * arrays, strings, integers, booleans and null written straight to a FILE,
 * commas placed by the writer. Strings are escaped (", \, control
 * characters) and bytes that are not valid UTF-8 become U+FFFD, so the
 * output is valid JSON whatever a path or a domain name holds. No
 * allocation; nesting is bounded by JSON_MAX_DEPTH (deeper is a bug, caught
 * by json_end). */
#pragma once

#include <stdbool.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 16

struct json {
        FILE *f;
        int depth;
        bool bad;                      /* unbalanced or too deep */
        bool first[JSON_MAX_DEPTH];    /* nothing written yet at this level */
        bool key_pending;              /* a key was written, its value comes next */
};

/* Starts writing to f. */
void json_init(struct json *j, FILE *f);

void json_object_begin(struct json *j);
void json_object_end(struct json *j);
void json_array_begin(struct json *j);
void json_array_end(struct json *j);
/* The key of the next value in the current object. */
void json_key(struct json *j, const char *key);

/* Values; a NULL string is written as null. */
void json_string(struct json *j, const char *s);
void json_int(struct json *j, long long v);
void json_bool(struct json *j, bool v);
void json_null(struct json *j);

/* Shorthands for "key": value. */
void json_kv_string(struct json *j, const char *key, const char *s);
void json_kv_int(struct json *j, const char *key, long long v);

/* Writes s as a quoted JSON string to f (NULL: null). */
void json_write_string(FILE *f, const char *s);

/* Length of the valid UTF-8 sequence at p (1-4), or 0 if it is not one
 * (overlong forms, surrogates and code points past U+10FFFF included); p
 * must be NUL-terminated. */
int utf8_char_len(const unsigned char *p);

/* Ends the document with a newline. Returns 0, -EINVAL if objects or arrays
 * were left open or closed too often, or -EIO if writing failed. */
int json_end(struct json *j);
