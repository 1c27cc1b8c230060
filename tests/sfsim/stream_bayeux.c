/*
 * /cometd/<version>: the Bayeux server as Salesforce runs it — handshake,
 * subscribe with the replay extension, the held /meta/connect, unsubscribe,
 * disconnect, the BAYEUX_BROWSER cookie, the reconnect window, and the exact
 * error strings of the Streaming API.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stream_int.h"

#define MIN_VERSION 37.0

struct reply_ctx {
    struct sim_stream *st;
    const struct sim_request *req;
    struct sim_response *resp;
    struct sim_session_info who;
    bool authed;
    char browser[64];    /* BAYEUX_BROWSER from the request, or "" */
    cJSON *replies;      /* meta replies */
    struct sfc_buf data; /* data messages, comma separated */
    struct sfc_buf tail; /* data messages after the meta replies */
    /* A client subscribed in this request (fault: events in the reply). */
    char subscribed[32];
};

static void random_id(struct sim_stream *st, char *out, size_t len)
{
    static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";

    for (size_t i = 0; i + 1 < len; i++)
        out[i] = digits[sim_rand(st->sim) % 36];
    out[len - 1] = '\0';
}

static void
cookie_value(const char *cookies, const char *name, char *out, size_t size)
{
    size_t n = strlen(name);

    out[0] = '\0';
    for (const char *p = cookies; p && *p;) {
        p += strspn(p, " ;");
        if (strncmp(p, name, n) == 0 && p[n] == '=') {
            size_t v = strcspn(p + n + 1, ";");

            snprintf(out, size, "%.*s", (int)v, p + n + 1);
            return;
        }
        p = strchr(p, ';');
    }
}

static struct stream_client *find_client(struct sim_stream *st, const char *id)
{
    for (struct stream_client *c = st->clients; id && c; c = c->next)
        if (strcmp(c->id, id) == 0)
            return c;
    return NULL;
}

static void free_client(struct stream_client *c)
{
    struct stream_sub *s = c->subs, *n;

    for (; s; s = n) {
        n = s->next;
        free(s->name);
        free(s);
    }
    free(c);
}

static void remove_client(struct sim_stream *st, struct stream_client *gone)
{
    for (struct stream_client **pp = &st->clients; *pp; pp = &(*pp)->next) {
        if (*pp == gone) {
            *pp = gone->next;
            free_client(gone);
            st->n_clients--;
            pthread_cond_broadcast(&st->cond);
            return;
        }
    }
}

/* Forgets clients silent for longer than the reconnect window. */
static void expire_clients(struct sim_stream *st)
{
    int64_t now = sfc_now_ms();
    struct stream_client *c = st->clients, *next;

    for (; c; c = next) {
        next = c->next;
        if (!c->waiting &&
            now - c->last_seen_ms > st->set.reconnect_window_ms) {
            sim_stats_add(st->sim, "stream_clients_expired", 1);
            remove_client(st, c);
        }
    }
}

/* A meta reply skeleton echoing channel and id. */
static cJSON *meta_reply(struct reply_ctx *x,
                         const cJSON *msg,
                         const char *channel,
                         const char *client_id,
                         bool ok)
{
    cJSON *r = cJSON_CreateObject();
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(msg, "id");

    if (client_id)
        cJSON_AddStringToObject(r, "clientId", client_id);
    cJSON_AddStringToObject(r, "channel", channel);
    if (id)
        cJSON_AddItemToObject(r, "id", cJSON_Duplicate(id, true));
    cJSON_AddBoolToObject(r, "successful", ok);
    cJSON_AddItemToArray(x->replies, r);
    return r;
}

static void
add_advice(cJSON *r, const char *reconnect, int64_t interval, int64_t timeout)
{
    cJSON *a = cJSON_AddObjectToObject(r, "advice");

    cJSON_AddNumberToObject(a, "interval", (double)interval);
    if (timeout >= 0)
        cJSON_AddNumberToObject(a, "timeout", (double)timeout);
    cJSON_AddStringToObject(a, "reconnect", reconnect);
}

static void
unknown_client(struct reply_ctx *x, const cJSON *msg, const char *channel)
{
    cJSON *r = meta_reply(x, msg, channel, NULL, false);

    cJSON_AddStringToObject(r, "error", "403::Unknown client");
    add_advice(r, "handshake", 0, -1);
    sim_stats_add(x->st->sim, "stream_unknown_client", 1);
}

