/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What migkit asks of the local libvirt, never from the hook:
 *  - migkit-cleanup: does this host know the domain? (read-only connection,
 *    opened and closed per question, so a restarted libvirtd is simply
 *    asked again);
 *  - migkit-watch (and the driver): make the persistent definition of a
 *    guest that migrated in match what the hook stripped from the running
 *    one, on a connection the caller owns. */
#pragma once

#include <libvirt/libvirt.h>
#include <stdbool.h>

struct virt_domain {
        char *name;
        char *state;     /* "running", "paused", "shut off", ... */
        bool active;
        bool persistent;
};

/* Asks libvirt at uri about the domain with this UUID.
 * Returns 0 if libvirt answered that there is no such domain
 * (VIR_ERR_NO_DOMAIN), 1 if the domain is defined or active here (and fills
 * *ret, optional), or -errno when libvirt could not be asked or gave any
 * other answer: -ECONNREFUSED when the connection failed, -EIO for any other
 * error, -EINVAL for an empty URI. *ret_err (optional) then receives
 * libvirt's message. */
int virt_domain_lookup(const char *uri, const char *uuid, struct virt_domain *ret, char **ret_err);

/* virt_domain_lookup, asked again every 500 ms for up to settle_ms while
 * libvirt still knows the domain or cannot be asked: a domain that just
 * stopped is forgotten a moment after the hook's release call. Same
 * returns, from the last answer. */
int virt_domain_lookup_settled(const char *uri, const char *uuid, unsigned settle_ms, struct virt_domain *ret,
                               char **ret_err);

void virt_domain_free(struct virt_domain *d);

/* Makes libvirt report errors only through virGetLastError() (by default it
 * also prints each one on stderr). Call before the first libvirt call. */
void virt_quiet_errors(void);

/* For _cleanup_(virt_conn_closep) / _cleanup_(virt_dom_freep). */
void virt_conn_closep(virConnectPtr *c);
void virt_dom_freep(virDomainPtr *d);

/* Runs libvirt's default event loop in a thread of its own, started once
 * per process (later calls return the first result). Connections opened
 * afterwards deliver domain events to callbacks, on that thread.
 * Returns 0, or -1 when libvirt could not set the loop up. */
int virt_event_thread_start(void);

/* Why libvirt closed a connection (virConnectCloseReason), for a message. */
const char *virt_close_reason(int reason);

/* libvirt's last error message in this thread, never NULL. */
const char *virt_last_error(void);

/* The persistent-definition fix-up. The hook's `migrate begin` removed the
 * <source> of missing config-drive cdroms from the incoming (running)
 * definition and listed each in the journal as "<target-dev> <path>"
 * (stripped, target "-" when the cdrom has none); with --persistent the
 * persistent definition libvirt stored still names those files, so a cold
 * start on this host would fail. This fetches the persistent definition
 * (VIR_DOMAIN_XML_INACTIVE | VIR_DOMAIN_XML_SECURE, so secrets survive),
 * removes the <source> of exactly the cdroms whose target dev and source
 * file both match an entry (byte-exact, as the hook does: nothing else of
 * the text changes), checks by parsing the result again that only those
 * sources went, makes sure the definition did not change meanwhile, and
 * defines it. The running definition is not touched.
 * Returns the number of cdroms changed (> 0), 0 when there is nothing to do
 * (no entries; no such domain; a transient domain, which has no persistent
 * definition; or already without those sources: it is idempotent), or
 * -errno with *ret_err (optional, malloc'ed) saying why: -EIO for a libvirt
 * error (its message), -EBADMSG for an unusable definition or a result that
 * fails the check, -ESTALE when the definition changed while this ran
 * (try again), -ENOMEM. *ret_done (optional) receives the entries that were
 * applied. */
int virt_fixup_persistent(virConnectPtr conn, const char *uuid, char *const *stripped, char ***ret_done, char **ret_err);
