/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the five binaries' main()s share beyond exitcode.h: loading the
 * configuration with the one message that says how to check it. Talks to
 * the operator through log.h. */
#pragma once

#include <stdbool.h>

#include "config.h"

/* config_load(cfg, path); on failure logs "<what is wrong>; check it with:
 * migkit config check" and returns -errno (cfg is then empty). */
int cli_load_config(struct mk_config *cfg, const char *path);

/* `migkit config check|dump` and `migkit-hook --check-config|--dump-config`:
 * loads the configuration at path (NULL: the default) and prints "FILE: OK"
 * or, with dump, the effective configuration; a deprecated key is a
 * warning. Returns an exit status: MIGKIT_EXIT_OK or MIGKIT_EXIT_FAILED. */
int cli_config_report(const char *path, bool dump);