/* Appends one data message to @b (comma separated). */
static void add_data(struct sfc_buf *b, const char *json, size_t len)
{
    if (b->len > 0 && b->data[b->len - 1] != '[')
        sfc_buf_append(b, ",", 1);
    sfc_buf_append(b, json, len);
}

/*
 * Fault "stream_events_in_handshake": the handshake reply carries the retained
 * events of "channel" after "after" (as a CometD server that resumes a
 * session's queue does).
 */
static void handshake_events(struct reply_ctx *x)
{
    struct sim_fault_hit hit;
    const cJSON *chn, *after;
    struct stream_channel *ch;
    int64_t from;

    if (!sim_fault_take(x->st->sim, "stream_events_in_handshake",
                        x->req->method, x->req->path, &hit))
        return;
    chn = cJSON_GetObjectItemCaseSensitive(hit.params, "channel");
    after = cJSON_GetObjectItemCaseSensitive(hit.params, "after");
    ch = cJSON_IsString(chn)
             ? stream_channel_get(x->st, chn->valuestring, false)
             : NULL;
    if (ch) {
        from = cJSON_IsNumber(after) ? (int64_t)after->valuedouble : -1;
        for (size_t i = stream_channel_after(ch, from); i < ch->count; i++) {
            const struct stream_event *e = stream_channel_at(ch, i);

            add_data(&x->tail, e->json, e->len);
            sim_stats_add(x->st->sim, "stream_events_in_meta_replies", 1);
        }
    }
    sim_fault_hit_clear(&hit);
}

static void handshake(struct reply_ctx *x, const cJSON *msg)
{
    struct sim_stream *st = x->st;
    struct stream_client *c;
    cJSON *r, *ext;
    char cookie[128];

    sim_stats_add(st->sim, "stream_handshakes", 1);
    if (!x->authed || st->n_clients >= st->set.max_clients) {
        r = meta_reply(x, msg, "/meta/handshake", NULL, false);
        ext = cJSON_AddObjectToObject(r, "ext");
        cJSON_AddStringToObject(
            cJSON_AddObjectToObject(ext, "sfdc"), "failureReason",
            x->authed ? "403::Organization concurrent user limit exceeded"
                      : "401::Authentication invalid");
        cJSON_AddBoolToObject(ext, "replay", true);
        cJSON_AddBoolToObject(ext, "payload.format", true);
        cJSON_AddStringToObject(r, "error", "403::Handshake denied");
        cJSON_AddStringToObject(cJSON_AddObjectToObject(r, "advice"),
                                "reconnect", "none");
        return;
    }
    c = sfc_xcalloc(1, sizeof(*c));
    random_id(st, c->id, 27);
    if (x->browser[0])
        snprintf(c->browser, sizeof(c->browser), "%.31s", x->browser);
    else
        random_id(st, c->browser, 29);
    snprintf(c->user_id, sizeof(c->user_id), "%s", x->who.user_id);
    c->last_seen_ms = sfc_now_ms();
    c->next = st->clients;
    st->clients = c;
    st->n_clients++;
    sim_stats_max(st->sim, "stream_max_clients", st->n_clients);
    snprintf(cookie, sizeof(cookie),
             "BAYEUX_BROWSER=%s; Path=/cometd/; HttpOnly", c->browser);
    sim_response_add_header(x->resp, "Set-Cookie", cookie);
    r = meta_reply(x, msg, "/meta/handshake", c->id, true);
    ext = cJSON_AddObjectToObject(r, "ext");
    cJSON_AddBoolToObject(ext, "replay", true);
    cJSON_AddBoolToObject(ext, "payload.format", true);
    cJSON_AddStringToObject(r, "minimumVersion", "1.0");
    cJSON_AddStringToObject(r, "version", "1.0");
    cJSON_AddItemToObject(
        r, "supportedConnectionTypes",
        cJSON_CreateStringArray((const char *[]){"long-polling"}, 1));
    handshake_events(x);
}

/*
 * The replay map's value for @bare as written in the request: cJSON keeps
 * numbers as doubles, which round ids above 2^53. The map's entry is the
 * only place where the quoted channel is followed by a colon.
 */
