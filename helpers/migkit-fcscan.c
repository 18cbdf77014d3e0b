/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* migkit-fcscan: the operator's (and a script's) targeted FC/SCSI rescan:
 * the same plan, scan, wait and multipath steps the hook runs at
 * `migrate begin` (lib/dest.c, lib/fc.c), for a WWPN and LUN, a WWID, or
 * every missing block disk of a domain XML. */
#include <getopt.h>
#include <stdio.h>

#include "config.h"
#include "dest.h"
#include "domxml.h"
#include "fc.h"
#include "log.h"
#include "mpath.h"
#include "util.h"

enum {
        EXIT_OK = 0,        /* every device is there (without --wait: the scans were written) */
        EXIT_FAIL = 1,      /* an error: configuration, sysfs, a scan write that failed */
        EXIT_USAGE = 2,
        EXIT_MISSING = 3,   /* --wait: a device is still missing at the end */
        EXIT_NOSCAN = 4,    /* nothing can make a device appear: no FC HBA sees the target, wildcard-scan is off, ... */
};

#define SCAN_TIMEOUT_MS 60000

static void usage(FILE *f)
{
        fprintf(f,
                "Usage: migkit-fcscan [OPTIONS] --wwpn WWPN --lun LUN\n"
                "       migkit-fcscan [OPTIONS] --wwid WWID\n"
                "       migkit-fcscan [OPTIONS] --domain-xml FILE\n"
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
                "  -w, --wait SECONDS   wait up to SECONDS for the devices (default 0: scan,\n"
                "                       look once, do not wait)\n"
                "  -n, --dry-run        print the sysfs writes, waits and multipathd requests it\n"
                "                       would make; touch nothing\n"
                "  -c, --config FILE    configuration file (default $MIGKIT_CONFIG or\n"
                "                       " MIGKIT_CONFIG_PATH "): [paths] sysfs and dev,\n"
                "                       [fc] wildcard-scan, issue-lip, multipath, libmpathcmd\n"
                "  -v, --verbose        more output;  -q, --quiet  only errors\n"
                "  -h, --help           this text;    -V, --version  print the version\n"
                "\n"
                "Standard output: one line per sysfs write ('wrote ...' or 'would write ...'),\n"
                "multipathd request, and device ('present ...' or 'missing ...').\n"
                "\n"
                "Exit status: 0 every device is there (without --wait: the scans were written),\n"
                "1 error (configuration, sysfs, a failed scan write), 2 usage, 3 a device is\n"
                "still missing after --wait, 4 nothing can make a device appear (no online FC\n"
                "HBA sees the target and wildcard-scan is off, no FC HBA, ...).\n");
}

