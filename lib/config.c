/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <ini.h>
#include <stdarg.h>
#include <stdint.h>
#include <fcntl.h>
#include <limits.h>
#include <strings.h>
#include <sys/stat.h>

#include "listen.h"
#include "util.h"
#include "validate.h"

enum key_type { K_PATH, K_OPTPATH, K_ADDR, K_STRING, K_NAME, K_GLOBS, K_LIST, K_UINT, K_MODE, K_BOOL, K_MS, K_SIZE, K_ENUM };

struct key {
        const char *section, *name;
        enum key_type type;
        size_t offset;
        const char *def;
        unsigned min, max;          /* K_UINT, K_MS (ms), K_SIZE (in KiB) */
        const char *const *choices; /* K_ENUM, index is the value */
        const char *help;           /* what is allowed, for messages */
};

#define OFF(f) offsetof(struct mk_config, f)
static const char *const instance_dir_choices[] = { "auto", "always", "never", NULL };
static const char *const launcher_choices[] = { "auto", "systemd", "direct", NULL };
static const char *const fc_on_missing_choices[] = { "fail", "warn", NULL };
static const char *const fc_multipath_choices[] = { "auto", "yes", "no", NULL };
static const char *const preempt_choices[] = { "auto", "yes", "no", NULL };

/* The single source of truth for keys, defaults and bounds; conf/migkit.conf
 * documents the same keys and tests/unit/test-config.c checks they agree. */
