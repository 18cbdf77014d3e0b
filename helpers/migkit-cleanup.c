/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* migkit-cleanup: proves and performs the source cleanup after a migration,
 * the destination rollback after a failed one, and purges the quarantine.
 * Run by the hook (detached), migkit-watch, systemd units or by hand. All the
 * decisions are in lib/cleanup.c; this maps them to exit codes. */
#include <ctype.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>

#include "cleanup.h"
#include "cli.h"
#include "config.h"
#include "dispatch.h"
#include "exitcode.h"
#include "log.h"
#include "metrics.h"
#include "proof.h"
#include "status.h"
#include "util.h"
#include "validate.h"
#include "virt.h"

#define LOCK_TIMEOUT_MS 60000

static void usage(FILE *f)
{
        fprintf(f,
                "Usage: migkit-cleanup [OPTIONS] source UUID\n"
                "       migkit-cleanup [OPTIONS] rollback UUID\n"
                "       migkit-cleanup [OPTIONS] commit UUID\n"
                "       migkit-cleanup [OPTIONS] run ACTION-UUID\n"
                "       migkit-cleanup [OPTIONS] proof UUID migrated|incoming-failed [--by WHO] [--name NAME] [--detail TEXT]\n"
                "       migkit-cleanup [OPTIONS] purge [--retention DURATION]\n"
                "       migkit-cleanup [OPTIONS] status\n"
                "\n"
                "Removes what live migrations leave behind, only when it is proven safe.\n"
                "\n"
                "  source UUID    the guest migrated away from this host: move <instances>/UUID\n"
                "                 to <instances>/.migkit-quarantine/, given a 'migrated' proof,\n"
                "                 libvirt no longer knowing the domain here, no unresolved incoming\n"
                "                 journal, a local filesystem, no symlink and no mount point in the way\n"
                "  rollback UUID  the incoming migration of UUID failed: undo exactly what the\n"
                "                 hook's journal lists (the directory to quarantine, bridges that\n"
                "                 have no ports), given an 'incoming-failed' proof of this attempt\n"
                "  commit UUID    the incoming migration of UUID succeeded: drop its journal, so\n"
                "                 nothing of it is ever rolled back\n"
                "  run ACTION-UUID  the same as ACTION UUID (source-, rollback- or commit-UUID):\n"
                "                 the instance name of migkit-cleanup@.service\n"
                "  proof UUID KIND  record a proof (--by hook|watch|driver|operator, default\n"
                "                 operator); the next source/rollback run may then act on it\n"
                "  purge          delete quarantined directories older than [cleanup] retention\n"
                "  status         list pending items with their reasons, journals, proofs and\n"
                "                 quarantined directories\n"
                "\n"
                "  -n, --dry-run         check everything, print what would be done, change nothing\n"
                "  -c, --config FILE     configuration file (default $MIGKIT_CONFIG or\n"
                "                        " MIGKIT_CONFIG_PATH ")\n"
                "      --retention DUR   purge: keep entries younger than DUR (e.g. 0, 12h, 7d)\n"
                "      --wait DUR        wait at most DUR (default 60s) for another migkit-cleanup\n"
                "                        working on the same guest, then exit 4; --wait without\n"
                "                        a duration waits as long as it takes\n"
                "      --by WHO, --name NAME, --detail TEXT   proof: who saw it, domain name, note\n"
                "  -v, --verbose         more output;  -q, --quiet  only warnings and errors\n"
                "  -h, --help            this text;    -V, --version  print the version\n"
                "\n"
                "Exit status: 0 done or nothing to do, 1 error, 2 usage, 3 refused or partly done\n"
                "(nothing unsafe was done; the reasons are recorded, see status), 4 busy (another\n"
                "migkit-cleanup holds the guest's lock; try again).\n");
}

static int outcome_to_exit(int r)
{
        if (r == -EAGAIN)
                return MIGKIT_EXIT_BUSY;
        if (r < 0)
                return MIGKIT_EXIT_FAILED;
        switch (r) {
        case CLEANUP_DONE:
        case CLEANUP_NOTHING:
                return MIGKIT_EXIT_OK;
        default:
                return MIGKIT_EXIT_REFUSED;
        }
}

