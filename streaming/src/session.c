/*
 * The I/O thread: one Bayeux session at a time. Handshake (after a login
 * through api/), subscribe every channel from its last committed replay id,
 * then the connect loop; on faults a new handshake (any unknown-client
 * error, advice handshake, a silence longer than the reconnect window), a
 * new login (401), or a retry with backoff (transport errors, 5xx). Every
 * reply, of every exchange, is read by the one reader of longpoll.c, which
 * queues each data message in order. A connect reply is read only as far as
 * the queue has room; while the queue is full no connect is sent; if that
 * outlasts the reconnect window the session starts over from the committed
 * positions, so nothing is lost.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "stream_int.h"

struct exchange {
    struct sfc_stream *s;
    long status;
    CURLcode rc;
    char errbuf[CURL_ERROR_SIZE];
    /* Attempts libcurl made to send the request (see on_prereq); @once:
     * the second is refused. */
    unsigned attempts;
    bool once;
    bool uncut; /* a disconnect: its own short timeout, not cut at a stop */
    struct poll_reply reply; /* the reply (longpoll.c) */
};

/* Replaces or adds cookie @name=@value in the session's jar. */
static void jar_set(struct sfc_stream *s, const char *pair, size_t len)
{
    const char *eq = memchr(pair, '=', len);
    struct sfc_buf b;
    size_t nl;

    if (!eq || eq == pair)
        return;
    nl = (size_t)(eq - pair);
    sfc_buf_init(&b, 8192);
    for (const char *p = s->cookies; p && *p;) {
        size_t l = strcspn(p, ";");

        if (!(l > nl && strncmp(p, pair, nl) == 0 && p[nl] == '='))
            sfc_buf_appendf(&b, "%s%.*s", b.len ? "; " : "", (int)l, p);
        p += l;
        p += strspn(p, "; ");
    }
    sfc_buf_appendf(&b, "%s%.*s", b.len ? "; " : "", (int)len, pair);
    free(s->cookies);
    s->cookies = sfc_buf_steal(&b);
}

static size_t on_header(char *data, size_t size, size_t n, void *opaque)
{
    struct exchange *x = opaque;
    size_t len = size * n;

    if (len > 11 && strncasecmp(data, "Set-Cookie:", 11) == 0) {
        const char *v = data + 11;

        v += strspn(v, " ");
        jar_set(x->s, v, strcspn(v, ";\r\n"));
    }
    return len;
}

/*
 * libcurl sends a request again on a new connection when a reused one died
 * before any reply byte; each attempt passes here first. For the long poll
 * the second is refused: the server may have handed the connect's events
 * out before the connection died, and a connect sent again would be
 * answered with what follows them. The transfer fails instead (reported
 * as CURLE_SEND_FAIL_REWIND, see exchange_rc) and the session's own rules
 * take over (a new session from the committed ids). Other requests may be
 * sent again (a subscription's events come again). The body is handed to
 * libcurl whole, so the request leaves in one write with its headers.
 */
static int on_prereq(void *opaque,
                     char *primary_ip,
                     char *local_ip,
                     int primary_port,
                     int local_port)
{
    struct exchange *x = opaque;

    (void)primary_ip;
    (void)local_ip;
    (void)primary_port;
    (void)local_port;
    if (++x->attempts > 1 && x->once) {
        sfc_log(SFC_LOG_WARN, STREAM_MOD,
                "the connection died under the long poll: it is not sent "
                "again blindly");
        return CURL_PREREQFUNC_ABORT;
    }
    return CURL_PREREQFUNC_OK;
}

/* A transfer's result: a second attempt refused by on_prereq is a
 * connection that died after the request was sent, not a stop. */
static CURLcode exchange_rc(const struct exchange *x, CURLcode rc)
{
    if (rc == CURLE_ABORTED_BY_CALLBACK && x->once && x->attempts > 1)
        return CURLE_SEND_FAIL_REWIND;
    return rc;
}

/*
 * libcurl's progress callback, on the I/O thread: an exchange ends as soon
 * as the stream stops (libcurl calls this at least once a second while a
 * reply is awaited), not when Salesforce answers; the disconnect sent at
 * the stop is bounded by its own short timeout instead.
 */
