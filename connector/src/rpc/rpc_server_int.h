/*
 * rpc_server_int.h - the RPC responder's state and what its files share:
 * the AMQP thread with request intake, confirms and the responder's life
 * (rpc_server.c), the broker operations and replies (rpc_server_broker.c),
 * redelivery counting, dead letters and the retry queue
 * (rpc_server_redelivery.c), and jobs, the reply cache and the workers
 * (rpc_server_jobs.c).
 *
 * Thread: the AMQP thread unless a function says otherwise. Locks: none
 * unless a function says otherwise.
 */
#ifndef SFC_CONNECTOR_RPC_SERVER_INT_H
#define SFC_CONNECTOR_RPC_SERVER_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "amqp_link.h"
#include "rpc_server.h"
#include "sfc/rpc.h"

#define MOD        "rpc"
#define DONE_CACHE 1024

/* Headers of requests this responder copies or dead-letters. */
#define H_DELIVERIES  "x-sfc-deliveries"  /* deliveries before this copy */
#define H_ROUTING_KEY "x-sfc-routing-key" /* the request's routing key */
#define H_REASON      "x-sfc-dead-letter-reason"
#define H_REFUSALS    "x-sfc-reply-refusals" /* nacks of its reply so far */
/* Kept by RabbitMQ on quorum queues: earlier deliveries. */
#define H_QUORUM_COUNT "x-delivery-count"

/* Bytes we own and a length ({NULL, 0}: none). */
struct bytes {
    char *p;
    size_t len;
};

/* What a job awaits a confirm for. */
enum pub_kind {
    PUB_REPLY,       /* its reply */
    PUB_COPY,        /* a counted copy of the request, or one parked */
    PUB_DEAD_LETTER, /* the request, in the dead-letter queue */
};

/* Thread: the AMQP thread, except the fields a worker fills (reply) while
 * the job is on the todo list. */
struct job {
    uint64_t delivery_tag;
    uint64_t gen; /* connection generation the delivery belongs to */
    /* The request's properties as sent: bytes and lengths. */
    struct bytes routing_key, content_type, reply_to, correlation_id, body;
    bool has_content_type;
    char *reply; /* set by the worker (NUL-terminated JSON) */
    enum pub_kind kind;
    uint64_t publish_tag;
    int64_t refusals; /* nacks of its reply */
    int64_t due_ms;   /* held after a nack: when to hand it back */
    struct job *next;
    struct job *live_next; /* every job in hand, AMQP thread only */
    /* A copy of this request delivered before this delivery was acked:
     * handled once it is (on_ack), so that one request is never in hand
     * twice. */
    struct job *successor;
};

struct cached_reply {
    struct bytes id;  /* correlation id */
    uint64_t id_hash; /* id_hash(id): the scan compares these first */
    char *reply;
};

struct connector_rpc {
    const struct sfc_config *cfg;
    struct sfc_api_client *api; /* RPC's own pool, sharing the login */
    struct sfc_rpc *rpc;
    struct amqp_link *link;
    /* rpc-<service>, rpc-<service>.retry, rpc-<service>.dead-letter */
    char *queue, *retry, *dead_letter;
    uint64_t gen;
    pthread_t thread;
    pthread_t *workers;
    size_t n_workers;    /* worker threads started */
    bool thread_started; /* the AMQP thread (r->thread) runs */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct job *todo_head, *todo_tail; /* for workers */
    struct job *done_head, *done_tail; /* for the AMQP thread */
    int done_fd; /* eventfd: written when done_head turns non-empty */
    struct job *unconfirmed; /* publishes awaiting a confirm */
    struct job *held;        /* copies nacked: due_ms */
    struct job *live;        /* every job in hand */
    int64_t progress_ms;     /* last confirm, or last time none was awaited */
    atomic_bool stop;        /* leave: set by connector_rpc_stop() */
    atomic_bool draining;    /* take no new request: connector_rpc_drain() */
    size_t working;          /* jobs taken by workers, not yet done; lock */
    atomic_bool awaiting;    /* publishes await confirms (set by the AMQP
                                thread, read by connector_rpc_drain) */
    /* Bumped by the AMQP thread, read by the dispatch thread (metrics):
     * each a count of its own, so relaxed atomics. */
    struct {
        atomic_uint_least64_t requests, replies, no_reply_to, dead_lettered,
            replayed, replies_nacked, redeliveries_counted;
    } n;
    /* Replies of finished requests by correlation id: a redelivered
     * request is answered again without calling Salesforce twice. A request
     * redelivered while its first delivery is still in hand is adopted by
     * that job (see on_delivery). */
    struct cached_reply cache[DONE_CACHE];
    size_t cache_next;
};

/* ---- jobs, the reply cache and the workers (rpc_server_jobs.c) ---- */

/* Adds one to a counter of r->n. Thread: the AMQP thread. */
void rpcs_count(atomic_uint_least64_t *c);