/* getopt cannot take "--wait" both with and without a separate argument:
 * rewrites "--wait DUR" as "--wait=DUR" when DUR is a duration, so a bare
 * "--wait" (migkit-cleanup@.service: "--wait run %i") stays bare. Fills
 * *ret_argv (a new array sharing argv's strings, plus *ret_joined, the one
 * "--wait=DUR" string made; both to be freed) and updates *argcp. Returns 0
 * or -ENOMEM. */
static int join_wait_arg(int *argcp, char **argv, char ***ret_argv, char **ret_joined)
{
        int argc = *argcp, n = 0;
        char **nv = calloc((size_t)argc + 1, sizeof(char *));
        unsigned ms;

        *ret_joined = NULL;
        if (!nv)
                return -ENOMEM;
        for (int i = 0; i < argc; i++) {
                if (streq(argv[i], "--")) {
                        while (i < argc)
                                nv[n++] = argv[i++];
                        break;
                }
                if (i > 0 && !*ret_joined && streq(argv[i], "--wait") && i + 1 < argc &&
                    parse_duration_ms(argv[i + 1], &ms) == 0) {
                        if (asprintf(ret_joined, "--wait=%s", argv[i + 1]) < 0) {
                                *ret_joined = NULL;
                                free(nv);
                                return -ENOMEM;
                        }
                        nv[n++] = *ret_joined;
                        i++;
                        continue;
                }
                nv[n++] = argv[i];
        }
        nv[n] = NULL;
        *argcp = n;
        *ret_argv = nv;
        return 0;
}

/* A UUID argument, lower-cased as libvirt writes it; NULL after a message. */
static char *uuid_arg(const char *s)
{
        if (!uuid_is_valid(s)) {
                log_error("'%s' is not a domain UUID (8-4-4-4-12 hex digits); refusing", s);
                return NULL;
        }
        char *u = strdup(s);
        if (!u) {
                log_error_errno(ENOMEM, "out of memory");
                return NULL;
        }
        for (char *p = u; *p; p++)
                *p = (char)tolower((unsigned char)*p);
        return u;
}

/* What the command line asks for. */
struct args {
        struct cleanup_opts co;
        const char *config, *retention, *by, *name, *detail;
        const char *cmd;          /* source, rollback, commit, proof, purge, status */
        char *run_action;         /* run ACTION-UUID: ACTION */
        char *uuid;               /* lower-cased */
        const char *kind;         /* proof: the kind as given */
        unsigned retention_ms;
        int verbose;
};

static void args_done(struct args *a)
{
        free(a->run_action);
        free(a->uuid);
}

/* The options. Returns -1 to go on, or an exit code. */
static int parse_options(int argc, char **argv, struct args *a)
{
        enum { OPT_RETENTION = 0x100, OPT_BY, OPT_NAME, OPT_DETAIL, OPT_WAIT };
        static const struct option opts[] = {
                { "dry-run", no_argument, NULL, 'n' },
                { "config", required_argument, NULL, 'c' },
                { "retention", required_argument, NULL, OPT_RETENTION },
                { "wait", optional_argument, NULL, OPT_WAIT },
                { "by", required_argument, NULL, OPT_BY },
                { "name", required_argument, NULL, OPT_NAME },
                { "detail", required_argument, NULL, OPT_DETAIL },
                { "verbose", no_argument, NULL, 'v' },
                { "quiet", no_argument, NULL, 'q' },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, 'V' },
                {},
        };
        int o;

        while ((o = getopt_long(argc, argv, "nc:vqhV", opts, NULL)) >= 0)
                switch (o) {
                case 'n': a->co.dry_run = true; break;
                case 'c': a->config = optarg; break;
                case OPT_RETENTION: a->retention = optarg; break;
                case OPT_WAIT:
                        if (!optarg)
                                a->co.lock_timeout_ms = UINT32_MAX; /* about 49 days: as long as it takes */
                        else if (parse_duration_ms(optarg, &a->co.lock_timeout_ms) < 0) {
                                fprintf(stderr, "migkit-cleanup: error: --wait '%s' is not a duration such as 0, 5s or 2min\n", optarg);
                                return MIGKIT_EXIT_USAGE;
                        }
                        break;
                case OPT_BY: a->by = optarg; break;
                case OPT_NAME: a->name = optarg; break;
                case OPT_DETAIL: a->detail = optarg; break;
                case 'v': a->verbose++; break;
                case 'q': a->verbose = 0; break;
                case 'h': usage(stdout); return MIGKIT_EXIT_OK;
                case 'V': printf("migkit-cleanup %s\n", MIGKIT_VERSION); return MIGKIT_EXIT_OK;
                default: usage(stderr); return MIGKIT_EXIT_USAGE;
                }
        return -1;
}

