/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The JSON writer behind --json: commas, nesting, escaping, and bytes that
 * are not UTF-8 (the output must parse whatever a path or a name holds). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>

#include "json.h"
#include "util.h"

/* What f received so far, as a string (the stream is then closed). */
struct buf {
        char *text;
        size_t len;
        FILE *f;
};

static void buf_open(struct buf *b)
{
        *b = (struct buf) { 0 };
        b->f = open_memstream(&b->text, &b->len);
        assert_non_null(b->f);
}

static char *buf_close(struct buf *b)
{
        assert_int_equal(fclose(b->f), 0);
        return b->text;
}

static void check_string(const char *in, const char *out)
{
        struct buf b;
        buf_open(&b);
        json_write_string(b.f, in);
        _cleanup_free_ char *t = buf_close(&b);
        assert_string_equal(t, out);
}

static void test_strings(void **state)
{
        (void)state;
        check_string("plain", "\"plain\"");
        check_string(NULL, "null");
        check_string("", "\"\"");
        check_string("a\"b\\c/d", "\"a\\\"b\\\\c/d\"");
        check_string("t\tn\nr\r\x01\x1f\x7f", "\"t\\tn\\nr\\r\\u0001\\u001f\\u007f\"");
        /* valid UTF-8 passes through: é (2 bytes), € (3), 😀 (4) */
        check_string("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"");
        /* invalid: a stray continuation byte, 0xff, a truncated sequence, an
         * overlong '/', an encoded surrogate, past U+10FFFF */
        check_string("a\x80z", "\"a\\ufffdz\"");
        check_string("\xff", "\"\\ufffd\"");
        check_string("\xe2\x82", "\"\\ufffd\\ufffd\"");
        check_string("\xc0\xaf", "\"\\ufffd\\ufffd\"");
        check_string("\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"");
        check_string("\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");
}

static void test_document(void **state)
{
        struct buf b;
        struct json j;
        char *l[] = { "x", "y", NULL };
        (void)state;

        buf_open(&b);
        json_init(&j, b.f);
        json_object_begin(&j);
        json_kv_int(&j, "n", -42);
        json_kv_string(&j, "s", "v");
        json_kv_string(&j, "none", NULL);
        json_key(&j, "empty");
        json_array_begin(&j);
        json_array_end(&j);
        json_key(&j, "list");
        json_array_begin(&j);
        for (size_t i = 0; l[i]; i++)
                json_string(&j, l[i]);
        json_object_begin(&j);
        json_key(&j, "t");
        json_bool(&j, true);
        json_key(&j, "f");
        json_bool(&j, false);
        json_key(&j, "z");
        json_null(&j);
        json_object_end(&j);
        json_array_end(&j);
        json_object_end(&j);
        assert_int_equal(json_end(&j), 0);
        _cleanup_free_ char *t = buf_close(&b);
        assert_string_equal(t, "{\"n\":-42,\"s\":\"v\",\"none\":null,\"empty\":[],\"list\":[\"x\",\"y\",{\"t\":true,\"f\":false,\"z\":null}]}\n");
}

static void test_unbalanced(void **state)
{
        struct buf b;
        struct json j;
        (void)state;

        buf_open(&b);
        json_init(&j, b.f);
        json_object_begin(&j);
        assert_int_equal(json_end(&j), -EINVAL); /* left open */
        json_init(&j, b.f);
        json_array_end(&j);
        assert_int_equal(json_end(&j), -EINVAL); /* closed what was never opened */
        json_init(&j, b.f);
        json_object_begin(&j);
        json_key(&j, "k");
        json_object_end(&j);
        assert_int_equal(json_end(&j), -EINVAL); /* a key without its value */
        json_init(&j, b.f);
        for (int i = 0; i < JSON_MAX_DEPTH + 2; i++)
                json_array_begin(&j);
        for (int i = 0; i < JSON_MAX_DEPTH + 2; i++)
                json_array_end(&j);
        assert_int_equal(json_end(&j), -EINVAL); /* too deep */
        free(buf_close(&b));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_strings),
                cmocka_unit_test(test_document),
                cmocka_unit_test(test_unbalanced),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
