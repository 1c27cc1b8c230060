/*
 * stream_int.h - internals of the Streaming API client: the stream object
 * shared by the caller's threads, the I/O thread and the store thread.
 *
 * Locking: s->lock (one mutex, no other lock is taken under it) guards
 * subs (with their positions and trackers), the queue, stats, error,
 * dirty_subs, io_paused, stop_by and the store thread's state; s->cond
 * (receivers, room in the queue, flushes) and s->store_cond (the store
 * thread's work) go with it, both waited on with CLOCK_MONOTONIC
 * deadlines. s->stop is an atomic, read without the lock (libcurl's
 * progress callback reads it). The curl handles, the cookie jar, the
 * session's state and advice belong to the I/O thread alone; the multi
 * handle too, except curl_multi_wakeup(), which any thread may call. The
 * replay store belongs to the store thread alone, which never calls it
 * under s->lock. Immutable after open: o, efd, multi.
 */
#ifndef SFC_STREAM_INT_H
#define SFC_STREAM_INT_H

#include <pthread.h>

#include <curl/curl.h>

#include "sfc/streaming.h"

#define STREAM_MOD "streaming"

/*
 * The replay ids of a channel's events received and not yet committed,
 * ascending, each with its deliveries not yet acknowledged (a re-delivered
 * id counts twice). The committed position is the last id of the longest
 * acknowledged prefix (commit.c).
 */
struct stream_track {
    int64_t *id;
    uint32_t *unacked;
    size_t head, n, cap; /* entries [head, head + n) */
};

struct stream_sub {
    char *name; /* as given, may carry ?filter */
    char *bare; /* without the filter: the replay key */
    enum sfc_stream_start start;
    /* The store's position: unknown until the store thread read it. */
    bool pos_known;
    bool stored_found;
    int64_t stored; /* what the store holds (when stored_found) */
    bool has_committed;
    int64_t committed; /* where to resume; -2: from the oldest event */
    bool dirty;        /* committed is to be written */
    struct stream_track track;
    uint64_t subscribed_gen; /* session generation it was sent on, 0 none */
    bool parked;             /* refused; resent after o.resubscribe_ms */
    int64_t parked_at;       /* monotonic ms */
    bool removed;            /* unsubscribe pending */
    struct stream_sub *next;
};

struct sfc_stream {
    struct sfc_stream_options o;
    struct sfc_replay_store *own_store;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct stream_sub *subs;
    /* The queue: a ring of @pending events from @qhead, @qcap a power of
     * two, grown when full (a meta exchange's reply is queued whole, even
     * beyond max_pending), never per event. @pending is changed under the
     * lock and read without it where a stale value is safe (only the I/O
     * thread adds, so it never sees too little). */
    struct sfc_stream_event **ring;
    size_t qcap, qhead;
    _Atomic size_t pending;
    int efd; /* readable while pending > 0 */
    /* The eventfd is written after the lock is let go, or the consumer it
     * wakes would find the lock still held and sleep again: efd_asked
     * counts the writes decided under the lock, efd_done the last one
     * made, efd_cleared the last one read back (stream_signal()). */
    uint64_t efd_asked, efd_cleared;
    _Atomic uint64_t efd_done;
    unsigned receivers_waiting; /* callers blocked in receive */
    bool io_paused;             /* the I/O thread waits for room in the queue */
    bool dirty_subs;            /* subscriptions to send */
    pthread_t thread;
    atomic_bool stop; /* set once by close; read without the lock */
    int64_t stop_by;  /* monotonic ms: when close must be done */
    char *error;
    sfc_err_t error_code;
    struct sfc_stream_stats stats;

    /* The store thread (store_thread.c), woken by store_cond. */
    pthread_t store_thread;
    pthread_cond_t store_cond;
    bool store_stop;
    bool store_work;          /* positions to read or write */
    bool store_napping;       /* the store thread pauses between writes */
    uint64_t flush_asked;     /* sfc_stream_flush() calls */
    uint64_t flush_done;      /* ... answered */
    uint64_t flushed_commits; /* stats.commits at the last good flush */
    sfc_err_t flush_rc;       /* the last flush's outcome */
    bool store_failing;       /* the last store call failed */
    char store_why[160];      /* what failed */
    int64_t store_failing_ms; /* monotonic: since when it fails */

    /* I/O thread only. */
    CURLM *multi;
    CURL *poll; /* the long poll */
    CURL *meta; /* handshake, subscribe, unsubscribe, disconnect */
    /* The session's cookies ("name=value; ..."), from every Set-Cookie of
     * its responses: one jar per Bayeux session, never shared. */
    char *cookies;
    char client_id[64];
    /* Increases with every handshake; written by the I/O thread under the
     * lock, read by it without (its only writer) and by others under it. */
    uint64_t session_gen;
    uint64_t api_gen; /* api/ session generation used */
    char *cometd_url;
    char *auth_header;
    int64_t advice_timeout_ms;
    int64_t advice_interval_ms;
    int64_t last_reply_ms; /* monotonic: last answer from the server */
    int64_t last_ok_ms;    /* last successful exchange (give-up timer) */
    unsigned failures;     /* consecutive, for backoff */
    int msg_id;
    bool first_connect; /* the session's first /meta/connect is next */
};

/* What the I/O thread does next, after an exchange with the server. */
enum step {
    STEP_OK,
    STEP_RETRY,     /* transient: back off, same session */
    STEP_HANDSHAKE, /* the session is gone: start over */
    STEP_RELOGIN,   /* the Salesforce session is refused */
    STEP_STOP,
};

struct poll_reply;

