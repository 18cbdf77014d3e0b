/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* migkit: the operator command. A table of verbs (migrate, check,
 * evacuate, swap-volume, status, doctor, plot, config), each parsing its own options and
 * returning an exit code (exitcode.h); the work is in lib/. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>

#include "cli.h"
#include "config.h"
#include "doctor.h"
#include "evacuate.h"
#include "exitcode.h"
#include "log.h"
#include "metrics.h"
#include "migrate.h"
#include "plot.h"
#include "record.h"
#include "status.h"
#include "swapvol.h"
#include "util.h"
#include "virt.h"

struct verb {
        const char *name;
        const char *synopsis; /* what follows the name */
        const char *summary;
        int (*run)(int argc, char **argv); /* argv[0] is the verb; returns an exit status */
};

static int verb_status(int argc, char **argv);
static int verb_migrate(int argc, char **argv);
static int verb_check(int argc, char **argv);
static int verb_evacuate(int argc, char **argv);
static int verb_swap_volume(int argc, char **argv);
static int verb_doctor(int argc, char **argv);
static int verb_plot(int argc, char **argv);
static int verb_config(int argc, char **argv);

static const struct verb verbs[] = {
        { "migrate", "DOMAIN DEST [OPTIONS]",
          "check, then live-migrate DOMAIN to DEST with progress and the\n"
          "                convergence policy; hand the source cleanup over",
          verb_migrate },
        { "check", "DOMAIN DEST [--copy-storage DISK]... [--no-copy-storage]",
          "could DOMAIN live-migrate to DEST now? each check OK/WARN/FAIL with its fix",
          verb_check },
        { "evacuate", "DEST... [--parallel N] [OPTIONS]",
          "migrate every running guest of this host away, a summary table at the end",
          verb_evacuate },
        { "swap-volume", "DOMAIN DISK NEW-PATH",
          "live copy of one disk to a new file or device, pivot, persistent definition updated",
          verb_swap_volume },
        { "status", "[--config FILE] [--json]",
          "pending cleanups and rollbacks with their reasons, journals of incoming\n"
          "                migrations, proofs, quarantined directories with their age",
          verb_status },
        { "doctor", "[-c FILE] [--connect URI] [--dest HOST] [--json] [-q]",
          "is this host ready for migrations in and out? each check OK/WARN/FAIL with its fix",
          verb_doctor },
        { "plot", "RECORD [-o FILE.svg]",
          "draw a flight record of migrate --record as one SVG picture",
          verb_plot },
        { "config", "check|dump [FILE]",
          "is the configuration valid (file, line, key of a mistake)? or print the\n"
          "                effective configuration, defaults included",
          verb_config },
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
                "Exit status:\n"
                "  0    done (check, doctor: ready; status: nothing pending)\n"
                "  1    an error, named in the message: this host's libvirt unreachable, a\n"
                "       file unreadable, an invalid configuration; migrate: the migration\n"
                "       failed; evacuate: some guests did not migrate\n"
                "  2    usage: an unknown option, or one the command does not use\n"
                "  3    migrate, check: refused by the checks (nothing was started); doctor:\n"
                "       a check failed; swap-volume: refused (no such domain or disk);\n"
                "       status: something is pending\n"
                "  4    status: migkit is not installed on this host\n"
                "  130  migrate, evacuate, swap-volume: aborted on request (Ctrl-C, SIGTERM)\n");
}

/* ---- status ------------------------------------------------------------- */

static void status_usage(FILE *f)
{
        fprintf(f,
                "Usage: migkit status [--config FILE] [--json]\n"
                "\n"
                "Lists, one line each, what migkit-cleanup has not finished on this host:\n"
                "  pending source|rollback|disconnect UUID NAME for AGE: REASON; ...\n"
                "        a cleanup, rollback or LUN disconnect that a safety rule refused, or\n"
                "        left for a later run; nothing was removed; the reasons say what to fix\n"
                "  journal UUID NAME started AGE ago: ITEMS\n"
                "        an incoming migration not yet committed or rolled back, and what\n"
                "        the hook created for it (directory, bridges, SCSI paths and maps\n"
                "        its scan brought)\n"
                "  proof UUID NAME KIND by WHO AGE ago[: DETAIL]\n"
                "        evidence recorded for a cleanup (migrated) or a rollback\n"
                "        (incoming-failed) that has not acted on it yet\n"
                "  quarantined UUID NAME AGE ago, purged in TIME: PATH (REASON)\n"
                "        a removed instance directory, kept for [cleanup] retention; undo\n"
                "        with: mv PATH <instances>/UUID\n"
                "  swap UUID NAME disk DISK OLD -> NEW AGE ago: ... FILE ...\n"
                "        a swap-volume that did not finish: the guest's persistent definition\n"
                "        is saved in FILE; define it again with the disk the guest runs on\n"
                "then a count of each. Ages are in s, min, h or d.\n"
                "\n"
                "  -c, --config FILE  configuration file (default $MIGKIT_CONFIG or\n"
                "                     " MIGKIT_CONFIG_PATH ")\n"
                "  -j, --json         one JSON object instead, with the arrays pending, journals,\n"
                "                     proofs, quarantined, swaps and errors (times in unix seconds,\n"
                "                     ages in seconds)\n"
                "  -h, --help         this text\n"
                "\n"
                "Exit status: 0 nothing pending, 3 something pending (see the reasons), 1 the\n"
                "state or the quarantine could not be read (the rest is still listed), 2 usage,\n"
                "4 migkit is not installed on this host (no state directory; see migkit doctor).\n");
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
                case 'h': status_usage(stdout); return MIGKIT_EXIT_OK;
                default: status_usage(stderr); return MIGKIT_EXIT_USAGE;
                }
        if (optind < argc) {
                log_error("status takes no arguments, got '%s'", argv[optind]);
                status_usage(stderr);
                return MIGKIT_EXIT_USAGE;
        }

        struct mk_config cfg;
        if (cli_load_config(&cfg, config) < 0)
                return MIGKIT_EXIT_FAILED;
        struct stat st;
        if (stat(cfg.state_dir, &st) < 0 && errno == ENOENT) {
                /* not "nothing pending": nothing here would ever be */
                log_error("migkit is not installed on this host: no state directory %s (install the package, or set "
                          "[paths] state in %s); migkit doctor checks the rest",
                          cfg.state_dir, cfg.file ? cfg.file : MIGKIT_CONFIG_PATH);
                config_free(&cfg);
                return MIGKIT_EXIT_NOT_INSTALLED;
        }

        struct status_counts c;
        int r = status_print_ex(&cfg, stdout, time(NULL), json ? STATUS_JSON : 0, &c);
        if (!json) {
                if (c.pending + c.journals + c.proofs + c.quarantined + c.swaps == 0 && r >= 0)
                        printf("nothing pending, no journals, no proofs, nothing quarantined\n");
                else if (!c.swaps)
                        printf("%u pending, %u journal%s, %u proof%s, %u quarantined\n", c.pending, c.journals,
                               c.journals == 1 ? "" : "s", c.proofs, c.proofs == 1 ? "" : "s", c.quarantined);
                else
                        printf("%u pending, %u journal%s, %u proof%s, %u quarantined, %u unfinished swap-volume%s\n", c.pending,
                               c.journals, c.journals == 1 ? "" : "s", c.proofs, c.proofs == 1 ? "" : "s", c.quarantined, c.swaps,
                               c.swaps == 1 ? "" : "s");
        }
        if (fflush(stdout) != 0)
                r = r < 0 ? r : -errno;
        if (r < 0)
                log_error_errno(r, "cannot read all of the state in %s and the quarantine in %s/.migkit-quarantine: %m%s",
                                cfg.state_dir, cfg.instances_path, r == -EACCES ? " (run as root)" : "");
        config_free(&cfg);
        if (r < 0)
                return MIGKIT_EXIT_FAILED;
        return c.pending + c.swaps > 0 ? MIGKIT_EXIT_PENDING : MIGKIT_EXIT_OK;
}

