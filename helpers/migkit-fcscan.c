/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* migkit-fcscan: the operator's (and a script's) targeted FC/SCSI rescan:
 * the same plan, scan, wait and multipath steps the hook runs at
 * `migrate begin` (lib/dest.c, lib/fc.c), for a WWPN and LUN, a WWID, or
 * every missing block disk of a domain XML. */
#include <dirent.h>
#include <getopt.h>
#include <inttypes.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "config.h"
#include "destfc.h"
#include "exitcode.h"
#include "domxml.h"
#include "fc.h"
#include "fclun.h"
#include "log.h"
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
                "  --remove             the other way: remove this host's SCSI paths (and\n"
                "                       multipath map) of the LUN, or of the domain's block\n"
                "                       disks after it migrated away; refused while anything\n"
                "                       uses it: a holder (LVM, md, a partition map), a mount,\n"
                "                       a process that has it open, a local domain\n"
                "                       ([cleanup] libvirt-uri, read-only) that names it\n"
                "  -w, --wait TIME      wait up to TIME for the devices (default 0: scan, look\n"
                "                       once, do not wait); 500ms, 30s, 2m, a bare number is\n"
                "                       seconds; at most 1h\n"
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
                "HBA sees the target and wildcard-scan is off, no FC HBA, ...), 5 --remove\n"
                "refused: the LUN is in use (nothing was removed).\n");
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

/* ---- --remove -------------------------------------------------------------- */

/* The WWID of the multipath map named alias (its dm/name), "" if none. */
static void wwid_of_map_name(const char *sysfs, const char *alias, char *wwid, size_t size)
{
        _cleanup_free_ char *dir = path_join(sysfs, "block");
        DIR *d = dir ? opendir(dir) : NULL;
        struct dirent *de;
        wwid[0] = '\0';
        while (d && (de = readdir(d))) {
                _cleanup_free_ char *name = NULL, *uuid = NULL, *pn = NULL, *pu = NULL;
                if (strncmp(de->d_name, "dm-", 3) != 0 || asprintf(&pn, "%s/%s/dm/name", dir, de->d_name) < 0 ||
                    asprintf(&pu, "%s/%s/dm/uuid", dir, de->d_name) < 0)
                        continue;
                if (read_full_file(pn, 4096, &name) < 0 || read_full_file(pu, 4096, &uuid) < 0)
                        continue;
                name[strcspn(name, "\n")] = uuid[strcspn(uuid, "\n")] = '\0';
                if (streq(name, alias) && strncmp(uuid, "mpath-", 6) == 0 && fc_name_is_valid(uuid + 6)) {
                        snprintf(wwid, size, "%s", uuid + 6);
                        break;
                }
        }
        if (d)
                closedir(d);
}

/* Adds the WWIDs that a block disk's source names on this host to *wwids. */
static int source_wwids(const struct mk_config *cfg, const char *source, char ***wwids)
{
        struct fc_source s;
        char wwid[FC_WWID_MAX + 1];
        int r;

        if (fc_parse_source(source, &s) < 0)
                return 0;
        if (s.kind == FC_SRC_PATH) {
                _cleanup_strv_ char **w = NULL;
                r = fc_wwids_of_target_lun(cfg->sysfs_root, s.wwpn, s.lun, &w);
                for (size_t i = 0; r > 0 && w[i]; i++)
                        if (!strv_contains(*wwids, w[i]) && strv_push(wwids, w[i]) < 0)
                                return -ENOMEM;
                return r < 0 ? r : 0;
        }
        if (s.kind != FC_SRC_WWID && s.kind != FC_SRC_MAP)
                return 0;
        snprintf(wwid, sizeof(wwid), "%s", s.wwid);
        if (!wwid[0])
                wwid_of_map_name(cfg->sysfs_root, s.map, wwid, sizeof(wwid));
        if (wwid[0] && !strv_contains(*wwids, wwid) && strv_push(wwids, wwid) < 0)
                return -ENOMEM;
        return 0;
}

struct local_domains {
        struct domxml **doms;
        size_t n;
        char *error;   /* libvirt could not be asked: refuse every removal */
};

static void quiet_libvirt(void *userdata, virErrorPtr err)
{
        (void)userdata;
        (void)err;
}

