/*
 * The RPC responder's broker operations (see rpc_server_int.h): its
 * exchanges, queues and consumer, acks and rejects of a job's delivery, the
 * messages published for a job (its reply, or the request itself) and
 * publishing them with their confirm awaited. The transport under the
 * responder changes here, in one place.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rpc_server_int.h"

/* Exchanges, queues and the consumer; false with @err. */
bool rpcs_broker_setup(struct connector_rpc *r, char *err, size_t errsz)
{
    char key[256];
    bool as_is = false;
    /* Parked requests expire back into the request queue. */
    const struct amqp_link_header back[] = {
        {.key = "x-dead-letter-exchange", .kind = AMQP_LINK_STR, .str = ""},
        {.key = "x-dead-letter-routing-key",
         .kind = AMQP_LINK_STR,
         .str = r->queue}};

    snprintf(key, sizeof(key), "%s.*", r->cfg->service.name);
    if (amqp_link_declare_exchange(r->link, "nameko-rpc", "topic", false, err,
                                   errsz) != SFC_OK ||
        amqp_link_declare_queue(r->link, r->queue, NULL, 0, "nameko-rpc", key,
                                &as_is, err, errsz) != SFC_OK ||
        amqp_link_declare_queue(r->link, r->retry, back, 2, NULL, NULL, NULL,
                                err, errsz) != SFC_OK ||
        amqp_link_declare_exchange(r->link, r->dead_letter, "fanout", false,
                                   err, errsz) != SFC_OK ||
        amqp_link_declare_queue(r->link, r->dead_letter, NULL, 0,
                                r->dead_letter, "", NULL, err,
                                errsz) != SFC_OK ||
        amqp_link_consume(r->link, r->queue, (unsigned)r->cfg->rpc.max_workers,
                          err, errsz) != SFC_OK)
        return false;
    sfc_log(SFC_LOG_INFO, MOD,
            "serving RPC on %s (%s, prefetch %lld%s); requests handed out %lld "
            "times unanswered go to %s",
            r->queue, key, (long long)r->cfg->rpc.max_workers,
            as_is ? ", declared by someone else" : "",
            (long long)r->cfg->rpc.max_deliveries, r->dead_letter);
    return true;
}

void rpcs_broker_ack(struct connector_rpc *r, const struct job *j)
{
    if (j->gen == r->gen && amqp_link_is_open(r->link))
        amqp_link_ack(r->link, j->delivery_tag);
}

/* Hands a delivery back: to the queue (@requeue) or to nobody. */
void rpcs_broker_reject(struct connector_rpc *r,
                        const struct job *j,
                        bool requeue)
{
    if (j->gen == r->gen && amqp_link_is_open(r->link))
        amqp_link_reject(r->link, j->delivery_tag, requeue);
}

/* A message published for @j: JSON as Nameko sends it, with its
 * correlation id, to @exchange and @routing_key (borrowed). */
void rpcs_job_msg(const struct job *j,
                  struct amqp_link_msg *m,
                  const char *exchange,
                  const char *routing_key,
                  const char *body,
                  size_t len)
{
    memset(m, 0, sizeof(*m));
    m->exchange = exchange;
    m->routing_key = routing_key;
    m->body = body;
    m->len = len;
    m->correlation_id = rpcs_view(j->correlation_id);
}

/* The request itself, as its caller sent it (content type included):
 * the body of a copy, a parked request or a dead letter. */
void rpcs_request_msg(const struct job *j,
                      struct amqp_link_msg *m,
                      const char *exchange,
                      const char *routing_key)
{
    rpcs_job_msg(j, m, exchange, routing_key, j->body.p ? j->body.p : "",
                 j->body.len);
    m->reply_to = rpcs_view(j->reply_to);
}

/* Publishes @m for @j and, when the broker took it, awaits its
 * confirm. False when the link failed. */
bool rpcs_broker_publish(struct connector_rpc *r,
                         struct job *j,
                         enum pub_kind kind,
                         const struct amqp_link_msg *m)
{
    if (amqp_link_send(r->link, m, &j->publish_tag) != SFC_OK)
        return false;
    j->kind = kind;
    if (!r->unconfirmed)
        r->progress_ms = sfc_now_ms(); /* the wait starts now */
    j->next = r->unconfirmed;
    r->unconfirmed = j;
    return true;
}

void rpcs_publish_reply(struct connector_rpc *r, struct job *j)
{
    struct amqp_link_msg m;
    char *to = rpcs_bytes_str(j->reply_to);

    rpcs_job_msg(j, &m, "nameko-rpc", to, j->reply, strlen(j->reply));
    if (rpcs_broker_publish(r, j, PUB_REPLY, &m))
        rpcs_count(&r->n.replies);
    else
        /* The request comes back when the broker is reachable again. */
        rpcs_job_retire(r, j);
    free(to);
}