static const struct key keys[] = {
        { "paths", "instances", K_PATH, OFF(instances_path), "/var/lib/nova/instances", 0, 0, NULL, "an absolute path" },
        { "paths", "state", K_PATH, OFF(state_dir), MIGKIT_STATE_DIR, 0, 0, NULL, "an absolute path" },
        { "paths", "sysfs", K_PATH, OFF(sysfs_root), "/sys", 0, 0, NULL, "an absolute path" },
        { "paths", "dev", K_PATH, OFF(dev_root), "/dev", 0, 0, NULL, "an absolute path" },
        { "paths", "hooks", K_PATH, OFF(hooks_dir), "/etc/libvirt/hooks", 0, 0, NULL, "an absolute path" },
        { "paths", "mountinfo", K_PATH, OFF(mountinfo), "/proc/self/mountinfo", 0, 0, NULL, "an absolute path" },
        { "paths", "run", K_PATH, OFF(run_dir), "/run", 0, 0, NULL, "an absolute path" },
        { "paths", "proc", K_PATH, OFF(proc_root), "/proc", 0, 0, NULL, "an absolute path" },
        { "paths", "libvirt-config", K_PATH, OFF(libvirt_conf_dir), "/etc/libvirt", 0, 0, NULL, "an absolute path" },
        { "paths", "machine-id", K_PATH, OFF(machine_id_file), "/etc/machine-id", 0, 0, NULL, "an absolute path" },

        { "instance", "create", K_ENUM, OFF(instance_dir), "auto", 0, 0, instance_dir_choices, "auto, always or never" },
        { "instance", "owner", K_NAME, OFF(instance_owner), "root", 0, 0, NULL, "a user name or numeric uid" },
        { "instance", "group", K_NAME, OFF(instance_group), "root", 0, 0, NULL, "a group name or numeric gid" },
        { "instance", "mode", K_MODE, OFF(instance_mode), "0755", 0, 07777, NULL, "an octal mode such as 0755" },

        { "bridges", "create", K_BOOL, OFF(create_bridges), "yes", 0, 0, NULL, "yes or no" },
        { "bridges", "allow", K_GLOBS, OFF(bridge_allow), "qbr* brq*", 0, 0, NULL, "shell globs separated by spaces or commas" },
        { "bridges", "mtu", K_UINT, OFF(bridge_mtu), "1500", 68, 65535, NULL, "an MTU from 68 to 65535" },

        { "config-drive", "strip-missing", K_BOOL, OFF(strip_missing), "yes", 0, 0, NULL, "yes or no" },
        { "config-drive", "names", K_GLOBS, OFF(config_drive_names), "disk.config", 0, 0, NULL, "file name globs separated by spaces or commas" },

        { "graphics", "listen", K_ADDR, OFF(graphics_listen), "", 0, 0, NULL,
          "a numeric IPv4 or IPv6 address of this host (or 0.0.0.0), or nothing" },

        { "filesystems", "local", K_LIST, OFF(local_fs_types), LOCAL_FS_DEFAULT,
          0, 0, NULL, "filesystem type names separated by spaces or commas" },

        { "hook", "deadline", K_MS, OFF(hook_deadline_ms), "30s", 1000, 600000, NULL, "a duration from 1s to 600s, such as 30s or 1500ms" },
        { "hook", "max-xml-size", K_SIZE, OFF(max_xml_bytes), "4M", 4, 32768, NULL, "a size from 4K to 32M, such as 4M" },

        { "cleanup", "libvirt-uri", K_STRING, OFF(libvirt_uri), "qemu:///system", 0, 0, NULL, "a libvirt connection URI such as qemu:///system" },
        { "cleanup", "settle", K_MS, OFF(cleanup_settle_ms), "30s", 0, 600000, NULL, "a duration from 0s to 600s, such as 30s" },
        { "cleanup", "retention", K_MS, OFF(quarantine_retention_ms), "1d", 0, 2592000000u, NULL,
          "a duration from 0s to 30d, such as 12h or 7d" },
        { "cleanup", "program", K_PATH, OFF(cleanup_program), MIGKIT_LIBEXECDIR "/migkit-cleanup", 0, 0, NULL, "an absolute path" },
        { "cleanup", "launcher", K_ENUM, OFF(cleanup_launcher), "auto", 0, 0, launcher_choices, "auto, systemd or direct" },
        { "cleanup", "systemctl", K_PATH, OFF(systemctl), "/bin/systemctl", 0, 0, NULL, "an absolute path" },

        { "fc", "rescan", K_BOOL, OFF(fc_rescan), "yes", 0, 0, NULL, "yes or no" },
        { "fc", "wildcard-scan", K_BOOL, OFF(fc_wildcard_scan), "no", 0, 0, NULL, "yes or no" },
        { "fc", "issue-lip", K_BOOL, OFF(fc_issue_lip), "no", 0, 0, NULL, "yes or no" },
        { "fc", "on-missing", K_ENUM, OFF(fc_on_missing), "fail", 0, 0, fc_on_missing_choices, "fail or warn" },
        { "fc", "multipath", K_ENUM, OFF(fc_multipath), "auto", 0, 0, fc_multipath_choices, "auto, yes or no" },
        { "fc", "libmpathcmd", K_STRING, OFF(fc_libmpathcmd), "libmpathcmd.so.0", 0, 0, NULL,
          "a library name such as libmpathcmd.so.0 or an absolute path" },
        { "fc", "disconnect", K_BOOL, OFF(fc_disconnect), "yes", 0, 0, NULL, "yes or no" },
        { "fc", "disconnect-wait", K_MS, OFF(fc_disconnect_wait_ms), "30s", 0, 600000, NULL,
          "a duration from 0s to 600s, such as 30s" },

        { "migrate", "uri", K_STRING, OFF(migrate_uri), "qemu+tls://{dest}/system", 0, 0, NULL,
          "a libvirt URI template such as qemu+tls://{dest}/system" },
        { "migrate", "tls", K_BOOL, OFF(migrate_tls), "yes", 0, 0, NULL, "yes or no" },
        { "migrate", "auto-converge", K_BOOL, OFF(migrate_auto_converge), "yes", 0, 0, NULL, "yes or no" },
        { "migrate", "postcopy", K_BOOL, OFF(migrate_postcopy), "no", 0, 0, NULL, "yes or no" },
        { "migrate", "bandwidth", K_UINT, OFF(migrate_bandwidth), "0", 0, 1000000, NULL, "MiB/s from 0 (unlimited) to 1000000" },
        { "migrate", "downtime", K_MS, OFF(migrate_downtime_ms), "500ms", 0, 60000, NULL,
          "a duration from 0ms (leave libvirt's) to 60s, such as 500ms" },
        { "migrate", "downtime-steps", K_UINT, OFF(migrate_downtime_steps), "10", 1, 100, NULL, "a number from 1 to 100" },
        { "migrate", "downtime-delay", K_MS, OFF(migrate_downtime_delay_ms), "10s", 0, 3600000, NULL,
          "a duration from 0s to 1h, such as 10s" },
        { "migrate", "stall-timeout", K_MS, OFF(migrate_stall_ms), "30s", 0, 86400000, NULL,
          "a duration from 0s (off) to 1d, such as 30s" },
        { "migrate", "completion-timeout", K_MS, OFF(migrate_completion_timeout_ms), "15min", 0, 86400000, NULL,
          "a duration from 0s (none) to 1d, such as 15min" },
        { "migrate", "upload-config-drive", K_BOOL, OFF(migrate_upload), "yes", 0, 0, NULL, "yes or no" },
        { "migrate", "progress-interval", K_MS, OFF(migrate_progress_interval_ms), "2s", 100, 600000, NULL,
          "a duration from 100ms to 600s, such as 2s" },
        { "migrate", "record-dir", K_STRING, OFF(migrate_record_dir), "", 0, 0, NULL,
          "an absolute directory path, or nothing (no records)" },
        { "migrate", "postcopy-bandwidth", K_UINT, OFF(migrate_postcopy_bandwidth), "0", 0, 1000000, NULL,
          "MiB/s from 0 (the same as bandwidth) to 1000000" },
        { "migrate", "postcopy-preempt", K_ENUM, OFF(migrate_postcopy_preempt), "auto", 0, 0, preempt_choices, "auto, yes or no" },
        { "migrate", "sample-dirty-rate", K_BOOL, OFF(migrate_sample_dirty), "yes", 0, 0, NULL, "yes or no" },
        { "migrate", "postcopy-recover", K_MS, OFF(migrate_postcopy_recover_ms), "10min", 0, 86400000, NULL,
          "a duration from 0s (never) to 1d, such as 10min" },
        { "migrate", "parallel-connections", K_UINT, OFF(migrate_parallel), "1", 1, 64, NULL, "a number from 1 to 64" },
        { "migrate", "compression", K_STRING, OFF(migrate_compression), "none", 0, 0, NULL,
          "none, or methods among xbzrle, mt, zlib, zstd" },
        { "migrate", "inbound-address", K_STRING, OFF(migrate_inbound), "", 0, 0, NULL,
          "DEST=ADDRESS pairs and/or a template with {dest}, or nothing" },

        { "limits", "incoming", K_UINT, OFF(limit_incoming), "2", 0, 1000, NULL, "a number from 0 (unlimited) to 1000" },
        { "limits", "outgoing", K_UINT, OFF(limit_outgoing), "2", 0, 1000, NULL, "a number from 0 (unlimited) to 1000" },
        { "limits", "outgoing-wait", K_MS, OFF(limit_outgoing_wait_ms), "1h", 0, 86400000, NULL,
          "a duration from 0s (do not wait) to 1d, such as 1h" },
        { "limits", "stale", K_MS, OFF(limit_stale_ms), "6h", 60000, 604800000, NULL,
          "a duration from 1min to 7d, such as 6h" },

        { "metrics", "textfile", K_OPTPATH, OFF(metrics_textfile), "", 0, 0, NULL,
          "an absolute file path (node_exporter's textfile directory), or nothing (no metrics)" },
};

