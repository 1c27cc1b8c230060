/* The dispatch loop and the event proxy (see proxy.h). */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event_build.h"
#include "proxy.h"

#define MOD "connector"
/* Events taken from the stream per turn, before publishing them. */
#define INTAKE_BATCH 256

/* The strings of an in-flight entry live in its allocation. */
struct publication {
    const char *routing_key;
    const char *call_id;
    uint64_t tag; /* 0 = (re)publish needed */
    bool acked;   /* settled: confirmed, and so is its copy if it has one */
    bool orig_acked;
    /* Returned as unroutable with amqp.alternate_exchange set: a copy goes
     * there, and the event is settled once that copy is confirmed too. */
    bool ae_wanted, ae_acked;
    uint64_t ae_tag; /* the copy's tag, 0 = not sent */
};

struct inflight {
    struct sfc_stream_event *ev;
    const char *message_id;
    /* One body for every publication: a span of ev->data_json, or printed
     * from the tree into body_owned. */
    const char *body;
    size_t body_len;
    char *body_owned;
    struct publication *pubs;
    size_t n_pubs;
    struct inflight *next;
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
    struct proxy_route *routes;
    size_t n_routes;
    struct key_memo *keys; /* one per route */
    struct amqp_link link;
    char *exchange;
    struct inflight *head, *tail;
    struct inflight *unsent;   /* first event with a publication to send */
    struct inflight *ack_from; /* no unconfirmed publication before it */
    size_t n_inflight;
    int64_t next_connect_ms;
    unsigned connect_failures;
    struct proxy_stats stats;
    uint64_t returned_told;
    int64_t progress_ms; /* last confirm, or last time none was awaited */
    size_t ae_out;       /* copies sent to the alternate exchange, unsettled */
    unsigned stalls;     /* confirm timeouts since the last confirm */
    bool read_link;      /* the last wait saw the broker's socket readable,
                            or timed out (heartbeats are kept then) */
    bool full;           /* the buffer filled up and has not drained yet */
};

struct proxy *proxy_new(const struct sfc_config *cfg,
                        struct sfc_stream *s,
                        struct proxy_route *routes,
                        size_t n_routes)
{
    struct proxy *p = sfc_xcalloc(1, sizeof(*p));

    p->cfg = cfg;
    p->stream = s;
    p->routes = routes;
    p->n_routes = n_routes;
    p->keys = sfc_xcalloc(n_routes ? n_routes : 1, sizeof(*p->keys));
    p->exchange = sfc_xasprintf("%s.events", cfg->service.name);
    amqp_link_init(&p->link, &cfg->amqp);
    return p;
}

static void inflight_free(struct inflight *f)
{
    free(f->body_owned);
    sfc_stream_event_destroy(f->ev);
    free(f);
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
    struct inflight *f, *n;

    if (!p)
        return;
    for (f = p->head; f; f = n) {
        n = f->next;
        inflight_free(f);
    }
    for (size_t i = 0; i < p->n_routes; i++)
        for (unsigned w = 0; w < KEY_WAYS; w++)
            key_way_clear(&p->keys[i], w);
    free(p->keys);
    amqp_link_destroy(&p->link);
    free(p->exchange);
    free(p);
}

void proxy_get_stats(const struct proxy *p, struct proxy_stats *out)
{
    *out = p->stats;
}

/* Publishes @pb of @f to @exchange; its tag goes to *tag. */
static bool send_pub(struct proxy *p,
                     const struct inflight *f,
                     const struct publication *pb,
                     const char *exchange,
                     bool mandatory,
                     uint64_t *tag)
{
    amqp_table_entry_t hdr[2];
    amqp_field_value_t stack_item;
    amqp_array_t stack = {1, &stack_item};
    amqp_basic_properties_t props = {0};

    props._flags = AMQP_BASIC_CONTENT_TYPE_FLAG |
                   AMQP_BASIC_CONTENT_ENCODING_FLAG |
                   AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_PRIORITY_FLAG |
                   AMQP_BASIC_MESSAGE_ID_FLAG | AMQP_BASIC_HEADERS_FLAG;
    props.content_type = amqp_cstring_bytes("application/json");
    props.content_encoding = amqp_cstring_bytes("utf-8");
    props.delivery_mode = 2;
    props.priority = 0;
    props.message_id = amqp_cstring_bytes(f->message_id);
    stack_item.kind = AMQP_FIELD_KIND_UTF8;
    stack_item.value.bytes = amqp_cstring_bytes(pb->call_id);
    hdr[0].key = amqp_cstring_bytes("nameko.call_id_stack");
    hdr[0].value.kind = AMQP_FIELD_KIND_ARRAY;
    hdr[0].value.value.array = stack;
    hdr[1].key = amqp_cstring_bytes("nameko.replay_id");
    hdr[1].value.kind = AMQP_FIELD_KIND_I64;
    hdr[1].value.value.i64 = f->ev->replay_id;
    props.headers.num_entries = 2;
    props.headers.entries = hdr;
    if (amqp_link_publish(&p->link, exchange, pb->routing_key, &props, f->body,
                          f->body_len, mandatory, tag) != SFC_OK)
        return false;
    p->stats.published++;
    return true;
}

