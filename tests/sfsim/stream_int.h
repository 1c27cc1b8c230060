/*
 * stream_int.h - internals of the Streaming API side: the event bus
 * (channels with retained, pre-serialised events), Bayeux clients, PushTopic
 * tracking, and the settings tests can change at run time.
 *
 * Locking: one mutex (st->lock) guards everything here; st->cond is
 * broadcast when events are published or clients change. Lock order is
 * store lock -> st->lock (record changes arrive with the store lock held).
 */
#ifndef SFSIM_STREAM_INT_H
#define SFSIM_STREAM_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "sfc/common.h"
#include "sim_int.h"
#include "sim_stream.h"

struct stream_event {
    int64_t replay;
    int64_t created_ms;
    char *json; /* the whole data message: {"channel":..,"data":{..}} */
    size_t len;
};

struct stream_channel {
    char *name;
    struct stream_event *ev; /* ring of retained events, oldest first */
    size_t head, count, cap;
    int64_t next_replay; /* next id to hand out */
    int64_t last_replay; /* newest id handed out, 0 before the first */
    int64_t published;
    struct stream_channel *next;
};

struct stream_sub {
    struct stream_channel *ch;
    char *name;     /* as subscribed (may carry a ?filter) */
    int64_t cursor; /* deliver events with replay > cursor */
    struct stream_sub *next;
};

struct stream_client {
    char id[32];
    char browser[32]; /* BAYEUX_BROWSER cookie value */
    char user_id[19];
    struct stream_sub *subs;
    int64_t last_seen_ms; /* monotonic: reconnect window */
    bool connected_once;  /* the first connect answers at once */
    uint64_t connect_seq; /* a newer connect releases a held one */
    int waiting;          /* held connects */
    struct stream_client *next;
};

struct stream_topic {
    char *name;
    char *id;
    struct sim_soql *q;
    char *object;
    bool active;
    bool on_create, on_update, on_delete, on_undelete;
    char notify_fields[16]; /* All, Referenced, Select, Where */
    struct stream_topic *next;
};

struct stream_settings {
    int64_t reconnect_window_ms; /* 40000 */
    int64_t retention_ms;        /* 24 h (PushTopic, generic) */
    int64_t retention_long_ms;   /* 72 h (CDC, platform events) */
    size_t max_events;           /* per channel */
    size_t max_batch_events;     /* per connect reply */
    size_t max_batch_bytes;
    int max_clients; /* per org */
    bool cdc;        /* publish change events */
    /* The first replay id of channels made from now on (0: a random small
     * one), e.g. near 2^63 to catch ids rounded through a double. */
    int64_t first_replay;
    /* A standard CometD server holds even the first /meta/connect, unless
     * it asks for advice with "advice":{"timeout":0}; Salesforce answers
     * it at once. */
    bool hold_first_connect;
};

struct sim_stream {
    struct sim *sim;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct stream_settings set;
    struct stream_channel *channels;
    struct stream_client *clients;
    struct stream_topic *topics;
    int n_clients;
    uint64_t reject_next_replay; /* reject_replay_id faults pending */
    pthread_t firehose_thread;
    bool firehose_running;
    atomic_bool stopping; /* the firehose is to end (read unlocked) */
    int64_t commit_number;
};

/* Bus (stream_bus.c); st->lock held. */
struct stream_channel *
stream_channel_get(struct sim_stream *st, const char *name, bool create);
/* Publishes @data (JSON text of the "data" object with a "%REPLAY%"-free
 * form: the replay id is inserted by the bus) on @channel. */
int64_t stream_publish(struct sim_stream *st,
                       const char *channel,
                       const char *data_before_replay,
                       const char *data_after_replay,
                       int64_t created_ms);
/* First index whose replay > @cursor, counted from the oldest. */
size_t stream_channel_after(const struct stream_channel *ch, int64_t cursor);
const struct stream_event *stream_channel_at(const struct stream_channel *ch,
                                             size_t i);
bool stream_channel_knows(const struct stream_channel *ch, int64_t replay);
int64_t stream_channel_oldest(const struct stream_channel *ch);
void stream_channels_free(struct sim_stream *st);
void stream_expire(struct sim_stream *st, int64_t now_wall_ms);

/* Producers (stream_topics.c); st->lock taken inside. */
void stream_topics_free(struct sim_stream *st);

/* Control (stream_control.c). */
void stream_firehose_stop(struct sim_stream *st);

/* ISO-8601 UTC with milliseconds, as Salesforce writes createdDate. */
void stream_iso_time(int64_t wall_ms, char *out, size_t size);

/* JSON string escaping into a buffer. */
void stream_json_str(struct sfc_buf *b, const char *s);

#endif
