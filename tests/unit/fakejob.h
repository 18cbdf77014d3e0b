/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A fake migration job for the tests of migrate_run() and evacuate_run()
 * against libvirt's test driver, which cannot migrate (link with
 * -Wl,--wrap= for each __wrap_ function below). virDomainMigrateToURI3
 * blocks until the monitor has read a scripted timeline of job statistics
 * (then it succeeds), or until the job is aborted (then it fails with the
 * test driver's own error); the calls the policy makes (downtime,
 * post-copy, abort) are recorded. With break_postcopy the job fails after
 * its timeline as a broken post-copy does (the guest paused, "post-copy
 * failed"); then each resume (VIR_MIGRATE_POSTCOPY_RESUME) sends nothing
 * and waits to be paused (virDomainAbortJobFlags with
 * VIR_DOMAIN_ABORT_JOB_POSTCOPY) while stuck_resumes lasts, and finishes
 * after that. Include after <cmocka.h>. */
#pragma once

#include <pthread.h>
#include <libvirt/libvirt.h>

#include "migrate.h"

#define MiB (1024ULL * 1024)

struct step {
        unsigned long long elapsed_ms, total, remaining, iteration;
};

static struct {
        pthread_mutex_t mu;
        pthread_cond_t cv;
        bool on;                        /* false: the real libvirt calls */
        const struct step *steps;
        size_t n, pos;
        bool done, aborted, fail, stop_guest;
        size_t abort_request_at;        /* 0: never; else ask to abort after that many samples */
        int migrate_calls, abort_calls, postcopy_calls;
        bool break_postcopy, broken, paused;
        int stuck_resumes, resume_calls, pause_calls;
        unsigned long flags;
        unsigned long long downtimes[32];
        int ndowntimes;
} fk = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };

int __real_virDomainMigrateToURI3(virDomainPtr, const char *, virTypedParameterPtr, unsigned, unsigned);
int __wrap_virDomainMigrateToURI3(virDomainPtr, const char *, virTypedParameterPtr, unsigned, unsigned);
int __real_virDomainGetJobStats(virDomainPtr, int *, virTypedParameterPtr *, int *, unsigned);
int __wrap_virDomainGetJobStats(virDomainPtr, int *, virTypedParameterPtr *, int *, unsigned);
int __wrap_virDomainAbortJob(virDomainPtr);
int __wrap_virDomainMigrateSetMaxDowntime(virDomainPtr, unsigned long long, unsigned);
int __wrap_virDomainMigrateStartPostCopy(virDomainPtr, unsigned);
int __wrap_virDomainAbortJobFlags(virDomainPtr, unsigned);
int __real_virDomainGetState(virDomainPtr, int *, int *, unsigned);
int __wrap_virDomainGetState(virDomainPtr, int *, int *, unsigned);

/* A resume: stuck until paused while stuck_resumes lasts (fails then),
 * otherwise the post-copy finishes. */
static int fake_resume(virDomainPtr d, const char *uri, virTypedParameterPtr p, unsigned n, unsigned flags)
{
        pthread_mutex_lock(&fk.mu);
        bool stuck = ++fk.resume_calls <= fk.stuck_resumes;
        while (stuck && !fk.paused)
                pthread_cond_wait(&fk.cv, &fk.mu);
        fk.paused = false;
        fk.broken = stuck;
        pthread_mutex_unlock(&fk.mu);
        return stuck ? __real_virDomainMigrateToURI3(d, uri, p, n, flags) : 0;
}

int __wrap_virDomainMigrateToURI3(virDomainPtr d, const char *uri, virTypedParameterPtr p, unsigned n, unsigned flags)
{
        if (fk.on && (flags & VIR_MIGRATE_POSTCOPY_RESUME))
                return fake_resume(d, uri, p, n, flags);
        pthread_mutex_lock(&fk.mu);
        fk.migrate_calls++;
        fk.flags = flags;
        bool on = fk.on;
        while (on && !fk.done && !fk.aborted)
                pthread_cond_wait(&fk.cv, &fk.mu);
        bool fail = fk.aborted || fk.fail || fk.break_postcopy, stop = fk.stop_guest;
        fk.broken = fk.break_postcopy && !fk.aborted;
        fk.pos = 0; /* the script again for the next migration */
        fk.done = false;
        pthread_mutex_unlock(&fk.mu);
        if (!on || fail) /* the test driver's own refusal: a real libvirt error */
                return __real_virDomainMigrateToURI3(d, uri, p, n, flags);
        if (stop) /* "succeeded", but the guest does not run where it went */
                assert_int_equal(virDomainDestroy(d), 0);
        return 0;
}