static int64_t
exact_replay(const struct sim_request *req, const char *bare, int64_t approx)
{
    char key[300];
    const char *p = req->body, *end = req->body + req->body_len;
    size_t kl = (size_t)snprintf(key, sizeof(key), "\"%s\"", bare);

    while (p && p < end) {
        const char *q = memmem(p, (size_t)(end - p), key, kl);

        if (!q)
            break;
        q += kl;
        while (q < end && (*q == ' ' || *q == ':'))
            q++;
        if (q < end && (*q == '-' || (*q >= '0' && *q <= '9')) && q[-1] != '"')
            return strtoll(q, NULL, 10);
        p = q;
    }
    return approx;
}

/* Where a subscription starts, or an error text in @err. */
static bool replay_start(struct reply_ctx *x,
                         const cJSON *msg,
                         const char *bare,
                         struct stream_channel *ch,
                         int64_t *cursor,
                         char *err,
                         size_t errsz)
{
    const cJSON *ext = cJSON_GetObjectItemCaseSensitive(msg, "ext");
    const cJSON *map = cJSON_GetObjectItemCaseSensitive(ext, "replay");
    const cJSON *v;
    int64_t n;

    *cursor = ch->last_replay; /* -1: new events only */
    if (!cJSON_IsObject(map))
        return true;
    v = cJSON_GetObjectItemCaseSensitive(map, bare);
    if (!cJSON_IsNumber(v)) {
        char *m = cJSON_PrintUnformatted(map);

        snprintf(err, errsz,
                 "400::The replayId for channel {%s} wasn't found using the "
                 "provided replay ID map {%s}. Ensure that the channel name "
                 "you provided in the replay map is valid and matches the "
                 "channel name used for subscribing.",
                 bare, m);
        free(m);
        return false;
    }
    n = exact_replay(x->req, bare, (int64_t)v->valuedouble);
    if (n == -1)
        return true;
    if (n == -2) {
        *cursor = ch->count ? stream_channel_oldest(ch) - 1 : ch->last_replay;
        return true;
    }
    /* A stored id is refused as if it had left the retention window:
     * by /_sim/stream/config's reject_replay_ids, or a reject_replay_id
     * fault armed on /cometd/. */
    if (x->st->reject_next_replay > 0 ||
        sim_fault_take(x->st->sim, "reject_replay_id", x->req->method,
                       x->req->path, NULL) ||
        !(stream_channel_knows(ch, n) || (n == ch->last_replay && n > 0))) {
        if (x->st->reject_next_replay > 0)
            x->st->reject_next_replay--;
        snprintf(err, errsz,
                 "400::The replayId {%lld} you provided was invalid.  Please "
                 "provide a valid ID, -2 to replay all events, or -1 to replay "
                 "only new events.",
                 (long long)n);
        return false;
    }
    *cursor = n;
    return true;
}

static bool channel_exists(struct sim_stream *st, const char *bare)
{
    if (strncmp(bare, "/topic/", 7) == 0) {
        for (struct stream_topic *t = st->topics; t; t = t->next)
            if (t->active && strcmp(t->name, bare + 7) == 0)
                return true;
        return stream_channel_get(st, bare, false) != NULL;
    }
    return strncmp(bare, "/u/", 3) == 0 || strncmp(bare, "/event/", 7) == 0 ||
           strncmp(bare, "/data/", 6) == 0;
}

