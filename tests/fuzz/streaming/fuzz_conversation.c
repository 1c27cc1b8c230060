/*
 * libFuzzer target for whole server conversations: a handshake reply, a
 * subscribe reply and connect replies (the input's parts, split at NUL
 * bytes) go through the stream's one reply path (longpoll.c: the reader,
 * the queue's bound and carry buffer, the queue, commit tracking), fed in
 * chunks whose sizes come from the input, while a consumer takes events
 * and acknowledges them in an order the input chooses. Checked:
 *   - nothing crashes;
 *   - every data message of every reply is delivered once, in order (the
 *     same events as a whole-body parse finds, for replies it accepts);
 *   - the committed position never passes an event that was delivered and
 *     not acknowledged, never goes back, and is never an id the server did
 *     not send (or -2, "from the oldest");
 *   - once everything is acknowledged it is the largest id delivered.
 * Input: byte 0 the queue's bound, byte 1 the acknowledgement seed, then
 * the replies. Without libFuzzer replay_main.c replays the files given.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>

#include "stream_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHANNEL   "/topic/A"
#define MAX_SEEN  4096
#define MAX_PARTS 16
#define BIG_ID    (-7) /* an id beyond 2^53 (see expect_one) */

/* What the consumer saw of CHANNEL, in delivery order. */
struct seen {
    int64_t id[MAX_SEEN];
    int64_t committed_then[MAX_SEEN]; /* the position when delivered */
    bool acked[MAX_SEEN];
    size_t n;
    /* Every delivery, any channel, of the current reply. */
    char (*chan)[64];
    int64_t *rid;
    size_t nreply, capreply;
    uint32_t rng;
};

static void die(const char *why)
{
    fprintf(stderr, "fuzz_conversation: %s\n", why);
    abort();
}

static uint32_t next_rand(struct seen *v)
{
    v->rng = v->rng * 1103515245u + 12345u;
    return v->rng >> 8;
}

static struct sfc_stream *fake_stream(size_t max_pending)
{
    struct sfc_stream *s = sfc_xcalloc(1, sizeof(*s));
    struct stream_sub *u = sfc_xcalloc(1, sizeof(*u));

    sfc_stream_options_init(&s->o);
    s->o.max_pending = max_pending;
    s->o.commit = SFC_STREAM_COMMIT_MANUAL;
    s->o.max_message_bytes = 1 << 16;
    s->o.data_on_demand = true;
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->cond, NULL);
    pthread_cond_init(&s->store_cond, NULL);
    s->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    u->name = sfc_xstrdup(CHANNEL);
    u->bare = sfc_xstrdup(CHANNEL);
    u->pos_known = true;
    s->subs = u;
    return s;
}

static void fake_stream_free(struct sfc_stream *s)
{
    struct sfc_stream_event *ev;

    while (sfc_stream_receive(s, 0, &ev) == SFC_OK)
        sfc_stream_event_destroy(ev);
    free(s->ring);
    stream_sub_free(s->subs);
    close(s->efd);
    pthread_cond_destroy(&s->store_cond);
    pthread_cond_destroy(&s->cond);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

/* The position now: -3 when there is none. */
static int64_t position(struct sfc_stream *s)
{
    return s->subs->has_committed ? s->subs->committed : -3;
}

/* The commit rule's promises, after every step. */
static void check_position(struct sfc_stream *s, struct seen *v, int64_t *last)
{
    int64_t x = position(s);
    bool known = x == -3 || x == -2;

    if (x < *last)
        die("the position went back");
    *last = x;
    for (size_t i = 0; i < v->n; i++) {
        known = known || v->id[i] == x;
        if (v->id[i] <= x && v->id[i] > v->committed_then[i] && !v->acked[i])
            die("the position passed an event not acknowledged");
    }
    if (!known)
        die("the position is an id that was never delivered");
}

/* Takes every queued event; those of CHANNEL join the model. */
static void drain(struct sfc_stream *s, struct seen *v)
{
    struct sfc_stream_event *ev;

    while (sfc_stream_receive(s, 0, &ev) == SFC_OK) {
        if (v->nreply == v->capreply) {
            v->capreply = v->capreply ? v->capreply * 2 : 64;
            v->chan = sfc_xrealloc(v->chan, v->capreply * sizeof(*v->chan));
            v->rid = sfc_xrealloc(v->rid, v->capreply * sizeof(*v->rid));
        }
        snprintf(v->chan[v->nreply], sizeof(v->chan[0]), "%s", ev->channel);
        v->rid[v->nreply++] = ev->replay_id;
        if (strcmp(ev->channel, CHANNEL) == 0 && v->n < MAX_SEEN) {
            v->id[v->n] = ev->replay_id;
            v->committed_then[v->n] = position(s);
            v->acked[v->n++] = false;
        }
        sfc_stream_event_destroy(ev);
    }
}

/* Acknowledges some of what is outstanding, in a scrambled order. */
static void ack_some(struct sfc_stream *s, struct seen *v, bool all)
{
    int64_t last = position(s);

    for (size_t k = 0; k < v->n; k++) {
        size_t i = all ? k : next_rand(v) % v->n;

        if (v->acked[i] || (!all && next_rand(v) % 3 == 0))
            continue;
        v->acked[i] = true;
        sfc_stream_commit(s, CHANNEL, v->id[i]);
        check_position(s, v, &last);
    }
}

/* Data messages of a reply as the whole-body parser finds them. */
struct expect {
    char (*chan)[64];
    int64_t *rid;
    size_t n, cap;
};

static bool expect_one(void *opaque, struct sfc_bayeux_msg *m)
{
    struct expect *e = opaque;
    struct sfc_stream_event *ev = NULL;
    char err[128];

    const cJSON *rid = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(m->data, "event"), "replayId");
    int64_t id;

    if (m->is_meta)
        return true;
    if (sfc_bayeux_event_on_demand(m, &ev, err, sizeof(err)) == SFC_OK) {
        id = ev->replay_id;
    } else if (cJSON_IsNumber(rid) && rid->valuedouble > 9007199254740992.0 &&
               rid->valuedouble <= 9223372036854775808.0) {
        /* A tree holds only 53 bits: the reader's text path reads the
         * digits; any id that large matches. */
        id = BIG_ID;
    } else {
        return true;
    }
    if (e->n == e->cap) {
        e->cap = e->cap ? e->cap * 2 : 64;
        e->chan = sfc_xrealloc(e->chan, e->cap * sizeof(*e->chan));
        e->rid = sfc_xrealloc(e->rid, e->cap * sizeof(*e->rid));
    }
    snprintf(e->chan[e->n], sizeof(e->chan[0]), "%.*s",
             (int)strcspn(m->channel, "?"), m->channel);
    e->rid[e->n++] = id;
    sfc_stream_event_destroy(ev);
    return true;
}