static int on_progress(void *opaque,
                       curl_off_t dltotal,
                       curl_off_t dlnow,
                       curl_off_t ultotal,
                       curl_off_t ulnow)
{
    struct exchange *x = opaque;

    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    return !x->uncut && atomic_load(&x->s->stop);
}

/*
 * Prepares @h for one exchange whose reply goes through x->reply (already
 * initialised); @once: never let libcurl send it twice.
 */
static void setup_handle(struct sfc_stream *s,
                         CURL *h,
                         struct exchange *x,
                         struct curl_slist *hdrs,
                         const char *body,
                         int64_t timeout_ms,
                         bool once)
{
    curl_easy_reset(h);
    sfc_api_client_setup_curl(s->o.api, h);
    x->s = s;
    x->attempts = 0;
    x->once = once;
    x->errbuf[0] = '\0';
    if (s->cookies)
        curl_easy_setopt(h, CURLOPT_COOKIE, s->cookies);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(h, CURLOPT_URL, s->cometd_url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    /* @body outlives the transfer (libcurl does not copy it). */
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_PREREQFUNCTION, on_prereq);
    curl_easy_setopt(h, CURLOPT_PREREQDATA, x);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, poll_reply_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &x->reply);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, x->errbuf);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, x);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(h, CURLOPT_PRIVATE, x);
}

static struct curl_slist *headers(struct sfc_stream *s)
{
    struct curl_slist *h = curl_slist_append(NULL, s->auth_header);

    return curl_slist_append(h, "Content-Type: application/json");
}

/*
 * A short request on the meta handle (handshake, subscribe, disconnect).
 * Its reply's meta messages go to @on_meta (with @ctx); its data messages
 * are queued, in order, before this returns. True when the reply was a
 * whole, well-formed Bayeux reply with HTTP 200.
 */
static bool meta_post(struct sfc_stream *s,
                      const char *body,
                      struct exchange *x,
                      reply_meta_fn on_meta,
                      void *ctx)
{
    struct curl_slist *h = headers(s);
    bool ok;

    memset(x, 0, sizeof(*x));
    poll_reply_init(&x->reply, s, s->meta, false, on_meta, ctx);
    setup_handle(s, s->meta, x, h, body, 30000, false);
    x->rc = exchange_rc(x, curl_easy_perform(s->meta));
    curl_easy_getinfo(s->meta, CURLINFO_RESPONSE_CODE, &x->status);
    curl_slist_free_all(h);
    poll_reply_flush(s, &x->reply); /* the reply's events, in order */
    ok = x->rc == CURLE_OK && x->status == 200 &&
         poll_reply_finish(s, &x->reply, "");
    poll_reply_free(&x->reply);
    return ok;
}

static char *next_id(struct sfc_stream *s)
{
    return sfc_xasprintf("%d", ++s->msg_id);
}

/* Gets (or renews) the Salesforce session and builds URL and header. */
static bool session_from_api(struct sfc_stream *s, bool renew)
{
    struct sfc_api_session as = {0};
    struct sfc_api_error *e = NULL;
    sfc_err_t rc;

    if (renew) {
        rc = sfc_api_client_relogin(s->o.api, s->api_gen, &e);
        pthread_mutex_lock(&s->lock);
        s->stats.relogins++;
        pthread_mutex_unlock(&s->lock);
        if (rc != SFC_OK)
            goto out_fail;
    }
    rc = sfc_api_client_session(s->o.api, &as, &e);
    if (rc != SFC_OK)
        goto out_fail;
    free(s->cometd_url);
    sfc_free_secret(s->auth_header);
    s->cometd_url =
        sfc_xasprintf("%s/cometd/%s", as.instance_url, as.api_version);
    s->auth_header = sfc_xasprintf("Authorization: Bearer %s", as.access_token);
    s->api_gen = as.generation;
    sfc_api_session_clear(&as);
    return true;
out_fail:
    sfc_log(SFC_LOG_ERROR, STREAM_MOD, "Salesforce login failed: %s",
            e ? e->message : "unknown");
    if (e && e->code == SFC_ERR_AUTH && e->http_status >= 400 &&
        e->http_status < 500) {
        pthread_mutex_lock(&s->lock);
        stream_fail_locked(s, SFC_ERR_AUTH, "Salesforce refused the login: %s",
                           e->message);
        pthread_mutex_unlock(&s->lock);
    }
    sfc_api_error_destroy(e);
    return false;
}

