/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The SVG writer and `migkit plot`'s picture of recorded lab migrations
 * (tests/data/converge/): the document is well-formed XML (parsed back with
 * libxml2) and has the elements a reader needs: the title with the result
 * and downtime, one line per series through every sample, a mark per policy
 * decision, the passes, the post-copy phase. tests/lab/e2e-converge renders
 * a fresh one with rsvg-convert. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include "plot.h"
#include "record.h"
#include "svg.h"
#include "util.h"

static char *written(FILE *f, char **buf)
{
        assert_int_equal(fclose(f), 0);
        return *buf;
}

static void test_escape(void **state)
{
        char *b = NULL;
        size_t n;
        FILE *f = open_memstream(&b, &n);
        (void)state;
        svg_write_escaped(f, "a<b&\"'>\x01\xff\xc3\xa9\t");
        assert_string_equal(written(f, &b), "a&lt;b&amp;&quot;&apos;&gt;\xef\xbf\xbd\xef\xbf\xbd\xc3\xa9\t");
        free(b);
}

static void test_writer(void **state)
{
        char *b = NULL;
        size_t n;
        FILE *f = open_memstream(&b, &n);
        struct svg s;
        double xy[] = { 0, 0, 10.25, 20.75 };
        (void)state;
        svg_begin(&s, f, 100, 50, "t<1>");
        svg_group_begin(&s, "g1", "c", "action", "a\"b");
        svg_polyline(&s, xy, 2, "line", "#123456");
        svg_text(&s, 5, 6, "end", -90, NULL, "x&y");
        svg_group_end(&s);
        assert_int_equal(svg_end(&s), 0);
        assert_string_equal(written(f, &b),
                            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                            "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"100\" height=\"50\" viewBox=\"0 0 100 50\">\n"
                            "<title>t&lt;1&gt;</title>\n"
                            "<g id=\"g1\" class=\"c\" data-action=\"a&quot;b\">\n"
                            "<polyline fill=\"none\" class=\"line\" stroke=\"#123456\" points=\"0.0,0.0 10.2,20.8\"/>\n"
                            "<text x=\"5.0\" y=\"6.0\" text-anchor=\"end\" transform=\"rotate(-90.0 5.0 6.0)\">x&amp;y</text>\n"
                            "</g>\n"
                            "</svg>\n");
        free(b);
        /* unbalanced groups are reported */
        f = open_memstream(&b, &n);
        svg_begin(&s, f, 1, 1, "");
        svg_group_begin(&s, NULL, NULL, NULL, NULL);
        assert_int_equal(svg_end(&s), -EINVAL);
        fclose(f);
        free(b);
        f = open_memstream(&b, &n);
        svg_begin(&s, f, 1, 1, "");
        svg_group_end(&s);
        assert_int_equal(svg_end(&s), -EINVAL);
        fclose(f);
        free(b);
}

