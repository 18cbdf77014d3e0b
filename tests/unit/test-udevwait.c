/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* lib/udevwait: event-driven waits on a temporary /dev root (inotify), the
 * deadline, and the real systemd-udevd with a loop device whose
 * /dev/disk/by-label link appears (started here if it is not running, and
 * stopped afterwards only if this test started it). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "deadline.h"
#include "testutil.h"
#include "udevwait.h"

/* cmocka 1.1 has skip() but no message: print the reason first. */
#define skip_msg(...) do { print_message(__VA_ARGS__); print_message("\n"); skip(); } while (0)

static char tmpdir[] = "/tmp/migkit-test-udevwait.XXXXXX";

static int setup(void **state)
{
        (void)state;
        return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
        (void)state;
        return rm_tree(tmpdir);
}


struct later {
        unsigned delay_ms;
        const char *cmd;   /* run with system() */
        long done_at;      /* when it returned */
};

static void *run_later(void *arg)
{
        struct later *l = arg;
        usleep(l->delay_ms * 1000);
        if (system(l->cmd) != 0)
                l->done_at = -1;
        else
                l->done_at = now_ms();
        return NULL;
}

/* The link appears 200 ms later, three directory levels that did not exist. */
static void test_appears_in_fake_dev(void **state)
{
        struct udevwait *w;
        pthread_t t;
        (void)state;
        _cleanup_free_ char *link = pathf("%s/dev1/disk/by-path/pci-0000:05:00.0-fc-0x5006016839a01c4e-lun-1", tmpdir);
        _cleanup_free_ char *cmd = pathf("mkdir -p %s/dev1/disk/by-path && ln -s ../../sdc '%s' && : > %s/dev1/sdc",
                                         tmpdir, link, tmpdir);
        _cleanup_free_ char *dev = pathf("%s/dev1", tmpdir);
        assert_int_equal(mkdir(dev, 0755), 0);
        assert_int_equal(udevwait_new(&w), 0);
        assert_int_equal(udevwait_add(w, link), 0);
        _cleanup_free_ char *bypath = pathf("%s/dev1/disk/by-path", tmpdir);
        assert_int_equal(udevwait_add_glob(w, bypath, "*-fc-0x5006016839a01c4e-lun-1"), 1);
        struct later l = { .delay_ms = 200, .cmd = cmd };
        long t0 = now_ms();
        assert_int_equal(pthread_create(&t, NULL, run_later, &l), 0);
        assert_int_equal(udevwait_all(w, 5000), 0);
        long t1 = now_ms();
        pthread_join(t, NULL);
        assert_true(l.done_at > 0);
        print_message("link appeared %ld ms after start, wait returned %ld ms after the link was made, %u wake-ups\n",
                      l.done_at - t0, t1 - l.done_at, udevwait_wakeups(w));
        assert_true(t1 - l.done_at < 100);
        assert_true(udevwait_present(w, 0) && udevwait_present(w, 1));
        assert_string_equal(udevwait_describe(w, 0), link);
        /* everything present: returns at once */
        t0 = now_ms();
        assert_int_equal(udevwait_all(w, 5000), 0);
        assert_true(now_ms() - t0 < 50);
        udevwait_free(w);
}

/* A dangling link is not the device; the target appearing completes it. */
static void test_dangling_link(void **state)
{
        struct udevwait *w;
        (void)state;
        _cleanup_free_ char *dir = pathf("%s/dev2/mapper", tmpdir);
        _cleanup_free_ char *cmd = pathf("mkdir -p %s && ln -s ../dm-3 %s/mpatha", dir, dir);
        assert_int_equal(system(cmd), 0);
        _cleanup_free_ char *link = pathf("%s/mpatha", dir), *target = pathf("%s/dev2/dm-3", tmpdir);
        assert_int_equal(udevwait_new(&w), 0);
        assert_int_equal(udevwait_add(w, link), 0);
        assert_int_equal(udevwait_next(w, 100), 0);
        put(target, "");
        assert_int_equal(udevwait_next(w, 2000), 1);
        assert_int_equal(udevwait_next(w, 50), 0); /* reported once */
        udevwait_free(w);
}

/* Waiting for devices to go (a deleted SCSI path): woken by the deletion,
 * not by a timer; a path that is already gone is done at once. */
