/*
 * The Redis replay store, with nameko-salesforce's keys so a team moving
 * from it keeps its position: "<prefix>:<channel>" = the replay id in
 * decimal (what redis-py writes for a Python int), EXPIRE ttl when one is
 * set. Beside them a set "<prefix>:known" names every channel that had a
 * position, so a key that expired or was deleted is told apart from one
 * that never existed (nameko-salesforce never reads that set). Every call
 * ends within REDIS_CALL_MS or by the stream's deadline, whichever comes
 * first, whatever Redis does (refuses, answers nothing, trickles).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "stream_int.h"

/*
 * A call's bound when no sooner deadline is set. Redis answers in well
 * under a millisecond when it works; one that does not answer within this
 * counts as down (the call fails and the stream retries it with backoff),
 * and a stop never waits longer than this for a call in progress.
 */
#define REDIS_CALL_MS 1000

struct redis_store {
    char *host;
    int port;
    char *password;
    int db;
    char *prefix;
    int64_t ttl_s;
    redisContext *rc;
    int64_t deadline_ms; /* set by the stream at a stop; 0: none */
    int64_t until_ms;    /* when the current call must end */
};

static bool parse_uri(struct redis_store *r, const char *uri)
{
    const char *p = uri, *at, *colon, *slash;

    if (strncmp(p, "redis://", 8) != 0)
        return false;
    p += 8;
    at = strrchr(p, '@');
    if (at) {
        colon = memchr(p, ':', (size_t)(at - p));
        if (colon)
            r->password = sfc_xstrndup(colon + 1, (size_t)(at - colon - 1));
        p = at + 1;
    }
    slash = strchr(p, '/');
    colon = memchr(p, ':', slash ? (size_t)(slash - p) : strlen(p));
    r->host = sfc_xstrndup(p, colon   ? (size_t)(colon - p)
                              : slash ? (size_t)(slash - p)
                                      : strlen(p));
    r->port = colon ? atoi(colon + 1) : 6379;
    r->db = slash ? atoi(slash + 1) : 0;
    return *r->host && r->port > 0;
}

/* Starts a call: it ends REDIS_CALL_MS from now, or at the deadline. */
static void call_begin(struct redis_store *r)
{
    r->until_ms = sfc_now_ms() + REDIS_CALL_MS;
    if (r->deadline_ms > 0 && r->deadline_ms < r->until_ms)
        r->until_ms = r->deadline_ms;
}

/* What is left of the call, as a socket timeout; false when nothing. */
static bool time_left(const struct redis_store *r, struct timeval *tv)
{
    int64_t ms = r->until_ms - sfc_now_ms();

    if (ms <= 0)
        return false;
    tv->tv_sec = (time_t)(ms / 1000);
    tv->tv_usec = (suseconds_t)(ms % 1000) * 1000;
    return true;
}

/*
 * Sends the commands appended so far and reads the next reply, every wait
 * on the socket bounded by what is left of the call (hiredis's own loop
 * would give each read the whole timeout again). NULL when none came.
 */
static redisReply *next_reply(struct redis_store *r)
{
    struct timeval tv;
    void *rep = NULL;
    int done = 0;

    while (!done) {
        if (!time_left(r, &tv) || redisSetTimeout(r->rc, tv) != REDIS_OK ||
            redisBufferWrite(r->rc, &done) != REDIS_OK)
            return NULL;
    }
    if (redisGetReplyFromReader(r->rc, &rep) != REDIS_OK)
        return NULL;
    while (!rep) {
        if (!time_left(r, &tv) || redisSetTimeout(r->rc, tv) != REDIS_OK ||
            redisBufferRead(r->rc) != REDIS_OK ||
            redisGetReplyFromReader(r->rc, &rep) != REDIS_OK)
            return NULL;
    }
    return rep;
}

/* One command and its reply, within the call's bound. */
static redisReply *command(struct redis_store *r, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = redisvAppendCommand(r->rc, fmt, ap);
    va_end(ap);
    return rc == REDIS_OK ? next_reply(r) : NULL;
}

/*
 * A reply that is no reply, or an error: logged, and the connection is
 * dropped (a half-read exchange cannot go on). SFC_ERR_TIMEOUT when the
 * call ran out of time.
 */
static sfc_err_t broken(struct redis_store *r, redisReply *rep, const char *op)
{
    bool late = sfc_now_ms() >= r->until_ms;

    sfc_log(SFC_LOG_ERROR, STREAM_MOD, "redis %s:%d: %s failed: %s", r->host,
            r->port, op,
            rep && rep->type == REDIS_REPLY_ERROR ? rep->str
            : late                                ? "no answer in time"
            : r->rc && r->rc->err                 ? r->rc->errstr
                                                  : "unexpected reply");
    freeReplyObject(rep);
    if (r->rc)
        redisFree(r->rc);
    r->rc = NULL;
    return late ? SFC_ERR_TIMEOUT : SFC_ERR_IO;
}

