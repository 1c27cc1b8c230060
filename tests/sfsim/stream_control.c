/*
 * The stream side's lifecycle and control plane: settings tests may change
 * (/_sim/stream/config), the firehose generator (/_sim/firehose), the
 * counters added to /_sim/stats, and reset.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stream_int.h"

struct firehose {
    struct sim_stream *st;
    char channel[256];
    int64_t count;
    double rate;
    size_t payload_bytes;
};

struct sim_stream *sim_stream_new(struct sim *sim)
{
    struct sim_stream *st = sfc_xcalloc(1, sizeof(*st));
    const char *cdc = getenv("SFSIM_CDC");

    st->sim = sim;
    pthread_mutex_init(&st->lock, NULL);
    pthread_cond_init(&st->cond, NULL);
    st->set.reconnect_window_ms = 40000;
    st->set.retention_ms = 24LL * 3600 * 1000;
    st->set.retention_long_ms = 72LL * 3600 * 1000;
    st->set.max_events = 200000;
    st->set.max_batch_events = 2000;
    st->set.max_batch_bytes = 8u << 20;
    st->set.max_clients = 2000;
    st->set.cdc = !cdc || strcmp(cdc, "0") != 0;
    return st;
}

void stream_firehose_stop(struct sim_stream *st)
{
    if (st->firehose_running) {
        atomic_store(&st->stopping, true);
        pthread_join(st->firehose_thread, NULL);
        st->firehose_running = false;
        atomic_store(&st->stopping, false);
    }
}

static void drop_clients(struct sim_stream *st)
{
    struct stream_client *c = st->clients, *n;

    for (; c; c = n) {
        struct stream_sub *s = c->subs, *sn;

        n = c->next;
        for (; s; s = sn) {
            sn = s->next;
            free(s->name);
            free(s);
        }
        free(c);
    }
    st->clients = NULL;
    st->n_clients = 0;
}

void sim_stream_destroy(struct sim_stream *st)
{
    if (!st)
        return;
    stream_firehose_stop(st);
    drop_clients(st);
    stream_channels_free(st);
    stream_topics_free(st);
    pthread_mutex_destroy(&st->lock);
    pthread_cond_destroy(&st->cond);
    free(st);
}

void sim_stream_reset(struct sim_stream *st)
{
    if (!st)
        return;
    stream_firehose_stop(st);
    pthread_mutex_lock(&st->lock);
    drop_clients(st);
    stream_channels_free(st);
    st->reject_next_replay = 0;
    pthread_cond_broadcast(&st->cond);
    pthread_mutex_unlock(&st->lock);
}

void sim_stream_stats(struct sim_stream *st, cJSON *out)
{
    cJSON *chans;

    if (!st)
        return;
    pthread_mutex_lock(&st->lock);
    cJSON_AddNumberToObject(out, "clients", st->n_clients);
    cJSON_AddNumberToObject(out, "topics", 0);
    chans = cJSON_AddObjectToObject(out, "channels");
    for (struct stream_channel *ch = st->channels; ch; ch = ch->next) {
        cJSON *c = cJSON_AddObjectToObject(chans, ch->name);

        cJSON_AddNumberToObject(c, "published", (double)ch->published);
        cJSON_AddNumberToObject(c, "retained", (double)ch->count);
        cJSON_AddNumberToObject(c, "last_replay", (double)ch->last_replay);
    }
    pthread_mutex_unlock(&st->lock);
}

/* Room for a generated event's text after its replay id, beside its pad. */
#define FIREHOSE_AFTER 512
/* Pads of up to 4 MB: events larger than an AMQP frame (128 KB). */
#define FIREHOSE_MAX_PAD (4 << 20)

/* One generated event: PushTopic-shaped, with its creation time in µs of
 * the wall clock (SentAt__c), read once, as the event is made.
 * @after: FIREHOSE_AFTER + payload_bytes of scratch. */
