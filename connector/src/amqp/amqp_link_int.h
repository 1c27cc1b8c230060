/*
 * amqp_link_int.h - the AMQP link's state and what its files share: the
 * connection's life (amqp_link.c), our own publish framing and the send
 * path (amqp_link_send.c), and declaring, consuming, acking and the poll of
 * incoming frames (amqp_link_consume.c). rabbitmq-c's types appear here by
 * their struct tags alone: only the amqp_link*.c files include its headers.
 *
 * Thread: the link's owner (see amqp_link.h). Locks: none.
 */
#ifndef SFC_CONNECTOR_AMQP_LINK_INT_H
#define SFC_CONNECTOR_AMQP_LINK_INT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "amqp_link.h"

#define AMQP_MOD "amqp"
#define CHANNEL  1

/* rabbitmq-c's (amqp.h, amqp_framing.h). */
struct amqp_connection_state_t_;
struct amqp_table_t_;
struct amqp_table_entry_t_;
struct amqp_field_value_t_;
struct amqp_basic_properties_t_;

/* Thread: the owner (see amqp_link.h). Locks: none. */
struct amqp_link {
    struct amqp_connection_state_t_ *conn;
    bool open;
    uint64_t next_tag;          /* delivery tag of the next publish */
    struct amqp_link_options o; /* strings owned */
    char *shown_uri;            /* the URI with its password masked */
    bool mismatch_told;         /* the 406 was reported once */
    /* Plain TCP: publishes are framed here and written together (one send
     * per batch rather than rabbitmq-c's three per message). NULL under
     * TLS, where rabbitmq-c writes them. */
    unsigned char *out;
    size_t out_len, out_cap;
    bool holding; /* inside amqp_link_batch(on) */
    /* Set (the owner is stopping): see amqp_link_options.interrupt. */
    const atomic_bool *interrupt;
};

/*
 * Whether the last method that waits for its answer succeeded; if not,
 * says so in @errstr, naming @what and the broker.
 * Thread: the owner. Locks: none.
 */
bool link_channel_ok(struct amqp_link *l,
                     char *errstr,
                     size_t errsz,
                     const char *what);

/*
 * Writes the publishes framed in l->out (see amqp_link_send.c); any failure
 * drops the connection. Thread: the owner. Locks: none.
 */
sfc_err_t link_flush(struct amqp_link *l);

/*
 * Plain TCP (l->out): frames the method @id with its arguments @method (as
 * rabbitmq-c decodes them) after what is held, and sends it unless a batch
 * is on: an ack or a reject leaves with the publishes of the same pass.
 * A failure drops the connection. Thread: the owner. Locks: none.
 */
sfc_err_t link_put_method(struct amqp_link *l, uint32_t id, void *method);

/* Sends what is held before a method rabbitmq-c writes itself;
 * SFC_ERR_AMQP when the link is not open or the write failed.
 * Thread: the owner. Locks: none. */
sfc_err_t link_flush_held(struct amqp_link *l);

/*
 * @h (@n entries) as a table in *@t, in the caller's room: @e and @items
 * each of AMQP_LINK_MAX_HEADERS elements; the table points at the caller's
 * strings. SFC_ERR_INVALID_ARG past its room.
 * Thread: any. Locks: none.
 */
sfc_err_t link_to_table(const struct amqp_link_header *h,
                        size_t n,
                        struct amqp_table_entry_t_ *e,
                        struct amqp_field_value_t_ *items,
                        struct amqp_table_t_ *t);

/* A delivery's properties are rabbitmq-c's: struct amqp_link_props is
 * never defined, only converted to and from. Borrowed from @d.
 * Thread: any. Locks: none. */
const struct amqp_basic_properties_t_ *
link_props_of(const struct amqp_link_delivery *d);

#endif
