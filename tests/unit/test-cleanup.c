/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The decisions of migkit-cleanup against real directories and a real
 * libvirt: the test driver (test:///<file>, no daemon) answers whether the
 * domain is defined here, a socket that does not exist stands for an
 * unreachable libvirtd. Also proofs, locks, pending records, the bridge-port
 * check on a fake sysfs tree, status, and the [cleanup] keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "bridge.h"
#include "cleanup.h"
#include "config.h"
#include "journal.h"
#include "log.h"
#include "proof.h"
#include "quarantine.h"
#include "state.h"
#include "status.h"
#include "util.h"
#include "testutil.h"
#include "testfs.h"
#include "virt.h"

#define UUID "4a6b2c1e-9f3d-4b8a-a1c2-3d4e5f607182"
#define UUID2 "0f0e0d0c-0b0a-4998-8776-655443322110"
#define NAME "instance-0000002a"

struct fixture {
        char root[64];
        char *inst, *state, *dir, *qdir;
        char *uri_absent, *uri_defined;
        struct mk_config cfg;
        struct cleanup_opts o;
};

static char *slurp(const char *path)
{
        char *t = NULL;
        if (read_full_file(path, 1 << 20, &t) < 0)
                return NULL;
        return t;
}

static char *data_uri(const char *file)
{
        char real[PATH_MAX];
        _cleanup_free_ char *rel = pathf("tests/data/cleanup/%s", file);
        assert_non_null(realpath(rel, real));
        return pathf("test://%s", real);
}

static int setup(void **state)
{
        struct fixture *f = calloc(1, sizeof(*f));
        if (!f || scratch_dir(f->root, sizeof(f->root), "cleanup") < 0 || config_defaults(&f->cfg) < 0)
                return -1;
        f->inst = pathf("%s/instances", f->root);
        f->state = pathf("%s/state", f->root);
        f->dir = pathf("%s/%s", f->inst, UUID);
        f->qdir = pathf("%s/%s", f->inst, QUARANTINE_DIR);
        f->uri_absent = data_uri("other-domain.xml");
        f->uri_defined = data_uri("defined.xml");
        set_field(&f->cfg.instances_path, "%s", f->inst);
        set_field(&f->cfg.state_dir, "%s", f->state);
        set_field(&f->cfg.libvirt_uri, "%s", f->uri_absent);
        set_field(&f->cfg.sysfs_root, "%s/sys", f->root);
        f->cfg.cleanup_settle_ms = 0;
        f->o = (struct cleanup_opts) { .lock_timeout_ms = 2000 };
        if (mkdir(f->inst, 0755) < 0 || mkdir(f->dir, 0755) < 0)
                return -1;
        _cleanup_free_ char *log = pathf("%s/console.log", f->dir);
        put(log, "log\n");
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;
        int r = rm_tree(f->root);
        config_free(&f->cfg);
        free(f->inst);
        free(f->state);
        free(f->dir);
        free(f->qdir);
        free(f->uri_absent);
        free(f->uri_defined);
        free(f);
        return r;
}

static void record(struct fixture *f, int kind, time_t t)
{
        struct proof p = { .uuid = UUID, .kind = kind, .by = "watch", .name = NAME, .time = t, .detail = "test" };
        assert_int_equal(proof_record(f->state, &p), 0);
}

static char *pending(struct fixture *f, const char *action)
{
        _cleanup_free_ char *p = pathf("%s/pending/%s.%s", f->state, UUID, action);
        return slurp(p);
}

static int quarantined(struct fixture *f)
{
        struct quarantine_entry *l;
        int n = quarantine_list(&f->cfg, &l);
        assert_true(n >= 0);
        quarantine_list_free(l, n);
        return n;
}

/* ---- source ---- */

static void test_source_no_proof(void **state)
{
        struct fixture *f = *state;
        assert_int_equal(cleanup_source(&f->cfg, UUID, &f->o), CLEANUP_REFUSED);
        assert_true(exists(f->dir));
        _cleanup_free_ char *p = pending(f, "source");
        assert_non_null(p);
        assert_non_null(strstr(p, "reason no proof that the guest runs elsewhere"));
        assert_int_equal(quarantined(f), 0);

        /* a proof of the other kind is no proof either */
        record(f, PROOF_INCOMING_FAILED, 0);
        assert_int_equal(cleanup_source(&f->cfg, UUID, &f->o), CLEANUP_REFUSED);
        assert_true(exists(f->dir));
        /* nor a malformed one */
        _cleanup_free_ char *pp = pathf("%s/proof/%s", f->state, UUID);
        put(pp, "migkit-proof 1\nuuid " UUID "\nkind migrated\nby watch\n"); /* no time */
        assert_int_equal(cleanup_source(&f->cfg, UUID, &f->o), CLEANUP_REFUSED);
        put(pp, "migkit-proof 1\nuuid " UUID2 "\nkind migrated\nby watch\ntime 5\n"); /* another guest's */
        assert_int_equal(cleanup_source(&f->cfg, UUID, &f->o), CLEANUP_REFUSED);
        assert_true(exists(f->dir));
        assert_int_equal(quarantined(f), 0);
}

static void test_source_ok(void **state)
{
        struct fixture *f = *state;
        _cleanup_free_ char *other = pathf("%s/%s", f->inst, UUID2);
        assert_int_equal(mkdir(other, 0755), 0);

        assert_int_equal(cleanup_source(&f->cfg, UUID, &f->o), CLEANUP_REFUSED); /* no proof yet */
        record(f, PROOF_MIGRATED, 0);

        /* dry run: says what, does nothing, records nothing */
        _cleanup_free_ char *out = NULL;
        size_t len;
        FILE *rep = open_memstream(&out, &len);
        struct cleanup_opts dry = { .dry_run = true, .report = rep };
        _cleanup_free_ char *before = pending(f, "source");
        assert_int_equal(cleanup_source(&f->cfg, UUID, &dry), CLEANUP_DONE);
        fclose(rep);
        assert_non_null(strstr(out, "would move"));
        assert_non_null(strstr(out, f->dir));
        assert_true(exists(f->dir));
        _cleanup_free_ char *after = pending(f, "source");
        assert_string_equal(before, after);

        assert_int_equal(cleanup_source(&f->cfg, UUID, &f->o), CLEANUP_DONE);
        assert_false(exists(f->dir));
        assert_int_equal(quarantined(f), 1);
        assert_true(exists(other));
        /* the proof is consumed, the earlier refusal forgotten */
        struct proof p;
        assert_int_equal(proof_load(f->state, UUID, &p), -ENOENT);
        _cleanup_free_ char *pend = pending(f, "source");
        assert_null(pend);
        /* again: nothing to do */
        assert_int_equal(cleanup_source(&f->cfg, UUID, &f->o), CLEANUP_NOTHING);
        assert_int_equal(quarantined(f), 1);
}

static void test_source_defined(void **state)
{
        struct fixture *f = *state;
        record(f, PROOF_MIGRATED, 0);
        set_field(&f->cfg.libvirt_uri, "%s", f->uri_defined);
        assert_int_equal(cleanup_source(&f->cfg, UUID, &f->o), CLEANUP_REFUSED);
        assert_true(exists(f->dir));
        _cleanup_free_ char *p = pending(f, "source");
        assert_non_null(strstr(p, "still has domain " NAME " here"));
        assert_non_null(strstr(p, "running"));
        /* the proof stays: the next run may succeed */
        struct proof pr;
        assert_int_equal(proof_load(f->state, UUID, &pr), 0);
        proof_free(&pr);
        assert_int_equal(quarantined(f), 0);
}

static void test_source_unreachable(void **state)
{
        struct fixture *f = *state;
        record(f, PROOF_MIGRATED, 0);
        set_field(&f->cfg.libvirt_uri, "qemu+unix:///system?socket=%s/no-such-libvirt-sock", f->root);
        f->cfg.cleanup_settle_ms = 1200; /* asked again for a while, then no */
        assert_int_equal(cleanup_source(&f->cfg, UUID, &f->o), CLEANUP_REFUSED);
        assert_true(exists(f->dir));
        _cleanup_free_ char *p = pending(f, "source");
        assert_non_null(strstr(p, "cannot ask libvirt"));
        assert_non_null(strstr(p, "no-such-libvirt-sock"));

        set_field(&f->cfg.libvirt_uri, "test://%s/no-such-file.xml", f->root);
        f->cfg.cleanup_settle_ms = 0;
        assert_int_equal(cleanup_source(&f->cfg, UUID, &f->o), CLEANUP_REFUSED);
        set_field(&f->cfg.libvirt_uri, "%s", "");
        assert_int_equal(cleanup_source(&f->cfg, UUID, &f->o), CLEANUP_REFUSED);
        assert_true(exists(f->dir));
        assert_int_equal(quarantined(f), 0);
}

/* libvirt forgets the domain a moment after the hook ran: the cleanup waits
 * for it (up to [cleanup] settle) instead of refusing at once. */
static void test_source_settle(void **state)
{
        struct fixture *f = *state;
        _cleanup_free_ char *live = pathf("%s/libvirt-state.xml", f->root), *def = slurp("tests/data/cleanup/defined.xml");
        _cleanup_free_ char *gone = slurp("tests/data/cleanup/other-domain.xml"), *next = pathf("%s/next.xml", f->root);
        put(live, def);
        put(next, gone);
        record(f, PROOF_MIGRATED, 0);
        set_field(&f->cfg.libvirt_uri, "test://%s", live);
        f->cfg.cleanup_settle_ms = 10000;
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                usleep(1200000);
                _exit(rename(next, live) == 0 ? 0 : 1);
        }
        assert_int_equal(cleanup_source(&f->cfg, UUID, &f->o), CLEANUP_DONE);
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_false(exists(f->dir));
}