int __wrap_virDomainGetJobStats(virDomainPtr d, int *type, virTypedParameterPtr *params, int *nparams, unsigned flags)
{
        int maxp = 0;
        *params = NULL;
        *nparams = 0;
        if (flags & VIR_DOMAIN_JOB_STATS_COMPLETED) { /* the destination's view after the end */
                *type = VIR_DOMAIN_JOB_COMPLETED;
                return virTypedParamsAddULLong(params, nparams, &maxp, VIR_DOMAIN_JOB_DOWNTIME, 42);
        }
        pthread_mutex_lock(&fk.mu);
        if (!fk.on) {
                pthread_mutex_unlock(&fk.mu);
                return __real_virDomainGetJobStats(d, type, params, nparams, flags);
        }
        *type = VIR_DOMAIN_JOB_NONE;
        if ((fk.pos < fk.n && !fk.aborted) || (fk.broken && fk.n)) {
                /* a resume sends nothing: the last sample again */
                const struct step *s = fk.broken ? &fk.steps[fk.n - 1] : &fk.steps[fk.pos++];
                *type = VIR_DOMAIN_JOB_UNBOUNDED;
                assert_int_equal(virTypedParamsAddULLong(params, nparams, &maxp, VIR_DOMAIN_JOB_TIME_ELAPSED, s->elapsed_ms), 0);
                assert_int_equal(virTypedParamsAddULLong(params, nparams, &maxp, VIR_DOMAIN_JOB_DATA_TOTAL, s->total), 0);
                assert_int_equal(virTypedParamsAddULLong(params, nparams, &maxp, VIR_DOMAIN_JOB_DATA_PROCESSED,
                                                         s->total - s->remaining), 0);
                assert_int_equal(virTypedParamsAddULLong(params, nparams, &maxp, VIR_DOMAIN_JOB_DATA_REMAINING, s->remaining), 0);
                assert_int_equal(virTypedParamsAddULLong(params, nparams, &maxp, VIR_DOMAIN_JOB_MEMORY_ITERATION, s->iteration), 0);
                if (fk.pos == fk.n && !fk.broken) {
                        fk.done = true;
                        pthread_cond_broadcast(&fk.cv);
                }
                if (fk.abort_request_at && fk.pos == fk.abort_request_at)
                        migrate_request_abort();
        }
        pthread_mutex_unlock(&fk.mu);
        return 0;
}

int __wrap_virDomainAbortJob(virDomainPtr d)
{
        pthread_mutex_lock(&fk.mu);
        fk.abort_calls++;
        fk.aborted = true;
        pthread_cond_broadcast(&fk.cv);
        pthread_mutex_unlock(&fk.mu);
        return 0;
}

int __wrap_virDomainMigrateSetMaxDowntime(virDomainPtr d, unsigned long long ms, unsigned flags)
{
        pthread_mutex_lock(&fk.mu);
        if (fk.ndowntimes < 32)
                fk.downtimes[fk.ndowntimes++] = ms;
        pthread_mutex_unlock(&fk.mu);
        return 0;
}

int __wrap_virDomainMigrateStartPostCopy(virDomainPtr d, unsigned flags)
{
        pthread_mutex_lock(&fk.mu);
        fk.postcopy_calls++;
        pthread_mutex_unlock(&fk.mu);
        return 0;
}

int __wrap_virDomainAbortJobFlags(virDomainPtr d, unsigned flags)
{
        if (!(flags & VIR_DOMAIN_ABORT_JOB_POSTCOPY))
                return __wrap_virDomainAbortJob(d);
        pthread_mutex_lock(&fk.mu);
        fk.pause_calls++;
        fk.paused = true;
        pthread_cond_broadcast(&fk.cv);
        pthread_mutex_unlock(&fk.mu);
        return 0;
}

int __wrap_virDomainGetState(virDomainPtr d, int *st, int *reason, unsigned flags)
{
        pthread_mutex_lock(&fk.mu);
        bool broken = fk.on && fk.broken;
        pthread_mutex_unlock(&fk.mu);
        if (!broken)
                return __real_virDomainGetState(d, st, reason, flags);
        *st = VIR_DOMAIN_PAUSED;
        *reason = VIR_DOMAIN_PAUSED_POSTCOPY_FAILED;
        return 0;
}

/* Back to the real libvirt calls, nothing recorded. */
static void fake_reset(void)
{
        pthread_mutex_lock(&fk.mu);
        fk.on = fk.done = fk.aborted = fk.fail = fk.stop_guest = false;
        fk.break_postcopy = fk.broken = fk.paused = false;
        fk.steps = NULL;
        fk.n = fk.pos = fk.abort_request_at = 0;
        fk.migrate_calls = fk.abort_calls = fk.postcopy_calls = fk.ndowntimes = 0;
        fk.stuck_resumes = fk.resume_calls = fk.pause_calls = 0;
        fk.flags = 0;
        pthread_mutex_unlock(&fk.mu);
}

/* Every migration from now on reads these samples, then succeeds. */
static void fake(const struct step *steps, size_t n)
{
        pthread_mutex_lock(&fk.mu);
        fk.on = true;
        fk.steps = steps;
        fk.n = n;
        pthread_mutex_unlock(&fk.mu);
}