/* Checks a reply's deliveries against the whole-body parse, where that
 * parse and the reader agree the reply is well formed. */
static void check_reply(const char *text,
                        size_t len,
                        const struct sfc_bayeux_reader *r,
                        bool whole,
                        struct seen *v)
{
    struct expect e = {0};
    cJSON *root = NULL;
    char err[128];
    int skipped = 0;
    int n = sfc_bayeux_parse(text, len, &root, expect_one, &e, &skipped, err,
                             sizeof(err));

    /* Only where nothing was malformed either way: their judgements of
     * a single bad message may differ (fuzz_bayeux checks those). */
    if (whole && n >= 0 && skipped == 0 && r->malformed == 0 &&
        cJSON_IsArray(root)) {
        if (e.n != v->nreply)
            die("a data message was not delivered exactly once");
        for (size_t i = 0; i < e.n; i++)
            if ((e.rid[i] != v->rid[i] &&
                 !(e.rid[i] == BIG_ID && v->rid[i] > 9007199254740992LL)) ||
                strcmp(e.chan[i], v->chan[i]) != 0)
                die("deliveries differ from the reply, or are out of order");
    }
    cJSON_Delete(root);
    free(e.chan);
    free(e.rid);
}

/* One reply through the stream's reply path, in chunks. */
static void one_reply(struct sfc_stream *s,
                      const char *text,
                      size_t len,
                      bool bounded,
                      struct seen *v)
{
    struct poll_reply x;
    size_t at = 0, step = len ? (unsigned char)text[0] % 13 + 1 : 1;
    bool whole;

    v->nreply = 0;
    poll_reply_init(&x, s, NULL, bounded, poll_reply_connect_meta, NULL);
    x.status = 200;
    while (at < len) {
        size_t n = at + step > len ? len - at : step;

        poll_reply_body((char *)text + at, 1, n, &x);
        at += n;
        step = step * 7 % 29 + 1;
        poll_reply_flush(s, &x);
        drain(s, v); /* the consumer makes room */
        while (poll_reply_holding(&x)) {
            poll_reply_feed_carry(s, &x);
            drain(s, v);
        }
    }
    poll_reply_flush(s, &x);
    drain(s, v);
    whole = sfc_bayeux_reader_finish(&x.reader);
    check_reply(text, len, &x.reader, whole, v);
    poll_reply_free(&x);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct seen *v;
    struct sfc_stream *s;
    const char *p = (const char *)data + 2, *end = (const char *)data + size;
    int64_t last = -3, top = -3;
    int part = 0;

    if (size < 2)
        return 0;
    v = sfc_xcalloc(1, sizeof(*v));
    v->rng = data[1];
    s = fake_stream((size_t)data[0] % 64 + 1);
    while (p <= end && part < MAX_PARTS) {
        const char *z = memchr(p, '\0', (size_t)(end - p));
        size_t len = z ? (size_t)(z - p) : (size_t)(end - p);

        /* The handshake and subscribe replies are read whole; connect
         * replies only as far as the queue has room. */
        one_reply(s, p, len, part >= 2, v);
        check_position(s, v, &last);
        ack_some(s, v, false);
        part++;
        if (!z)
            break;
        p = z + 1;
    }
    ack_some(s, v, true);
    for (size_t i = 0; i < v->n; i++)
        if (v->id[i] > top)
            top = v->id[i];
    if (v->n && position(s) < top)
        die("everything acknowledged, and the position is before the last id");
    fake_stream_free(s);
    free(v->chan);
    free(v->rid);
    free(v);
    return 0;
}
