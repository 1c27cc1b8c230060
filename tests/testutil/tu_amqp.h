/*
 * tu_amqp.h - a rabbitmq-c connection to the tests' broker for C tests and
 * benchmarks that publish or consume themselves (library sfc_testutil_amqp).
 * Thread: any (each connection is its caller's). Locks: none.
 */
#ifndef SFC_TU_AMQP_H
#define SFC_TU_AMQP_H

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

#endif