/* ---- migrate, check, evacuate, swap-volume (the logic is in lib/migrate.c,
 * lib/preflight.c, lib/evacuate.c, lib/swapvol.c) ------------------------ */

static const char migrate_options_help[] =
        "  -c, --config FILE         configuration file\n"
        "      --connect URI         this host's libvirt (default: [cleanup] libvirt-uri)\n"
        "      --bandwidth MIB       cap the migration stream at MIB MiB/s (0: none)\n"
        "      --max-downtime TIME   largest downtime the policy allows ([migrate] downtime;\n"
        "                            a bare number is ms)\n"
        "      --completion-timeout TIME  abort (or switch to post-copy) after TIME\n"
        "      --stall-timeout TIME  no progress for TIME: switch to post-copy if allowed\n"
        "      --postcopy            allow the switch to post-copy (QEMU needs\n"
        "                            vm.unprivileged_userfaultfd=1); --no-postcopy\n"
        "      --postcopy-bandwidth MIB  cap once in post-copy (default: --bandwidth)\n"
        "      --auto-converge       throttle a busy guest; --no-auto-converge\n"
        "      --copy-storage DISK   copy this disk even on shared storage (repeatable);\n"
        "                            local disks are copied anyway (block migration)\n"
        "      --no-copy-storage     copy no disk: a local one refuses the migration\n"
        "      --tunnelled           send the stream through the libvirt connection\n"
        "      --parallel-connections N  N migration streams (multifd; not with post-copy)\n"
        "      --compression M[,M]   none, or xbzrle, mt, zlib, zstd (zlib, zstd: with\n"
        "                            parallel connections, libvirt >= 9.4)\n"
        "      --compress            compress the stream (libvirt's default: xbzrle)\n"
        "      --keep-source         keep the definition on the source (no cleanup)\n"
        "      --no-cleanup          do not hand the source cleanup to migkit-cleanup\n"
        "      --no-preflight        skip the checks of migkit check\n"
        "      --no-upload           do not copy the config-drive ISO to the destination\n"
        "                            first (its hook empties the cdrom there instead)\n"
        "      --json                one JSON object per line (progress, policy, result)\n"
        "  -q, --quiet               only errors\n"
        "      --interval TIME       between progress lines (not on a terminal)\n";

static const char time_help[] =
        "TIME: a number with a unit, ms, s, m, h (as in the configuration), such as\n"
        "500ms, 30s, 5m; a bare number is seconds, except for --max-downtime (ms).\n";

/* migrate only: one guest's */
static const char migrate_guest_help[] =
        "      --dest-xml FILE       the domain XML to use on the destination\n"
        "      --record FILE         keep a flight record: every sample, decision and\n"
        "                            event as JSON lines (migkit plot FILE draws it)\n";

static const char migrate_exit_help[] =
        "Exit status: 0 migrated and seen running on the destination, 1 the migration\n"
        "failed (libvirt's error, or aborted by the policy at the completion timeout),\n"
        "or this host's libvirt cannot be reached (nothing was started), 2 usage,\n"
        "3 refused by the checks (nothing was started), 130 aborted on request\n"
        "(Ctrl-C, SIGTERM): the guest keeps running on the source.\n";

enum {
        OPT_CONNECT = 256, OPT_BANDWIDTH, OPT_DOWNTIME, OPT_COMPLETION, OPT_STALL, OPT_POSTCOPY, OPT_NO_POSTCOPY,
        OPT_AC, OPT_NO_AC, OPT_COPY, OPT_NO_COPY, OPT_TUNNELLED, OPT_PARALLEL_CONN, OPT_COMPRESS, OPT_DEST_XML, OPT_KEEP,
        OPT_NO_CLEANUP, OPT_NO_PREFLIGHT, OPT_NO_UPLOAD, OPT_JSON, OPT_INTERVAL, OPT_PARALLEL, OPT_POSTCOPY_BW,
        OPT_COMPRESSION, OPT_RECORD, OPT_FORMAT, OPT_DISCONNECT_OLD,
};