/* Every local domain's XML, live and persistent, from libvirt (read-only). */
static void load_local_domains(const struct mk_config *cfg, struct local_domains *ld)
{
        virConnectPtr conn;
        virDomainPtr *doms = NULL;
        int n;

        virSetErrorFunc(NULL, quiet_libvirt);
        conn = virConnectOpenReadOnly(cfg->libvirt_uri);
        if (!conn || (n = virConnectListAllDomains(conn, &doms, 0)) < 0) {
                virErrorPtr e = virGetLastError();
                if (asprintf(&ld->error, "cannot list the domains of this host through %s (%s), so cannot tell that none uses it",
                             cfg->libvirt_uri, e && e->message ? e->message : "unknown error") < 0)
                        ld->error = NULL;
                if (conn)
                        virConnectClose(conn);
                return;
        }
        for (int i = 0; i < n; i++) {
                for (int pass = 0; pass < 2; pass++) {
                        if (pass == 1 && !(virDomainIsActive(doms[i]) == 1 && virDomainIsPersistent(doms[i]) == 1))
                                break;
                        _cleanup_free_ char *xml = virDomainGetXMLDesc(doms[i], pass ? VIR_DOMAIN_XML_INACTIVE : 0);
                        struct domxml *dx = NULL;
                        if (!xml || domxml_parse(xml, strlen(xml), &dx, NULL) < 0) {
                                if (!ld->error && asprintf(&ld->error, "cannot read the XML of domain %s", virDomainGetName(doms[i])) < 0)
                                        ld->error = NULL;
                                continue;
                        }
                        struct domxml **nd = realloc(ld->doms, (ld->n + 1) * sizeof(*nd));
                        if (!nd) {
                                domxml_free(dx);
                                continue;
                        }
                        ld->doms = nd;
                        nd[ld->n++] = dx;
                }
                virDomainFree(doms[i]);
        }
        free(doms);
        virConnectClose(conn);
}

/* Notes every local domain that uses l: by the WWID its source names, or
 * by the device its source is. */
static int check_domains(const struct mk_config *cfg, const struct local_domains *ld, struct fc_lun *l)
{
        if (ld->error)
                return strv_push(&l->blockers, ld->error);
        for (size_t i = 0; i < ld->n; i++) {
                const struct domxml *dx = ld->doms[i];
                for (size_t j = 0; j < dx->n_disks; j++) {
                        const struct dom_disk *disk = &dx->disks[j];
                        _cleanup_strv_ char **w = NULL;
                        _cleanup_free_ char *msg = NULL, *p = NULL;
                        struct stat st;
                        char devno[32] = "";
                        if (disk->type != DOM_DISK_BLOCK || !disk->source)
                                continue;
                        if (source_wwids(cfg, disk->source, &w) < 0)
                                return -ENOMEM;
                        if (strncmp(disk->source, "/dev/", 5) == 0 && (p = path_join(cfg->dev_root, disk->source + 5)) &&
                            stat(p, &st) == 0 && S_ISBLK(st.st_mode))
                                snprintf(devno, sizeof(devno), "%u:%u", major(st.st_rdev), minor(st.st_rdev));
                        if (!strv_contains(w, l->wwid) && !(devno[0] && strv_contains(l->devs, devno)))
                                continue;
                        if (asprintf(&msg, "domain %s uses it (disk %s, %s)", dx->name, disk->target ? disk->target : "-",
                                     disk->source) < 0)
                                return -ENOMEM;
                        /* the live and the persistent definition often say the same */
                        if (!strv_contains(l->blockers, msg) && strv_push(&l->blockers, msg) < 0)
                                return -ENOMEM;
                        break;
                }
        }
        return 0;
}

