/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The libvirt domain events `migkit migrate` listens to, delivered on
 * libvirt's event thread (virt_event_thread_start() before the connection
 * is opened). Each watch owns its state, which libvirt frees once the
 * callback is deregistered (virConnectDomainEventDeregisterAny), so a late
 * event never touches freed memory or a closed descriptor. */
#pragma once

#include <libvirt/libvirt.h>

/* job-completed on the source: carries the downtime the source QEMU
 * measured (post-copy included; the destination's completed-job stats have
 * none after post-copy on libvirt 9.0) and libvirt's time of the job. */
struct mig_completed;

/* Registers for dom on conn; returns the callback id, or -1. */
int mig_completed_watch(virConnectPtr conn, virDomainPtr dom, struct mig_completed **ret);
/* Waits up to timeout_ms for the event; returns its downtime in ms, -1 if
 * none came or it had none; *job_elapsed_ms (optional) gets its
 * time_elapsed, -1 if unknown. */
long long mig_completed_wait(struct mig_completed *c, unsigned timeout_ms, long long *job_elapsed_ms);

/* migration-iteration: a memory pass ended. Each event writes one byte 'i'
 * to wake_fd (duplicated: the watch keeps its own) and stores the pass. */
struct mig_iteration;

/* Registers for dom on conn; returns the callback id, or -1. */
int mig_iteration_watch(virConnectPtr conn, virDomainPtr dom, int wake_fd, struct mig_iteration **ret);
/* The pass the last event announced, 0 if none yet. */
unsigned long long mig_iteration_last(struct mig_iteration *it);