static const struct option migrate_long_opts[] = {
        { "config", required_argument, NULL, 'c' },
        { "connect", required_argument, NULL, OPT_CONNECT },
        { "bandwidth", required_argument, NULL, OPT_BANDWIDTH },
        { "max-downtime", required_argument, NULL, OPT_DOWNTIME },
        { "completion-timeout", required_argument, NULL, OPT_COMPLETION },
        { "stall-timeout", required_argument, NULL, OPT_STALL },
        { "postcopy", no_argument, NULL, OPT_POSTCOPY },
        { "no-postcopy", no_argument, NULL, OPT_NO_POSTCOPY },
        { "auto-converge", no_argument, NULL, OPT_AC },
        { "no-auto-converge", no_argument, NULL, OPT_NO_AC },
        { "copy-storage", required_argument, NULL, OPT_COPY },
        { "no-copy-storage", no_argument, NULL, OPT_NO_COPY },
        { "tunnelled", no_argument, NULL, OPT_TUNNELLED },
        { "parallel-connections", required_argument, NULL, OPT_PARALLEL_CONN },
        { "compress", no_argument, NULL, OPT_COMPRESS },
        { "compression", required_argument, NULL, OPT_COMPRESSION },
        { "postcopy-bandwidth", required_argument, NULL, OPT_POSTCOPY_BW },
        { "record", required_argument, NULL, OPT_RECORD },
        { "dest-xml", required_argument, NULL, OPT_DEST_XML },
        { "keep-source", no_argument, NULL, OPT_KEEP },
        { "no-cleanup", no_argument, NULL, OPT_NO_CLEANUP },
        { "no-preflight", no_argument, NULL, OPT_NO_PREFLIGHT },
        { "no-upload", no_argument, NULL, OPT_NO_UPLOAD },
        { "json", no_argument, NULL, OPT_JSON },
        { "quiet", no_argument, NULL, 'q' },
        { "interval", required_argument, NULL, OPT_INTERVAL },
        { "parallel", required_argument, NULL, OPT_PARALLEL }, /* evacuate */
        { "format", required_argument, NULL, OPT_FORMAT }, /* swap-volume */
        { "disconnect-old", no_argument, NULL, OPT_DISCONNECT_OLD }, /* swap-volume */
        { "help", no_argument, NULL, 'h' },
        {},
};

static int parse_uint(const char *s, const char *what, unsigned max, unsigned *ret)
{
        char *end;
        errno = 0;
        unsigned long v = strtoul(s, &end, 10);
        if (!*s || *s == '-' || *end || errno || v > max) {
                log_error("%s '%s' is not a number from 0 to %u", what, s, max);
                return -EINVAL;
        }
        *ret = (unsigned)v;
        return 0;
}

/* A duration option: the configuration's units (ms, s, m, h, d), a bare
 * number in bare_ms (1: ms, 1000: s), from min_ms to max_ms. */
static int parse_dur(const char *s, const char *what, unsigned bare_ms, unsigned min_ms, unsigned max_ms, unsigned *ret)
{
        if (parse_duration(s, bare_ms, ret) < 0 || *ret < min_ms || *ret > max_ms) {
                log_error("%s '%s' is not a duration from %u%s to %u%s (units ms, s, m, h; a bare number is %s)", what, s,
                          bare_ms == 1 ? min_ms : min_ms / 1000, bare_ms == 1 ? "ms" : "s",
                          bare_ms == 1 ? max_ms : max_ms / 1000, bare_ms == 1 ? "ms" : "s",
                          bare_ms == 1 ? "milliseconds" : "seconds");
                return -EINVAL;
        }
        return 0;
}

/* The options each of migrate, check, evacuate and swap-volume uses (they
 * share one parser): only, if set, lists all it takes; except what it
 * does not among the rest. One it does not use is refused, by name. */
struct drv_verb {
        const char *name;
        const char *const *only;
        const char *const *except;
};

static const char *const check_only[] = { "config", "connect", "copy-storage", "no-copy-storage", "json", "help", NULL };
static const char *const swap_only[] = { "config", "connect", "bandwidth", "format", "disconnect-old", "json", "quiet",
                                           "help", NULL };
static const char *const migrate_except[] = { "parallel", "format", "disconnect-old", NULL };
/* one flight record and one destination XML per guest, not per evacuation */
static const char *const evacuate_except[] = { "record", "dest-xml", "format", "disconnect-old", NULL };

static const struct drv_verb drv_verbs[] = {
        { "migrate", NULL, migrate_except },
        { "check", check_only, NULL },
        { "evacuate", NULL, evacuate_except },
        { "swap-volume", swap_only, NULL },
};

static bool drv_verb_takes(const struct drv_verb *v, const char *opt)
{
        if (v->only)
                return strv_contains((char **)v->only, opt);
        return !v->except || !strv_contains((char **)v->except, opt);
}

static const char *drv_opt_name(int c)
{
        for (const struct option *o = migrate_long_opts; o->name; o++)
                if (o->val == c)
                        return o->name;
        return NULL;
}

/* Refuses an option verb does not use: logs which verbs do. */
static bool drv_refuse(const struct drv_verb *v, int c)
{
        const char *opt = drv_opt_name(c);
        if (!opt || drv_verb_takes(v, opt))
                return false;
        const char *by[ARRAY_SIZE(drv_verbs)];
        size_t n = 0;
        for (size_t i = 0; i < ARRAY_SIZE(drv_verbs); i++)
                if (&drv_verbs[i] != v && drv_verb_takes(&drv_verbs[i], opt))
                        by[n++] = drv_verbs[i].name;
        char others[128] = "no other command";
        for (size_t i = 0, len = 0; i < n && len < sizeof(others); i++)
                len += (size_t)snprintf(others + len, sizeof(others) - len, "%s%s", i == 0 ? "" : i + 1 == n ? " and " : ", ", by[i]);
        if (streq(opt, "parallel"))
                log_error("--parallel is an option of evacuate, not of %s; for streams use --parallel-connections", v->name);
        else
                log_error("--%s is an option of %s, not of %s", opt, others, v->name);
        return true;
}

struct drv_args {
        const char *config;
        struct migrate_opts o;
        char **copy;
        char *dest_xml;
        unsigned parallel;
        const char *format;       /* swap-volume */
        bool disconnect_old;      /* swap-volume */
        bool help;
};

/* Parses the options shared by migrate, check and evacuate. 0, or an exit
 * status to return. */
