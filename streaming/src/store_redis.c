/*
 * The Redis replay store, with nameko-salesforce's keys so a team moving
 * from it keeps its position: "<prefix>:<channel>" = the replay id in
 * decimal (what redis-py writes for a Python int), EXPIRE ttl when one is
 * set. Beside them a set "<prefix>:known" names every channel that had a
 * position, so a key that expired or was deleted is told apart from one
 * that never existed (nameko-salesforce never reads that set).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "stream_int.h"

struct redis_store {
    char *host;
    int port;
    char *password;
    int db;
    char *prefix;
    int64_t ttl_s;
    redisContext *rc;
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

static bool ok_reply(redisReply *rep)
{
    bool ok = rep && rep->type != REDIS_REPLY_ERROR;

    freeReplyObject(rep);
    return ok;
}

/* Connects (again) when needed. */
static bool ensure(struct redis_store *r)
{
    struct timeval tv = {.tv_sec = 5};

    if (r->rc && !r->rc->err)
        return true;
    if (r->rc)
        redisFree(r->rc);
    r->rc = redisConnectWithTimeout(r->host, r->port, tv);
    if (!r->rc || r->rc->err) {
        sfc_log(SFC_LOG_ERROR, STREAM_MOD, "redis %s:%d: %s", r->host, r->port,
                r->rc ? r->rc->errstr : "cannot connect");
        goto out_free;
    }
    redisSetTimeout(r->rc, tv);
    if (r->password && !ok_reply(redisCommand(r->rc, "AUTH %s", r->password)))
        goto out_free;
    if (r->db && !ok_reply(redisCommand(r->rc, "SELECT %d", r->db)))
        goto out_free;
    return true;
out_free:
    if (r->rc)
        redisFree(r->rc);
    r->rc = NULL;
    return false;
}

/* A reply that is no reply, or an error: the connection is re-made. */
static sfc_err_t broken(struct redis_store *r, redisReply *rep, const char *op)
{
    sfc_log(SFC_LOG_ERROR, STREAM_MOD, "redis %s:%d: %s failed: %s", r->host,
            r->port, op,
            rep && rep->type == REDIS_REPLY_ERROR ? rep->str
            : r->rc->err                          ? r->rc->errstr
                                                  : "unexpected reply");
    freeReplyObject(rep);
    redisFree(r->rc);
    r->rc = NULL;
    return SFC_ERR_IO;
}

static sfc_err_t
redis_get(void *ctx, const char *channel, int64_t *replay, bool *found)
{
    struct redis_store *r = ctx;
    redisReply *rep;
    char *end = NULL;
    long long v;

    *found = false;
    if (!ensure(r))
        return SFC_ERR_IO;
    rep = redisCommand(r->rc, "GET %s:%s", r->prefix, channel);
    if (!rep ||
        (rep->type != REDIS_REPLY_STRING && rep->type != REDIS_REPLY_NIL))
        return broken(r, rep, "GET");
    if (rep->type == REDIS_REPLY_NIL) {
        freeReplyObject(rep);
        rep = redisCommand(r->rc, "SISMEMBER %s:known %s", r->prefix, channel);
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
    int n = 0;

    if (!ensure(r))
        return SFC_ERR_IO;
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
    for (n = 0; n < 4; n++) {
        if (redisGetReply(r->rc, (void **)&rep) != REDIS_OK || !rep ||
            rep->type == REDIS_REPLY_ERROR ||
            (n == 3 && rep->type != REDIS_REPLY_ARRAY))
            return broken(r, rep, "SET");
        freeReplyObject(rep);
        rep = NULL;
    }
    return SFC_OK;
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
    static const struct sfc_replay_store_ops ops = {
        .get = redis_get, .set = redis_set, .destroy = redis_destroy};
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
