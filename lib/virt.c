/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "virt.h"

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>

#include "domxml.h"
#include "util.h"

/* libvirt prints every error to stderr by default; we report them. */
static void quiet(void *userdata, virErrorPtr err)
{
        (void)userdata;
        (void)err;
}

void virt_quiet_errors(void)
{
        virSetErrorFunc(NULL, quiet);
}

void virt_conn_closep(virConnectPtr *c) { if (*c) virConnectClose(*c); }
void virt_dom_freep(virDomainPtr *d) { if (*d) virDomainFree(*d); }

static int event_thread_rc = -1;
static pthread_once_t event_thread_once = PTHREAD_ONCE_INIT;

static void *event_main(void *arg)
{
        (void)arg;
        for (;;)
                if (virEventRunDefaultImpl() < 0)
                        usleep(100 * 1000); /* nothing sensible to do but go on */
        return NULL;
}

static void event_thread_init(void)
{
        pthread_t th;
        pthread_attr_t a;
        sigset_t all, old;
        if (virEventRegisterDefaultImpl() < 0 || pthread_attr_init(&a) != 0)
                return;
        pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
        /* signals (SIGINT: abort the migration) stay with the caller's threads */
        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, &old);
        if (pthread_create(&th, &a, event_main, NULL) == 0)
                event_thread_rc = 0;
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        pthread_attr_destroy(&a);
}

int virt_event_thread_start(void)
{
        pthread_once(&event_thread_once, event_thread_init);
        return event_thread_rc;
}

const char *virt_close_reason(int reason)
{
        switch (reason) {
        case VIR_CONNECT_CLOSE_REASON_ERROR: return "I/O error";
        case VIR_CONNECT_CLOSE_REASON_EOF: return "libvirt closed it";
        case VIR_CONNECT_CLOSE_REASON_KEEPALIVE: return "keepalive timed out";
        case VIR_CONNECT_CLOSE_REASON_CLIENT: return "closed by us";
        default: return "unknown reason";
        }
}

const char *virt_last_error(void)
{
        const char *m = virGetLastErrorMessage();
        return m && *m ? m : "unknown libvirt error";
}