/* A copy of @b (none when empty); free its p. Thread: any. */
struct bytes rpcs_bytes_dup(struct amqp_link_bytes b);

/* Borrowed view of @b, for a message to publish. Thread: any. */
struct amqp_link_bytes rpcs_view(struct bytes b);

/* Whether @a and @b hold the same bytes. Thread: any. */
bool rpcs_bytes_eq(struct bytes a, struct amqp_link_bytes b);

/* @b as a C string for logs and routing keys: NUL bytes become '?'. The
 * caller frees it. Thread: any. */
char *rpcs_bytes_str(struct bytes b);

/* A job of delivery @d on the current connection, not yet in hand (see
 * r->live). Thread: the AMQP thread. */
struct job *rpcs_job_new(struct connector_rpc *r,
                         const struct amqp_link_delivery *d);

/* Frees @j, which is not in hand. Thread: any that owns @j. */
void rpcs_job_free(struct job *j);

/* The job in hand for correlation id @cid, or NULL. Thread: the AMQP
 * thread. */
struct job *rpcs_live_find(struct connector_rpc *r, struct amqp_link_bytes cid);

/* A job leaves our hands: out of r->live, and freed. Thread: the AMQP
 * thread. */
void rpcs_job_retire(struct connector_rpc *r, struct job *j);

/* The cached reply to correlation id @cid (borrowed until the next
 * rpcs_remember), or NULL. Thread: the AMQP thread. */
const char *rpcs_cached(struct connector_rpc *r, struct amqp_link_bytes cid);

/* Remembers @j's reply by its correlation id. Thread: the AMQP thread. */
void rpcs_remember(struct connector_rpc *r, const struct job *j);

/* Hands @j to the workers. Thread: the AMQP thread. Locks: takes r->lock. */
void rpcs_queue_for_workers(struct connector_rpc *r, struct job *j);

/* A worker: runs jobs until r->stop. Thread: its own (pthread_create with
 * @arg the connector_rpc). Locks: takes r->lock. */
void *rpcs_worker_main(void *arg);

/* ---- the broker (rpc_server_broker.c) ---- */

/* Exchanges, queues and the consumer; false with @err. */
bool rpcs_broker_setup(struct connector_rpc *r, char *err, size_t errsz);

/* Acks @j's delivery, if it is of this connection. */
void rpcs_broker_ack(struct connector_rpc *r, const struct job *j);

/* Hands @j's delivery back: to the queue (@requeue) or to nobody. */
void rpcs_broker_reject(struct connector_rpc *r,
                        const struct job *j,
                        bool requeue);

/* A message published for @j, in @m: @body (@len bytes) with @j's
 * correlation id, to @exchange and @routing_key (all borrowed). */
void rpcs_job_msg(const struct job *j,
                  struct amqp_link_msg *m,
                  const char *exchange,
                  const char *routing_key,
                  const char *body,
                  size_t len);

/* The request itself, as its caller sent it, in @m (borrowing @j). */
void rpcs_request_msg(const struct job *j,
                      struct amqp_link_msg *m,
                      const char *exchange,
                      const char *routing_key);

/* Publishes @m for @j and awaits its confirm (r->unconfirmed); false when
 * the link failed. */
bool rpcs_broker_publish(struct connector_rpc *r,
                         struct job *j,
                         enum pub_kind kind,
                         const struct amqp_link_msg *m);

/* Publishes @j's reply (j->reply); @j is retired if the link failed. */
void rpcs_publish_reply(struct connector_rpc *r, struct job *j);

/* ---- redeliveries (rpc_server_redelivery.c) ---- */

/* Which delivery of its request @d is, counting this one; *@copy set when
 * a counted copy must replace it. Thread: any. */
int64_t rpcs_count_delivery(const struct amqp_link_delivery *d, bool *copy);

/* A copy's routing key, from its header, into @j. Thread: any. */
void rpcs_restore_routing_key(struct job *j,
                              const struct amqp_link_delivery *d);

/* The job whose copy (PUB_COPY) awaits a confirm on this connection. */
struct job *rpcs_awaiting_copy(struct connector_rpc *r,
                               struct amqp_link_bytes cid);

/* @j's request to the dead-letter queue (headers of @src, may be NULL). */
void rpcs_dead_letter(struct connector_rpc *r,
                      struct job *j,
                      const struct amqp_link_delivery *src,
                      int64_t deliveries,
                      const char *reason);

/* A counted copy of redelivered @d replaces it in the queue. */
void rpcs_copy_counted(struct connector_rpc *r,
                       struct job *j,
                       const struct amqp_link_delivery *d,
                       int64_t earlier);

/* @j's request waits in the retry queue (its reply was refused). */
void rpcs_park(struct connector_rpc *r, struct job *j);

/* A refused copy: its request goes back after a pause. */
void rpcs_hold(struct connector_rpc *r, struct job *j);

/* Held jobs whose pause is over are handed back to the queue. */
void rpcs_due_held(struct connector_rpc *r);

#endif