/* What an HTTP-level failure means for the session. */
static enum step http_failure(struct exchange *x, const char *what)
{
    if (x->rc == CURLE_ABORTED_BY_CALLBACK)
        return STEP_STOP; /* cut short: the stream stops */
    if (x->rc != CURLE_OK) {
        sfc_log(SFC_LOG_WARN, STREAM_MOD, "%s: %s", what,
                x->errbuf[0] ? x->errbuf : curl_easy_strerror(x->rc));
        return STEP_RETRY;
    }
    if (x->status == 401)
        return STEP_RELOGIN;
    sfc_log(SFC_LOG_WARN, STREAM_MOD, "%s: HTTP %ld", what, x->status);
    return STEP_RETRY;
}

/* What a handshake reply said. */
struct handshake_result {
    bool seen, successful;
    char client_id[64];
    char why[256];
};

static void on_handshake_meta(struct poll_reply *x,
                              const struct sfc_bayeux_msg *m)
{
    struct handshake_result *r = x->meta_ctx;
    const char *why = m->failure_reason ? m->failure_reason : m->error;

    if (r->seen || strcmp(m->channel, "/meta/handshake") != 0)
        return;
    r->seen = true;
    r->successful = m->successful && m->client_id;
    snprintf(r->client_id, sizeof(r->client_id), "%s",
             m->client_id ? m->client_id : "");
    snprintf(r->why, sizeof(r->why), "%s", why ? why : "no reason given");
}

static enum step handshake(struct sfc_stream *s)
{
    struct exchange x;
    struct handshake_result r = {0};
    char *id = next_id(s), *body;
    enum step st = STEP_RETRY;

    /* A fresh cookie jar for a fresh session. */
    free(s->cookies);
    s->cookies = NULL;
    body = sfc_xasprintf("[{\"id\":\"%s\",\"channel\":\"/meta/handshake\","
                         "\"version\":\"1.0\",\"minimumVersion\":\"1.0\","
                         "\"supportedConnectionTypes\":[\"long-polling\"],"
                         "\"ext\":{\"replay\":true}}]",
                         id);
    pthread_mutex_lock(&s->lock);
    s->stats.handshakes++;
    pthread_mutex_unlock(&s->lock);
    /* The handshake's events, if the server sends any, are queued here. */
    if (!meta_post(s, body, &x, on_handshake_meta, &r)) {
        st = x.rc != CURLE_OK || x.status != 200 ? http_failure(&x, "handshake")
                                                 : STEP_RETRY;
        goto out_free;
    }
    if (!r.seen)
        goto out_free;
    if (!r.successful) {
        sfc_log(SFC_LOG_WARN, STREAM_MOD, "handshake denied: %s", r.why);
        st = strncmp(r.why, "401", 3) == 0 ? STEP_RELOGIN : STEP_RETRY;
        goto out_free;
    }
    snprintf(s->client_id, sizeof(s->client_id), "%s", r.client_id);
    pthread_mutex_lock(&s->lock); /* sfc_stream_get_stats() reads it */
    s->session_gen++;
    pthread_mutex_unlock(&s->lock);
    s->first_connect = true;
    s->last_reply_ms = s->last_ok_ms = sfc_now_ms();
    st = STEP_OK;
    sfc_log(SFC_LOG_INFO, STREAM_MOD, "Bayeux session %s on %s", s->client_id,
            s->cometd_url);
out_free:
    free(body);
    free(id);
    return st;
}

static const char *fallback_name(enum sfc_stream_fallback f)
{
    return f == SFC_STREAM_FALLBACK_ALL   ? "all retained events (-2)"
           : f == SFC_STREAM_FALLBACK_NEW ? "new events only (-1)"
                                          : "failing";
}

/* What a (un)subscribe reply said. */
struct subscribe_result {
    const char *channel; /* /meta/subscribe or /meta/unsubscribe */
    enum step step;
    char *err;
    size_t esz;
    const char **error_out;
};

