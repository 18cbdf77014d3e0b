/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A small SVG 1.1 writer: one self-contained document (no scripts, no
 * external references) written straight to a FILE. Text and attribute
 * values are escaped for XML, and bytes that are not valid UTF-8 or not
 * allowed in XML 1.0 become U+FFFD, so the document is well-formed whatever
 * a domain name or a message holds. Numbers are written with one decimal in
 * the C locale. Elements nest through svg_group_begin/end; svg_end says
 * whether everything was balanced and written. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct svg {
        FILE *f;
        int depth;      /* open groups */
        bool bad;       /* unbalanced */
};

/* The XML declaration, <svg> of w x h user units (also its viewBox), and
 * its <title> (what viewers show as the name). */
void svg_begin(struct svg *s, FILE *f, double w, double h, const char *title);
/* A <style> element with css (written as character data, escaped). */
void svg_style(struct svg *s, const char *css);
/* <g> with optional id and class (NULL: none), and optional data-* value
 * pair (data_key NULL: none). */
void svg_group_begin(struct svg *s, const char *id, const char *cls, const char *data_key, const char *data_value);
void svg_group_end(struct svg *s);
/* Shapes; cls may be NULL; fill/stroke NULL leave them to the style. */
void svg_rect(struct svg *s, double x, double y, double w, double h, const char *cls, const char *fill);
void svg_line(struct svg *s, double x1, double y1, double x2, double y2, const char *cls, const char *stroke);
/* A <polyline> through n points (xy: x0, y0, x1, y1, ...); nothing for n < 1. */
void svg_polyline(struct svg *s, const double *xy, size_t n, const char *cls, const char *stroke);
/* <text> at (x, y); anchor "start", "middle" or "end"; rotate degrees about
 * (x, y) when not 0. */
void svg_text(struct svg *s, double x, double y, const char *anchor, double rotate, const char *cls, const char *text);
/* Closes </svg>. Returns 0, -EINVAL if groups were left open or closed too
 * often, -EIO if writing failed. */
int svg_end(struct svg *s);

/* Writes text escaped for XML character data or a quoted attribute value
 * (&, <, >, " and ' as entities; invalid UTF-8 and characters XML 1.0
 * forbids as U+FFFD). */
void svg_write_escaped(FILE *f, const char *text);
