/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* migkit: the operator command. A table of verbs (status now; migrate,
 * check, evacuate, swap-volume and doctor arrive with their issues), each
 * parsing its own options and returning an exit code; the work is in lib/. */
#include <getopt.h>
#include <stdio.h>

#include "cleanup.h"
#include "config.h"
#include "log.h"
#include "util.h"

enum {
        EXIT_OK = 0,
        EXIT_FAIL = 1,      /* an error (see the message) */
        EXIT_USAGE = 2,
        EXIT_ATTENTION = 3, /* status: something is pending (refused or left for later) */
};

struct verb {
        const char *name;
        const char *synopsis; /* what follows the name */
        const char *summary;
        int (*run)(int argc, char **argv); /* argv[0] is the verb; returns an exit status */
};

static int verb_status(int argc, char **argv);

static const struct verb verbs[] = {
        { "status", "[--config FILE] [--json]",
          "pending cleanups and rollbacks with their reasons, journals of incoming\n"
          "                migrations, proofs, quarantined directories with their age",
          verb_status },
};

static void usage(FILE *f)
{
        fprintf(f, "Usage: migkit [--help | --version]\n");
        for (size_t i = 0; i < ARRAY_SIZE(verbs); i++)
                fprintf(f, "       migkit %s %s\n", verbs[i].name, verbs[i].synopsis);
        fprintf(f, "\nLive migration of libvirt/QEMU guests that leaves no debris.\n\n");
        for (size_t i = 0; i < ARRAY_SIZE(verbs); i++)
                fprintf(f, "  %-13s %s\n", verbs[i].name, verbs[i].summary);
        fprintf(f,
                "\n"
                "`migkit COMMAND --help` describes a command. The configuration is\n"
                "$MIGKIT_CONFIG or " MIGKIT_CONFIG_PATH " unless --config names another.\n"
                "\n"
                "Exit status: 0 done, 1 error, 2 usage; status: 3 when something is pending.\n");
}

/* ---- status ------------------------------------------------------------- */

static void status_usage(FILE *f)
{
        fprintf(f,
                "Usage: migkit status [--config FILE] [--json]\n"
                "\n"
                "Lists, one line each, what migkit-cleanup has not finished on this host:\n"
                "  pending source|rollback UUID NAME for AGE: REASON; ...\n"
                "        a cleanup or rollback that a safety rule refused, or left for a later\n"
                "        run; nothing was removed; the reasons say what to fix\n"
                "  journal UUID NAME started AGE ago: ITEMS\n"
                "        an incoming migration not yet committed or rolled back, and what\n"
                "        the hook created for it\n"
                "  proof UUID NAME KIND by WHO AGE ago[: DETAIL]\n"
                "        evidence recorded for a cleanup (migrated) or a rollback\n"
                "        (incoming-failed) that has not acted on it yet\n"
                "  quarantined UUID NAME AGE ago, purged in TIME: PATH (REASON)\n"
                "        a removed instance directory, kept for [cleanup] retention; undo\n"
                "        with: mv PATH <instances>/UUID\n"
                "then a count of each. Ages are in s, min, h or d.\n"
                "\n"
                "  -c, --config FILE  configuration file (default $MIGKIT_CONFIG or\n"
                "                     " MIGKIT_CONFIG_PATH ")\n"
                "  -j, --json         one JSON object instead, with the arrays pending, journals,\n"
                "                     proofs, quarantined and errors (times in unix seconds,\n"
                "                     ages in seconds)\n"
                "  -h, --help         this text\n"
                "\n"
                "Exit status: 0 nothing pending, 3 something pending (see the reasons), 1 the\n"
                "state or the quarantine could not be read (the rest is still listed), 2 usage.\n");
}

static int verb_status(int argc, char **argv)
{
        static const struct option opts[] = {
                { "config", required_argument, NULL, 'c' },
                { "json", no_argument, NULL, 'j' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        const char *config = NULL;
        bool json = false;
        int o;

        while ((o = getopt_long(argc, argv, "c:jh", opts, NULL)) >= 0)
                switch (o) {
                case 'c': config = optarg; break;
                case 'j': json = true; break;
                case 'h': status_usage(stdout); return EXIT_OK;
                default: status_usage(stderr); return EXIT_USAGE;
                }
        if (optind < argc) {
                log_error("status takes no arguments, got '%s'", argv[optind]);
                status_usage(stderr);
                return EXIT_USAGE;
        }

        struct mk_config cfg;
        _cleanup_free_ char *err = NULL;
        int r = config_load(&cfg, config, &err);
        if (r < 0) {
                log_error_errno(r, "%s; check it with: migkit-hook --check-config", err ? err : "cannot load the configuration");
                return EXIT_FAIL;
        }

        struct cleanup_counts c;
        r = cleanup_status_ex(&cfg, stdout, time(NULL), json ? CLEANUP_STATUS_JSON : 0, &c);
        if (!json) {
                if (c.pending + c.journals + c.proofs + c.quarantined == 0 && r >= 0)
                        printf("nothing pending, no journals, no proofs, nothing quarantined\n");
                else
                        printf("%u pending, %u journal%s, %u proof%s, %u quarantined\n", c.pending, c.journals,
                               c.journals == 1 ? "" : "s", c.proofs, c.proofs == 1 ? "" : "s", c.quarantined);
        }
        if (fflush(stdout) != 0)
                r = r < 0 ? r : -errno;
        if (r < 0)
                log_error_errno(r, "cannot read all of the state in %s and the quarantine in %s/.migkit-quarantine: %m%s",
                                cfg.state_dir, cfg.instances_path, r == -EACCES ? " (run as root)" : "");
        config_free(&cfg);
        if (r < 0)
                return EXIT_FAIL;
        return c.pending > 0 ? EXIT_ATTENTION : EXIT_OK;
}

/* ---- main --------------------------------------------------------------- */

int main(int argc, char **argv)
{
        log_open("migkit", 1, false);

        if (argc < 2) {
                usage(stderr);
                return EXIT_USAGE;
        }
        const char *cmd = argv[1];
        if (streq(cmd, "-h") || streq(cmd, "--help") || streq(cmd, "help")) {
                usage(stdout);
                return EXIT_OK;
        }
        if (streq(cmd, "-V") || streq(cmd, "--version")) {
                printf("migkit %s\n", MIGKIT_VERSION);
                return EXIT_OK;
        }
        for (size_t i = 0; i < ARRAY_SIZE(verbs); i++)
                if (streq(cmd, verbs[i].name))
                        return verbs[i].run(argc - 1, argv + 1);
        if (cmd[0] == '-')
                log_error("unknown option '%s'; options follow the command (migkit COMMAND --help)", cmd);
        else
                log_error("unknown command '%s'", cmd);
        usage(stderr);
        return EXIT_USAGE;
}
