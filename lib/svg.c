/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "svg.h"

#include <errno.h>

#include "json.h"

/* Length of the valid UTF-8 sequence at p that XML 1.0 allows (1-4), 0 if
 * it is not one: besides what is not UTF-8, control characters other than
 * tab, newline and carriage return, and U+FFFE/U+FFFF. */
static int xml_char_len(const unsigned char *p)
{
        int n = utf8_char_len(p);
        if (n == 1)
                return p[0] >= 0x20 || p[0] == '\t' || p[0] == '\n' || p[0] == '\r' ? 1 : 0;
        if (n == 3 && p[0] == 0xef && p[1] == 0xbf && (p[2] == 0xbe || p[2] == 0xbf))
                return 0;
        return n;
}

void svg_write_escaped(FILE *f, const char *text)
{
        for (const unsigned char *p = (const unsigned char *)(text ? text : ""); *p;) {
                int n = xml_char_len(p);
                if (n == 0) {
                        fputs("\xef\xbf\xbd", f); /* U+FFFD */
                        p++;
                        continue;
                }
                switch (*p) {
                case '&': fputs("&amp;", f); break;
                case '<': fputs("&lt;", f); break;
                case '>': fputs("&gt;", f); break;
                case '"': fputs("&quot;", f); break;
                case '\'': fputs("&apos;", f); break;
                default: fwrite(p, 1, (size_t)n, f); break;
                }
                p += n;
        }
}

/* ' name="value"' when value is not NULL. */
static void attr(FILE *f, const char *name, const char *value)
{
        if (!value)
                return;
        fprintf(f, " %s=\"", name);
        svg_write_escaped(f, value);
        fputc('"', f);
}

void svg_begin(struct svg *s, FILE *f, double w, double h, const char *title)
{
        *s = (struct svg) { .f = f };
        fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                   "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%.0f\" height=\"%.0f\" "
                   "viewBox=\"0 0 %.0f %.0f\">\n<title>", w, h, w, h);
        svg_write_escaped(f, title);
        fputs("</title>\n", f);
}

void svg_style(struct svg *s, const char *css)
{
        fputs("<style type=\"text/css\">", s->f);
        svg_write_escaped(s->f, css);
        fputs("</style>\n", s->f);
}

void svg_group_begin(struct svg *s, const char *id, const char *cls, const char *data_key, const char *data_value)
{
        fputs("<g", s->f);
        attr(s->f, "id", id);
        attr(s->f, "class", cls);
        if (data_key && data_value) {
                char name[64];
                snprintf(name, sizeof(name), "data-%s", data_key);
                attr(s->f, name, data_value);
        }
        fputs(">\n", s->f);
        s->depth++;
}

void svg_group_end(struct svg *s)
{
        if (s->depth == 0) {
                s->bad = true;
                return;
        }
        s->depth--;
        fputs("</g>\n", s->f);
}

void svg_rect(struct svg *s, double x, double y, double w, double h, const char *cls, const char *fill)
{
        fprintf(s->f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"", x, y, w < 0 ? 0 : w, h < 0 ? 0 : h);
        attr(s->f, "class", cls);
        attr(s->f, "fill", fill);
        fputs("/>\n", s->f);
}

void svg_line(struct svg *s, double x1, double y1, double x2, double y2, const char *cls, const char *stroke)
{
        fprintf(s->f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"", x1, y1, x2, y2);
        attr(s->f, "class", cls);
        attr(s->f, "stroke", stroke);
        fputs("/>\n", s->f);
}

void svg_polyline(struct svg *s, const double *xy, size_t n, const char *cls, const char *stroke)
{
        if (n < 1)
                return;
        fputs("<polyline fill=\"none\"", s->f);
        attr(s->f, "class", cls);
        attr(s->f, "stroke", stroke);
        fputs(" points=\"", s->f);
        for (size_t i = 0; i < n; i++)
                fprintf(s->f, "%s%.1f,%.1f", i ? " " : "", xy[2 * i], xy[2 * i + 1]);
        fputs("\"/>\n", s->f);
}

void svg_text(struct svg *s, double x, double y, const char *anchor, double rotate, const char *cls, const char *text)
{
        fprintf(s->f, "<text x=\"%.1f\" y=\"%.1f\"", x, y);
        attr(s->f, "text-anchor", anchor);
        attr(s->f, "class", cls);
        if (rotate != 0)
                fprintf(s->f, " transform=\"rotate(%.1f %.1f %.1f)\"", rotate, x, y);
        fputc('>', s->f);
        svg_write_escaped(s->f, text);
        fputs("</text>\n", s->f);
}

int svg_end(struct svg *s)
{
        fputs("</svg>\n", s->f);
        if (s->bad || s->depth != 0)
                return -EINVAL;
        return ferror(s->f) ? -EIO : 0;
}