static int parse_drv(int argc, char **argv, struct drv_args *a, const struct drv_verb *verb)
{
        unsigned v;
        int c;
        a->o = (struct migrate_opts) { .auto_converge = -1, .postcopy = -1, .upload = -1, .bandwidth = -1, .max_downtime_ms = -1,
                                       .completion_timeout_ms = -1, .stall_ms = -1, .postcopy_bandwidth = -1,
                                       .output = MIGRATE_OUT_AUTO };
        a->parallel = 1;
        while ((c = getopt_long(argc, argv, "c:qh", migrate_long_opts, NULL)) >= 0) {
                if (c != '?' && drv_refuse(verb, c))
                        return MIGKIT_EXIT_USAGE;
                switch (c) {
                case 'c': a->config = optarg; break;
                case 'h': a->help = true; return MIGKIT_EXIT_OK;
                case 'q': a->o.output = MIGRATE_OUT_QUIET; break;
                case OPT_JSON: a->o.output = MIGRATE_OUT_JSON; break;
                case OPT_CONNECT: a->o.source_uri = optarg; break;
                case OPT_BANDWIDTH:
                        if (parse_uint(optarg, "--bandwidth", 1000000, &v) < 0) return MIGKIT_EXIT_USAGE;
                        a->o.bandwidth = (int)v;
                        break;
                case OPT_DOWNTIME:
                        if (parse_dur(optarg, "--max-downtime", 1, 0, 60000, &v) < 0) return MIGKIT_EXIT_USAGE;
                        a->o.max_downtime_ms = (int)v;
                        break;
                case OPT_COMPLETION:
                        if (parse_dur(optarg, "--completion-timeout", 1000, 0, 86400000, &v) < 0) return MIGKIT_EXIT_USAGE;
                        a->o.completion_timeout_ms = (int)v;
                        break;
                case OPT_STALL:
                        if (parse_dur(optarg, "--stall-timeout", 1000, 0, 86400000, &v) < 0) return MIGKIT_EXIT_USAGE;
                        a->o.stall_ms = (int)v;
                        break;
                case OPT_INTERVAL:
                        if (parse_dur(optarg, "--interval", 1000, 100, 600000, &v) < 0) return MIGKIT_EXIT_USAGE;
                        a->o.interval_ms = v;
                        break;
                case OPT_POSTCOPY: a->o.postcopy = 1; break;
                case OPT_NO_POSTCOPY: a->o.postcopy = 0; break;
                case OPT_AC: a->o.auto_converge = 1; break;
                case OPT_NO_AC: a->o.auto_converge = 0; break;
                case OPT_COPY:
                        if (strv_push(&a->copy, optarg) < 0) return MIGKIT_EXIT_FAILED;
                        break;
                case OPT_NO_COPY: a->o.no_copy_storage = true; break;
                case OPT_TUNNELLED: a->o.tunnelled = true; break;
                case OPT_PARALLEL_CONN:
                        if (parse_uint(optarg, "--parallel-connections", 64, &v) < 0) return MIGKIT_EXIT_USAGE;
                        a->o.parallel = v;
                        break;
                case OPT_COMPRESS: a->o.compress = true; break;
                case OPT_COMPRESSION: {
                        char **m = NULL;
                        if (migrate_compression_parse(optarg, &m) < 0) {
                                log_error("--compression '%s': give none, or methods among xbzrle, mt, zlib, zstd", optarg);
                                return MIGKIT_EXIT_USAGE;
                        }
                        strv_free(m);
                        a->o.compression = optarg;
                        break;
                }
                case OPT_POSTCOPY_BW:
                        if (parse_uint(optarg, "--postcopy-bandwidth", 1000000, &v) < 0) return MIGKIT_EXIT_USAGE;
                        a->o.postcopy_bandwidth = (int)v;
                        break;
                case OPT_RECORD: a->o.record = optarg; break;
                case OPT_DEST_XML: {
                        free(a->dest_xml);
                        a->dest_xml = NULL;
                        ssize_t r = read_full_file(optarg, 4 << 20, &a->dest_xml);
                        if (r < 0) {
                                log_error_errno((int)r, "--dest-xml %s: cannot read: %m", optarg);
                                return MIGKIT_EXIT_USAGE;
                        }
                        a->o.dest_xml = a->dest_xml;
                        break;
                }
                case OPT_KEEP: a->o.keep_source = true; break;
                case OPT_NO_CLEANUP: a->o.no_cleanup = true; break;
                case OPT_NO_PREFLIGHT: a->o.no_preflight = true; break;
                case OPT_NO_UPLOAD: a->o.upload = 0; break;
                case OPT_FORMAT:
                        if (!streq(optarg, "raw") && !streq(optarg, "qcow2")) {
                                log_error("--format '%s': give raw or qcow2", optarg);
                                return MIGKIT_EXIT_USAGE;
                        }
                        a->format = optarg;
                        break;
                case OPT_DISCONNECT_OLD: a->disconnect_old = true; break;
                case OPT_PARALLEL:
                        if (parse_uint(optarg, "--parallel", 64, &v) < 0 || v == 0) return MIGKIT_EXIT_USAGE;
                        a->parallel = v;
                        break;
                default: return MIGKIT_EXIT_USAGE;
                }
        }
        a->o.copy_disks = a->copy;
        return -1;
}

static void on_signal(int sig)
{
        (void)sig;
        migrate_request_abort();
}

static void catch_signals(void)
{
        struct sigaction sa = { .sa_handler = on_signal };
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
}

static void drv_args_done(struct drv_args *a)
{
        strv_free(a->copy);
        free(a->dest_xml);
}

/* What migrate, check, evacuate and swap-volume do first: the options,
 * exactly nargs positional arguments (at least one when nargs is -1), the
 * usage for --help or a mistake (saying what the verb takes), and the
 * configuration. Returns -1 to go on (then free *cfg), or an exit code. */
