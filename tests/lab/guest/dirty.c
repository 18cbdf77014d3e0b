/*
 * dirty — the lab guest's workload (runs as the initramfs' only program).
 *
 * Allocates MIB MiB, fills it, then keeps dirtying it at RATE MiB/s and
 * prints one heartbeat line a second on stdout (the serial console):
 *
 *   migkit-heartbeat 42 up=42s mem=64MiB rate=16MiB/s dirtied=736MiB bad=0
 *
 * The counter only ever increases while the guest runs, so a test that sees
 * it continue on the destination host knows the guest survived a migration
 * without rebooting.  Every page carries a stamp derived from its index and
 * its own write generation (kept in a separate array); pages are re-checked
 * continuously and `bad` counts stamps that do not match: a migration that
 * lost or mixed up memory shows up as bad>0.
 *
 * When a virtio disk appears (hot-plugged: the swap-volume test; the guest has
 * no other, so it is /dev/vda whatever libvirt calls it), it also
 * writes a pattern there ten times a second, each write synchronous:
 * record SEQ is the 512-byte text "migkit-pattern SEQ" at 4 KiB block
 * 1 + SEQ % 1023, and block 0 holds "migkit-pattern-latest SEQ". A host-side
 * reader sees from the file alone which writes reached it; the heartbeat
 * line ends with disk=SEQ (the last write the guest completed).
 *
 * Usage: dirty [MIB [RATE]]   (defaults 64 and 16; RATE 0 = fill once, idle)
 * Built with `gcc -static` by tests/lab/lab; no libc beyond the basics.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096UL
#define TICKS_PER_SEC 20

static uint64_t stamp(uint64_t idx, uint32_t gen)
{
	uint64_t x = (idx << 32) ^ gen ^ 0x9e3779b97f4a7c15ULL;
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return x;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void say(const char *s)
{
	size_t n = strlen(s);
	while (n > 0) {
		ssize_t w = write(1, s, n);
		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

#define DISK_BLOCKS 1024

/* One synchronous pattern write (record, then the latest pointer). */
static int disk_write(int fd, unsigned long long seq)
{
	char rec[512];
	memset(rec, 0, sizeof(rec));
	snprintf(rec, sizeof(rec), "migkit-pattern %llu\n", seq);
	if (pwrite(fd, rec, sizeof(rec), (off_t)(1 + seq % (DISK_BLOCKS - 1)) * 4096) != (ssize_t)sizeof(rec))
		return -1;
	memset(rec, 0, sizeof(rec));
	snprintf(rec, sizeof(rec), "migkit-pattern-latest %llu\n", seq);
	return pwrite(fd, rec, sizeof(rec), 0) == (ssize_t)sizeof(rec) ? 0 : -1;
}

int main(int argc, char **argv)
{
	unsigned long mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 64;
	unsigned long rate = argc > 2 ? strtoul(argv[2], NULL, 10) : 16;
	char line[256];

	if (mib == 0)
		mib = 1;
	size_t npages = mib * (1024 * 1024 / PAGE);
	unsigned char *mem = malloc(npages * PAGE);
	uint32_t *gen = calloc(npages, sizeof(*gen));
	if (!mem || !gen) {
		snprintf(line, sizeof(line), "migkit-dirty: cannot allocate %lu MiB\n", mib);
		say(line);
		return 1;
	}
	for (size_t i = 0; i < npages; i++)
		*(uint64_t *)(mem + i * PAGE) = stamp(i, 0);

	snprintf(line, sizeof(line), "migkit-dirty: started mem=%luMiB rate=%luMiB/s\n", mib, rate);
	say(line);

	/* pages to dirty per tick, spread over the whole area */
	size_t per_tick = rate * (1024 * 1024 / PAGE) / TICKS_PER_SEC;
	size_t verify_per_tick = npages / TICKS_PER_SEC + 1; /* whole area checked every second */
	size_t wpos = 0, vpos = 0;
	unsigned long long hb = 0, dirtied_pages = 0, bad = 0, disk_seq = 0, tick = 0;
	double start = now(), next_hb = start + 1.0, next_tick = start;
	int disk = -1;

	for (;;) {
		for (size_t k = 0; k < per_tick; k++) {
			size_t i = wpos;
			wpos = (wpos + 1) % npages;
			gen[i]++;
			*(uint64_t *)(mem + i * PAGE) = stamp(i, gen[i]);
			dirtied_pages++;
		}
		for (size_t k = 0; k < verify_per_tick; k++) {
			size_t i = vpos;
			vpos = (vpos + 1) % npages;
			if (*(uint64_t *)(mem + i * PAGE) != stamp(i, gen[i])) {
				bad++;
				/* re-stamp so one corruption is counted once */
				*(uint64_t *)(mem + i * PAGE) = stamp(i, gen[i]);
			}
		}
		tick++;
		if (disk < 0 && tick % TICKS_PER_SEC == 0)
			disk = open("/dev/vda", O_RDWR | O_SYNC | O_CLOEXEC);
		if (disk >= 0 && tick % (TICKS_PER_SEC / 10) == 0) {
			if (disk_write(disk, disk_seq + 1) == 0)
				disk_seq++;
			else { /* unplugged: look for it again */
				close(disk);
				disk = -1;
			}
		}
		double t = now();
		if (t >= next_hb) {
			hb++;
			snprintf(line, sizeof(line),
				 "migkit-heartbeat %llu up=%.0fs mem=%luMiB rate=%luMiB/s dirtied=%lluMiB bad=%llu disk=%llu\n",
				 hb, t - start, mib, rate, dirtied_pages * PAGE / (1024 * 1024), bad, disk_seq);
			say(line);
			next_hb += 1.0;
			if (next_hb < t) /* after a long pause (e.g. migration downtime) */
				next_hb = t + 1.0;
		}
		next_tick += 1.0 / TICKS_PER_SEC;
		double d = next_tick - now();
		if (d > 0) {
			struct timespec ts = { (time_t)d, (long)((d - (time_t)d) * 1e9) };
			nanosleep(&ts, NULL);
		} else if (d < -1.0) {
			next_tick = now(); /* falling behind (slow TCG): do not try to catch up */
		}
	}
}
