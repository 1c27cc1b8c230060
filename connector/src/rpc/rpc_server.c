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
 * This file holds the AMQP thread (its poll loop, request intake and
 * confirms) and the responder's start, drain and stop; the broker
 * operations are in rpc_server_broker.c, so that the transport under them
 * can change in one place; redeliveries, dead letters and the retry queue
 * in rpc_server_redelivery.c; jobs, the reply cache and the workers in
 * rpc_server_jobs.c (their state: rpc_server_int.h).
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>

#include "sf_options.h"
#include "rpc_server_int.h"

/* ---- deliveries ---- */

/* A copy that waited for its predecessor's ack: answered from the cache
 * (a parked request), or handed to a worker. */
static void resume(struct connector_rpc *r, struct job *j)
{
    const char *again =
        j->refusals ? rpcs_cached(r, rpcs_view(j->correlation_id)) : NULL;

    if (again) {
        j->reply = sfc_xstrdup(again);
        rpcs_publish_reply(r, j);
    } else {
        rpcs_queue_for_workers(r, j);
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
    j = rpcs_job_new(r, d);
    rpcs_count(&r->n.requests);
    if (!j->reply_to.len || memchr(j->reply_to.p, '\0', j->reply_to.len)) {
        char *rk = rpcs_bytes_str(j->routing_key);

        /* Nobody to answer: never a crash, never a requeue loop. */
        rpcs_count(&r->n.no_reply_to);
        sfc_log(SFC_LOG_WARN, MOD, "request %s without reply_to dropped", rk);
        free(rk);
        rpcs_broker_reject(r, j, false);
        rpcs_count(&r->n.dead_lettered);
        rpcs_job_free(j);
        return;
    }
    if (!amqp_link_header_int(d, H_REFUSALS, &j->refusals) || j->refusals < 0)
        j->refusals = 0;
    /* Redelivered, or back from the retry queue: answered already? */
    again = d->redelivered || j->refusals ? rpcs_cached(r, d->correlation_id)
                                          : NULL;
    if (again) {
        rpcs_count(&r->n.replayed);
        j->reply = sfc_xstrdup(again);
        j->live_next = r->live;
        r->live = j;
        rpcs_publish_reply(r, j);
        return;
    }
    first = d->redelivered ? rpcs_live_find(r, d->correlation_id) : NULL;
    if (first && first->gen != r->gen) {
        /* Redelivered after a lost connection while a worker still holds
         * the first delivery: that job answers, and acks this delivery. */
        rpcs_count(&r->n.replayed);
        first->delivery_tag = j->delivery_tag;
        first->gen = r->gen;
        rpcs_job_free(j);
        return;
    }
    rpcs_restore_routing_key(j, d);
    n = rpcs_count_delivery(d, &copy);
    j->live_next = r->live;
    r->live = j;
    /* A copy can be delivered before its confirm (and our ack of the
     * delivery it replaces) is in: it waits for that ack. */
    first = d->exchange.len ? NULL : rpcs_awaiting_copy(r, d->correlation_id);
    if (first && !d->redelivered && !first->successor) {
        first->successor = j;
        return;
    }
    if (n > r->cfg->rpc.max_deliveries) {
        snprintf(reason, sizeof(reason),
                 "was handed out %lld times without being answered",
                 (long long)n);
        rpcs_dead_letter(r, j, d, n, reason);
    } else if (copy) {
        rpcs_copy_counted(r, j, d, n - 1);
    } else {
        rpcs_queue_for_workers(r, j);
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
            rpcs_broker_ack(r, j);
            if (j->kind == PUB_REPLY)
                rpcs_remember(r, j);
            rpcs_job_retire(r, j);
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
            rpcs_hold(r, j);
            continue;
        }
        rpcs_count(&r->n.replies_nacked);
        rpcs_remember(r, j);
        if (++j->refusals < r->cfg->rpc.max_deliveries) {
            cid = rpcs_bytes_str(j->correlation_id);
            sfc_log(SFC_LOG_WARN, MOD,
                    "the broker refused the reply to %s (is its reply queue "
                    "full?); the request waits in %s and is answered again",
                    cid, r->retry);
            free(cid);
            rpcs_park(r, j);
        } else {
            snprintf(reason, sizeof(reason),
                     "was answered, but the broker refused its reply %lld "
                     "times",
                     (long long)j->refusals);
            rpcs_dead_letter(r, j, NULL, 1, reason);
        }
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
    bool read = wait_for_work(r);

    /* What this pass sends (replies, acks, copies) leaves in one write:
     * under load a pass answers many requests, and each write is a
     * segment the broker reads on its own. */
    amqp_link_batch(r->link, true);
    if (read && amqp_link_poll(r->link, 0, &ev) != SFC_OK) {
        amqp_link_batch(r->link, false);
        return false;
    }
    pthread_mutex_lock(&r->lock);
    done = r->done_head;
    r->done_head = r->done_tail = NULL;
    pthread_mutex_unlock(&r->lock);
    while (done) {
        struct job *next = done->next;

        rpcs_publish_reply(r, done);
        done = next;
    }
    rpcs_due_held(r);
    amqp_link_batch(r->link, false);
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
                rpcs_remember(r, j);
            if (j->successor) /* it comes back too */
                rpcs_job_retire(r, j->successor);
            rpcs_job_retire(r, j);
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
            !rpcs_broker_setup(r, err, sizeof(err))) {
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

sfc_err_t connector_rpc_start(const struct sfc_config *cfg,
                              struct sfc_api_client *api,
                              struct connector_rpc **out,
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
    r->done_fd = -1;
    /* RPC's own handles: its load never takes the rest of the daemon's. */
    r->api = sfc_api_client_new_pool(api, (unsigned)c->pool_size);
    r->rpc = sfc_rpc_new(&o, r->api, errstr, errsz);
    free(m);
    *out = NULL;
    if (!r->rpc) {
        sfc_api_client_destroy(r->api);
        free(r);
        return SFC_ERR_CONFIG;
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
    r->workers = sfc_xcalloc((size_t)c->max_workers, sizeof(pthread_t));
    /* What the responder cannot run without: a start that gets less
     * ends, rather than serve with a part missing. */
    r->done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (r->done_fd < 0) {
        sfc_errstr_set(errstr, errsz,
                       "cannot create the RPC responder's eventfd: %s",
                       strerror(errno));
        goto fail;
    }
    /* n_workers counts the threads started: those are the ones joined. */
    while (r->n_workers < (size_t)c->max_workers) {
        int e = pthread_create(&r->workers[r->n_workers], NULL,
                               rpcs_worker_main, r);

        if (e) {
            sfc_errstr_set(
                errstr, errsz, "cannot start RPC worker thread %zu of %lld: %s",
                r->n_workers + 1, (long long)c->max_workers, strerror(e));
            goto fail;
        }
        r->n_workers++;
    }
    {
        int e = pthread_create(&r->thread, NULL, server_main, r);

        if (e) {
            sfc_errstr_set(errstr, errsz,
                           "cannot start the RPC responder's thread: %s",
                           strerror(e));
            goto fail;
        }
    }
    r->thread_started = true;
    *out = r;
    return SFC_OK;
fail:
    connector_rpc_stop(r);
    return SFC_ERR_IO;
}

static void free_list(struct job *j)
{
    for (struct job *n; j; j = n) {
        n = j->next;
        if (j->successor)
            rpcs_job_free(j->successor);
        rpcs_job_free(j);
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
    if (r->thread_started)
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
    if (r->done_fd >= 0)
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
