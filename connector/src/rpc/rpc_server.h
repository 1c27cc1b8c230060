/*
 * rpc_server.h - the RPC responder's AMQP side: the nameko-rpc exchange,
 * the rpc-<service> queue bound with <service>.*, a worker pool calling
 * rpc/ (and through it Salesforce, with a REST pool of rpc.pool_size of its
 * own), replies on nameko-rpc to reply_to with the request's correlation
 * id, and the request acked once the reply is confirmed. A request handed
 * out more than rpc.max_deliveries times goes to the dead-letter queue
 * rpc-<service>.dead-letter. Runs on its own thread with its own AMQP
 * connection.
 */
#ifndef SFC_CONNECTOR_RPC_SERVER_H
#define SFC_CONNECTOR_RPC_SERVER_H

#include "config.h"
#include "sfc/api.h"

struct connector_rpc;

struct connector_rpc_stats {
    uint64_t requests, replies, no_reply_to, dead_lettered, replayed;
    /* Replies the broker nacked; redelivered requests copied with their
     * delivery count. */
    uint64_t replies_nacked, redeliveries_counted;
    /* Coalescing: creates handled, and the REST requests they took. */
    uint64_t coalesced_creates, coalesced_requests;
};

/*
 * Starts the responder into @out. SFC_ERR_CONFIG with @errstr when the
 * config is unusable; SFC_ERR_IO with @errstr when the process cannot get
 * what the responder needs (an eventfd, its threads): nothing is left
 * running then.
 */
sfc_err_t connector_rpc_start(const struct sfc_config *cfg,
                              struct sfc_api_client *api,
                              struct connector_rpc **out,
                              char *errstr,
                              size_t errsz);

/*
 * Takes no new request (those the broker sends meanwhile stay unacked and
 * go back to the queue when the connection closes) and waits until no
 * request is in hand or @until_ms (monotonic) passed. Accepts NULL.
 * Thread: the owner's (not the responder's threads).
 */
void connector_rpc_drain(struct connector_rpc *r, int64_t until_ms);

/*
 * Stops: answers what workers still hold (within a second: cut Salesforce
 * calls short first, see sfc_api_options.cancel), closes the connection,
 * joins the threads and frees @r. Accepts NULL.
 */
void connector_rpc_stop(struct connector_rpc *r);

void connector_rpc_get_stats(struct connector_rpc *r,
                             struct connector_rpc_stats *out);

#endif
