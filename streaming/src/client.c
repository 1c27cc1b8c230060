/*
 * The stream's public side: options, subscriptions, the bounded queue of
 * received events with its eventfd, acknowledgements (commit.c turns them
 * into positions, store_thread.c writes them), health, close.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>

#include "stream_int.h"

void sfc_stream_options_init(struct sfc_stream_options *o)
{
    memset(o, 0, sizeof(*o));
    o->max_pending = 250;
    o->backoff_base_ms = 500;
    o->backoff_max_ms = 30000;
    o->reconnect_window_ms = 40000;
    o->max_message_bytes = 16u << 20;
    o->resubscribe_ms = 60000;
}

/* Doubles the ring, its events kept in order from index 0. Lock held. */
static void ring_grow(struct sfc_stream *s)
{
    size_t cap = s->qcap ? s->qcap * 2 : 64;
    struct sfc_stream_event **ring = sfc_xmalloc(cap * sizeof(*ring));

    for (size_t i = 0; i < s->pending; i++)
        ring[i] = s->ring[(s->qhead + i) & (s->qcap - 1)];
    free(s->ring);
    s->ring = ring;
    s->qcap = cap;
    s->qhead = 0;
}

/* Takes the oldest event off the ring (there is one). Lock held. */
static struct sfc_stream_event *ring_take(struct sfc_stream *s)
{
    struct sfc_stream_event *ev = s->ring[s->qhead];

    s->qhead = (s->qhead + 1) & (s->qcap - 1);
    s->pending--;
    return ev;
}

/* Stops the store thread, its last writes done by @until_ms. */
static void stop_store_thread(struct sfc_stream *s, int64_t until_ms)
{
    pthread_mutex_lock(&s->lock);
    s->stop_by = until_ms;
    s->store_stop = true;
    pthread_cond_signal(&s->store_cond);
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->store_thread, NULL);
}

/* Frees what the stream holds once its threads ended. */
static void stream_free(struct sfc_stream *s)
{
    struct stream_sub *u, *un;

    curl_multi_cleanup(s->multi);
    while (s->pending)
        sfc_stream_event_destroy(ring_take(s));
    free(s->ring);
    for (u = s->subs; u; u = un) {
        un = u->next;
        stream_sub_free(u);
    }
    sfc_replay_store_destroy(s->own_store);
    if (s->efd >= 0)
        close(s->efd);
    free(s->error);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->cond);
    pthread_cond_destroy(&s->store_cond);
    free(s);
}

struct sfc_stream *sfc_stream_open(const struct sfc_stream_options *o,
                                   char *errstr,
                                   size_t errstr_size)
{
    struct sfc_stream *s;
    int e;

    if (!o->api) {
        sfc_errstr_set(errstr, errstr_size, "an api client is required");
        return NULL;
    }
    s = sfc_xcalloc(1, sizeof(*s));
    s->o = *o;
    if (!s->o.store)
        s->o.store = s->own_store = sfc_replay_store_new_memory();
    if (!s->o.max_pending)
        s->o.max_pending = 1;
    pthread_mutex_init(&s->lock, NULL);
    /* Deadlines on CLOCK_MONOTONIC: a wall-clock step neither stretches
     * nor cuts a wait. */
    sfc_cond_init_monotonic(&s->cond);
    sfc_cond_init_monotonic(&s->store_cond);
    /* Level, not a count: set while the queue is not empty. Without it
     * the consumer would never be woken: no stream at all. */
    s->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (s->efd < 0) {
        sfc_errstr_set(errstr, errstr_size,
                       "cannot create the stream's eventfd: %s",
                       strerror(errno));
        goto out_free;
    }
    /* Lives as long as the stream so other threads may wake it. */
    s->multi = curl_multi_init();
    if (!s->multi) {
        sfc_errstr_set(errstr, errstr_size,
                       "cannot create the stream's HTTP transfer set "
                       "(curl_multi_init)");
        goto out_free;
    }
    if ((e = pthread_create(&s->store_thread, NULL, stream_store_main, s))) {
        sfc_errstr_set(errstr, errstr_size,
                       "cannot start the stream's store thread: %s",
                       strerror(e));
        goto out_free;
    }
    if ((e = pthread_create(&s->thread, NULL, stream_io_main, s))) {
        sfc_errstr_set(errstr, errstr_size,
                       "cannot start the stream's I/O thread: %s", strerror(e));
        stop_store_thread(s, 0);
        goto out_free;
    }
    return s;
out_free:
    stream_free(s);
    return NULL;
}