static int remove_lun(const struct mk_config *cfg, const struct local_domains *ld, const char *wwid, bool dry)
{
        struct fc_lun l;
        struct fc_plan plan = { 0 };
        int r, code = MIGKIT_EXIT_OK;

        r = fc_lun_find(cfg->sysfs_root, wwid, &l);
        if (r < 0) {
                fc_lun_free(&l);
                log_error_errno(r, "WWID %s: cannot read its SCSI devices in %s: %m", wwid, cfg->sysfs_root);
                return MIGKIT_EXIT_FAILED;
        }
        if (l.n_paths == 0) {
                printf("WWID %s: no SCSI path on this host; nothing to remove\n", wwid);
                fc_lun_free(&l);
                return MIGKIT_EXIT_OK;
        }
        if ((r = fc_lun_check_mounts(&l, cfg->mountinfo)) < 0)
                r = strv_push(&l.blockers, "the mount table cannot be read");
        if (r >= 0 && fc_lun_check_open(&l, cfg->proc_root) < 0)
                r = strv_push(&l.blockers, "the open files of processes cannot be read");
        if (r >= 0)
                r = check_domains(cfg, ld, &l);
        if (r < 0) {
                fc_lun_free(&l);
                log_error_errno(ENOMEM, "out of memory");
                return MIGKIT_EXIT_FAILED;
        }
        if (l.blockers) {
                _cleanup_free_ char *why = strv_join(l.blockers, "; ");
                printf("refused WWID %s: %s\n", wwid, why ? why : "in use");
                log_error("WWID %s is in use, nothing removed: %s", wwid, why ? why : "?");
                fc_lun_free(&l);
                return MIGKIT_EXIT_FC_IN_USE;
        }
        r = fc_plan_remove(cfg->sysfs_root, &l, &plan);
        if (r < 0) {
                fc_lun_free(&l);
                log_error_errno(r, "WWID %s: cannot plan the removal: %m", wwid);
                return MIGKIT_EXIT_FAILED;
        }
        /* the map first: its paths must not vanish under a live map */
        if (l.map[0] && dry)
                printf("would ask multipathd: del map %s\n", l.map_name);
        else if (l.map[0]) {
                _cleanup_free_ char *cmd = NULL, *reply = NULL, *err = NULL;
                struct mpath *m = NULL;
                r = fc_name_is_valid(l.map_name) && asprintf(&cmd, "del map %s", l.map_name) >= 0 ? 0 : -EINVAL;
                if (r == 0)
                        r = mpath_open(cfg->fc_libmpathcmd, &m, &err);
                if (r == 0)
                        r = mpath_command(m, cmd, 4000, &reply);
                if (m)
                        mpath_close(m);
                printf("multipathd: del map %s: %s%s", l.map_name, r < 0 ? strerror(-r) : reply,
                       r < 0 || !*reply || reply[strlen(reply) - 1] != '\n' ? "\n" : "");
                if (r < 0 || mpath_reply_classify(reply) != MPATH_REPLY_OK) {
                        log_error("WWID %s: multipathd did not remove map %s (%s); its paths are left alone",
                                  wwid, l.map_name, r == -ENOENT && err ? err : r < 0 ? strerror(-r) : reply);
                        code = MIGKIT_EXIT_FAILED;
                }
        }
        if (code == MIGKIT_EXIT_OK && dry)
                fc_plan_print(&plan, stdout, "would ");
        else if (code == MIGKIT_EXIT_OK) {
                fc_plan_apply(&plan, SCAN_TIMEOUT_MS);
                for (size_t i = 0; i < plan.n_writes; i++) {
                        const struct fc_write *w = &plan.writes[i];
                        if (w->result == 0)
                                printf("wrote '1' to %s\n", w->path);
                        else {
                                printf("failed to write '1' to %s: %s\n", w->path, strerror(-w->result));
                                log_error_errno(w->result, "WWID %s: cannot delete path %s: %m", wwid, w->path);
                                code = MIGKIT_EXIT_FAILED;
                        }
                }
        }
        fc_plan_free(&plan);
        fc_lun_free(&l);
        return code;
}

/* The exit code that matters most: an error, then a refusal. */
static int worse(int a, int b)
{
        static const int rank[] = {
                [MIGKIT_EXIT_OK] = 0, [MIGKIT_EXIT_FC_MISSING] = 1, [MIGKIT_EXIT_FC_NOSCAN] = 2,
                [MIGKIT_EXIT_FC_IN_USE] = 3, [MIGKIT_EXIT_FAILED] = 4, [MIGKIT_EXIT_USAGE] = 5,
        };
        return rank[a] >= rank[b] ? a : b;
}

static int do_remove(struct mk_config *cfg, const struct fc_source *src, const struct domxml *dom, bool dry)
{
        _cleanup_strv_ char **wwids = NULL;
        struct local_domains ld = { 0 };
        int code = MIGKIT_EXIT_OK, r = 0;

        if (src->kind == FC_SRC_PATH) {
                r = fc_wwids_of_target_lun(cfg->sysfs_root, src->wwpn, src->lun, &wwids);
                if (r == 0)
                        printf("WWPN 0x%016" PRIx64 " LUN %" PRIu64 ": no SCSI device on this host; nothing to remove\n",
                               src->wwpn, src->lun);
        } else if (src->kind == FC_SRC_WWID)
                r = strv_push(&wwids, src->wwid);
        for (size_t i = 0; dom && r >= 0 && i < dom->n_disks; i++)
                if (dom->disks[i].type == DOM_DISK_BLOCK && dom->disks[i].source)
                        r = source_wwids(cfg, dom->disks[i].source, &wwids);
        if (r < 0) {
                log_error_errno(r, "cannot read the SCSI devices in %s: %m", cfg->sysfs_root);
                return MIGKIT_EXIT_FAILED;
        }
        if (dom && !wwids)
                printf("no block disk of domain %s names a LUN with a SCSI path on this host; nothing to remove\n", dom->name);
        if (wwids)
                load_local_domains(cfg, &ld);
        for (size_t i = 0; wwids && wwids[i]; i++)
                code = worse(code, remove_lun(cfg, &ld, wwids[i], dry));
        for (size_t i = 0; i < ld.n; i++)
                domxml_free(ld.doms[i]);
        free(ld.doms);
        free(ld.error);
        return code;
}

/* What the command line asks for. */
struct args {
        const char *config, *wwpn, *lun, *wwid, *xmlfile;
        unsigned wait_ms;
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
                code = do_remove(&cfg, &src, dom, a.dry);
        else
                code = do_scan(&cfg, &src, dom, &a);
        config_free(&cfg);
        return code;
}