static void test_source_journal(void **state)
{
        struct fixture *f = *state;
        struct journal j = { .uuid = UUID, .name = NAME, .started = time(NULL) };
        record(f, PROOF_MIGRATED, 0);
        assert_int_equal(journal_save(f->state, &j), 0);
        assert_int_equal(cleanup_source(&f->cfg, UUID, &f->o), CLEANUP_REFUSED);
        assert_true(exists(f->dir));
        _cleanup_free_ char *p = pending(f, "source");
        assert_non_null(strstr(p, "unresolved"));
}

static void test_source_unsafe_dir(void **state)
{
        struct fixture *f = *state;
        _cleanup_free_ char *elsewhere = pathf("%s/elsewhere", f->root), *keep = pathf("%s/elsewhere/keep", f->root);
        record(f, PROOF_MIGRATED, 0);
        /* the instance directory is a symlink */
        assert_int_equal(rename(f->dir, elsewhere), 0);
        put(keep, "keep\n");
        assert_int_equal(symlink(elsewhere, f->dir), 0);
        assert_int_equal(cleanup_source(&f->cfg, UUID, &f->o), CLEANUP_REFUSED);
        _cleanup_free_ char *p = pending(f, "source"), *k = slurp(keep);
        assert_non_null(strstr(p, "symlink"));
        assert_string_equal(k, "keep\n");
        struct stat st;
        assert_int_equal(lstat(f->dir, &st), 0);
        assert_true(S_ISLNK(st.st_mode));

        /* on a shared filesystem (a recorded mount table says cephfs for
         * its mount id): left in place, refused with the reason on record */
        assert_int_equal(unlink(f->dir), 0);
        assert_int_equal(rename(elsewhere, f->dir), 0);
        _cleanup_free_ char *mi = pathf("%s/mountinfo", f->root);
        fake_mountinfo(mi, f->inst, "cephfs");
        set_field(&f->cfg.mountinfo, "%s", mi);
        assert_int_equal(cleanup_source(&f->cfg, UUID, &f->o), CLEANUP_REFUSED);
        assert_true(exists(f->dir));
        assert_int_equal(quarantined(f), 0);
        _cleanup_free_ char *p2 = pending(f, "source");
        assert_non_null(p2);
        assert_non_null(strstr(p2, "is on cephfs (test:/export mounted at "));
        assert_non_null(strstr(p2, "not a type listed in [filesystems] local: treated as shared; nothing is removed from a "
                                   "directory another host may use"));

        /* invalid names never get anywhere */
        assert_true(cleanup_source(&f->cfg, "../../etc", &f->o) < 0);
        assert_true(cleanup_rollback(&f->cfg, "..", &f->o) < 0);
        assert_true(cleanup_commit(&f->cfg, UUID "/..", &f->o) < 0);
}