static void
firehose_one(struct firehose *f, int64_t i, const char *pad, char *after)
{
    char before[512];
    char when[40];
    int64_t now_us = sfc_wall_us();

    stream_iso_time(now_us / 1000, when, sizeof(when));
    snprintf(before, sizeof(before),
             "{\"channel\":\"%s\",\"data\":{\"event\":{\"createdDate\":\"%s\","
             "\"replayId\":",
             f->channel, when);
    snprintf(after, FIREHOSE_AFTER + f->payload_bytes,
             ",\"type\":\"created\"},\"sobject\":{\"Id\":\"003000000%09lld\","
             "\"Name\":\"Firehose %lld\",\"SentAt__c\":%lld,\"Payload__c\":"
             "\"%s\"}}}",
             (long long)i, (long long)i, (long long)now_us, pad);
    stream_publish(f->st, f->channel, before, after, now_us / 1000);
}

/* Sleeps until the monotonic time @due_us, at most 100 ms at a time so that
 * a stop is seen. */
static void sleep_until_us(const struct sim_stream *st, int64_t due_us)
{
    for (int64_t left;
         !atomic_load(&st->stopping) && (left = due_us - sfc_now_us()) > 0;) {
        int64_t at = left > 100000 ? sfc_now_us() + 100000 : due_us;
        struct timespec ts = {.tv_sec = (time_t)(at / 1000000),
                              .tv_nsec = (long)(at % 1000000) * 1000};

        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
    }
}

/*
 * Without a rate, events are made in batches of 64 as fast as they go.
 * With one, event i is made at start + i / rate, each at its own time (a
 * steady rate, for latency measurements); a generator that fell behind
 * catches up in batches of at most 64.
 */
static void *firehose_main(void *arg)
{
    struct firehose *f = arg;
    struct sim_stream *st = f->st;
    char *pad = sfc_xmalloc(f->payload_bytes + 1);
    char *after = sfc_xmalloc(FIREHOSE_AFTER + f->payload_bytes);
    int64_t start = sfc_now_us();

    memset(pad, 'x', f->payload_bytes);
    pad[f->payload_bytes] = '\0';
    for (int64_t i = 0; i < f->count && !atomic_load(&st->stopping);) {
        int64_t n = 64;

        if (f->rate > 0) {
            /* Events due by now: those with start + k / rate <= now. */
            int64_t due =
                (int64_t)((double)(sfc_now_us() - start) * f->rate / 1e6) + 1;

            if (due <= i) {
                sleep_until_us(st,
                               start + (int64_t)((double)i * 1e6 / f->rate));
                continue;
            }
            n = due - i < 64 ? due - i : 64;
        }
        /* Batches keep the lock short and let readers in. */
        pthread_mutex_lock(&st->lock);
        for (int64_t k = 0; k < n && i < f->count; k++, i++)
            firehose_one(f, i, pad, after);
        pthread_mutex_unlock(&st->lock);
    }
    sim_stats_add(st->sim, "stream_firehose_done", 1);
    free(pad);
    free(after);
    free(f);
    return NULL;
}

static void firehose(struct sim_stream *st,
                     const struct sim_request *req,
                     struct sim_response *resp)
{
    cJSON *body = cJSON_ParseWithLength(req->body, req->body_len), *out;
    const char *channel = NULL;
    int64_t count = 0, bytes = 1024;
    struct firehose *f;
    double rate = 0;

