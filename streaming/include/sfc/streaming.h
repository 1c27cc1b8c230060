/*
 * sfc/streaming.h - a Salesforce Streaming API (CometD/Bayeux) client that
 * survives expired sessions, forgotten clients, dropped connections and slow
 * consumers, with durable replay: PushTopic (/topic/X), generic (/u/X),
 * platform events (/event/X__e) and Change Data Capture (/data/...).
 *
 * Threads: sfc_stream_open() starts one I/O thread that owns the long-poll
 * curl handle and runs the Bayeux session, and one store thread that alone
 * calls the replay store (its I/O never holds up the session). subscribe,
 * unsubscribe, receive, ack, commit, pending, stats and the fd may be called
 * from any thread (they take the stream's lock); receive is meant for one
 * consumer thread.
 *
 * Delivery is at least once. The stream hands every data message of every
 * reply (handshake, subscribe, unsubscribe, connect) over, in the order the
 * server sent them; the consumer acknowledges each event once it is safe
 * (sfc_stream_ack), in any order; per subscribed channel the stream stores
 * the largest replay id X such that every event received with an id up to
 * X is acknowledged, never less than the stored position. Resuming after X
 * re-delivers what was received and not acknowledged, and loses nothing.
 */
#ifndef SFC_STREAMING_H
#define SFC_STREAMING_H

#include <stdbool.h>
#include <stdint.h>

#include "sfc/api.h"
#include "sfc/common.h"

