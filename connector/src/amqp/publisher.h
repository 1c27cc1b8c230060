/*
 * publisher.h - the at-least-once publisher: a FIFO of entries, each one
 * item of the caller's (an event) with one or more publications, sent in
 * order on a link in confirm mode. An entry is done once the broker
 * confirmed every publication of it (and the copy of a returned one sent to
 * the alternate exchange); done entries leave in FIFO order, so what the
 * caller takes is always a committable prefix. Nacked publications go out
 * again with backoff, everything unconfirmed goes out again on a new
 * connection, and a link that takes publications without confirming them
 * is reported after confirm_timeout_ms, counted from the first publication
 * awaited (or the last confirm since).
 *
 * The publisher neither opens links nor allocates entries: the caller
 * connects, reports the link's state and frames (publisher_link_up,
 * publisher_on_*), and owns the entries' memory; the link itself is a
 * table of functions, so tests inject their own.
 *
 * Thread: one owner thread calls everything (the dispatch thread in the
 * daemon). Locks: none.
 */
#ifndef SFC_CONNECTOR_PUBLISHER_H
#define SFC_CONNECTOR_PUBLISHER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "amqp_link.h"

/* What the publisher sends through. */
struct publisher_link {
    void *opaque;
    /* Publishes @m (exchange, routing key, body, ...); *tag gets the
     * delivery tag its confirm will carry. An error means the connection
     * is gone: the publisher stops sending until publisher_link_up(). */
    sfc_err_t (*publish)(void *opaque,
                         const struct amqp_link_msg *m,
                         uint64_t *tag);
    /* Holds publishes back (@on) and sends what is held (!@on), so a batch
     * leaves in few writes; may be NULL. */
    void (*batch)(void *opaque, bool on);
};

/* One publication of an entry. The caller sets routing_key and headers
 * and zeroes the rest, which is the publisher's. */
struct publisher_pub {
    const char *routing_key;
    const struct amqp_link_header *headers;
    size_t n_headers;
    /* the publisher's */
    uint64_t tag;    /* 0 = to be (re)published */
    uint64_t ae_tag; /* the alternate exchange copy's, 0 = not sent */
    bool orig_acked; /* the publication is confirmed */
    bool ae_wanted;  /* it came back unroutable: a copy is wanted */
    bool ae_acked;   /* that copy is confirmed */
    bool acked;      /* settled: confirmed, and so is its copy if wanted */
};

/* An entry: the caller's item and its publications. Strings and the
 * publications are borrowed until the entry is taken back. */
struct publisher_entry {
    void *item;             /* the caller's (e.g. its event) */
    const char *message_id; /* every publication's message id */
    const char *body;       /* every publication's body */
    size_t body_len;
    struct publisher_pub *pubs;
    size_t n_pubs;
    struct publisher_entry *next; /* the publisher's */
};

struct publisher_options {
    const char *exchange;           /* where publications go; copied */
    const char *alternate_exchange; /* NULL or "": returns are only counted */
    int64_t confirm_timeout_ms;     /* see publisher_timed_out() */
    int64_t backoff_base_ms;        /* first wait after a nack (200) */
    int64_t backoff_max_ms;         /* longest wait after nacks */
};

struct publisher_stats {
    uint64_t published;        /* publishes sent, copies and resends too */
    uint64_t confirmed;        /* publications settled */
    uint64_t returned;         /* returned unroutable by the broker */
    uint64_t nacked;           /* publications the broker refused */
    uint64_t confirm_timeouts; /* times publisher_timed_out() said so */
};

struct publisher;

/* A publisher sending through @link (copied). Never NULL. */
struct publisher *publisher_new(const struct publisher_options *o,
                                const struct publisher_link *link);

/*
 * Frees the publisher. Entries still held are not freed: take them first
 * with publisher_take_all() (accepts NULL).
 */
void publisher_destroy(struct publisher *p);

/* Appends @e (its publications zeroed past routing_key/headers); it goes
 * out on the next publisher_send(). */
void publisher_submit(struct publisher *p, struct publisher_entry *e);

/*
 * Sends what is due, in FIFO order: entries not sent yet, and after a nack
 * the entries from the nacked one on, once its backoff has passed. Does
 * nothing while the link is down.
 */
void publisher_send(struct publisher *p, int64_t now_ms);

/* A new connection: everything not confirmed goes out again, in order,
 * on the next publisher_send(). */
void publisher_link_up(struct publisher *p, int64_t now_ms);

/* The connection is gone: confirms of earlier tags will never come. */
void publisher_link_lost(struct publisher *p);

/* Whether the publisher believes the link is up. */
bool publisher_link_is_up(const struct publisher *p);

/* basic.ack for @tag (and every earlier one when @multiple). */
void publisher_on_confirm(struct publisher *p,
                          uint64_t tag,
                          bool multiple,
                          int64_t now_ms);

/* basic.nack: the broker did not take it; the entry and every one after it
 * go out again after a backoff that grows while nacks continue. */
void publisher_on_nack(struct publisher *p,
                       uint64_t tag,
                       bool multiple,
                       int64_t now_ms);

/* basic.return (before its ack): counted, logged once then every 1000th;
 * with an alternate exchange, a copy goes there and the entry waits for
 * it too. @message_id is "" when the message had none. */
void publisher_on_return(struct publisher *p,
                         const char *routing_key,
                         const char *message_id,
                         int64_t now_ms);

/*
 * True once publications have been awaited for confirm_timeout_ms with no
 * confirm: counted, logged; the caller drops the connection (then calls
 * publisher_link_lost()). The wait is counted from the first publication
 * sent while none was awaited, or from the last confirm since.
 */
bool publisher_timed_out(struct publisher *p, int64_t now_ms);

/*
 * When the current wait for confirms began (monotonic ms, as for
 * publisher_timed_out(): the first publication awaited, or the last confirm
 * since); 0 when no publication is awaited.
 */
int64_t publisher_awaited_since(const struct publisher *p);

/*
 * Takes the done prefix: entries whose every publication is settled, and
 * every entry before them too, in FIFO order, chained by ->next. NULL
 * when the oldest entry is not done. The entries are the caller's again.
 */
struct publisher_entry *publisher_take_done(struct publisher *p);

/* Takes every entry, done or not (stopping). */
struct publisher_entry *publisher_take_all(struct publisher *p);

/* Entries held (submitted, not yet taken). */
size_t publisher_held(const struct publisher *p);

/* Whether a publication was sent and awaits its confirm. */
bool publisher_awaiting(const struct publisher *p);

void publisher_get_stats(const struct publisher *p,
                         struct publisher_stats *out);

#endif
