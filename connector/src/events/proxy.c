/* The dispatch loop and the event proxy (see proxy.h). */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event_build.h"
#include "event_trace.h"
#include "proxy.h"
#include "publisher.h"
#include "sf_options.h"

#define MOD "connector"
/* Events taken from the stream per turn, before publishing them. */
#define INTAKE_BATCH 256
/* The longest confirms wait unread while events flow (confirm_lag_ms). */
#define CONFIRM_LAG_MS 20

/*
 * An event in the publisher's hands. Its publications, their headers, the
 * message id, routing keys and call ids live in the same allocation.
 */
struct inflight {
    struct publisher_entry e; /* first: an entry is its inflight */
    struct sfc_stream_event *ev;
    /* One body for every publication: a span of ev->data_json, or printed
     * from the tree into body_owned. */
    char *body_owned;
    int64_t published_us; /* the event trace's (when on) */
};

/* A publication's headers: Nameko's call id stack, the replay id, and
 * the Bayeux client id (as nameko-salesforce's handlers publish them). */
struct pub_headers {
    struct amqp_link_header h[3];
    const char *call_id;
};

/*
 * A route's routing keys already made. The channel is the route's, so a key
 * depends only on the event's kind, type and CDC entity: a handful per route
 * (created, updated, deleted, undeleted).
 */
#define KEY_WAYS 4
struct key_memo {
    struct {
        enum sfc_stream_kind kind;
        char *type, *entity, *key; /* key NULL: unused */
    } way[KEY_WAYS];
    unsigned next; /* the way to reuse next */
};

struct proxy {
    const struct sfc_config *cfg;
    struct sfc_stream *stream;
    const struct route_table *routes;
    size_t n_routes;
    struct key_memo *keys; /* one per route */
    bool *mine;            /* per route: its handler is this proxy's */
    /* The entry the event being dispatched fills (its publications, and
     * the strings they point to from @at on); NULL between events. */
    struct inflight *building;
    struct pub_headers *headers;
    char *at;
    struct amqp_link *link;
    struct publisher *pub;
    char *exchange;
    int64_t next_connect_ms;
    unsigned connect_failures;
    uint64_t received, reconnects;
    bool connected_once;
    unsigned stalls; /* confirm timeouts since the last confirm */
    bool read_link;  /* the last wait saw the broker's socket readable,
                        or timed out (heartbeats are kept then) */
    bool full;       /* the buffer filled up and has not drained yet */
    /* The event trace (NULL: off): the entries of this turn, to stamp
     * once they are written, and when the last confirm was read. */
    struct event_trace *trace;
    struct inflight *turn_new[INTAKE_BATCH];
    size_t n_turn_new;
    int64_t acked_us;
};

static sfc_err_t
link_publish(void *opaque, const struct amqp_link_msg *m, uint64_t *tag)
{
    return amqp_link_send(opaque, m, tag);
}

static void link_batch(void *opaque, bool on)
{
    amqp_link_batch(opaque, on);
}

struct proxy *proxy_new(const struct sfc_config *cfg)
{
    struct proxy *p = sfc_xcalloc(1, sizeof(*p));

    p->cfg = cfg;
    p->exchange = sfc_xasprintf("%s.events", cfg->service.name);
    {
        struct amqp_link_options lo;

        connector_amqp_options(cfg, &lo);
        p->link = amqp_link_new(&lo);
    }
    p->pub = publisher_new(
        &(struct publisher_options){
            .exchange = p->exchange,
            .alternate_exchange = cfg->amqp.alternate_exchange,
            .confirm_timeout_ms = cfg->amqp.confirm_timeout_ms,
            .backoff_base_ms = 200,
            .backoff_max_ms = cfg->amqp.reconnect_max_ms},
        &(struct publisher_link){
            .opaque = p->link, .publish = link_publish, .batch = link_batch});
    p->trace = event_trace_open_env();
    return p;
}

bool proxy_tracing(const struct proxy *p)
{
    return p->trace != NULL;
}

void proxy_start(struct proxy *p,
                 struct sfc_stream *s,
                 const struct route_table *routes)
{
    const struct route *r = route_table_routes(routes, &p->n_routes);

    p->stream = s;
    p->routes = routes;
    p->keys = sfc_xcalloc(p->n_routes ? p->n_routes : 1, sizeof(*p->keys));
    p->mine = sfc_xcalloc(p->n_routes ? p->n_routes : 1, sizeof(*p->mine));
    /* The routes this proxy publishes for: their entries reserve room for
     * a publication each. */
    for (size_t i = 0; i < p->n_routes; i++)
        p->mine[i] =
            r[i].handler->fn == proxy_handler && r[i].handler->opaque == p;
}