#ifdef __cplusplus
extern "C" {
#endif

const char *sfc_streaming_version(void);

/* ------------------------------------------------------------------------ */
/* Replay stores                                                            */
/* ------------------------------------------------------------------------ */

/*
 * A store of the last committed replay id per channel ("resume after this
 * id"; -2 = from the oldest retained event). Implement the ops to plug in a
 * store of your own; the built-in ones are below.
 * Thread: calls are serialised by the stream (one at a time, on its store
 * thread).
 */
struct sfc_replay_store_ops {
    /* *found = false when the channel has no position. An error when the
     * store cannot say; SFC_ERR_REPLAY_INVALID when the channel had a
     * position that is gone (an expired key): never "no position". */
    sfc_err_t (*get)(void *ctx,
                     const char *channel,
                     int64_t *replay,
                     bool *found);
    sfc_err_t (*set)(void *ctx, const char *channel, int64_t replay);
    /* Makes every set() so far durable (may be NULL). */
    sfc_err_t (*flush)(void *ctx);
    void (*destroy)(void *ctx);
    /* May be NULL. Every call that follows returns by @until_ms (the
     * sfc_now_ms() clock), failing with SFC_ERR_TIMEOUT when the store
     * does not answer by then; 0 lifts the bound. The stream sets it for
     * its last writes at a stop, so that they end by the stop's deadline.
     * A store without it bounds its calls by itself, or holds up the
     * stop as long as a call takes. */
    void (*deadline)(void *ctx, int64_t until_ms);
};

struct sfc_replay_store;

/* A store around custom @ops and @ctx (destroy(ctx) runs at the end). */
struct sfc_replay_store *
sfc_replay_store_new(const struct sfc_replay_store_ops *ops, void *ctx);

/* Positions in memory only (lost on exit). */
struct sfc_replay_store *sfc_replay_store_new_memory(void);

/*
 * One JSON file {"channel": replayId, ...}, replaced atomically (write to a
 * temporary file, fsync, rename, fsync the directory), so a kill -9 at any
 * instant leaves either the old or the new content. Writes are coalesced to
 * at most one per @min_interval_ms (0 = every set); flush() and destroy
 * write what is pending. NULL with @errstr if the file exists but is
 * unreadable or corrupt.
 */
struct sfc_replay_store *sfc_replay_store_new_file(const char *path,
                                                   int64_t min_interval_ms,
                                                   char *errstr,
                                                   size_t errstr_size);

/*
 * Redis with nameko-salesforce's layout: key "<prefix>:<channel>" (prefix
 * default "salesforce:replay_id", channel e.g. "/topic/X"), the replay id
 * in decimal, EXPIRE @ttl_s when @ttl_s > 0 (0 = no expiry, the default a
 * position needs: an expired key loses events). The set "<prefix>:known"
 * names the channels that had a position, so that a key that is gone is
 * reported by get() (SFC_ERR_REPLAY_INVALID), not read as "start fresh".
 * @uri: redis://[:password@]host[:port][/db]. The connection is made lazily
 * and re-made after errors. Each call (a reconnection included) ends
 * within 1 s, or by the deadline when that is sooner: a Redis that does
 * not answer by then fails the call (SFC_ERR_TIMEOUT), and the stream
 * retries it with backoff. Host names are resolved by the system's
 * resolver, which that bound does not cover: give an address where a
 * stop must not wait for DNS.
 */
struct sfc_replay_store *sfc_replay_store_new_redis(const char *uri,
                                                    const char *prefix,
                                                    int64_t ttl_s,
                                                    char *errstr,
                                                    size_t errstr_size);

/*
 * The ops of @s. Thread: one at a time per store; while a stream uses the
 * store, only its store thread (the store has no lock of its own).
 */
sfc_err_t sfc_replay_store_get(struct sfc_replay_store *s,
                               const char *channel,
                               int64_t *replay,
                               bool *found);
sfc_err_t sfc_replay_store_set(struct sfc_replay_store *s,
                               const char *channel,
                               int64_t replay);
sfc_err_t sfc_replay_store_flush(struct sfc_replay_store *s);
/* The store's deadline op (see struct sfc_replay_store_ops), when it has
 * one. Thread: the one that calls the store. */
void sfc_replay_store_deadline(struct sfc_replay_store *s, int64_t until_ms);
void sfc_replay_store_destroy(struct sfc_replay_store *s);

/* ------------------------------------------------------------------------ */
/* Events                                                                   */
/* ------------------------------------------------------------------------ */

enum sfc_stream_kind {
    SFC_STREAM_KIND_PUSHTOPIC = 0,  /* /topic/X */
    SFC_STREAM_KIND_GENERIC,        /* /u/X */
    SFC_STREAM_KIND_PLATFORM_EVENT, /* /event/X */
    SFC_STREAM_KIND_CDC,            /* /data/X */
    SFC_STREAM_KIND_OTHER,
};

/* Kind of a channel name. Pure. */
enum sfc_stream_kind sfc_stream_kind_of(const char *channel);

/* One received event. Owned by the caller after receive(). */
/*
 * An event as the stream hands it over; sfc_stream_event_destroy() frees
 * it. Its strings (channel, created_date, event_type, entity, data_json)
 * share the event's one allocation: never free them on their own.
 */
struct sfc_stream_event {
    char *channel; /* as subscribed, without any ?filter */
    enum sfc_stream_kind kind;
    int64_t replay_id;
    char *created_date; /* ISO-8601 or NULL */
    char *event_type;   /* PushTopic created/updated/deleted/undeleted,
                           CDC CREATE/UPDATE/..., NULL otherwise */
    char *entity;       /* CDC entityName, else NULL */
    /* The Bayeux message's "data" member as a tree. NULL until
     * sfc_stream_event_data() is called when the stream was opened with
     * data_on_demand. */
    cJSON *data;
    /* The same member as Salesforce wrote it (JSON text), when the event
     * was read from a reply by the stream; NULL otherwise. */
    char *data_json;
    size_t data_json_len;
    /* Where data_json holds the record (see sfc_stream_event_record()),
     * as written. record_len is 0 when the stream did not find it (absent,
     * or after a key written with escapes). */
    size_t record_at, record_len;
    /* The Bayeux clientId of the session that delivered it ("" when it
     * did not come from a session). */
    char client_id[64];
    /* Only when the stream was opened with trace (else 0): wall-clock µs
     * (sfc_wall_us) at which the event's bytes were read from the socket,
     * it was queued, and receive() handed it over. */
    struct sfc_stream_trace {
        int64_t read_us, queued_us, taken_us;
    } trace;
};

/*
 * The event's record, what a consumer of the event gets as its body:
 * data.sobject (PushTopic), data.payload (CDC, platform events, generic
 * channels), the whole data (other channels; also when the member is
 * absent). Where the stream kept the text, a span of ev->data_json as
 * Salesforce wrote it, valid while @ev is (*owned = NULL); else printed
 * from the tree into *owned, which the caller frees. *len: its length.
 * An event without data gives "null". Never NULL.
 * Thread: the one that holds the event.
 */
const char *
sfc_stream_event_record(struct sfc_stream_event *ev, char **owned, size_t *len);

/*
 * The event's data as a tree, parsed from data_json on the first call when
 * the stream did not build it (data_on_demand); NULL when the event has
 * neither. Borrowed: lives as long as the event.
 * Thread: the one that holds the event.
 */
const cJSON *sfc_stream_event_data(struct sfc_stream_event *ev);

/* Frees @ev (NULL accepted). Thread: the one that holds the event. */
void sfc_stream_event_destroy(struct sfc_stream_event *ev);

/* ------------------------------------------------------------------------ */
/* The stream                                                               */
/* ------------------------------------------------------------------------ */

/* Where a channel starts when it has no committed position. */
enum sfc_stream_start {
    SFC_STREAM_START_STORED = 0, /* the store's position, else new events */
    SFC_STREAM_START_NEW,        /* -1 */
    SFC_STREAM_START_ALL,        /* -2 */
};

/* What an invalid (expired) stored replay id falls back to. */
enum sfc_stream_fallback {
    SFC_STREAM_FALLBACK_ALL = 0, /* -2: replay the whole retention window */
    SFC_STREAM_FALLBACK_NEW,     /* -1: accept the gap */
    SFC_STREAM_FALLBACK_FAIL,    /* stop: receive() reports the error */
};

enum sfc_stream_commit {
    SFC_STREAM_COMMIT_AUTO = 0, /* acknowledged when receive() hands it over */
    SFC_STREAM_COMMIT_MANUAL,   /* the caller acknowledges each event once it
                                   is safe (sfc_stream_ack) */
};

struct sfc_stream_options {
    struct sfc_api_client *api; /* required; borrowed, outlives the stream */
    struct sfc_replay_store *store; /* borrowed; NULL = memory */
    enum sfc_stream_fallback fallback;
    enum sfc_stream_commit commit;
    size_t max_pending;            /* received, not yet taken (default 250) */
    int64_t connection_timeout_ms; /* give up after this long without the
                                      server, or without reading the replay
                                      store (0 = never) */
    int64_t backoff_base_ms;       /* default 500 */
    int64_t backoff_max_ms;        /* default 30000 */
    int64_t reconnect_window_ms;   /* the server forgets a client silent
                                      this long (default 40000) */
    size_t max_message_bytes;      /* one Bayeux message (default 16 MiB) */
    int64_t resubscribe_ms;        /* a subscription the server refused (a
                                      channel that does not exist yet, say)
                                      is tried again after this long
                                      (default 60000; 0 = never) */
    bool data_on_demand;           /* events come without their tree (only
                                      data_json); sfc_stream_event_data()
                                      builds it when asked. Saves a parse
                                      per event for consumers that forward
                                      the text (default false) */
    bool trace;                    /* stamp each event's ev->trace (three
                                      clock reads an event; default false:
                                      no clock is read for it) */
};

/* The defaults. Pure. */
void sfc_stream_options_init(struct sfc_stream_options *o);

struct sfc_stream;

/*
 * Starts the I/O thread: login through @o->api, handshake, then the connect
 * loop. Subscriptions may be added before and after. NULL with @errstr on
 * unusable options. @o is copied; what it points to is borrowed.
 * Thread: any.
 */
struct sfc_stream *sfc_stream_open(const struct sfc_stream_options *o,
                                   char *errstr,
                                   size_t errstr_size);

/*
 * Subscribes to @channel (a ?filter suffix is kept for the server and
 * dropped for replay bookkeeping). The subscription is (re)sent after every
 * handshake from the last committed replay id. Returns SFC_OK once recorded;
 * server-side refusals are logged and surface through receive() when
 * permanent. Thread: any. Locks: the stream's (no I/O under it).
 */
sfc_err_t sfc_stream_subscribe(struct sfc_stream *s,
                               const char *channel,
                               enum sfc_stream_start start);
/* Stops @channel (sent on the I/O thread). SFC_ERR_NOT_FOUND when it was
 * not subscribed. Thread: any. Locks: the stream's. */
sfc_err_t sfc_stream_unsubscribe(struct sfc_stream *s, const char *channel);

/*
 * Takes the next event, waiting up to @timeout_ms (-1 = for ever).
 * SFC_OK with *ev (caller destroys), SFC_ERR_TIMEOUT when none came,
 * SFC_ERR_CLOSED / another status when the stream failed for good (the
 * reason is logged; sfc_stream_error() has it).
 * Thread: the consumer's (one at a time). Locks: the stream's, let go
 * while waiting.
 */
sfc_err_t sfc_stream_receive(struct sfc_stream *s,
                             int64_t timeout_ms,
                             struct sfc_stream_event **ev);

/*
 * Acknowledges @ev (an event this stream handed over): it is safe, e.g. the
 * broker confirmed it. Events may be acknowledged in any order; the stored
 * position moves to the largest replay id up to which every event received
 * on the channel is acknowledged (written by the store thread soon after).
 * Events of channels not subscribed (any more) change nothing. With
 * SFC_STREAM_COMMIT_AUTO receive() does this. @ev stays the caller's.
 * Thread: any. Locks: the stream's (no store I/O under it).
 */
sfc_err_t sfc_stream_ack(struct sfc_stream *s,
                         const struct sfc_stream_event *ev);

/* sfc_stream_ack() by channel (as in ev->channel) and replay id.
 * Thread: any. Locks: the stream's. */
sfc_err_t
sfc_stream_commit(struct sfc_stream *s, const char *channel, int64_t replay_id);

/*
 * Writes every position acknowledged so far and makes it durable (the file
 * store holds writes back for a few hundred ms while commits flow), waiting
 * up to 5 s for the store thread. SFC_OK when done; SFC_ERR_IO at once
 * while the store fails (the positions stay pending and are written once
 * it works). Not needed for durability: the store thread flushes by itself
 * half a second after the last write, and close() does too.
 * Thread: any. Locks: the stream's, let go while waiting.
 */
sfc_err_t sfc_stream_flush(struct sfc_stream *s);

/*
 * Whether the stream works: false while the replay store fails (reads or
 * writes; retried with backoff) or after the stream stopped, with the
 * reason in @why (may be NULL). Thread: any.
 */
bool sfc_stream_healthy(struct sfc_stream *s, char *why, size_t why_size);

/* An eventfd that is readable while events are pending or the stream has
 * stopped with an error (poll it, then receive with timeout 0 until it
 * says SFC_ERR_TIMEOUT: that receive also clears a wake-up that came late).
 * Borrowed; valid until close. Thread: any. */
int sfc_stream_fd(struct sfc_stream *s);

/* Events received and not yet taken. Thread: any. Locks: none. */
size_t sfc_stream_pending(struct sfc_stream *s);

/* The current subscriptions (channel names as given). Caller frees each
 * string and the array with free(). Thread: any. Locks: the stream's. */
char **sfc_stream_subscriptions(struct sfc_stream *s, size_t *n);

struct sfc_stream_stats {
    uint64_t received;  /* data messages accepted */
    uint64_t malformed; /* messages dropped as malformed */
    uint64_t handshakes;
    uint64_t connects;
    uint64_t reconnects;       /* re-handshakes after a fault */
    uint64_t relogins;         /* new Salesforce sessions after a 401 */
    uint64_t replay_fallbacks; /* invalid or lost replay ids replaced */
    uint64_t paused_ms;        /* time the consumer held us back */
    uint64_t store_errors;     /* replay store reads and writes that failed */
    uint64_t commits;          /* positions written to the store */
    /* A gauge: subscriptions (and removals) the server has not answered
     * yet in this session; 0 once every one is confirmed or refused. */
    uint64_t subscribing;
};
/* A copy of the counters. Thread: any. Locks: the stream's. */
void sfc_stream_get_stats(struct sfc_stream *s, struct sfc_stream_stats *out);

/* Why the stream stopped, or NULL while it runs. Borrowed until close
 * (set once, never changed). Thread: any. Locks: the stream's. */
const char *sfc_stream_error(struct sfc_stream *s);

/*
 * Stops by @until_ms (the sfc_now_ms() clock): disconnects from Salesforce
 * (best effort), writes the positions acknowledged and not yet stored and
 * flushes the store, joins the threads. The last writes end by @until_ms
 * (the store's deadline op); a position that could not be written by then
 * is logged, and the store keeps the one before it: the next start
 * delivers the events after that again (at least once). A store call in
 * progress when the stop comes is waited for (the Redis store's end
 * within 1 s). Events still pending are dropped (their replay ids were not
 * committed). NULL is accepted.
 * Thread: any but the stream's own; no other call on @s may be running
 * or follow.
 */
void sfc_stream_close_by(struct sfc_stream *s, int64_t until_ms);

/* sfc_stream_close_by() with 5 s from now. Thread: as close_by. */
void sfc_stream_close(struct sfc_stream *s);

/* ------------------------------------------------------------------------ */
/* Bayeux messages (pure; exposed for tests and fuzzing)                    */
/* ------------------------------------------------------------------------ */

struct sfc_bayeux_msg {
    const cJSON *json; /* borrowed from the parsed reply */
    const char *channel;
    const char *client_id; /* or NULL */
    const char *id;        /* or NULL (numbers are not kept) */
    bool is_meta;
    bool successful;
    const char *error;            /* "403::Unknown client" or NULL */
    int error_code;               /* 403, or 0 */
    const char *failure_reason;   /* ext.sfdc.failureReason or NULL */
    const char *advice_reconnect; /* "retry", "handshake", "none" or NULL */
    int64_t advice_interval;      /* -1 when absent */
    int64_t advice_timeout;       /* -1 when absent */
    const char *subscription;     /* or NULL */
    const cJSON *data;            /* data messages only */
    const char *text; /* the message as received (incremental reader) */
    size_t text_len;
    /* A data message the incremental reader checked without a tree (json
     * and data are NULL then): its "data" member as written. */
    const char *data_text;
    size_t data_text_len;
};

/*
 * Incremental reader of one reply body. Salesforce does not bound how many
 * events a connect reply carries (it asks for buffers of 10 MB), so the
 * reply is split into its messages as bytes arrive and each message is
 * parsed on its own: memory holds one message, never the whole reply.
 * The splitting only tracks strings and nesting; each message is parsed
 * by cJSON.
 */
struct sfc_bayeux_reader {
    struct sfc_buf msg; /* bytes of the message being read */
    int state;
    int depth;
    bool single; /* the reply is one object, not an array */
    bool in_string, escaped;
    uint64_t messages;      /* handed to the callback */
    uint64_t malformed;     /* messages that were not Bayeux, skipped */
    char error[160];        /* why the reply is broken, or "" */
    char why_malformed[96]; /* why the last malformed message was, or "" */
    char *channel;          /* the current data message's channel */
    size_t channel_size;
};

/*
 * Called once per message; @m borrows from the reader and from a tree
 * freed when it returns (sfc_bayeux_event() copies what it needs).
 * Returns true to go on, false to stop after this message.
 *
 * Data messages (a plain "channel" that is not /meta/ and a "data"
 * object) are checked with sfc_json_valid() and handed over without a
 * tree: m->json and m->data are NULL and m->data_text holds the data.
 * Other messages are parsed by cJSON.
 */
typedef bool (*sfc_bayeux_msg_fn)(void *opaque, struct sfc_bayeux_msg *m);

/*
 * Parses a whole reply body (a JSON array, or one object) and calls @fn
 * for each message in order, until it returns false: there is no array
 * to size. @m borrows from *root, the cJSON tree the caller deletes (NULL
 * on failure). Returns the number of messages handed
 * over, or -1 with @errstr for input that is not Bayeux. Malformed
 * messages are skipped and counted in *skipped (may be NULL).
 */
int sfc_bayeux_parse(const char *body,
                     size_t len,
                     cJSON **root,
                     sfc_bayeux_msg_fn fn,
                     void *opaque,
                     int *skipped,
                     char *errstr,
                     size_t errstr_size);

/* Ready to read a reply whose messages are at most @max_message bytes. */
void sfc_bayeux_reader_init(struct sfc_bayeux_reader *r, size_t max_message);

/*
 * Feeds up to @len bytes, calling @fn for every message they complete.
 * Returns how many bytes were taken: all of them, unless @fn asked to stop
 * (the caller feeds the rest later). A broken reply (not a JSON array or
 * object, or a message above the bound) takes every byte, now and later,
 * and r->error says why.
 */
size_t sfc_bayeux_reader_feed(struct sfc_bayeux_reader *r,
                              const char *data,
                              size_t len,
                              sfc_bayeux_msg_fn fn,
                              void *opaque);

/* At the end of the body: true when the reply was complete and well formed
 * as a whole (single malformed messages are only counted). */
bool sfc_bayeux_reader_finish(struct sfc_bayeux_reader *r);

/* Frees the buffer; the reader may be initialised again. */
void sfc_bayeux_reader_free(struct sfc_bayeux_reader *r);

/*
 * Builds an event from a data message, with its tree (ev->data) and its
 * text (ev->data_json, when the message came with text). SFC_ERR_PARSE
 * (with @errstr) when it lacks what every event has (event.replayId).
 */
sfc_err_t sfc_bayeux_event(const struct sfc_bayeux_msg *m,
                           struct sfc_stream_event **ev,
                           char *errstr,
                           size_t errstr_size);

/*
 * The same, except that a message the reader checked as text gives an
 * event without its tree: ev->data stays NULL until
 * sfc_stream_event_data() (what the stream's data_on_demand does).
 */
sfc_err_t sfc_bayeux_event_on_demand(const struct sfc_bayeux_msg *m,
                                     struct sfc_stream_event **ev,
                                     char *errstr,
                                     size_t errstr_size);

/* ------------------------------------------------------------------------ */
/* PushTopic declaration (nameko-salesforce parity)                         */
/* ------------------------------------------------------------------------ */

struct sfc_pushtopic_notify {
    const char *notify_for_fields; /* All, Referenced, Select, Where */
    bool on_create, on_update, on_delete, on_undelete;
};

/*
 * Finds the PushTopic @name and updates it, or creates it. Two processes
 * declaring the same topic at once both succeed (a DUPLICATE_VALUE on
 * create is followed by an update). @notify may be NULL (All, every
 * operation). Thread: any.
 */
sfc_err_t sfc_pushtopic_declare(struct sfc_api_client *api,
                                const char *name,
                                const char *query,
                                const struct sfc_pushtopic_notify *notify,
                                struct sfc_api_error **err);

/*
 * Builds the query nameko-salesforce declares for an sObject:
 * "SELECT Id, Name, LastModifiedById, LastModifiedDate FROM <sobject>"
 * [WHERE RecordTypeId = '<id>'] [AND LastModifiedById != '<user id>'],
 * resolving the record type's Id and the connected user's Id through @api,
 * and the topic name "<sobject><record_type>". *query and *name are the
 * caller's to free.
 */
sfc_err_t sfc_pushtopic_sobject_query(struct sfc_api_client *api,
                                      const char *sobject,
                                      const char *record_type,
                                      bool exclude_current_user,
                                      char **name,
                                      char **query,
                                      struct sfc_api_error **err);

#ifdef __cplusplus
}
#endif

#endif
