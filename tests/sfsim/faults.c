/*
 * faults.c - the table of armed faults: kind, path regex, method, and how
 * long each lasts (count of requests, seconds, or one-shot).
 */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sim_int.h"
#include "sfc/common.h"

#define MAX_FAULTS 64

struct fault {
    int id;
    char kind[48];
    bool has_re;
    regex_t re;
    char method[16];
    int64_t remaining;  /* -1 = unlimited (time-bound) */
    int64_t until_ms;   /* 0 = no time bound */
    int64_t skip;       /* matching requests to let through first */
    double probability; /* chance of firing on a match (1 = always) */
    cJSON *spec;
};

#define MAX_DROPPED 64

struct sim_faults {
    pthread_mutex_t lock;
    struct fault f[MAX_FAULTS];
    size_t n;
    int next_id;
    uint64_t dropped[MAX_DROPPED]; /* requests applied, then reset */
    size_t n_dropped;
};

void sim_faults_note_dropped(struct sim *sim, uint64_t h)
{
    struct sim_faults *fs = sim->faults;
    pthread_mutex_lock(&fs->lock);
    fs->dropped[fs->n_dropped++ % MAX_DROPPED] = h;
    pthread_mutex_unlock(&fs->lock);
}

bool sim_faults_was_dropped(struct sim *sim, uint64_t h)
{
    struct sim_faults *fs = sim->faults;
    bool hit = false;
    size_t i;
    pthread_mutex_lock(&fs->lock);
    for (i = 0; i < MAX_DROPPED && i < fs->n_dropped; i++)
        if (fs->dropped[i] == h)
            hit = true;
    pthread_mutex_unlock(&fs->lock);
    return hit;
}

struct sim_faults *sim_faults_new(void)
{
    struct sim_faults *f = sfc_xcalloc(1, sizeof(*f));
    pthread_mutex_init(&f->lock, NULL);
    f->next_id = 1;
    return f;
}

static void fault_free(struct fault *f)
{
    if (f->has_re)
        regfree(&f->re);
    cJSON_Delete(f->spec);
    memset(f, 0, sizeof(*f));
}

static void remove_at(struct sim_faults *fs, size_t i)
{
    fault_free(&fs->f[i]);
    memmove(&fs->f[i], &fs->f[i + 1], (fs->n - i - 1) * sizeof(fs->f[0]));
    fs->n--;
    memset(&fs->f[fs->n], 0, sizeof(fs->f[0]));
}

void sim_faults_destroy(struct sim_faults *f)
{
    if (!f)
        return;
    while (f->n)
        remove_at(f, f->n - 1);
    pthread_mutex_destroy(&f->lock);
    free(f);
}

static bool valid_kind(const char *k)
{
    size_t n = strlen(k);
    if (n == 0 || n >= 48)
        return false;
    return strspn(k, "abcdefghijklmnopqrstuvwxyz0123456789_") == n;
}

static int64_t spec_int(const cJSON *spec, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(spec, key);
    return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : 0;
}

static int
parse_spec(const cJSON *spec, struct fault *f, char *errstr, size_t sz)
{
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(spec, "kind");
    const cJSON *path = cJSON_GetObjectItemCaseSensitive(spec, "path");
    const cJSON *method = cJSON_GetObjectItemCaseSensitive(spec, "method");
    const cJSON *count = cJSON_GetObjectItemCaseSensitive(spec, "count");
    const cJSON *secs = cJSON_GetObjectItemCaseSensitive(spec, "seconds");

    if (!cJSON_IsString(kind))
        kind = cJSON_GetObjectItemCaseSensitive(spec, "fault");
    if (!cJSON_IsString(kind) || !valid_kind(kind->valuestring)) {
        sfc_errstr_set(errstr, sz, "\"kind\" must name a fault ([a-z0-9_])");
        return -1;
    }
    snprintf(f->kind, sizeof(f->kind), "%s", kind->valuestring);
    if (cJSON_IsString(path) && path->valuestring[0]) {
        if (regcomp(&f->re, path->valuestring, REG_EXTENDED | REG_NOSUB)) {
            sfc_errstr_set(errstr, sz, "bad \"path\" regex");
            return -1;
        }
        f->has_re = true;
    }
    if (cJSON_IsString(method))
        snprintf(f->method, sizeof(f->method), "%s", method->valuestring);
    f->remaining = 1;
    f->skip = spec_int(spec, "after");
    f->probability = 1.0;
    if (cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(spec, "probability")))
        f->probability =
            cJSON_GetObjectItemCaseSensitive(spec, "probability")->valuedouble;
    if (cJSON_IsNumber(secs) && secs->valuedouble > 0) {
        f->until_ms = sfc_now_ms() + (int64_t)(secs->valuedouble * 1000);
        f->remaining = -1;
    }
    if (cJSON_IsNumber(count))
        f->remaining =
            count->valuedouble < 0 ? -1 : (int64_t)count->valuedouble;
    f->spec = cJSON_Duplicate(spec, true);
    return 0;
}