static int drv_begin(int argc, char **argv, struct drv_args *a, const char *name, int nargs, const char *takes,
                     void (*verb_usage)(FILE *), struct mk_config *cfg)
{
        const struct drv_verb *verb = &drv_verbs[0];
        for (size_t i = 0; i < ARRAY_SIZE(drv_verbs); i++)
                if (streq(name, drv_verbs[i].name))
                        verb = &drv_verbs[i];
        int ret = parse_drv(argc, argv, a, verb);
        int n = argc - optind;
        if (a->help)
                verb_usage(stdout);
        else if (ret < 0 && (nargs < 0 ? n < 1 : n != nargs)) {
                log_error("%s", takes);
                ret = MIGKIT_EXIT_USAGE;
        }
        if (ret == MIGKIT_EXIT_USAGE)
                verb_usage(stderr);
        if (ret >= 0)
                return ret;
        if (cli_load_config(cfg, a->config) < 0)
                return MIGKIT_EXIT_FAILED;
        return -1;
}

/* [metrics] textfile: an outgoing migration that failed or was aborted (a
 * success is counted by migkit-watch, which sees every migration away). */
static void count_out(const struct mk_config *cfg, int status)
{
        int r = status == MIGRATE_FAILED ? metrics_count(cfg, METRIC_OUT_FAILED)
                : status == MIGRATE_ABORTED ? metrics_count(cfg, METRIC_OUT_ABORTED) : 0;
        if (r < 0)
                log_warning_errno(r, "cannot update the metrics in %s: %m", cfg->metrics_textfile);
}

static void migrate_usage(FILE *f)
{
        fprintf(f,
                "Usage: migkit migrate DOMAIN DEST [OPTIONS]\n"
                "\n"
                "Checks (as migkit check), then live-migrates DOMAIN (name or UUID) to DEST\n"
                "(a host name put into [migrate] uri, TLS by default, or a libvirt URI):\n"
                "peer-to-peer, live, persistent there, undefined here. Shows a progress bar\n"
                "on a terminal, a line every --interval otherwise. The convergence policy\n"
                "predicts at the end of every memory pass, from what the pass measured\n"
                "(memory left, dirty rate, transfer rate), whether pre-copy converges within\n"
                "--max-downtime; a guest that does is left alone, one that does not is\n"
                "switched to post-copy at once (if allowed) or gets the largest allowed\n"
                "downtime; each decision is printed with what was measured and predicted.\n"
                "Backstops: the downtime rises in [migrate] downtime-steps, a stall switches\n"
                "to post-copy, the completion timeout aborts. A post-copy whose connection\n"
                "breaks is resumed for up to [migrate] postcopy-recover. Once the guest runs\n"
                "on DEST, a migrated proof is recorded and migkit-cleanup removes the\n"
                "source's leftovers.\n"
                "\n%s%s  -h, --help                this text\n%s\n%s",
                migrate_options_help, migrate_guest_help, time_help, migrate_exit_help);
}

static int verb_migrate(int argc, char **argv)
{
        _cleanup_(drv_args_done) struct drv_args a = { 0 };
        struct mk_config cfg;
        struct migrate_result res;
        int ret = drv_begin(argc, argv, &a, "migrate", 2, "migrate takes DOMAIN and DEST", migrate_usage, &cfg);
        if (ret >= 0)
                return ret;
        a.o.domain = argv[optind];
        a.o.dest = argv[optind + 1];
        catch_signals();
        int r = migrate_run(&cfg, &a.o, &res);
        if (r < 0) {
                log_error_errno(r, "%s: cannot run the migration: %m", a.o.domain);
                ret = MIGKIT_EXIT_FAILED;
        } else {
                if (res.status != MIGRATE_OK && res.error)
                        log_error("%s: %s%s%s", res.name ? res.name : a.o.domain, res.error, res.after ? "\n  " : "",
                                  res.after ? res.after : "");
                if (res.abort_latency_ms >= 0 && a.o.output != MIGRATE_OUT_JSON && a.o.output != MIGRATE_OUT_QUIET)
                        printf("%s: the job ended %lld ms after the abort request\n", res.name, res.abort_latency_ms);
                ret = migrate_exit_code(res.status);
                count_out(&cfg, res.status);
                migrate_result_free(&res);
        }
        config_free(&cfg);
        return ret;
}

static void check_usage(FILE *f)
{
        fprintf(f,
                "Usage: migkit check DOMAIN DEST [-c FILE] [--connect URI] [--copy-storage DISK]...\n"
                "                    [--no-copy-storage] [--json]\n"
                "\n"
                "Could DOMAIN live-migrate to DEST now? Connects to both, changes nothing, and\n"
                "prints one line per check (destination reachable, same hypervisor, CPU\n"
                "compatible, enough memory, no domain with that UUID or name there, each disk\n"
                "shared, network/block, config drive, or copied: a local file the destination\n"
                "does not see), the storage mode (plain or block migration), each OK, WARN or\n"
                "FAIL, with the fix below a FAIL. --json: one object {domain, destination,\n"
                "ready, failed, warnings, checks: [{check, status, message, fix}]}.\n"
                "\n"
                "Exit status: 0 ready (warnings allowed), 3 a check failed, 1 error (this\n"
                "host's libvirt cannot be reached: nothing was checked), 2 usage.\n");
}

static int verb_check(int argc, char **argv)
{
        _cleanup_(drv_args_done) struct drv_args a = { 0 };
        struct mk_config cfg;
        int ret = drv_begin(argc, argv, &a, "check", 2, "check takes DOMAIN and DEST", check_usage, &cfg);
        if (ret >= 0)
                return ret;
        int r = migrate_check(&cfg, argv[optind], argv[optind + 1], a.o.source_uri, a.copy, a.o.no_copy_storage,
                              a.o.output == MIGRATE_OUT_JSON, stdout);
        if (r == -ENOMEM)
                log_error_errno(r, "out of memory");
        ret = r < 0 ? MIGKIT_EXIT_FAILED : r > 0 ? MIGKIT_EXIT_REFUSED : MIGKIT_EXIT_OK;
        config_free(&cfg);
        return ret;
}

