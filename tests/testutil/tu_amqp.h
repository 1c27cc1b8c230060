/*
 * tu_amqp.h - a rabbitmq-c connection to the tests' broker for C tests and
 * benchmarks that publish or consume themselves (library sfc_testutil_amqp).
 * Thread: any (each connection is its caller's). Locks: none.
 */
#ifndef SFC_TU_AMQP_H
#define SFC_TU_AMQP_H

#include <stdint.h>

#include <amqp.h>

/*
 * A connection to tu_amqp_uri(), logged in, with channel 1 open; NULL when
 * the broker cannot be reached or refuses (said on stderr, without the
 * password). The URI is read as kombu reads it: the vhost is the path after
 * its first '/', decoded ("amqp://h:5672//" and "amqp://h:5672/%2F" are
 * "/"; none is "/"); a missing user, password or port is guest, guest,
 * 5672. Caller destroys it with amqp_destroy_connection().
 */
amqp_connection_state_t tu_amqp_connect(void);

/* Declares @exchange (topic, durable), binds a new exclusive queue to it
 * with @key and consumes it on channel 1 (no acks). */
void tu_amqp_bind_consume(amqp_connection_state_t c,
                          const char *exchange,
                          const char *key);

/*
 * Fills @p as the daemon sets an event's properties: JSON in UTF-8,
 * persistent, message id @mid, and the headers nameko.call_id_stack
 * ([@call_id]), nameko.replay_id (@replay) and nameko.client_id
 * (@client_id), in @hdr and @item, which must outlive @p's use.
 */
void tu_amqp_event_props(amqp_basic_properties_t *p,
                         amqp_table_entry_t hdr[3],
                         amqp_field_value_t *item,
                         const char *mid,
                         const char *call_id,
                         int64_t replay,
                         const char *client_id);

#endif