static void subscribe(struct reply_ctx *x,
                      const cJSON *msg,
                      struct stream_client *c,
                      bool subscribing)
{
    struct sim_stream *st = x->st;
    const char *name = NULL,
               *chname = subscribing ? "/meta/subscribe" : "/meta/unsubscribe";
    char bare[256], err[1024];
    struct stream_channel *ch;
    struct stream_sub **pp, *s;
    int64_t cursor;
    cJSON *r;

    sfc_json_get_str(msg, "subscription", &name, NULL, 0);
    snprintf(bare, sizeof(bare), "%.*s", (int)strcspn(name ? name : "", "?"),
             name ? name : "");
    if (!name || bare[0] != '/') {
        r = meta_reply(x, msg, chname, c->id, false);
        cJSON_AddStringToObject(r, "error",
                                name ? "400::Channel subscriptions must start "
                                       "with a leading '/'"
                                     : "400::Channel name not specified");
        return;
    }
    for (pp = &c->subs; *pp && strcmp((*pp)->ch->name, bare); pp = &(*pp)->next)
        ;
    if (!subscribing) {
        if (*pp) {
            s = *pp;
            *pp = s->next;
            free(s->name);
            free(s);
        }
        r = meta_reply(x, msg, chname, c->id, true);
        cJSON_AddStringToObject(r, "subscription", name);
        return;
    }
    sim_stats_add(st->sim, "stream_subscribes", 1);
    if (sim_fault_take(st->sim, "stream_session_unknown", x->req->method,
                       x->req->path, NULL)) {
        /* A CometD server that lost the session (cometd-nodejs-server's
         * wording): the client must handshake again and resubscribe. */
        r = meta_reply(x, msg, chname, c->id, false);
        cJSON_AddStringToObject(r, "subscription", name);
        cJSON_AddStringToObject(r, "error", "402::session_unknown");
        add_advice(r, "handshake", 0, -1);
        sim_stats_add(st->sim, "stream_session_unknown", 1);
        remove_client(st, c);
        return;
    }
    if (!channel_exists(st, bare)) {
        snprintf(err, sizeof(err),
                 "400::The channel you requested to subscribe to does not "
                 "exist {%s}",
                 bare);
        goto out_fail;
    }
    ch = stream_channel_get(st, bare, true);
    if (!replay_start(x, msg, bare, ch, &cursor, err, sizeof(err)))
        goto out_fail;
    s = *pp;
    if (!s) {
        s = sfc_xcalloc(1, sizeof(*s));
        s->ch = ch;
        *pp = s;
    }
    free(s->name);
    s->name = sfc_xstrdup(name);
    s->cursor = cursor;
    r = meta_reply(x, msg, chname, c->id, true);
    cJSON_AddStringToObject(r, "subscription", name);
    snprintf(x->subscribed, sizeof(x->subscribed), "%s", c->id);
    return;
out_fail:
    sim_stats_add(st->sim, "stream_subscribe_errors", 1);
    r = meta_reply(x, msg, chname, c->id, false);
    cJSON_AddStringToObject(r, "subscription", name);
    cJSON_AddStringToObject(r, "error", err);
}

static bool pending(const struct stream_client *c)
{
    for (const struct stream_sub *s = c->subs; s; s = s->next)
        if (s->ch->count && s->ch->last_replay > s->cursor)
            return true;
    return false;
}

/*
 * Fault "stream_foreign_event": a data message on "channel" (one the
 * client never subscribed to) with replay id "replay".
 */
static void foreign_event(struct reply_ctx *x, struct sfc_buf *out)
{
    struct sim_fault_hit hit;
    const cJSON *chn, *rid;
    char *msg;

    if (!sim_fault_take(x->st->sim, "stream_foreign_event", x->req->method,
                        x->req->path, &hit))
        return;
    chn = cJSON_GetObjectItemCaseSensitive(hit.params, "channel");
    rid = cJSON_GetObjectItemCaseSensitive(hit.params, "replay");
    msg = sfc_xasprintf(
        "{\"channel\":\"%s\",\"data\":{\"event\":{\"createdDate\":"
        "\"2024-05-02T09:14:03.512Z\",\"replayId\":%lld,\"type\":"
        "\"created\"},\"sobject\":{\"Id\":\"003000000000000AAA\","
        "\"LastName\":\"Foreign\"}}}",
        cJSON_IsString(chn) ? chn->valuestring : "/topic/Foreign",
        cJSON_IsNumber(rid) ? (long long)rid->valuedouble : 1LL);
    add_data(out, msg, strlen(msg));
    free(msg);
    sim_fault_hit_clear(&hit);
}

/*
 * Moves deliverable events into @out, within the batch bounds; with the
 * fault "stream_out_of_order" armed, the reply lists them newest first.
 */