static int parse_wait(const char *s, unsigned *ms)
{
        char *end;
        errno = 0;
        unsigned long v = strtoul(s, &end, 10);
        if (errno || end == s || *end || s[0] == '-' || v > 3600)
                return -EINVAL;
        *ms = (unsigned)v * 1000;
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

int main(int argc, char **argv)
{
        enum { OPT_WWPN = 0x100, OPT_LUN, OPT_WWID, OPT_XML };
        static const struct option opts[] = {
                { "wwpn", required_argument, NULL, OPT_WWPN },
                { "lun", required_argument, NULL, OPT_LUN },
                { "wwid", required_argument, NULL, OPT_WWID },
                { "domain-xml", required_argument, NULL, OPT_XML },
                { "wait", required_argument, NULL, 'w' },
                { "dry-run", no_argument, NULL, 'n' },
                { "config", required_argument, NULL, 'c' },
                { "verbose", no_argument, NULL, 'v' },
                { "quiet", no_argument, NULL, 'q' },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, 'V' },
                {},
        };
        const char *config = NULL, *wwpn = NULL, *lun = NULL, *wwid = NULL, *xmlfile = NULL;
        unsigned wait_ms = 0;
        bool dry = false;
        int verbose = 1, o, r;

        while ((o = getopt_long(argc, argv, "w:nc:vqhV", opts, NULL)) >= 0)
                switch (o) {
                case OPT_WWPN: wwpn = optarg; break;
                case OPT_LUN: lun = optarg; break;
                case OPT_WWID: wwid = optarg; break;
                case OPT_XML: xmlfile = optarg; break;
                case 'w':
                        if (parse_wait(optarg, &wait_ms) < 0) {
                                fprintf(stderr, "migkit-fcscan: --wait '%s': give whole seconds from 0 to 3600\n", optarg);
                                return EXIT_USAGE;
                        }
                        break;
                case 'n': dry = true; break;
                case 'c': config = optarg; break;
                case 'v': verbose++; break;
                case 'q': verbose = 0; break;
                case 'h': usage(stdout); return EXIT_OK;
                case 'V': printf("migkit-fcscan %s\n", MIGKIT_VERSION); return EXIT_OK;
                default: usage(stderr); return EXIT_USAGE;
                }
        int modes = !!wwpn + !!wwid + !!xmlfile;
        if (optind < argc || modes != 1 || !!wwpn != !!lun) {
                fprintf(stderr, "migkit-fcscan: give exactly one of --wwpn with --lun, --wwid, or --domain-xml\n");
                usage(stderr);
                return EXIT_USAGE;
        }
        log_open("migkit-fcscan", verbose, false);

        struct fc_source src = { 0 };
        if (wwpn) {
                if (fc_parse_wwpn(wwpn, &src.wwpn) < 0) {
                        log_error("--wwpn '%s' is not a WWPN: give 16 hex digits such as 0x5006016839a01c4e", wwpn);
                        return EXIT_USAGE;
                }
                if (fc_parse_lun(lun, &src.lun) < 0) {
                        log_error("--lun '%s' is not a LUN: give the decimal kernel LUN number (no leading 0) "
                                  "or udev's 0x<16 hex digits> form", lun);
                        return EXIT_USAGE;
                }
                src.kind = FC_SRC_PATH;
        } else if (wwid) {
                if (!fc_name_is_valid(wwid) || !strchr("1238", wwid[0])) {
                        log_error("--wwid '%s' is not a WWID as udev writes it (3 + NAA hex digits, such as "
                                  "3600601604d903a00e8e4b3c7b6a6e811)", wwid);
                        return EXIT_USAGE;
                }
                strcpy(src.wwid, wwid);
                src.kind = FC_SRC_WWID;
        }

        struct mk_config cfg;
        _cleanup_free_ char *err = NULL;
        r = config_load(&cfg, config, &err);
        if (r < 0) {
                log_error("%s", err ? err : "cannot load the configuration");
                return EXIT_FAIL;
        }
        cfg.fc_rescan = true; /* [fc] rescan is about the hook; here the operator asks */

        _cleanup_domxml_ struct domxml *dom = NULL;
        if (xmlfile && load_domain(xmlfile, cfg.max_xml_bytes, &dom) < 0) {
                config_free(&cfg);
                return EXIT_FAIL;
        }

        struct dest d = { .cfg = &cfg, .dom = dom, .report = dry ? stdout : NULL, .out = dry ? NULL : stdout,
                          .fc_wait_ms = wait_ms, .fc_no_wait = !wait_ms, .fc_scan_timeout_ms = SCAN_TIMEOUT_MS };
        if (src.kind == FC_SRC_WWID && cfg.fc_multipath != FC_MULTIPATH_NO) {
                /* a map when multipath-tools is there (auto), or always (yes) */
                struct mpath *m = NULL;
                if (cfg.fc_multipath == FC_MULTIPATH_YES || mpath_open(cfg.fc_libmpathcmd, &m, NULL) == 0) {
                        src.kind = FC_SRC_MAP;
                        strcpy(src.map, src.wwid);
                }
                if (m)
                        mpath_close(m);
        }
        if (src.kind != FC_SRC_NONE && (r = dest_fc_add(&d, src.kind == FC_SRC_PATH ? "wwpn" : "wwid", NULL, NULL, &src)) < 0)
                log_error_errno(r, "out of memory");
        if (r >= 0)
                r = dest_fc_plan(&d);

        int code = EXIT_OK;
        if (r < 0)
                code = EXIT_FAIL;
        else {
                r = dest_fc_apply(&d);
                bool hopeless = false;
                for (size_t i = 0; i < d.n_luns; i++)
                        hopeless |= d.luns[i].error != NULL;
                if (d.fc_write_errors)
                        code = EXIT_FAIL;
                else if (hopeless)
                        code = EXIT_NOSCAN;
                else if (!dry && wait_ms && d.fc_missing)
                        code = EXIT_MISSING;
                if (d.n_luns == 0 && xmlfile)
                        printf("no block disk of domain %s is missing\n", dom->name);
        }
        dest_done(&d);
        config_free(&cfg);
        return code;
}