/* The command and its arguments, from argv[optind]. Returns -1 to go on,
 * or an exit code after saying what is wrong. */
static int parse_command(int argc, char **argv, struct args *a)
{
        if (optind >= argc) {
                usage(stderr);
                return MIGKIT_EXIT_USAGE;
        }
        const char *cmd = argv[optind++];
        int nargs = argc - optind;
        if (streq(cmd, "run")) {
                /* run ACTION-UUID: the instance of migkit-cleanup@.service */
                const char *dash = nargs == 1 ? strchr(argv[optind], '-') : NULL;
                if (!dash || !(a->run_action = strndup(argv[optind], (size_t)(dash - argv[optind]))) ||
                    !dispatch_action_is_valid(a->run_action)) {
                        log_error("run takes one argument ACTION-UUID with ACTION source, rollback or commit, got '%s'",
                                  nargs >= 1 ? argv[optind] : "");
                        usage(stderr);
                        return MIGKIT_EXIT_USAGE;
                }
                cmd = a->run_action;
                argv[optind] = (char *)dash + 1;
        }
        bool want_uuid = streq(cmd, "source") || streq(cmd, "rollback") || streq(cmd, "commit") || streq(cmd, "proof");
        int expected = streq(cmd, "proof") ? 2 : want_uuid ? 1 : 0;
        if ((!want_uuid && !streq(cmd, "purge") && !streq(cmd, "status")) || nargs != expected) {
                if (nargs != expected && (want_uuid || streq(cmd, "purge") || streq(cmd, "status")))
                        log_error("%s takes %d argument%s, got %d", cmd, expected, expected == 1 ? "" : "s", nargs);
                else
                        log_error("unknown command '%s'", cmd);
                usage(stderr);
                return MIGKIT_EXIT_USAGE;
        }
        if (a->retention && !streq(cmd, "purge")) {
                log_error("--retention only applies to purge");
                return MIGKIT_EXIT_USAGE;
        }
        if (a->retention && parse_duration_ms(a->retention, &a->retention_ms) < 0) {
                log_error("--retention '%s' is not a duration such as 0, 90s, 12h or 7d", a->retention);
                return MIGKIT_EXIT_USAGE;
        }
        if (want_uuid && !(a->uuid = uuid_arg(argv[optind])))
                return MIGKIT_EXIT_USAGE;
        if (streq(cmd, "proof"))
                a->kind = argv[optind + 1];
        a->cmd = cmd;
        return -1;
}

/* proof UUID KIND: are the kind and --by ones migkit knows? */
static bool proof_args_valid(const struct args *a)
{
        if (proof_kind_from_string(a->kind) >= 0 && proof_by_is_valid(a->by))
                return true;
        log_error("proof: kind must be migrated or incoming-failed and --by one of hook, watch, driver, operator");
        return false;
}

/* proof UUID KIND: records what the operator saw. Returns an outcome or
 * -errno. */
static int record_proof(const struct mk_config *cfg, const struct args *a)
{
        struct proof p = { .uuid = a->uuid, .kind = proof_kind_from_string(a->kind), .by = (char *)a->by,
                           .name = (char *)a->name, .detail = (char *)a->detail };
        int r;

        if (a->co.dry_run) {
                printf("uuid %s: would record a %s proof by %s\n", a->uuid, a->kind, a->by);
                return CLEANUP_DONE;
        }
        r = proof_record(cfg->state_dir, &p);
        if (r < 0)
                log_error_errno(r, "uuid %s: cannot record the proof in %s/proof: %m", a->uuid, cfg->state_dir);
        else
                log_info("uuid %s: recorded a %s proof by %s", a->uuid, a->kind, a->by);
        return r;
}