static void
collect(struct reply_ctx *x, struct stream_client *c, struct sfc_buf *out)
{
    const struct stream_event **take = NULL;
    size_t n = 0, cap = 0, bytes = 0;
    bool reverse = false;

    for (struct stream_sub *s = c->subs; s; s = s->next) {
        struct stream_channel *ch = s->ch;

        for (size_t i = stream_channel_after(ch, s->cursor);
             i < ch->count && n < x->st->set.max_batch_events &&
             bytes < x->st->set.max_batch_bytes;
             i++) {
            const struct stream_event *e = stream_channel_at(ch, i);

            if (n == cap) {
                cap = cap ? cap * 2 : 64;
                take = sfc_xrealloc(take, cap * sizeof(*take));
            }
            take[n++] = e;
            bytes += e->len;
            s->cursor = e->replay;
        }
    }
    if (n > 1)
        reverse = sim_fault_take(x->st->sim, "stream_out_of_order",
                                 x->req->method, x->req->path, NULL);
    for (size_t i = 0; i < n; i++) {
        const struct stream_event *e = take[reverse ? n - 1 - i : i];

        add_data(out, e->json, e->len);
    }
    free(take);
    sim_stats_add(x->st->sim, "stream_events_delivered", (int64_t)n);
}

/* The long poll; st->lock held on entry and exit. */
static void connect(struct reply_ctx *x, const cJSON *msg, const char *cid)
{
    struct sim_stream *st = x->st;
    struct stream_client *c = find_client(st, cid);
    const char *type = NULL;
    int64_t timeout = sim_options(st->sim)->connect_timeout_ms;
    int64_t deadline = sfc_now_ms() + timeout;
    uint64_t seq;
    cJSON *r;

    sim_stats_add(st->sim, "stream_connects", 1);
    sfc_json_get_str_opt(msg, "connectionType", &type, NULL, 0);
    if (type && strcmp(type, "long-polling") != 0) {
        char err[128];

        r = meta_reply(x, msg, "/meta/connect", cid, false);
        snprintf(err, sizeof(err), "400::Invalid connection type %s", type);
        cJSON_AddStringToObject(r, "error", err);
        return;
    }
    if (sim_fault_take(st->sim, "stream_unknown_client_401", x->req->method,
                       x->req->path, NULL)) {
        /* faye's wording for a session it does not know. */
        r = meta_reply(x, msg, "/meta/connect", cid, false);
        cJSON_AddStringToObject(r, "error", "401::Unknown client");
        add_advice(r, "handshake", 0, -1);
        sim_stats_add(st->sim, "stream_unknown_client", 1);
        remove_client(st, c);
        return;
    }
    {
        const cJSON *adv = cJSON_GetObjectItemCaseSensitive(msg, "advice");
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(adv, "timeout");
        bool at_once = cJSON_IsNumber(t) && t->valuedouble == 0;

        if (at_once)
            sim_stats_add(st->sim, "stream_connects_timeout0", 1);
        if (!c->connected_once && (!st->set.hold_first_connect || at_once)) {
            c->connected_once = true;
            r = meta_reply(x, msg, "/meta/connect", cid, true);
            add_advice(r, "retry", 0, timeout);
            c->last_seen_ms = sfc_now_ms();
            return;
        }
        if (!c->connected_once)
            sim_stats_add(st->sim, "stream_first_connects_held", 1);
        c->connected_once = true;
    }
    /* Another session of the same browser is long-polling: Salesforce
     * answers at once and tells the client to poll slowly. */
    for (struct stream_client *o = st->clients; o; o = o->next) {
        if (o != c && o->waiting && strcmp(o->browser, c->browser) == 0) {
            r = meta_reply(x, msg, "/meta/connect", cid, true);
            add_advice(r, "retry", 2000, timeout);
            cJSON_AddBoolToObject(cJSON_GetObjectItem(r, "advice"),
                                  "multiple-clients", true);
            sim_stats_add(st->sim, "stream_multiple_clients", 1);
            c->last_seen_ms = sfc_now_ms();
            return;
        }
    }
    seq = ++c->connect_seq;
    pthread_cond_broadcast(&st->cond); /* releases an older held connect */
    c->waiting++;
    /* A gauge: long polls held now (tests wait on it, not on a pause). */
    sim_stats_add(st->sim, "stream_connects_waiting", 1);
    while (!pending(c) && c->connect_seq == seq &&
           !atomic_load(&st->stopping) && !sim_stopping(st->sim) &&
           sfc_now_ms() < deadline) {
        struct timespec until;
        int64_t slice = deadline - sfc_now_ms();

        if (slice > 200)
            slice = 200;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += slice * 1000000;
        until.tv_sec += until.tv_nsec / 1000000000;
        until.tv_nsec %= 1000000000;
        pthread_cond_timedwait(&st->cond, &st->lock, &until);
        c = find_client(st, cid);
        if (!c)
            break;
    }
    sim_stats_add(st->sim, "stream_connects_waiting", -1);
    if (!c) {
        unknown_client(x, msg, "/meta/connect");
        return;
    }
    c->waiting--;
    foreign_event(x, &x->data);
    collect(x, c, &x->data);
    meta_reply(x, msg, "/meta/connect", cid, true);
    c->last_seen_ms = sfc_now_ms();
}