/* Connects (again) when needed, within the call's bound. */
static sfc_err_t ensure(struct redis_store *r)
{
    struct timeval tv;
    redisReply *rep;

    if (r->rc && !r->rc->err)
        return SFC_OK;
    if (r->rc)
        redisFree(r->rc);
    r->rc = NULL;
    if (!time_left(r, &tv))
        return broken(r, NULL, "connect");
    r->rc = redisConnectWithTimeout(r->host, r->port, tv);
    if (!r->rc || r->rc->err)
        return broken(r, NULL, "connect");
    if (r->password) {
        rep = command(r, "AUTH %s", r->password);
        if (!rep || rep->type == REDIS_REPLY_ERROR)
            return broken(r, rep, "AUTH");
        freeReplyObject(rep);
    }
    if (r->db) {
        rep = command(r, "SELECT %d", r->db);
        if (!rep || rep->type == REDIS_REPLY_ERROR)
            return broken(r, rep, "SELECT");
        freeReplyObject(rep);
    }
    return SFC_OK;
}

static sfc_err_t
redis_get(void *ctx, const char *channel, int64_t *replay, bool *found)
{
    struct redis_store *r = ctx;
    redisReply *rep;
    char *end = NULL;
    long long v;
    sfc_err_t rc;

    *found = false;
    call_begin(r);
    rc = ensure(r);
    if (rc != SFC_OK)
        return rc;
    rep = command(r, "GET %s:%s", r->prefix, channel);
    if (!rep ||
        (rep->type != REDIS_REPLY_STRING && rep->type != REDIS_REPLY_NIL))
        return broken(r, rep, "GET");
    if (rep->type == REDIS_REPLY_NIL) {
        freeReplyObject(rep);
        rep = command(r, "SISMEMBER %s:known %s", r->prefix, channel);
        if (!rep || rep->type != REDIS_REPLY_INTEGER)
            return broken(r, rep, "SISMEMBER");
        v = rep->integer;
        freeReplyObject(rep);
        if (v) {
            sfc_log(SFC_LOG_ERROR, STREAM_MOD,
                    "redis key %s:%s is gone (expired or deleted): the "
                    "position of %s is lost",
                    r->prefix, channel, channel);
            return SFC_ERR_REPLAY_INVALID;
        }
        return SFC_OK;
    }
    errno = 0;
    v = strtoll(rep->str, &end, 10);
    if (errno || end == rep->str || *end) {
        sfc_log(SFC_LOG_ERROR, STREAM_MOD,
                "redis key %s:%s holds \"%.40s\", not a replay id", r->prefix,
                channel, rep->str);
        freeReplyObject(rep);
        return SFC_ERR_PARSE;
    }
    freeReplyObject(rep);
    *replay = v;
    *found = true;
    return SFC_OK;
}

static sfc_err_t redis_set(void *ctx, const char *channel, int64_t replay)
{
    struct redis_store *r = ctx;
    char value[24], ttl[24];
    redisReply *rep = NULL;
    sfc_err_t rc;

    call_begin(r);
    rc = ensure(r);
    if (rc != SFC_OK)
        return rc;
    sfc_fmt_i64(value, replay);
    sfc_fmt_i64(ttl, r->ttl_s);
    /* One transaction: the value (with EXPIRE, as nameko-salesforce's
     * pipeline writes it, when a TTL is set) and the known set. */
    redisAppendCommand(r->rc, "MULTI");
    if (r->ttl_s > 0)
        redisAppendCommand(r->rc, "SET %s:%s %s EX %s", r->prefix, channel,
                           value, ttl);
    else
        redisAppendCommand(r->rc, "SET %s:%s %s", r->prefix, channel, value);
    redisAppendCommand(r->rc, "SADD %s:known %s", r->prefix, channel);
    redisAppendCommand(r->rc, "EXEC");
    for (int n = 0; n < 4; n++) {
        rep = next_reply(r);
        if (!rep || rep->type == REDIS_REPLY_ERROR ||
            (n == 3 && rep->type != REDIS_REPLY_ARRAY))
            return broken(r, rep, "SET");
        freeReplyObject(rep);
    }
    return SFC_OK;
}

static void redis_deadline(void *ctx, int64_t until_ms)
{
    struct redis_store *r = ctx;

    r->deadline_ms = until_ms;
}

static void redis_destroy(void *ctx)
{
    struct redis_store *r = ctx;

    if (r->rc)
        redisFree(r->rc);
    free(r->host);
    sfc_free_secret(r->password);
    free(r->prefix);
    free(r);
}

struct sfc_replay_store *sfc_replay_store_new_redis(const char *uri,
                                                    const char *prefix,
                                                    int64_t ttl_s,
                                                    char *errstr,
                                                    size_t errstr_size)
{
    static const struct sfc_replay_store_ops ops = {.get = redis_get,
                                                    .set = redis_set,
                                                    .destroy = redis_destroy,
                                                    .deadline = redis_deadline};
    struct redis_store *r = sfc_xcalloc(1, sizeof(*r));

    if (!uri || !parse_uri(r, uri)) {
        sfc_errstr_set(
            errstr, errstr_size,
            "redis URI must be redis://[:password@]host[:port][/db]");
        redis_destroy(r);
        return NULL;
    }
    r->prefix =
        sfc_xstrdup(prefix && *prefix ? prefix : "salesforce:replay_id");
    r->ttl_s = ttl_s;
    return sfc_replay_store_new(&ops, r);
}
