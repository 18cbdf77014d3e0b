/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "virt.h"

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "util.h"

/* libvirt prints every error to stderr by default; we report them. */
static void quiet(void *userdata, virErrorPtr err)
{
        (void)userdata;
        (void)err;
}

static void conn_closep(virConnectPtr *c) { if (*c) virConnectClose(*c); }
static void dom_freep(virDomainPtr *d) { if (*d) virDomainFree(*d); }

static char *last_error(void)
{
        const char *m = virGetLastErrorMessage();
        return strdup(m && *m ? m : "unknown libvirt error");
}

static const char *state_name(int s)
{
        switch (s) {
        case VIR_DOMAIN_NOSTATE: return "no state";
        case VIR_DOMAIN_RUNNING: return "running";
        case VIR_DOMAIN_BLOCKED: return "blocked";
        case VIR_DOMAIN_PAUSED: return "paused";
        case VIR_DOMAIN_SHUTDOWN: return "being shut down";
        case VIR_DOMAIN_SHUTOFF: return "shut off";
        case VIR_DOMAIN_CRASHED: return "crashed";
        case VIR_DOMAIN_PMSUSPENDED: return "suspended by guest power management";
        default: return "unknown state";
        }
}

int virt_domain_lookup(const char *uri, const char *uuid, struct virt_domain *ret, char **ret_err)
{
        _cleanup_(conn_closep) virConnectPtr conn = NULL;
        _cleanup_(dom_freep) virDomainPtr dom = NULL;
        int state = VIR_DOMAIN_NOSTATE, reason;

        if (ret)
                memset(ret, 0, sizeof(*ret));
        if (ret_err)
                *ret_err = NULL;
        if (!uri || !*uri)
                return -EINVAL; /* "" would make libvirt probe for a default */
        virSetErrorFunc(NULL, quiet);
        conn = virConnectOpenReadOnly(uri);
        if (!conn) {
                if (ret_err)
                        *ret_err = last_error();
                return -ECONNREFUSED;
        }
        dom = virDomainLookupByUUIDString(conn, uuid);
        if (!dom) {
                virErrorPtr e = virGetLastError();
                if (e && e->code == VIR_ERR_NO_DOMAIN)
                        return 0;
                if (ret_err)
                        *ret_err = last_error();
                return -EIO;
        }
        if (!ret)
                return 1;
        const char *name = virDomainGetName(dom);
        if (virDomainGetState(dom, &state, &reason, 0) < 0)
                state = -1;
        ret->name = strdup(name ? name : "?");
        ret->state = strdup(state < 0 ? "unknown state" : state_name(state));
        ret->active = virDomainIsActive(dom) == 1;
        ret->persistent = virDomainIsPersistent(dom) == 1;
        if (!ret->name || !ret->state) {
                virt_domain_free(ret);
                return -ENOMEM;
        }
        return 1;
}

void virt_domain_free(struct virt_domain *d)
{
        free(d->name);
        free(d->state);
        memset(d, 0, sizeof(*d));
}