/*
 * Fault "stream_events_in_subscribe": the events a
 * subscription made deliverable go in the subscribe reply, after it, as
 * CometD servers flush a session's queue with any reply. The
 * subscription's replayed events too: all of them, whatever the batch
 * bound ("max" limits them).
 */
static void subscribe_events(struct reply_ctx *x)
{
    struct sim_fault_hit hit;
    struct stream_client *c = find_client(x->st, x->subscribed);

    if (!c)
        return;
    if (!sim_fault_take(x->st->sim, "stream_events_in_subscribe",
                        x->req->method, x->req->path, &hit))
        return;
    {
        size_t before = x->st->set.max_batch_events;
        int64_t max = 0;

        sfc_json_get_int64_opt(hit.params, "max", &max, NULL, 0);
        x->st->set.max_batch_events = max > 0 ? (size_t)max : (size_t)-1;
        collect(x, c, &x->tail);
        x->st->set.max_batch_events = before;
        sim_stats_add(x->st->sim, "stream_events_in_meta_replies", 1);
    }
    sim_fault_hit_clear(&hit);
}

/* Everything but the handshake needs a known client, auth and cookie. */
static struct stream_client *admit(struct reply_ctx *x,
                                   const cJSON *msg,
                                   const char *channel,
                                   const char *cid)
{
    struct stream_client *c;
    struct sim_fault_hit hit = {0};

    if (sim_fault_take(x->st->sim, "forget_clients", x->req->method,
                       x->req->path, &hit)) {
        sim_fault_hit_clear(&hit);
        while (x->st->clients)
            remove_client(x->st, x->st->clients);
    }
    c = find_client(x->st, cid);
    if (!c) {
        unknown_client(x, msg, channel);
        return NULL;
    }
    if (!x->authed) {
        cJSON *r = meta_reply(x, msg, channel, cid, false);

        cJSON_AddStringToObject(r, "error", "401::Authentication invalid");
        add_advice(r, "none", 0, -1);
        return NULL;
    }
    if (strcmp(x->browser, c->browser) != 0) {
        char err[160];
        cJSON *r = meta_reply(x, msg, channel, cid, false);

        snprintf(err, sizeof(err),
                 "400::Client %s has established a session, but no "
                 "BAYEUX_BROWSER cookie present",
                 cid);
        cJSON_AddStringToObject(r, "error", err);
        return NULL;
    }
    c->last_seen_ms = sfc_now_ms();
    return c;
}

static void
dispatch(struct reply_ctx *x, const cJSON *msg, const cJSON **connect_msg)
{
    const char *channel = NULL, *cid = NULL;
    struct stream_client *c;

    sfc_json_get_str_opt(msg, "channel", &channel, NULL, 0);
    sfc_json_get_str_opt(msg, "clientId", &cid, NULL, 0);
    if (!channel) {
        cJSON *r = meta_reply(x, msg, "", cid, false);

        cJSON_AddStringToObject(r, "error", "400::Channel name not specified");
        return;
    }
    if (strcmp(channel, "/meta/handshake") == 0) {
        handshake(x, msg);
        return;
    }
    c = admit(x, msg, channel, cid);
    if (!c)
        return;
    if (strcmp(channel, "/meta/connect") == 0)
        *connect_msg = msg; /* answered last, after the others */
    else if (strcmp(channel, "/meta/subscribe") == 0)
        subscribe(x, msg, c, true);
    else if (strcmp(channel, "/meta/unsubscribe") == 0)
        subscribe(x, msg, c, false);
    else if (strcmp(channel, "/meta/disconnect") == 0) {
        meta_reply(x, msg, "/meta/disconnect", cid, true);
        remove_client(x->st, c);
    } else {
        cJSON *r = meta_reply(x, msg, channel, cid, false);

        cJSON_AddStringToObject(r, "error", "403::Publish denied");
    }
}

