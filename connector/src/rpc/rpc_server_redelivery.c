/*
 * The RPC responder's redeliveries (see rpc_server_int.h): which delivery
 * of its request a delivery is (quorum queues count; elsewhere a counted
 * copy goes back to the queue), the dead-letter queue past
 * rpc.max_deliveries, parking a request whose reply was refused in
 * rpc-<service>.retry, and holding a refused copy for a pause.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rpc_server_int.h"

/*
 * Our headers of a copy or a dead letter, in @h (pointing at the
 * arguments): every one of them is set or left out, so that none is
 * carried over from the request's own (headers_of). Returns the count.
 */
static size_t our_headers(struct amqp_link_header h[4],
                          int64_t deliveries,
                          const char *routing_key,
                          const char *reason,
                          int64_t refusals)
{
    memset(h, 0, 4 * sizeof(*h));
    h[0] = (struct amqp_link_header){
        .key = H_DELIVERIES, .kind = AMQP_LINK_I64, .i64 = deliveries};
    h[1] = (struct amqp_link_header){
        .key = H_ROUTING_KEY, .kind = AMQP_LINK_STR, .str = routing_key};
    h[2] = (struct amqp_link_header){.key = H_REASON,
                                     .kind = reason ? AMQP_LINK_STR
                                                    : AMQP_LINK_ABSENT,
                                     .str = reason};
    h[3] = (struct amqp_link_header){.key = H_REFUSALS,
                                     .kind = refusals ? AMQP_LINK_I64
                                                      : AMQP_LINK_ABSENT,
                                     .i64 = refusals};
    return 4;
}

/* A copy the broker refused: its request goes back after a pause. */
void rpcs_hold(struct connector_rpc *r, struct job *j)
{
    j->due_ms = sfc_now_ms() + 1000;
    j->next = r->held;
    r->held = j;
}

/*
 * The request goes to the dead-letter queue, with its headers (those of
 * delivery @src; NULL: none), why, and how often it was handed out; its
 * caller gets a DeadLettered error. It is acked once the broker confirmed
 * the dead letter.
 */
void rpcs_dead_letter(struct connector_rpc *r,
                      struct job *j,
                      const struct amqp_link_delivery *src,
                      int64_t deliveries,
                      const char *reason)
{
    struct amqp_link_msg m;
    struct amqp_link_header h[4];
    struct amqp_link_bytes ct = rpcs_view(j->content_type);
    char *rk = rpcs_bytes_str(j->routing_key),
         *cid = rpcs_bytes_str(j->correlation_id);
    char *msg;
    uint64_t tag;

    rpcs_request_msg(j, &m, r->dead_letter, rk);
    m.headers = h;
    m.n_headers = our_headers(h, deliveries, rk, reason, j->refusals);
    m.headers_of = src;
    if (j->has_content_type)
        m.content_type = &ct;
    sfc_log(SFC_LOG_WARN, MOD,
            "request %s (correlation id %s): %s; moved to the dead-letter "
            "queue %s",
            rk, cid, reason, r->dead_letter);
    rpcs_count(&r->n.dead_lettered);
    if (rpcs_broker_publish(r, j, PUB_DEAD_LETTER, &m)) {
        char *to = rpcs_bytes_str(j->reply_to);
        char *reply;

        msg = sfc_xasprintf("the request %s; it is in the dead-letter queue %s",
                            reason, r->dead_letter);
        reply = sfc_rpc_reply(
            NULL, sfc_rpc_error("DeadLettered",
                                "sfconnector.exceptions.DeadLettered", msg));
        rpcs_job_msg(j, &m, "nameko-rpc", to, reply, strlen(reply));
        /* A courtesy: nothing waits on its confirm. */
        if (j->reply_to.len)
            amqp_link_send(r->link, &m, &tag);
        free(reply);
        free(msg);
        free(to);
    } else {
        rpcs_job_retire(r, j);
    }
    free(rk);
    free(cid);
}