/* A publication is settled once it and its copy (if any) are confirmed. */
static void settle(struct proxy *p, struct publication *pb)
{
    if (pb->orig_acked && (!pb->ae_wanted || pb->ae_acked)) {
        pb->acked = true;
        p->stats.confirmed++;
    }
}

/* Acks of copies sent to the alternate exchange (rare: a full scan). */
static void ae_acked(struct proxy *p, uint64_t tag, bool multiple)
{
    for (struct inflight *f = p->head; f && p->ae_out; f = f->next)
        for (size_t i = 0; i < f->n_pubs; i++) {
            struct publication *pb = &f->pubs[i];

            if (pb->ae_tag && !pb->ae_acked &&
                (pb->ae_tag == tag || (multiple && pb->ae_tag < tag))) {
                pb->ae_acked = true;
                p->ae_out--;
                settle(p, pb);
            }
        }
}

/*
 * Publications carry increasing tags along the FIFO (publishes go out in
 * FIFO order, and a nack or a reconnect sends everything unconfirmed from
 * that point again), so an ack settles a run that starts at ack_from: no
 * rescan of what is already confirmed. Copies sent to the alternate
 * exchange break that order and are settled apart.
 */
static void on_acked(void *opaque, uint64_t tag, bool multiple)
{
    struct proxy *p = opaque;
    bool prefix_done = true; /* every event walked so far is confirmed */

    if (p->ae_out)
        ae_acked(p, tag, multiple);
    for (struct inflight *f = p->ack_from ? p->ack_from : p->head; f;
         f = f->next) {
        for (size_t i = 0; i < f->n_pubs; i++) {
            struct publication *pb = &f->pubs[i];

            if (pb->acked)
                continue;
            if (pb->orig_acked) {
                prefix_done = false; /* its copy is still awaited */
                continue;
            }
            if (pb->tag == 0 || pb->tag > tag)
                return; /* not sent yet, or past the acked tags */
            if (pb->tag == tag || multiple) {
                pb->orig_acked = true;
                settle(p, pb);
                if (!pb->acked)
                    prefix_done = false;
                if (!multiple && !prefix_done)
                    return;
            } else {
                prefix_done = false; /* an earlier tag, still waiting */
            }
        }
        if (prefix_done)
            p->ack_from = f->next;
    }
}

/* Everything unsettled from @from on goes out again, in order. */
static void republish_from(struct proxy *p, struct inflight *from)
{
    bool reset = false;

    p->ae_out = 0;
    for (struct inflight *f = p->head; f; f = f->next) {
        reset = reset || f == from;
        for (size_t i = 0; i < f->n_pubs; i++) {
            struct publication *pb = &f->pubs[i];

            if (pb->acked)
                continue;
            if (reset) {
                pb->tag = pb->ae_tag = 0;
                pb->orig_acked = pb->ae_wanted = pb->ae_acked = false;
            } else if (pb->ae_tag && !pb->ae_acked) {
                p->ae_out++; /* an earlier copy, still awaited */
            }
        }
    }
    p->unsent = from;
    p->ack_from = NULL;
}

static void on_nacked(void *opaque, uint64_t tag, bool multiple)
{
    struct proxy *p = opaque;

    for (struct inflight *f = p->head; f; f = f->next)
        for (size_t i = 0; i < f->n_pubs; i++) {
            struct publication *pb = &f->pubs[i];

            if (pb->acked)
                continue;
            if ((!pb->orig_acked && pb->tag &&
                 (pb->tag == tag || (multiple && pb->tag < tag))) ||
                (pb->ae_tag && !pb->ae_acked &&
                 (pb->ae_tag == tag || (multiple && pb->ae_tag < tag)))) {
                /* The broker lost it: it and all after it again. */
                p->stats.nacked++;
                republish_from(p, f);
                return;
            }
        }
}

/* The publication a returned message was (and its event in *@of), or
 * NULL. */
