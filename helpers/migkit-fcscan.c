/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* migkit-fcscan: the operator's (and a script's) targeted FC/SCSI rescan:
 * the same plan, scan, wait and multipath steps the hook runs at
 * `migrate begin` (lib/destfc.c, lib/fc.c), for a WWPN and LUN, a WWID, or
 * every missing block disk of a domain XML; and with --remove the removal
 * migkit-cleanup makes after a migration (lib/lundisc.c). */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>

#include "config.h"
#include "destfc.h"
#include "exitcode.h"
#include "domxml.h"
#include "fc.h"
#include "fclun.h"
#include "log.h"
#include "lundisc.h"
#include "lunrec.h"
#include "mpath.h"
#include "util.h"

#define SCAN_TIMEOUT_MS 60000

static void usage(FILE *f)
{
        fprintf(f,
                "Usage: migkit-fcscan [OPTIONS] --wwpn WWPN --lun LUN\n"
                "       migkit-fcscan [OPTIONS] --wwid WWID\n"
                "       migkit-fcscan [OPTIONS] --domain-xml FILE\n"
                "       migkit-fcscan [OPTIONS] --remove (--wwid WWID | --wwpn WWPN --lun LUN | --domain-xml FILE)\n"
                "\n"
                "Targeted FC SAN rescan: finds the SCSI hosts and targets whose FC remote port\n"
                "has the WWPN and writes 'channel target LUN' to those hosts' scan files, then\n"
                "(with --wait) waits for the device links and asks multipathd for the map.\n"
                "\n"
                "  --wwpn WWPN          target port WWPN: 16 hex digits, any case, 0x and\n"
                "                       colons optional; with --lun\n"
                "  --lun LUN            the LUN: decimal kernel LUN number (as in H:C:T:L) or\n"
                "                       udev's by-path form (0x4100000000000000)\n"
                "  --wwid WWID          the LUN's WWID as udev and multipath write it\n"
                "                       (3600a0b8...); scans every target only with\n"
                "                       [fc] wildcard-scan = yes; asks multipathd for the map\n"
                "                       unless [fc] multipath = no or libmpathcmd is missing\n"
                "  --domain-xml FILE    every <disk type='block'> of a domain XML whose source\n"
                "                       is missing ('-' reads standard input)\n"
                "  --remove             the other way, as migkit-cleanup does after a migration:\n"
                "                       remove this host's multipath map of the LUN (and its\n"
                "                       unused kpartx partition maps) through multipathd, then\n"
                "                       its SCSI paths (sysfs delete), then wait for them to\n"
                "                       go; of the LUN named, or of the domain's block disks;\n"
                "                       refused while anything uses it: a local domain\n"
                "                       ([cleanup] libvirt-uri, read-only; by WWID), a holder\n"
                "                       (LVM, md, anything on a partition map), a mount, a\n"
                "                       process that has it open (multipathd's own descriptors\n"
                "                       on the paths do not count)\n"
                "  -w, --wait TIME      wait up to TIME for the devices (default 0: scan, look\n"
                "                       once, do not wait); with --remove, for them to go\n"
                "                       (default [fc] disconnect-wait); 500ms, 30s, 2m, a bare\n"
                "                       number is seconds; at most 1h\n"
                "  -n, --dry-run        print the sysfs writes, waits and multipathd requests it\n"
                "                       would make; touch nothing\n"
                "  -c, --config FILE    configuration file (default $MIGKIT_CONFIG or\n"
                "                       " MIGKIT_CONFIG_PATH "): [paths] sysfs and dev,\n"
                "                       [fc] wildcard-scan, issue-lip, multipath, libmpathcmd\n"
                "  -v, --verbose        more output;  -q, --quiet  only errors\n"
                "  -h, --help           this text;    -V, --version  print the version\n"
                "\n"
                "Standard output: one line per sysfs write ('wrote ...' or 'would write ...'),\n"
                "multipathd request, and device ('present ...' or 'missing ...'; with\n"
                "--remove 'gone ...' or 'still there ...').\n"
                "\n"
                "Exit status: 0 every device is there (without --wait: the scans were written;\n"
                "--remove: every device is gone), 1 error (configuration, sysfs, a failed write,\n"
                "multipathd refused, a removed device still there after the wait), 2 usage,\n"
                "3 a device is still missing after --wait, 4 nothing can make a device appear\n"
                "(no online FC HBA sees the target and wildcard-scan is off, no FC HBA, ...),\n"
                "5 --remove refused: the LUN is in use (nothing was removed).\n");
}

