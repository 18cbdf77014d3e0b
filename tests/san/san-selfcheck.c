/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tests/run-suite's proof that a sanitizer report fails a test: each mode
 * plants one bug (heap: a write past a heap block; ubsan: a signed overflow;
 * leak: memory never freed), "clean" none. Built only with SANITIZE=1. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
        const char *mode = argc > 1 ? argv[1] : "clean";
        volatile int n = argc + 3;

        if (strcmp(mode, "heap") == 0) {
                char *volatile p = malloc((size_t)n);
                p[n + 8] = 1;
                printf("%d\n", p[0]);
                free(p);
        } else if (strcmp(mode, "ubsan") == 0) {
                volatile int x = 0x7fffffff;
                x += n;
                printf("%d\n", x);
        } else if (strcmp(mode, "leak") == 0) {
                char *volatile p = malloc(64);
                p[0] = 1;
                p = NULL;
        } else if (strcmp(mode, "clean") != 0) {
                fprintf(stderr, "usage: san-selfcheck heap|ubsan|leak|clean\n");
                return 2;
        }
        return 0;
}
