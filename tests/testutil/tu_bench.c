/* tu_bench.c - see tu_bench.h. */
#include <stdio.h>
#include <stdlib.h>

#include "sfc/api.h"
#include "tu_bench.h"

void tu_samples_push(struct tu_samples *s, int64_t x)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 1024;
        s->v = realloc(s->v, s->cap * sizeof(*s->v));
        if (!s->v)
            abort();
    }
    s->v[s->n++] = x;
}

void tu_samples_append(struct tu_samples *to, const struct tu_samples *from)
{
    for (size_t i = 0; i < from->n; i++)
        tu_samples_push(to, from->v[i]);
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return x < y ? -1 : x > y;
}

int64_t tu_samples_pct(struct tu_samples *s, double q)
{
    size_t i;

    if (!s->n)
        return -1;
    qsort(s->v, s->n, sizeof(*s->v), cmp64);
    i = (size_t)(q * (double)s->n);
    return s->v[i < s->n ? i : s->n - 1];
}

void tu_samples_free(struct tu_samples *s)
{
    free(s->v);
    *s = (struct tu_samples){0};
}

int tu_env_int(const char *name, int dflt)
{
    const char *v = getenv(name);

    return v && *v ? atoi(v) : dflt;
}

void tu_print_loadavg(const char *when)
{
    char buf[128] = "?\n";
    FILE *f = fopen("/proc/loadavg", "r");

    if (f) {
        if (!fgets(buf, sizeof(buf), f))
            snprintf(buf, sizeof(buf), "?\n");
        fclose(f);
    }
    printf("  load average %s: %s", when, buf);
}

void tu_sim_api_options(struct sfc_api_options *o, const char *login_url)
{
    sfc_api_options_init(o);
    o->login_url = login_url;
    o->username = "demo@sfsim.local";
    o->password = "demo-password";
    o->security_token = "DEMOTOKEN";
    o->client_id = "sfsim-client-id";
    o->client_secret = "sfsim-client-secret";
}