/* Two cleanups of the same guest at once: one moves it, the other finds
 * nothing to do (it never reports a refusal). */
static void test_source_concurrent(void **state)
{
        struct fixture *f = *state;
        for (int round = 0; round < 5; round++) {
                if (round > 0)
                        assert_int_equal(mkdir(f->dir, 0755), 0);
                record(f, PROOF_MIGRATED, 0);
                pid_t pids[4];
                int done = 0, nothing = 0;
                for (int i = 0; i < 4; i++) {
                        pids[i] = fork();
                        assert_true(pids[i] >= 0);
                        if (pids[i] == 0) {
                                log_open("test", 0, false);
                                _exit(cleanup_source(&f->cfg, UUID, &f->o) + 10);
                        }
                }
                for (int i = 0; i < 4; i++) {
                        int status;
                        assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
                        assert_true(WIFEXITED(status));
                        if (WEXITSTATUS(status) == 10 + CLEANUP_DONE)
                                done++;
                        else if (WEXITSTATUS(status) == 10 + CLEANUP_NOTHING)
                                nothing++;
                        else
                                fail_msg("round %d: a concurrent cleanup returned %d", round, WEXITSTATUS(status) - 10);
                }
                assert_int_equal(done, 1);
                assert_int_equal(nothing, 3);
                assert_int_equal(quarantined(f), round + 1);
                _cleanup_free_ char *p = pending(f, "source");
                assert_null(p);
        }
}

/* A new incoming migration clears the proof: a cleanup decided on it can no
 * longer act, and the lock makes the hook wait for one that is acting. */
static void test_lock_and_incoming(void **state)
{
        struct fixture *f = *state;
        int pipefd[2];

        record(f, PROOF_MIGRATED, 0);
        assert_int_equal(pipe(pipefd), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                int l = state_lock(f->state, UUID, 0);
                char c = l >= 0 ? 'y' : 'n';
                (void)!write(pipefd[1], &c, 1);
                usleep(600000);
                _exit(0);
        }
        char c;
        assert_int_equal(read(pipefd[0], &c, 1), 1);
        assert_int_equal(c, 'y');
        assert_int_equal(state_lock(f->state, UUID, 0), -EAGAIN);
        assert_int_equal(proof_incoming_begin(f->state, UUID, 100), -EAGAIN);
        struct proof p;
        assert_int_equal(proof_load(f->state, UUID, &p), 0); /* untouched while locked */
        proof_free(&p);
        assert_int_equal(proof_incoming_begin(f->state, UUID, 5000), 0); /* waits for the holder */
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        close(pipefd[0]);
        close(pipefd[1]);
        assert_int_equal(proof_load(f->state, UUID, &p), -ENOENT);
        assert_int_equal(cleanup_source(&f->cfg, UUID, &f->o), CLEANUP_REFUSED);
        assert_true(exists(f->dir));
        int l = state_lock(f->state, UUID, 0);
        assert_true(l >= 0);
        close(l);
        assert_int_equal(state_lock(f->state, "../x", 0), -EINVAL);
}

