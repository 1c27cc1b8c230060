/*
 * Coalescing of creates: create calls for one sObject type that arrive
 * within a short window share one sObject Collections request.
 *
 * The first caller of a window is the leader: it waits until the window
 * closes (or the batch is full), sends the batch with allOrNone false, and
 * hands every caller its own SaveResult. The others block until then. A
 * window that gathered a single record is sent as a plain create, so the
 * caller sees exactly what an uncoalesced create would give.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rpc_int.h"

struct batch_slot {
    const cJSON *fields; /* borrowed: its caller blocks until done */
    char *id;
    struct sfc_api_error *e;
    sfc_err_t rc;
};

struct batch {
    char *sobject;
    struct batch_slot *slots;
    size_t n, cap;
    size_t refs; /* callers still to collect their result */
    bool closed; /* no more joiners */
    bool done;   /* results are in */
    pthread_cond_t cond;
    struct batch *next;
};

struct rpc_coalescer {
    struct sfc_api_client *api;
    int64_t window_ms;
    size_t max_batch;
    pthread_mutex_t lock;
    struct batch *open;
    uint64_t creates, requests;
};

struct rpc_coalescer *rpc_coalescer_new(struct sfc_api_client *api,
                                        int64_t window_ms,
                                        size_t max_batch)
{
    struct rpc_coalescer *co = sfc_xcalloc(1, sizeof(*co));

    co->api = api;
    co->window_ms = window_ms;
    co->max_batch = max_batch < 1 ? 1 : max_batch > 200 ? 200 : max_batch;
    pthread_mutex_init(&co->lock, NULL);
    return co;
}

void rpc_coalescer_destroy(struct rpc_coalescer *co)
{
    if (!co)
        return;
    pthread_mutex_destroy(&co->lock);
    free(co);
}

void rpc_coalescer_stats(struct rpc_coalescer *co,
                         uint64_t *creates,
                         uint64_t *requests)
{
    pthread_mutex_lock(&co->lock);
    *creates = co->creates;
    *requests = co->requests;
    pthread_mutex_unlock(&co->lock);
}

static void unlink_batch(struct rpc_coalescer *co, struct batch *b)
{
    for (struct batch **pp = &co->open; *pp; pp = &(*pp)->next)
        if (*pp == b) {
            *pp = b->next;
            break;
        }
    b->closed = true;
}

/* A failed SaveResult's first error as an api error (HTTP 400, like the
 * same create sent on its own). */
static struct sfc_api_error *save_error(const cJSON *res)
{
    const cJSON *errs = cJSON_GetObjectItemCaseSensitive(res, "errors");
    const cJSON *first = cJSON_GetArrayItem(errs, 0);
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(first, "statusCode");
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(first, "message");
    const cJSON *fields = cJSON_GetObjectItemCaseSensitive(first, "fields");
    const cJSON *f;
    struct sfc_buf b;
    struct sfc_api_error *e;

    if (!cJSON_IsString(code))
        code = cJSON_GetObjectItemCaseSensitive(first, "errorCode");
    sfc_buf_init(&b, 0);
    cJSON_ArrayForEach(f, fields) if (cJSON_IsString(f))
        sfc_buf_appendf(&b, "%s%s", b.len ? "," : "", f->valuestring);
    e = sfc_api_error_new(
        SFC_ERR_SALESFORCE, 400,
        cJSON_IsString(code) ? code->valuestring : "UNKNOWN_EXCEPTION",
        b.data ? b.data : "", "%s",
        cJSON_IsString(msg) ? msg->valuestring : "the record was not created");
    sfc_buf_free(&b);
    return e;
}

static struct sfc_api_error *copy_error(const struct sfc_api_error *e)
{
    return sfc_api_error_new(e->code, e->http_status, e->error_code, e->fields,
                             "%s", e->message);
}