/* --wait: a duration as everywhere (500ms, 30s, 2m), a bare number in
 * seconds, at most 1h. */
static int parse_wait(const char *s, unsigned *ms)
{
        if (parse_duration(s, 1000, ms) < 0 || *ms > 3600000)
                return -EINVAL;
        return 0;
}

static int load_domain(const char *file, size_t max, struct domxml **dom)
{
        _cleanup_free_ char *xml = NULL, *err = NULL;
        ssize_t n;
        if (streq(file, "-"))
                n = read_full_fd(STDIN_FILENO, max, &xml);
        else
                n = read_full_file(file, max, &xml);
        if (n < 0)
                return log_error_errno((int)n, "cannot read the domain XML %s: %m", file);
        int r = domxml_parse(xml, (size_t)n, dom, &err);
        if (r < 0)
                return log_error("%s: %s", file, err ? err : "cannot parse the domain XML");
        return 0;
}

/* ---- --remove (lib/lundisc.c, the same code as the source cleanup) ------ */

/* The exit code that matters most: an error, then a refusal. */
static int worse(int a, int b)
{
        static const int rank[] = {
                [MIGKIT_EXIT_OK] = 0, [MIGKIT_EXIT_FC_MISSING] = 1, [MIGKIT_EXIT_FC_NOSCAN] = 2,
                [MIGKIT_EXIT_FC_IN_USE] = 3, [MIGKIT_EXIT_FAILED] = 4, [MIGKIT_EXIT_USAGE] = 5,
        };
        return rank[a] >= rank[b] ? a : b;
}

static int do_remove(struct mk_config *cfg, const struct fc_source *src, const struct domxml *dom, bool dry, int wait_ms)
{
        _cleanup_strv_ char **wwids = NULL;
        _cleanup_(lundisc_done) struct lundisc ld = { .cfg = cfg, .dry_run = dry, .report = stdout, .out = dry ? NULL : stdout,
                                                      .wait_ms = wait_ms >= 0 ? (unsigned)wait_ms : cfg->fc_disconnect_wait_ms };
        int code = MIGKIT_EXIT_OK, r = 0;

        if (src->kind == FC_SRC_PATH) {
                r = fc_wwids_of_target_lun(cfg->sysfs_root, src->wwpn, src->lun, &wwids);
                if (r == 0)
                        printf("WWPN 0x%016" PRIx64 " LUN %" PRIu64 ": no SCSI device on this host; nothing to remove\n",
                               src->wwpn, src->lun);
        } else if (src->kind == FC_SRC_WWID)
                r = strv_push(&wwids, src->wwid);
        for (size_t i = 0; dom && r >= 0 && i < dom->n_disks; i++) {
                struct lun_id id;
                if (dom->disks[i].type != DOM_DISK_BLOCK || !dom->disks[i].source)
                        continue;
                struct fc_source s;
                r = lun_resolve(cfg->sysfs_root, cfg->dev_root, dom->disks[i].source, &id);
                if (r > 0)
                        r = strv_push_unique(&wwids, id.wwid);
                else if (r == 0 && fc_parse_source(dom->disks[i].source, &s) == 0 && s.wwid[0])
                        r = strv_push_unique(&wwids, s.wwid); /* says so: no path here */
                lun_id_free(&id);
        }
        if (r < 0) {
                log_error_errno(r, "cannot read the SCSI devices in %s: %m", cfg->sysfs_root);
                return MIGKIT_EXIT_FAILED;
        }
        if (dom && !wwids)
                printf("no block disk of domain %s names a LUN with a SCSI path on this host; nothing to remove\n", dom->name);
        for (size_t i = 0; wwids && wwids[i]; i++) {
                _cleanup_free_ char *why = NULL;
                struct lundisc_lun lun = { .wwid = wwids[i] };
                r = lundisc_remove(&ld, &lun, &why);
                if (r < 0) {
                        log_error_errno(r, "out of memory");
                        return MIGKIT_EXIT_FAILED;
                }
                if (r == LUNDISC_REFUSED)
                        log_error("%s; nothing was removed", why ? why : "in use");
                else if (r == LUNDISC_FAILED)
                        log_error("%s", why ? why : "failed");
                code = worse(code, r == LUNDISC_REFUSED ? MIGKIT_EXIT_FC_IN_USE : r == LUNDISC_FAILED ? MIGKIT_EXIT_FAILED
                                                                                                      : MIGKIT_EXIT_OK);
        }
        return code;
}