static void evacuate_usage(FILE *f)
{
        fprintf(f,
                "Usage: migkit evacuate DEST... [--parallel N] [OPTIONS]\n"
                "\n"
                "Live-migrates every running guest of this host to DEST (with several, each\n"
                "guest goes to the one with the most free memory left), at most N at a time\n"
                "(default 1), each as migkit migrate does; one failure does not stop the\n"
                "others. Progress lines are prefixed with the domain; a summary table ends it.\n"
                "\n"
                "  --parallel N              migrations at a time\n%s  -h, --help                this text\n%s"
                "\n"
                "Exit status: 0 every guest migrated, 1 some did not (see the table), 2 usage,\n"
                "130 aborted on request (running jobs aborted, no new one started).\n",
                migrate_options_help, time_help);
}

static int verb_evacuate(int argc, char **argv)
{
        _cleanup_(drv_args_done) struct drv_args a = { 0 };
        struct mk_config cfg;
        int ret = drv_begin(argc, argv, &a, "evacuate", -1, "evacuate takes at least one DEST", evacuate_usage, &cfg);
        if (ret >= 0)
                return ret;
        if (a.o.output == MIGRATE_OUT_AUTO)
                a.o.output = MIGRATE_OUT_LINES; /* several at once: no bar */
        catch_signals();
        struct evacuate_item *items;
        size_t n;
        int r = evacuate_run(&cfg, &a.o, argv + optind, a.parallel, &items, &n);
        if (r < 0)
                ret = MIGKIT_EXIT_FAILED;
        else {
                if (n == 0)
                        printf("no running guest to evacuate\n");
                else
                        evacuate_print(items, n, stdout);
                for (size_t i = 0; i < n; i++)
                        if (items[i].started)
                                count_out(&cfg, items[i].res.status);
                ret = migrate_abort_requested() ? MIGKIT_EXIT_ABORTED : r > 0 ? MIGKIT_EXIT_FAILED : MIGKIT_EXIT_OK;
                evacuate_free(items, n);
        }
        config_free(&cfg);
        return ret;
}

static void swap_usage(FILE *f)
{
        fprintf(f,
                "Usage: migkit swap-volume DOMAIN DISK NEW-PATH [-c FILE] [--connect URI] [--bandwidth MIB]\n"
                "                          [--format raw|qcow2] [--disconnect-old] [--json] [-q]\n"
                "\n"
                "Copies disk DISK (its target, e.g. vdb) of the running DOMAIN to NEW-PATH while\n"
                "the guest runs (blockcopy), pivots onto it once the copy is in sync, and\n"
                "updates the persistent definition, in Nova's order: it is saved first (in the\n"
                "state directory, shown by migkit status until it is defined again) and the\n"
                "domain undefined for the copy, so a crash never leaves it naming the old disk.\n"
                "A NEW-PATH under /dev that names a missing FC LUN or multipath map is rescanned\n"
                "for first, as the hook does. An existing NEW-PATH (a pre-created volume, a block\n"
                "device) is reused as it is; a missing file is created in the disk's format.\n"
                "Ctrl-C before the pivot cancels: the guest stays on its disk.\n"
                "\n"
                "      --format F        the copy's format (raw or qcow2); needed to copy a qcow2\n"
                "                        disk onto a block device (refused otherwise)\n"
                "      --disconnect-old  after the pivot, remove the old disk's SAN LUN from this\n"
                "                        host (multipath map, SCSI paths), unless something uses it\n"
                "\n"
                "Exit status: 0 swapped, 1 failed, 2 usage, 3 refused (no such domain or disk,\n"
                "a qcow2 disk onto a block device without --format, NEW-PATH did not appear;\n"
                "or swapped, but the old LUN is in use and stays), 130 cancelled on request.\n");
}

static int verb_swap_volume(int argc, char **argv)
{
        _cleanup_(drv_args_done) struct drv_args a = { 0 };
        struct mk_config cfg;
        int ret = drv_begin(argc, argv, &a, "swap-volume", 3, "swap-volume takes DOMAIN, DISK and NEW-PATH", swap_usage, &cfg);
        if (ret >= 0)
                return ret;
        catch_signals();
        struct swapvol_opts so = { .domain = argv[optind], .disk = argv[optind + 1], .new_path = argv[optind + 2],
                                   .source_uri = a.o.source_uri, .output = a.o.output,
                                   .bandwidth = a.o.bandwidth > 0 ? (unsigned)a.o.bandwidth : 0, .format = a.format,
                                   .disconnect_old = a.disconnect_old };
        int r = swapvol_run(&cfg, &so);
        ret = r < 0 ? MIGKIT_EXIT_FAILED : r == SWAPVOL_OK ? MIGKIT_EXIT_OK : r == SWAPVOL_REFUSED ? MIGKIT_EXIT_REFUSED
                                                : r == SWAPVOL_ABORTED ? MIGKIT_EXIT_ABORTED : MIGKIT_EXIT_FAILED;
        config_free(&cfg);
        return ret;
}

/* ---- doctor (the checks are in lib/doctor.c) ------------------------------- */

static void doctor_usage(FILE *f)
{
        fprintf(f,
                "Usage: migkit doctor [-c FILE] [--connect URI] [--dest HOST] [--json] [-q]\n"
                "\n"
                "Is this host ready for live migrations in and out? Changes nothing, and prints\n"
                "one line per check, OK, WARN or FAIL, with the fix below each WARN and FAIL:\n"
                "  config     the configuration is valid (else the rest use the defaults)\n"
                "  hook       <hooks>/qemu or an entry of <hooks>/qemu.d runs migkit-hook\n"
                "  libvirtd   the running libvirtd started after the hook was installed\n"
                "             (libvirt finds hooks only when it starts or reloads)\n"
                "  libvirt    this host's libvirt answers; its guests are checked below\n"
                "  instances  the instances path: a directory, not a symlink, its filesystem\n"
                "             and whether that is shared ([filesystems] shared)\n"
                "  bridges    the allow-list, the bridges present, each bridge a guest uses\n"
                "  state      the state directory is writable\n"
                "  watch      migkit-watch runs\n"
                "  fc, multipath  FC HBAs online and multipathd answering, when a local guest\n"
                "             has FC SAN disks\n"
                "  tls, listen  the [migrate] uri's transport: the TLS certificates and keys\n"
                "             in /etc/pki, and libvirtd listening on its port\n"
                "  resolve, migration ports  with --dest: HOST's name resolved here (not to\n"
                "             loopback), and TCP 49152-49215 at the address migrations to it go\n"
                "             to ([migrate] inbound-address, else HOST): refused is fine (QEMU\n"
                "             listens only during a migration), no answer in 2 s is filtered\n"
                "\n"
                "  -c, --config FILE  configuration file (default $MIGKIT_CONFIG or\n"
                "                     " MIGKIT_CONFIG_PATH ")\n"
"      --connect URI  this host's libvirt (default: [cleanup] libvirt-uri)\n"
                "      --dest HOST    also check the network to migration destination HOST\n"
                "  -j, --json         one JSON object instead: {host, ready, failed, warnings,\n"
                "                     checks: [{check, status, message, fix}]}\n"
                "  -q, --quiet        print only the WARN and FAIL lines (nothing when all is OK)\n"
                "  -h, --help         this text\n"
                "\n"
                "Exit status: 0 ready (warnings allowed), 3 a check failed, 1 error, 2 usage.\n");
}

