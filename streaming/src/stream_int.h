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
    bool parked;             /* refused for good; not resent */
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
    bool io_waiting_room;       /* the I/O thread waits for pending to drop */
    bool io_paused; /* the long poll's reply is held back for room */
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

/* Like sfc_bayeux_event() but moves the data out of the parsed reply. */
sfc_err_t stream_bayeux_take_event(struct sfc_bayeux_msg *m,
                                   struct sfc_stream_event **ev,
                                   char *errstr,
                                   size_t errstr_size);

/* The I/O thread (session.c). */
void *stream_io_main(void *arg);

/* Queue and bookkeeping used by the I/O thread (client.c); lock held. */
void stream_enqueue_locked(struct sfc_stream *s, struct sfc_stream_event *ev);
struct stream_sub *stream_sub_find_locked(struct sfc_stream *s,
                                          const char *bare);
void stream_fail_locked(struct sfc_stream *s,
                        sfc_err_t code,
                        const char *fmt,
                        ...) __attribute__((format(printf, 3, 4)));

#endif