struct stream_sub *stream_sub_find_locked(struct sfc_stream *s,
                                          const char *bare)
{
    for (struct stream_sub *u = s->subs; u; u = u->next)
        if (strcmp(u->bare, bare) == 0)
            return u;
    return NULL;
}

sfc_err_t sfc_stream_subscribe(struct sfc_stream *s,
                               const char *channel,
                               enum sfc_stream_start start)
{
    size_t q;
    char *bare;
    struct stream_sub *u;

    if (!channel || channel[0] != '/')
        return SFC_ERR_INVALID_ARG;
    q = strcspn(channel, "?");
    bare = sfc_xstrndup(channel, q);
    pthread_mutex_lock(&s->lock);
    u = stream_sub_find_locked(s, bare);
    if (!u) {
        u = sfc_xcalloc(1, sizeof(*u));
        u->bare = bare;
        u->next = s->subs;
        s->subs = u;
        bare = NULL;
        stream_store_kick_locked(s); /* its stored position first */
    }
    free(u->name);
    u->name = sfc_xstrdup(channel);
    u->start = start;
    u->removed = false;
    u->parked = false;
    u->subscribed_gen = 0;
    s->dirty_subs = true;
    pthread_cond_broadcast(&s->cond); /* a held reply waits on it */
    pthread_mutex_unlock(&s->lock);
    free(bare);
    curl_multi_wakeup(s->multi);
    return SFC_OK;
}

sfc_err_t sfc_stream_unsubscribe(struct sfc_stream *s, const char *channel)
{
    char *bare = sfc_xstrndup(channel, strcspn(channel, "?"));
    struct stream_sub *u;
    sfc_err_t rc = SFC_ERR_NOT_FOUND;

    pthread_mutex_lock(&s->lock);
    u = stream_sub_find_locked(s, bare);
    if (u) {
        u->removed = true;
        s->dirty_subs = true;
        pthread_cond_broadcast(&s->cond);
        rc = SFC_OK;
    }
    pthread_mutex_unlock(&s->lock);
    free(bare);
    curl_multi_wakeup(s->multi);
    return rc;
}

void stream_sub_free(struct stream_sub *u)
{
    stream_track_free(&u->track);
    free(u->name);
    free(u->bare);
    free(u);
}

uint64_t stream_enqueue_locked(struct sfc_stream *s,
                               struct sfc_stream_event *ev)
{
    struct stream_sub *u = stream_sub_find_locked(s, ev->channel);
    uint64_t ticket = 0;

    /* Only subscribed channels have positions (an event on another one is
     * handed over, and its acknowledgement changes nothing). */
    if (u && !u->removed)
        stream_track_received_locked(s, u, ev->replay_id);
    if (s->pending == s->qcap)
        ring_grow(s);
    s->ring[(s->qhead + s->pending) & (s->qcap - 1)] = ev;
    /* Syscalls only on the empty -> non-empty edge, not per event. */
    if (s->pending++ == 0)
        ticket = ++s->efd_asked;
    s->stats.received++;
    if (s->receivers_waiting)
        pthread_cond_broadcast(&s->cond);
    return ticket;
}

void stream_signal(struct sfc_stream *s, uint64_t ticket)
{
    uint64_t one = 1;

    if (write(s->efd, &one, sizeof(one)) < 0) {
        /* The counter cannot overflow: it is read back when emptied. */
    }
    atomic_store(&s->efd_done, ticket);
}

