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

#include <amqp.h>

#include "amqp_link_int.h"
#include "sf_options.h"
#include "rpc_server.h"
#include "sfc/rpc.h"

#define MOD        "rpc"
#define CHANNEL    1
#define DONE_CACHE 1024

/* Headers of requests this responder copies or dead-letters. */
#define H_DELIVERIES  "x-sfc-deliveries"  /* deliveries before this copy */
#define H_ROUTING_KEY "x-sfc-routing-key" /* the request's routing key */
#define H_REASON      "x-sfc-dead-letter-reason"
#define H_REFUSALS    "x-sfc-reply-refusals" /* nacks of its reply so far */
/* Kept by RabbitMQ on quorum queues: earlier deliveries. */
#define H_QUORUM_COUNT "x-delivery-count"

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
    amqp_bytes_t routing_key, content_type, reply_to, correlation_id, body;
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
    amqp_bytes_t id;  /* correlation id */
    uint64_t id_hash; /* id_hash(id): the scan compares these first */
    char *reply;
};

struct connector_rpc {
    const struct sfc_config *cfg;
    struct sfc_api_client *api; /* RPC's own pool, sharing the login */
    struct sfc_rpc *rpc;
    struct amqp_link link;
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

static amqp_bytes_t bytes_dup(amqp_bytes_t b)
{
    amqp_bytes_t out = {b.len, NULL};

    if (b.len) {
        out.bytes = sfc_xmalloc(b.len);
        memcpy(out.bytes, b.bytes, b.len);
    }
    return out;
}

static bool bytes_eq(amqp_bytes_t a, amqp_bytes_t b)
{
    return a.len == b.len && (!a.len || memcmp(a.bytes, b.bytes, a.len) == 0);
}

/* @b as a C string for logs and routing keys: NUL bytes become '?'. */
static char *bytes_str(amqp_bytes_t b)
{
    char *s = sfc_xmalloc(b.len + 1);

    for (size_t i = 0; i < b.len; i++)
        s[i] = ((char *)b.bytes)[i] ? ((char *)b.bytes)[i] : '?';
    s[b.len] = '\0';
    return s;
}

static void job_free(struct job *j)
{
    free(j->routing_key.bytes);
    free(j->content_type.bytes);
    free(j->reply_to.bytes);
    free(j->correlation_id.bytes);
    free(j->body.bytes);
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

static struct job *live_find(struct connector_rpc *r, amqp_bytes_t cid)
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
static uint64_t id_hash(amqp_bytes_t b)
{
    uint64_t h = 1469598103934665603ULL;

    for (size_t i = 0; i < b.len; i++)
        h = (h ^ ((const unsigned char *)b.bytes)[i]) * 1099511628211ULL;
    return h;
}

/* Looked up for every reply remembered: ids of one length (uuids) would
 * otherwise cost a memcmp per entry. */
static const char *cached(struct connector_rpc *r, amqp_bytes_t cid)
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

    if (!j->correlation_id.len || !j->reply || cached(r, j->correlation_id))
        return;
    c = &r->cache[r->cache_next++ % DONE_CACHE];
    free(c->id.bytes);
    free(c->reply);
    c->id = bytes_dup(j->correlation_id);
    c->id_hash = id_hash(c->id);
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

        req.routing_key = j->routing_key.bytes;
        req.routing_key_len = j->routing_key.len;
        req.content_type =
            j->has_content_type
                ? (j->content_type.bytes ? j->content_type.bytes : "")
                : NULL;
        req.content_type_len = j->content_type.len;
        req.body = j->body.bytes ? j->body.bytes : "";
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
    amqp_connection_state_t c = r->link.conn;
    char key[256];
    bool as_is = false;
    amqp_rpc_reply_t rep;

    /* Parked requests expire back into the request queue. */
    amqp_table_entry_t back[] = {
        {amqp_cstring_bytes("x-dead-letter-exchange"),
         {AMQP_FIELD_KIND_UTF8, {.bytes = amqp_cstring_bytes("")}}},
        {amqp_cstring_bytes("x-dead-letter-routing-key"),
         {AMQP_FIELD_KIND_UTF8, {.bytes = amqp_cstring_bytes(r->queue)}}}};
    amqp_table_t retry_args = {2, back};

    snprintf(key, sizeof(key), "%s.*", r->cfg->service.name);
    if (amqp_link_declare_exchange(&r->link, "nameko-rpc", "topic", false, err,
                                   errsz) != SFC_OK ||
        amqp_link_declare_queue(&r->link, r->queue, NULL, "nameko-rpc", key,
                                &as_is, err, errsz) != SFC_OK ||
        amqp_link_declare_queue(&r->link, r->retry, &retry_args, NULL, NULL,
                                NULL, err, errsz) != SFC_OK ||
        amqp_link_declare_exchange(&r->link, r->dead_letter, "fanout", false,
                                   err, errsz) != SFC_OK ||
        amqp_link_declare_queue(&r->link, r->dead_letter, NULL, r->dead_letter,
                                "", NULL, err, errsz) != SFC_OK)
        return false;
    amqp_basic_qos(c, CHANNEL, 0, (uint16_t)r->cfg->rpc.max_workers, 0);
    amqp_basic_consume(c, CHANNEL, amqp_cstring_bytes(r->queue),
                       amqp_empty_bytes, 0, 0, 0, amqp_empty_table);
    rep = amqp_get_rpc_reply(c);
    if (rep.reply_type != AMQP_RESPONSE_NORMAL) {
        sfc_errstr_set(err, errsz, "cannot consume from %s", r->queue);
        return false;
    }
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
    if (j->gen == r->gen && r->link.open)
        amqp_basic_ack(r->link.conn, CHANNEL, j->delivery_tag, 0);
}

/* Hands a delivery back: to the queue (@requeue) or to nobody. */
static void
broker_reject(struct connector_rpc *r, const struct job *j, bool requeue)
{
    if (j->gen == r->gen && r->link.open)
        amqp_basic_reject(r->link.conn, CHANNEL, j->delivery_tag, requeue);
}

/* Properties of a message published for @j: its own as far as known,
 * with @headers (may be NULL: an empty table). */
static void job_props(const struct job *j,
                      amqp_basic_properties_t *p,
                      const amqp_table_t *headers)
{
    memset(p, 0, sizeof(*p));
    p->_flags = AMQP_BASIC_CONTENT_TYPE_FLAG |
                AMQP_BASIC_CONTENT_ENCODING_FLAG |
                AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_PRIORITY_FLAG |
                AMQP_BASIC_HEADERS_FLAG;
    p->content_type = amqp_cstring_bytes("application/json");
    p->content_encoding = amqp_cstring_bytes("utf-8");
    p->delivery_mode = 2;
    p->priority = 0;
    p->headers = headers ? *headers : amqp_empty_table;
    if (j->correlation_id.len) {
        p->_flags |= AMQP_BASIC_CORRELATION_ID_FLAG;
        p->correlation_id = j->correlation_id;
    }
}

/* Publishes @body for @j and, when the broker took it, awaits its
 * confirm. False when the link failed. */
static bool broker_publish(struct connector_rpc *r,
                           struct job *j,
                           enum pub_kind kind,
                           const char *exchange,
                           const char *routing_key,
                           amqp_basic_properties_t *p,
                           const char *body,
                           size_t len)
{
    if (amqp_link_publish(&r->link, exchange, routing_key, p, body, len, false,
                          &j->publish_tag) != SFC_OK)
        return false;
    j->kind = kind;
    if (!r->unconfirmed)
        r->progress_ms = sfc_now_ms(); /* the wait starts now */
    j->next = r->unconfirmed;
    r->unconfirmed = j;
    return true;
}

/* ---- headers ---- */

static const amqp_field_value_t *header(const amqp_table_t *t, const char *key)
{
    size_t n = strlen(key);

    for (int i = 0; t && i < t->num_entries; i++)
        if (t->entries[i].key.len == n &&
            memcmp(t->entries[i].key.bytes, key, n) == 0)
            return &t->entries[i].value;
    return NULL;
}

/* An integer header of any width; false when absent or of another type. */
static bool header_int(const amqp_table_t *t, const char *key, int64_t *out)
{
    const amqp_field_value_t *v = header(t, key);

    if (!v)
        return false;
    switch (v->kind) {
    case AMQP_FIELD_KIND_I8:
        *out = v->value.i8;
        return true;
    case AMQP_FIELD_KIND_U8:
        *out = v->value.u8;
        return true;
    case AMQP_FIELD_KIND_I16:
        *out = v->value.i16;
        return true;
    case AMQP_FIELD_KIND_U16:
        *out = v->value.u16;
        return true;
    case AMQP_FIELD_KIND_I32:
        *out = v->value.i32;
        return true;
    case AMQP_FIELD_KIND_U32:
        *out = v->value.u32;
        return true;
    case AMQP_FIELD_KIND_I64:
        *out = v->value.i64;
        return true;
    case AMQP_FIELD_KIND_U64:
        *out = v->value.u64 > INT64_MAX ? INT64_MAX : (int64_t)v->value.u64;
        return true;
    default:
        return false;
    }
}

/* @src's entries but ours, then ours: the headers of a copy or a dead
 * letter. Entries point into @src and the arguments; free e->entries. */
static void headers_with(amqp_table_t *e,
                         const amqp_table_t *src,
                         int64_t deliveries,
                         const char *routing_key,
                         const char *reason,
                         int64_t refusals)
{
    static const char *const ours[] = {H_DELIVERIES, H_ROUTING_KEY, H_REASON,
                                       H_REFUSALS};
    int n = src ? src->num_entries : 0;

    e->entries = sfc_xcalloc((size_t)n + 4, sizeof(*e->entries));
    e->num_entries = 0;
    for (int i = 0; i < n; i++) {
        const amqp_table_entry_t *x = &src->entries[i];
        bool mine = false;

        for (size_t k = 0; k < 4; k++)
            mine |= x->key.len == strlen(ours[k]) &&
                    memcmp(x->key.bytes, ours[k], x->key.len) == 0;
        if (!mine)
            e->entries[e->num_entries++] = *x;
    }
    e->entries[e->num_entries].key = amqp_cstring_bytes(H_DELIVERIES);
    e->entries[e->num_entries].value.kind = AMQP_FIELD_KIND_I64;
    e->entries[e->num_entries++].value.value.i64 = deliveries;
    e->entries[e->num_entries].key = amqp_cstring_bytes(H_ROUTING_KEY);
    e->entries[e->num_entries].value.kind = AMQP_FIELD_KIND_UTF8;
    e->entries[e->num_entries++].value.value.bytes =
        amqp_cstring_bytes(routing_key);
    if (reason) {
        e->entries[e->num_entries].key = amqp_cstring_bytes(H_REASON);
        e->entries[e->num_entries].value.kind = AMQP_FIELD_KIND_UTF8;
        e->entries[e->num_entries++].value.value.bytes =
            amqp_cstring_bytes(reason);
    }
    if (refusals) {
        e->entries[e->num_entries].key = amqp_cstring_bytes(H_REFUSALS);
        e->entries[e->num_entries].value.kind = AMQP_FIELD_KIND_I64;
        e->entries[e->num_entries++].value.value.i64 = refusals;
    }
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
    amqp_basic_properties_t p;
    char *to = bytes_str(j->reply_to);

    job_props(j, &p, NULL);
    if (broker_publish(r, j, PUB_REPLY, "nameko-rpc", to, &p, j->reply,
                       strlen(j->reply)))
        count(&r->n.replies);
    else
        /* The request comes back when the broker is reachable again. */
        job_retire(r, j);
    free(to);
}

/*
 * The request goes to the dead-letter queue, with its headers, why, and
 * how often it was handed out; its caller gets a DeadLettered error. It
 * is acked once the broker confirmed the dead letter.
 */
static void dead_letter(struct connector_rpc *r,
                        struct job *j,
                        const amqp_table_t *src,
                        int64_t deliveries,
                        const char *reason)
{
    amqp_basic_properties_t p;
    amqp_table_t h;
    char *rk = bytes_str(j->routing_key), *cid = bytes_str(j->correlation_id);
    char *msg;
    uint64_t tag;

    headers_with(&h, src, deliveries, rk, reason, j->refusals);
    job_props(j, &p, &h);
    if (j->has_content_type)
        p.content_type = j->content_type;
    if (j->reply_to.len) {
        p._flags |= AMQP_BASIC_REPLY_TO_FLAG;
        p.reply_to = j->reply_to;
    }
    sfc_log(SFC_LOG_WARN, MOD,
            "request %s (correlation id %s): %s; moved to the dead-letter "
            "queue %s",
            rk, cid, reason, r->dead_letter);
    count(&r->n.dead_lettered);
    if (broker_publish(r, j, PUB_DEAD_LETTER, r->dead_letter, rk, &p,
                       j->body.bytes ? j->body.bytes : "", j->body.len)) {
        char *to = bytes_str(j->reply_to);
        char *reply;

        msg = sfc_xasprintf("the request %s; it is in the dead-letter queue %s",
                            reason, r->dead_letter);
        reply = sfc_rpc_reply(
            NULL, sfc_rpc_error("DeadLettered",
                                "sfconnector.exceptions.DeadLettered", msg));
        job_props(j, &p, NULL);
        /* A courtesy: nothing waits on its confirm. */
        if (j->reply_to.len)
            amqp_link_publish(&r->link, "nameko-rpc", to, &p, reply,
                              strlen(reply), false, &tag);
        free(reply);
        free(msg);
        free(to);
    } else {
        job_retire(r, j);
    }
    free(h.entries);
    free(rk);
    free(cid);
}

/*
 * A redelivered request on a queue that does not count deliveries: a copy
 * carrying the count goes back to the queue (the default exchange) and
 * this delivery is acked once the copy is confirmed. The copy is handled
 * as the request.
 */
static void copy_counted(struct connector_rpc *r,
                         struct job *j,
                         amqp_basic_properties_t *orig,
                         int64_t earlier)
{
    amqp_basic_properties_t p = *orig;
    amqp_table_t h;
    char *rk = bytes_str(j->routing_key);

    headers_with(&h, &orig->headers, earlier, rk, NULL, 0);
    p.headers = h;
    p._flags |= AMQP_BASIC_HEADERS_FLAG;
    count(&r->n.redeliveries_counted);
    if (!broker_publish(r, j, PUB_COPY, "", r->queue, &p,
                        j->body.bytes ? j->body.bytes : "", j->body.len))
        job_retire(r, j);
    free(h.entries);
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
    amqp_basic_properties_t p;
    amqp_table_t h;
    char *rk = bytes_str(j->routing_key), ttl[24];

    headers_with(&h, NULL, 0, rk, NULL, j->refusals);
    job_props(j, &p, &h);
    if (j->has_content_type)
        p.content_type = j->content_type;
    p._flags |= AMQP_BASIC_REPLY_TO_FLAG | AMQP_BASIC_EXPIRATION_FLAG;
    p.reply_to = j->reply_to;
    snprintf(ttl, sizeof(ttl), "%lld",
             (long long)sfc_backoff_ms((unsigned)j->refusals - 1, 500, 30000));
    p.expiration = amqp_cstring_bytes(ttl);
    if (!broker_publish(r, j, PUB_COPY, "", r->retry, &p,
                        j->body.bytes ? j->body.bytes : "", j->body.len))
        job_retire(r, j);
    free(h.entries);
    free(rk);
}

/* ---- deliveries ---- */

static struct job *job_new(struct connector_rpc *r, amqp_envelope_t *env)
{
    amqp_basic_properties_t *p = &env->message.properties;
    struct job *j = sfc_xcalloc(1, sizeof(*j));