static void on_subscribe_meta(struct poll_reply *x,
                              const struct sfc_bayeux_msg *m)
{
    struct subscribe_result *r = x->meta_ctx;

    if (strcmp(m->channel, r->channel) != 0)
        return;
    if (m->successful) {
        r->step = STEP_OK;
    } else if (stream_unknown_client(m)) {
        /* The session is gone: resubscribed right after the handshake. */
        r->step = STEP_HANDSHAKE;
    } else if (m->error && strncmp(m->error, "401", 3) == 0) {
        r->step = STEP_RELOGIN;
    } else {
        const char *why = m->failure_reason ? m->failure_reason : m->error;

        snprintf(r->err, r->esz, "%s", why ? why : "refused");
        *r->error_out = r->err;
        /* 503 / server too busy: temporary. */
        r->step = strncmp(r->err, "503", 3) == 0 ||
                          strstr(r->err, "SERVER_UNAVAILABLE")
                      ? STEP_RETRY
                      : STEP_OK;
    }
}

/* Sends one (un)subscribe; returns what the session must do next. */
static enum step subscribe_one(struct sfc_stream *s,
                               const char *name,
                               const char *bare,
                               int64_t replay,
                               bool sub,
                               const char **error_out,
                               char *err,
                               size_t esz)
{
    struct exchange x;
    struct subscribe_result r = {.channel = sub ? "/meta/subscribe"
                                                : "/meta/unsubscribe",
                                 .step = STEP_RETRY,
                                 .err = err,
                                 .esz = esz,
                                 .error_out = error_out};
    cJSON *m = cJSON_CreateArray(), *o = cJSON_CreateObject();
    char *id = next_id(s), *body, num[24];

    *error_out = NULL;
    cJSON_AddStringToObject(o, "id", id);
    cJSON_AddStringToObject(o, "channel", r.channel);
    cJSON_AddStringToObject(o, "clientId", s->client_id);
    cJSON_AddStringToObject(o, "subscription", name);
    if (sub) {
        /* The id's digits as they are: a cJSON number is a double. */
        sfc_fmt_i64(num, replay);
        cJSON_AddRawToObject(cJSON_AddObjectToObject(
                                 cJSON_AddObjectToObject(o, "ext"), "replay"),
                             bare, num);
    }
    cJSON_AddItemToArray(m, o);
    body = sfc_json_print(m);
    if (!meta_post(s, body, &x, on_subscribe_meta, &r)) {
        r.step = x.rc != CURLE_OK || x.status != 200
                     ? http_failure(&x, sub ? "subscribe" : "unsubscribe")
                     : STEP_RETRY;
        *error_out = NULL;
    }
    cJSON_Delete(m);
    free(body);
    free(id);
    return r.step;
}

/* A refused subscription: replay fallback or parking. Lock held. */
static void refused(struct sfc_stream *s,
                    struct stream_sub *u,
                    int64_t replay,
                    const char *why)
{
    if (strstr(why, "The replayId {") && replay >= 0) {
        s->stats.replay_fallbacks++;
        sfc_log(SFC_LOG_ERROR, STREAM_MOD,
                "replay id %lld of %s is no longer valid: events after it "
                "may be lost if they left the retention window; falling back "
                "to %s",
                (long long)replay, u->bare, fallback_name(s->o.fallback));
        if (s->o.fallback == SFC_STREAM_FALLBACK_FAIL) {
            u->parked = true;
            stream_fail_locked(s, SFC_ERR_REPLAY_INVALID,
                               "replay id %lld of %s is invalid",
                               (long long)replay, u->bare);
            return;
        }
        /* The stored id is known to be invalid: no floor any more. */
        u->has_committed = false;
        u->stored_found = false;
        u->start = s->o.fallback == SFC_STREAM_FALLBACK_ALL
                       ? SFC_STREAM_START_ALL
                       : SFC_STREAM_START_NEW;
        return;
    }
    u->parked = true;
    u->parked_at = sfc_now_ms();
    if (s->o.resubscribe_ms > 0)
        sfc_log(SFC_LOG_ERROR, STREAM_MOD,
                "subscription to %s refused: %s; trying again in %lld s",
                u->name, why, (long long)(s->o.resubscribe_ms / 1000));
    else
        sfc_log(SFC_LOG_ERROR, STREAM_MOD, "subscription to %s refused: %s",
                u->name, why);
}

