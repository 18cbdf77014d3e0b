/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cli.h"

#include "log.h"
#include "util.h"

int cli_load_config(struct mk_config *cfg, const char *path)
{
        _cleanup_free_ char *err = NULL;
        int r = config_load(cfg, path, &err);
        if (r < 0)
                return log_error_errno(r, "%s; check it with: migkit config check", err ? err : "cannot load the configuration");
        return 0;
}