/* A process holds the guest's lock until someone else opens the lock file
 * (a cleanup that has made all its checks and now waits for the lock), then
 * calls meanwhile() while still holding it, and lets go: what a cleanup must
 * re-check under the lock happens in the very window it guards. Returns the
 * holder's pid once it holds the lock. */
static pid_t hold_lock_then(struct fixture *f, void (*meanwhile)(struct fixture *f))
{
        int pipefd[2];
        assert_int_equal(pipe(pipefd), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                _cleanup_free_ char *lockfile = pathf("%s/lock/%s", f->state, UUID);
                int l = state_lock(f->state, UUID, 0), in = inotify_init1(IN_CLOEXEC);
                bool ok = l >= 0 && in >= 0 && inotify_add_watch(in, lockfile, IN_OPEN) >= 0;
                char c = ok ? 'y' : 'n';
                (void)!write(pipefd[1], &c, 1);
                struct pollfd p = { .fd = in, .events = POLLIN };
                if (!ok || poll(&p, 1, 20000) != 1)
                        _exit(1);
                meanwhile(f);
                _exit(0);
        }
        char c = 0;
        assert_int_equal(read(pipefd[0], &c, 1), 1);
        assert_int_equal(c, 'y');
        close(pipefd[0]);
        close(pipefd[1]);
        return pid;
}