/* What the command line asks for. */
struct args {
        const char *config, *wwpn, *lun, *wwid, *xmlfile;
        unsigned wait_ms;
        bool wait_given;
        bool dry, remove;
        int verbose;
};

/* Returns -1 to go on, or an exit code. */
static int parse_args(int argc, char **argv, struct args *a)
{
        enum { OPT_WWPN = 0x100, OPT_LUN, OPT_WWID, OPT_XML, OPT_REMOVE };
        static const struct option opts[] = {
                { "wwpn", required_argument, NULL, OPT_WWPN },
                { "lun", required_argument, NULL, OPT_LUN },
                { "wwid", required_argument, NULL, OPT_WWID },
                { "domain-xml", required_argument, NULL, OPT_XML },
                { "remove", no_argument, NULL, OPT_REMOVE },
                { "wait", required_argument, NULL, 'w' },
                { "dry-run", no_argument, NULL, 'n' },
                { "config", required_argument, NULL, 'c' },
                { "verbose", no_argument, NULL, 'v' },
                { "quiet", no_argument, NULL, 'q' },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, 'V' },
                {},
        };
        int o;

        while ((o = getopt_long(argc, argv, "w:nc:vqhV", opts, NULL)) >= 0)
                switch (o) {
                case OPT_WWPN: a->wwpn = optarg; break;
                case OPT_LUN: a->lun = optarg; break;
                case OPT_WWID: a->wwid = optarg; break;
                case OPT_XML: a->xmlfile = optarg; break;
                case OPT_REMOVE: a->remove = true; break;
                case 'w':
                        if (parse_wait(optarg, &a->wait_ms) < 0) {
                                fprintf(stderr, "migkit-fcscan: --wait '%s': give a duration from 0 to 1h (units ms, s, m, h; a bare number is seconds)\n", optarg);
                                return MIGKIT_EXIT_USAGE;
                        }
                        a->wait_given = true;
                        break;
                case 'n': a->dry = true; break;
                case 'c': a->config = optarg; break;
                case 'v': a->verbose++; break;
                case 'q': a->verbose = 0; break;
                case 'h': usage(stdout); return MIGKIT_EXIT_OK;
                case 'V': printf("migkit-fcscan %s\n", MIGKIT_VERSION); return MIGKIT_EXIT_OK;
                default: usage(stderr); return MIGKIT_EXIT_USAGE;
                }
        int modes = !!a->wwpn + !!a->wwid + !!a->xmlfile;
        if (optind < argc || modes != 1 || !!a->wwpn != !!a->lun) {
                fprintf(stderr, "migkit-fcscan: give exactly one of --wwpn with --lun, --wwid, or --domain-xml\n");
                usage(stderr);
                return MIGKIT_EXIT_USAGE;
        }
        return -1;
}

/* --wwpn and --lun, or --wwid, as a source to scan for (FC_SRC_NONE for
 * --domain-xml). Returns -1 to go on, or an exit code after saying why. */