static void test_gone(void **state)
{
        struct udevwait *w;
        pthread_t t;
        (void)state;
        _cleanup_free_ char *dir = pathf("%s/dev5", tmpdir), *sdc = pathf("%s/dev5/sdc", tmpdir),
                            *sdf = pathf("%s/dev5/sdf", tmpdir), *never = pathf("%s/dev5/sdz", tmpdir),
                            *cmd = pathf("rm %s/dev5/sdc %s/dev5/sdf", tmpdir, tmpdir);
        assert_int_equal(mkdir(dir, 0755), 0);
        put(sdc, "");
        assert_int_equal(symlink("sdc", sdf), 0); /* a link counts until it is gone itself */
        assert_int_equal(udevwait_new(&w), 0);
        assert_int_equal(udevwait_add_gone(w, sdc), 0);
        assert_int_equal(udevwait_add_gone(w, sdf), 1);
        assert_int_equal(udevwait_add_gone(w, never), 2);
        assert_int_equal(udevwait_next(w, 50), 1); /* sdz was never there */
        assert_true(udevwait_present(w, 2) && !udevwait_present(w, 0) && !udevwait_present(w, 1));
        struct later l = { .delay_ms = 200, .cmd = cmd };
        assert_int_equal(pthread_create(&t, NULL, run_later, &l), 0);
        assert_int_equal(udevwait_all(w, 5000), 0);
        long t1 = now_ms();
        pthread_join(t, NULL);
        assert_true(l.done_at > 0);
        print_message("gone: the wait returned %ld ms after the removal, %u wake-ups\n", t1 - l.done_at, udevwait_wakeups(w));
        assert_true(t1 - l.done_at < 100);
        udevwait_free(w);
}

static void test_timeout_no_polling(void **state)
{
        struct udevwait *w;
        (void)state;
        _cleanup_free_ char *p = pathf("%s/dev3/disk/by-id/wwn-0x600601604d903a00e8e4b3c7b6a6e811", tmpdir);
        assert_int_equal(udevwait_new(&w), 0);
        assert_int_equal(udevwait_add(w, p), 0);
        long t0 = now_ms();
        assert_int_equal(udevwait_all(w, 300), -ETIMEDOUT);
        long took = now_ms() - t0;
        print_message("timed out after %ld ms with %u wake-ups\n", took, udevwait_wakeups(w));
        assert_true(took >= 299 && took < 500);
        assert_false(udevwait_present(w, 0));
        assert_int_equal(udevwait_add(w, "relative/path"), -EINVAL);
        udevwait_free(w);
}

/* The hook's deadline cuts a longer timeout. */
static void test_deadline(void **state)
{
        struct udevwait *w;
        (void)state;
        _cleanup_free_ char *p = pathf("%s/dev4/never", tmpdir);
        assert_int_equal(udevwait_new(&w), 0);
        assert_int_equal(udevwait_add(w, p), 0);
        deadline_start(250);
        long t0 = now_ms();
        assert_int_equal(udevwait_all(w, 10000), -ETIMEDOUT);
        long took = now_ms() - t0;
        assert_true(took >= 240 && took < 600);
        deadline_start(600000);
        udevwait_free(w);
}

/* os-brick's way, as a reference measured in the same run: look, sleep
 * 2 s, look again (linuxscsi wait_for_path / the FC discovery loop). */
struct poller {
        const char *path;
        long found_at;     /* 0: never */
};

static void *poll_like_os_brick(void *arg)
{
        struct poller *p = arg;
        struct stat st;
        for (int i = 0; i < 6; i++) {
                if (stat(p->path, &st) == 0) {
                        p->found_at = now_ms();
                        break;
                }
                sleep(2);
        }
        return NULL;
}

static bool udevd_answers(void)
{
        return system("udevadm control --ping >/dev/null 2>&1") == 0;
}

static int run(const char *fmt, ...) _printf_(1, 2);
static int run(const char *fmt, ...)
{
        _cleanup_free_ char *cmd = NULL;
        va_list ap;
        va_start(ap, fmt);
        assert_true(vasprintf(&cmd, fmt, ap) >= 0);
        va_end(ap);
        return system(cmd);
}

/* Real udev: a loop device over an ext2 image with a fresh label; the wait
 * for /dev/disk/by-label/<label> must return as soon as udevd made it. */