/*
 * The queue is empty: the eventfd is read back, unless nothing was
 * written since the last time (no system call then) or a write is still
 * on its way (the consumer it wakes comes back here, and it is read then).
 * A failed stream keeps it readable. Lock held.
 */
static void efd_clear_locked(struct sfc_stream *s)
{
    uint64_t v;

    if (s->error || s->efd_cleared == s->efd_asked ||
        atomic_load(&s->efd_done) != s->efd_asked)
        return;
    if (read(s->efd, &v, sizeof(v)) < 0) {
        /* Nothing to do: the queue is the truth. */
    }
    s->efd_cleared = s->efd_asked;
}

void stream_fail_locked(struct sfc_stream *s,
                        sfc_err_t code,
                        const char *fmt,
                        ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (!s->error) {
        uint64_t one = 1;

        s->error = sfc_xstrdup(msg);
        s->error_code = code;
        sfc_log(SFC_LOG_ERROR, STREAM_MOD, "stream stopped: %s", msg);
        /* A poll loop learns of it too: receive() now returns the error. */
        if (s->pending == 0 && write(s->efd, &one, sizeof(one)) < 0) {
            /* Cannot overflow: set at most once more. */
        }
    }
    pthread_cond_broadcast(&s->cond);
}

static void
ack_locked(struct sfc_stream *s, const char *channel, int64_t replay_id)
{
    struct stream_sub *u = stream_sub_find_locked(s, channel);

    if (u && !u->removed)
        stream_track_ack_locked(s, u, replay_id);
}

sfc_err_t
sfc_stream_commit(struct sfc_stream *s, const char *channel, int64_t replay_id)
{
    if (!channel)
        return SFC_ERR_INVALID_ARG;
    pthread_mutex_lock(&s->lock);
    ack_locked(s, channel, replay_id);
    pthread_mutex_unlock(&s->lock);
    return SFC_OK;
}

sfc_err_t sfc_stream_ack(struct sfc_stream *s,
                         const struct sfc_stream_event *ev)
{
    return ev ? sfc_stream_commit(s, ev->channel, ev->replay_id)
              : SFC_ERR_INVALID_ARG;
}

sfc_err_t sfc_stream_flush(struct sfc_stream *s)
{
    struct timespec until = sfc_deadline_ts(5000);
    uint64_t ticket;
    sfc_err_t rc = SFC_ERR_TIMEOUT;

    pthread_mutex_lock(&s->lock);
    if (s->store_failing) { /* retried meanwhile: no waiting for it */
        pthread_mutex_unlock(&s->lock);
        return SFC_ERR_IO;
    }
    ticket = ++s->flush_asked;
    stream_store_kick_locked(s);
    while (s->flush_done < ticket && !s->store_stop)
        if (pthread_cond_timedwait(&s->cond, &s->lock, &until) != 0)
            break;
    if (s->flush_done >= ticket)
        rc = s->flush_rc;
    pthread_mutex_unlock(&s->lock);
    return rc;
}

bool sfc_stream_healthy(struct sfc_stream *s, char *why, size_t why_size)
{
    bool ok;

    pthread_mutex_lock(&s->lock);
    ok = !s->error && !s->store_failing;
    if (why && why_size)
        snprintf(why, why_size, "%s",
                 s->error           ? s->error
                 : s->store_failing ? s->store_why
                                    : "");
    pthread_mutex_unlock(&s->lock);
    return ok;
}

/*
 * Waits until the consumer took the queue down to half its bound, or the
 * stream stops, or (@or_subs) the subscriptions changed; at most 200 ms.
 * The time counts as paused.
 */
void stream_wait_room(struct sfc_stream *s, bool or_subs)
{
    struct timespec until = sfc_deadline_ts(200);
    int64_t t0 = sfc_now_ms();

    pthread_mutex_lock(&s->lock);
    s->io_paused = true;
    while (s->io_paused && s->pending > s->o.max_pending / 2 &&
           !atomic_load(&s->stop) && !(or_subs && s->dirty_subs))
        if (pthread_cond_timedwait(&s->cond, &s->lock, &until) != 0)
            break;
    s->io_paused = false;
    s->stats.paused_ms += (uint64_t)(sfc_now_ms() - t0);
    pthread_mutex_unlock(&s->lock);
}

