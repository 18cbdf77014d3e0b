/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* migkit-hook: libvirt's qemu hook.
 *
 * libvirt runs it as `qemu <domain> <op> <subop> <extra>` with the domain
 * XML on stdin and waits for it. On `migrate begin` whatever it prints
 * replaces the incoming XML (nothing printed = unchanged). It must be fast,
 * never call libvirt, never run a shell, never fail `reconnect`, and never
 * run past its deadline. */
#include <getopt.h>
#include <stdio.h>
#include <time.h>

#include "cli.h"
#include "config.h"
#include "deadline.h"
#include "dest.h"
#include "exitcode.h"
#include "domxml.h"
#include "hostmark.h"
#include "journal.h"
#include "limit.h"
#include "log.h"
#include "lunrec.h"
#include "metrics.h"
#include "pending.h"
#include "proof.h"
#include "dispatch.h"
#include "util.h"
#include "validate.h"

struct hook_ctx {
        const char *domain, *op, *subop, *extra;
        struct mk_config cfg;
        struct domxml *dom;
        bool ids_only;  /* dom has only the name and UUID */
        char *xml;      /* the XML on stdin, kept for a second look (record_luns) */
        size_t xml_len;
        FILE *report;   /* dry-run */
};

/* ids_only: the name and UUID are all the handler needs (domxml_parse_ids). */
static int read_domain(struct hook_ctx *c, bool ids_only)
{
        _cleanup_free_ char *xml = NULL, *err = NULL;
        ssize_t n = read_full_fd(STDIN_FILENO, c->cfg.max_xml_bytes, &xml);
        if (n == -EFBIG)
                return log_error("domain %s: domain XML on stdin is larger than [hook] max-xml-size (%zu bytes); "
                                 "refusing it, nothing was changed", c->domain, c->cfg.max_xml_bytes);
        if (n < 0)
                return log_error_errno((int)n, "domain %s: cannot read the domain XML from stdin: %m", c->domain);
        if (n == 0)
                return log_error("domain %s: no domain XML on stdin", c->domain);
        int r = ids_only ? domxml_parse_ids(xml, (size_t)n, &c->dom, &err) : domxml_parse(xml, (size_t)n, &c->dom, &err);
        if (r < 0)
                return log_error("domain %s: %s; nothing was changed", c->domain, err ? err : "cannot parse the domain XML");
        c->ids_only = ids_only;
        c->xml = TAKE_PTR(xml);
        c->xml_len = (size_t)n;
        if (!streq(c->domain, "-") && !streq(c->dom->name, c->domain))
                return log_error("domain %s: the XML on stdin names domain '%s'; refusing a mismatched call",
                                 c->domain, c->dom->name);
        return 0;
}

static int hand_over(struct hook_ctx *c, enum proof_kind kind, const char *action, const char *detail);

/* [limits] incoming: past the limit, refuse before anything is created;
 * else this migration is recorded as in flight (limit.h). */
static int admit_incoming(struct hook_ctx *c)
{
        struct limit_incoming *l = NULL;
        size_t n = 0;
        int r = limit_incoming_begin(&c->cfg, c->dom->uuid, c->dom->name, c->report != NULL, &l, &n);
        if (r == -EBUSY) {
                _cleanup_free_ char *who = limit_incoming_describe(l, n);
                limit_incoming_free(l, n);
                return log_error("domain %s: refusing the incoming migration: this host already has %zu incoming "
                                 "migration%s in flight, its limit ([limits] incoming = %u in %s): %s; retry when one "
                                 "has finished, or raise the limit; nothing was changed, the guest stays on its source",
                                 c->dom->name, n, n == 1 ? "" : "s", c->cfg.limit_incoming,
                                 c->cfg.file ? c->cfg.file : "the built-in defaults", who ? who : "?");
        }
        if (r < 0)
                return log_error_errno(r, "domain %s: cannot record the incoming migration in %s/incoming ([limits] incoming): "
                                       "%m; refusing before creating anything (free space there, or set [paths] state)",
                                       c->dom->name, c->cfg.state_dir);
        return 0;
}