    j->delivery_tag = env->delivery_tag;
    j->gen = r->gen;
    j->routing_key = bytes_dup(env->routing_key);
    j->body = bytes_dup(env->message.body);
    if (p->_flags & AMQP_BASIC_CONTENT_TYPE_FLAG) {
        j->has_content_type = true;
        j->content_type = bytes_dup(p->content_type);
    }
    if (p->_flags & AMQP_BASIC_REPLY_TO_FLAG)
        j->reply_to = bytes_dup(p->reply_to);
    if (p->_flags & AMQP_BASIC_CORRELATION_ID_FLAG)
        j->correlation_id = bytes_dup(p->correlation_id);
    return j;
}

/*
 * Which delivery of its request @env is, counting this one. Quorum queues
 * count for us (x-delivery-count); on others a redelivered request is
 * copied with the count in H_DELIVERIES (*copy set), as the redelivered
 * flag alone cannot say how often a request came back.
 */
static int64_t count_delivery(amqp_envelope_t *env, bool *copy)
{
    const amqp_table_t *h = &env->message.properties.headers;
    int64_t n = 0;

    if (!(env->message.properties._flags & AMQP_BASIC_HEADERS_FLAG))
        h = NULL;
    *copy = false;
    if (header_int(h, H_QUORUM_COUNT, &n))
        return (n < 0 ? 0 : n) + 1;
    if (!header_int(h, H_DELIVERIES, &n) || n < 0)
        n = 0;
    if (!env->redelivered)
        return n + 1;
    *copy = true;
    return n + 2;
}

/* A copy's routing key is in a header: it came by the default exchange. */
static void restore_routing_key(struct job *j, amqp_envelope_t *env)
{
    const amqp_field_value_t *v;

    if (env->exchange.len ||
        !(env->message.properties._flags & AMQP_BASIC_HEADERS_FLAG))
        return;
    v = header(&env->message.properties.headers, H_ROUTING_KEY);
    if (v &&
        (v->kind == AMQP_FIELD_KIND_UTF8 || v->kind == AMQP_FIELD_KIND_BYTES)) {
        free(j->routing_key.bytes);
        j->routing_key = bytes_dup(v->value.bytes);
    }
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
static struct job *awaiting_copy(struct connector_rpc *r, amqp_bytes_t cid)
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
    const char *again = j->refusals ? cached(r, j->correlation_id) : NULL;

    if (again) {
        j->reply = sfc_xstrdup(again);
        publish_reply(r, j);
    } else {
        queue_for_workers(r, j);
    }
}

/* A delivery arrived: queue it for a worker, or answer it at once. */
static void on_delivery(struct connector_rpc *r, amqp_envelope_t *env)
{
    struct job *j, *first;
    const char *again;
    int64_t n;
    bool copy;
    char reason[96];

    /* Stopping: left unacked, the request goes back to the queue (for
     * another responder) when the connection closes. */
    if (atomic_load(&r->draining))
        return;
    j = job_new(r, env);
    count(&r->n.requests);
    if (!j->reply_to.len || memchr(j->reply_to.bytes, '\0', j->reply_to.len)) {
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
    if (!(env->message.properties._flags & AMQP_BASIC_HEADERS_FLAG) ||
        !header_int(&env->message.properties.headers, H_REFUSALS,
                    &j->refusals) ||
        j->refusals < 0)
        j->refusals = 0;
    /* Redelivered, or back from the retry queue: answered already? */
    again =
        env->redelivered || j->refusals ? cached(r, j->correlation_id) : NULL;
    if (again) {
        count(&r->n.replayed);
        j->reply = sfc_xstrdup(again);
        j->live_next = r->live;
        r->live = j;
        publish_reply(r, j);
        return;
    }
    first = env->redelivered ? live_find(r, j->correlation_id) : NULL;
    if (first && first->gen != r->gen) {
        /* Redelivered after a lost connection while a worker still holds
         * the first delivery: that job answers, and acks this delivery. */
        count(&r->n.replayed);
        first->delivery_tag = j->delivery_tag;
        first->gen = r->gen;
        job_free(j);
        return;
    }
    restore_routing_key(j, env);
    n = count_delivery(env, &copy);
    j->live_next = r->live;
    r->live = j;
    /* A copy can be delivered before its confirm (and our ack of the
     * delivery it replaces) is in: it waits for that ack. */
    first = env->exchange.len ? NULL : awaiting_copy(r, j->correlation_id);
    if (first && !env->redelivered && !first->successor) {
        first->successor = j;
        return;
    }
    if (n > r->cfg->rpc.max_deliveries) {
        snprintf(reason, sizeof(reason),
                 "was handed out %lld times without being answered",
                 (long long)n);
        dead_letter(r, j, &env->message.properties.headers, n, reason);
    } else if (copy) {
        copy_counted(r, j, &env->message.properties, n - 1);
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

/* The frame that interrupted amqp_consume_message(): a confirm of one of
 * our publishes, or the broker closing things. */
static bool other_frame(struct connector_rpc *r,
                        const struct amqp_link_events *ev)
{
    amqp_frame_t f;

    if (amqp_simple_wait_frame(r->link.conn, &f) != AMQP_STATUS_OK)
        return false;
    if (f.frame_type != AMQP_FRAME_METHOD)
        return true;
    switch (f.payload.method.id) {
    case AMQP_BASIC_ACK_METHOD: {
        amqp_basic_ack_t *a = f.payload.method.decoded;

        ev->acked(ev->opaque, a->delivery_tag, a->multiple);
        return true;
    }
    case AMQP_BASIC_NACK_METHOD: {
        amqp_basic_nack_t *n = f.payload.method.decoded;

        ev->nacked(ev->opaque, n->delivery_tag, n->multiple);
        return true;
    }
    case AMQP_CHANNEL_CLOSE_METHOD:
    case AMQP_CONNECTION_CLOSE_METHOD:
        sfc_log(SFC_LOG_WARN, MOD, "broker closed the RPC channel");
        return false;
    default:
        return true;
    }
}

/*
 * Sleeps until the broker sent something, a worker finished a job, or
 * 20 ms passed (held jobs and the confirm timeout are looked at then).
 * True when the broker's frames may be read.
 */
static bool wait_for_work(struct connector_rpc *r)
{
    struct pollfd pfd[2] = {{.fd = amqp_link_fd(&r->link), .events = POLLIN},
                            {.fd = r->done_fd, .events = POLLIN}};
    uint64_t n;

    if (amqp_link_buffered(&r->link))
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
    struct amqp_link_events ev = {
        .opaque = r, .acked = on_ack, .nacked = on_nack};
    struct timeval zero = {0, 0};
    amqp_envelope_t env;
    amqp_rpc_reply_t rep;
    struct job *done;

    amqp_maybe_release_buffers(r->link.conn);
    if (!wait_for_work(r))
        rep = (amqp_rpc_reply_t){.reply_type = AMQP_RESPONSE_LIBRARY_EXCEPTION,
                                 .library_error = AMQP_STATUS_TIMEOUT};
    else
        rep = amqp_consume_message(r->link.conn, &env, &zero, 0);
    if (rep.reply_type == AMQP_RESPONSE_NORMAL) {
        on_delivery(r, &env);
        amqp_destroy_envelope(&env);
    } else if (rep.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
               rep.library_error == AMQP_STATUS_UNEXPECTED_STATE) {
        /* Exactly one frame: the next one may be a delivery again. */
        if (!other_frame(r, &ev))
            return false;
    } else if (!(rep.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
                 rep.library_error == AMQP_STATUS_TIMEOUT)) {
        return false;
    }
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
        amqp_link_abandon(&r->link);
        return false;
    }
    return r->link.open;
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
        if (amqp_link_open(&r->link, err, sizeof(err)) != SFC_OK ||
            !broker_setup(r, err, sizeof(err))) {
            sfc_log(SFC_LOG_WARN, MOD, "broker: %s", err);
            amqp_link_close(&r->link);
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
    for (int i = 0; i < 50 && r->link.open; i++) {
        bool busy;

        pthread_mutex_lock(&r->lock);
        busy = r->todo_head || r->done_head || r->working;
        pthread_mutex_unlock(&r->lock);
        if (!busy || !pump(r))
            break;
    }
    amqp_link_close(&r->link);
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
        amqp_link_init(&r->link, &lo);
    }
    r->link.interrupt = &r->stop;
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
        free(r->cache[i].id.bytes);
        free(r->cache[i].reply);
    }
    amqp_link_fini(&r->link);
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
