/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The one question migkit-cleanup asks libvirt: does this host know the
 * domain? Read-only connection, opened and closed per question (so a
 * restarted libvirtd is simply asked again). Never used by the hook. */
#pragma once

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

void virt_domain_free(struct virt_domain *d);
