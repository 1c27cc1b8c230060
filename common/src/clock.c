/* Clocks, sleeping, jittered backoff and a per-thread random source. */
#include <errno.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/random.h>

#include "sfc/common.h"

static int64_t clock_us(clockid_t id)
{
    struct timespec ts;

    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t sfc_now_ms(void)
{
    return clock_us(CLOCK_MONOTONIC) / 1000;
}

int64_t sfc_now_us(void)
{
    return clock_us(CLOCK_MONOTONIC);
}

int64_t sfc_wall_ms(void)
{
    return clock_us(CLOCK_REALTIME) / 1000;
}

int64_t sfc_wall_us(void)
{
    return clock_us(CLOCK_REALTIME);
}

void sfc_sleep_ms(int64_t ms)
{
    struct timespec req, rem;

    if (ms <= 0)
        return;
    req.tv_sec = ms / 1000;
    req.tv_nsec = (ms % 1000) * 1000000;
    while (nanosleep(&req, &rem) == -1 && errno == EINTR)
        req = rem;
}

bool sfc_sleep_ms_unless(int64_t ms, const atomic_bool *stop)
{
    int64_t until = sfc_now_ms() + ms;

    for (;;) {
        int64_t left = until - sfc_now_ms();

        if (stop && atomic_load(stop))
            return true;
        if (left <= 0)
            return false;
        sfc_sleep_ms(left < 100 ? left : 100);
    }
}

void sfc_cond_init_monotonic(pthread_cond_t *cond)
{
    pthread_condattr_t a;

    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(cond, &a);
    pthread_condattr_destroy(&a);
}

struct timespec sfc_deadline_ts(int64_t ms)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    if (ms < 0)
        ms = 0;
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    return ts;
}

uint64_t sfc_rand64(void)
{
    /* xorshift64*, seeded once per thread from the kernel. */
    static __thread uint64_t state;

    if (state == 0) {
        if (getrandom(&state, sizeof(state), 0) != sizeof(state))
            state = (uint64_t)clock_us(CLOCK_MONOTONIC) ^ (uint64_t)getpid();
        if (state == 0)
            state = 0x9E3779B97F4A7C15ULL;
    }
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    return state * 0x2545F4914F6CDD1DULL;
}

int64_t sfc_backoff_ms(unsigned attempt, int64_t base_ms, int64_t cap_ms)
{
    int64_t hi = base_ms;
    int64_t lo;

    if (base_ms <= 0)
        return 0;
    while (attempt-- > 0 && hi < cap_ms)
        hi *= 2;
    if (hi > cap_ms)
        hi = cap_ms;
    lo = base_ms / 2;
    if (lo > hi)
        lo = hi;
    return lo + (int64_t)(sfc_rand64() % (uint64_t)(hi - lo + 1));
}