/* This host's mark (hostmark.h): in the instances root, rewritten when
 * stale, and with guest, in the guest's directory (or the root when there
 * is none). A mark that cannot be written is no reason to fail libvirt:
 * the sharing of a directory nobody marked is then decided by its
 * filesystem type alone. */
static void mark_host(struct hook_ctx *c, const char *guest)
{
        struct host_id self;
        time_t now = time(NULL);
        int r = host_id_get(&c->cfg, &self);
        if (r == 0)
                r = hostmark_touch_root(&c->cfg, &self, now);
        if (r >= 0 && guest)
                r = hostmark_touch_guest(&c->cfg, &self, guest, now);
        if (r < 0 && r != -ENOENT)
                log_debug("cannot mark %s as used by this host: %s", c->cfg.instances_path, strerror(-r));
}

/* Destination of an incoming migration: prepare everything the guest needs
 * and rewrite the XML if the config drive is missing here. */
static int op_migrate_begin(struct hook_ctx *c)
{
        struct dest d = { .cfg = &c->cfg, .dom = c->dom, .report = c->report };
        bool applying = false, admitted = false;
        int r = dest_plan(&d, true);

        if (r == 0) {
                r = admit_incoming(c);
                admitted = r == 0 && !c->report;
        }

        /* A new incoming migration voids any older proof about this guest,
         * so no cleanup decided on one can remove what is prepared now, and
         * the marks an earlier attempt left in the journal. */
        if (r == 0 && !c->report) {
                r = proof_incoming_begin(c->cfg.state_dir, c->dom->uuid, 3000);
                if (r == -EAGAIN)
                        r = log_error("domain %s: a cleanup of this guest is running on this host; retry the migration "
                                      "in a minute (see migkit-cleanup status)", c->dom->name);
                else if (r < 0)
                        r = log_error_errno(r, "domain %s: cannot clear old proofs in %s: %m", c->dom->name, c->cfg.state_dir);
        }
        if (r == 0 && !c->report) {
                int q = journal_new_attempt(c->cfg.state_dir, c->dom->uuid);
                if (q == -EBADMSG)
                        log_warning("domain %s: the journal %s/journal/%s is malformed; a new one replaces it if "
                                    "anything is created", c->dom->name, c->cfg.state_dir, c->dom->uuid);
                else if (q < 0)
                        r = log_error_errno(q, "domain %s: cannot start a new attempt in the journal %s/journal/%s: %m",
                                            c->dom->name, c->cfg.state_dir, c->dom->uuid);
        }
        if (r == 0) {
                /* Should the watchdog end us while creating, what the
                 * journal lists by then is handed over to a rollback. */
                static char uuid[64];
                static char *after[] = { (char *)"/proc/self/exe", (char *)"--rollback-after-deadline", uuid, NULL };
                if (!c->report && strlen(c->dom->uuid) < sizeof(uuid)) {
                        strcpy(uuid, c->dom->uuid);
                        deadline_on_overrun_exec(after);
                }
                applying = true;
                r = dest_apply(&d, true, true);
                deadline_on_overrun_exec(NULL);
                if (r == 0 && !c->report)
                        mark_host(c, c->dom->uuid); /* the source sees it: never removes a shared directory */
        }
        if (r == 0 && d.xml_changed) {
                _cleanup_free_ char *out = NULL;
                size_t len;
                r = domxml_format(c->dom, &out, &len);
                if (r < 0)
                        r = log_error_errno(r, "domain %s: cannot format the rewritten XML: %m", c->dom->name);
                else if (!c->report && (write_all(STDOUT_FILENO, out, len) < 0))
                        r = log_error_errno(errno, "domain %s: cannot write the rewritten XML: %m", c->dom->name);
                else if (c->report && log_get_verbose() > 0)
                        fprintf(c->report, "rewritten XML:\n%s", out);
        }
        dest_done(&d);
        if (r < 0 && admitted)
                (void)limit_incoming_end(&c->cfg, c->dom->uuid);

        /* Our failure aborts the migration and libvirt calls no further hook
         * for it (no release): undo what this attempt created right away. */
        if (r < 0 && applying && !c->report) {
                struct journal j;
                if (journal_load(c->cfg.state_dir, c->dom->uuid, &j) == 0)
                        (void)hand_over(c, PROOF_INCOMING_FAILED, "rollback", "migrate begin failed in migkit-hook");
                journal_free(&j);
        }
        return r;
}

