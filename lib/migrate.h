/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* `migkit migrate`: one live migration through the libvirt C API.
 * virDomainMigrateToURI3 (peer-to-peer, live, persistent on the destination,
 * undefined on the source) runs in a thread of its own while the calling
 * thread polls virDomainGetJobStats (and wakes up at libvirt's
 * migration-iteration event, the end of each memory pass), shows progress
 * (migout.h), keeps the flight record (record.h) and applies the
 * convergence policy (converge.h). An abort request (SIGINT/SIGTERM in the
 * tool: migrate_request_abort()) becomes virDomainAbortJob; the guest keeps
 * running on the source. A post-copy whose connection breaks is resumed
 * (VIR_MIGRATE_POSTCOPY_RESUME) for up to [migrate] postcopy-recover. After
 * success the guest is looked up on the destination by UUID and must be
 * running there; only then is a `migrated` proof recorded (by "driver") and
 * `migkit-cleanup source UUID` started. Messages for the operator go through
 * log.h; progress to opts->out.
 *
 * The run is three steps with one cleanup path: setup (connections,
 * preflight, outgoing slot, parameters, config-drive upload, record), the
 * monitor (samples, policy, abort requests) and finish (recovery, verdict,
 * downtime, cleanup hand-over). */
#pragma once

#include <stdbool.h>
#include <stdio.h>

#include <libvirt/libvirt.h>

#include "config.h"
#include "exitcode.h"

enum migrate_output {
        MIGRATE_OUT_AUTO,   /* a bar on a terminal, lines otherwise */
        MIGRATE_OUT_LINES,
        MIGRATE_OUT_JSON,
        MIGRATE_OUT_QUIET,
};

struct migrate_opts {
        const char *domain;        /* name or UUID on this host */
        const char *dest;          /* host name (put into [migrate] uri) or a URI */
        const char *source_uri;    /* this host's libvirt; NULL: [cleanup] libvirt-uri */
        bool tunnelled;            /* VIR_MIGRATE_TUNNELLED */
        int auto_converge;         /* -1: [migrate] auto-converge */
        int postcopy;              /* -1: [migrate] postcopy */
        bool compress;             /* VIR_MIGRATE_COMPRESSED */
        char **copy_disks;         /* targets always copied with the migration (--copy-storage) */
        bool no_copy_storage;      /* copy no disk: a local one refuses the migration (blockmig.h) */
        bool copy_incremental;     /* for migrate_build: a copied disk is on a backing file (NON_SHARED_INC) */
        unsigned parallel;         /* parallel connections, 0: [migrate] parallel-connections */
        const char *compression;   /* "none" or methods (xbzrle, mt, zlib, zstd); NULL: [migrate] compression */
        int bandwidth;             /* MiB/s, -1: [migrate] bandwidth, 0: unlimited */
        int postcopy_bandwidth;    /* MiB/s in post-copy, -1: [migrate] postcopy-bandwidth, 0: bandwidth's */
        const char *record;        /* flight record file; NULL: one in [migrate] record-dir, if set */
        int max_downtime_ms;       /* -1: [migrate] downtime */
        int completion_timeout_ms; /* -1: [migrate] completion-timeout */
        int stall_ms;              /* -1: [migrate] stall-timeout */
        const char *dest_xml;      /* the domain XML to use on the destination, or NULL */
        bool keep_source;          /* leave the definition on the source */
        bool no_preflight;
        bool no_cleanup;           /* do not hand the source cleanup over */
        int upload;                /* -1: [migrate] upload-config-drive */
        int output;                /* enum migrate_output */
        FILE *out;                 /* progress, NULL: stdout */
        unsigned interval_ms;      /* 0: [migrate] progress-interval */
};

enum migrate_status {
        MIGRATE_OK,
        MIGRATE_REFUSED,   /* preflight said no, or the domain is unknown */
        MIGRATE_FAILED,    /* libvirt failed it, or the policy aborted it */
        MIGRATE_ABORTED,   /* aborted on request (signal) */
        MIGRATE_ERROR,     /* could not even ask: this host's libvirt unreachable (exit 1,
                              not a refusal: nothing was checked) */
};

struct migrate_result {
        int status;                /* enum migrate_status */
        char *name, *uuid;         /* of the domain, when it was found */
        char *dest_uri;
        char *error;               /* libvirt's message or migkit's reason */
        char *after;               /* what is where afterwards ("guest still running on the source; ...") */
        unsigned long long elapsed_ms;
        long long downtime_ms;     /* measured by QEMU, -1 if unknown */
        bool postcopy;             /* finished through post-copy */
        bool recovered;            /* a broken post-copy was resumed */
        long long job_elapsed_ms;  /* libvirt's time of the job (job-completed event), -1 if unknown */
        char *record;              /* the flight record written, NULL if none */
        bool policy_abort;         /* aborted at the completion timeout */
        long long abort_latency_ms; /* request to job end, -1 if none */
        bool verified;             /* seen running on the destination */
        bool cleanup_started;
};

/* The exit code (exitcode.h) for a result status. */
int migrate_exit_code(int status);