int parse_bool(const char *s, bool *ret)
{
        static const char *const yes[] = { "1", "yes", "true", "on" }, *const no[] = { "0", "no", "false", "off" };
        for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
                if (strcasecmp(s, yes[i]) == 0)
                        return *ret = true, 0;
                if (strcasecmp(s, no[i]) == 0)
                        return *ret = false, 0;
        }
        return -EINVAL;
}

static int parse_ull(const char *s, int base, unsigned long long *ret, char **end)
{
        if (!*s || *s == '-' || *s == '+' || *s == ' ')
                return -EINVAL;
        errno = 0;
        *ret = strtoull(s, end, base);
        if (errno || *end == s)
                return -EINVAL;
        return 0;
}

int parse_duration(const char *s, unsigned bare_ms, unsigned *ret)
{
        unsigned long long v;
        char *end;
        if (parse_ull(s, 10, &v, &end) < 0 || v > UINT32_MAX)
                return -EINVAL;
        if (streq(end, "ms"))
                ;
        else if (streq(end, ""))
                v *= bare_ms;
        else if (streq(end, "s"))
                v *= 1000;
        else if (streq(end, "m") || streq(end, "min"))
                v *= 60000;
        else if (streq(end, "h"))
                v *= 3600000;
        else if (streq(end, "d"))
                v *= 86400000;
        else
                return -EINVAL;
        if (v > UINT32_MAX)
                return -EINVAL;
        *ret = (unsigned)v;
        return 0;
}

