/*
 * Every reply, read as it arrives (see poll_reply in stream_int.h):
 * messages go through the incremental reader, events are queued in order a
 * round of the transfer at a time, meta messages go to the exchange's
 * handler. For the long poll, the part of the reply beyond the queue's
 * bound waits in a carry buffer while the I/O thread stops driving the
 * transfer.
 */
#include <stdlib.h>
#include <string.h>

#include "stream_int.h"

void poll_reply_init(struct poll_reply *x,
                     struct sfc_stream *s,
                     CURL *h,
                     bool bounded,
                     reply_meta_fn on_meta,
                     void *meta_ctx)
{
    memset(x, 0, sizeof(*x));
    x->s = s;
    x->h = h;
    x->bounded = bounded;
    x->on_meta = on_meta;
    x->meta_ctx = meta_ctx;
    x->step = STEP_OK;
    sfc_bayeux_reader_init(&x->reader, s->o.max_message_bytes);
}

void poll_reply_free(struct poll_reply *x)
{
    sfc_bayeux_reader_free(&x->reader);
    sfc_buf_free(&x->carry);
    free(x->batch);
}

/*
 * A meta message of a connect reply: it may change what the session does
 * next (x->step) and the advice (I/O thread state). A forgotten session in
 * any wording is checked before the 401 rule: faye says "401::... Unknown
 * client" for it.
 */
void poll_reply_connect_meta(struct poll_reply *x,
                             const struct sfc_bayeux_msg *m)
{
    struct sfc_stream *s = x->s;
    enum step *st = &x->step;

    if (strcmp(m->channel, "/meta/disconnect") == 0) {
        *st = STEP_HANDSHAKE; /* the server ended the session */
    } else if (strcmp(m->channel, "/meta/connect") == 0) {
        if (m->advice_timeout >= 0)
            s->advice_timeout_ms = m->advice_timeout;
        if (m->advice_interval >= 0)
            s->advice_interval_ms = m->advice_interval;
        if (m->successful) {
            if (m->advice_reconnect &&
                strcmp(m->advice_reconnect, "handshake") == 0)
                *st = STEP_HANDSHAKE;
        } else if (stream_unknown_client(m)) {
            *st = STEP_HANDSHAKE;
        } else if (m->error && strncmp(m->error, "401", 3) == 0) {
            *st = STEP_RELOGIN;
        } else if (m->advice_reconnect &&
                   strcmp(m->advice_reconnect, "retry") != 0) {
            *st = STEP_HANDSHAKE;
        } else {
            *st = STEP_RETRY;
        }
    }
}

/*
 * A message of a reply. Events are collected and queued in one go after
 * each chunk the transfer hands over, so the consumer is woken once per
 * chunk, not per event.
 */
static bool on_poll_message(void *opaque, struct sfc_bayeux_msg *m)
{
    struct poll_reply *x = opaque;
    struct sfc_stream *s = x->s;
    struct sfc_stream_event *ev = NULL;
    char err[256];

    if (m->is_meta) {
        if (x->on_meta)
            x->on_meta(x, m);
        return true;
    }
    if (stream_bayeux_take_event(m, !s->o.data_on_demand, &ev, err,
                                 sizeof(err)) != SFC_OK) {
        x->dropped++;
        sfc_log(SFC_LOG_WARN, STREAM_MOD, "dropped: %s", err);
        return true;
    }
    /* The session's, as nameko-salesforce tells its handlers. */
    _Static_assert(sizeof(ev->client_id) == sizeof(s->client_id),
                   "a client id fits the event");
    memcpy(ev->client_id, s->client_id, sizeof(ev->client_id));
    ev->trace.read_us = x->read_us;
    if (x->nbatch == x->capbatch) {
        x->capbatch = x->capbatch ? x->capbatch * 2 : 64;
        x->batch = sfc_xrealloc(x->batch, x->capbatch * sizeof(*x->batch));
    }
    x->batch[x->nbatch++] = ev;
    /* The long poll stops at the queue's bound; other replies are read
     * whole (bounded by their size). */
    return !x->bounded || --x->room > 0;
}

