/*
 * stream_int.h - internals of the Streaming API client: the stream object
 * shared by the caller's threads and the I/O thread.
 *
 * Locking: s->lock guards subs, the queue, stats, error and client_id; the
 * curl handles and the multi handle belong to the I/O thread alone.
 */
#ifndef SFC_STREAM_INT_H
#define SFC_STREAM_INT_H

#include <pthread.h>

#include <curl/curl.h>

#include "sfc/streaming.h"

#define STREAM_MOD      "streaming"
#define STREAM_MAX_MSGS 20000

struct stream_sub {
    char *name; /* as given, may carry ?filter */
    char *bare; /* without the filter: the replay key */
    enum sfc_stream_start start;
    bool has_committed;
    int64_t committed;
    bool received_any;
    uint64_t subscribed_gen; /* session generation it was sent on, 0 none */
    bool parked;             /* refused; resent after o.resubscribe_ms */
    int64_t parked_at;       /* monotonic ms */
    bool removed;            /* unsubscribe pending */
    struct stream_sub *next;
};

struct stream_qitem {
    struct sfc_stream_event *ev;
    struct stream_qitem *next;
};

struct sfc_stream {
    struct sfc_stream_options o;
    struct sfc_replay_store *own_store;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct stream_sub *subs;
    struct stream_qitem *head, *tail;
    size_t pending;
    int efd;                    /* readable while pending > 0 */
    unsigned receivers_waiting; /* callers blocked in receive */
    bool io_paused;             /* the I/O thread waits for room in the queue */
    bool dirty_subs;            /* subscriptions to send */
    pthread_t thread;
    volatile bool stop;
    char *error;
    sfc_err_t error_code;
    struct sfc_stream_stats stats;

    /* I/O thread only. */
    CURLM *multi;
    CURL *poll; /* the long poll */
    CURL *meta; /* handshake, subscribe, unsubscribe, disconnect */
    /* The session's cookies ("name=value; ..."), from every Set-Cookie of
     * its responses: one jar per Bayeux session, never shared. */
    char *cookies;
    char client_id[64];
    uint64_t session_gen; /* increases with every handshake */
    uint64_t api_gen;     /* api/ session generation used */
    char *cometd_url;
    char *auth_header;
    int64_t advice_timeout_ms;
    int64_t advice_interval_ms;
    int64_t last_reply_ms; /* monotonic: last answer from the server */
    int64_t last_ok_ms;    /* last successful exchange (give-up timer) */
    unsigned failures;     /* consecutive, for backoff */
    int msg_id;
};

/* What the I/O thread does next, after an exchange with the server. */
enum step {
    STEP_OK,
    STEP_RETRY,     /* transient: back off, same session */
    STEP_HANDSHAKE, /* the session is gone: start over */
    STEP_RELOGIN,   /* the Salesforce session is refused */
    STEP_STOP,
};

/* The long poll's reply (longpoll.c); I/O thread only. */
struct poll_reply {
    struct sfc_stream *s;
    long status;
    struct sfc_bayeux_reader reader;
    enum step step;                  /* what the connect reply asks for */
    bool got_body;                   /* the first byte of the reply arrived */
    struct sfc_stream_event **batch; /* events read, not yet queued */
    size_t nbatch, capbatch;
    size_t room;          /* events the queue takes before its bound */
    struct sfc_buf carry; /* the reply beyond the bound, unparsed */
    size_t carry_at;
    uint64_t dropped; /* data messages without a valid replay id */
};

void poll_reply_init(struct poll_reply *x, struct sfc_stream *s);
void poll_reply_free(struct poll_reply *x);
/* The transfer's CURLOPT_WRITEFUNCTION (its data: the poll_reply). */
size_t poll_reply_body(char *data, size_t size, size_t n, void *opaque);
/* Whether part of the reply waits in the carry buffer for room. */
bool poll_reply_holding(const struct poll_reply *x);
/* Feeds the carry buffer as far as the queue's bound allows; queues. */
void poll_reply_feed_carry(struct sfc_stream *s, struct poll_reply *x);
/* Queues the events read so far. */
void poll_reply_flush(struct sfc_stream *s, struct poll_reply *x);

/* Unparks subscriptions refused long enough ago (lock held). */
void stream_unpark_due_locked(struct sfc_stream *s);

/* A "403::Unknown client" error: the server forgot the session. */
bool stream_unknown_client(const struct sfc_bayeux_msg *m);

/* Like sfc_bayeux_event() but moves the data out of the parsed reply;
 * without @tree a message checked as text gives an event without its tree
 * (the stream's data_on_demand). */
sfc_err_t stream_bayeux_take_event(struct sfc_bayeux_msg *m,
                                   bool tree,
                                   struct sfc_stream_event **ev,
                                   char *errstr,
                                   size_t errstr_size);

/* The I/O thread (session.c). */
void *stream_io_main(void *arg);

/* Queue and bookkeeping used by the I/O thread (client.c); lock held. */
void stream_enqueue_locked(struct sfc_stream *s, struct sfc_stream_event *ev);
struct stream_sub *stream_sub_find_locked(struct sfc_stream *s,
                                          const char *bare);
/* Waits (at most 200 ms) for the consumer to take the queue to half its
 * bound; @or_subs: also for a change of subscriptions (client.c). */
void stream_wait_room(struct sfc_stream *s, bool or_subs);
void stream_fail_locked(struct sfc_stream *s,
                        sfc_err_t code,
                        const char *fmt,
                        ...) __attribute__((format(printf, 3, 4)));

#endif