int parse_duration_ms(const char *s, unsigned *ret)
{
        return parse_duration(s, 1000, ret);
}

int parse_size(const char *s, size_t *ret)
{
        unsigned long long v;
        char *end;
        if (parse_ull(s, 10, &v, &end) < 0)
                return -EINVAL;
        if (streq(end, "K") || streq(end, "KiB"))
                v <<= 10;
        else if (streq(end, "M") || streq(end, "MiB"))
                v <<= 20;
        else if (!streq(end, ""))
                return -EINVAL;
        if (v > (1ULL << 40))
                return -EINVAL;
        *ret = (size_t)v;
        return 0;
}

/* The longest line we accept; inih (as Debian builds it) would silently
 * split a longer one. */
#define MAX_LINE 199

struct parse_state {
        struct mk_config *cfg;
        bool seen[ARRAY_SIZE(keys)];
        char *err; /* first error */
        int errno_;
};

static void set_err(struct parse_state *st, int e, const char *fmt, ...) _printf_(3, 4);
static void set_err(struct parse_state *st, int e, const char *fmt, ...)
{
        va_list ap;
        if (st->err)
                return;
        va_start(ap, fmt);
        st->err = strdup_vprintf(fmt, ap);
        va_end(ap);
        st->errno_ = e;
}

/* inih takes ';' or '#' after a blank for the start of a comment, but not
 * right after the '=' or a comma: "allow =;x" or "allow = a,#b" would hold
 * a word that reads as a comment once written back (--dump-config) with a
 * blank before it. Such a word is almost always a value commented out by
 * mistake: refuse it. */
static bool starts_like_comment(const char *s)
{
        return s[0] == ';' || s[0] == '#';
}

/* Stores value into the field described by k. Returns 0 or -EINVAL/-ENOMEM. */
static int set_key(struct mk_config *cfg, const struct key *k, const char *value)
{
        void *f = (char *)cfg + k->offset;
        unsigned long long v;
        char *end;
        int r;

        if (starts_like_comment(value))
                return -EINVAL;
        switch (k->type) {
        case K_PATH:
        case K_OPTPATH: /* or nothing */
                if ((k->type == K_PATH || *value) && !path_is_absolute_normalized(value))
                        return -EINVAL;
                /* fall through */
        case K_ADDR: /* or nothing */
                if (k->type == K_ADDR && *value && listen_kind(value) == LISTEN_NAME)
                        return -EINVAL;
                /* fall through */
        case K_STRING:
        case K_NAME: {
                if (k->type == K_NAME && !name_is_valid_user(value))
                        return -EINVAL;
                char *s = strdup(value);
                if (!s)
                        return -ENOMEM;
                free(*(char **)f);
                *(char **)f = s;
                return 0;
        }
        case K_GLOBS:
        case K_LIST: {
                char **l;
                r = strv_split(&l, value);
                if (r < 0)
                        return r;
                for (size_t i = 0; l[i]; i++)
                        if ((k->type == K_GLOBS && strchr(l[i], '/')) || starts_like_comment(l[i])) {
                                strv_free(l);
                                return -EINVAL;
                        }
                strv_free(*(char ***)f);
                *(char ***)f = l;
                return 0;
        }
        case K_UINT:
        case K_MODE:
                if (parse_ull(value, k->type == K_MODE ? 8 : 10, &v, &end) < 0 || *end || v < k->min || v > k->max)
                        return -EINVAL;
                if (k->type == K_MODE && value[0] != '0')
                        return -EINVAL;
                *(unsigned *)f = (unsigned)v;
                return 0;
        case K_BOOL:
                return parse_bool(value, (bool *)f);
        case K_MS: {
                unsigned ms;
                if (parse_duration_ms(value, &ms) < 0 || ms < k->min || ms > k->max)
                        return -EINVAL;
                *(unsigned *)f = ms;
                return 0;
        }
        case K_SIZE: {
                size_t sz;
                if (parse_size(value, &sz) < 0 || sz < (size_t)k->min << 10 || sz > (size_t)k->max << 10)
                        return -EINVAL;
                *(size_t *)f = sz;
                return 0;
        }
        case K_ENUM:
                for (int i = 0; k->choices[i]; i++)
                        if (streq(k->choices[i], value)) {
                                *(int *)f = i;
                                return 0;
                        }
                return -EINVAL;
        }
        return -EINVAL;
}

