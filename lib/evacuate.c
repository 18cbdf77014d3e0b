/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "evacuate.h"

#include <pthread.h>
#include <signal.h>
#include <libvirt/virterror.h>

#include "limit.h"
#include "log.h"
#include "util.h"

struct shared {
        const struct mk_config *cfg;
        const struct migrate_opts *base;
        char *const *dests;
        unsigned long long *free_mem;  /* per destination, bytes, minus what is under way */
        struct evacuate_item *items;
        unsigned long long *need;      /* per item */
        size_t n, next;
        uint64_t t0;
        pthread_mutex_t lock;
};

static void *worker(void *arg)
{
        struct shared *sh = arg;
        for (;;) {
                /* [limits] outgoing: the slot first, so START is when the
                 * migration really starts (migrate_run() nests in it). */
                int slot = -1;
                _cleanup_free_ char *slot_err = NULL;
                int q = limit_outgoing_acquire(sh->cfg, "evacuate", migrate_abort_requested, NULL, &slot, &slot_err);
                if (q == -ECANCELED)
                        return NULL;
                pthread_mutex_lock(&sh->lock);
                if (sh->next >= sh->n || migrate_abort_requested()) {
                        pthread_mutex_unlock(&sh->lock);
                        limit_outgoing_release(&slot);
                        return NULL;
                }
                size_t i = sh->next++, best = 0;
                for (size_t d = 1; sh->dests[d]; d++)
                        if (sh->free_mem[d] > sh->free_mem[best])
                                best = d;
                sh->free_mem[best] = sh->free_mem[best] > sh->need[i] ? sh->free_mem[best] - sh->need[i] : 0;
                struct evacuate_item *it = &sh->items[i];
                it->dest = strdup(sh->dests[best]);
                it->started = true;
                it->start_ms = now_ms() - sh->t0;
                pthread_mutex_unlock(&sh->lock);

                struct migrate_opts o = *sh->base;
                o.domain = it->name;
                o.dest = sh->dests[best];
                if (q < 0) {
                        it->res.status = MIGRATE_REFUSED;
                        it->res.name = strdup(it->name);
                        it->res.downtime_ms = -1;
                        it->res.error = TAKE_PTR(slot_err);
                } else if (migrate_run(sh->cfg, &o, &it->res) < 0) {
                        it->res.status = MIGRATE_FAILED;
                        it->res.error = strdup("could not run the migration (out of resources)");
                }
                it->end_ms = now_ms() - sh->t0;
                limit_outgoing_release(&slot);
        }
}

static unsigned long long dest_free(const struct mk_config *cfg, const char *dest)
{
        _cleanup_free_ char *uri = NULL;
        if (migrate_dest_uri(cfg->migrate_uri, dest, &uri) < 0)
                return 0;
        virConnectPtr c = virConnectOpen(uri);
        if (!c)
                return 0;
        unsigned long long m = virNodeGetFreeMemory(c);
        virConnectClose(c);
        return m;
}

int evacuate_run(const struct mk_config *cfg, const struct migrate_opts *base, char *const *dests, unsigned parallel,
                 struct evacuate_item **ret_items, size_t *ret_n)
{
        const char *src_uri = base->source_uri ? base->source_uri : cfg->libvirt_uri;
        virDomainPtr *doms = NULL;
        int r;

        *ret_items = NULL;
        *ret_n = 0;
        virConnectPtr src = virConnectOpen(src_uri);
        if (!src)
                return log_error_errno(-ECONNREFUSED, "cannot connect to this host's libvirt at %s: %s", src_uri, virGetLastErrorMessage());
        int nd = virConnectListAllDomains(src, &doms, VIR_CONNECT_LIST_DOMAINS_RUNNING);
        if (nd < 0) {
                r = log_error_errno(-EIO, "cannot list the running domains at %s: %s", src_uri, virGetLastErrorMessage());
                virConnectClose(src);
                return r;
        }
        size_t nds = strv_length(dests);
        struct shared sh = { .cfg = cfg, .base = base, .dests = dests, .n = (size_t)nd, .t0 = now_ms(),
                             .items = calloc((size_t)nd + 1, sizeof(struct evacuate_item)),
                             .need = calloc((size_t)nd + 1, sizeof(unsigned long long)),
                             .free_mem = calloc(nds + 1, sizeof(unsigned long long)) };
        pthread_mutex_init(&sh.lock, NULL);
        r = 0;
        if (!sh.items || !sh.need || !sh.free_mem)
                r = -ENOMEM;
        for (int i = 0; i < nd; i++) {
                if (r == 0) {
                        sh.items[i].name = strdup(virDomainGetName(doms[i]));
                        sh.need[i] = (unsigned long long)virDomainGetMaxMemory(doms[i]) * 1024;
                        if (!sh.items[i].name)
                                r = -ENOMEM;
                }
                virDomainFree(doms[i]);
        }
        free(doms);
        virConnectClose(src);
        if (r < 0)
                goto out;
        for (size_t d = 0; d < nds; d++)
                sh.free_mem[d] = dest_free(cfg, dests[d]);

