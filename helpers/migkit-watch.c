/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* migkit-watch: listens to the lifecycle events of the local libvirt and
 * turns the ones that end a live migration into proofs, the persistent-
 * definition fix-up, commits and migkit-cleanup jobs (lib/watch.c decides).
 * Runs in the foreground, as migkit-watch.service or by hand. */
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>

#include "cli.h"
#include "config.h"
#include "dispatch.h"
#include "exitcode.h"
#include "log.h"
#include "util.h"
#include "virt.h"
#include "watch.h"

static void usage(FILE *f)
{
        fprintf(f,
                "Usage: migkit-watch [OPTIONS]\n"
                "\n"
                "Watches the domain lifecycle events of the local libvirt and acts on the ones\n"
                "that end a live migration, one log line per decision:\n"
                "  stopped/migrated   the guest left this host: record a 'migrated' proof and\n"
                "                     start `migkit-cleanup source UUID`\n"
                "  resumed/migrated   it arrived here: remove the config-drive source the hook\n"
                "                     stripped from the persistent definition, commit the journal\n"
                "  stopped/...        an incoming migration that never completed (seen start to\n"
                "                     end): record 'incoming-failed', start `migkit-cleanup rollback`;\n"
                "                     when migkit-watch was not connected all along it records a\n"
                "                     pending item instead (see migkit-cleanup status)\n"
                "At every (re)connection the journals are reconciled with libvirt's view. It\n"
                "reconnects by itself when libvirt restarts, and exits on SIGTERM or SIGINT.\n"
                "\n"
                "  -u, --uri URI        libvirt connection (default [cleanup] libvirt-uri)\n"
                "  -c, --config FILE    configuration file (default $MIGKIT_CONFIG or\n"
                "                       " MIGKIT_CONFIG_PATH ")\n"
                "  -p, --pidfile FILE   write the process id there (removed at exit)\n"
                "      --once           connect, reconcile the journals once, and exit (exit 1\n"
                "                       when libvirt cannot be reached)\n"
                "  -v, --verbose        more output;  -q, --quiet  only warnings and errors\n"
                "  -h, --help           this text;    -V, --version  print the version\n"
                "\n"
                "Exit status: 0 stopped by SIGTERM or SIGINT (--once: done), 1 error (--once:\n"
                "libvirt cannot be reached), 2 usage.\n");
}

static int write_pidfile(const char *path)
{
        char buf[32];
        int n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0644);
        if (fd < 0)
                return -errno;
        return write_all(fd, buf, (size_t)n);
}

int main(int argc, char **argv)
{
        enum { OPT_ONCE = 0x100 };
        static const struct option opts[] = {
                { "uri", required_argument, NULL, 'u' },
                { "config", required_argument, NULL, 'c' },
                { "pidfile", required_argument, NULL, 'p' },
                { "once", no_argument, NULL, OPT_ONCE },
                { "verbose", no_argument, NULL, 'v' },
                { "quiet", no_argument, NULL, 'q' },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, 'V' },
                {},
        };
        const char *uri = NULL, *config = NULL, *pidfile = NULL;
        bool once = false;
        int verbose = 1, o, r;

        /* Before libvirt starts any thread: SIGTERM and SIGINT are taken
         * from a signalfd in the event loop, never delivered elsewhere. */
        sigset_t mask;
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        virt_quiet_errors(); /* libvirt's errors in migkit's messages only */

        while ((o = getopt_long(argc, argv, "u:c:p:vqhV", opts, NULL)) >= 0)
                switch (o) {
                case 'u': uri = optarg; break;
                case 'c': config = optarg; break;
                case 'p': pidfile = optarg; break;
                case OPT_ONCE: once = true; break;
                case 'v': verbose++; break;
                case 'q': verbose = 0; break;
                case 'h': usage(stdout); return MIGKIT_EXIT_OK;
                case 'V': printf("migkit-watch %s\n", MIGKIT_VERSION); return MIGKIT_EXIT_OK;
                default: usage(stderr); return MIGKIT_EXIT_USAGE;
                }
        if (optind < argc) {
                fprintf(stderr, "migkit-watch: error: unexpected argument '%s'\n", argv[optind]);
                usage(stderr);
                return MIGKIT_EXIT_USAGE;
        }
        if (uri && !*uri) {
                fprintf(stderr, "migkit-watch: error: --uri needs a libvirt URI such as qemu:///system\n");
                return MIGKIT_EXIT_USAGE;
        }
        /* Under systemd stderr already is the journal (JOURNAL_STREAM):
         * syslog as well would log every line twice. */
        log_open("migkit-watch", verbose, !getenv("JOURNAL_STREAM"));

        struct mk_config cfg;
        if (cli_load_config(&cfg, config) < 0)
                return MIGKIT_EXIT_FAILED;
        if (pidfile && !once) {
                r = write_pidfile(pidfile);
                if (r < 0) {
                        log_error_errno(r, "cannot write the pid file %s: %m", pidfile);
                        config_free(&cfg);
                        return MIGKIT_EXIT_FAILED;
                }
        }

        /* In migkit-watch.service's sandbox a migkit-cleanup started
         * directly would run in that sandbox too: only through systemd. */
        if (dispatch_in_service())
                dispatch_forbid_direct();

        struct watch *w;
        r = watch_new(&cfg, uri, &w);
        if (r == 0) {
                log_info("started (version %s), state in %s", MIGKIT_VERSION, cfg.state_dir);
                r = watch_run(w, once);
                watch_free(w);
        }
        if (pidfile && !once)
                (void)unlink(pidfile);
        config_free(&cfg);
        return r < 0 ? MIGKIT_EXIT_FAILED : MIGKIT_EXIT_OK;
}
