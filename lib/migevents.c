/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "migevents.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <time.h>

#include "util.h"

struct mig_completed {
        pthread_mutex_t lock;
        pthread_cond_t cond;
        bool seen;
        long long downtime_ms, elapsed_ms;
};

static void completed_free(void *opaque)
{
        struct mig_completed *c = opaque;
        pthread_mutex_destroy(&c->lock);
        pthread_cond_destroy(&c->cond);
        free(c);
}

static void on_job_completed(virConnectPtr conn, virDomainPtr d, virTypedParameterPtr params, int n, void *opaque)
{
        struct mig_completed *c = opaque;
        unsigned long long v;
        (void)conn;
        (void)d;
        pthread_mutex_lock(&c->lock);
        c->seen = true;
        if (virTypedParamsGetULLong(params, n, VIR_DOMAIN_JOB_DOWNTIME, &v) == 1)
                c->downtime_ms = (long long)v;
        if (virTypedParamsGetULLong(params, n, VIR_DOMAIN_JOB_TIME_ELAPSED, &v) == 1)
                c->elapsed_ms = (long long)v;
        pthread_cond_broadcast(&c->cond);
        pthread_mutex_unlock(&c->lock);
}

int mig_completed_watch(virConnectPtr conn, virDomainPtr dom, struct mig_completed **ret)
{
        struct mig_completed *c = calloc(1, sizeof(*c));
        *ret = NULL;
        if (!c)
                return -1;
        pthread_mutex_init(&c->lock, NULL);
        pthread_condattr_t ca;
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&c->cond, &ca);
        pthread_condattr_destroy(&ca);
        c->downtime_ms = c->elapsed_ms = -1;
        int id = virConnectDomainEventRegisterAny(conn, dom, VIR_DOMAIN_EVENT_ID_JOB_COMPLETED,
                                                  VIR_DOMAIN_EVENT_CALLBACK(on_job_completed), c, completed_free);
        if (id < 0) {
                completed_free(c);
                return -1;
        }
        *ret = c;
        return id;
}

long long mig_completed_wait(struct mig_completed *c, unsigned timeout_ms, long long *job_elapsed_ms)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += timeout_ms / 1000;
        ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
        if (ts.tv_nsec >= 1000000000) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000;
        }
        pthread_mutex_lock(&c->lock);
        while (!c->seen && pthread_cond_timedwait(&c->cond, &c->lock, &ts) == 0)
                ;
        long long dt = c->downtime_ms;
        if (job_elapsed_ms)
                *job_elapsed_ms = c->elapsed_ms;
        pthread_mutex_unlock(&c->lock);
        return dt;
}

struct mig_iteration {
        int fd;
        unsigned long long last; /* written on the event thread, read on the monitor's */
};

static void iteration_free(void *opaque)
{
        struct mig_iteration *it = opaque;
        close(it->fd);
        free(it);
}

static void on_iteration(virConnectPtr conn, virDomainPtr d, int iteration, void *opaque)
{
        struct mig_iteration *it = opaque;
        char c = 'i';
        (void)conn;
        (void)d;
        __atomic_store_n(&it->last, (unsigned long long)(iteration > 0 ? iteration : 0), __ATOMIC_RELEASE);
        (void)!write(it->fd, &c, 1);
}

int mig_iteration_watch(virConnectPtr conn, virDomainPtr dom, int wake_fd, struct mig_iteration **ret)
{
        struct mig_iteration *it = calloc(1, sizeof(*it));
        *ret = NULL;
        if (!it)
                return -1;
        it->fd = fcntl(wake_fd, F_DUPFD_CLOEXEC, 3);
        if (it->fd < 0) {
                free(it);
                return -1;
        }
        int id = virConnectDomainEventRegisterAny(conn, dom, VIR_DOMAIN_EVENT_ID_MIGRATION_ITERATION,
                                                  VIR_DOMAIN_EVENT_CALLBACK(on_iteration), it, iteration_free);
        if (id < 0) {
                iteration_free(it);
                return -1;
        }
        *ret = it;
        return id;
}

unsigned long long mig_iteration_last(struct mig_iteration *it)
{
        return __atomic_load_n(&it->last, __ATOMIC_ACQUIRE);
}
