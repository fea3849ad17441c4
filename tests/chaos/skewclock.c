/* LD_PRELOAD shim for the chaos test: shifts the wall clock (CLOCK_REALTIME, gettimeofday, time) of one
 * process tree by DOCEXCHANGE_SKEW_SECONDS; monotonic clocks and sleeps are untouched. (Debian's libfaketime
 * 0.9.10 breaks Python 3.11's sleeps and condition waits when it shifts the clock.) */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>

static long skew_seconds(void) {
    static int init = 0;
    static long skew = 0;
    if (!init) {
        const char *s = getenv("DOCEXCHANGE_SKEW_SECONDS");
        skew = s ? strtol(s, NULL, 10) : 0;
        init = 1;
    }
    return skew;
}

int clock_gettime(clockid_t clk, struct timespec *tp) {
    static int (*real)(clockid_t, struct timespec *) = NULL;
    if (!real) real = (int (*)(clockid_t, struct timespec *))dlsym(RTLD_NEXT, "clock_gettime");
    int rc = real(clk, tp);
    if (rc == 0 && tp && (clk == CLOCK_REALTIME || clk == CLOCK_REALTIME_COARSE)) tp->tv_sec += skew_seconds();
    return rc;
}

int gettimeofday(struct timeval *restrict tv, void *restrict tz) {
    static int (*real)(struct timeval *restrict, void *restrict) = NULL;
    if (!real) real = (int (*)(struct timeval *restrict, void *restrict))dlsym(RTLD_NEXT, "gettimeofday");
    int rc = real(tv, tz);
    if (rc == 0 && tv) tv->tv_sec += skew_seconds();
    return rc;
}

time_t time(time_t *out) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (out) *out = ts.tv_sec;
    return ts.tv_sec;
}
