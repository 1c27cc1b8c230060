/*
 * reqlog.c - the recent request log behind GET /_sim/requests: arrival
 * time, method, path, status, duration and a hash of method+path+body, so
 * tests can assert retry counts and spacing, and replays of creates; and
 * the start of each REST data request's body, so tests can see what a
 * client put on the wire (logins and SOAP bodies carry passwords: never).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_int.h"
#include "sfc/common.h"

#define LOG_SIZE 4096
#define BODY_MAX 1024 /* bytes of a data request's body kept */

struct entry {
    int64_t wall_ms;
    int64_t dur_ms;
    char method[8];
    char path[120];
    int status;
    uint64_t hash;
    size_t body_len; /* of the whole body */
    char body[BODY_MAX + 1];
};

struct sim_reqlog {
    pthread_mutex_t lock;
    struct entry e[LOG_SIZE];
    uint64_t n; /* entries ever written */
};

struct sim_reqlog *sim_reqlog_new(void)
{
    struct sim_reqlog *l = sfc_xcalloc(1, sizeof(*l));
    pthread_mutex_init(&l->lock, NULL);
    return l;
}

void sim_reqlog_destroy(struct sim_reqlog *l)
{
    if (!l)
        return;
    pthread_mutex_destroy(&l->lock);
    free(l);
}

void sim_reqlog_add(struct sim *sim,
                    const struct sim_request *req,
                    int status,
                    int64_t wall_ms,
                    int64_t dur_ms,
                    uint64_t hash)
{
    struct sim_reqlog *l = sim->reqlog;
    struct entry *e;

    pthread_mutex_lock(&l->lock);
    e = &l->e[l->n++ % LOG_SIZE];
    e->wall_ms = wall_ms;
    e->dur_ms = dur_ms;
    snprintf(e->method, sizeof(e->method), "%s", req->method);
    snprintf(e->path, sizeof(e->path), "%s", req->path);
    e->status = status;
    e->hash = hash;
    e->body_len = 0;
    e->body[0] = '\0';
    if (strncmp(req->path, "/services/data/", 15) == 0) {
        e->body_len = req->body_len;
        snprintf(e->body, sizeof(e->body), "%.*s",
                 (int)(req->body_len < BODY_MAX ? req->body_len : BODY_MAX),
                 req->body);
    }
    pthread_mutex_unlock(&l->lock);
}

void sim_reqlog_clear(struct sim *sim)
{
    pthread_mutex_lock(&sim->reqlog->lock);
    sim->reqlog->n = 0;
    pthread_mutex_unlock(&sim->reqlog->lock);
}

uint64_t sim_reqlog_count(struct sim *sim)
{
    uint64_t n;
    pthread_mutex_lock(&sim->reqlog->lock);
    n = sim->reqlog->n;
    pthread_mutex_unlock(&sim->reqlog->lock);
    return n;
}

cJSON *sim_reqlog_json(struct sim *sim, int64_t since_ms, uint64_t from_seq)
{
    struct sim_reqlog *l = sim->reqlog;
    cJSON *arr = cJSON_CreateArray();
    uint64_t i, first;
    char hex[20];

    pthread_mutex_lock(&l->lock);
    first = l->n > LOG_SIZE ? l->n - LOG_SIZE : 0;
    if (from_seq > first)
        first = from_seq;
    for (i = first; i < l->n; i++) {
        const struct entry *e = &l->e[i % LOG_SIZE];
        cJSON *o;
        if (e->wall_ms < since_ms)
            continue;
        o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "seq", (double)i);
        cJSON_AddNumberToObject(o, "t", (double)e->wall_ms);
        cJSON_AddStringToObject(o, "method", e->method);
        cJSON_AddStringToObject(o, "path", e->path);
        cJSON_AddNumberToObject(o, "status", e->status);
        cJSON_AddNumberToObject(o, "ms", (double)e->dur_ms);
        snprintf(hex, sizeof(hex), "%016llx", (unsigned long long)e->hash);
        cJSON_AddStringToObject(o, "hash", hex);
        if (e->body_len) {
            cJSON_AddStringToObject(o, "body", e->body);
            if (e->body_len > BODY_MAX)
                cJSON_AddTrueToObject(o, "body_truncated");
        }
        cJSON_AddItemToArray(arr, o);
    }
    pthread_mutex_unlock(&l->lock);
    return arr;
}
