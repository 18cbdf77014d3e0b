/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Linked into every program of a SANITIZE=1 build (and nothing else): sends
 * UBSan's reports to files named by MIGKIT_SAN_LOG (one per process, PATH.PID),
 * as ASAN_OPTIONS=log_path does for ASan's. gcc links ASan and UBSan as two
 * runtimes and the UBSan one takes no log_path from UBSAN_OPTIONS when ASan
 * is there: without this, a UBSan report of a program a test started in the
 * background, or whose stderr it threw away, would be lost. tests/run-suite
 * fails a test that left any such file. */
#include <dlfcn.h>
#include <stdlib.h>

__attribute__((constructor)) static void sanlog_init(void)
{
        const char *path = getenv("MIGKIT_SAN_LOG");
        if (!path || !*path)
                return;
        void *ubsan = dlopen("libubsan.so.1", RTLD_NOW | RTLD_NOLOAD);
        if (!ubsan)
                return;
        void (*set_report_path)(const char *) = (void (*)(const char *))dlsym(ubsan, "__sanitizer_set_report_path");
        if (set_report_path)
                set_report_path(path);
        dlclose(ubsan);
}
