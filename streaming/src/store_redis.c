/*
 * The Redis replay store, with nameko-salesforce's keys so a team moving
 * from it keeps its position: "<prefix>:<channel>" = replay id, EXPIRE ttl.
 */
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
        return false;
    }
    redisSetTimeout(r->rc, tv);
    if (r->password && !ok_reply(redisCommand(r->rc, "AUTH %s", r->password)))
        return false;
    if (r->db && !ok_reply(redisCommand(r->rc, "SELECT %d", r->db)))
        return false;
    return true;
}

static sfc_err_t
redis_get(void *ctx, const char *channel, int64_t *replay, bool *found)
{
    struct redis_store *r = ctx;
    redisReply *rep;

    *found = false;
    if (!ensure(r))
        return SFC_ERR_IO;
    rep = redisCommand(r->rc, "GET %s:%s", r->prefix, channel);
    if (!rep) {
        return SFC_ERR_IO;
    }
    if (rep->type == REDIS_REPLY_STRING) {
        *replay = strtoll(rep->str, NULL, 10);
        *found = true;
    }
    freeReplyObject(rep);
    return SFC_OK;
}

static sfc_err_t redis_set(void *ctx, const char *channel, int64_t replay)
{
    struct redis_store *r = ctx;
    char value[24];
    bool ok;

    if (!ensure(r))
        return SFC_ERR_IO;
    snprintf(value, sizeof(value), "%lld", (long long)replay);
    /* SET and EXPIRE together, as nameko-salesforce's pipeline does. */
    if (r->ttl_s > 0)
        ok = ok_reply(redisCommand(r->rc, "SET %s:%s %s EX %lld", r->prefix,
                                   channel, value, (long long)r->ttl_s));
    else
        ok = ok_reply(
            redisCommand(r->rc, "SET %s:%s %s", r->prefix, channel, value));
    return ok ? SFC_OK : SFC_ERR_IO;
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