void stream_unpark_due_locked(struct sfc_stream *s)
{
    int64_t now = sfc_now_ms();

    if (s->o.resubscribe_ms <= 0 || s->error)
        return;
    for (struct stream_sub *u = s->subs; u; u = u->next)
        if (u->parked && !u->removed &&
            now - u->parked_at >= s->o.resubscribe_ms) {
            u->parked = false;
            u->subscribed_gen = 0;
            s->dirty_subs = true;
        }
}

/* Sends what the subscription list asks for on this session. */
static enum step sync_subscriptions(struct sfc_stream *s)
{
    for (int round = 0; round < 64; round++) {
        struct stream_sub *u, **pp;
        char *name = NULL, *bare = NULL, err[600];
        const char *why;
        int64_t replay = 0;
        bool sub = true;
        enum step st;

        pthread_mutex_lock(&s->lock);
        if (s->error) {
            pthread_mutex_unlock(&s->lock);
            return STEP_STOP;
        }
        /* A subscription goes out once its stored position is known. */
        for (pp = &s->subs; *pp; pp = &(*pp)->next) {
            u = *pp;
            if (u->removed || (!u->parked && u->pos_known &&
                               u->subscribed_gen != s->session_gen))
                break;
        }
        u = *pp;
        if (!u) {
            s->dirty_subs = false;
            pthread_mutex_unlock(&s->lock);
            return STEP_OK;
        }
        sub = !u->removed;
        name = sfc_xstrdup(u->name);
        bare = sfc_xstrdup(u->bare);
        if (sub)
            replay = stream_replay_for_locked(s, u);
        pthread_mutex_unlock(&s->lock);

        st = subscribe_one(s, name, bare, replay, sub, &why, err, sizeof(err));
        pthread_mutex_lock(&s->lock);
        u = stream_sub_find_locked(s, bare);
        if (st == STEP_OK && u) {
            if (!sub) {
                for (pp = &s->subs; *pp != u; pp = &(*pp)->next)
                    ;
                *pp = u->next;
                stream_sub_free(u);
            } else if (why) {
                refused(s, u, replay, why);
            } else {
                u->subscribed_gen = s->session_gen;
                sfc_log(SFC_LOG_INFO, STREAM_MOD,
                        "subscribed to %s (replay %lld)", name,
                        (long long)replay);
            }
        }
        pthread_mutex_unlock(&s->lock);
        free(name);
        free(bare);
        if (st != STEP_OK)
            return st;
    }
    return STEP_OK;
}

/* Waits while the queue is full; true when the session outlived it. */
static bool wait_for_room(struct sfc_stream *s)
{
    while (sfc_stream_pending(s) >= s->o.max_pending && !atomic_load(&s->stop))
        stream_wait_room(s, false);
    /* Leave a margin: the server counts from its last reply. */
    return sfc_now_ms() - s->last_reply_ms > s->o.reconnect_window_ms - 5000;
}

/*
 * Drives the long poll until its transfer ended and nothing of its reply
 * waits in the carry buffer, sending subscription changes meanwhile.
 * STEP_OK once it ended (x->rc and x->status set); STEP_STOP at a stop;
 * else what a subscription exchange asked for (a new session).
 */
static enum step drive_poll(struct sfc_stream *s, struct exchange *x)
{
    int running = 1, left;
    CURLMsg *done;
    bool dirty;

    while ((running || poll_reply_holding(&x->reply)) &&
           !atomic_load(&s->stop)) {
        if (poll_reply_holding(&x->reply)) {
            /* Not driving the transfer holds the rest of the reply back. */
            poll_reply_feed_carry(s, &x->reply);
            if (poll_reply_holding(&x->reply))
                stream_wait_room(s, true);
        } else {
            curl_multi_perform(s->multi, &running);
            poll_reply_flush(s, &x->reply);
            if (!running)
                continue; /* done, unless the end went to the carry */
            curl_multi_poll(s->multi, NULL, 0, 500, NULL);
        }
        pthread_mutex_lock(&s->lock);
        stream_unpark_due_locked(s);
        dirty = s->dirty_subs;
        pthread_mutex_unlock(&s->lock);
        if (dirty) {
            enum step sub = sync_subscriptions(s);

            if (sub != STEP_OK && sub != STEP_RETRY)
                return sub;
        }
    }
    if (atomic_load(&s->stop))
        return STEP_STOP;
    while ((done = curl_multi_info_read(s->multi, &left)) != NULL)
        if (done->msg == CURLMSG_DONE && done->easy_handle == s->poll)
            x->rc = exchange_rc(x, done->data.result);
    curl_easy_getinfo(s->poll, CURLINFO_RESPONSE_CODE, &x->status);
    return STEP_OK;
}

