/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* `migkit plot`: a flight record (record.h) drawn as one self-contained SVG
 * (svg.h): the memory left to send over time on top, the rates it was sent
 * and dirtied at below, on one time axis; each memory pass ticked, each
 * policy action marked with what it did, the post-copy phase shaded; the
 * result, time and downtime in the title. */
#pragma once

#include <stdio.h>

#include "record.h"

#define PLOT_WIDTH 960
#define PLOT_HEIGHT 640

/* Writes the picture of r to f. Returns 0, -ENODATA when r has no sample,
 * -EINVAL or -EIO when the document could not be written whole. */
int plot_svg(const struct recording *r, FILE *f);

/* The title plot_svg() gives r (malloc'ed; NULL on ENOMEM), e.g.
 * "instance-1 to qemu+tcp://hostB/system: migrated in 15.8 s (post-copy), downtime 6 ms". */
char *plot_title(const struct recording *r);