/* 400 with a Bayeux error body (bad version, bad JSON). */
static void bad_request(struct sim_response *resp, const char *error)
{
    cJSON *arr = cJSON_CreateArray(), *r = cJSON_CreateObject();

    cJSON_AddStringToObject(r, "error", error);
    cJSON_AddBoolToObject(r, "successful", false);
    cJSON_AddItemToArray(arr, r);
    sim_response_json(resp, 400, arr);
}

static bool
version_ok(struct sim_stream *st, const char *path, struct sim_response *resp)
{
    const char *v = path + strlen("/cometd");
    char msg[200];
    double ver;

    if (*v == '/')
        v++;
    ver = atof(v);
    if (!*v) {
        snprintf(msg, sizeof(msg),
                 "400::API version in the URI is mandatory. URI format: "
                 "'/cometd/%.1f'",
                 sim_options(st->sim)->max_api_version);
        bad_request(resp, msg);
        return false;
    }
    if (ver < MIN_VERSION) {
        snprintf(msg, sizeof(msg),
                 "400::Unsupported API version. Only API versions '37.0' and "
                 "later are supported. URI format: '/cometd/%.1f'",
                 sim_options(st->sim)->max_api_version);
        bad_request(resp, msg);
        return false;
    }
    return true;
}

void sim_stream_handle(struct sim_stream *st,
                       const struct sim_request *req,
                       struct sim_response *resp)
{
    struct reply_ctx x = {.st = st, .req = req, .resp = resp};
    const cJSON *connect_msg = NULL, *m;
    cJSON *body;
    char *replies;

    if (!version_ok(st, req->path, resp))
        return;
    body = cJSON_ParseWithLength(req->body, req->body_len);
    if (!cJSON_IsArray(body) && !cJSON_IsObject(body)) {
        cJSON_Delete(body);
        bad_request(resp, "400::Invalid JSON");
        return;
    }
    x.authed = sim_auth_check(st->sim, req->authorization, &x.who, NULL);
    cookie_value(req->cookie, "BAYEUX_BROWSER", x.browser, sizeof(x.browser));
    x.replies = cJSON_CreateArray();
    sfc_buf_init(&x.data, 0);
    sfc_buf_init(&x.tail, 0);
    sfc_buf_append(&x.data, "[", 1); /* the reply's opening bracket */
    pthread_mutex_lock(&st->lock);
    expire_clients(st);
    stream_expire(st, sfc_wall_ms());
    if (cJSON_IsObject(body)) {
        dispatch(&x, body, &connect_msg);
    } else {
        cJSON_ArrayForEach(m, body) dispatch(&x, m, &connect_msg);
    }
    subscribe_events(&x);
    if (connect_msg) {
        const char *cid = NULL;

        sfc_json_get_str_opt(connect_msg, "clientId", &cid, NULL, 0);
        connect(&x, connect_msg, cid);
    }
    pthread_mutex_unlock(&st->lock);

    /* Data messages first, then the meta replies, then what a fault put
     * after them, in the one buffer. */
    replies = cJSON_PrintUnformatted(x.replies);
    {
        size_t rl = strlen(replies);

        if (x.data.len > 1 && rl > 2)
            sfc_buf_append(&x.data, ",", 1);
        sfc_buf_append(&x.data, replies + 1, rl - 2);
        if (x.tail.len) {
            if (x.data.len > 1)
                sfc_buf_append(&x.data, ",", 1);
            sfc_buf_append(&x.data, x.tail.data, x.tail.len);
        }
        sfc_buf_append(&x.data, "]", 1);
        sim_response_take(resp, 200, "application/json;charset=UTF-8",
                          x.data.data, x.data.len);
        x.data.data = NULL; /* the response has it */
        x.data.len = x.data.cap = 0;
    }
    resp->no_limit_info = true;
    free(replies);
    cJSON_Delete(x.replies);
    sfc_buf_free(&x.data);
    sfc_buf_free(&x.tail);
    cJSON_Delete(body);
}