/*
 * One long poll on the multi handle, serving subscriptions meanwhile. The
 * reply is handed over message by message as it arrives.
 */
static enum step connect_once(struct sfc_stream *s)
{
    struct exchange x;
    struct curl_slist *h = headers(s);
    char *id = next_id(s), *body;
    enum step st;

    /* The session's first connect asks for the advice at once, as CometD
     * clients do: a standard server holds it otherwise. */
    body = sfc_xasprintf("[{\"id\":\"%s\",\"channel\":\"/meta/connect\","
                         "\"clientId\":\"%s\",\"connectionType\":"
                         "\"long-polling\"%s}]",
                         id, s->client_id,
                         s->first_connect ? ",\"advice\":{\"timeout\":0}" : "");
    memset(&x, 0, sizeof(x));
    poll_reply_init(&x.reply, s, s->poll, true, poll_reply_connect_meta, NULL);
    setup_handle(s, s->poll, &x, h, body, s->advice_timeout_ms + 15000, true);
    curl_multi_add_handle(s->multi, s->poll);
    pthread_mutex_lock(&s->lock);
    s->stats.connects++;
    pthread_mutex_unlock(&s->lock);
    st = drive_poll(s, &x);
    if (st != STEP_OK)
        goto out_remove;
    if (x.rc != CURLE_OK || x.status != 200) {
        st = http_failure(&x, "connect");
        /*
         * A lost or refused connect reply may have carried events the
         * server now counts as delivered: only a new session resubscribed
         * from the committed replay ids gets them back.
         */
        if (st == STEP_RETRY)
            st = STEP_HANDSHAKE;
        goto out_remove;
    }
    if (!x.reply.got_body)
        s->last_reply_ms = sfc_now_ms();
    if (!poll_reply_finish(s, &x.reply,
                           "; resuming from the committed replay ids")) {
        /* Messages the broken part held are lost to this session. */
        st = STEP_HANDSHAKE;
        goto out_remove;
    }
    st = x.reply.step;
    if (st == STEP_OK) {
        s->last_ok_ms = sfc_now_ms();
        s->first_connect = false;
    }
out_remove:
    poll_reply_flush(s, &x.reply); /* what arrived whole is kept */
    curl_multi_remove_handle(s->multi, s->poll);
    poll_reply_free(&x.reply);
    curl_slist_free_all(h);
    free(body);
    free(id);
    return st;
}

/* Ends the session at the server: best effort, at most 2 s, and at a stop
 * no later than its deadline. */
static void disconnect(struct sfc_stream *s)
{
    struct exchange x;
    char *body;
    int64_t timeout_ms = 2000;

    if (!s->client_id[0] || !s->cometd_url)
        return;
    pthread_mutex_lock(&s->lock);
    if (atomic_load(&s->stop) && s->stop_by - sfc_now_ms() < timeout_ms)
        timeout_ms = s->stop_by - sfc_now_ms();
    pthread_mutex_unlock(&s->lock);
    if (timeout_ms <= 0) { /* 0 would mean no timeout to libcurl */
        s->client_id[0] = '\0';
        return;
    }
    body = sfc_xasprintf("[{\"id\":\"%d\",\"channel\":\"/meta/disconnect\","
                         "\"clientId\":\"%s\"}]",
                         ++s->msg_id, s->client_id);
    memset(&x, 0, sizeof(x));
    poll_reply_init(&x.reply, s, s->meta, false, NULL, NULL);
    {
        struct curl_slist *h = headers(s);

        setup_handle(s, s->meta, &x, h, body, timeout_ms, false);
        x.uncut = true;
        curl_easy_perform(s->meta);
        curl_slist_free_all(h);
    }
    poll_reply_flush(s, &x.reply); /* even this reply's events */
    poll_reply_free(&x.reply);
    free(body);
    s->client_id[0] = '\0';
}

