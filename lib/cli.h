/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the five binaries' main()s share beyond exitcode.h: loading the
 * configuration with the one message that says how to check it. Talks to
 * the operator through log.h. */
#pragma once

#include "config.h"

/* config_load(cfg, path); on failure logs "<what is wrong>; check it with:
 * migkit config check" and returns -errno (cfg is then empty). */
int cli_load_config(struct mk_config *cfg, const char *path);
