/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* lib/mpath: the real libmpathcmd (dlopen) against multipathd's protocol.
 * The test moves into a new network namespace, where the abstract socket
 * @/org/kernel/linux/storage/multipathd is its own. There it first tries the
 * real multipathd (multipath-tools); where that cannot run (no
 * device-mapper in the kernel, as in containers) it says so and serves the
 * socket itself: a small fake multipathd that checks the framing (native
 * size_t length, NUL-terminated command) and answers as multipathd does. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>

#include "deadline.h"
#include "mpath.h"
#include "testutil.h"

#define skip_msg(...) do { print_message(__VA_ARGS__); print_message("\n"); skip(); } while (0)
#define SOCKET_NAME "/org/kernel/linux/storage/multipathd"
#define WWID1 "3600601604d903a00e8e4b3c7b6a6e811"

static bool in_netns;
static const char *netns_why = "";
static bool have_lib;
static int lfd = -1;


static int setup(void **state)
{
        struct mpath *m;
        (void)state;
        if (geteuid() != 0)
                netns_why = "not root";
        else if (unshare(CLONE_NEWNET) < 0)
                netns_why = strerror(errno);
        else
                in_netns = true;
        if (mpath_open("libmpathcmd.so.0", &m, NULL) == 0) {
                have_lib = true;
                mpath_close(m);
        }
        return 0;
}

static void require_protocol_env(void)
{
        if (!have_lib)
                skip_msg("SKIP: libmpathcmd.so.0 is not installed (package multipath-tools); protocol not tested");
        if (!in_netns)
                skip_msg("SKIP: cannot get a private network namespace for multipathd's abstract socket (%s)", netns_why);
}

static void test_library_absent(void **state)
{
        struct mpath *m = NULL;
        char *err = NULL;
        (void)state;
        assert_int_equal(mpath_open("libmpathcmd-absent.so.0", &m, &err), -ENOENT);
        assert_non_null(err);
        assert_non_null(strstr(err, "libmpathcmd-absent.so.0"));
        free(err);
        assert_int_equal(mpath_open("libc.so.6", &m, &err), -ENOSYS);
        free(err);
}

static void test_classify(void **state)
{
        (void)state;
        assert_int_equal(mpath_reply_classify("ok\n"), MPATH_REPLY_OK);
        assert_int_equal(mpath_reply_classify("fail\n"), MPATH_REPLY_FAIL);
        assert_int_equal(mpath_reply_classify("fail\nmap in use\n"), MPATH_REPLY_FAIL);
        assert_int_equal(mpath_reply_classify("blacklisted\n"), MPATH_REPLY_BLACKLISTED);
        assert_int_equal(mpath_reply_classify("timeout\n"), MPATH_REPLY_TIMEOUT);
        assert_int_equal(mpath_reply_classify("permission deny: need to be root\n"), MPATH_REPLY_DENIED);
        assert_int_equal(mpath_reply_classify("multipath-tools v0.9.4 (12/19, 2022)\nCLI commands reference:\n"), MPATH_REPLY_OTHER);
        assert_int_equal(mpath_reply_classify("okay\n"), MPATH_REPLY_OTHER);
}

/* ---- the real multipathd, where it can run -------------------------------- */

static void test_real_multipathd(void **state)
{
        struct mpath *m;
        char *reply = NULL;
        pid_t pid;
        int r = -1;
        (void)state;
        require_protocol_env();
        if (access("/sbin/multipathd", X_OK) != 0)
                skip_msg("SKIP: real multipathd: /sbin/multipathd is not installed; protocol tested against the fake multipathd");
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                int fd = open("/dev/null", O_RDWR);
                dup2(fd, 0), dup2(fd, 1), dup2(fd, 2);
                execl("/sbin/multipathd", "multipathd", "-d", "-s", (char *)NULL);
                _exit(127);
        }
        assert_int_equal(mpath_open("libmpathcmd.so.0", &m, NULL), 0);
        /* set-up: give it 3 s to listen; it exits at once without device-mapper */
        for (int i = 0; i < 60; i++) {
                if (waitpid(pid, NULL, WNOHANG) == pid) {
                        pid = 0;
                        break;
                }
                r = mpath_command(m, "show daemon", 1000, &reply);
                if (r == 0)
                        break;
                usleep(50000);
        }
        if (r != 0) {
                mpath_close(m);
                if (pid)
                        kill(pid, SIGTERM), waitpid(pid, NULL, 0);
                skip_msg("SKIP: real multipathd cannot run here (it %s; most likely no device-mapper in this kernel: "
                         "/dev/mapper/control); the protocol is tested against the fake multipathd below",
                         pid ? "never answered" : "exited at start");
        }
        print_message("real multipathd answered 'show daemon': %s", reply);
        free(reply);
        enum mpath_reply_kind kind;
        r = mpath_add_map(m, WWID1, 4000, &kind, &reply);
        print_message("real multipathd, add map %s: %s", WWID1, reply ? reply : "(no reply)\n");
        free(reply);
        mpath_close(m);
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
        assert_int_equal(r, 0);
        assert_int_equal(kind, MPATH_REPLY_FAIL); /* no such path here */
}

/* ---- the fake multipathd -------------------------------------------------- */

struct fake {
        const char *reply;   /* NULL: accept, read, never answer */
        char got[256];       /* the command received */
        size_t got_len;      /* the length field received */
        bool framing_ok;
        int hold_fd;
};