static int verb_doctor(int argc, char **argv)
{
        static const struct option opts[] = {
                { "config", required_argument, NULL, 'c' },
                { "connect", required_argument, NULL, 'C' },
                { "dest", required_argument, NULL, 'D' },
                { "json", no_argument, NULL, 'j' },
                { "quiet", no_argument, NULL, 'q' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        const char *config = NULL, *uri = NULL, *dest = NULL;
        bool json = false, quiet = false;
        int o;

        while ((o = getopt_long(argc, argv, "c:jqh", opts, NULL)) >= 0)
                switch (o) {
                case 'c': config = optarg; break;
                case 'C': uri = optarg; break;
                case 'D': dest = optarg; break;
                case 'j': json = true; break;
                case 'q': quiet = true; break;
                case 'h': doctor_usage(stdout); return MIGKIT_EXIT_OK;
                default: doctor_usage(stderr); return MIGKIT_EXIT_USAGE;
                }
        if (optind < argc) {
                log_error("doctor takes no arguments, got '%s'", argv[optind]);
                doctor_usage(stderr);
                return MIGKIT_EXIT_USAGE;
        }

        struct mk_config cfg;
        _cleanup_free_ char *err = NULL;
        struct doctor_opts d = { .dest = dest };
        int r = config_load(&cfg, config, &err);
        if (r < 0) {
                if (!err && asprintf(&err, "cannot load the configuration: %s", strerror(-r)) < 0)
                        err = NULL;
                if (config_defaults(&cfg) < 0)
                        return log_error_errno(-ENOMEM, "out of memory"), MIGKIT_EXIT_FAILED;
                d.config_error = err ? err : "cannot load the configuration";
        }
        virt_quiet_errors();
        d.conn_uri = uri ? uri : cfg.libvirt_uri;
        _cleanup_(virt_conn_closep) virConnectPtr conn = virConnectOpenReadOnly(d.conn_uri);
        _cleanup_free_ char *conn_err = conn ? NULL : strdup(virt_last_error());
        d.conn = conn;
        d.conn_error = conn_err;

        struct preflight p = { 0 };
        r = doctor_run(&cfg, &d, &p);
        if (r < 0) {
                config_free(&cfg);
                return log_error_errno(r, "doctor: %m"), MIGKIT_EXIT_FAILED;
        }
        char host[256] = "";
        (void)gethostname(host, sizeof(host) - 1);
        if (json)
                doctor_print_json(&p, stdout, host);
        else
                doctor_print(&p, stdout, quiet ? DOCTOR_QUIET : 0);
        int ret = p.n_fail ? MIGKIT_EXIT_REFUSED : MIGKIT_EXIT_OK;
        if (fflush(stdout) != 0) {
                log_error_errno(-errno, "cannot write the report: %m");
                ret = MIGKIT_EXIT_FAILED;
        }
        preflight_free(&p);
        config_free(&cfg);
        return ret;
}

/* ---- config (lib/config.c) ------------------------------------------------ */

static void config_usage(FILE *f)
{
        fprintf(f,
                "Usage: migkit config check [FILE]\n"
                "       migkit config dump [FILE]\n"
                "\n"
                "check: reads the configuration (FILE, else $MIGKIT_CONFIG or\n"
                MIGKIT_CONFIG_PATH ") as every migkit program does and says\n"
                "FILE: OK, or names the file, line and key of the first mistake and what is\n"
                "allowed there; a deprecated key is a warning.\n"
                "dump: prints the effective configuration, every key with the value in force\n"
                "(the file's or the default), as a file that reads back the same.\n"
                "\n"
                "  -c, --config FILE  the same as FILE\n"
                "  -h, --help         this text\n"
                "\n"
                "Exit status: 0 valid (dump: printed), 1 the configuration is invalid or cannot\n"
                "be read, 2 usage.\n");
}

static int verb_config(int argc, char **argv)
{
        static const struct option opts[] = {
                { "config", required_argument, NULL, 'c' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        const char *config = NULL;
        int o;

        while ((o = getopt_long(argc, argv, "c:h", opts, NULL)) >= 0)
                switch (o) {
                case 'c': config = optarg; break;
                case 'h': config_usage(stdout); return MIGKIT_EXIT_OK;
                default: config_usage(stderr); return MIGKIT_EXIT_USAGE;
                }
        int n = argc - optind;
        const char *what = n > 0 ? argv[optind] : NULL;
        if (!what || (!streq(what, "check") && !streq(what, "dump")) || n > 2 || (n == 2 && config)) {
                if (!what)
                        log_error("config takes check or dump");
                else if (!streq(what, "check") && !streq(what, "dump"))
                        log_error("unknown config command '%s': give check or dump", what);
                else
                        log_error("config %s takes at most one FILE", what);
                config_usage(stderr);
                return MIGKIT_EXIT_USAGE;
        }
        if (n == 2)
                config = argv[optind + 1];
        return cli_config_report(config, streq(what, "dump"));
}

/* ---- plot (lib/record.c reads, lib/plot.c draws) ------------------------- */

static void plot_usage(FILE *f)
{
        fprintf(f,
                "Usage: migkit plot RECORD [-o FILE.svg]\n"
                "\n"
                "Draws a flight record (migkit migrate --record RECORD, [migrate] record-dir;\n"
                "--json output works too) as one self-contained SVG: the memory left to send\n"
                "over time, the rates it was sent and dirtied at, each memory pass, each\n"
                "policy decision, the post-copy phase, and the result and downtime in the\n"
                "title. Open it in any browser or image viewer.\n"
                "\n"
                "  -o, --output FILE  where to write (default: RECORD with .svg for .jsonl;\n"
                "                     - for stdout)\n"
                "  -h, --help         this text\n"
                "\n"
                "Exit status: 0 written, 1 the record cannot be read or has no sample, 2 usage.\n");
}

/* RECORD without a .jsonl/.json suffix, plus .svg. */
static char *default_svg_path(const char *record)
{
        size_t n = strlen(record);
        char *p;
        if (n > 6 && streq(record + n - 6, ".jsonl"))
                n -= 6;
        else if (n > 5 && streq(record + n - 5, ".json"))
                n -= 5;
        return asprintf(&p, "%.*s.svg", (int)n, record) < 0 ? NULL : p;
}

static int verb_plot(int argc, char **argv)
{
        static const struct option opts[] = {
                { "output", required_argument, NULL, 'o' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        const char *out = NULL;
        int o;

        while ((o = getopt_long(argc, argv, "o:h", opts, NULL)) >= 0)
                switch (o) {
                case 'o': out = optarg; break;
                case 'h': plot_usage(stdout); return MIGKIT_EXIT_OK;
                default: plot_usage(stderr); return MIGKIT_EXIT_USAGE;
                }
        if (argc - optind != 1) {
                log_error("plot takes one RECORD");
                plot_usage(stderr);
                return MIGKIT_EXIT_USAGE;
        }
        const char *in = argv[optind];
        _cleanup_free_ char *err = NULL, *def = out ? NULL : default_svg_path(in);
        struct recording rec;
        int r = record_load(in, &rec, &err);
        if (r < 0)
                return log_error_errno(r, "%s", err ? err : "cannot read the record: %m"), MIGKIT_EXIT_FAILED;
        if (!out && !(out = def)) {
                recording_free(&rec);
                return log_error_errno(-ENOMEM, "out of memory"), MIGKIT_EXIT_FAILED;
        }
        FILE *f = streq(out, "-") ? stdout : fopen(out, "we");
        if (!f) {
                r = -errno;
                recording_free(&rec);
                return log_error_errno(r, "%s: cannot create the picture: %m", out), MIGKIT_EXIT_FAILED;
        }
        r = plot_svg(&rec, f);
        if (f != stdout && fclose(f) != 0 && r == 0)
                r = -errno;
        else if (f == stdout && fflush(stdout) != 0 && r == 0)
                r = -errno;
        if (r == -ENODATA)
                log_error("%s: no job sample in the record (the migration never started?); nothing drawn", in);
        else if (r < 0)
                log_error_errno(r, "%s: cannot write the picture: %m", out);
        else if (f != stdout)
                printf("%s: %zu samples, %zu events drawn into %s\n", in, rec.n_samples, rec.n_marks, out);
        recording_free(&rec);
        if (r < 0 && f != stdout)
                (void)unlink(out);
        return r < 0 ? MIGKIT_EXIT_FAILED : MIGKIT_EXIT_OK;
}

/* ---- main --------------------------------------------------------------- */

/* migkit --version: this program's, and the libvirt it runs against, the
 * library's and the daemon's behind [cleanup] libvirt-uri when it answers. */
static int print_version(void)
{
        unsigned long lib = 0, daemon = 0;
        struct mk_config cfg;
        _cleanup_free_ char *err = NULL;

        printf("migkit %s\n", MIGKIT_VERSION);
        if (virGetVersion(&lib, NULL, NULL) == 0)
                printf("libvirt library %lu.%lu.%lu\n", lib / 1000000, lib / 1000 % 1000, lib % 1000);
        else
                printf("libvirt library: unknown (%s)\n", virt_last_error());
        if (config_load(&cfg, NULL, &err) < 0 && config_defaults(&cfg) < 0)
                return log_error_errno(-ENOMEM, "out of memory"), MIGKIT_EXIT_FAILED;
        _cleanup_(virt_conn_closep) virConnectPtr conn = virConnectOpenReadOnly(cfg.libvirt_uri);
        if (conn && virConnectGetLibVersion(conn, &daemon) == 0)
                printf("libvirt daemon %lu.%lu.%lu at %s\n", daemon / 1000000, daemon / 1000 % 1000, daemon % 1000,
                       cfg.libvirt_uri);
        else
                printf("libvirt daemon at %s: not reachable (%s)\n", cfg.libvirt_uri, virt_last_error());
        config_free(&cfg);
        return fflush(stdout) == 0 ? MIGKIT_EXIT_OK : MIGKIT_EXIT_FAILED;
}

int main(int argc, char **argv)
{
        log_open("migkit", 1, false);
        /* migkit reports libvirt's errors in its own words: no raw
         * "libvirt: ... error" line on stderr, from any connection */
        virt_quiet_errors();

        if (argc < 2) {
                usage(stderr);
                return MIGKIT_EXIT_USAGE;
        }
        const char *cmd = argv[1];
        if (streq(cmd, "-h") || streq(cmd, "--help") || streq(cmd, "help")) {
                usage(stdout);
                return MIGKIT_EXIT_OK;
        }
        if (streq(cmd, "-V") || streq(cmd, "--version"))
                return print_version();
        for (size_t i = 0; i < ARRAY_SIZE(verbs); i++)
                if (streq(cmd, verbs[i].name)) {
                        /* "migkit status: ..." in getopt's messages and ours */
                        char ident[64];
                        snprintf(ident, sizeof(ident), "migkit %s", verbs[i].name);
                        log_open(ident, 1, false);
                        argv[1] = ident;
                        return verbs[i].run(argc - 1, argv + 1);
                }
        if (cmd[0] == '-')
                log_error("unknown option '%s'; options follow the command (migkit COMMAND --help)", cmd);
        else
                log_error("unknown command '%s'", cmd);
        usage(stderr);
        return MIGKIT_EXIT_USAGE;
}