static struct publication *returned_pub(struct proxy *p,
                                        const char *routing_key,
                                        const char *message_id,
                                        struct inflight **of)
{
    for (struct inflight *f = p->head; f; f = f->next) {
        if (strcmp(f->message_id, message_id) != 0)
            continue;
        for (size_t i = 0; i < f->n_pubs; i++) {
            struct publication *pb = &f->pubs[i];

            if (pb->tag && !pb->orig_acked && !pb->ae_wanted &&
                strcmp(pb->routing_key, routing_key) == 0) {
                *of = f;
                return pb;
            }
        }
    }
    return NULL;
}

static void
on_returned(void *opaque, const char *routing_key, const char *message_id)
{
    struct proxy *p = opaque;
    const char *ae = p->cfg->amqp.alternate_exchange;
    struct publication *pb = NULL;
    struct inflight *f = NULL;

    p->stats.returned++;
    /* Its copy goes to the alternate exchange, confirmed like any publish
     * before the event is committed. */
    if (ae && *ae && (pb = returned_pub(p, routing_key, message_id, &f))) {
        pb->ae_wanted = true;
        if (send_pub(p, f, pb, ae, false, &pb->ae_tag))
            p->ae_out++;
    }
    /* Loud once, then every 1000th: a missing consumer is not an error. */
    if (p->returned_told++ % 1000 == 0)
        sfc_log(SFC_LOG_WARN, MOD,
                "no queue is bound for %s on %s (%llu unroutable so far%s%s)",
                routing_key, p->exchange, (unsigned long long)p->stats.returned,
                pb ? "; sent to " : "", pb ? ae : "");
}

static bool connect_broker(struct proxy *p)
{
    char err[512];

    if (sfc_now_ms() < p->next_connect_ms)
        return false;
    if (amqp_link_open(&p->link, err, sizeof(err)) != SFC_OK ||
        amqp_link_declare_exchange(&p->link, p->exchange, "topic",
                                   p->cfg->amqp.exchange_auto_delete, err,
                                   sizeof(err)) != SFC_OK ||
        (p->cfg->amqp.alternate_exchange && *p->cfg->amqp.alternate_exchange &&
         amqp_link_declare_exchange(&p->link, p->cfg->amqp.alternate_exchange,
                                    "fanout", false, err,
                                    sizeof(err)) != SFC_OK)) {
        int64_t d = sfc_backoff_ms(p->connect_failures++, 200,
                                   p->cfg->amqp.reconnect_max_ms);

        sfc_log(SFC_LOG_WARN, MOD, "broker: %s; retrying in %lld ms", err,
                (long long)d);
        amqp_link_close(&p->link);
        p->next_connect_ms = sfc_now_ms() + d;
        return false;
    }
    if (p->connect_failures || p->stats.published)
        p->stats.reconnects++;
    p->connect_failures = 0;
    sfc_log(SFC_LOG_INFO, MOD, "publishing to %s on %s", p->exchange,
            p->link.shown_uri);
    /* Everything not confirmed goes out again, in order. */
    republish_from(p, p->head);
    return true;
}