/* Builds the destination URI: dest itself if it contains "://", otherwise
 * tmpl with every "{dest}" replaced by dest (a host name: letters, digits,
 * '.', '-', '_', ':' and brackets for IPv6). Returns 0, -EINVAL (bad host
 * name, or a template without {dest}) or -ENOMEM. */
int migrate_dest_uri(const char *tmpl, const char *dest, char **ret);

/* The address DEST receives migration streams on, from [migrate]
 * inbound-address spec (Nova's live_migration_inbound_addr, set here per
 * destination): words separated by commas or spaces, each DEST=ADDRESS
 * (the first for dest wins) or a template with {dest} (used when no pair
 * names dest). *ret NULL: none (libvirt uses the destination's host name).
 * Returns 0, -EINVAL (a resulting address that is not a host name or IP
 * address) or -ENOMEM. */
int migrate_inbound_address(const char *spec, const char *dest, char **ret);

/* Adds to pf the checks of the network from here to dest (a host name or
 * URI; uri: its destination URI; dst: a connection to its libvirt, or
 * NULL): its name resolved here and its migration ports probed at the
 * address the migration stream goes to ([migrate] inbound-address for
 * dest, else the host name dst gives, else dest's), as netcheck_run()
 * does; a FAIL "resolve inbound" for an inbound-address that gives no
 * valid address. Returns 0 or -ENOMEM. */
struct preflight;
int migrate_check_network(const struct mk_config *cfg, const char *dest, const char *uri, virConnectPtr dst,
                          struct preflight *pf);

/* True if uri's transport sends in clear text (qemu+tcp://, tcp://). */
bool migrate_uri_is_plain(const char *uri);

/* The flags and typed parameters of virDomainMigrateToURI3 for o and cfg.
 * With post-copy allowed, the post-copy phase gets the bandwidth cap too
 * (postcopy-bandwidth, else bandwidth); post-copy is dropped (with a
 * warning) when parallel connections are asked for. With an inbound
 * address for o->dest, the migration stream (and the disks' NBD stream)
 * go to tcp://ADDRESS. warnings (optional)
 * receives a strv of things the operator should know (plain TCP, no TLS
 * for the stream). Returns 0, -EINVAL (unknown compression method) or
 * -ENOMEM. The post-copy preempt flag is the caller's (it needs both
 * libvirt versions: migrate_want_preempt). -EINVAL also for a bad
 * inbound address. */
int migrate_build(const struct mk_config *cfg, const struct migrate_opts *o, unsigned long *ret_flags,
                  virTypedParameterPtr *ret_params, int *ret_nparams, char ***warnings);

/* Asks every running migrate_run() of this process to abort its job.
 * Async-signal-safe. */
void migrate_request_abort(void);
bool migrate_abort_requested(void);

/* Runs one migration as described above. Returns 0 with *res filled
 * (migrate_result_free() it) whatever the outcome, or -errno when it could
 * not even try (out of memory, thread creation). */
int migrate_run(const struct mk_config *cfg, const struct migrate_opts *o, struct migrate_result *res);

void migrate_result_free(struct migrate_result *r);

/* `migkit check`: opens this host's libvirt (source_uri, NULL: [cleanup]
 * libvirt-uri) and DEST's, runs the preflight checks of domain and prints
 * them to f, as lines or (json) one JSON object; copy_disks and
 * no_copy_storage as in struct migrate_opts. Returns the number of
 * failed checks (an unknown domain or an unreachable destination count as
 * one, with their message), or -errno: -ENOTCONN when this host's libvirt
 * cannot be reached (logged here: nothing was checked), -ENOMEM. */
int migrate_check(const struct mk_config *cfg, const char *domain, const char *dest, const char *source_uri,
                  char *const *copy_disks, bool no_copy_storage, bool json, FILE *f);

/* libvirt >= 10.0 has VIR_MIGRATE_POSTCOPY_PREEMPT; older headers lack the
 * name but a newer daemon still takes the bit (flag values never change). */
#define MIGKIT_PREEMPT_LIBVIRT 10000000UL
#if LIBVIR_CHECK_VERSION(10, 0, 0)
#define MIGKIT_MIGRATE_POSTCOPY_PREEMPT VIR_MIGRATE_POSTCOPY_PREEMPT
#else
#define MIGKIT_MIGRATE_POSTCOPY_PREEMPT (1UL << 21)
#endif

/* Whether to ask for the post-copy preempt channel: setting is enum
 * migrate_preempt; auto when both libvirt daemons (virConnectGetLibVersion)
 * are >= 10.0. */
bool migrate_want_preempt(int setting, unsigned long src_libvirt, unsigned long dst_libvirt);

/* Splits a compression setting ("none", or methods separated by commas or
 * spaces among xbzrle, mt, zlib, zstd) into a strv (NULL for none). Returns
 * 0, -EINVAL for an unknown method, or -ENOMEM. */
int migrate_compression_parse(const char *spec, char ***ret);

/* "live,peer2peer,..." for the flags of a job, NULL on ENOMEM. */
char *migrate_flags_string(unsigned long flags);

/* Fills a mig_sample from virDomainGetJobStats parameters. */
struct mig_sample;
void migrate_sample_from_params(const virTypedParameter *params, int n, struct mig_sample *s);