/* The guest's LUNs on this host (lunrec.h), for their removal once it has
 * migrated away, when libvirt no longer has its XML: recorded at each start
 * (a record of an earlier run is replaced) and refreshed when libvirt
 * releases the guest (a disk whose device is gone by then keeps its entry).
 * Never fails the call: a LUN not recorded is only left in place. */
static void record_luns(struct hook_ctx *c, bool at_release)
{
        _cleanup_(lunrec_free) struct lunrec old = { 0 }, rec = { 0 };
        _cleanup_domxml_ struct domxml *full = NULL;
        const struct mk_config *cfg = &c->cfg;
        const struct domxml *d = c->dom;
        int r;

        if (!cfg->fc_disconnect || c->report)
                return;
        r = lunrec_load(cfg->state_dir, c->dom->uuid, &old);
        if (at_release && r < 0)
                return; /* it never started here: nothing of it to record */
        /* the devices only of a guest that may have a block disk (the word
         * is in the XML): the others keep the cheap name-and-UUID pass */
        if (c->ids_only && memmem(c->xml, c->xml_len, "block", 5)) {
                _cleanup_free_ char *err = NULL;
                if (domxml_parse(c->xml, c->xml_len, &full, &err) < 0) {
                        log_warning("domain %s: %s; the LUNs of its block disks are not recorded", c->dom->name,
                                    err ? err : "cannot parse the domain XML");
                        return;
                }
                d = full;
        }
        r = lunrec_from_domain(cfg->sysfs_root, cfg->dev_root, d, at_release ? &old : NULL, &rec);
        if (r == 0 && old.uuid)
                r = lunrec_remove(cfg->state_dir, c->dom->uuid);
        else if (r > 0)
                r = lunrec_save(cfg->state_dir, &rec);
        if (r < 0)
                log_warning_errno(r, "domain %s: cannot record the LUNs of its block disks in %s/luns: %m; they will not "
                                  "be disconnected after it migrates away", c->dom->name, cfg->state_dir);
}

/* QEMU runs (incoming or not; `started` comes before any RAM moves). For an
 * incoming migration migkit prepared, note it in the journal: from now on
 * only migkit-watch's events tell success from failure. Fails the start if
 * it cannot be noted: a later stop would otherwise be taken for a failure
 * before QEMU started, and rolled back. */
static int op_started_begin(struct hook_ctx *c)
{
        if (c->report) {
                fprintf(c->report, "would note in the journal of %s, if there is one, that its QEMU started\n", c->dom->uuid);
                return 0;
        }
        /* it runs here (again): nothing of it is left to disconnect */
        record_luns(c, false);
        (void)pending_clear(c->cfg.state_dir, c->dom->uuid, "disconnect");
        int r = journal_set_mark(c->cfg.state_dir, c->dom->uuid, JOURNAL_QEMU_STARTED, time(NULL));
        if (r == -ENOENT)
                return 0; /* no incoming migration prepared by migkit */
        if (r == -EBADMSG) {
                log_warning("domain %s: the journal %s/journal/%s is malformed; ignoring it (nothing listed there is "
                            "ever rolled back)", c->dom->name, c->cfg.state_dir, c->dom->uuid);
                return 0;
        }
        if (r < 0)
                return log_error_errno(r, "domain %s: cannot note in the journal %s/journal/%s that QEMU started: %m; "
                                       "refusing the start (a later stop would be taken for a failed incoming migration)",
                                       c->dom->name, c->cfg.state_dir, c->dom->uuid);
        log_debug("domain %s: QEMU started; noted in the journal", c->dom->name);
        return 0;
}