/*
 * What a meta message of a reply means to the exchange that reads it
 * (handshake, subscribe, connect); returns false to stop reading.
 */
typedef void (*reply_meta_fn)(struct poll_reply *x,
                              const struct sfc_bayeux_msg *m);

/*
 * The reply of any exchange with the server (longpoll.c), read message by
 * message as it arrives: data messages become events, queued in order;
 * meta messages go to @on_meta. Only the long poll is bounded by the
 * queue (the rest of its reply waits, unread); a meta exchange's events
 * are queued whole. The poll_reply_* functions below: Thread: I/O.
 * Locks: none held on entry; those that queue take the stream's.
 */
struct poll_reply {
    struct sfc_stream *s;
    CURL *h;
    bool bounded; /* stop at the queue's bound (the long poll) */
    reply_meta_fn on_meta;
    void *meta_ctx;
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
    int64_t read_us;  /* o.trace: when the last chunk arrived (wall µs) */
};

void poll_reply_init(struct poll_reply *x,
                     struct sfc_stream *s,
                     CURL *h,
                     bool bounded,
                     reply_meta_fn on_meta,
                     void *meta_ctx);
/* A connect reply's meta messages: advice and what the session does next. */
void poll_reply_connect_meta(struct poll_reply *x,
                             const struct sfc_bayeux_msg *m);
void poll_reply_free(struct poll_reply *x);
/* The transfer's CURLOPT_WRITEFUNCTION (its data: the poll_reply). */
size_t poll_reply_body(char *data, size_t size, size_t n, void *opaque);
/* Whether part of the reply waits in the carry buffer for room. */
bool poll_reply_holding(const struct poll_reply *x);
/* Feeds the carry buffer as far as the queue's bound allows; queues. */
void poll_reply_feed_carry(struct sfc_stream *s, struct poll_reply *x);
/* Queues the events read so far. */
void poll_reply_flush(struct sfc_stream *s, struct poll_reply *x);
/* At the end of the body: counts and logs the messages dropped as
 * malformed; false, counted and logged (with @then appended) when the
 * reply as a whole was broken. */
bool poll_reply_finish(struct sfc_stream *s,
                       struct poll_reply *x,
                       const char *then);

/* Unparks subscriptions refused long enough ago.
 * Thread: I/O. Locks: the stream's, held. */
void stream_unpark_due_locked(struct sfc_stream *s);

/* The server forgot the session (any wording of "unknown client", or a
 * failure advising a handshake): handshake, checked before 401 rules.
 * Pure. */
bool stream_unknown_client(const struct sfc_bayeux_msg *m);

/* Fills @m from one parsed message object; false when it is none. Pure. */
bool bayeux_message(const cJSON *j, struct sfc_bayeux_msg *m);

/* Like sfc_bayeux_event() but moves the data out of the parsed reply;
 * without @tree a message checked as text gives an event without its tree
 * (the stream's data_on_demand). Pure. */
sfc_err_t stream_bayeux_take_event(struct sfc_bayeux_msg *m,
                                   bool tree,
                                   struct sfc_stream_event **ev,
                                   char *errstr,
                                   size_t errstr_size);

/* The I/O thread's body (session.c); @arg is the stream. */
void *stream_io_main(void *arg);

/* Queues @ev (the queue takes it) and tracks its replay id for its
 * subscribed channel (client.c). Returns a ticket when the queue was empty
 * (else 0): the caller hands it to stream_signal() once it let the lock go.
 * Thread: I/O. Locks: the stream's, held. */
uint64_t stream_enqueue_locked(struct sfc_stream *s,
                               struct sfc_stream_event *ev);
/* Makes the eventfd readable for the events queued with @ticket. Thread:
 * I/O. Locks: none (the stream's let go). */
void stream_signal(struct sfc_stream *s, uint64_t ticket);

/* Commit tracking (commit.c). Thread: I/O (received), the consumer's
 * (acknowledged). Locks: the stream's, held. */
void stream_track_received_locked(struct sfc_stream *s,
                                  struct stream_sub *u,
                                  int64_t id);
void stream_track_ack_locked(struct sfc_stream *s,
                             struct stream_sub *u,
                             int64_t id);
void stream_track_free(struct stream_track *t);
/* The replay id a (re)subscription asks for (the position is known).
 * Thread: I/O. Locks: the stream's, held. */
int64_t stream_replay_for_locked(struct sfc_stream *s, struct stream_sub *u);

/* The store thread's body (store_thread.c); @arg is the stream. At a stop
 * it writes what is pending once more, by s->stop_by. */
void *stream_store_main(void *arg);
/* Wakes the store thread for new work. Thread: any. Locks: the stream's,
 * held. */
void stream_store_kick_locked(struct sfc_stream *s);
/* Frees a subscription taken off the list. Thread: any. */
void stream_sub_free(struct stream_sub *u);
/* The subscription of channel @bare (no filter), or NULL; borrowed while
 * the lock is held. Thread: any. Locks: the stream's, held. */
struct stream_sub *stream_sub_find_locked(struct sfc_stream *s,
                                          const char *bare);
/* Waits (at most 200 ms) for the consumer to take the queue to half its
 * bound; @or_subs: also for a change of subscriptions (client.c).
 * Thread: I/O. Locks: takes the stream's. */
void stream_wait_room(struct sfc_stream *s, bool or_subs);
/* Stops the stream for good with @code and a message (the first failure
 * wins; receive() returns it, the fd turns readable). Thread: any.
 * Locks: the stream's, held. */
void stream_fail_locked(struct sfc_stream *s,
                        sfc_err_t code,
                        const char *fmt,
                        ...) __attribute__((format(printf, 3, 4)));

#endif