static void listen_fake(void)
{
        struct sockaddr_un a = { .sun_family = AF_UNIX };
        memcpy(a.sun_path + 1, SOCKET_NAME, strlen(SOCKET_NAME));
        lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_true(lfd >= 0);
        assert_int_equal(bind(lfd, (struct sockaddr *)&a, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(SOCKET_NAME))), 0);
        assert_int_equal(listen(lfd, 4), 0);
}

static bool read_n(int fd, void *buf, size_t n)
{
        size_t got = 0;
        while (got < n) {
                ssize_t k = read(fd, (char *)buf + got, n - got);
                if (k <= 0)
                        return false;
                got += (size_t)k;
        }
        return true;
}

static void *serve_one(void *arg)
{
        struct fake *f = arg;
        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
                return NULL;
        size_t len;
        if (read_n(fd, &len, sizeof(len)) && len > 0 && len < sizeof(f->got) && read_n(fd, f->got, len)) {
                f->got_len = len;
                f->framing_ok = f->got[len - 1] == '\0' && strlen(f->got) == len - 1;
        }
        if (!f->reply) {
                f->hold_fd = fd; /* hang: keep it open, answer nothing */
                return NULL;
        }
        size_t rlen = strlen(f->reply) + 1;
        (void)!write(fd, &rlen, sizeof(rlen));
        (void)!write(fd, f->reply, rlen);
        close(fd);
        return NULL;
}

static void fake_add_map(const char *reply, enum mpath_reply_kind want)
{
        struct fake f = { .reply = reply, .hold_fd = -1 };
        struct mpath *m;
        pthread_t t;
        char *got = NULL;
        enum mpath_reply_kind kind;
        assert_int_equal(mpath_open("libmpathcmd.so.0", &m, NULL), 0);
        assert_int_equal(pthread_create(&t, NULL, serve_one, &f), 0);
        assert_int_equal(mpath_add_map(m, WWID1, 2000, &kind, &got), 0);
        pthread_join(t, NULL);
        assert_true(f.framing_ok);
        assert_string_equal(f.got, "add map " WWID1);
        assert_int_equal(f.got_len, strlen("add map " WWID1) + 1);
        assert_string_equal(got, reply);
        assert_int_equal(kind, want);
        free(got);
        mpath_close(m);
}

static void test_fake_replies(void **state)
{
        (void)state;
        require_protocol_env();
        print_message("protocol test against the FAKE multipathd (socket @" SOCKET_NAME " in a private network namespace)\n");
        if (lfd < 0)
                listen_fake();
        fake_add_map("ok\n", MPATH_REPLY_OK);
        fake_add_map("fail\n", MPATH_REPLY_FAIL);
        fake_add_map("blacklisted\n", MPATH_REPLY_BLACKLISTED);
        fake_add_map("timeout\n", MPATH_REPLY_TIMEOUT);
        fake_add_map("permission deny: need to be root\n", MPATH_REPLY_DENIED);

        struct mpath *m;
        enum mpath_reply_kind kind;
        assert_int_equal(mpath_open("libmpathcmd.so.0", &m, NULL), 0);
        assert_int_equal(mpath_add_map(m, "3600 ; reconfigure", 1000, &kind, NULL), -EINVAL);
        mpath_close(m);
}

static void test_fake_hangs(void **state)
{
        struct fake f = { .reply = NULL, .hold_fd = -1 };
        struct mpath *m;
        pthread_t t;
        char *got = NULL;
        (void)state;
        require_protocol_env();
        if (lfd < 0)
                listen_fake();
        assert_int_equal(mpath_open("libmpathcmd.so.0", &m, NULL), 0);
        assert_int_equal(pthread_create(&t, NULL, serve_one, &f), 0);
        long t0 = now_ms();
        assert_int_equal(mpath_command(m, "add map " WWID1, 300, &got), -ETIMEDOUT);
        long took = now_ms() - t0;
        pthread_join(t, NULL);
        assert_null(got);
        assert_true(took >= 290 && took < 1000);
        close(f.hold_fd);

        /* the deadline cuts the timeout */
        f = (struct fake){ .reply = NULL, .hold_fd = -1 };
        assert_int_equal(pthread_create(&t, NULL, serve_one, &f), 0);
        deadline_start(200);
        t0 = now_ms();
        assert_int_equal(mpath_command(m, "add map " WWID1, 4000, &got), -ETIMEDOUT);
        took = now_ms() - t0;
        deadline_start(600000);
        pthread_join(t, NULL);
        close(f.hold_fd);
        assert_true(took >= 150 && took < 800);
        mpath_close(m);
}

static void test_no_daemon(void **state)
{
        struct mpath *m;
        char *got = NULL;
        (void)state;
        require_protocol_env();
        if (lfd >= 0) {
                close(lfd);
                lfd = -1;
        }
        assert_int_equal(mpath_open("libmpathcmd.so.0", &m, NULL), 0);
        long t0 = now_ms();
        assert_int_equal(mpath_command(m, "show daemon", 4000, &got), -ECONNREFUSED);
        assert_true(now_ms() - t0 < 200);
        mpath_close(m);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_library_absent),
                cmocka_unit_test(test_classify),
                cmocka_unit_test(test_real_multipathd),
                cmocka_unit_test(test_fake_replies),
                cmocka_unit_test(test_fake_hangs),
                cmocka_unit_test(test_no_daemon),
        };
        return cmocka_run_group_tests(tests, setup, NULL);
}
