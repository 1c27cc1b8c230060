/*
 * The RPC responder's jobs (see rpc_server_int.h): a request in hand as
 * bytes we own, the list of jobs in hand by correlation id, the reply cache
 * that answers a redelivered request without calling Salesforce twice, and
 * the hand-off to the workers that run each request through the rpc/
 * library and hand it back to the AMQP thread with an eventfd wake-up.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rpc_server_int.h"

void rpcs_count(atomic_uint_least64_t *c)
{
    atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

struct bytes rpcs_bytes_dup(struct amqp_link_bytes b)
{
    struct bytes out = {NULL, b.len};

    if (b.len) {
        out.p = sfc_xmalloc(b.len);
        memcpy(out.p, b.p, b.len);
    }
    return out;
}

/* Borrowed view of @b, for a message to publish. */
struct amqp_link_bytes rpcs_view(struct bytes b)
{
    struct amqp_link_bytes v = {b.p, b.len};

    return v;
}

bool rpcs_bytes_eq(struct bytes a, struct amqp_link_bytes b)
{
    return a.len == b.len && (!a.len || memcmp(a.p, b.p, a.len) == 0);
}

/* @b as a C string for logs and routing keys: NUL bytes become '?'. */
char *rpcs_bytes_str(struct bytes b)
{
    char *s = sfc_xmalloc(b.len + 1);

    for (size_t i = 0; i < b.len; i++)
        s[i] = b.p[i] ? b.p[i] : '?';
    s[b.len] = '\0';
    return s;
}

void rpcs_job_free(struct job *j)
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

struct job *rpcs_live_find(struct connector_rpc *r, struct amqp_link_bytes cid)
{
    for (struct job *j = r->live; cid.len && j; j = j->live_next)
        if (rpcs_bytes_eq(j->correlation_id, cid))
            return j;
    return NULL;
}

/* A job leaves our hands (AMQP thread). */
void rpcs_job_retire(struct connector_rpc *r, struct job *j)
{
    live_del(r, j);
    rpcs_job_free(j);
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
const char *rpcs_cached(struct connector_rpc *r, struct amqp_link_bytes cid)
{
    uint64_t h = id_hash(cid);

    for (size_t i = 0; cid.len && i < DONE_CACHE; i++)
        if (r->cache[i].id_hash == h && r->cache[i].reply &&
            rpcs_bytes_eq(r->cache[i].id, cid))
            return r->cache[i].reply;
    return NULL;
}

void rpcs_remember(struct connector_rpc *r, const struct job *j)
{
    struct cached_reply *c;

    if (!j->correlation_id.len || !j->reply ||
        rpcs_cached(r, rpcs_view(j->correlation_id)))
        return;
    c = &r->cache[r->cache_next++ % DONE_CACHE];
    free(c->id.p);
    free(c->reply);
    c->id = rpcs_bytes_dup(rpcs_view(j->correlation_id));
    c->id_hash = id_hash(rpcs_view(c->id));
    c->reply = sfc_xstrdup(j->reply);
}

struct job *rpcs_job_new(struct connector_rpc *r,
                         const struct amqp_link_delivery *d)
{
    struct job *j = sfc_xcalloc(1, sizeof(*j));

    j->delivery_tag = d->tag;
    j->gen = r->gen;
    j->routing_key = rpcs_bytes_dup(d->routing_key);
    j->body = rpcs_bytes_dup(d->body);
    j->has_content_type = d->has_content_type;
    j->content_type = rpcs_bytes_dup(d->content_type);
    j->reply_to = rpcs_bytes_dup(d->reply_to);
    j->correlation_id = rpcs_bytes_dup(d->correlation_id);
    return j;
}

void *rpcs_worker_main(void *arg)
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

void rpcs_queue_for_workers(struct connector_rpc *r, struct job *j)
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
