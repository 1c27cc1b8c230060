/* The RPC responder's AMQP side (see rpc_server.h). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <amqp.h>

#include "amqp_link.h"
#include "rpc_server.h"
#include "sfc/rpc.h"

#define MOD        "rpc"
#define CHANNEL    1
#define DONE_CACHE 1024

struct job {
    uint64_t delivery_tag;
    uint64_t gen; /* connection generation the delivery belongs to */
    char *routing_key, *content_type, *reply_to, *correlation_id;
    char *body;
    size_t len;
    char *reply; /* set by the worker */
    uint64_t publish_tag;
    struct job *next;
    struct job *live_next; /* every job in hand, AMQP thread only */
};

struct connector_rpc {
    const struct sfc_config *cfg;
    struct sfc_rpc *rpc;
    struct amqp_link link;
    uint64_t gen;
    pthread_t thread;
    pthread_t *workers;
    size_t n_workers;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct job *todo_head, *todo_tail; /* for workers */
    struct job *done_head, *done_tail; /* for the AMQP thread */
    struct job *unconfirmed;           /* replies awaiting a confirm */
    struct job *live;                  /* every job in hand */
    int64_t progress_ms;  /* last confirm, or last time none was awaited */
    atomic_bool stop;     /* leave: set by connector_rpc_stop() */
    atomic_bool draining; /* take no new request: connector_rpc_drain() */
    size_t working;       /* jobs taken by workers, not yet done; lock */
    atomic_bool awaiting; /* replies await confirms (set by the AMQP
                             thread, read by connector_rpc_drain) */
    struct connector_rpc_stats stats;
    /* Replies of finished requests by correlation id: a redelivered
     * request is answered again without calling Salesforce twice. A request
     * redelivered while its first delivery is still in hand is adopted by
     * that job (see on_delivery). */
    char *cache_id[DONE_CACHE];
    char *cache_reply[DONE_CACHE];
    size_t cache_next;
};