static char *last_error(void)
{
        return strdup(virt_last_error());
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
        _cleanup_(virt_conn_closep) virConnectPtr conn = NULL;
        _cleanup_(virt_dom_freep) virDomainPtr dom = NULL;
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

int virt_domain_lookup_settled(const char *uri, const char *uuid, unsigned settle_ms, struct virt_domain *ret,
                               char **ret_err)
{
        uint64_t start = now_ms();
        for (;;) {
                int r = virt_domain_lookup(uri, uuid, ret, ret_err);
                if (r == 0 || r == -EINVAL || now_ms() - start + 500 > settle_ms)
                        return r;
                if (r > 0 && ret)
                        virt_domain_free(ret);
                if (ret_err) {
                        free(*ret_err);
                        *ret_err = NULL;
                }
                usleep(500000);
        }
}

void virt_domain_free(struct virt_domain *d)
{
        free(d->name);
        free(d->state);
        memset(d, 0, sizeof(*d));
}

/* Fails with code, giving *ret_err (if wanted) the message fmt makes. */
static int fixup_fail(char **ret_err, int code, const char *fmt, ...) _printf_(3, 4);
static int fixup_fail(char **ret_err, int code, const char *fmt, ...)
{
        va_list ap;
        if (ret_err && !*ret_err) {
                va_start(ap, fmt);
                *ret_err = strdup_vprintf(fmt, ap);
                va_end(ap);
        }
        return code;
}

/* Does disk match the journal entry "<target-dev> <path>"? */
static bool disk_matches(const struct dom_disk *disk, const char *entry)
{
        const char *sp = strchr(entry, ' ');
        if (!sp || !streq_ptr(disk->device, "cdrom") || disk->type != DOM_DISK_FILE || !disk->source)
                return false;
        size_t tlen = (size_t)(sp - entry);
        bool no_target = tlen == 1 && entry[0] == '-';
        if (no_target ? disk->target != NULL : !disk->target || strlen(disk->target) != tlen || strncmp(disk->target, entry, tlen) != 0)
                return false;
        return streq(disk->source, sp + 1);
}

/* The result must be the same domain, with the same disks, less exactly the
 * sources in gone[]. */
static bool fixup_checks_out(const struct domxml *old, const struct domxml *new, const bool *gone)
{
        if (!streq(old->uuid, new->uuid) || !streq(old->name, new->name) || old->n_disks != new->n_disks ||
            old->n_ifaces != new->n_ifaces)
                return false;
        for (size_t i = 0; i < old->n_disks; i++) {
                const struct dom_disk *a = &old->disks[i], *b = &new->disks[i];
                if (a->type != b->type || !streq_ptr(a->device, b->device) || !streq_ptr(a->target, b->target))
                        return false;
                if (gone[i] ? b->source != NULL : !streq_ptr(a->source, b->source))
                        return false;
        }
        return true;
}

int virt_fixup_persistent(virConnectPtr conn, const char *uuid, char *const *stripped, char ***ret_done, char **ret_err)
{
        const unsigned flags = VIR_DOMAIN_XML_INACTIVE | VIR_DOMAIN_XML_SECURE;
        _cleanup_(virt_dom_freep) virDomainPtr dom = NULL;
        _cleanup_free_ char *xml = NULL, *again = NULL, *out = NULL, *perr = NULL;
        _cleanup_free_ bool *gone = NULL;
        _cleanup_domxml_ struct domxml *d = NULL;
        _cleanup_domxml_ struct domxml *check = NULL;
        _cleanup_strv_ char **done = NULL;
        size_t len, n = 0;
        int r;

        if (ret_done)
                *ret_done = NULL;
        if (ret_err)
                *ret_err = NULL;
        if (!stripped || !stripped[0])
                return 0;
        dom = virDomainLookupByUUIDString(conn, uuid);
        if (!dom) {
                virErrorPtr e = virGetLastError();
                if (e && e->code == VIR_ERR_NO_DOMAIN)
                        return 0;
                return fixup_fail(ret_err, -EIO, "cannot look the domain up: %s", virGetLastErrorMessage());
        }
        r = virDomainIsPersistent(dom);
        if (r < 0)
                return fixup_fail(ret_err, -EIO, "cannot tell whether the domain is persistent: %s", virGetLastErrorMessage());
        if (r == 0)
                return 0;
        xml = virDomainGetXMLDesc(dom, flags);
        if (!xml)
                return fixup_fail(ret_err, -EIO, "cannot get the persistent definition: %s", virGetLastErrorMessage());
        r = domxml_parse(xml, strlen(xml), &d, &perr);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return fixup_fail(ret_err, -EBADMSG, "the persistent definition is not usable: %s", perr ? perr : "parse error");
        if (!streq(d->uuid, uuid))
                return fixup_fail(ret_err, -EBADMSG, "the persistent definition names UUID %s", d->uuid);

        gone = calloc(d->n_disks + 1, sizeof(*gone));
        if (!gone)
                return -ENOMEM;
        for (size_t k = 0; stripped[k]; k++) {
                bool hit = false;
                for (size_t i = 0; i < d->n_disks; i++)
                        if (!gone[i] && disk_matches(&d->disks[i], stripped[k]))
                                gone[i] = hit = true, n++;
                if (hit && strv_push(&done, stripped[k]) < 0)
                        return -ENOMEM;
        }
        if (n == 0)
                return 0; /* already without them, or never had them */
        for (size_t i = 0; i < d->n_disks; i++) {
                if (!gone[i])
                        continue;
                r = domxml_strip_disk_source(d, i);
                if (r < 0)
                        return r == -ENOMEM ? r : fixup_fail(ret_err, -EBADMSG, "cannot remove the source of cdrom %s",
                                                             d->disks[i].target ? d->disks[i].target : "-");
        }
        r = domxml_format(d, &out, &len);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return fixup_fail(ret_err, -EBADMSG, "cannot format the new definition");

        /* Parse what libvirt will get: only those sources may be gone. The
         * strip functions keep the disks' order and fields; re-read them
         * from the original to compare. */
        _cleanup_domxml_ struct domxml *orig = NULL;
        r = domxml_parse(xml, strlen(xml), &orig, NULL);
        if (r == 0)
                r = domxml_parse(out, len, &check, NULL);
        if (r == -ENOMEM)
                return r;
        if (r < 0 || !fixup_checks_out(orig, check, gone))
                return fixup_fail(ret_err, -EBADMSG, "the new definition did not check out (more than the cdrom sources "
                                  "changed); left as it was");

        /* libvirt has no compare-and-swap: narrow the window at least. */
        again = virDomainGetXMLDesc(dom, flags);
        if (!again)
                return fixup_fail(ret_err, -EIO, "cannot get the persistent definition again: %s", virGetLastErrorMessage());
        if (!streq(again, xml))
                return fixup_fail(ret_err, -ESTALE, "the persistent definition changed meanwhile; try again");
        virDomainPtr nd = virDomainDefineXML(conn, out);
        if (!nd)
                return fixup_fail(ret_err, -EIO, "cannot define the new persistent definition: %s", virGetLastErrorMessage());
        virDomainFree(nd);
        if (ret_done)
                *ret_done = TAKE_PTR(done);
        return (int)n;
}
