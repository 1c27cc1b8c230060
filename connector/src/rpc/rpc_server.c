/*
 * The RPC responder's AMQP side (see rpc_server.h).
 *
 * Every request is a job, handed to a worker and answered on the AMQP
 * thread; a job's delivery is acked only once the broker confirmed what
 * was published for it:
 * - its reply (then the reply is remembered by correlation id);
 * - or a counted copy of the request (a redelivery: see count_delivery);
 * - or, past rpc.max_deliveries, the request itself in the dead-letter
 *   queue.
 * A nacked reply leaves its request unacked until the request is parked in
 * rpc-<service>.retry, a queue without consumers whose messages expire
 * back into rpc-<service> after a pause: the request comes back, and the
 * reply cache answers it. The pause frees the worker and the prefetch
 * slot, so a caller whose reply queue is full holds up nobody else.
 *
 * The broker operations are the functions under "broker" below, so that
 * the transport under them can change in one place.
 */
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>

#include "amqp_link.h"
#include "sf_options.h"
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
    size_t n_workers;
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

static void count(atomic_uint_least64_t *c)
{
    atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

static struct bytes bytes_dup(struct amqp_link_bytes b)
{
    struct bytes out = {NULL, b.len};

    if (b.len) {
        out.p = sfc_xmalloc(b.len);
        memcpy(out.p, b.p, b.len);
    }
    return out;
}

/* Borrowed view of @b, for a message to publish. */
static struct amqp_link_bytes view(struct bytes b)
{
    struct amqp_link_bytes v = {b.p, b.len};

    return v;
}

static bool bytes_eq(struct bytes a, struct amqp_link_bytes b)
{
    return a.len == b.len && (!a.len || memcmp(a.p, b.p, a.len) == 0);
}

/* @b as a C string for logs and routing keys: NUL bytes become '?'. */
static char *bytes_str(struct bytes b)
{
    char *s = sfc_xmalloc(b.len + 1);

    for (size_t i = 0; i < b.len; i++)
        s[i] = b.p[i] ? b.p[i] : '?';
    s[b.len] = '\0';
    return s;
}

static void job_free(struct job *j)
{
    free(j->routing_key.p);
    free(j->content_type.p);
    free(j->reply_to.p);
    free(j->correlation_id.p);
    free(j->body.p);
    free(j->reply);
    free(j);
}

static void live_del(struct connector_rpc *r, struct job *j)
{
    for (struct job **pp = &r->live; *pp; pp = &(*pp)->live_next)
        if (*pp == j) {
            *pp = j->live_next;
            return;
        }
}

static struct job *live_find(struct connector_rpc *r,
                             struct amqp_link_bytes cid)
{
    for (struct job *j = r->live; cid.len && j; j = j->live_next)
        if (bytes_eq(j->correlation_id, cid))
            return j;
    return NULL;
}

/* A job leaves our hands (AMQP thread). */
static void job_retire(struct connector_rpc *r, struct job *j)
{
    live_del(r, j);
    job_free(j);
}

/* FNV-1a of a correlation id. */
static uint64_t id_hash(struct amqp_link_bytes b)
{
    uint64_t h = 1469598103934665603ULL;

    for (size_t i = 0; i < b.len; i++)
        h = (h ^ ((const unsigned char *)b.p)[i]) * 1099511628211ULL;
    return h;
}

/* Looked up for every reply remembered: ids of one length (uuids) would
 * otherwise cost a memcmp per entry. */
static const char *cached(struct connector_rpc *r, struct amqp_link_bytes cid)
{
    uint64_t h = id_hash(cid);

    for (size_t i = 0; cid.len && i < DONE_CACHE; i++)
        if (r->cache[i].id_hash == h && r->cache[i].reply &&
            bytes_eq(r->cache[i].id, cid))
            return r->cache[i].reply;
    return NULL;
}

static void remember(struct connector_rpc *r, const struct job *j)
{
    struct cached_reply *c;

    if (!j->correlation_id.len || !j->reply ||
        cached(r, view(j->correlation_id)))
        return;
    c = &r->cache[r->cache_next++ % DONE_CACHE];
    free(c->id.p);
    free(c->reply);
    c->id = bytes_dup(view(j->correlation_id));
    c->id_hash = id_hash(view(c->id));
    c->reply = sfc_xstrdup(j->reply);
}

static void *worker_main(void *arg)
{
    struct connector_rpc *r = arg;

    for (;;) {
        struct sfc_rpc_request req;
        uint64_t one = 1;
        struct job *j;
        bool wake;

        pthread_mutex_lock(&r->lock);
        while (!r->todo_head && !r->stop)
            pthread_cond_wait(&r->cond, &r->lock);
        j = r->todo_head;
        if (!j) {
            pthread_mutex_unlock(&r->lock);
            return NULL;
        }
        r->todo_head = j->next;
        if (!r->todo_head)
            r->todo_tail = NULL;
        r->working++;
        pthread_mutex_unlock(&r->lock);

        req.routing_key = j->routing_key.p;
        req.routing_key_len = j->routing_key.len;
        req.content_type = j->has_content_type
                               ? (j->content_type.p ? j->content_type.p : "")
                               : NULL;
        req.content_type_len = j->content_type.len;
        req.body = j->body.p ? j->body.p : "";
        req.body_len = j->body.len;
        j->reply = sfc_rpc_handle(r->rpc, &req, NULL);
        pthread_mutex_lock(&r->lock);
        r->working--;
        j->next = NULL;
        wake = !r->done_head;
        if (r->done_tail)
            r->done_tail->next = j;
        else
            r->done_head = j;
        r->done_tail = j;
        pthread_mutex_unlock(&r->lock);
        /* The AMQP thread publishes the reply now, not at its next look;
         * written unlocked, so that it does not wake into a held lock. */
        if (wake && write(r->done_fd, &one, sizeof(one)) < 0) {
            /* Cannot overflow: the AMQP thread reads it back. */
        }
    }
}

/* ---- broker ---- */

/* Exchanges, queues and the consumer; false with @err. */
static bool broker_setup(struct connector_rpc *r, char *err, size_t errsz)
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

static void broker_ack(struct connector_rpc *r, const struct job *j)
{
    if (j->gen == r->gen && amqp_link_is_open(r->link))
        amqp_link_ack(r->link, j->delivery_tag);
}

/* Hands a delivery back: to the queue (@requeue) or to nobody. */
static void
broker_reject(struct connector_rpc *r, const struct job *j, bool requeue)
{
    if (j->gen == r->gen && amqp_link_is_open(r->link))
        amqp_link_reject(r->link, j->delivery_tag, requeue);
}

/* A message published for @j: JSON as Nameko sends it, with its
 * correlation id, to @exchange and @routing_key (borrowed). */
static void job_msg(const struct job *j,
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
    m->correlation_id = view(j->correlation_id);
}

/* The request itself, as its caller sent it (content type included):
 * the body of a copy, a parked request or a dead letter. */
static void request_msg(const struct job *j,
                        struct amqp_link_msg *m,
                        const char *exchange,
                        const char *routing_key)
{
    job_msg(j, m, exchange, routing_key, j->body.p ? j->body.p : "",
            j->body.len);
    m->reply_to = view(j->reply_to);
}

/* Publishes @m for @j and, when the broker took it, awaits its
 * confirm. False when the link failed. */
static bool broker_publish(struct connector_rpc *r,
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

/* ---- headers ---- */

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

/* ---- what is published for a job ---- */

/* A copy the broker refused: its request goes back after a pause. */
static void hold(struct connector_rpc *r, struct job *j)
{
    j->due_ms = sfc_now_ms() + 1000;
    j->next = r->held;
    r->held = j;
}

static void publish_reply(struct connector_rpc *r, struct job *j)
{
    struct amqp_link_msg m;
    char *to = bytes_str(j->reply_to);

    job_msg(j, &m, "nameko-rpc", to, j->reply, strlen(j->reply));
    if (broker_publish(r, j, PUB_REPLY, &m))
        count(&r->n.replies);
    else
        /* The request comes back when the broker is reachable again. */
        job_retire(r, j);
    free(to);
}

/*
 * The request goes to the dead-letter queue, with its headers (those of
 * delivery @src; NULL: none), why, and how often it was handed out; its
 * caller gets a DeadLettered error. It is acked once the broker confirmed
 * the dead letter.
 */
static void dead_letter(struct connector_rpc *r,
                        struct job *j,
                        const struct amqp_link_delivery *src,
                        int64_t deliveries,
                        const char *reason)
{
    struct amqp_link_msg m;
    struct amqp_link_header h[4];
    struct amqp_link_bytes ct = view(j->content_type);
    char *rk = bytes_str(j->routing_key), *cid = bytes_str(j->correlation_id);
    char *msg;
    uint64_t tag;

    request_msg(j, &m, r->dead_letter, rk);
    m.headers = h;
    m.n_headers = our_headers(h, deliveries, rk, reason, j->refusals);
    m.headers_of = src;
    if (j->has_content_type)
        m.content_type = &ct;
    sfc_log(SFC_LOG_WARN, MOD,
            "request %s (correlation id %s): %s; moved to the dead-letter "
            "queue %s",
            rk, cid, reason, r->dead_letter);
    count(&r->n.dead_lettered);
    if (broker_publish(r, j, PUB_DEAD_LETTER, &m)) {
        char *to = bytes_str(j->reply_to);
        char *reply;

        msg = sfc_xasprintf("the request %s; it is in the dead-letter queue %s",
                            reason, r->dead_letter);
        reply = sfc_rpc_reply(
            NULL, sfc_rpc_error("DeadLettered",
                                "sfconnector.exceptions.DeadLettered", msg));
        job_msg(j, &m, "nameko-rpc", to, reply, strlen(reply));
        /* A courtesy: nothing waits on its confirm. */
        if (j->reply_to.len)
            amqp_link_send(r->link, &m, &tag);
        free(reply);
        free(msg);
        free(to);
    } else {
        job_retire(r, j);
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
static void copy_counted(struct connector_rpc *r,
                         struct job *j,
                         const struct amqp_link_delivery *d,
                         int64_t earlier)
{
    struct amqp_link_msg m;
    struct amqp_link_header h[4];
    char *rk = bytes_str(j->routing_key);

    request_msg(j, &m, "", r->queue);
    m.headers = h;
    m.n_headers = our_headers(h, earlier, rk, NULL, 0);
    m.headers_of = d;
    m.all_properties = true; /* every property as the caller sent it */
    count(&r->n.redeliveries_counted);
    if (!broker_publish(r, j, PUB_COPY, &m))
        job_retire(r, j);
    free(rk);
}

/*
 * Its reply was refused: the request waits in the retry queue for a pause
 * that grows with the refusals (message TTL), then comes back to the
 * request queue, where the reply cache answers it. This delivery is acked
 * once the parked copy is confirmed.
 */
static void park(struct connector_rpc *r, struct job *j)
{
    struct amqp_link_msg m;
    struct amqp_link_header h[4];
    struct amqp_link_bytes ct = view(j->content_type);
    char *rk = bytes_str(j->routing_key), ttl[24];

    snprintf(ttl, sizeof(ttl), "%lld",
             (long long)sfc_backoff_ms((unsigned)j->refusals - 1, 500, 30000));
    request_msg(j, &m, "", r->retry);
    m.headers = h;
    m.n_headers = our_headers(h, 0, rk, NULL, j->refusals);
    m.expiration = ttl;
    if (j->has_content_type)
        m.content_type = &ct;
    if (!broker_publish(r, j, PUB_COPY, &m))
        job_retire(r, j);
    free(rk);
}

/* ---- deliveries ---- */

static struct job *job_new(struct connector_rpc *r,
                           const struct amqp_link_delivery *d)
{
    struct job *j = sfc_xcalloc(1, sizeof(*j));

    j->delivery_tag = d->tag;
    j->gen = r->gen;
    j->routing_key = bytes_dup(d->routing_key);
    j->body = bytes_dup(d->body);
    j->has_content_type = d->has_content_type;
    j->content_type = bytes_dup(d->content_type);
    j->reply_to = bytes_dup(d->reply_to);
    j->correlation_id = bytes_dup(d->correlation_id);
    return j;
}

/*
 * Which delivery of its request @d is, counting this one. Quorum queues
 * count for us (x-delivery-count); on others a redelivered request is
 * copied with the count in H_DELIVERIES (*copy set), as the redelivered
 * flag alone cannot say how often a request came back.
 */
static int64_t count_delivery(const struct amqp_link_delivery *d, bool *copy)
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
static void restore_routing_key(struct job *j,
                                const struct amqp_link_delivery *d)
{
    struct amqp_link_bytes v;

    if (d->exchange.len || !amqp_link_header_bytes(d, H_ROUTING_KEY, &v))
        return;
    free(j->routing_key.p);
    j->routing_key = bytes_dup(v);
}

static void queue_for_workers(struct connector_rpc *r, struct job *j)
{
    pthread_mutex_lock(&r->lock);
    if (r->todo_tail)
        r->todo_tail->next = j;
    else
        r->todo_head = j;
    r->todo_tail = j;
    pthread_mutex_unlock(&r->lock);
    /* Unlocked: the worker it wakes does not find the lock held. */
    pthread_cond_signal(&r->cond);
}

/* The job whose copy (PUB_COPY) awaits a confirm on this connection. */
static struct job *awaiting_copy(struct connector_rpc *r,
                                 struct amqp_link_bytes cid)
{
    for (struct job *j = r->unconfirmed; cid.len && j; j = j->next)
        if (j->kind == PUB_COPY && j->gen == r->gen &&
            bytes_eq(j->correlation_id, cid))
            return j;
    return NULL;
}

/* A copy that waited for its predecessor's ack: answered from the cache
 * (a parked request), or handed to a worker. */
static void resume(struct connector_rpc *r, struct job *j)
{
    const char *again = j->refusals ? cached(r, view(j->correlation_id)) : NULL;

    if (again) {
        j->reply = sfc_xstrdup(again);
        publish_reply(r, j);
    } else {
        queue_for_workers(r, j);
    }
}

/* A delivery arrived: queue it for a worker, or answer it at once. */
static void on_delivery(void *opaque, const struct amqp_link_delivery *d)
{
    struct connector_rpc *r = opaque;
    struct job *j, *first;
    const char *again;
    int64_t n;
    bool copy;
    char reason[96];

    /* Stopping: left unacked, the request goes back to the queue (for
     * another responder) when the connection closes. */
    if (atomic_load(&r->draining))
        return;
    j = job_new(r, d);
    count(&r->n.requests);
    if (!j->reply_to.len || memchr(j->reply_to.p, '\0', j->reply_to.len)) {
        char *rk = bytes_str(j->routing_key);

        /* Nobody to answer: never a crash, never a requeue loop. */
        count(&r->n.no_reply_to);
        sfc_log(SFC_LOG_WARN, MOD, "request %s without reply_to dropped", rk);
        free(rk);
        broker_reject(r, j, false);
        count(&r->n.dead_lettered);
        job_free(j);
        return;
    }
    if (!amqp_link_header_int(d, H_REFUSALS, &j->refusals) || j->refusals < 0)
        j->refusals = 0;
    /* Redelivered, or back from the retry queue: answered already? */
    again = d->redelivered || j->refusals ? cached(r, d->correlation_id) : NULL;
    if (again) {
        count(&r->n.replayed);
        j->reply = sfc_xstrdup(again);
        j->live_next = r->live;
        r->live = j;
        publish_reply(r, j);
        return;
    }
    first = d->redelivered ? live_find(r, d->correlation_id) : NULL;
    if (first && first->gen != r->gen) {
        /* Redelivered after a lost connection while a worker still holds
         * the first delivery: that job answers, and acks this delivery. */
        count(&r->n.replayed);
        first->delivery_tag = j->delivery_tag;
        first->gen = r->gen;
        job_free(j);
        return;
    }
    restore_routing_key(j, d);
    n = count_delivery(d, &copy);
    j->live_next = r->live;
    r->live = j;
    /* A copy can be delivered before its confirm (and our ack of the
     * delivery it replaces) is in: it waits for that ack. */
    first = d->exchange.len ? NULL : awaiting_copy(r, d->correlation_id);
    if (first && !d->redelivered && !first->successor) {
        first->successor = j;
        return;
    }
    if (n > r->cfg->rpc.max_deliveries) {
        snprintf(reason, sizeof(reason),
                 "was handed out %lld times without being answered",
                 (long long)n);
        dead_letter(r, j, d, n, reason);
    } else if (copy) {
        copy_counted(r, j, d, n - 1);
    } else {
        queue_for_workers(r, j);
    }
}

/* ---- confirms ---- */

/* Confirms: ack the requests their publishes were for. */
static void on_ack(void *opaque, uint64_t tag, bool multiple)
{
    struct connector_rpc *r = opaque;
    struct job **pp = &r->unconfirmed;

    while (*pp) {
        struct job *j = *pp;

        if (j->publish_tag == tag || (multiple && j->publish_tag < tag)) {
            struct job *next = j->successor;

            r->progress_ms = sfc_now_ms();
            *pp = j->next;
            broker_ack(r, j);
            if (j->kind == PUB_REPLY)
                remember(r, j);
            job_retire(r, j);
            if (next)
                resume(r, next);
        } else {
            pp = &j->next;
        }
    }
}

/*
 * The broker refused a publish (a full reply queue with reject-publish, a
 * queue limit): the request stays unacked. A refused reply is remembered
 * and its request parked (see park), up to rpc.max_deliveries refusals,
 * then dead-lettered; a refused copy or dead letter is handed back to the
 * queue after a pause.
 */
static void on_nack(void *opaque, uint64_t tag, bool multiple)
{
    struct connector_rpc *r = opaque;
    struct job **pp = &r->unconfirmed;

    while (*pp) {
        struct job *j = *pp;
        char *cid, reason[96];

        if (!(j->publish_tag == tag || (multiple && j->publish_tag < tag))) {
            pp = &j->next;
            continue;
        }
        r->progress_ms = sfc_now_ms();
        *pp = j->next;
        if (j->kind != PUB_REPLY) {
            hold(r, j);
            continue;
        }
        count(&r->n.replies_nacked);
        remember(r, j);
        if (++j->refusals < r->cfg->rpc.max_deliveries) {
            cid = bytes_str(j->correlation_id);
            sfc_log(SFC_LOG_WARN, MOD,
                    "the broker refused the reply to %s (is its reply queue "
                    "full?); the request waits in %s and is answered again",
                    cid, r->retry);
            free(cid);
            park(r, j);
        } else {
            snprintf(reason, sizeof(reason),
                     "was answered, but the broker refused its reply %lld "
                     "times",
                     (long long)j->refusals);
            dead_letter(r, j, NULL, 1, reason);
        }
    }
}

/* Held jobs whose pause is over act again. */
static void due_held(struct connector_rpc *r)
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
        broker_reject(r, j, true);
        job_retire(r, j);
    }
}

/* ---- the AMQP thread ---- */

/*
 * Sleeps until the broker sent something, a worker finished a job, or
 * 20 ms passed (held jobs and the confirm timeout are looked at then).
 * True when the broker's frames may be read.
 */
static bool wait_for_work(struct connector_rpc *r)
{
    struct pollfd pfd[2] = {{.fd = amqp_link_fd(r->link), .events = POLLIN},
                            {.fd = r->done_fd, .events = POLLIN}};
    uint64_t n;

    if (amqp_link_buffered(r->link))
        return true;
    if (poll(pfd, 2, 20) <= 0)
        return false;
    /* Read back before the done list is taken: a job added after that
     * writes it again. */
    if (pfd[1].revents && read(r->done_fd, &n, sizeof(n)) < 0) {
        /* Nothing to do: the list is the truth. */
    }
    return pfd[0].revents != 0;
}

/* One pass of the AMQP thread; false when the connection failed. */
static bool pump(struct connector_rpc *r)
{
    struct amqp_link_events ev = {.opaque = r,
                                  .acked = on_ack,
                                  .nacked = on_nack,
                                  .delivered = on_delivery};
    struct job *done;

    if (wait_for_work(r) && amqp_link_poll(r->link, 0, &ev) != SFC_OK)
        return false;
    pthread_mutex_lock(&r->lock);
    done = r->done_head;
    r->done_head = r->done_tail = NULL;
    pthread_mutex_unlock(&r->lock);
    while (done) {
        struct job *next = done->next;

        publish_reply(r, done);
        done = next;
    }
    due_held(r);
    atomic_store(&r->awaiting, r->unconfirmed != NULL);
    /* Publishes the broker takes but never confirms (a resource alarm, a
     * hung connection): leave it; their requests come back and are
     * answered from the cache on the next connection. */
    if (!r->unconfirmed) {
        r->progress_ms = sfc_now_ms();
    } else if (sfc_now_ms() - r->progress_ms >
               r->cfg->amqp.confirm_timeout_ms) {
        sfc_log(SFC_LOG_WARN, MOD,
                "no publisher confirm for RPC replies for %lld ms; "
                "reconnecting",
                (long long)r->cfg->amqp.confirm_timeout_ms);
        amqp_link_abandon(r->link);
        return false;
    }
    return amqp_link_is_open(r->link);
}

/* After a reconnect: publishes of the old connection were never
 * confirmed, and their requests come back; the cache answers them then. */
static void forget_unconfirmed(struct connector_rpc *r)
{
    struct job *lists[] = {r->unconfirmed, r->held};

    for (size_t k = 0; k < 2; k++)
        for (struct job *j = lists[k], *n; j; j = n) {
            n = j->next;
            if (j->kind == PUB_REPLY)
                remember(r, j);
            if (j->successor) /* it comes back too */
                job_retire(r, j->successor);
            job_retire(r, j);
        }
    r->unconfirmed = r->held = NULL;
    atomic_store(&r->awaiting, false);
    r->progress_ms = sfc_now_ms();
}

static void *server_main(void *arg)
{
    struct connector_rpc *r = arg;
    unsigned failures = 0;
    char err[512];

    while (!atomic_load(&r->stop)) {
        if (amqp_link_open(r->link, err, sizeof(err)) != SFC_OK ||
            !broker_setup(r, err, sizeof(err))) {
            sfc_log(SFC_LOG_WARN, MOD, "broker: %s", err);
            amqp_link_close(r->link);
            sfc_sleep_ms_unless(
                sfc_backoff_ms(failures++, 200, r->cfg->amqp.reconnect_max_ms),
                &r->stop);
            continue;
        }
        failures = 0;
        r->gen++;
        forget_unconfirmed(r);
        while (!atomic_load(&r->stop) && pump(r))
            ;
        if (!atomic_load(&r->stop))
            sfc_log(SFC_LOG_WARN, MOD, "broker connection lost; reconnecting");
    }
    /* Answer what workers still hold (their calls were cut short after
     * the grace period: bounded), then leave. */
    for (int i = 0; i < 50 && amqp_link_is_open(r->link); i++) {
        bool busy;

        pthread_mutex_lock(&r->lock);
        busy = r->todo_head || r->done_head || r->working;
        pthread_mutex_unlock(&r->lock);
        if (!busy || !pump(r))
            break;
    }
    amqp_link_close(r->link);
    return NULL;
}

/* Whether a request is in hand: queued, worked on, or what was published
 * for it not yet confirmed. Thread: any (takes the lock). */
static bool in_hand(struct connector_rpc *r)
{
    bool busy;

    pthread_mutex_lock(&r->lock);
    busy =
        r->todo_head || r->done_head || r->working || atomic_load(&r->awaiting);
    pthread_mutex_unlock(&r->lock);
    return busy;
}

void connector_rpc_drain(struct connector_rpc *r, int64_t until_ms)
{
    if (!r)
        return;
    atomic_store(&r->draining, true);
    while (in_hand(r) && sfc_now_ms() < until_ms)
        sfc_sleep_ms(20);
}

struct connector_rpc *connector_rpc_start(const struct sfc_config *cfg,
                                          struct sfc_api_client *api,
                                          char *errstr,
                                          size_t errsz)
{
    const struct sfc_config_rpc *c = &cfg->rpc;
    struct sfc_rpc_named_method *m = sfc_xcalloc(c->n_methods + 1, sizeof(*m));
    struct sfc_rpc_options o;
    struct connector_rpc *r = sfc_xcalloc(1, sizeof(*r));

    sfc_rpc_options_init(&o);
    o.service = cfg->service.name;
    o.request_max_bytes = (size_t)c->request_max_bytes;
    o.result_max_bytes = (size_t)c->result_max_bytes;
    o.query_all_max_records = c->query_all_max_records;
    o.allow_methods = (const char *const *)c->allow_methods;
    o.n_allow_methods = c->n_allow_methods;
    o.allow_sobjects = (const char *const *)c->allow_sobjects;
    o.n_allow_sobjects = c->n_allow_sobjects;
    for (size_t i = 0; i < c->n_methods; i++) {
        m[i].name = c->methods[i].name;
        m[i].op = c->methods[i].operation;
        m[i].sobject = c->methods[i].sobject;
        m[i].fields = (const char *const *)c->methods[i].args;
        m[i].n_fields = c->methods[i].n_args;
    }
    o.methods = m;
    o.n_methods = c->n_methods;
    o.coalesce_window_ms = c->coalesce_window_ms;
    r->cfg = cfg;
    /* RPC's own handles: its load never takes the rest of the daemon's. */
    r->api = sfc_api_client_new_pool(api, (unsigned)c->pool_size);
    r->rpc = sfc_rpc_new(&o, r->api, errstr, errsz);
    free(m);
    if (!r->rpc) {
        sfc_api_client_destroy(r->api);
        free(r);
        return NULL;
    }
    r->queue = sfc_xasprintf("rpc-%s", cfg->service.name);
    r->retry = sfc_xasprintf("rpc-%s.retry", cfg->service.name);
    r->dead_letter = sfc_xasprintf("rpc-%s.dead-letter", cfg->service.name);
    {
        struct amqp_link_options lo;

        connector_amqp_options(cfg, &lo);
        lo.interrupt = &r->stop;
        r->link = amqp_link_new(&lo);
    }
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->cond, NULL);
    r->done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    r->n_workers = (size_t)c->max_workers;
    r->workers = sfc_xcalloc(r->n_workers, sizeof(pthread_t));
    for (size_t i = 0; i < r->n_workers; i++)
        pthread_create(&r->workers[i], NULL, worker_main, r);
    pthread_create(&r->thread, NULL, server_main, r);
    return r;
}

static void free_list(struct job *j)
{
    for (struct job *n; j; j = n) {
        n = j->next;
        if (j->successor)
            job_free(j->successor);
        job_free(j);
    }
}

void connector_rpc_stop(struct connector_rpc *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->lock);
    atomic_store(&r->stop, true);
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->lock);
    pthread_join(r->thread, NULL);
    for (size_t i = 0; i < r->n_workers; i++)
        pthread_join(r->workers[i], NULL);
    free_list(r->unconfirmed);
    free_list(r->held);
    free_list(r->done_head);
    free_list(r->todo_head);
    for (size_t i = 0; i < DONE_CACHE; i++) {
        free(r->cache[i].id.p);
        free(r->cache[i].reply);
    }
    amqp_link_destroy(r->link);
    sfc_rpc_destroy(r->rpc);
    sfc_api_client_destroy(r->api);
    free(r->queue);
    free(r->retry);
    free(r->dead_letter);
    free(r->workers);
    pthread_mutex_destroy(&r->lock);
    pthread_cond_destroy(&r->cond);
    close(r->done_fd);
    free(r);
}

void connector_rpc_get_stats(struct connector_rpc *r,
                             struct connector_rpc_stats *out)
{
    memset(out, 0, sizeof(*out));
    out->requests = atomic_load(&r->n.requests);
    out->replies = atomic_load(&r->n.replies);
    out->no_reply_to = atomic_load(&r->n.no_reply_to);
    out->dead_lettered = atomic_load(&r->n.dead_lettered);
    out->replayed = atomic_load(&r->n.replayed);
    out->replies_nacked = atomic_load(&r->n.replies_nacked);
    out->redeliveries_counted = atomic_load(&r->n.redeliveries_counted);
    sfc_rpc_coalesce_stats(r->rpc, &out->coalesced_creates,
                           &out->coalesced_requests);
}