static void holder_done(pid_t pid)
{
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void incoming_begins(struct fixture *f)
{
        struct journal j = { .uuid = UUID, .name = NAME, .started = time(NULL) };
        if (journal_save(f->state, &j) < 0)
                _exit(2);
}

/* A source cleanup with a migrated proof on record checks everything, then
 * waits for the lock while meanwhile() changes the state under it: it must
 * refuse for the reason given, and move nothing. */
static void source_refused_under_lock(struct fixture *f, void (*meanwhile)(struct fixture *f), const char *reason)
{
        record(f, PROOF_MIGRATED, 0);
        f->o.lock_timeout_ms = 20000;
        pid_t holder = hold_lock_then(f, meanwhile);
        assert_int_equal(cleanup_source(&f->cfg, UUID, &f->o), CLEANUP_REFUSED);
        holder_done(holder);
        assert_true(exists(f->dir));
        assert_int_equal(quarantined(f), 0);
        _cleanup_free_ char *p = pending(f, "source");
        assert_non_null(p);
        assert_non_null(strstr(p, reason));
}

/* A new incoming migration of the guest (its journal) holds the lock: under
 * the lock the cleanup must see the journal, not act on what it checked
 * before. */
static void test_source_recheck_under_lock(void **state)
{
        source_refused_under_lock(*state, incoming_begins, "an incoming migration of this guest to this host started meanwhile");
}

static void proof_cleared(struct fixture *f)
{
        if (proof_clear(f->state, UUID) <= 0)
                _exit(2);
}

/* Written over the old one (proof_record renames a new file over it): a
 * clear first could let the new file reuse the old one's inode number. */
static void proof_replaced(struct fixture *f)
{
        struct proof p = { .uuid = UUID, .kind = PROOF_MIGRATED, .by = "hook", .name = NAME, .time = time(NULL), .detail = "new" };
        if (proof_record(f->state, &p) < 0)
                _exit(2);
}

/* The proof the cleanup decided on is cleared, or replaced by another,
 * while it waits for the lock. */
static void test_source_proof_changed_under_lock(void **state)
{
        source_refused_under_lock(*state, proof_cleared, "the proof was cleared or replaced meanwhile");
        source_refused_under_lock(*state, proof_replaced, "the proof was cleared or replaced meanwhile");
}

/* ---- rollback ---- */

/* A journal as the hook writes it: the directory with its identity now
 * (followed: what a symlink there points to), the bridge with an ifindex. */
static void save_journal(struct fixture *f, time_t started, const char *dir, const char *br)
{
        struct journal j = { .uuid = UUID, .name = NAME, .started = started };
        if (dir) {
                assert_int_equal(strv_push(&j.dirs, dir), 0);
                struct dir_ident id;
                int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (fd >= 0 && dir_ident_fd(fd, &id) == 0)
                        assert_int_equal(journal_set_dir_id(&j, dir, &id), 0);
                if (fd >= 0)
                        close(fd);
        }
        if (br) {
                assert_int_equal(strv_push(&j.bridges, br), 0);
                assert_int_equal(journal_set_bridge_ifindex(&j, br, 999), 0);
        }
        assert_int_equal(strv_push(&j.stripped, "sda /x/disk.config"), 0);
        assert_int_equal(journal_save(f->state, &j), 0);
        j.uuid = j.name = NULL;
        journal_free(&j);
}

static void test_rollback_refusals(void **state)
{
        struct fixture *f = *state;
        _cleanup_free_ char *jp = pathf("%s/journal/%s", f->state, UUID);
        time_t now = time(NULL);

        /* no journal: nothing was created here (or it was committed) */
        assert_int_equal(cleanup_rollback(&f->cfg, UUID, &f->o), CLEANUP_NOTHING);
        assert_true(exists(f->dir));

        save_journal(f, now, f->dir, "qbrmigkittest0");
        assert_int_equal(cleanup_rollback(&f->cfg, UUID, &f->o), CLEANUP_REFUSED); /* no proof */
        _cleanup_free_ char *p = pending(f, "rollback");
        assert_non_null(strstr(p, "no proof that the incoming migration failed"));
        record(f, PROOF_MIGRATED, now);
        assert_int_equal(cleanup_rollback(&f->cfg, UUID, &f->o), CLEANUP_REFUSED); /* wrong kind */
        record(f, PROOF_INCOMING_FAILED, now - 100);
        assert_int_equal(cleanup_rollback(&f->cfg, UUID, &f->o), CLEANUP_REFUSED); /* an earlier attempt's */
        free(p);
        p = pending(f, "rollback");
        assert_non_null(strstr(p, "earlier attempt"));
        record(f, PROOF_INCOMING_FAILED, now);
        /* a proof, libvirt forgot the domain, but the journal says it arrived or went post-copy */
        for (int mark = 0; mark < 2; mark++) {
                struct journal j;
                assert_int_equal(journal_load(f->state, UUID, &j), 0);
                *(mark ? &j.postcopy : &j.arrived) = now;
                assert_int_equal(journal_save(f->state, &j), 0);
                journal_free(&j);
                assert_int_equal(cleanup_rollback(&f->cfg, UUID, &f->o), CLEANUP_REFUSED);
                free(p);
                p = pending(f, "rollback");
                assert_non_null(strstr(p, mark ? "post-copy began" : "never rolled back"));
                assert_true(exists(f->dir));
                save_journal(f, now, f->dir, "qbrmigkittest0");
        }
        set_field(&f->cfg.libvirt_uri, "%s", f->uri_defined);
        assert_int_equal(cleanup_rollback(&f->cfg, UUID, &f->o), CLEANUP_REFUSED); /* still defined */
        set_field(&f->cfg.libvirt_uri, "qemu+unix:///system?socket=%s/none", f->root);
        assert_int_equal(cleanup_rollback(&f->cfg, UUID, &f->o), CLEANUP_REFUSED); /* unreachable */
        assert_true(exists(f->dir));
        assert_true(exists(jp));
        assert_int_equal(quarantined(f), 0);
        put(jp, "garbage\n");
        assert_int_equal(cleanup_rollback(&f->cfg, UUID, &f->o), CLEANUP_REFUSED);
        assert_true(exists(f->dir));
}

static void test_rollback_ok(void **state)
{
        struct fixture *f = *state;
        _cleanup_free_ char *jp = pathf("%s/journal/%s", f->state, UUID), *other = pathf("%s/%s", f->inst, UUID2);
        time_t now = time(NULL);

        assert_int_equal(mkdir(other, 0755), 0); /* pre-existing, not in the journal */
        /* a bridge that no longer exists counts as gone; a directory that is
         * not this guest's is never touched; stripped cdroms need nothing */
        save_journal(f, now, f->dir, "qbrmigkit-gone");
        struct journal j;
        assert_int_equal(journal_load(f->state, UUID, &j), 0);
        assert_int_equal(strv_push(&j.dirs, other), 0);
        assert_int_equal(strv_push(&j.dirs, "/etc"), 0);
        assert_int_equal(strv_push(&j.bridges, "../../x"), 0);
        assert_int_equal(journal_save(f->state, &j), 0);
        journal_free(&j);
        record(f, PROOF_INCOMING_FAILED, now);

        _cleanup_free_ char *out = NULL;
        size_t len;
        FILE *rep = open_memstream(&out, &len);
        struct cleanup_opts dry = { .dry_run = true, .report = rep };
        assert_int_equal(cleanup_rollback(&f->cfg, UUID, &dry), CLEANUP_DONE);
        fclose(rep);
        assert_non_null(strstr(out, "would move"));
        assert_true(exists(f->dir));
        assert_true(exists(jp));

        assert_int_equal(cleanup_rollback(&f->cfg, UUID, &f->o), CLEANUP_DONE);
        assert_false(exists(f->dir));
        assert_true(exists(other));
        assert_true(exists("/etc/passwd"));
        assert_false(exists(jp));
        assert_int_equal(quarantined(f), 1);
        struct proof p;
        assert_int_equal(proof_load(f->state, UUID, &p), -ENOENT);
        assert_int_equal(cleanup_rollback(&f->cfg, UUID, &f->o), CLEANUP_NOTHING);
}

/* The new attempt's start time: fixed, so the check below does not depend
 * on both processes reading the clock within the same second. */
#define NEW_ATTEMPT_STARTED ((time_t)2000000000)

static void new_attempt(struct fixture *f)
{
        struct journal j = { .uuid = UUID, .name = NAME, .started = NEW_ATTEMPT_STARTED };
        if (journal_save(f->state, &j) < 0)
                _exit(2);
}

/* A rollback loaded the journal of a failed attempt and waits for the lock,
 * held by a new attempt that wrote its own journal: under the lock it must
 * see that the journal changed and undo nothing of the new attempt's. */
static void test_rollback_journal_changed(void **state)
{
        struct fixture *f = *state;
        _cleanup_free_ char *jp = pathf("%s/journal/%s", f->state, UUID);
        time_t now = time(NULL);
        save_journal(f, now - 10, f->dir, NULL);
        record(f, PROOF_INCOMING_FAILED, now);
        f->o.lock_timeout_ms = 20000;
        pid_t holder = hold_lock_then(f, new_attempt);
        assert_int_equal(cleanup_rollback(&f->cfg, UUID, &f->o), CLEANUP_REFUSED);
        holder_done(holder);
        assert_true(exists(f->dir));
        assert_true(exists(jp));
        assert_int_equal(quarantined(f), 0);
        struct journal j;
        assert_int_equal(journal_load(f->state, UUID, &j), 0);
        assert_int_equal(j.started, NEW_ATTEMPT_STARTED);
        journal_free(&j);
        _cleanup_free_ char *p = pending(f, "rollback");
        assert_non_null(p);
        assert_non_null(strstr(p, "changed meanwhile"));
}

/* A guest that migrated in successfully: the journal is committed, so a
 * later shutdown (even with a bogus failure proof) never rolls it back. */
static void test_commit(void **state)
{
        struct fixture *f = *state;
        _cleanup_free_ char *jp = pathf("%s/journal/%s", f->state, UUID);
        save_journal(f, time(NULL), f->dir, NULL);
        assert_int_equal(cleanup_commit(&f->cfg, UUID, &f->o), CLEANUP_DONE);
        assert_false(exists(jp));
        assert_int_equal(cleanup_commit(&f->cfg, UUID, &f->o), CLEANUP_NOTHING);
        record(f, PROOF_INCOMING_FAILED, 0);
        assert_int_equal(cleanup_rollback(&f->cfg, UUID, &f->o), CLEANUP_NOTHING);
        assert_true(exists(f->dir));
        assert_int_equal(quarantined(f), 0);
}

/* Items that cannot go yet stay in the journal and in a pending record. */
static void test_rollback_partial(void **state)
{
        struct fixture *f = *state;
        _cleanup_free_ char *jp = pathf("%s/journal/%s", f->state, UUID);
        time_t now = time(NULL);

        /* the directory is a symlink now: kept for later, with the reason */
        _cleanup_free_ char *elsewhere = pathf("%s/elsewhere", f->root);
        assert_int_equal(rename(f->dir, elsewhere), 0);
        assert_int_equal(symlink(elsewhere, f->dir), 0);
        save_journal(f, now, f->dir, NULL);
        record(f, PROOF_INCOMING_FAILED, now);
        assert_int_equal(cleanup_rollback(&f->cfg, UUID, &f->o), CLEANUP_PARTIAL);
        _cleanup_free_ char *p = pending(f, "rollback");
        assert_non_null(strstr(p, "symlink"));
        struct journal j;
        assert_int_equal(journal_load(f->state, UUID, &j), 0);
        assert_int_equal(strv_length(j.dirs), 1);
        assert_int_equal(strv_length(j.stripped), 0);
        assert_int_equal(j.started, now);
        journal_free(&j);
        assert_true(exists(elsewhere));
        /* fixed by hand: the next run finishes */
        assert_int_equal(unlink(f->dir), 0);
        assert_int_equal(rename(elsewhere, f->dir), 0);
        assert_int_equal(cleanup_rollback(&f->cfg, UUID, &f->o), CLEANUP_DONE);
        assert_false(exists(f->dir));
        assert_false(exists(jp));
        _cleanup_free_ char *p2 = pending(f, "rollback");
        assert_null(p2);
}

/* ---- pieces ---- */

static void test_bridge_ports(void **state)
{
        struct fixture *f = *state;
        _cleanup_free_ char *base = pathf("%s/sys/class/net/qbr1", f->root), *brif = pathf("%s/brif", base);
        _cleanup_free_ char *idx = pathf("%s/ifindex", base), *cmd = pathf("mkdir -p %s", brif);
        char **ports = NULL;

        assert_int_equal(system(cmd), 0);
        put(idx, "7\n");
        assert_int_equal(bridge_ports(f->cfg.sysfs_root, "qbr1", 7, &ports), 0);
        strv_free(ports);
        _cleanup_free_ char *t1 = pathf("%s/tap1", brif), *t2 = pathf("%s/vnet0", brif);
        assert_int_equal(mkdir(t1, 0755), 0);
        assert_int_equal(mkdir(t2, 0755), 0);
        assert_int_equal(bridge_ports(f->cfg.sysfs_root, "qbr1", 7, &ports), 2);
        assert_true(strv_contains(ports, "tap1") && strv_contains(ports, "vnet0"));
        strv_free(ports);
        /* another namespace's bridge of the same name */
        assert_int_equal(bridge_ports(f->cfg.sysfs_root, "qbr1", 8, NULL), -ESTALE);
        assert_int_equal(bridge_ports(f->cfg.sysfs_root, "qbr2", 7, NULL), -ENOENT);
        assert_int_equal(bridge_ports(f->cfg.sysfs_root, "../../etc", 7, NULL), -EINVAL);
        _cleanup_free_ char *rm = pathf("rm -rf %s", brif);
        assert_int_equal(system(rm), 0);
        assert_int_equal(bridge_ports(f->cfg.sysfs_root, "qbr1", 7, NULL), -ENOENT); /* not a bridge per sysfs */
}

static void test_proof_files(void **state)
{
        struct fixture *f = *state;
        _cleanup_free_ char *pp = pathf("%s/proof/%s", f->state, UUID);
        struct proof p = { .uuid = UUID, .kind = PROOF_MIGRATED, .by = "hook", .detail = "release end migrated" }, q;

        assert_int_equal(proof_record(f->state, &p), 0);
        struct stat st;
        assert_int_equal(stat(pp, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
        assert_int_equal(proof_load(f->state, UUID, &q), 0);
        assert_int_equal(q.kind, PROOF_MIGRATED);
        assert_string_equal(q.by, "hook");
        assert_null(q.name);
        assert_string_equal(q.detail, "release end migrated");
        assert_true(q.time > 0 && q.time <= time(NULL));
        assert_int_equal(proof_unchanged(f->state, &q), 1);
        assert_int_equal(proof_record(f->state, &p), 0); /* replaced: another file */
        assert_int_equal(proof_unchanged(f->state, &q), 0);
        proof_free(&q);

        struct proof bad = p;
        bad.by = "someone";
        assert_int_equal(proof_record(f->state, &bad), -EINVAL);
        bad = p;
        bad.kind = 7;
        assert_int_equal(proof_record(f->state, &bad), -EINVAL);
        bad = p;
        bad.detail = "two\nlines";
        assert_int_equal(proof_record(f->state, &bad), -EINVAL);
        bad = p;
        bad.uuid = "../../etc/passwd";
        assert_int_equal(proof_record(f->state, &bad), -EINVAL);

        static const char *const malformed[] = {
                "",
                "migkit-proof 2\nuuid " UUID "\nkind migrated\nby hook\ntime 5\n",
                "migkit-proof 1\nuuid " UUID "\nkind moved\nby hook\ntime 5\n",
                "migkit-proof 1\nuuid " UUID "\nkind migrated\nby nobody\ntime 5\n",
                "migkit-proof 1\nuuid " UUID "\nkind migrated\nby hook\ntime 5x\n",
                "migkit-proof 1\nuuid " UUID "\nkind migrated\nby hook\ntime 5\nextra 1\n",
                "migkit-proof 1\nuuid " UUID "\nkind migrated\nkind incoming-failed\nby hook\ntime 5\n",
                "migkit-proof 1\nkind migrated\nby hook\ntime 5\n",
        };
        for (size_t i = 0; i < ARRAY_SIZE(malformed); i++) {
                put(pp, malformed[i]);
                assert_int_equal(proof_load(f->state, UUID, &q), -EBADMSG);
        }
        assert_int_equal(unlink(pp), 0);
        assert_int_equal(symlink("/etc/passwd", pp), 0); /* never followed */
        assert_int_equal(proof_load(f->state, UUID, &q), -EBADMSG);
        assert_int_equal(proof_clear(f->state, UUID), 1);
        assert_true(exists("/etc/passwd"));
        assert_int_equal(proof_clear(f->state, UUID), 0);
        assert_int_equal(proof_load(f->state, "../x", &q), -EINVAL);
}

static void test_status(void **state)
{
        struct fixture *f = *state;
        _cleanup_free_ char *out = NULL;
        size_t len;
        time_t now = time(NULL);

        assert_int_equal(cleanup_source(&f->cfg, UUID, &f->o), CLEANUP_REFUSED);
        save_journal(f, now - 300, f->dir, "qbrx");
        record(f, PROOF_MIGRATED, now - 60);
        _cleanup_free_ char *d2 = pathf("%s/%s", f->inst, UUID2);
        assert_int_equal(mkdir(d2, 0755), 0);
        assert_int_equal(quarantine_dir(&f->cfg, UUID2, "test reason", "inst-2", 0, NULL, NULL), 1);
        FILE *s = open_memstream(&out, &len);
        assert_int_equal(status_print(&f->cfg, s, now), 4);
        fclose(s);
        assert_non_null(strstr(out, "pending source " UUID " - for "));
        assert_non_null(strstr(out, ": no proof that the guest runs elsewhere"));
        assert_non_null(strstr(out, "journal " UUID " " NAME " started 5min ago: dir "));
        assert_non_null(strstr(out, ", bridge qbrx, stripped sda /x/disk.config\n"));
        assert_non_null(strstr(out, "proof " UUID " " NAME " migrated by watch 60s ago: test\n"));
        assert_non_null(strstr(out, "quarantined " UUID2 " inst-2 0s ago, purged in 24h: "));
        assert_non_null(strstr(out, "(test reason)\n"));
}

static void test_config_keys(void **state)
{
        struct fixture *f = *state;
        _cleanup_free_ char *conf = pathf("%s/migkit.conf", f->root), *err = NULL;
        struct mk_config c;
        unsigned ms;

        assert_string_equal(f->cfg.libvirt_uri, f->uri_absent);
        struct mk_config d;
        assert_int_equal(config_defaults(&d), 0);
        assert_string_equal(d.libvirt_uri, "qemu:///system");
        assert_int_equal(d.cleanup_settle_ms, 30000);
        assert_int_equal(d.quarantine_retention_ms, 86400000u);
        config_free(&d);

        put(conf, "[cleanup]\nlibvirt-uri = test:///default\nsettle = 0\nretention = 30d\n");
        assert_int_equal(config_load(&c, conf, &err), 0);
        assert_string_equal(c.libvirt_uri, "test:///default");
        assert_int_equal(c.cleanup_settle_ms, 0);
        assert_int_equal(c.quarantine_retention_ms, 2592000000u);
        config_free(&c);
        put(conf, "[cleanup]\nretention = 31d\n");
        assert_int_equal(config_load(&c, conf, &err), -EINVAL);
        assert_non_null(strstr(err, "from 0s to 30d"));
        free(err);
        err = NULL;
        put(conf, "[cleanup]\nsettle = 11min\n");
        assert_int_equal(config_load(&c, conf, &err), -EINVAL);
        assert_int_equal(parse_duration_ms("12h", &ms), 0);
        assert_int_equal(ms, 43200000u);
        assert_int_equal(parse_duration_ms("2d", &ms), 0);
        assert_int_equal(ms, 172800000u);
        assert_int_equal(parse_duration_ms("50d", &ms), -EINVAL); /* past 2^32 ms */
        assert_int_equal(parse_duration_ms("1w", &ms), -EINVAL);
}

static void test_virt_lookup(void **state)
{
        struct fixture *f = *state;
        struct virt_domain d;
        _cleanup_free_ char *err = NULL;

        assert_int_equal(virt_domain_lookup(f->uri_defined, UUID, &d, NULL), 1);
        assert_string_equal(d.name, NAME);
        assert_string_equal(d.state, "running");
        assert_true(d.active);
        assert_true(d.persistent);
        virt_domain_free(&d);
        assert_int_equal(virt_domain_lookup(f->uri_absent, UUID, &d, NULL), 0);
        assert_int_equal(virt_domain_lookup(f->uri_defined, UUID2, NULL, NULL), 0);
        _cleanup_free_ char *bad = pathf("qemu+unix:///system?socket=%s/none", f->root);
        assert_int_equal(virt_domain_lookup(bad, UUID, &d, &err), -ECONNREFUSED);
        assert_non_null(err);
        assert_int_equal(virt_domain_lookup("", UUID, &d, NULL), -EINVAL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_source_no_proof, setup, teardown),
                cmocka_unit_test_setup_teardown(test_source_ok, setup, teardown),
                cmocka_unit_test_setup_teardown(test_source_defined, setup, teardown),
                cmocka_unit_test_setup_teardown(test_source_unreachable, setup, teardown),
                cmocka_unit_test_setup_teardown(test_source_settle, setup, teardown),
                cmocka_unit_test_setup_teardown(test_source_journal, setup, teardown),
                cmocka_unit_test_setup_teardown(test_source_unsafe_dir, setup, teardown),
                cmocka_unit_test_setup_teardown(test_source_concurrent, setup, teardown),
                cmocka_unit_test_setup_teardown(test_lock_and_incoming, setup, teardown),
                cmocka_unit_test_setup_teardown(test_source_recheck_under_lock, setup, teardown),
                cmocka_unit_test_setup_teardown(test_source_proof_changed_under_lock, setup, teardown),
                cmocka_unit_test_setup_teardown(test_rollback_journal_changed, setup, teardown),
                cmocka_unit_test_setup_teardown(test_rollback_refusals, setup, teardown),
                cmocka_unit_test_setup_teardown(test_rollback_ok, setup, teardown),
                cmocka_unit_test_setup_teardown(test_commit, setup, teardown),
                cmocka_unit_test_setup_teardown(test_rollback_partial, setup, teardown),
                cmocka_unit_test_setup_teardown(test_bridge_ports, setup, teardown),
                cmocka_unit_test_setup_teardown(test_proof_files, setup, teardown),
                cmocka_unit_test_setup_teardown(test_status, setup, teardown),
                cmocka_unit_test_setup_teardown(test_config_keys, setup, teardown),
                cmocka_unit_test_setup_teardown(test_virt_lookup, setup, teardown),
        };
        log_open("test-cleanup", 0, false);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