/* Any start, incoming or not: the bridges must exist (e.g. after a reboot).
 * Never prints XML. */
static int op_prepare_begin(struct hook_ctx *c)
{
        struct dest d = { .cfg = &c->cfg, .dom = c->dom, .report = c->report };
        int r = dest_plan(&d, false);
        if (r == 0)
                r = dest_apply(&d, false, false);
        dest_done(&d);
        if (r == 0 && !c->report)
                mark_host(c, NULL);
        return r;
}

/* Records a proof and hands the work to migkit-cleanup without waiting. */
static int hand_over(struct hook_ctx *c, enum proof_kind kind, const char *action, const char *detail)
{
        struct proof p = { .uuid = c->dom->uuid, .name = c->dom->name, .kind = kind, .by = (char *)"hook",
                           .detail = (char *)detail };
        bool recorded;
        int r = dispatch_handover(&c->cfg, &p, action, &recorded);
        if (!recorded)
                return log_error_errno(r, "domain %s: cannot record the proof in %s: %m; nothing will be cleaned up",
                                       c->dom->name, c->cfg.state_dir);
        if (r < 0)
                return log_error("domain %s: %s; the %s proof is recorded, run `migkit-cleanup %s %s` by hand",
                                 c->dom->name, detail, proof_kind_to_string(kind), action, c->dom->uuid);
        log_info("domain %s: %s; recorded proof %s, started cleanup %s", c->dom->name, detail,
                 proof_kind_to_string(kind), action);
        return 0;
}

/* [metrics] textfile: an incoming migration that failed before its QEMU
 * started. libvirt gives migkit-watch, which counts the others, no
 * lifecycle event of it: the hook that proves the failure counts it. */
static void count_failed_in(struct hook_ctx *c)
{
        int r = c->report ? 0 : metrics_count(&c->cfg, METRIC_IN_FAILED);
        if (r < 0)
                log_warning_errno(r, "domain %s: cannot update the metrics in %s: %m", c->dom->name, c->cfg.metrics_textfile);
}

/* The domain's QEMU is gone (or never started) and libvirt lets go of it.
 * Only libvirt >= 10.5 says why (the 4th argument); older ones pass "-" for
 * a migration, a shutdown and a failed incoming migration alike. What the
 * hook can prove by itself:
 *   "migrated"                  the guest left: source cleanup;
 *   anything else, with a journal of an incoming migration and no
 *   qemu-started mark           the incoming QEMU never started, so the
 *                               guest cannot have migrated in: rollback.
 * With the mark, QEMU ran: success and failure look alike here, and
 * migkit-watch's lifecycle events decide. */
static int op_release_end(struct hook_ctx *c)
{
        /* Whatever happened, no incoming migration of it is in flight now. */
        (void)limit_incoming_end(&c->cfg, c->dom->uuid);
        record_luns(c, true);
        if (streq(c->extra, "migrated"))
                return hand_over(c, PROOF_MIGRATED, "source", "release end migrated");

        struct journal j;
        int r = journal_load(c->cfg.state_dir, c->dom->uuid, &j);
        bool qemu_ran = r == 0 && (j.qemu_started || j.postcopy || j.arrived);
        journal_free(&j);
        if (r < 0 || qemu_ran)
                return 0;
        _cleanup_free_ char *detail = NULL;
        if (asprintf(&detail, "release end %s before the incoming QEMU started", c->extra) < 0)
                return log_error_errno(ENOMEM, "out of memory");
        count_failed_in(c);
        return hand_over(c, PROOF_INCOMING_FAILED, "rollback", detail);
}

/* Run by the deadline watchdog (deadline_on_overrun_exec) in a process of
 * its own after it ended a `migrate begin`: libvirt calls no further hook
 * for that migration, so what the journal lists, if the incoming QEMU never
 * started, is handed over to a rollback. */