/* Sleeps @ms unless the stream is stopped meanwhile. */
static void pause_ms(struct sfc_stream *s, int64_t ms)
{
    int64_t until = sfc_now_ms() + ms;

    while (!atomic_load(&s->stop) && sfc_now_ms() < until)
        curl_multi_poll(
            s->multi, NULL, 0,
            (int)(until - sfc_now_ms() < 200 ? until - sfc_now_ms() : 200),
            NULL);
}

/* Decides whether to go on after a failure; false = give up. */
static bool backoff(struct sfc_stream *s, const char *what)
{
    int64_t delay = sfc_backoff_ms(s->failures++, s->o.backoff_base_ms,
                                   s->o.backoff_max_ms);

    if (s->o.connection_timeout_ms > 0 &&
        sfc_now_ms() - s->last_ok_ms > s->o.connection_timeout_ms) {
        pthread_mutex_lock(&s->lock);
        stream_fail_locked(s, SFC_ERR_TRANSPORT,
                           "Salesforce unreachable for %lld ms (%s)",
                           (long long)(sfc_now_ms() - s->last_ok_ms), what);
        pthread_mutex_unlock(&s->lock);
        return false;
    }
    pause_ms(s, delay);
    return true;
}

/* Whether the stream failed for good. Locks: takes the stream's. */
static bool failed(struct sfc_stream *s)
{
    bool e;

    pthread_mutex_lock(&s->lock);
    e = s->error != NULL;
    pthread_mutex_unlock(&s->lock);
    return e;
}

/* Whether subscriptions wait to be sent. Locks: takes the stream's. */
static bool subs_dirty(struct sfc_stream *s)
{
    bool d;

    pthread_mutex_lock(&s->lock);
    d = s->dirty_subs;
    pthread_mutex_unlock(&s->lock);
    return d;
}

void *stream_io_main(void *arg)
{
    struct sfc_stream *s = arg;
    bool need_handshake = true, renew = false;

    s->poll = curl_easy_init();
    s->meta = curl_easy_init();
    s->advice_timeout_ms = 110000;
    s->last_ok_ms = s->last_reply_ms = sfc_now_ms();
    while (!atomic_load(&s->stop) && !failed(s)) {
        enum step st = STEP_OK;

        if (need_handshake) {
            if (s->client_id[0] && s->cometd_url)
                disconnect(s); /* best effort; frees the server's slot */
            if (!session_from_api(s, renew)) {
                if (failed(s) || !backoff(s, "login"))
                    break;
                continue;
            }
            renew = false;
            st = handshake(s);
            if (st == STEP_OK) {
                need_handshake = false;
                pthread_mutex_lock(&s->lock);
                if (s->session_gen > 1)
                    s->stats.reconnects++;
                s->dirty_subs = true;
                pthread_mutex_unlock(&s->lock);
            }
        }
        if (st == STEP_OK && subs_dirty(s))
            st = sync_subscriptions(s);
        if (st == STEP_OK && wait_for_room(s)) {
            sfc_log(SFC_LOG_WARN, STREAM_MOD,
                    "consumer held the stream past the reconnect window: new "
                    "session from the committed replay ids");
            st = STEP_HANDSHAKE;
        }
        if (st == STEP_OK && !atomic_load(&s->stop))
            st = connect_once(s);
        switch (st) {
        case STEP_OK:
            s->failures = 0;
            if (s->advice_interval_ms > 0)
                pause_ms(s, s->advice_interval_ms);
            break;
        case STEP_RETRY:
            if (sfc_now_ms() - s->last_reply_ms > s->o.reconnect_window_ms)
                need_handshake = true;
            if (!backoff(s, "retry"))
                goto out;
            break;
        case STEP_RELOGIN:
            renew = true;
            __attribute__((fallthrough));
        case STEP_HANDSHAKE:
            need_handshake = true;
            if (s->failures && !backoff(s, "handshake"))
                goto out;
            s->failures++;
            break;
        case STEP_STOP:
            goto out;
        }
    }
out:
    disconnect(s);
    curl_easy_cleanup(s->poll);
    curl_easy_cleanup(s->meta);
    free(s->cookies);
    free(s->cometd_url);
    sfc_free_secret(s->auth_header);
    return NULL;
}
