/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cli.h"

#include "exitcode.h"
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

int cli_config_report(const char *path, bool dump)
{
        struct mk_config cfg;
        if (cli_load_config(&cfg, path) < 0)
                return MIGKIT_EXIT_FAILED;
        if (dump)
                config_dump(&cfg, stdout);
        else
                printf("%s: OK\n", cfg.file ? cfg.file : "built-in defaults (no configuration file)");
        for (size_t i = 0; cfg.notes && cfg.notes[i]; i++)
                log_warning("%s: %s", cfg.file, cfg.notes[i]);
        config_free(&cfg);
        if (fflush(stdout) != 0)
                return log_error_errno(-errno, "cannot write: %m"), MIGKIT_EXIT_FAILED;
        return MIGKIT_EXIT_OK;
}