sfc_err_t sfc_stream_receive(struct sfc_stream *s,
                             int64_t timeout_ms,
                             struct sfc_stream_event **ev)
{
    struct timespec until = sfc_deadline_ts(timeout_ms > 0 ? timeout_ms : 0);
    sfc_err_t rc = SFC_OK;

    pthread_mutex_lock(&s->lock);
    while (!s->pending && !s->error) {
        int w = 0;

        if (timeout_ms == 0)
            break;
        s->receivers_waiting++;
        if (timeout_ms > 0)
            w = pthread_cond_timedwait(&s->cond, &s->lock, &until);
        else
            pthread_cond_wait(&s->cond, &s->lock);
        s->receivers_waiting--;
        if (w == ETIMEDOUT)
            break;
    }
    if (s->pending) {
        *ev = ring_take(s);
        if (s->o.commit == SFC_STREAM_COMMIT_AUTO)
            ack_locked(s, (*ev)->channel, (*ev)->replay_id);
        if (s->o.trace)
            (*ev)->trace.taken_us = sfc_wall_us();
        /* The I/O thread goes on at half the bound, not per event. */
        if (s->io_paused && s->pending <= s->o.max_pending / 2) {
            s->io_paused = false;
            pthread_cond_broadcast(&s->cond);
        }
    } else {
        rc = s->error ? (s->error_code ? s->error_code : SFC_ERR_CLOSED)
                      : SFC_ERR_TIMEOUT;
    }
    if (!s->pending)
        efd_clear_locked(s);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int sfc_stream_fd(struct sfc_stream *s)
{
    return s->efd;
}

size_t sfc_stream_pending(struct sfc_stream *s)
{
    return atomic_load(&s->pending);
}

char **sfc_stream_subscriptions(struct sfc_stream *s, size_t *n)
{
    char **out;
    size_t k = 0;

    pthread_mutex_lock(&s->lock);
    for (struct stream_sub *u = s->subs; u; u = u->next)
        k += !u->removed;
    out = sfc_xcalloc(k + 1, sizeof(char *));
    k = 0;
    for (struct stream_sub *u = s->subs; u; u = u->next)
        if (!u->removed)
            out[k++] = sfc_xstrdup(u->name);
    pthread_mutex_unlock(&s->lock);
    *n = k;
    return out;
}

void sfc_stream_get_stats(struct sfc_stream *s, struct sfc_stream_stats *out)
{
    pthread_mutex_lock(&s->lock);
    *out = s->stats;
    out->subscribing = 0;
    for (const struct stream_sub *u = s->subs; u; u = u->next)
        out->subscribing +=
            u->removed || (!u->parked && (u->subscribed_gen == 0 ||
                                          u->subscribed_gen != s->session_gen));
    pthread_mutex_unlock(&s->lock);
}

const char *sfc_stream_error(struct sfc_stream *s)
{
    const char *e;

    pthread_mutex_lock(&s->lock);
    e = s->error;
    pthread_mutex_unlock(&s->lock);
    return e;
}

void sfc_stream_close(struct sfc_stream *s)
{
    sfc_stream_close_by(s, sfc_now_ms() + 5000);
}

void sfc_stream_close_by(struct sfc_stream *s, int64_t until_ms)
{
    if (!s)
        return;
    /* The I/O thread ends first: what it queues until then (a disconnect
     * reply's events too) may store a channel's first position, which the
     * store thread's last writes then make. Both end by @until_ms. */
    pthread_mutex_lock(&s->lock);
    s->stop_by = until_ms;
    atomic_store(&s->stop, true);
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
    curl_multi_wakeup(s->multi);
    pthread_join(s->thread, NULL);
    stop_store_thread(s, until_ms);
    stream_free(s);
}