static int parse_source(const struct args *a, struct fc_source *src)
{
        *src = (struct fc_source){ 0 };
        if (a->wwpn) {
                if (fc_parse_wwpn(a->wwpn, &src->wwpn) < 0) {
                        log_error("--wwpn '%s' is not a WWPN: give 16 hex digits such as 0x5006016839a01c4e", a->wwpn);
                        return MIGKIT_EXIT_USAGE;
                }
                if (fc_parse_lun(a->lun, &src->lun) < 0) {
                        log_error("--lun '%s' is not a LUN: give the decimal kernel LUN number (no leading 0) "
                                  "or udev's 0x<16 hex digits> form", a->lun);
                        return MIGKIT_EXIT_USAGE;
                }
                src->kind = FC_SRC_PATH;
        } else if (a->wwid) {
                if (!fc_name_is_valid(a->wwid) || !strchr("1238", a->wwid[0])) {
                        log_error("--wwid '%s' is not a WWID as udev writes it (3 + NAA hex digits, such as "
                                  "3600601604d903a00e8e4b3c7b6a6e811)", a->wwid);
                        return MIGKIT_EXIT_USAGE;
                }
                strcpy(src->wwid, a->wwid);
                src->kind = FC_SRC_WWID;
        }
        return -1;
}

/* Scans for src or the missing block disks of dom, and waits (--wait).
 * Returns the exit code. */
static int do_scan(struct mk_config *cfg, struct fc_source *src, struct domxml *dom, const struct args *a)
{
        struct dest_fc d = { .cfg = cfg, .dom = dom, .report = a->dry ? stdout : NULL, .out = a->dry ? NULL : stdout,
                             .wait_ms = a->wait_ms, .no_wait = !a->wait_ms, .scan_timeout_ms = SCAN_TIMEOUT_MS };
        int r = 0;

        if (src->kind == FC_SRC_WWID && cfg->fc_multipath != FC_MULTIPATH_NO) {
                /* a map when multipath-tools is there (auto), or always (yes) */
                struct mpath *m = NULL;
                if (cfg->fc_multipath == FC_MULTIPATH_YES || mpath_open(cfg->fc_libmpathcmd, &m, NULL) == 0) {
                        src->kind = FC_SRC_MAP;
                        strcpy(src->map, src->wwid);
                }
                if (m)
                        mpath_close(m);
        }
        if (src->kind != FC_SRC_NONE && (r = dest_fc_add(&d, src->kind == FC_SRC_PATH ? "wwpn" : "wwid", NULL, NULL, src)) < 0)
                log_error_errno(r, "out of memory");
        if (r >= 0)
                r = dest_fc_plan(&d);

        int code = MIGKIT_EXIT_OK;
        if (r < 0)
                code = MIGKIT_EXIT_FAILED;
        else {
                r = dest_fc_apply(&d);
                bool hopeless = false;
                for (size_t i = 0; i < d.n_luns; i++)
                        hopeless |= d.luns[i].error != NULL;
                if (d.write_errors)
                        code = MIGKIT_EXIT_FAILED;
                else if (hopeless)
                        code = MIGKIT_EXIT_FC_NOSCAN;
                else if (!a->dry && a->wait_ms && d.missing)
                        code = MIGKIT_EXIT_FC_MISSING;
                if (d.n_luns == 0 && a->xmlfile)
                        printf("no block disk of domain %s is missing\n", dom->name);
        }
        dest_fc_done(&d);
        return code;
}

int main(int argc, char **argv)
{
        struct args a = { .verbose = 1 };
        struct fc_source src;
        int code = parse_args(argc, argv, &a);
        if (code >= 0)
                return code;
        log_open("migkit-fcscan", a.verbose, false);
        code = parse_source(&a, &src);
        if (code >= 0)
                return code;

        struct mk_config cfg;
        _cleanup_free_ char *err = NULL;
        int r = config_load(&cfg, a.config, &err);
        if (r < 0) {
                log_error("%s", err ? err : "cannot load the configuration");
                return MIGKIT_EXIT_FAILED;
        }
        cfg.fc_rescan = true; /* [fc] rescan is about the hook; here the operator asks */

        _cleanup_domxml_ struct domxml *dom = NULL;
        if (a.xmlfile && load_domain(a.xmlfile, cfg.max_xml_bytes, &dom) < 0)
                code = MIGKIT_EXIT_FAILED;
        else if (a.remove)
                code = do_remove(&cfg, &src, dom, a.dry, a.wait_given ? (int)a.wait_ms : -1);
        else
                code = do_scan(&cfg, &src, dom, &a);
        config_free(&cfg);
        return code;
}