/* Queues what on_poll_message() collected. */
void poll_reply_flush(struct sfc_stream *s, struct poll_reply *x)
{
    int64_t now = 0;
    uint64_t ticket = 0;

    if (!x->nbatch && !x->dropped)
        return;
    if (s->o.trace)
        now = sfc_wall_us();
    pthread_mutex_lock(&s->lock);
    for (size_t i = 0; i < x->nbatch; i++) {
        uint64_t t;

        x->batch[i]->trace.queued_us = now;
        t = stream_enqueue_locked(s, x->batch[i]);
        ticket = t ? t : ticket;
    }
    s->stats.malformed += x->dropped;
    pthread_mutex_unlock(&s->lock);
    if (ticket)
        stream_signal(s, ticket);
    x->nbatch = 0;
    x->dropped = 0;
}

bool poll_reply_finish(struct sfc_stream *s,
                       struct poll_reply *x,
                       const char *then)
{
    bool whole = sfc_bayeux_reader_finish(&x->reader);

    if (!x->reader.malformed && whole)
        return true;
    pthread_mutex_lock(&s->lock);
    s->stats.malformed += x->reader.malformed + !whole;
    pthread_mutex_unlock(&s->lock);
    if (x->reader.malformed)
        sfc_log(SFC_LOG_WARN, STREAM_MOD,
                "malformed Bayeux reply: %llu message(s) dropped (the last: "
                "%s)",
                (unsigned long long)x->reader.malformed,
                x->reader.why_malformed);
    if (!whole)
        sfc_log(SFC_LOG_WARN, STREAM_MOD, "malformed Bayeux reply: %s%s",
                x->reader.error, then);
    return whole;
}

/*
 * Room left in the queue, counting what is collected but not yet queued.
 * Without the lock, which the consumer wants at the same moment: only this
 * thread adds, so the room is never overstated.
 */
static size_t room_left(struct sfc_stream *s, struct poll_reply *x)
{
    size_t used = atomic_load(&s->pending) + x->nbatch;

    return used < s->o.max_pending ? s->o.max_pending - used : 0;
}

/* Whether part of the reply waits in the carry buffer for room. */
bool poll_reply_holding(const struct poll_reply *x)
{
    return x->carry_at < x->carry.len;
}

/* Feeds the carry buffer as far as the queue's bound allows. */
void poll_reply_feed_carry(struct sfc_stream *s, struct poll_reply *x)
{
    if (poll_reply_holding(x)) {
        x->room = room_left(s, x);
        if (x->room)
            x->carry_at += sfc_bayeux_reader_feed(
                &x->reader, x->carry.data + x->carry_at,
                x->carry.len - x->carry_at, on_poll_message, x);
    }
    if (!poll_reply_holding(x)) {
        sfc_buf_reset(&x->carry);
        x->carry_at = 0;
    }
    poll_reply_flush(s, x);
}

/*
 * The long poll's body, read as it arrives, up to the queue's bound. What
 * comes beyond it waits, unparsed, in the carry buffer, and the I/O thread
 * stops driving the transfer until the consumer made room: the rest of the
 * reply stays in the socket and the server (TCP flow control). libcurl's
 * own pause (CURL_WRITEFUNC_PAUSE, CURLPAUSE_CONT) is not used: transfers
 * resumed that way were seen to receive nothing more until their timeout
 * (libcurl 7.88).
 */
size_t poll_reply_body(char *data, size_t size, size_t n, void *opaque)
{
    struct poll_reply *x = opaque;
    struct sfc_stream *s = x->s;
    size_t len = size * n, took = 0;

    if (s->o.trace)
        x->read_us = sfc_wall_us();
    if (!x->status)
        curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &x->status);
    if (x->status != 200)
        return len; /* an error page: its status is what counts */
    if (!x->got_body) {
        x->got_body = true;
        if (x->bounded)
            s->last_reply_ms = sfc_now_ms();
    }
    if (!x->bounded) {
        took =
            sfc_bayeux_reader_feed(&x->reader, data, len, on_poll_message, x);
    } else if (!poll_reply_holding(x)) {
        x->room = room_left(s, x);
        if (x->room)
            took = sfc_bayeux_reader_feed(&x->reader, data, len,
                                          on_poll_message, x);
    }
    /* Bytes only: at most what one round of the transfer reads. */
    if (took < len)
        sfc_buf_append(&x->carry, data + took, len - took);
    /* Queued as soon as read, not after the transfer's bookkeeping. */
    poll_reply_flush(s, x);
    return len;
}