static int rollback_after_deadline(const char *uuid)
{
        struct hook_ctx c = { .domain = "-" };
        struct journal j;
        int r;

        log_open("migkit-hook", 0, true);
        if (!uuid_is_valid(uuid) || cli_load_config(&c.cfg, NULL) < 0) {
                config_free(&c.cfg);
                return MIGKIT_EXIT_FAILED;
        }
        r = journal_load(c.cfg.state_dir, uuid, &j);
        if (r == 0 && !journal_is_empty(&j) && !j.qemu_started && !j.postcopy && !j.arrived) {
                struct domxml dom = { .uuid = (char *)uuid, .name = j.name ? j.name : (char *)uuid };
                c.dom = &dom;
                count_failed_in(&c);
                r = hand_over(&c, PROOF_INCOMING_FAILED, "rollback", "migrate begin exceeded its deadline in migkit-hook");
                c.dom = NULL;
        }
        journal_free(&j);
        config_free(&c.cfg);
        return r < 0 ? MIGKIT_EXIT_FAILED : MIGKIT_EXIT_OK;
}

static const struct handler {
        const char *op, *subop;
        int (*fn)(struct hook_ctx *c);
        bool never_fail; /* the operation already happened: failing helps nobody */
        bool ids_only;   /* needs the name and UUID of the XML, not its devices */
} handlers[] = {
        { "migrate", "begin", op_migrate_begin, false, false },
        { "prepare", "begin", op_prepare_begin, false, false },
        { "started", "begin", op_started_begin, false, true },
        { "release", "end", op_release_end, true, true },
};

static const struct handler *find_handler(const char *op, const char *subop)
{
        for (size_t i = 0; i < ARRAY_SIZE(handlers); i++)
                if (streq(handlers[i].op, op) && (!subop || streq(handlers[i].subop, subop)))
                        return &handlers[i];
        return NULL;
}

static int run_handler(struct hook_ctx *c, const struct handler *h)
{
        static const char overrun[] = "migkit-hook: error: deadline ([hook] deadline) exceeded; giving up, "
                                      "what was created so far is in the journal\n";
        int r;

        deadline_start(c->cfg.hook_deadline_ms);
        r = deadline_arm_watchdog(500, h->never_fail ? MIGKIT_EXIT_OK : MIGKIT_EXIT_FAILED, overrun);
        if (r < 0)
                return log_error_errno(r, "cannot arm the deadline watchdog: %m");
        r = read_domain(c, h->ids_only);
        if (r < 0)
                return r;
        return h->fn(c);
}

static int hook_main(int argc, char **argv)
{
        struct hook_ctx c = { .domain = argv[1], .op = argv[2], .subop = argv[3], .extra = argv[4] };
        const struct handler *h = find_handler(c.op, c.subop);
        int r;

        (void)argc;
        if (!h)
                return MIGKIT_EXIT_OK; /* reconnect, start, stopped, ...: nothing to do, never fail */
        log_open("migkit-hook", isatty(STDERR_FILENO) ? 1 : 0, true);
        r = cli_load_config(&c.cfg, NULL);
        if (r == 0)
                r = run_handler(&c, h);
        domxml_free(c.dom);
        free(c.xml);
        config_free(&c.cfg);
        return r < 0 && !h->never_fail ? MIGKIT_EXIT_FAILED : MIGKIT_EXIT_OK;
}

