/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* migkit.conf: an INI file read with inih. Every host path is a key so the
 * tools can run against temporary roots in tests. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#ifndef MIGKIT_CONFIG_PATH
#define MIGKIT_CONFIG_PATH "/etc/migkit/migkit.conf"
#endif
#ifndef MIGKIT_LIBEXECDIR
#define MIGKIT_LIBEXECDIR "/usr/libexec/migkit"
#endif
#ifndef MIGKIT_STATE_DIR
#define MIGKIT_STATE_DIR "/var/lib/migkit"
#endif

/* [filesystems] local by default: filesystem types that only ever belong to
 * one host. overlay is one: its upper layer must be a local filesystem (the
 * kernel refuses NFS there). Every other type counts as shared. */
#define LOCAL_FS_DEFAULT "ext2 ext3 ext4 xfs btrfs f2fs zfs jfs bcachefs tmpfs overlay"

enum instance_dir_policy {
        INSTANCE_DIR_AUTO,   /* create when the domain references files in it */
        INSTANCE_DIR_ALWAYS, /* create for every incoming domain */
        INSTANCE_DIR_NEVER,
};

/* How the hook and migkit-watch start migkit-cleanup ([cleanup] launcher). */
enum cleanup_launcher {
        LAUNCHER_AUTO,    /* systemd when it runs (<run>/systemd/system exists), else direct */
        LAUNCHER_SYSTEMD, /* systemctl start --no-block migkit-cleanup@<action>-<uuid>.service */
        LAUNCHER_DIRECT,  /* a fully detached migkit-cleanup process */
};

enum fc_on_missing { FC_ON_MISSING_FAIL, FC_ON_MISSING_WARN };
enum fc_multipath_policy {
        FC_MULTIPATH_AUTO, /* ask multipathd for maps that a disk's source names */
        FC_MULTIPATH_YES,  /* also for wwn-/scsi- sources; a missing libmpathcmd is an error */
        FC_MULTIPATH_NO,   /* never talk to multipathd */
};
enum migrate_preempt { MIGRATE_PREEMPT_AUTO, MIGRATE_PREEMPT_YES, MIGRATE_PREEMPT_NO };

struct mk_config {
        char *file;              /* where it was read from, NULL for built-in defaults */

        /* [paths] */
        char *instances_path;
        char *state_dir;
        char *sysfs_root;
        char *dev_root;
        char *hooks_dir;
        char *mountinfo;
        char *run_dir;           /* /run: <run>/systemd/system tells that systemd runs */
        char *proc_root;         /* /proc: which processes have a device open */
        char *libvirt_conf_dir;  /* /etc/libvirt: libvirtd.conf / virtqemud.conf (host_uuid) */
        char *machine_id_file;   /* /etc/machine-id: the host id when libvirt has no host_uuid */

        /* [instance] */
        int instance_dir;        /* enum instance_dir_policy */
        char *instance_owner;
        char *instance_group;
        unsigned instance_mode;

        /* [bridges] */
        bool create_bridges;
        char **bridge_allow;
        unsigned bridge_mtu;

        /* [config-drive] */
        bool strip_missing;
        char **config_drive_names;

        /* [graphics] */
        char *graphics_listen;   /* numeric address for listens missing on this host, "" = refuse such a migration */

        /* [filesystems] */
        char **local_fs_types;   /* allow-list: every other type counts as shared */
        char **legacy_shared;    /* the deprecated `shared` key, taken out of local_fs_types */

        /* [hook] */
        unsigned hook_deadline_ms;
        size_t max_xml_bytes;

        /* [cleanup] */
        char *libvirt_uri;
        unsigned cleanup_settle_ms;
        unsigned quarantine_retention_ms;
        char *cleanup_program;   /* what the hook runs, detached */
        int cleanup_launcher;    /* enum cleanup_launcher */
        char *systemctl;

        /* [fc] */
        bool fc_rescan;          /* rescan for missing block disks at migrate begin */
        bool fc_wildcard_scan;   /* "- - L" when the target WWPN is unknown */
        bool fc_issue_lip;
        int fc_on_missing;       /* enum fc_on_missing */
        int fc_multipath;        /* enum fc_multipath_policy */
        char *fc_libmpathcmd;    /* dlopen() name or path of libmpathcmd */
        bool fc_disconnect;      /* remove a migrated-away guest's LUNs, and a failed incoming one's new paths */
        unsigned fc_disconnect_wait_ms; /* how long removed paths may take to go */