/* [filesystems] shared, the deny-list that `local` replaced: still read, so
 * an old file keeps working, and never less careful than it was (each type
 * it lists is taken out of the local list); a note says what changed. */
static int legacy_key(struct parse_state *st, const char *section, const char *name, const char *value)
{
        if (!streq(section, "filesystems") || !streq(name, "shared"))
                return 0;
        if (st->cfg->legacy_shared) {
                set_err(st, EINVAL, "duplicate key '%s' in section [%s]; keep one", name, section);
                return -1;
        }
        char **l;
        if (strv_split(&l, value) < 0) {
                set_err(st, ENOMEM, "out of memory");
                return -1;
        }
        st->cfg->legacy_shared = l;
        for (size_t i = 0; l[i]; i++)
                if (starts_like_comment(l[i])) {
                        set_err(st, EINVAL, "[%s] %s = '%s' is not valid; allowed: filesystem type names separated by "
                                "spaces or commas", section, name, value);
                        return -1;
                }
        return 1;
}

static int apply_legacy(struct mk_config *cfg)
{
        if (!cfg->legacy_shared)
                return 0;
        size_t w = 0;
        for (size_t i = 0; cfg->local_fs_types && cfg->local_fs_types[i]; i++) {
                if (strv_contains(cfg->legacy_shared, cfg->local_fs_types[i]))
                        free(cfg->local_fs_types[i]);
                else
                        cfg->local_fs_types[w++] = cfg->local_fs_types[i];
        }
        if (cfg->local_fs_types)
                cfg->local_fs_types[w] = NULL;
        return strv_push(&cfg->notes, "[filesystems] shared is deprecated: migkit now removes instance directories only "
                                      "on the filesystem types listed in [filesystems] local (every other type counts as "
                                      "shared); the types 'shared' lists are taken out of that list. Replace the key "
                                      "with 'local = ...' (see migkit.conf(5))");
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
        struct parse_state *st = user;

        if (!name) /* section start (INI_CALL_HANDLER_ON_NEW_SECTION builds) */
                return 1;
        int l = legacy_key(st, section, name, value);
        if (l != 0)
                return l > 0;
        for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
                const struct key *k = &keys[i];
                if (!streq(k->section, section) || !streq(k->name, name))
                        continue;
                if (st->seen[i]) {
                        set_err(st, EINVAL, "duplicate key '%s' in section [%s]; keep one", name, section);
                        return 0;
                }
                st->seen[i] = true;
                /* --dump-config writes "key = value": that line must fit too */
                size_t room = MAX_LINE - strlen(name) - 3;
                if (strlen(value) > room) {
                        set_err(st, EINVAL, "[%s] %s: the value is %zu characters long; at most %zu fit on a line", section,
                                name, strlen(value), room);
                        return 0;
                }
                int r = set_key(st->cfg, k, value);
                if (r == -ENOMEM) {
                        set_err(st, ENOMEM, "out of memory");
                        return 0;
                }
                if (r < 0) {
                        set_err(st, EINVAL, "[%s] %s = '%s' is not valid; allowed: %s", section, name, value, k->help);
                        return 0;
                }
                return 1;
        }
        if (!*section)
                set_err(st, EINVAL, "key '%s' is outside any section; put it under its [section]", name);
        else {
                bool known_section = false;
                for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
                        known_section |= streq(keys[i].section, section);
                if (known_section)
                        set_err(st, EINVAL, "unknown key '%s' in section [%s]; see migkit.conf(5) for the keys", name, section);
                else
                        set_err(st, EINVAL, "unknown section [%s] (key '%s'); see migkit.conf(5) for the sections", section, name);
        }
        return 0;
}