int sim_faults_add(struct sim *sim, const cJSON *spec, char *errstr, size_t sz)
{
    struct sim_faults *fs = sim->faults;
    struct fault f;
    int id;

    memset(&f, 0, sizeof(f));
    if (!cJSON_IsObject(spec)) {
        sfc_errstr_set(errstr, sz, "fault must be a JSON object");
        return -1;
    }
    if (parse_spec(spec, &f, errstr, sz) < 0) {
        fault_free(&f);
        return -1;
    }
    pthread_mutex_lock(&fs->lock);
    if (fs->n == MAX_FAULTS) {
        pthread_mutex_unlock(&fs->lock);
        fault_free(&f);
        sfc_errstr_set(errstr, sz, "too many armed faults");
        return -1;
    }
    id = f.id = fs->next_id++;
    fs->f[fs->n++] = f;
    pthread_mutex_unlock(&fs->lock);
    return id;
}

void sim_faults_clear(struct sim *sim)
{
    struct sim_faults *fs = sim->faults;
    pthread_mutex_lock(&fs->lock);
    fs->n_dropped = 0;
    while (fs->n)
        remove_at(fs, fs->n - 1);
    pthread_mutex_unlock(&fs->lock);
}

static bool matches(const struct fault *f, const char *method, const char *path)
{
    if (f->method[0] && (!method || strcasecmp(f->method, method) != 0))
        return false;
    if (f->has_re && (!path || regexec(&f->re, path, 0, NULL, 0) != 0))
        return false;
    return true;
}

bool sim_fault_take(struct sim *sim,
                    const char *kind,
                    const char *method,
                    const char *path,
                    struct sim_fault_hit *out)
{
    struct sim_faults *fs = sim->faults;
    int64_t now = sfc_now_ms();
    bool fired = false;
    size_t i = 0;

    pthread_mutex_lock(&fs->lock);
    while (i < fs->n) {
        struct fault *f = &fs->f[i];
        if (f->until_ms && now >= f->until_ms) {
            remove_at(fs, i);
            continue;
        }
        if (strcmp(f->kind, kind) != 0 || !matches(f, method, path)) {
            i++;
            continue;
        }
        if (f->skip > 0) {
            f->skip--;
            i++;
            continue;
        }
        if (f->probability < 1.0 &&
            (double)(sim_rand(sim) % 1000000) / 1e6 >= f->probability) {
            i++;
            continue;
        }
        if (out) {
            memset(out, 0, sizeof(*out));
            snprintf(out->kind, sizeof(out->kind), "%s", f->kind);
            out->status = (int)spec_int(f->spec, "status");
            out->ms = spec_int(f->spec, "ms");
            out->params = cJSON_Duplicate(f->spec, true);
        }
        if (f->remaining > 0 && --f->remaining == 0)
            remove_at(fs, i);
        fired = true;
        break;
    }
    pthread_mutex_unlock(&fs->lock);
    if (fired) {
        char key[80];
        sim_stats_add(sim, "faults_fired", 1);
        snprintf(key, sizeof(key), "faults_fired:%s", kind);
        sim_stats_add(sim, key, 1);
    }
    return fired;
}

void sim_fault_hit_clear(struct sim_fault_hit *hit)
{
    if (!hit)
        return;
    cJSON_Delete(hit->params);
    hit->params = NULL;
}

cJSON *sim_faults_json(struct sim *sim)
{
    struct sim_faults *fs = sim->faults;
    cJSON *arr = cJSON_CreateArray();
    size_t i;

    pthread_mutex_lock(&fs->lock);
    for (i = 0; i < fs->n; i++) {
        cJSON *o = cJSON_Duplicate(fs->f[i].spec, true);
        cJSON_DeleteItemFromObjectCaseSensitive(o, "id");
        cJSON_AddNumberToObject(o, "id", fs->f[i].id);
        cJSON_AddNumberToObject(o, "remaining", (double)fs->f[i].remaining);
        cJSON_AddItemToArray(arr, o);
    }
    pthread_mutex_unlock(&fs->lock);
    return arr;
}