static void inflight_free(struct inflight *f)
{
    free(f->body_owned);
    sfc_stream_event_destroy(f->ev);
    free(f);
}

static void inflight_free_all(struct publisher_entry *e)
{
    while (e) {
        struct publisher_entry *next = e->next;

        inflight_free((struct inflight *)e);
        e = next;
    }
}

static void key_way_clear(struct key_memo *m, unsigned w)
{
    free(m->way[w].type);
    free(m->way[w].entity);
    free(m->way[w].key);
    m->way[w].type = m->way[w].entity = m->way[w].key = NULL;
}

void proxy_destroy(struct proxy *p)
{
    if (!p)
        return;
    inflight_free_all(publisher_take_all(p->pub));
    publisher_destroy(p->pub);
    for (size_t i = 0; i < p->n_routes; i++)
        for (unsigned w = 0; w < KEY_WAYS; w++)
            key_way_clear(&p->keys[i], w);
    free(p->keys);
    free(p->mine);
    amqp_link_destroy(p->link);
    event_trace_close(p->trace);
    free(p->exchange);
    free(p);
}

void proxy_get_stats(const struct proxy *p, struct proxy_stats *out)
{
    struct publisher_stats ps;

    publisher_get_stats(p->pub, &ps);
    out->received = p->received;
    out->published = ps.published;
    out->confirmed = ps.confirmed;
    out->returned = ps.returned;
    out->nacked = ps.nacked;
    out->reconnects = p->reconnects;
    out->confirm_timeouts = ps.confirm_timeouts;
    out->held = publisher_held(p->pub);
}

static void on_acked(void *opaque, uint64_t tag, bool multiple)
{
    struct proxy *p = opaque;

    if (p->trace)
        p->acked_us = sfc_wall_us();
    publisher_on_confirm(p->pub, tag, multiple, sfc_now_ms());
}

static void on_nacked(void *opaque, uint64_t tag, bool multiple)
{
    struct proxy *p = opaque;

    publisher_on_nack(p->pub, tag, multiple, sfc_now_ms());
}

static void
on_returned(void *opaque, const char *routing_key, const char *message_id)
{
    struct proxy *p = opaque;

    publisher_on_return(p->pub, routing_key, message_id, sfc_now_ms());
}

static bool connect_broker(struct proxy *p)
{
    char err[512];

    if (sfc_now_ms() < p->next_connect_ms)
        return false;
    if (amqp_link_open(p->link, err, sizeof(err)) != SFC_OK ||
        amqp_link_declare_exchange(p->link, p->exchange, "topic",
                                   p->cfg->amqp.exchange_auto_delete, err,
                                   sizeof(err)) != SFC_OK ||
        (p->cfg->amqp.alternate_exchange && *p->cfg->amqp.alternate_exchange &&
         amqp_link_declare_exchange(p->link, p->cfg->amqp.alternate_exchange,
                                    "fanout", false, err,
                                    sizeof(err)) != SFC_OK)) {
        int64_t d = sfc_backoff_ms(p->connect_failures++, 200,
                                   p->cfg->amqp.reconnect_max_ms);

        sfc_log(SFC_LOG_WARN, MOD, "broker: %s; retrying in %lld ms", err,
                (long long)d);
        amqp_link_close(p->link);
        p->next_connect_ms = sfc_now_ms() + d;
        return false;
    }
    if (p->connect_failures || p->connected_once)
        p->reconnects++;
    p->connect_failures = 0;
    p->connected_once = true;
    sfc_log(SFC_LOG_INFO, MOD, "publishing to %s on %s", p->exchange,
            amqp_link_shown_uri(p->link));
    /* Everything not confirmed goes out again, in order. */
    publisher_link_up(p->pub, sfc_now_ms());
    return true;
}

/* "<entrypoint>.<random hex>": Nameko's call id stack entry, at @out
 * (CALL_ID_HEX + 2 bytes past the entrypoint); returns its length. */
#define CALL_ID_HEX 24
static size_t call_id(char *out, const char *entrypoint)
{
    size_t n = strlen(entrypoint);

    memcpy(out, entrypoint, n);
    out[n++] = '.';
    n += sfc_fmt_hex(out + n, sfc_rand64(), 0);
    n += sfc_fmt_hex(out + n, sfc_rand64() & 0xffffffffULL, 8);
    return n;
}