    if (sfc_json_get_str(body, "channel", &channel, NULL, 0) != SFC_OK ||
        channel[0] != '/' || strlen(channel) > 200) {
        cJSON_Delete(body);
        sim_response_error(resp, 400, "INVALID_FIELD", "channel is required",
                           false);
        return;
    }
    sfc_json_get_int64_opt(body, "count", &count, NULL, 0);
    sfc_json_get_int64_opt(body, "payload_bytes", &bytes, NULL, 0);
    if (cJSON_IsNumber(cJSON_GetObjectItem(body, "rate")))
        rate = cJSON_GetObjectItem(body, "rate")->valuedouble;
    if (bytes < 0 || bytes > FIREHOSE_MAX_PAD)
        bytes = 1024;
    stream_firehose_stop(st);
    pthread_mutex_lock(&st->lock);
    stream_channel_get(st, channel, true);
    pthread_mutex_unlock(&st->lock);
    f = sfc_xcalloc(1, sizeof(*f));
    f->st = st;
    snprintf(f->channel, sizeof(f->channel), "%s", channel);
    f->count = count;
    f->rate = rate;
    f->payload_bytes = (size_t)bytes;
    pthread_create(&st->firehose_thread, NULL, firehose_main, f);
    st->firehose_running = true;
    out = cJSON_CreateObject();
    cJSON_AddBoolToObject(out, "ok", true);
    cJSON_AddNumberToObject(out, "count", (double)count);
    sim_response_json(resp, 200, out);
    cJSON_Delete(body);
}

/* "first_replay" exactly as written (a double holds 53 bits only). */
static void first_replay(struct sim_stream *st,
                         const struct sim_request *req,
                         const cJSON *body)
{
    const char *v = NULL;
    size_t n = 0;

    if (!cJSON_GetObjectItemCaseSensitive(body, "first_replay"))
        return;
    if (sfc_json_member_find(req->body, req->body_len, "first_replay", &v,
                             &n) == SFC_JSON_FOUND)
        st->set.first_replay = strtoll(v, NULL, 10);
}

/* POST /_sim/stream/config: settings for tests (windows scaled down). */
static void configure(struct sim_stream *st,
                      const struct sim_request *req,
                      struct sim_response *resp)
{
    cJSON *body = cJSON_ParseWithLength(req->body, req->body_len);
    int64_t v;
    bool b;
    cJSON *out = cJSON_CreateObject();

    pthread_mutex_lock(&st->lock);
    v = st->set.reconnect_window_ms;
    sfc_json_get_int64_opt(body, "reconnect_window_ms", &v, NULL, 0);
    st->set.reconnect_window_ms = v;
    v = st->set.retention_ms;
    sfc_json_get_int64_opt(body, "retention_ms", &v, NULL, 0);
    st->set.retention_ms = st->set.retention_long_ms = v;
    v = (int64_t)st->set.max_events;
    sfc_json_get_int64_opt(body, "max_events", &v, NULL, 0);
    st->set.max_events = v > 0 ? (size_t)v : 1;
    v = (int64_t)st->set.max_batch_events;
    sfc_json_get_int64_opt(body, "max_batch_events", &v, NULL, 0);
    st->set.max_batch_events = v > 0 ? (size_t)v : 1;
    v = st->set.max_clients;
    sfc_json_get_int64_opt(body, "max_clients", &v, NULL, 0);
    st->set.max_clients = (int)v;
    b = st->set.cdc;
    sfc_json_get_bool_opt(body, "cdc", &b, NULL, 0);
    st->set.cdc = b;
    b = st->set.hold_first_connect;
    sfc_json_get_bool_opt(body, "hold_first_connect", &b, NULL, 0);
    st->set.hold_first_connect = b;
    first_replay(st, req, body);
    v = 0;
    sfc_json_get_int64_opt(body, "reject_replay_ids", &v, NULL, 0);
    st->reject_next_replay += (uint64_t)v;
    pthread_mutex_unlock(&st->lock);
    cJSON_AddBoolToObject(out, "ok", true);
    sim_response_json(resp, 200, out);
    cJSON_Delete(body);
}

void sim_stream_control(struct sim_stream *st,
                        const struct sim_request *req,
                        struct sim_response *resp)
{
    if (strcmp(req->path, "/_sim/firehose") == 0)
        firehose(st, req, resp);
    else if (strcmp(req->path, "/_sim/stream/config") == 0)
        configure(st, req, resp);
    else
        sim_response_error(resp, 404, "NOT_FOUND", "no such control", false);
}