static void test_real_udev_loop(void **state)
{
        pid_t udevd = 0;
        (void)state;

        if (geteuid() != 0)
                skip_msg("SKIP: real udev test needs root (losetup, systemd-udevd)");
        if (run("command -v losetup >/dev/null && command -v mkfs.ext2 >/dev/null && test -x /lib/systemd/systemd-udevd") != 0)
                skip_msg("SKIP: real udev test needs losetup, mkfs.ext2 and /lib/systemd/systemd-udevd (packages util-linux, e2fsprogs, udev)");
        if (run("losetup -f >/dev/null 2>&1") != 0)
                skip_msg("SKIP: real udev test: no free loop device (losetup -f failed; is /dev/loop-control there?)");
        if (!udevd_answers()) {
                udevd = fork();
                assert_true(udevd >= 0);
                if (udevd == 0) {
                        int fd = open("/dev/null", O_RDWR);
                        dup2(fd, 0), dup2(fd, 1), dup2(fd, 2);
                        execl("/lib/systemd/systemd-udevd", "systemd-udevd", (char *)NULL);
                        _exit(127);
                }
                /* test set-up, not the code under test: wait for its control socket */
                for (int i = 0; i < 100 && !udevd_answers(); i++) {
                        if (waitpid(udevd, NULL, WNOHANG) == udevd) {
                                udevd = 0;
                                break;
                        }
                        usleep(50000);
                }
                if (!udevd || !udevd_answers()) {
                        if (udevd)
                                kill(udevd, SIGTERM), waitpid(udevd, NULL, 0);
                        skip_msg("SKIP: systemd-udevd cannot run here (it exited or never answered udevadm control --ping)");
                }
                print_message("started systemd-udevd (pid %d) for this test\n", (int)udevd);
        } else
                print_message("systemd-udevd is already running; using it\n");

        char label[17];
        snprintf(label, sizeof(label), "mk%x%lx", (unsigned)getpid() & 0xffff, (unsigned long)now_ms() & 0xfffff);
        _cleanup_free_ char *img = pathf("%s/loop.img", tmpdir), *link = pathf("/dev/disk/by-label/%s", label);
        _cleanup_free_ char *devf = pathf("%s/loopdev", tmpdir);
        assert_int_equal(run("truncate -s 8M %s && mkfs.ext2 -q -F -L %s %s >/dev/null 2>&1", img, label, img), 0);
        _cleanup_free_ char *attach = pathf("losetup -f --show %s > %s", img, devf);

        struct udevwait *w;
        pthread_t t;
        assert_int_equal(udevwait_new(&w), 0);
        assert_true(udevwait_has_monitor(w));
        assert_int_equal(udevwait_add(w, link), 0);
        struct later l = { .delay_ms = 300, .cmd = attach };
        struct poller pl = { .path = link };
        pthread_t tp;
        long t0 = now_ms();
        assert_int_equal(pthread_create(&t, NULL, run_later, &l), 0);
        assert_int_equal(pthread_create(&tp, NULL, poll_like_os_brick, &pl), 0);
        int r = udevwait_all(w, 10000);
        long t1 = now_ms();
        pthread_join(t, NULL);
        pthread_join(tp, NULL);
        if (pl.found_at && l.done_at > 0)
                print_message("reference: polling every 2 s (os-brick) saw it %ld ms after losetup returned; "
                              "the event-driven wait %ld ms: %.0fx faster\n", pl.found_at - l.done_at, t1 - l.done_at,
                              (double)(pl.found_at - l.done_at) / (double)(t1 - l.done_at > 0 ? t1 - l.done_at : 1));
        _cleanup_free_ char *loopdev = NULL;
        if (read_full_file(devf, 64, &loopdev) > 0)
                loopdev[strcspn(loopdev, "\n")] = '\0';
        print_message("loop device %s attached %ld ms after the wait began; /dev/disk/by-label/%s seen %ld ms after "
                      "losetup returned (%u wake-ups)\n", loopdev ? loopdev : "?", l.done_at - t0, label, t1 - l.done_at,
                      udevwait_wakeups(w));
        udevwait_free(w);

        /* and the timeout: a label that never comes */
        assert_int_equal(udevwait_new(&w), 0);
        _cleanup_free_ char *never = pathf("/dev/disk/by-label/%s-x", label);
        assert_int_equal(udevwait_add(w, never), 0);
        long t2 = now_ms();
        int r2 = udevwait_all(w, 400);
        long t3 = now_ms();
        udevwait_free(w);

        if (loopdev && *loopdev)
                run("losetup -d %s", loopdev);
        if (udevd) {
                kill(udevd, SIGTERM);
                waitpid(udevd, NULL, 0);
        }
        assert_true(l.done_at > 0);
        assert_int_equal(r, 0);
        assert_true(t1 - l.done_at < 2000);
        assert_int_equal(r2, -ETIMEDOUT);
        assert_true(t3 - t2 >= 399 && t3 - t2 < 700);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_appears_in_fake_dev),
                cmocka_unit_test(test_dangling_link),
                cmocka_unit_test(test_gone),
                cmocka_unit_test(test_timeout_no_polling),
                cmocka_unit_test(test_deadline),
                cmocka_unit_test(test_real_udev_loop),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
