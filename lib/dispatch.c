/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "dispatch.h"

#include <sys/stat.h>

#include "detach.h"
#include "log.h"
#include "util.h"
#include "validate.h"

/* systemctl --no-block only queues the job; it answers in milliseconds
 * unless PID 1 is stuck, and then waiting longer helps nobody. */
#define SYSTEMCTL_TIMEOUT_MS 5000

bool dispatch_action_is_valid(const char *action)
{
        return action && (streq(action, "source") || streq(action, "rollback") || streq(action, "commit"));
}

bool dispatch_systemd_running(const struct mk_config *cfg)
{
        _cleanup_free_ char *p = path_join(cfg->run_dir, "systemd/system");
        struct stat st;
        return p && lstat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int via_systemd(const struct mk_config *cfg, const char *action, const char *uuid, bool quiet)
{
        _cleanup_free_ char *unit = NULL, *out = NULL;
        if (asprintf(&unit, "migkit-cleanup@%s-%s.service", action, uuid) < 0)
                return log_error_errno(ENOMEM, "out of memory");
        char *argv[] = { (char *)"systemctl", (char *)"start", (char *)"--no-block", unit, NULL };
        int r = spawn_wait(cfg->systemctl, argv, SYSTEMCTL_TIMEOUT_MS, &out);
        if (r == 0) {
                log_debug("uuid %s: queued %s", uuid, unit);
                return 0;
        }
        const char *what = r == -ETIME ? "did not answer within 5 s" : r == 127 ? "could not be run" : "failed";
        if (r > 0)
                r = -EIO;
        if (quiet)
                log_warning("uuid %s: %s start --no-block %s %s%s%s; starting %s directly instead", uuid, cfg->systemctl,
                            unit, what, out && *out ? ": " : "", out ? out : "", cfg->cleanup_program);
        else
                log_error("uuid %s: %s start --no-block %s %s%s%s; check that the unit is installed "
                          "(systemctl cat migkit-cleanup@.service) or set [cleanup] launcher = direct", uuid,
                          cfg->systemctl, unit, what, out && *out ? ": " : "", out ? out : "");
        return r;
}

static int direct(const struct mk_config *cfg, const char *action, const char *uuid)
{
        char *argv[] = { (char *)"migkit-cleanup", (char *)action, (char *)uuid, NULL };
        int r = spawn_detached(cfg->cleanup_program, argv);
        if (r < 0)
                return log_error_errno(r, "uuid %s: cannot start %s %s %s: %m", uuid, cfg->cleanup_program, action, uuid);
        log_debug("uuid %s: started %s %s, detached", uuid, cfg->cleanup_program, action);
        return 0;
}

int dispatch_handover(const struct mk_config *cfg, const struct proof *p, const char *action, bool *ret_recorded)
{
        int r = proof_record(cfg->state_dir, p);
        *ret_recorded = r == 0;
        if (r < 0 || !action)
                return r;
        return dispatch_cleanup(cfg, action, p->uuid);
}

static bool no_direct;

void dispatch_forbid_direct(void)
{
        no_direct = true;
}

bool dispatch_in_service(void)
{
        const char *id = getenv("INVOCATION_ID");
        return id && *id;
}

int dispatch_cleanup(const struct mk_config *cfg, const char *action, const char *uuid)
{
        if (!dispatch_action_is_valid(action) || !uuid || !uuid_is_valid(uuid))
                return log_error_errno(EINVAL, "cannot start migkit-cleanup '%s' '%s': not a job (source, rollback or "
                                       "commit, and a UUID)", action ? action : "", uuid ? uuid : "");
        switch (cfg->cleanup_launcher) {
        case LAUNCHER_SYSTEMD:
                return via_systemd(cfg, action, uuid, false);
        case LAUNCHER_DIRECT:
                if (no_direct)
                        return log_error_errno(EPERM, "uuid %s: [cleanup] launcher = direct would run %s %s inside this "
                                               "service's sandbox (no network: a rollback there sees none of the host's "
                                               "bridges); set [cleanup] launcher = auto or systemd", uuid,
                                               cfg->cleanup_program, action);
                return direct(cfg, action, uuid);
        default:
                if (no_direct) {
                        if (dispatch_systemd_running(cfg))
                                return via_systemd(cfg, action, uuid, false);
                        return log_error_errno(EPERM, "uuid %s: systemd does not run here (no %s/systemd/system), and "
                                               "%s %s is never started inside this service's sandbox", uuid, cfg->run_dir,
                                               cfg->cleanup_program, action);
                }
                if (dispatch_systemd_running(cfg) && via_systemd(cfg, action, uuid, true) == 0)
                        return 0;
                return direct(cfg, action, uuid);
        }
}
