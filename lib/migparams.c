/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What `migkit migrate` asks libvirt for: the destination URI, the flags
 * and typed parameters of virDomainMigrateToURI3, and the reading of
 * virDomainGetJobStats into a sample. No connection is opened here. */
#include "migrate.h"

#include <ctype.h>
#include <stdarg.h>
#include <libvirt/virterror.h>

#include "converge.h"
#include "util.h"

static bool host_is_valid(const char *h)
{
        if (!*h || strlen(h) > 253 || h[0] == '-')
                return false;
        for (const char *p = h; *p; p++)
                if (!isalnum((unsigned char)*p) && !strchr(".-_:[]", *p))
                        return false;
        return true;
}

int migrate_dest_uri(const char *tmpl, const char *dest, char **ret)
{
        *ret = NULL;
        if (strstr(dest, "://")) {
                *ret = strdup(dest);
                return *ret ? 0 : -ENOMEM;
        }
        if (!host_is_valid(dest) || !strstr(tmpl, "{dest}"))
                return -EINVAL;
        size_t n = 0;
        for (const char *p = strstr(tmpl, "{dest}"); p; p = strstr(p + 6, "{dest}"))
                n++;
        char *s = malloc(strlen(tmpl) + n * strlen(dest) + 1), *o = s;
        if (!s)
                return -ENOMEM;
        for (const char *p = tmpl; *p;) {
                if (strncmp(p, "{dest}", 6) == 0) {
                        o = stpcpy(o, dest);
                        p += 6;
                } else
                        *o++ = *p++;
        }
        *o = 0;
        *ret = s;
        return 0;
}

int migrate_inbound_address(const char *spec, const char *dest, char **ret)
{
        _cleanup_strv_ char **l = NULL;
        const char *tmpl = NULL;
        int r;

        *ret = NULL;
        if (!spec || !*spec)
                return 0;
        if ((r = strv_split(&l, spec)) < 0)
                return r;
        for (size_t i = 0; l[i]; i++) {
                char *eq = strchr(l[i], '=');
                if (!eq) {
                        tmpl = tmpl ? tmpl : l[i];
                        continue;
                }
                *eq = 0;
                if (streq(l[i], dest)) {
                        if (!host_is_valid(eq + 1))
                                return -EINVAL;
                        *ret = strdup(eq + 1);
                        return *ret ? 0 : -ENOMEM;
                }
        }
        if (!tmpl)
                return 0;
        if (!host_is_valid(dest))
                return -EINVAL;
        if ((r = migrate_dest_uri(tmpl, dest, ret)) < 0)
                return r;
        if (!host_is_valid(*ret)) {
                free(*ret);
                *ret = NULL;
                return -EINVAL;
        }
        return 0;
}

bool migrate_uri_is_plain(const char *uri)
{
        const char *e = strstr(uri, "://");
        if (!e)
                return false;
        size_t n = (size_t)(e - uri);
        return (n >= 4 && strncmp(e - 4, "+tcp", 4) == 0) || (n == 3 && strncmp(uri, "tcp", 3) == 0);
}

static const char *const compression_methods[] = { "xbzrle", "mt", "zlib", "zstd", NULL };