static void publish_pending(struct proxy *p)
{
    if (!p->unsent)
        return;
    amqp_link_batch(&p->link, true);
    for (struct inflight *f = p->unsent; f && p->link.open; f = f->next) {
        p->unsent = f;
        for (size_t i = 0; i < f->n_pubs && p->link.open; i++) {
            struct publication *pb = &f->pubs[i];

            if (!pb->acked && !pb->tag)
                send_pub(p, f, pb, p->exchange, true, &pb->tag);
        }
    }
    amqp_link_batch(&p->link, false);
    if (p->link.open)
        p->unsent = NULL; /* all sent; new events set it again */
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

/* Route @i's routing key for @ev (valid until the route's next key). */
static const char *
route_key(struct proxy *p, size_t i, const struct sfc_stream_event *ev)
{
    struct key_memo *m = &p->keys[i];
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
    m->way[w].key = p->routes[i].ep->kind->routing_key_of(p->routes[i].ep, ev);
    return m->way[w].key;
}

/* Calls the C handlers of @ev's routes; false when one failed. */
static bool call_handlers(struct proxy *p, struct sfc_stream_event *ev)
{
    for (size_t i = 0; i < p->n_routes; i++) {
        struct proxy_route *r = &p->routes[i];
        sfc_err_t rc;

        if (!r->handler || strcmp(r->channel, ev->channel) != 0)
            continue;
        sfc_stream_event_data(ev); /* handlers read ev->data */
        rc = r->handler->fn(r->handler->opaque, &r->info, ev);
        if (rc != SFC_OK) {
            sfc_log(SFC_LOG_ERROR, MOD,
                    "handler %s failed on %s replay %lld: %s", r->handler->name,
                    ev->channel, (long long)ev->replay_id, sfc_err2str(rc));
            return false;
        }
    }
    return true;
}

/* The room the strings of @ev's publications take (routing keys and call
 * ids; the keys are made here and found again when they are copied). */
static size_t publication_room(struct proxy *p,
                               const struct sfc_stream_event *ev)
{
    size_t room = 0;

    for (size_t i = 0; i < p->n_routes; i++) {
        struct proxy_route *r = &p->routes[i];

        if (!r->handler && strcmp(r->channel, ev->channel) == 0)
            room += strlen(route_key(p, i, ev)) + 1 + strlen(r->entrypoint) +
                    CALL_ID_HEX + 2;
    }
    return room;
}

/* Hands one event to its handlers; false on a handler failure. */
static bool dispatch(struct proxy *p, struct sfc_stream_event *ev)
{
    struct inflight *f;
    size_t room, id_room = strlen(ev->channel) + 24;
    char *at;

    if (!call_handlers(p, ev)) {
        sfc_stream_event_destroy(ev);
        return false;
    }
    room = publication_room(p, ev);
    /* The publications and every string live in the entry's allocation. */
    f = sfc_xmalloc(sizeof(*f) + p->n_routes * sizeof(struct publication) +
                    id_room + room);
    memset(f, 0, sizeof(*f));
    f->ev = ev;
    f->pubs = (struct publication *)(f + 1);
    at = (char *)(f->pubs + p->n_routes);
    f->message_id = at;
    at += event_message_id(at, ev) + 1;
    for (size_t i = 0; i < p->n_routes; i++) {
        struct proxy_route *r = &p->routes[i];
        struct publication *pb = &f->pubs[f->n_pubs];
        const char *key;
        size_t n;

        if (r->handler || strcmp(r->channel, ev->channel) != 0)
            continue;
        memset(pb, 0, sizeof(*pb));
        key = route_key(p, i, ev); /* made in publication_room: found */
        n = strlen(key) + 1;
        pb->routing_key = memcpy(at, key, n);
        at += n;
        pb->call_id = at;
        at += call_id(at, r->entrypoint);
        *at++ = '\0';
        if (!f->body)
            f->body = r->ep->kind->body_of(ev, &f->body_owned, &f->body_len);
        f->n_pubs++;
    }
    /* The tree is not needed from here on (the text is the event's own
     * allocation, which the body may point into). */
    cJSON_Delete(ev->data);
    ev->data = NULL;
    if (p->tail)
        p->tail->next = f;
    else
        p->head = f;
    p->tail = f;
    if (!p->unsent)
        p->unsent = f;
    p->n_inflight++;
    p->stats.received++;
    return true;
}

/* Whether every publication of @f is confirmed. */
static bool settled_all(const struct inflight *f)
{
    for (size_t i = 0; i < f->n_pubs; i++)
        if (!f->pubs[i].acked)
            return false;
    return true;
}

/*
 * Acknowledges the longest prefix whose every publication is confirmed;
 * the stream turns acknowledgements into stored positions.
 */
static void commit_done(struct proxy *p)
{
    while (p->head && settled_all(p->head)) {
        struct inflight *f = p->head;

        sfc_stream_ack(p->stream, f->ev);
        if (p->ack_from == f)
            p->ack_from = f->next;
        p->head = f->next;
        if (!p->head)
            p->tail = NULL;
        if (p->unsent == f)
            p->unsent = f->next;
        p->n_inflight--;
        inflight_free(f);
    }
}

/* Whether a publication was sent and is still awaiting its confirm. */
static bool awaiting_confirm(const struct proxy *p)
{
    for (const struct inflight *f = p->head; f; f = f->next)
        for (size_t i = 0; i < f->n_pubs; i++)
            if (f->pubs[i].tag && !f->pubs[i].acked)
                return true;
    return false;
}

/*
 * A broker that takes publications but never confirms them (blocked by a
 * resource alarm, or a connection that hangs without closing) is left
 * after amqp.confirm_timeout_ms: the connection is closed and everything
 * unconfirmed goes out again on the next one.
 */
static void check_confirm_timeout(struct proxy *p, bool settled)
{
    int64_t now = sfc_now_ms();

    if (settled)
        p->stalls = 0;
    if (settled || !p->link.open || !p->head) {
        p->progress_ms = now;
        return;
    }
    if (now - p->progress_ms < p->cfg->amqp.confirm_timeout_ms)
        return;
    p->progress_ms = now;
    if (!awaiting_confirm(p))
        return;
    sfc_log(SFC_LOG_WARN, MOD,
            "no publisher confirm from the broker for %lld ms (%zu events "
            "in flight); reconnecting",
            (long long)p->cfg->amqp.confirm_timeout_ms, p->n_inflight);
    p->stats.confirm_timeouts++;
    amqp_link_abandon(&p->link);
    /* A broker that stays blocked is not hammered with new connections. */
    p->next_connect_ms =
        now + sfc_backoff_ms(p->stalls++, 200, p->cfg->amqp.reconnect_max_ms);
}

static const struct amqp_link_events link_events = {
    .acked = on_acked, .nacked = on_nacked, .returned = on_returned};

/*
 * Sleeps until there is something to do: an event to take (only while the
 * in-flight window has room), a frame from the broker, or a timeout that
 * keeps reconnects, heartbeats and the caller's tick going.
 */
/*
 * Waits up to @timeout_ms for events or for the broker; sets read_link
 * when the broker's socket is readable or the wait ran out, so that an
 * idle turn does not cost a read that finds nothing.
 */
/*
 * Whether to take more events from the stream. A buffer that filled up
 * takes more only once an eighth of it is free again: while the broker is
 * behind, events then go out in batches rather than one per confirm (a
 * send, a read and three polls for each).
 */
static bool has_room(struct proxy *p)
{
    size_t max = (size_t)p->cfg->amqp.max_buffered_events;

    if (p->n_inflight >= max)
        p->full = true;
    else if (p->full && p->n_inflight <= max - max / 8)
        p->full = false;
    return !p->full;
}

static void wait_for_work(struct proxy *p, bool intake, int timeout_ms)
{
    struct pollfd pfd[2];
    nfds_t n = 0;
    int link = -1, got;

    if (intake && has_room(p))
        pfd[n++] =
            (struct pollfd){.fd = sfc_stream_fd(p->stream), .events = POLLIN};
    if (p->link.open) {
        if (amqp_link_buffered(&p->link)) {
            p->read_link = true;
            return;
        }
        link = (int)n;
        pfd[n++] =
            (struct pollfd){.fd = amqp_link_fd(&p->link), .events = POLLIN};
    }
    got = poll(pfd, n, timeout_ms);
    p->read_link = (got == 0 && timeout_ms > 0) ||
                   (link >= 0 && got > 0 && pfd[link].revents);
}

static sfc_err_t turn(struct proxy *p, bool intake)
{
    struct amqp_link_events ev = link_events;
    uint64_t settled = p->stats.confirmed + p->stats.nacked;
    int took = 0;

    ev.opaque = p;
    if (!p->link.open)
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
    if (p->link.open)
        publish_pending(p);
    if (p->link.open && (p->read_link || amqp_link_buffered(&p->link)))
        amqp_link_poll(&p->link, 0, &ev);
    commit_done(p);
    check_confirm_timeout(p, settled != p->stats.confirmed + p->stats.nacked);
    /* After work only a look (no wait): was anything confirmed meanwhile? */
    wait_for_work(p, intake,
                  took || settled != p->stats.confirmed + p->stats.nacked ? 0
                  : p->link.open || !p->head                              ? 100
                                                                          : 20);
    return SFC_OK;
}

bool proxy_broker_up(const struct proxy *p)
{
    return p->link.open;
}

sfc_err_t proxy_run(struct proxy *p,
                    volatile sig_atomic_t *stop,
                    volatile sig_atomic_t *reopen_log,
                    int64_t drain_ms,
                    void (*tick)(void *opaque),
                    void *opaque)
{
    sfc_err_t rc = SFC_OK;
    int64_t until, next_tick = 0;

    p->link.interrupt = stop;

    while (!*stop) {
        if (*reopen_log) {
            *reopen_log = 0;
            sfc_log_reopen();
        }
        rc = turn(p, true);
        if (rc != SFC_OK)
            break;
        if (tick && sfc_now_ms() >= next_tick) {
            tick(opaque);
            next_tick = sfc_now_ms() + 1000;
        }
    }
    /* Stop taking events; wait for what is out there to be confirmed. */
    until = sfc_now_ms() + drain_ms;
    while (p->head && p->link.open && sfc_now_ms() < until)
        turn(p, false);
    if (p->head)
        sfc_log(SFC_LOG_WARN, MOD,
                "%zu events were not confirmed before exit; they are not "
                "committed and will be delivered again",
                p->n_inflight);
    return rc;
}
