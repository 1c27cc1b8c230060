/*
 * amqp_link.h - one AMQP 0-9-1 connection with one channel in confirm mode,
 * owned by one thread: connect from a URI (amqp/amqps, vhost, credentials),
 * heartbeats, exchange and queue declaration that tolerates a flag or
 * argument mismatch, publishing (mandatory, in batches, or with a request's
 * properties), consuming with acks and rejects, and the frames that come
 * back (acks, nacks, returns, deliveries). The connection is rabbitmq-c's,
 * and no other file sees it: the link is opaque, and what it sends and
 * receives is described in our own terms.
 *
 * Thread: every call on a link comes from its owner thread (rabbitmq-c's
 * rule for a connection); different links may live on different threads.
 * Locks: none.
 */
#ifndef SFC_CONNECTOR_AMQP_LINK_H
#define SFC_CONNECTOR_AMQP_LINK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "sfc/common.h"

struct amqp_link;

/* How to reach the broker; amqp_link_new() copies it. */
struct amqp_link_options {
    const char *uri; /* amqp[s]://user:password@host:port/vhost */
    const char *ca_file, *cert_file, *key_file; /* amqps; may be NULL */
    bool verify_peer;                           /* amqps */
    int heartbeat_s;                            /* 0: none */
    /* Connecting, logging in, and each method that waits for its answer
     * (declarations) give up after this long. */
    int64_t connect_timeout_ms;
    /* A publish the broker takes nothing of for this long (a broker
     * blocked by an alarm stops reading) fails and drops the connection. */
    int64_t write_timeout_ms;
    /* Set (the owner is stopping): such a publish gives up within a
     * second instead. Borrowed; may be NULL. */
    const atomic_bool *interrupt;
};

/* A link (no I/O yet); never NULL. */
struct amqp_link *amqp_link_new(const struct amqp_link_options *o);

/* Closes (see amqp_link_close) and frees; accepts NULL. */
void amqp_link_destroy(struct amqp_link *l);

/*
 * Connects, logs in, opens channel 1 in confirm mode. SFC_OK, or with the
 * reason in @errstr (no secret): SFC_ERR_TRANSPORT when no connection was
 * made (nothing listens, DNS, a TLS handshake that failed), SFC_ERR_AUTH
 * when the broker refused the login (user, password or vhost), SFC_ERR_AMQP
 * otherwise, a refused broker certificate included (the message says why:
 * not trusted, expired, not naming the host).
 */
sfc_err_t amqp_link_open(struct amqp_link *l, char *errstr, size_t errsz);

/* Whether the connection is up (it closes itself when it fails). */
bool amqp_link_is_open(const struct amqp_link *l);

/* The URI with its password masked, for messages. Borrowed from @l. */
const char *amqp_link_shown_uri(const struct amqp_link *l);

/* Replaces the options' interrupt flag (the owner is stopping). */
void amqp_link_set_interrupt(struct amqp_link *l, const atomic_bool *flag);

/* Bytes and a length, not NUL-terminated; {NULL, 0} when absent. */
struct amqp_link_bytes {
    const char *p;
    size_t len;
};

struct amqp_link_props; /* a received message's properties (opaque) */

/*
 * A message a consumer received, in our terms. Every pointer is borrowed
 * until the delivered() callback returns.
 */
struct amqp_link_delivery {
    uint64_t tag; /* for amqp_link_ack() and amqp_link_reject() */
    bool redelivered;
    struct amqp_link_bytes exchange, routing_key, body;
    bool has_content_type; /* content_type was sent (maybe empty) */
    struct amqp_link_bytes content_type, reply_to, correlation_id;
    const struct amqp_link_props *props; /* its headers and the rest */
};

/* An integer header of any width of @d; false when absent or another type. */
bool amqp_link_header_int(const struct amqp_link_delivery *d,
                          const char *key,
                          int64_t *out);

/* A string (or byte string) header of @d, borrowed like @d; false when
 * absent or another type. */
bool amqp_link_header_bytes(const struct amqp_link_delivery *d,
                            const char *key,
                            struct amqp_link_bytes *out);

/* What the broker said about earlier publishes, and what it delivered. */
struct amqp_link_events {
    void *opaque;
    /* ack (@multiple: every tag <= @tag) */
    void (*acked)(void *opaque, uint64_t tag, bool multiple);
    void (*nacked)(void *opaque, uint64_t tag, bool multiple);
    /* an unroutable mandatory publish (arrives before its ack); @message_id
     * is "" when the message had none */
    void (*returned)(void *opaque,
                     const char *routing_key,
                     const char *message_id);
    /* a message for a consumer of ours (amqp_link_consume); NULL: none */
    void (*delivered)(void *opaque, const struct amqp_link_delivery *d);
};

/*
 * Closes politely when possible (connection.close, waiting at most
 * AMQP_LINK_CLOSE_MS for the broker's close-ok: a broker that stopped
 * reading never sends it); always frees the connection.
 */
#define AMQP_LINK_CLOSE_MS 500
void amqp_link_close(struct amqp_link *l);
/* Drops the connection without the closing handshake (a broker that no
 * longer answers would never complete it). */
void amqp_link_abandon(struct amqp_link *l);

/*
 * Declares a durable exchange of @type ("topic", "fanout") with no
 * arguments, so that Nameko services declaring it too agree with it. On 406
 * (an existing exchange with other flags) the channel is reopened, the
 * exchange is checked passively and used as it is, and the mismatch is
 * logged once.
 */