/* Sends a closed batch and fills its slots. Runs without the lock. */
static void send_batch(struct rpc_coalescer *co, struct batch *b)
{
    struct sfc_api_error *e = NULL;
    cJSON *records, *results = NULL;
    sfc_err_t rc;

    if (b->n == 1) {
        struct batch_slot *s = &b->slots[0];

        s->rc = sfc_api_create(co->api, b->sobject, s->fields, &s->id, &s->e);
        return;
    }
    records = cJSON_CreateArray();
    for (size_t i = 0; i < b->n; i++)
        cJSON_AddItemReferenceToArray(records, (cJSON *)b->slots[i].fields);
    rc = sfc_api_collection(co->api, SFC_API_COLL_CREATE, b->sobject, NULL,
                            records, false, &results, &e);
    cJSON_Delete(records);
    for (size_t i = 0; i < b->n; i++) {
        struct batch_slot *s = &b->slots[i];
        const cJSON *res = cJSON_GetArrayItem(results, (int)i);
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(res, "id");
        bool ok = false;

        if (rc != SFC_OK) {
            s->rc = rc;
            s->e = copy_error(e);
            continue;
        }
        sfc_json_get_bool_opt(res, "success", &ok, NULL, 0);
        if (ok && cJSON_IsString(id)) {
            s->rc = SFC_OK;
            s->id = sfc_xstrdup(id->valuestring);
        } else if (res) {
            s->rc = SFC_ERR_SALESFORCE;
            s->e = save_error(res);
        } else {
            s->rc = SFC_ERR_PROTOCOL;
            s->e = sfc_api_error_new(SFC_ERR_PROTOCOL, 200, NULL, NULL,
                                     "sObject Collections answered %d results "
                                     "for %zu records",
                                     cJSON_GetArraySize(results), b->n);
        }
    }
    cJSON_Delete(results);
    sfc_api_error_destroy(e);
}

static void deadline_in(struct timespec *ts, int64_t ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += (time_t)(ms / 1000);
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

static struct batch *batch_new(struct rpc_coalescer *co, const char *sobject)
{
    struct batch *b = sfc_xcalloc(1, sizeof(*b));
    pthread_condattr_t ca;

    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&b->cond, &ca);
    pthread_condattr_destroy(&ca);
    b->sobject = sfc_xstrdup(sobject);
    b->cap = co->max_batch;
    b->slots = sfc_xcalloc(b->cap, sizeof(*b->slots));
    b->next = co->open;
    co->open = b;
    return b;
}

sfc_err_t rpc_coalesced_create(struct rpc_coalescer *co,
                               const char *sobject,
                               const cJSON *fields,
                               char **id,
                               struct sfc_api_error **err)
{
    struct batch *b;
    bool leader = false;
    size_t idx;
    sfc_err_t rc;

    pthread_mutex_lock(&co->lock);
    for (b = co->open; b; b = b->next)
        if (strcmp(b->sobject, sobject) == 0)
            break;
    if (!b) {
        b = batch_new(co, sobject);
        leader = true;
    }
    idx = b->n++;
    b->slots[idx].fields = fields;
    b->refs++;
    co->creates++;
    if (b->n == b->cap) {
        unlink_batch(co, b);
        pthread_cond_broadcast(&b->cond);
    }
    if (leader) {
        struct timespec until;

        deadline_in(&until, co->window_ms);
        while (!b->closed)
            if (pthread_cond_timedwait(&b->cond, &co->lock, &until) ==
                ETIMEDOUT)
                break;
        if (!b->closed)
            unlink_batch(co, b);
        co->requests++;
        pthread_mutex_unlock(&co->lock);
        send_batch(co, b);
        pthread_mutex_lock(&co->lock);
        b->done = true;
        pthread_cond_broadcast(&b->cond);
    } else {
        while (!b->done)
            pthread_cond_wait(&b->cond, &co->lock);
    }
    rc = b->slots[idx].rc;
    *id = b->slots[idx].id;
    b->slots[idx].id = NULL;
    if (err)
        *err = b->slots[idx].e;
    else
        sfc_api_error_destroy(b->slots[idx].e);
    b->slots[idx].e = NULL;
    if (--b->refs == 0) {
        pthread_cond_destroy(&b->cond);
        free(b->slots);
        free(b->sobject);
        free(b);
    }
    pthread_mutex_unlock(&co->lock);
    return rc;
}