/* Plots a recorded migration and parses the picture back. */
static xmlDocPtr plot_of(const char *file, struct recording *rec)
{
        char path[256], *b = NULL;
        size_t n;
        _cleanup_free_ char *err = NULL;
        snprintf(path, sizeof(path), "tests/data/converge/%s", file);
        assert_int_equal(record_load(path, rec, &err), 0);
        FILE *f = open_memstream(&b, &n);
        assert_int_equal(plot_svg(rec, f), 0);
        fclose(f);
        xmlDocPtr doc = xmlReadMemory(b, (int)n, "plot.svg", NULL, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
        if (!doc)
                fail_msg("the SVG of %s is not well-formed XML:\n%s", file, b);
        free(b);
        return doc;
}

static int count(xmlDocPtr doc, const char *xpath)
{
        xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
        xmlXPathRegisterNs(ctx, BAD_CAST "s", BAD_CAST "http://www.w3.org/2000/svg");
        xmlXPathObjectPtr o = xmlXPathEvalExpression(BAD_CAST xpath, ctx);
        assert_non_null(o);
        int n = o->nodesetval ? o->nodesetval->nodeNr : 0;
        xmlXPathFreeObject(o);
        xmlXPathFreeContext(ctx);
        return n;
}

static char *text_of(xmlDocPtr doc, const char *xpath)
{
        xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
        xmlXPathRegisterNs(ctx, BAD_CAST "s", BAD_CAST "http://www.w3.org/2000/svg");
        xmlXPathObjectPtr o = xmlXPathEvalExpression(BAD_CAST xpath, ctx);
        char *t = NULL;
        if (o && o->nodesetval && o->nodesetval->nodeNr > 0)
                t = (char *)xmlNodeGetContent(o->nodesetval->nodeTab[0]);
        xmlXPathFreeObject(o);
        xmlXPathFreeContext(ctx);
        return t;
}

static int points_of(xmlDocPtr doc, const char *cls)
{
        char xp[128];
        snprintf(xp, sizeof(xp), "string(//s:polyline[@class='%s']/@points)", cls);
        xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
        xmlXPathRegisterNs(ctx, BAD_CAST "s", BAD_CAST "http://www.w3.org/2000/svg");
        xmlXPathObjectPtr o = xmlXPathEvalExpression(BAD_CAST xp, ctx);
        int n = 0;
        for (const char *p = (const char *)o->stringval; p && *p; p++)
                n += *p == ',';
        xmlXPathFreeObject(o);
        xmlXPathFreeContext(ctx);
        return n;
}

static void test_plot_postcopy(void **state)
{
        struct recording rec;
        (void)state;
        xmlDocPtr doc = plot_of("busy-postcopy.jsonl", &rec);
        char *title = text_of(doc, "/s:svg/s:title");
        assert_non_null(title);
        assert_non_null(strstr(title, "busy-2 to qemu+tcp://hostB/system: migrated in "));
        assert_non_null(strstr(title, " (post-copy), downtime "));
        xmlFree(title);
        /* one line per series through every sample */
        assert_int_equal(points_of(doc, "remaining"), (int)rec.n_samples);
        assert_int_equal(points_of(doc, "transfer"), (int)rec.n_samples);
        assert_int_equal(points_of(doc, "dirty"), (int)rec.n_samples);
        /* a mark per decision, the switch among them, the post-copy phase shaded */
        size_t decisions = 0;
        for (size_t i = 0; i < rec.n_marks; i++)
                decisions += streq(rec.marks[i].event, "policy");
        assert_int_equal(count(doc, "//s:g[@class='decision']"), (int)decisions);
        assert_int_equal(count(doc, "//s:g[@class='decision'][@data-action='postcopy']"), 1);
        assert_int_equal(count(doc, "//s:g[@id='postcopy']/s:rect"), 2);
        assert_true(count(doc, "//s:g[@id='passes']/s:text[starts-with(., 'pass ')]") >= 1);
        assert_int_equal(count(doc, "//s:g[@id='result'][@data-status='ok']"), 1);
        assert_true(count(doc, "//s:g[@id='legend']/s:text") >= 5);
        xmlFreeDoc(doc);
        recording_free(&rec);
}

static void test_plot_aborted(void **state)
{
        struct recording rec;
        (void)state;
        xmlDocPtr doc = plot_of("busy-precopy.jsonl", &rec);
        char *title = text_of(doc, "/s:svg/s:title");
        assert_non_null(strstr(title, ": failed after "));
        xmlFree(title);
        assert_int_equal(count(doc, "//s:g[@class='decision'][@data-action='abort']"), 1);
        assert_true(count(doc, "//s:g[@class='decision'][@data-action='downtime']") >= 2);
        assert_int_equal(count(doc, "//s:g[@id='postcopy']"), 0);
        xmlFreeDoc(doc);
        recording_free(&rec);
}

static void test_plot_nothing(void **state)
{
        struct recording rec = { .downtime_ms = -1 };
        char *b = NULL;
        size_t n;
        FILE *f = open_memstream(&b, &n);
        (void)state;
        assert_int_equal(plot_svg(&rec, f), -ENODATA);
        fclose(f);
        free(b);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_escape),
                cmocka_unit_test(test_writer),
                cmocka_unit_test(test_plot_postcopy),
                cmocka_unit_test(test_plot_aborted),
                cmocka_unit_test(test_plot_nothing),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