        if (parallel < 1)
                parallel = 1;
        if (cfg->limit_outgoing && parallel > cfg->limit_outgoing) {
                log_info("--parallel %u: at most %u at once ([limits] outgoing)", parallel, cfg->limit_outgoing);
                parallel = cfg->limit_outgoing;
        }
        if (parallel > (unsigned)nd)
                parallel = nd ? (unsigned)nd : 1;
        pthread_t *th = calloc(parallel, sizeof(*th));
        if (!th) {
                r = -ENOMEM;
                goto out;
        }
        unsigned started = 0;
        sigset_t block, old;
        sigemptyset(&block);
        sigaddset(&block, SIGINT);
        sigaddset(&block, SIGTERM);
        pthread_sigmask(SIG_BLOCK, &block, &old);
        for (unsigned i = 0; i < parallel && nd > 0; i++)
                if (pthread_create(&th[i], NULL, worker, &sh) == 0)
                        started++;
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (started == 0 && nd > 0)
                worker(&sh);
        for (unsigned i = 0; i < started; i++)
                pthread_join(th[i], NULL);
        free(th);
        for (size_t i = 0; i < sh.n; i++)
                if (!sh.items[i].started || sh.items[i].res.status != MIGRATE_OK)
                        r++;
out:
        pthread_mutex_destroy(&sh.lock);
        free(sh.need);
        free(sh.free_mem);
        if (r < 0) {
                evacuate_free(sh.items, sh.n);
                return r;
        }
        *ret_items = sh.items;
        *ret_n = sh.n;
        return r;
}

static const char *status_word(const struct evacuate_item *it)
{
        if (!it->started)
                return "not-started";
        switch (it->res.status) {
        case MIGRATE_OK: return "migrated";
        case MIGRATE_REFUSED: return "refused";
        case MIGRATE_ABORTED: return "aborted";
        case MIGRATE_ERROR: return "error";
        default: return "failed";
        }
}

void evacuate_print(const struct evacuate_item *items, size_t n, FILE *f)
{
        size_t ok = 0;
        fprintf(f, "%-24s %-16s %-11s %7s %7s %8s %9s  %s\n", "DOMAIN", "DESTINATION", "RESULT", "START", "END", "TIME", "DOWNTIME",
                "DETAIL");
        for (size_t i = 0; i < n; i++) {
                const struct evacuate_item *it = &items[i];
                char t[32] = "-", dt[32] = "-", st[32] = "-", en[32] = "-";
                if (it->started) {
                        snprintf(t, sizeof(t), "%.1fs", it->res.elapsed_ms / 1000.0);
                        snprintf(st, sizeof(st), "+%.1fs", it->start_ms / 1000.0);
                        snprintf(en, sizeof(en), "+%.1fs", it->end_ms / 1000.0);
                }
                if (it->res.downtime_ms >= 0 && it->res.status == MIGRATE_OK)
                        snprintf(dt, sizeof(dt), "%lldms", it->res.downtime_ms);
                const char *detail = it->res.status == MIGRATE_OK ? (it->res.postcopy ? "post-copy" : "")
                                                                  : it->res.error ? it->res.error : "";
                fprintf(f, "%-24s %-16s %-11s %7s %7s %8s %9s  %s\n", it->name, it->dest ? it->dest : "-", status_word(it), st, en, t,
                        dt, detail);
                ok += it->started && it->res.status == MIGRATE_OK;
        }
        fprintf(f, "%zu of %zu guests migrated\n", ok, n);
}

void evacuate_free(struct evacuate_item *items, size_t n)
{
        for (size_t i = 0; items && i < n; i++) {
                free(items[i].name);
                free(items[i].dest);
                migrate_result_free(&items[i].res);
        }
        free(items);
}