static void usage(FILE *f)
{
        fprintf(f,
                "Usage: migkit-hook DOMAIN OP SUBOP EXTRA   (as libvirt runs it, domain XML on stdin)\n"
                "       migkit-hook --check-config [FILE]\n"
                "       migkit-hook --dump-config [FILE]\n"
                "       migkit-hook --dry-run OP [SUBOP] [-v] < domain.xml\n"
                "\n"
                "libvirt qemu hook of migkit: prepares this host for incoming live migrations.\n"
                "\n"
                "  -c, --check-config   validate the configuration (default $MIGKIT_CONFIG or\n"
                "                       " MIGKIT_CONFIG_PATH ") and exit\n"
                "      --dump-config    print the effective configuration\n"
                "  -n, --dry-run        print what OP (migrate, prepare, started) would do for the\n"
                "                       domain XML on stdin, touching nothing; with -v also\n"
                "                       print the rewritten XML\n"
                "  -v, --verbose        more output\n"
                "  -h, --help           this text\n"
                "  -V, --version        print the version\n"
                "\n"
                "Exit status: 0 done or nothing to do, 1 failed (libvirt aborts the operation\n"
                "and shows the message), 2 usage.\n");
}

/* libvirt always passes exactly four arguments, and a domain name that
 * begins with '-' is a name, never an option. The only option form with
 * four arguments is `--dry-run OP SUBOP -v`: its last argument is an
 * option, where libvirt's is "-" or a word (migrated, shutdown, ...). */
static bool libvirt_call(int argc, char **argv)
{
        return argc == 5 && (streq(argv[4], "-") || argv[4][0] != '-');
}

int main(int argc, char **argv)
{
        enum { ACT_NONE, ACT_CHECK, ACT_DUMP, ACT_DRY } act = ACT_NONE;
        static const struct option opts[] = {
                { "check-config", no_argument, NULL, 'c' },
                { "dump-config", no_argument, NULL, 'd' },
                { "dry-run", no_argument, NULL, 'n' },
                { "verbose", no_argument, NULL, 'v' },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, 'V' },
                {},
        };
        int verbose = 1, o, r;

        if (libvirt_call(argc, argv))
                return hook_main(argc, argv);

        if (argc == 3 && streq(argv[1], "--rollback-after-deadline"))
                return rollback_after_deadline(argv[2]);

        while ((o = getopt_long(argc, argv, "cdnvhV", opts, NULL)) >= 0)
                switch (o) {
                case 'c': act = ACT_CHECK; break;
                case 'd': act = ACT_DUMP; break;
                case 'n': act = ACT_DRY; break;
                case 'v': verbose++; break;
                case 'h': usage(stdout); return MIGKIT_EXIT_OK;
                case 'V': printf("migkit-hook %s\n", MIGKIT_VERSION); return MIGKIT_EXIT_OK;
                default: usage(stderr); return MIGKIT_EXIT_USAGE;
                }
        log_open("migkit-hook", verbose, false);

        struct hook_ctx c = { .domain = "-", .report = stdout };
        if (act == ACT_CHECK || act == ACT_DUMP) {
                if (argc - optind > 1) {
                        usage(stderr);
                        return MIGKIT_EXIT_USAGE;
                }
                return cli_config_report(optind < argc ? argv[optind] : NULL, act == ACT_DUMP);
        }
        if (act != ACT_DRY || optind >= argc || argc - optind > 2) {
                usage(stderr);
                return MIGKIT_EXIT_USAGE;
        }
        c.op = argv[optind];
        c.subop = optind + 1 < argc ? argv[optind + 1] : "begin";
        const struct handler *h = find_handler(c.op, c.subop);
        if (!h) {
                printf("%s %s: migkit does nothing for this operation\n", c.op, c.subop);
                return MIGKIT_EXIT_OK;
        }
        if (h->never_fail) {
                printf("%s %s: not simulated by --dry-run (it records a proof and starts migkit-cleanup; "
                       "see migkit-cleanup --dry-run)\n", c.op, c.subop);
                return MIGKIT_EXIT_OK;
        }
        r = cli_load_config(&c.cfg, NULL);
        if (r == 0)
                r = run_handler(&c, h);
        if (r == 0 && c.dom)
                printf("%s %s for domain %s (uuid %s): done planning; nothing was changed\n", c.op, c.subop, c.dom->name, c.dom->uuid);
        domxml_free(c.dom);
        free(c.xml);
        config_free(&c.cfg);
        return r < 0 ? MIGKIT_EXIT_FAILED : MIGKIT_EXIT_OK;
}
