/*
 * stats.c - named counters and max gauges for /_sim/stats.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_int.h"
#include "sfc/common.h"

struct counter {
    char *name;
    int64_t value;
    uint32_t hash;
};

struct sim_stats {
    pthread_mutex_t lock;
    struct counter *c;
    size_t n, cap;
};

struct sim_stats *sim_stats_new(void)
{
    struct sim_stats *st = sfc_xcalloc(1, sizeof(*st));
    pthread_mutex_init(&st->lock, NULL);
    return st;
}

static void clear_locked(struct sim_stats *st)
{
    size_t i;
    for (i = 0; i < st->n; i++)
        free(st->c[i].name);
    st->n = 0;
}

void sim_stats_destroy(struct sim_stats *st)
{
    if (!st)
        return;
    clear_locked(st);
    free(st->c);
    pthread_mutex_destroy(&st->lock);
    free(st);
}

static uint32_t hash_str(const char *s)
{
    uint32_t h = 2166136261u;
    while (*s)
        h = (h ^ (unsigned char)*s++) * 16777619u;
    return h;
}

/* Finds or creates; call with the lock held. */
static struct counter *find_locked(struct sim_stats *st, const char *name)
{
    uint32_t h = hash_str(name);
    size_t i;

    for (i = 0; i < st->n; i++)
        if (st->c[i].hash == h && strcmp(st->c[i].name, name) == 0)
            return &st->c[i];
    if (st->n == st->cap) {
        st->cap = st->cap ? st->cap * 2 : 64;
        st->c = sfc_xrealloc(st->c, st->cap * sizeof(*st->c));
    }
    st->c[st->n].name = sfc_xstrdup(name);
    st->c[st->n].value = 0;
    st->c[st->n].hash = h;
    return &st->c[st->n++];
}

void sim_stats_add(struct sim *sim, const char *name, int64_t delta)
{
    pthread_mutex_lock(&sim->stats->lock);
    find_locked(sim->stats, name)->value += delta;
    pthread_mutex_unlock(&sim->stats->lock);
}

void sim_stats_max(struct sim *sim, const char *name, int64_t value)
{
    struct counter *c;
    pthread_mutex_lock(&sim->stats->lock);
    c = find_locked(sim->stats, name);
    if (value > c->value)
        c->value = value;
    pthread_mutex_unlock(&sim->stats->lock);
}

int64_t sim_stats_get(struct sim *sim, const char *name)
{
    uint32_t h = hash_str(name);
    int64_t v = 0;
    size_t i;

    pthread_mutex_lock(&sim->stats->lock);
    for (i = 0; i < sim->stats->n; i++)
        if (sim->stats->c[i].hash == h &&
            strcmp(sim->stats->c[i].name, name) == 0)
            v = sim->stats->c[i].value;
    pthread_mutex_unlock(&sim->stats->lock);
    return v;
}

cJSON *sim_stats_json(struct sim *sim)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *c = cJSON_AddObjectToObject(o, "counters");
    cJSON *stream;
    size_t i;

    pthread_mutex_lock(&sim->stats->lock);
    for (i = 0; i < sim->stats->n; i++)
        cJSON_AddNumberToObject(c, sim->stats->c[i].name,
                                (double)sim->stats->c[i].value);
    pthread_mutex_unlock(&sim->stats->lock);
    cJSON_AddNumberToObject(o, "api_used", (double)atomic_load(&sim->api_used));
    cJSON_AddNumberToObject(o, "api_limit", (double)sim->opt.daily_api_limit);
    cJSON_AddNumberToObject(o, "sessions", (double)sim_sessions_count(sim));
    cJSON_AddNumberToObject(o, "requests_logged",
                            (double)sim_reqlog_count(sim));
    cJSON_AddNumberToObject(o, "logins_last_minute",
                            (double)sim_auth_logins_last_minute(sim));
    if (sim->stream) {
        stream = cJSON_AddObjectToObject(o, "stream");
        sim_stream_stats(sim->stream, stream);
    }
    return o;
}

void sim_stats_reset(struct sim *sim)
{
    pthread_mutex_lock(&sim->stats->lock);
    clear_locked(sim->stats);
    pthread_mutex_unlock(&sim->stats->lock);
    atomic_store(&sim->api_used, 0);
}