static void job_free(struct job *j)
{
    free(j->routing_key);
    free(j->content_type);
    free(j->reply_to);
    free(j->correlation_id);
    free(j->body);
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

static struct job *live_find(struct connector_rpc *r, const char *cid)
{
    for (struct job *j = r->live; cid && j; j = j->live_next)
        if (j->correlation_id && strcmp(j->correlation_id, cid) == 0)
            return j;
    return NULL;
}

/* A job leaves our hands (AMQP thread). */
static void job_retire(struct connector_rpc *r, struct job *j)
{
    live_del(r, j);
    job_free(j);
}

static char *bytes_dup(amqp_bytes_t b)
{
    return b.len ? sfc_xstrndup(b.bytes, b.len) : NULL;
}

static void *worker_main(void *arg)
{
    struct connector_rpc *r = arg;

    for (;;) {
        struct job *j;

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

        j->reply = sfc_rpc_handle(r->rpc, j->routing_key, j->content_type,
                                  j->body ? j->body : "", j->len, NULL);
        pthread_mutex_lock(&r->lock);
        r->working--;
        j->next = NULL;
        if (r->done_tail)
            r->done_tail->next = j;
        else
            r->done_head = j;
        r->done_tail = j;
        pthread_mutex_unlock(&r->lock);
    }
}

static const char *cached(struct connector_rpc *r, const char *cid)
{
    for (size_t i = 0; cid && i < DONE_CACHE; i++)
        if (r->cache_id[i] && strcmp(r->cache_id[i], cid) == 0)
            return r->cache_reply[i];
    return NULL;
}

static void remember(struct connector_rpc *r, const struct job *j)
{
    size_t i;

    if (!j->correlation_id || !j->reply)
        return;
    i = r->cache_next++ % DONE_CACHE;
    free(r->cache_id[i]);
    free(r->cache_reply[i]);
    r->cache_id[i] = sfc_xstrdup(j->correlation_id);
    r->cache_reply[i] = sfc_xstrdup(j->reply);
}

static bool setup_queue(struct connector_rpc *r, char *err, size_t errsz)
{
    amqp_connection_state_t c = r->link.conn;
    char queue[256], key[256];
    amqp_rpc_reply_t rep;

    snprintf(queue, sizeof(queue), "rpc-%s", r->cfg->service.name);
    snprintf(key, sizeof(key), "%s.*", r->cfg->service.name);
    amqp_exchange_declare(c, CHANNEL, amqp_cstring_bytes("nameko-rpc"),
                          amqp_cstring_bytes("topic"), 0, 1, 0, 0,
                          amqp_empty_table);
    amqp_queue_declare(c, CHANNEL, amqp_cstring_bytes(queue), 0, 1, 0, 0,
                       amqp_empty_table);
    amqp_queue_bind(c, CHANNEL, amqp_cstring_bytes(queue),
                    amqp_cstring_bytes("nameko-rpc"), amqp_cstring_bytes(key),
                    amqp_empty_table);
    amqp_basic_qos(c, CHANNEL, 0, (uint16_t)r->cfg->rpc.max_workers, 0);
    amqp_basic_consume(c, CHANNEL, amqp_cstring_bytes(queue), amqp_empty_bytes,
                       0, 0, 0, amqp_empty_table);
    rep = amqp_get_rpc_reply(c);
    if (rep.reply_type != AMQP_RESPONSE_NORMAL) {
        sfc_errstr_set(err, errsz, "cannot consume from %s", queue);
        return false;
    }
    sfc_log(SFC_LOG_INFO, MOD, "serving RPC on %s (%s, prefetch %lld)", queue,
            key, (long long)r->cfg->rpc.max_workers);
    return true;
}

static void publish_reply(struct connector_rpc *r, struct job *j)
{
    amqp_basic_properties_t p = {0};

    p._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_CONTENT_ENCODING_FLAG |
               AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_PRIORITY_FLAG |
               AMQP_BASIC_HEADERS_FLAG;
    p.content_type = amqp_cstring_bytes("application/json");
    p.content_encoding = amqp_cstring_bytes("utf-8");
    p.delivery_mode = 2;
    p.priority = 0;
    p.headers = amqp_empty_table;
    if (j->correlation_id) {
        p._flags |= AMQP_BASIC_CORRELATION_ID_FLAG;
        p.correlation_id = amqp_cstring_bytes(j->correlation_id);
    }
    if (amqp_link_publish(&r->link, "nameko-rpc", j->reply_to, &p, j->reply,
                          strlen(j->reply), false, &j->publish_tag) == SFC_OK) {
        if (!r->unconfirmed)
            r->progress_ms = sfc_now_ms(); /* the wait starts now */
        j->next = r->unconfirmed;
        r->unconfirmed = j;
        r->stats.replies++;
    } else {
        /* The request comes back when the broker is reachable again. */
        remember(r, j);
        job_retire(r, j);
    }
}

/* A delivery arrived: queue it for a worker, or answer it at once. */
static void on_delivery(struct connector_rpc *r, amqp_envelope_t *env)
{
    amqp_basic_properties_t *p = &env->message.properties;
    struct job *j, *first;
    const char *again;

    /* Stopping: left unacked, the request goes back to the queue (for
     * another responder) when the connection closes. */
    if (atomic_load(&r->draining))
        return;
    j = sfc_xcalloc(1, sizeof(*j));
    j->delivery_tag = env->delivery_tag;
    j->gen = r->gen;
    j->routing_key = bytes_dup(env->routing_key);
    j->body = bytes_dup(env->message.body);
    j->len = env->message.body.len;
    if (p->_flags & AMQP_BASIC_CONTENT_TYPE_FLAG)
        j->content_type = bytes_dup(p->content_type);
    if (p->_flags & AMQP_BASIC_REPLY_TO_FLAG)
        j->reply_to = bytes_dup(p->reply_to);
    if (p->_flags & AMQP_BASIC_CORRELATION_ID_FLAG)
        j->correlation_id = bytes_dup(p->correlation_id);
    r->stats.requests++;
    if (!j->reply_to) {
        /* Nobody to answer: never a crash, never a requeue loop. */
        r->stats.no_reply_to++;
        sfc_log(SFC_LOG_WARN, MOD, "request %s without reply_to dropped",
                j->routing_key ? j->routing_key : "?");
        amqp_basic_reject(r->link.conn, CHANNEL, j->delivery_tag, 0);
        r->stats.dead_lettered++;
        job_free(j);
        return;
    }
    again = env->redelivered ? cached(r, j->correlation_id) : NULL;
    if (again) {
        r->stats.replayed++;
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
        r->stats.replayed++;
        first->delivery_tag = j->delivery_tag;
        first->gen = r->gen;
        job_free(j);
        return;
    }
    j->live_next = r->live;
    r->live = j;
    pthread_mutex_lock(&r->lock);
    if (r->todo_tail)
        r->todo_tail->next = j;
    else
        r->todo_head = j;
    r->todo_tail = j;
    pthread_cond_signal(&r->cond);
    pthread_mutex_unlock(&r->lock);
}

/* Confirms of replies: ack the requests they answer. */
static void on_ack(void *opaque, uint64_t tag, bool multiple)
{
    struct connector_rpc *r = opaque;
    struct job **pp = &r->unconfirmed;

    while (*pp) {
        struct job *j = *pp;

        if (j->publish_tag == tag || (multiple && j->publish_tag < tag)) {
            r->progress_ms = sfc_now_ms();
            *pp = j->next;
            if (j->gen == r->gen)
                amqp_basic_ack(r->link.conn, CHANNEL, j->delivery_tag, 0);
            remember(r, j);
            job_retire(r, j);
        } else {
            pp = &j->next;
        }
    }
}

static void on_nack(void *opaque, uint64_t tag, bool multiple)
{
    /* The reply was lost: leave the request unacked; it comes back. */
    on_ack(opaque, tag, multiple);
}

/* The frame that interrupted amqp_consume_message(): a confirm of one of
 * our replies, or the broker closing things. */
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

/* One pass of the AMQP thread; false when the connection failed. */
static bool pump(struct connector_rpc *r)
{
    struct amqp_link_events ev = {
        .opaque = r, .acked = on_ack, .nacked = on_nack};
    struct timeval tv = {0, 20000};
    amqp_envelope_t env;
    amqp_rpc_reply_t rep;
    struct job *done;

    amqp_maybe_release_buffers(r->link.conn);
    rep = amqp_consume_message(r->link.conn, &env, &tv, 0);
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
    atomic_store(&r->awaiting, r->unconfirmed != NULL);
    /* Replies the broker takes but never confirms (a resource alarm, a
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

/* After a reconnect: replies of the old connection were never confirmed,
 * and their requests come back; the cache answers them then. */
static void forget_unconfirmed(struct connector_rpc *r)
{
    struct job *j, *n;

    for (j = r->unconfirmed; j; j = n) {
        n = j->next;
        remember(r, j);
        job_retire(r, j);
    }
    r->unconfirmed = NULL;
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
            !setup_queue(r, err, sizeof(err))) {
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

/* Whether a request is in hand: queued, worked on, or its reply not yet
 * confirmed. Thread: any (takes the lock). */
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
    r->rpc = sfc_rpc_new(&o, api, errstr, errsz);
    free(m);
    if (!r->rpc) {
        free(r);
        return NULL;
    }
    amqp_link_init(&r->link, &cfg->amqp);
    r->link.interrupt = &r->stop;
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->cond, NULL);
    r->n_workers = (size_t)c->max_workers;
    r->workers = sfc_xcalloc(r->n_workers, sizeof(pthread_t));
    for (size_t i = 0; i < r->n_workers; i++)
        pthread_create(&r->workers[i], NULL, worker_main, r);
    pthread_create(&r->thread, NULL, server_main, r);
    return r;
}

void connector_rpc_stop(struct connector_rpc *r)
{
    struct job *j, *n;

    if (!r)
        return;
    pthread_mutex_lock(&r->lock);
    atomic_store(&r->stop, true);
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->lock);
    pthread_join(r->thread, NULL);
    for (size_t i = 0; i < r->n_workers; i++)
        pthread_join(r->workers[i], NULL);
    for (j = r->unconfirmed; j; j = n) {
        n = j->next;
        job_free(j);
    }
    for (j = r->done_head; j; j = n) {
        n = j->next;
        job_free(j);
    }
    for (j = r->todo_head; j; j = n) {
        n = j->next;
        job_free(j);
    }
    for (size_t i = 0; i < DONE_CACHE; i++) {
        free(r->cache_id[i]);
        free(r->cache_reply[i]);
    }
    amqp_link_destroy(&r->link);
    sfc_rpc_destroy(r->rpc);
    free(r->workers);
    pthread_mutex_destroy(&r->lock);
    pthread_cond_destroy(&r->cond);
    free(r);
}

void connector_rpc_get_stats(struct connector_rpc *r,
                             struct connector_rpc_stats *out)
{
    *out = r->stats;
    sfc_rpc_coalesce_stats(r->rpc, &out->coalesced_creates,
                           &out->coalesced_requests);
}