int migrate_compression_parse(const char *spec, char ***ret)
{
        _cleanup_strv_ char **l = NULL, **out = NULL;
        int r;

        *ret = NULL;
        if (!spec || !*spec || streq(spec, "none"))
                return 0;
        r = strv_split(&l, spec);
        if (r < 0)
                return r;
        for (size_t i = 0; l[i]; i++) {
                bool known = false;
                for (size_t k = 0; compression_methods[k]; k++)
                        known |= streq(l[i], compression_methods[k]);
                if (!known)
                        return -EINVAL;
                if (!strv_contains(out, l[i]) && strv_push(&out, l[i]) < 0)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(out);
        return 0;
}

bool migrate_want_preempt(int setting, unsigned long src_libvirt, unsigned long dst_libvirt)
{
        if (setting == MIGRATE_PREEMPT_NO)
                return false;
        if (setting == MIGRATE_PREEMPT_YES)
                return true;
        return src_libvirt >= MIGKIT_PREEMPT_LIBVIRT && dst_libvirt >= MIGKIT_PREEMPT_LIBVIRT;
}

char *migrate_flags_string(unsigned long flags)
{
        static const struct { unsigned long flag; const char *name; } names[] = {
                { VIR_MIGRATE_LIVE, "live" },
                { VIR_MIGRATE_PEER2PEER, "peer2peer" },
                { VIR_MIGRATE_TUNNELLED, "tunnelled" },
                { VIR_MIGRATE_PERSIST_DEST, "persist-dest" },
                { VIR_MIGRATE_UNDEFINE_SOURCE, "undefine-source" },
                { VIR_MIGRATE_NON_SHARED_DISK, "copy-storage" },
                { VIR_MIGRATE_NON_SHARED_INC, "copy-storage-inc" },
                { VIR_MIGRATE_COMPRESSED, "compressed" },
                { VIR_MIGRATE_AUTO_CONVERGE, "auto-converge" },
                { VIR_MIGRATE_POSTCOPY, "postcopy" },
                { VIR_MIGRATE_TLS, "tls" },
                { VIR_MIGRATE_PARALLEL, "parallel" },
                { VIR_MIGRATE_POSTCOPY_RESUME, "postcopy-resume" },
                { MIGKIT_MIGRATE_POSTCOPY_PREEMPT, "postcopy-preempt" },
        };
        _cleanup_strv_ char **l = NULL;
        for (size_t i = 0; i < ARRAY_SIZE(names); i++)
                if ((flags & names[i].flag) && strv_push(&l, names[i].name) < 0)
                        return NULL;
        return l ? strv_join(l, ",") : strdup("");
}

/* o's value, or the configuration's when o has none (< 0). */
static unsigned pick(int opt, unsigned cfg)
{
        return opt >= 0 ? (unsigned)opt : cfg;
}

static int add_warning(char ***warn, const char *fmt, ...) _printf_(2, 3);
static int add_warning(char ***warn, const char *fmt, ...)
{
        _cleanup_free_ char *w = NULL;
        va_list ap;
        va_start(ap, fmt);
        int r = vasprintf(&w, fmt, ap);
        va_end(ap);
        if (r < 0 || strv_push(warn, w) < 0)
                return -ENOMEM;
        return 0;
}

static int build_warnings(const struct mk_config *cfg, const struct migrate_opts *o, bool dropped_postcopy, char ***ret)
{
        _cleanup_strv_ char **warn = NULL;
        _cleanup_free_ char *uri = NULL;
        if (migrate_dest_uri(cfg->migrate_uri, o->dest, &uri) == 0 && migrate_uri_is_plain(uri) &&
            add_warning(&warn, "%s is plain TCP: the libvirt connection to the destination is neither encrypted nor "
                               "authenticated; use qemu+tls ([migrate] uri in %s)", uri, cfg->file ? cfg->file : "migkit.conf") < 0)
                return -ENOMEM;
        if (!o->tunnelled && !cfg->migrate_tls &&
            strv_push(&warn, "the migration stream (the guest's memory) is not encrypted ([migrate] tls = no)") < 0)
                return -ENOMEM;
        if (dropped_postcopy &&
            strv_push(&warn, "post-copy is off for this migration: QEMU cannot combine it with parallel connections") < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(warn);
        return 0;
}

int migrate_build(const struct mk_config *cfg, const struct migrate_opts *o, unsigned long *ret_flags,
                  virTypedParameterPtr *ret_params, int *ret_nparams, char ***warnings)
{
        virTypedParameterPtr params = NULL;
        int n = 0, maxp = 0;
        unsigned long flags = VIR_MIGRATE_LIVE | VIR_MIGRATE_PEER2PEER | VIR_MIGRATE_PERSIST_DEST;
        bool ac = o->auto_converge < 0 ? cfg->migrate_auto_converge : o->auto_converge;
        bool pc = o->postcopy < 0 ? cfg->migrate_postcopy : o->postcopy, dropped_postcopy = false;
        unsigned bw = pick(o->bandwidth, cfg->migrate_bandwidth);
        unsigned pbw = pick(o->postcopy_bandwidth, cfg->migrate_postcopy_bandwidth);
        unsigned parallel = o->parallel ? o->parallel : cfg->migrate_parallel;
        _cleanup_strv_ char **methods = NULL;
        _cleanup_free_ char *inbound = NULL, *stream_uri = NULL;

        if (migrate_compression_parse(o->compression ? o->compression : cfg->migrate_compression, &methods) < 0)
                return -EINVAL;
        if (o->dest && !strstr(o->dest, "://") && migrate_inbound_address(cfg->migrate_inbound, o->dest, &inbound) < 0)
                return -EINVAL;
        /* an IPv6 address goes into brackets in a URI */
        if (inbound && asprintf(&stream_uri, strchr(inbound, ':') && inbound[0] != '[' ? "tcp://[%s]" : "tcp://%s", inbound) < 0)
                return -ENOMEM;
        /* the typed-parameter helpers use libvirt's error state, which only
         * virInitialize (or opening a connection) sets up */
        if (virInitialize() < 0)
                return -EIO;
        if (!o->keep_source)
                flags |= VIR_MIGRATE_UNDEFINE_SOURCE;
        if (o->tunnelled)
                flags |= VIR_MIGRATE_TUNNELLED; /* the stream goes through the libvirt connection */
        else if (cfg->migrate_tls)
                flags |= VIR_MIGRATE_TLS;
        if (ac)
                flags |= VIR_MIGRATE_AUTO_CONVERGE;
        if (pc && parallel > 1) {
                /* QEMU (7.2 and later) refuses post-copy with multifd */
                pc = false;
                dropped_postcopy = true;
        }
        if (pc)
                flags |= VIR_MIGRATE_POSTCOPY;
        if (o->compress || methods)
                flags |= VIR_MIGRATE_COMPRESSED;
        if (o->copy_disks && o->copy_disks[0])
                flags |= o->copy_incremental ? VIR_MIGRATE_NON_SHARED_INC : VIR_MIGRATE_NON_SHARED_DISK;
        if (parallel > 1)
                flags |= VIR_MIGRATE_PARALLEL;

        if (bw > 0 && virTypedParamsAddULLong(&params, &n, &maxp, VIR_MIGRATE_PARAM_BANDWIDTH, bw) < 0)
                goto oom;
        /* QEMU sends post-copy at full speed unless told: the cap holds there too */
        if (pc && (pbw ? pbw : bw) > 0 &&
            virTypedParamsAddULLong(&params, &n, &maxp, VIR_MIGRATE_PARAM_BANDWIDTH_POSTCOPY, pbw ? pbw : bw) < 0)
                goto oom;
        for (size_t i = 0; methods && methods[i]; i++)
                if (virTypedParamsAddString(&params, &n, &maxp, VIR_MIGRATE_PARAM_COMPRESSION, methods[i]) < 0)
                        goto oom;
        for (size_t i = 0; o->copy_disks && o->copy_disks[i]; i++)
                if (virTypedParamsAddString(&params, &n, &maxp, VIR_MIGRATE_PARAM_MIGRATE_DISKS, o->copy_disks[i]) < 0)
                        goto oom;
        if (parallel > 1 && virTypedParamsAddInt(&params, &n, &maxp, VIR_MIGRATE_PARAM_PARALLEL_CONNECTIONS, (int)parallel) < 0)
                goto oom;
        if (o->dest_xml && virTypedParamsAddString(&params, &n, &maxp, VIR_MIGRATE_PARAM_DEST_XML, o->dest_xml) < 0)
                goto oom;
        /* a tunnelled stream goes through the libvirt connection: no address of its own */
        if (stream_uri && !o->tunnelled &&
            (virTypedParamsAddString(&params, &n, &maxp, VIR_MIGRATE_PARAM_URI, stream_uri) < 0 ||
             ((flags & (VIR_MIGRATE_NON_SHARED_DISK | VIR_MIGRATE_NON_SHARED_INC)) &&
              virTypedParamsAddString(&params, &n, &maxp, VIR_MIGRATE_PARAM_DISKS_URI, stream_uri) < 0)))
                goto oom;
        if (warnings && build_warnings(cfg, o, dropped_postcopy, warnings) < 0)
                goto oom;
        *ret_flags = flags;
        *ret_params = params;
        *ret_nparams = n;
        return 0;
oom:
        virTypedParamsFree(params, n);
        return -ENOMEM;
}

void migrate_sample_from_params(const virTypedParameter *cparams, int n, struct mig_sample *s)
{
        virTypedParameterPtr params = (virTypedParameterPtr)cparams;
        unsigned long long dirty = 0, page = 4096, reqs = 0;
        memset(s, 0, sizeof(*s));
        virTypedParamsGetULLong(params, n, VIR_DOMAIN_JOB_TIME_ELAPSED, &s->elapsed_ms);
        virTypedParamsGetULLong(params, n, VIR_DOMAIN_JOB_DATA_TOTAL, &s->data_total);
        virTypedParamsGetULLong(params, n, VIR_DOMAIN_JOB_DATA_PROCESSED, &s->data_processed);
        virTypedParamsGetULLong(params, n, VIR_DOMAIN_JOB_DATA_REMAINING, &s->data_remaining);
        virTypedParamsGetULLong(params, n, VIR_DOMAIN_JOB_MEMORY_TOTAL, &s->mem_total);
        virTypedParamsGetULLong(params, n, VIR_DOMAIN_JOB_MEMORY_PROCESSED, &s->mem_processed);
        virTypedParamsGetULLong(params, n, VIR_DOMAIN_JOB_MEMORY_REMAINING, &s->mem_remaining);
        virTypedParamsGetULLong(params, n, VIR_DOMAIN_JOB_MEMORY_BPS, &s->mem_bps);
        virTypedParamsGetULLong(params, n, VIR_DOMAIN_JOB_MEMORY_ITERATION, &s->iteration);
        virTypedParamsGetULLong(params, n, VIR_DOMAIN_JOB_MEMORY_PAGE_SIZE, &page);
        if (virTypedParamsGetULLong(params, n, VIR_DOMAIN_JOB_MEMORY_DIRTY_RATE, &dirty) == 1)
                s->dirty_bps = dirty * (page ? page : 4096);
        if (virTypedParamsGetULLong(params, n, VIR_DOMAIN_JOB_MEMORY_POSTCOPY_REQS, &reqs) == 1 && reqs > 0)
                s->postcopy = true;
}