int config_defaults(struct mk_config *cfg)
{
        memset(cfg, 0, sizeof(*cfg));
        for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
                int r = set_key(cfg, &keys[i], keys[i].def);
                if (r < 0)
                        return r;
        }
        return 0;
}

#define MAX_CONFIG_BYTES (1 << 20)

/* Only root (or the user running the tool) may be able to change what the
 * file says: it names a library the hook loads and programs run as root. */
static bool owner_trusted(uid_t uid)
{
        return uid == 0 || uid == geteuid();
}

/* The file fd (path as named, sb its fstat) and every directory above it,
 * as the kernel resolved them. 0, or -EPERM after set_err(). */
static int check_trust(int fd, const struct stat *sb, const char *path, struct parse_state *st)
{
        static const char why[] = "it steers migkit, which runs as root";
        char proc[64], real[PATH_MAX];

        if (sb->st_mode & S_IWOTH) {
                set_err(st, EPERM, "%s: refusing a world-writable configuration file; run chmod o-w %s", path, path);
                return -EPERM;
        }
        if (sb->st_mode & S_IWGRP) {
                set_err(st, EPERM, "%s: refusing a configuration file its group can write (%s); run chmod g-w %s", path, why, path);
                return -EPERM;
        }
        if (!owner_trusted(sb->st_uid)) {
                set_err(st, EPERM, "%s: refusing a configuration file owned by uid %u (%s); run chown root %s", path,
                        (unsigned)sb->st_uid, why, path);
                return -EPERM;
        }
        snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
        ssize_t n = readlink(proc, real, sizeof(real) - 1);
        if (n <= 0 || real[0] != '/') {
                if (!realpath(path, real)) {
                        set_err(st, EPERM, "%s: cannot resolve where it is (%s) to check who can change it", path, strerror(errno));
                        return -EPERM;
                }
        } else
                real[n] = 0;
        for (char *slash = strrchr(real, '/'); slash; slash = strrchr(real, '/')) {
                struct stat ds;
                slash[slash == real] = 0; /* "/a/b" -> "/a", "/a" -> "/" */
                int e = lstat(real, &ds) < 0 ? errno : S_ISDIR(ds.st_mode) ? 0 : ENOTDIR;
                if (e) {
                        set_err(st, EPERM, "%s: cannot check its directory %s: %s", path, real, strerror(e));
                        return -EPERM;
                }
                if (!owner_trusted(ds.st_uid)) {
                        set_err(st, EPERM, "%s: refusing it: its directory %s is owned by uid %u (%s); run chown root %s", path,
                                real, (unsigned)ds.st_uid, why, real);
                        return -EPERM;
                }
                if ((ds.st_mode & (S_IWGRP | S_IWOTH)) && !(ds.st_mode & S_ISVTX)) {
                        set_err(st, EPERM, "%s: refusing it: its directory %s is writable by %s (mode %04o; %s); run chmod go-w %s",
                                path, real, ds.st_mode & S_IWOTH ? "everyone" : "its group", (unsigned)(ds.st_mode & 07777), why, real);
                        return -EPERM;
                }
                if (streq(real, "/"))
                        break;
        }
        return 0;
}