        /* [migrate] (migkit migrate, check, evacuate) */
        char *migrate_uri;             /* destination URI template, {dest} = host */
        bool migrate_tls;              /* VIR_MIGRATE_TLS for the migration stream */
        bool migrate_auto_converge;    /* VIR_MIGRATE_AUTO_CONVERGE by default */
        bool migrate_postcopy;         /* VIR_MIGRATE_POSTCOPY by default (switch allowed) */
        bool migrate_upload;           /* copy local config-drive ISOs to the destination first */
        unsigned migrate_bandwidth;    /* MiB/s, 0: unlimited */
        unsigned migrate_downtime_ms;  /* largest allowed downtime the policy reaches */
        unsigned migrate_downtime_steps;
        unsigned migrate_downtime_delay_ms;
        unsigned migrate_stall_ms;     /* 0: no stall detection */
        unsigned migrate_completion_timeout_ms; /* 0: none */
        unsigned migrate_progress_interval_ms;  /* plain lines and JSON */
        char *migrate_record_dir;      /* a flight record of each migration there, "": none */
        unsigned migrate_postcopy_bandwidth; /* MiB/s once in post-copy, 0: bandwidth's */
        int migrate_postcopy_preempt;  /* enum migrate_preempt */
        unsigned migrate_postcopy_recover_ms; /* retrying a broken post-copy this long, 0: not at all */
        bool migrate_sample_dirty;     /* QEMU samples the dirty rate before a job that may switch to post-copy */
        unsigned migrate_parallel;     /* migration streams (multifd) */
        char *migrate_compression;     /* "none" or methods (migrate.h) */
        char *migrate_inbound;         /* the destinations' migration addresses: DEST=ADDR..., a {dest} template, "" */

        /* [limits] (limit.h) */
        unsigned limit_incoming;       /* concurrent incoming migrations, 0: unlimited */
        unsigned limit_outgoing;       /* concurrent outgoing migrations, 0: unlimited */
        unsigned limit_outgoing_wait_ms; /* how long migkit migrate waits for a slot */
        unsigned limit_stale_ms;       /* an incoming record older than this no longer counts */

        /* [metrics] (metrics.h) */
        char *metrics_textfile;        /* node_exporter textfile, "": none */

        char **notes;            /* what the file does that still works but should change
                                    (a deprecated key), one line each; NULL if none */
};

/* Fills cfg with the built-in defaults. Returns 0 or -ENOMEM. */
int config_defaults(struct mk_config *cfg);

/* Reads the configuration.
 * path: the file; NULL means $MIGKIT_CONFIG, else MIGKIT_CONFIG_PATH. A
 * missing default file is not an error (defaults apply); a missing file that
 * was named explicitly is. The file names programs and libraries that run
 * as root: it is refused (-EPERM) unless it and every directory above it
 * belong to root (or to the user running the tool) and are not writable by
 * group or others (a directory with the sticky bit, such as /tmp, may be).
 * On error returns -errno and, if err is not NULL, a malloc'ed one-line
 * message naming file, line, key and what is allowed, and cfg is left
 * empty (config_free() on it is harmless). */
int config_load(struct mk_config *cfg, const char *path, char **err);

void config_free(struct mk_config *cfg);

/* Writes the effective configuration as INI text to f. */
void config_dump(const struct mk_config *cfg, FILE *f);

/* Parsers shared with tests: 0 or -EINVAL. */
/* A duration: a whole number with a unit, ms, s, m or min, h, d; a bare
 * number counts bare_ms milliseconds each (1000: seconds, as the
 * configuration file has it; 1: milliseconds). *ret in ms, at most
 * UINT32_MAX. The one parser of the configuration and every option. */
int parse_duration(const char *s, unsigned bare_ms, unsigned *ret);
/* parse_duration(s, 1000, ret): a bare number is seconds. */
int parse_duration_ms(const char *s, unsigned *ret);
int parse_size(const char *s, size_t *ret);
int parse_bool(const char *s, bool *ret);
