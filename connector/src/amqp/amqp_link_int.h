/*
 * amqp_link_int.h - the link's insides (rabbitmq-c's connection), for
 * amqp_link.c and, until it speaks the link's own terms, the RPC server,
 * which embeds a link and drives the connection itself.
 */
#ifndef SFC_CONNECTOR_AMQP_LINK_INT_H
#define SFC_CONNECTOR_AMQP_LINK_INT_H

#include <amqp.h>

#include "amqp_link.h"

struct amqp_link {
    amqp_connection_state_t conn;
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

/* Sets up a link embedded in another object (see amqp_link_new). */
void amqp_link_init(struct amqp_link *l, const struct amqp_link_options *o);

/* Closes and frees what an embedded link holds. */
void amqp_link_fini(struct amqp_link *l);

/*
 * Declares a durable, non-exclusive queue with @args (NULL: none, as Nameko
 * declares its queues) and binds it to @exchange with @key (NULL: no
 * binding). On 406 (the queue exists with other arguments: a quorum queue,
 * a dead-letter exchange or a length limit an operator chose) the channel
 * is reopened and the queue is used as it is, checked passively; *as_is
 * (may be NULL) says so. Thread: the link's owner.
 */
sfc_err_t amqp_link_declare_queue(struct amqp_link *l,
                                  const char *name,
                                  const amqp_table_t *args,
                                  const char *exchange,
                                  const char *key,
                                  bool *as_is,
                                  char *errstr,
                                  size_t errsz);

/* Publishes with rabbitmq-c's properties; *tag receives the delivery tag
 * to expect in a confirm. */
sfc_err_t amqp_link_publish(struct amqp_link *l,
                            const char *exchange,
                            const char *routing_key,
                            amqp_basic_properties_t *props,
                            const char *body,
                            size_t len,
                            bool mandatory,
                            uint64_t *tag);

#endif