/* [metrics] textfile: what a source cleanup, a rollback or a purge did; the
 * file is rewritten after every command (the pending items and the
 * quarantine may have changed). */
static void count(const struct mk_config *cfg, const char *cmd, int outcome)
{
        int ev = -1, r;
        if (streq(cmd, "source"))
                ev = outcome == CLEANUP_DONE ? METRIC_SOURCE_DONE : outcome == CLEANUP_REFUSED ? METRIC_SOURCE_REFUSED : -1;
        else if (streq(cmd, "rollback"))
                ev = outcome == CLEANUP_DONE      ? METRIC_ROLLBACK_DONE
                     : outcome == CLEANUP_PARTIAL ? METRIC_ROLLBACK_PARTIAL
                     : outcome == CLEANUP_REFUSED ? METRIC_ROLLBACK_REFUSED
                                                  : -1;
        else if (streq(cmd, "purge") && outcome >= 0 && outcome != CLEANUP_REFUSED)
                ev = METRIC_PURGED;
        else if (streq(cmd, "status"))
                return;
        r = ev >= 0 ? metrics_count(cfg, ev) : metrics_update(cfg);
        if (r < 0)
                log_warning_errno(r, "cannot update the metrics in %s: %m", cfg->metrics_textfile);
}

/* Runs the command. Returns an outcome or -errno. */
static int run_command(const struct mk_config *cfg, const struct args *a)
{
        const char *cmd = a->cmd;
        int r;

        if (streq(cmd, "source"))
                return cleanup_source(cfg, a->uuid, &a->co);
        if (streq(cmd, "rollback"))
                return cleanup_rollback(cfg, a->uuid, &a->co);
        if (streq(cmd, "commit"))
                return cleanup_commit(cfg, a->uuid, &a->co);
        if (streq(cmd, "purge"))
                return cleanup_purge(cfg, a->retention ? a->retention_ms : cfg->quarantine_retention_ms, &a->co);
        if (streq(cmd, "proof"))
                return record_proof(cfg, a);
        r = status_print(cfg, stdout, time(NULL));
        if (r < 0)
                log_error_errno(r, "cannot read the state in %s or the quarantine in %s: %m", cfg->state_dir, cfg->instances_path);
        else if (r == 0 && a->verbose > 0)
                printf("nothing pending, no journals, no proofs, nothing quarantined\n");
        return r < 0 ? r : CLEANUP_DONE;
}

int main(int argc, char **argv)
{
        _cleanup_(args_done) struct args a = { .co.lock_timeout_ms = LOCK_TIMEOUT_MS, .by = "operator", .verbose = 1 };
        _cleanup_free_ char **args = NULL;
        _cleanup_free_ char *joined = NULL;
        struct mk_config cfg;
        int r;

        if (join_wait_arg(&argc, argv, &args, &joined) < 0) {
                fprintf(stderr, "migkit-cleanup: error: out of memory\n");
                return MIGKIT_EXIT_FAILED;
        }
        r = parse_options(argc, args, &a);
        if (r >= 0)
                return r;
        /* Spawned detached by the hook, stderr goes nowhere: syslog too. */
        log_open("migkit-cleanup", a.verbose, !isatty(STDERR_FILENO));
        virt_quiet_errors(); /* libvirt's errors in migkit's messages only */
        r = parse_command(argc, args, &a);
        if (r >= 0)
                return r;
        if (cli_load_config(&cfg, a.config) < 0)
                return MIGKIT_EXIT_FAILED;
        if (streq(a.cmd, "proof") && !proof_args_valid(&a)) {
                config_free(&cfg);
                return MIGKIT_EXIT_USAGE;
        }
        r = run_command(&cfg, &a);
        if (!a.co.dry_run)
                count(&cfg, a.cmd, r);
        config_free(&cfg);
        return outcome_to_exit(r);
}
