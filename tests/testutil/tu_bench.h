/*
 * tu_bench.h - what the benchmarks share (in sfc_testutil): a growing array
 * of figures with its percentiles, settings from the environment, and the
 * machine's load printed beside the figures.
 * Thread: any (each array its caller's). Locks: none.
 */
#ifndef SFC_TU_BENCH_H
#define SFC_TU_BENCH_H

#include <stddef.h>
#include <stdint.h>

/* Figures (e.g. µs), in the order pushed until a percentile sorts them. */
struct tu_samples {
    int64_t *v;
    size_t n, cap;
};

/* Appends @x (aborts when out of memory). */
void tu_samples_push(struct tu_samples *s, int64_t x);

/* Appends every figure of @from. */
void tu_samples_append(struct tu_samples *to, const struct tu_samples *from);

/* The @q quantile (0..1; 1 = the largest) of @s, which it sorts; -1 when
 * empty. */
int64_t tu_samples_pct(struct tu_samples *s, double q);

/* Frees the figures; @s is empty and reusable. */
void tu_samples_free(struct tu_samples *s);

/* $@name as an integer, @dflt when unset or empty. */
int tu_env_int(const char *name, int dflt);

struct sfc_api_options;

/* Initialises @o for sfsim's demo user at @login_url (sfsim_proc.url). */
void tu_sim_api_options(struct sfc_api_options *o, const char *login_url);

/* Prints "  load average <when>: <the 1, 5 and 15 min averages ...>". */
void tu_print_loadavg(const char *when);

#endif