/*
 * A redelivered request (@d) on a queue that does not count deliveries: a
 * copy carrying the count goes back to the queue (the default exchange)
 * and this delivery is acked once the copy is confirmed. The copy is
 * handled as the request.
 */
void rpcs_copy_counted(struct connector_rpc *r,
                       struct job *j,
                       const struct amqp_link_delivery *d,
                       int64_t earlier)
{
    struct amqp_link_msg m;
    struct amqp_link_header h[4];
    char *rk = rpcs_bytes_str(j->routing_key);

    rpcs_request_msg(j, &m, "", r->queue);
    m.headers = h;
    m.n_headers = our_headers(h, earlier, rk, NULL, 0);
    m.headers_of = d;
    m.all_properties = true; /* every property as the caller sent it */
    rpcs_count(&r->n.redeliveries_counted);
    if (!rpcs_broker_publish(r, j, PUB_COPY, &m))
        rpcs_job_retire(r, j);
    free(rk);
}

/*
 * Its reply was refused: the request waits in the retry queue for a pause
 * that grows with the refusals (message TTL), then comes back to the
 * request queue, where the reply cache answers it. This delivery is acked
 * once the parked copy is confirmed.
 */
void rpcs_park(struct connector_rpc *r, struct job *j)
{
    struct amqp_link_msg m;
    struct amqp_link_header h[4];
    struct amqp_link_bytes ct = rpcs_view(j->content_type);
    char *rk = rpcs_bytes_str(j->routing_key), ttl[24];

    snprintf(ttl, sizeof(ttl), "%lld",
             (long long)sfc_backoff_ms((unsigned)j->refusals - 1, 500, 30000));
    rpcs_request_msg(j, &m, "", r->retry);
    m.headers = h;
    m.n_headers = our_headers(h, 0, rk, NULL, j->refusals);
    m.expiration = ttl;
    if (j->has_content_type)
        m.content_type = &ct;
    if (!rpcs_broker_publish(r, j, PUB_COPY, &m))
        rpcs_job_retire(r, j);
    free(rk);
}

/*
 * Which delivery of its request @d is, counting this one. Quorum queues
 * count for us (x-delivery-count); on others a redelivered request is
 * copied with the count in H_DELIVERIES (*copy set), as the redelivered
 * flag alone cannot say how often a request came back.
 */
int64_t rpcs_count_delivery(const struct amqp_link_delivery *d, bool *copy)
{
    int64_t n = 0;

    *copy = false;
    if (amqp_link_header_int(d, H_QUORUM_COUNT, &n))
        return (n < 0 ? 0 : n) + 1;
    if (!amqp_link_header_int(d, H_DELIVERIES, &n) || n < 0)
        n = 0;
    if (!d->redelivered)
        return n + 1;
    *copy = true;
    return n + 2;
}

/* A copy's routing key is in a header: it came by the default exchange. */
void rpcs_restore_routing_key(struct job *j, const struct amqp_link_delivery *d)
{
    struct amqp_link_bytes v;

    if (d->exchange.len || !amqp_link_header_bytes(d, H_ROUTING_KEY, &v))
        return;
    free(j->routing_key.p);
    j->routing_key = rpcs_bytes_dup(v);
}

/* The job whose copy (PUB_COPY) awaits a confirm on this connection. */
struct job *rpcs_awaiting_copy(struct connector_rpc *r,
                               struct amqp_link_bytes cid)
{
    for (struct job *j = r->unconfirmed; cid.len && j; j = j->next)
        if (j->kind == PUB_COPY && j->gen == r->gen &&
            rpcs_bytes_eq(j->correlation_id, cid))
            return j;
    return NULL;
}

/* Held jobs whose pause is over act again. */
void rpcs_due_held(struct connector_rpc *r)
{
    int64_t now = sfc_now_ms();
    struct job **pp = &r->held;

    while (*pp) {
        struct job *j = *pp;

        if (j->due_ms > now) {
            pp = &j->next;
            continue;
        }
        *pp = j->next;
        rpcs_broker_reject(r, j, true);
        rpcs_job_retire(r, j);
    }
}