static bool same_str(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

/* Route @r's routing key for @ev (valid until the route's next key). */
static const char *route_key(struct proxy *p,
                             const struct route *r,
                             const struct sfc_stream_event *ev)
{
    struct key_memo *m = &p->keys[r->index];
    unsigned w;

    for (w = 0; w < KEY_WAYS; w++)
        if (m->way[w].key && m->way[w].kind == ev->kind &&
            same_str(m->way[w].type, ev->event_type) &&
            same_str(m->way[w].entity, ev->entity))
            return m->way[w].key;
    w = m->next++ % KEY_WAYS;
    key_way_clear(m, w);
    m->way[w].kind = ev->kind;
    m->way[w].type = ev->event_type ? sfc_xstrdup(ev->event_type) : NULL;
    m->way[w].entity = ev->entity ? sfc_xstrdup(ev->entity) : NULL;
    m->way[w].key = r->ep->kind->routing_key_of(r->ep, ev);
    return m->way[w].key;
}

/* The room the strings of @ev's publications take (routing keys and call
 * ids; the keys are made here and found again when they are copied). */
static size_t publication_room(struct proxy *p,
                               const struct subscription *sub,
                               const struct sfc_stream_event *ev)
{
    size_t room = 0;

    for (size_t i = 0; i < sub->n_routes; i++) {
        const struct route *r = sub->routes[i];

        if (p->mine[r->index])
            room += strlen(route_key(p, r, ev)) + 1 + strlen(r->info.id) +
                    CALL_ID_HEX + 2;
    }
    return room;
}

sfc_err_t proxy_handler(void *opaque,
                        const struct sfc_connector_entrypoint *ep,
                        const struct sfc_stream_event *ev)
{
    struct proxy *p = opaque;
    /* Its info is a route's: the route is the proxy's way to its memo. */
    const struct route *r =
        (const struct route *)((const char *)ep - offsetof(struct route, info));
    struct inflight *f = p->building;
    struct publisher_pub *pb;
    struct pub_headers *h;
    const char *key;
    size_t n, nh = 2;

    if (!f || !p->mine[r->index])
        return SFC_ERR_INTERNAL; /* called from outside its dispatch */
    pb = &f->e.pubs[f->e.n_pubs];
    h = &p->headers[f->e.n_pubs];
    memset(pb, 0, sizeof(*pb));
    key = route_key(p, r, ev); /* made in publication_room: found */
    n = strlen(key) + 1;
    pb->routing_key = memcpy(p->at, key, n);
    p->at += n;
    h->call_id = p->at;
    p->at += call_id(p->at, ep->id);
    *p->at++ = '\0';
    h->h[0] = (struct amqp_link_header){.key = "nameko.call_id_stack",
                                        .kind = AMQP_LINK_STR_ARRAY,
                                        .strs = &h->call_id,
                                        .n = 1};
    h->h[1] = (struct amqp_link_header){
        .key = "nameko.replay_id", .kind = AMQP_LINK_I64, .i64 = ev->replay_id};
    if (ev->client_id[0])
        h->h[nh++] = (struct amqp_link_header){.key = "nameko.client_id",
                                               .kind = AMQP_LINK_STR,
                                               .str = ev->client_id};
    pb->headers = h->h;
    pb->n_headers = nh;
    /* One body for all: the event is the proxy's until acknowledged. */
    if (!f->e.body) {
        const char *(*body_of)(struct sfc_stream_event *, char **, size_t *) =
            r->ep->kind->body_of ? r->ep->kind->body_of
                                 : sfc_stream_event_record;

        f->e.body = body_of((struct sfc_stream_event *)ev, &f->body_owned,
                            &f->e.body_len);
    }
    f->e.n_pubs++;
    return SFC_OK;
}

/* An entry for @ev with room for a publication per route of @sub and
 * @room bytes of their strings; its message id written. */
static struct inflight *entry_new(struct proxy *p,
                                  const struct subscription *sub,
                                  struct sfc_stream_event *ev,
                                  size_t room)
{
    size_t n = sub ? sub->n_routes : 0, id_room = strlen(ev->channel) + 24;
    struct inflight *f;
    char *at;

    /* The publications and every string live in the entry's allocation. */
    f = sfc_xmalloc(
        sizeof(*f) +
        n * (sizeof(struct publisher_pub) + sizeof(struct pub_headers)) +
        id_room + room);
    memset(f, 0, sizeof(*f));
    f->ev = ev;
    f->e.item = ev;
    f->e.pubs = (struct publisher_pub *)(f + 1);
    p->headers = (struct pub_headers *)(f->e.pubs + n);
    at = (char *)(p->headers + n);
    f->e.message_id = at;
    at += event_message_id(at, ev) + 1;
    p->at = at;
    return f;
}

/*
 * Hands one event to the handlers of its subscription's routes, in config
 * order (found with one lookup of its channel); false when one failed.
 */
static bool dispatch(struct proxy *p, struct sfc_stream_event *ev)
{
    const struct subscription *sub = route_table_find(p->routes, ev->channel);
    struct inflight *f =
        entry_new(p, sub, ev, sub ? publication_room(p, sub, ev) : 0);

    p->building = f;
    for (size_t i = 0; sub && i < sub->n_routes; i++) {
        const struct route *r = sub->routes[i];
        sfc_err_t rc;

        if (!p->mine[r->index])
            sfc_stream_event_data(ev); /* other handlers read ev->data */
        rc = r->handler->fn(r->handler->opaque, &r->info, ev);
        if (rc != SFC_OK) {
            sfc_log(SFC_LOG_ERROR, MOD,
                    "handler %s failed on %s replay %lld: %s", r->handler->name,
                    ev->channel, (long long)ev->replay_id, sfc_err2str(rc));
            p->building = NULL;
            inflight_free(f);
            return false;
        }
    }
    p->building = NULL;
    /* The tree is not needed from here on (the text is the event's own
     * allocation, which the body may point into). */
    cJSON_Delete(ev->data);
    ev->data = NULL;
    publisher_submit(p->pub, &f->e);
    p->received++;
    if (p->trace)
        p->turn_new[p->n_turn_new++] = f;
    return true;
}

/* The trace: this turn's entries that its send wrote out. */
static void trace_published(struct proxy *p)
{
    int64_t now = sfc_wall_us();

    for (size_t i = 0; i < p->n_turn_new; i++) {
        struct inflight *f = p->turn_new[i];

        if (f->e.n_pubs && f->e.pubs[0].tag)
            f->published_us = now;
    }
    p->n_turn_new = 0;
}

/*
 * Acknowledges what the publisher is done with (every publication
 * confirmed); the stream turns acknowledgements into stored positions.
 */
static void commit_done(struct proxy *p)
{
    struct publisher_entry *e = publisher_take_done(p->pub), *next;
    int64_t now = e && p->trace ? sfc_wall_us() : 0;

    for (; e; e = next) {
        struct inflight *f = (struct inflight *)e;

        next = e->next;
        sfc_stream_ack(p->stream, f->ev);
        if (p->trace)
            event_trace_write(p->trace, f->ev, f->e.message_id, f->published_us,
                              p->acked_us, now);
        inflight_free(f);
    }
}

/*
 * A broker that takes publications but never confirms them (blocked by a
 * resource alarm, or a connection that hangs without closing) is left
 * after amqp.confirm_timeout_ms: the connection is dropped and everything
 * unconfirmed goes out again on the next one, after a backoff that grows
 * while the broker stays so.
 */
static void check_confirm_timeout(struct proxy *p, bool settled)
{
    int64_t now = sfc_now_ms();

    if (settled)
        p->stalls = 0;
    if (!publisher_timed_out(p->pub, now))
        return;
    amqp_link_abandon(p->link);
    publisher_link_lost(p->pub);
    p->next_connect_ms =
        now + sfc_backoff_ms(p->stalls++, 200, p->cfg->amqp.reconnect_max_ms);
}

static const struct amqp_link_events link_events = {
    .acked = on_acked, .nacked = on_nacked, .returned = on_returned};

/*
 * Whether to take more events from the stream. A buffer that filled up
 * takes more only once an eighth of it is free again: while the broker is
 * behind, events then go out in batches rather than one per confirm (a
 * send, a read and three polls for each).
 */
static bool has_room(struct proxy *p)
{
    size_t max = (size_t)p->cfg->amqp.max_buffered_events;
    size_t held = publisher_held(p->pub);

    if (held >= max)
        p->full = true;
    else if (p->full && held <= max - max / 8)
        p->full = false;
    return !p->full;
}

/*
 * How long the broker's confirms may wait in its socket, in ms, or -1 when
 * the socket is to be watched now. While events keep coming and the
 * in-flight window is at most half full, the socket is read when this runs
 * out, all its confirms in one read, instead of waking the thread once more
 * for each event: at steady rates that wake-up was half of the thread's.
 * Only the acknowledgements to the stream wait (a position is still
 * committed only after its confirm), by at most CONFIRM_LAG_MS after the
 * last confirm read; the confirm timeout counts as before.
 */
static int confirm_lag_ms(struct proxy *p)
{
    int64_t since = publisher_awaited_since(p->pub), left;

    if (!since ||
        publisher_held(p->pub) > (size_t)p->cfg->amqp.max_buffered_events / 2)
        return -1;
    left = since + CONFIRM_LAG_MS - sfc_now_ms();
    return left > 0 ? (int)left : -1;
}

/*
 * Sleeps until there is something to do: an event to take (only while the
 * in-flight window has room), a frame from the broker, or a timeout that
 * keeps reconnects, heartbeats and the caller's tick going. Sets read_link
 * when the broker's socket is readable or the wait ran out, so that an
 * idle turn does not cost a read that finds nothing.
 */
static void wait_for_work(struct proxy *p, bool intake, int timeout_ms)
{
    struct pollfd pfd[2];
    nfds_t n = 0;
    int link = -1, lag = -1, got;

    if (intake && has_room(p))
        pfd[n++] =
            (struct pollfd){.fd = sfc_stream_fd(p->stream), .events = POLLIN};
    if (amqp_link_is_open(p->link)) {
        if (amqp_link_buffered(p->link)) {
            p->read_link = true;
            return;
        }
        lag = n ? confirm_lag_ms(p) : -1;
        if (lag < 0) {
            link = (int)n;
            pfd[n++] =
                (struct pollfd){.fd = amqp_link_fd(p->link), .events = POLLIN};
        } else if (lag < timeout_ms) {
            timeout_ms = lag;
        }
    }
    got = poll(pfd, n, timeout_ms);
    p->read_link = (got == 0 && timeout_ms > 0) ||
                   (link >= 0 && got > 0 && pfd[link].revents);
}

/* Publications settled or refused so far: progress of the broker. */
static uint64_t settled_count(const struct proxy *p)
{
    struct publisher_stats ps;

    publisher_get_stats(p->pub, &ps);
    return ps.confirmed + ps.nacked;
}

static sfc_err_t turn(struct proxy *p, bool intake)
{
    struct amqp_link_events ev = link_events;
    uint64_t settled = settled_count(p);
    int took = 0;

    ev.opaque = p;
    if (!amqp_link_is_open(p->link))
        connect_broker(p);
    /* A bounded batch per turn keeps the broker fed while we build. */
    while (intake && took < INTAKE_BATCH && has_room(p)) {
        struct sfc_stream_event *e = NULL;
        sfc_err_t rc = sfc_stream_receive(p->stream, 0, &e);

        if (rc == SFC_ERR_TIMEOUT)
            break;
        if (rc != SFC_OK)
            return rc;
        if (!dispatch(p, e))
            return SFC_ERR_INTERNAL;
        took++;
    }
    publisher_send(p->pub, sfc_now_ms());
    if (p->trace)
        trace_published(p);
    if (amqp_link_is_open(p->link) &&
        (p->read_link || amqp_link_buffered(p->link)))
        amqp_link_poll(p->link, 0, &ev);
    if (!amqp_link_is_open(p->link) && publisher_link_is_up(p->pub))
        publisher_link_lost(p->pub);
    commit_done(p);
    if (p->trace) /* idle turns too: the last lines reach the file */
        event_trace_flush_due(p->trace, sfc_wall_us());
    check_confirm_timeout(p, settled != settled_count(p));
    /* Ready descriptors end the wait at once: no extra look after work. */
    wait_for_work(p, intake,
                  amqp_link_is_open(p->link) || !publisher_held(p->pub) ? 100
                                                                        : 20);
    return SFC_OK;
}

bool proxy_broker_up(const struct proxy *p)
{
    return amqp_link_is_open(p->link);
}

sfc_err_t proxy_run(struct proxy *p,
                    const atomic_bool *stop,
                    atomic_bool *reopen_log,
                    void (*tick)(void *opaque),
                    void *opaque)
{
    sfc_err_t rc = SFC_OK;
    int64_t next_tick = 0;

    amqp_link_set_interrupt(p->link, stop);
    while (!atomic_load(stop)) {
        if (atomic_exchange(reopen_log, false))
            sfc_log_reopen();
        rc = turn(p, true);
        if (rc != SFC_OK)
            break;
        if (tick && sfc_now_ms() >= next_tick) {
            tick(opaque);
            next_tick = sfc_now_ms() + 1000;
        }
    }
    return rc;
}

void proxy_drain(struct proxy *p, int64_t until_ms)
{
    /* No more events taken; what is out there may still be confirmed. */
    while (publisher_held(p->pub) && amqp_link_is_open(p->link) &&
           sfc_now_ms() < until_ms)
        turn(p, false);
    if (publisher_held(p->pub))
        sfc_log(SFC_LOG_WARN, MOD,
                "%zu events were not confirmed before exit; they are not "
                "committed and will be delivered again",
                publisher_held(p->pub));
}