sfc_err_t amqp_link_declare_exchange(struct amqp_link *l,
                                     const char *name,
                                     const char *type,
                                     bool auto_delete,
                                     char *errstr,
                                     size_t errsz);

/* The kinds of header values (and queue arguments) our messages carry. */
enum amqp_link_value {
    AMQP_LINK_STR,       /* a UTF-8 string ('S'): str */
    AMQP_LINK_I64,       /* a signed 64-bit integer ('l'): i64 */
    AMQP_LINK_STR_ARRAY, /* an array of @n strings ('A' of 'S'): strs */
    AMQP_LINK_ABSENT,    /* none: the key is left out (of headers_of's) */
};

struct amqp_link_header {
    const char *key;
    enum amqp_link_value kind;
    const char *str;
    const char *const *strs;
    size_t n;
    int64_t i64;
};

#define AMQP_LINK_MAX_HEADERS 8 /* per message, and strings over its arrays */

/*
 * A message as both Nameko peers publish them: content type
 * application/json, encoding utf-8, persistent (delivery mode 2), priority
 * 0. Every pointer is borrowed for the duration of the call.
 */
struct amqp_link_msg {
    const char *exchange;
    const char *routing_key;
    const char *body;
    size_t len;
    bool mandatory;
    const char *message_id;                /* NULL: none */
    struct amqp_link_bytes correlation_id; /* len 0: none */
    struct amqp_link_bytes reply_to;       /* len 0: none */
    const char *expiration;                /* per-message TTL; NULL: none */
    /* The content type, when not application/json (an empty one too). */
    const struct amqp_link_bytes *content_type; /* NULL: application/json */
    const struct amqp_link_header *headers;     /* an empty table when none */
    size_t n_headers; /* at most AMQP_LINK_MAX_HEADERS */
    /*
     * A delivery (borrowed) whose headers go first, except those @headers
     * names: a copy or a dead letter of a request keeps what its caller
     * sent. With @all_properties, its other properties too (message id,
     * timestamp, reply_to, ...), in place of the fields above. NULL: none.
     */
    const struct amqp_link_delivery *headers_of;
    bool all_properties;
};

/*
 * Publishes @m; *tag receives the delivery tag to expect in a confirm.
 * SFC_ERR_AMQP: the link failed and is closed; SFC_ERR_INVALID_ARG: more
 * headers than AMQP_LINK_MAX_HEADERS (nothing sent). Thread: the owner.
 */
sfc_err_t amqp_link_send(struct amqp_link *l,
                         const struct amqp_link_msg *m,
                         uint64_t *tag);

/*
 * Declares a durable, non-exclusive queue with @args (n_args 0: none, as
 * Nameko declares its queues) and binds it to @exchange with @key (NULL: no
 * binding). On 406 (the queue exists with other arguments: a quorum queue,
 * a dead-letter exchange or a length limit an operator chose) the channel
 * is reopened and the queue is used as it is, checked passively; *as_is
 * (may be NULL) says so. Thread: the link's owner.
 */
sfc_err_t amqp_link_declare_queue(struct amqp_link *l,
                                  const char *name,
                                  const struct amqp_link_header *args,
                                  size_t n_args,
                                  const char *exchange,
                                  const char *key,
                                  bool *as_is,
                                  char *errstr,
                                  size_t errsz);

/*
 * Consumes from @queue with manual acks, at most @prefetch unacked
 * deliveries at a time; deliveries come to amqp_link_poll()'s delivered().
 * Thread: the link's owner.
 */
sfc_err_t amqp_link_consume(struct amqp_link *l,
                            const char *queue,
                            unsigned prefetch,
                            char *errstr,
                            size_t errsz);

/* Acks the delivery @tag of this connection; a failure closes the link.
 * Inside a batch (amqp_link_batch) the ack is held with the publishes. */
sfc_err_t amqp_link_ack(struct amqp_link *l, uint64_t tag);

/* Hands the delivery @tag back: to its queue (@requeue) or to nobody;
 * held inside a batch, as an ack is. */
sfc_err_t amqp_link_reject(struct amqp_link *l, uint64_t tag, bool requeue);

/*
 * Holds back publishes, acks and rejects (@on) so that a batch leaves in few
 * writes and full TCP segments rather than one segment per message, then
 * sends what is held (!@on); reading (amqp_link_poll) sends it first. A
 * failed send closes the link (amqp_link_is_open() turns false); what was
 * held was not published. Thread: the link's owner.
 */
void amqp_link_batch(struct amqp_link *l, bool on);

/*
 * Reads what the broker sent, waiting up to @timeout_ms for the first
 * frame, then takes the frames already read (poll the socket for more);
 * SFC_ERR_AMQP when the connection failed (the link is closed).
 */
sfc_err_t amqp_link_poll(struct amqp_link *l,
                         int timeout_ms,
                         const struct amqp_link_events *ev);

/*
 * True when a poll would find frames without reading the socket (received
 * and buffered by rabbitmq-c): do not block on amqp_link_fd() then.
 */
bool amqp_link_buffered(const struct amqp_link *l);

/* The socket, for poll(2) (POLLIN: the broker sent something); -1 closed. */
int amqp_link_fd(const struct amqp_link *l);

#endif