int config_load(struct mk_config *cfg, const char *path, char **err)
{
        struct parse_state st = { .cfg = cfg };
        bool explicit = path != NULL;
        _cleanup_free_ char *text = NULL;
        struct stat sb;
        int r;

        if (err)
                *err = NULL;
        if (!path) {
                path = getenv("MIGKIT_CONFIG");
                explicit = path && *path;
                if (!explicit)
                        path = MIGKIT_CONFIG_PATH;
        }
        r = config_defaults(cfg);
        if (r < 0)
                return r;

        /* O_NONBLOCK: a FIFO (or a device) at the path must be refused below,
         * not waited on with libvirt blocked behind the hook; reads of a
         * regular file ignore the flag. */
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0) {
                r = -errno;
                if (r == -ENOENT && !explicit)
                        return 0;
                set_err(&st, -r, "%s: cannot open: %s", path, strerror(-r));
                goto fail;
        }
        if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
                r = -EINVAL;
                set_err(&st, EINVAL, "%s: not a regular file", path);
                goto fail;
        }
        r = check_trust(fd, &sb, path, &st);
        if (r < 0)
                goto fail;
        r = (int)read_full_fd(fd, MAX_CONFIG_BYTES, &text);
        if (r < 0) {
                set_err(&st, -r, "%s: cannot read: %s", path, r == -EFBIG ? "larger than 1 MiB" : strerror(-r));
                goto fail;
        }
        if (memchr(text, 0, (size_t)r)) {
                r = -EINVAL;
                set_err(&st, EINVAL, "%s: contains a NUL byte; not a text file", path);
                goto fail;
        }
        unsigned line = 1;
        for (const char *p = text; *p; line++) {
                size_t len = strcspn(p, "\n");
                if (len > MAX_LINE) {
                        r = -EINVAL;
                        set_err(&st, EINVAL, "%s:%u: line is %zu characters long; at most %d allowed", path, line, len, MAX_LINE);
                        goto fail;
                }
                p += len + (p[len] == '\n');
        }

        cfg->file = strdup(path);
        if (!cfg->file)
                return -ENOMEM;
        r = ini_parse_string(text, handler, &st);
        if (r != 0) {
                _cleanup_free_ char *inner = TAKE_PTR(st.err);
                if (r > 0)
                        set_err(&st, inner ? st.errno_ : EINVAL, "%s:%d: %s", path, r,
                                inner ? inner : "syntax error; expected '[section]' or 'key = value'");
                else
                        set_err(&st, ENOMEM, "%s: %s", path, inner ? inner : "out of memory");
                r = -(st.errno_ ? st.errno_ : EINVAL);
                goto fail;
        }
        r = apply_legacy(cfg);
        if (r < 0) {
                set_err(&st, ENOMEM, "out of memory");
                goto fail;
        }
        return 0;
fail:
        config_free(cfg);
        if (err)
                *err = TAKE_PTR(st.err);
        free(st.err);
        return r;
}

void config_free(struct mk_config *cfg)
{
        free(cfg->file);
        strv_free(cfg->legacy_shared);
        strv_free(cfg->notes);
        for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
                void *f = (char *)cfg + keys[i].offset;
                switch (keys[i].type) {
                case K_PATH:
                case K_OPTPATH:
                case K_ADDR:
                case K_STRING:
                case K_NAME:
                        free(*(char **)f);
                        break;
                case K_GLOBS:
                case K_LIST:
                        strv_free(*(char ***)f);
                        break;
                default:
                        break;
                }
        }
        memset(cfg, 0, sizeof(*cfg));
}

void config_dump(const struct mk_config *cfg, FILE *f)
{
        const char *section = NULL;
        for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
                const struct key *k = &keys[i];
                const void *v = (const char *)cfg + k->offset;
                if (!section || !streq(section, k->section)) {
                        fprintf(f, "%s[%s]\n", section ? "\n" : "", k->section);
                        section = k->section;
                }
                fprintf(f, "%s = ", k->name);
                switch (k->type) {
                case K_PATH:
                case K_OPTPATH:
                case K_ADDR:
                case K_STRING:
                case K_NAME:
                        fprintf(f, "%s\n", *(char *const *)v);
                        break;
                case K_GLOBS:
                case K_LIST: {
                        _cleanup_free_ char *j = strv_join(*(char **const *)v, " ");
                        fprintf(f, "%s\n", j ? j : "");
                        break;
                }
                case K_UINT:
                        fprintf(f, "%u\n", *(const unsigned *)v);
                        break;
                case K_MODE:
                        fprintf(f, "0%03o\n", *(const unsigned *)v); /* 0755, 02750: always the leading 0 the parser wants */
                        break;
                case K_BOOL:
                        fprintf(f, "%s\n", *(const bool *)v ? "yes" : "no");
                        break;
                case K_MS:
                        fprintf(f, "%ums\n", *(const unsigned *)v);
                        break;
                case K_SIZE:
                        fprintf(f, "%zuK\n", *(const size_t *)v >> 10);
                        break;
                case K_ENUM:
                        fprintf(f, "%s\n", k->choices[*(const int *)v]);
                        break;
                }
        }
}
