/*
 * The request pipeline: session snapshot, pooled handle, one exchange,
 * re-login once on an expired session, retries with backoff and jitter for
 * what a retry can cure, and no blind retry of a write that may have landed.
 */
#include <stdlib.h>
#include <string.h>

#include "api_int.h"

static char *build_url(const struct api_snapshot *s, const char *path)
{
    if (strncmp(path, "http://", 7) == 0 || strncmp(path, "https://", 8) == 0)
        return sfc_xstrdup(path); /* never used with credentials elsewhere */
    if (path[0] == '/')
        return sfc_xasprintf("%s%s", s->instance_url, path);
    return sfc_xasprintf("%s/services/data/v%s/%s", s->instance_url,
                         s->api_version, path);
}

/* Why a response deserves a retry, or NULL. */
static const char *retry_reason(long status, const struct sfc_api_error *e)
{
    if (e && strcmp(e->error_code, "UNABLE_TO_LOCK_ROW") == 0)
        return "UNABLE_TO_LOCK_ROW";
    if (e && strcmp(e->error_code, "SERVER_UNAVAILABLE") == 0)
        return "SERVER_UNAVAILABLE";
    if (status == 429)
        return "HTTP 429";
    if (status >= 500)
        return "HTTP 5xx";
    return NULL;
}

/* Any 401 earns one new login and one resend; a second 401 is final. */
static bool session_expired(long status, const struct sfc_api_error *e)
{
    (void)e;
    return status == 401;
}

struct attempt {
    long status;
    cJSON *json;
    struct sfc_api_error *e; /* NULL on success */
    bool relogin;            /* the session was refused */
    const char *retry;       /* reason to retry, or NULL */
};

static void one_attempt(struct sfc_api_client *c,
                        const struct api_snapshot *s,
                        const char *method,
                        const char *path,
                        const char *body,
                        unsigned flags,
                        struct attempt *a)
{
    struct api_response r;
    struct curl_slist *h = NULL;
    struct api_slot *slot;
    char *url = build_url(s, path);
    int64_t t0 = sfc_now_us();
    sfc_err_t rc;

    memset(a, 0, sizeof(*a));
    api_response_init(&r, c->o.max_response_bytes);
    h = curl_slist_append(h, s->auth_header);
    h = curl_slist_append(h, "Accept: application/json");
    if (body)
        h = curl_slist_append(h, "Content-Type: application/json");
    if (c->o.hooks.on_request)
        c->o.hooks.on_request(c->o.hooks.opaque, method, path);
    slot = api_slot_acquire(c);
    if (!slot && api_cancelled(c)) {
        a->e = sfc_api_error_new(SFC_ERR_CLOSED, 0, NULL, NULL,
                                 "%s %s: stopped: the client is shutting "
                                 "down",
                                 method, path);
        goto out_free;
    }
    if (!slot) {
        a->e = sfc_api_error_new(SFC_ERR_BUSY, 0, NULL, NULL,
                                 "no free REST client within %lld ms",
                                 (long long)c->o.pool_acquire_timeout_ms);
        goto out_free;
    }
    rc = api_http_perform(c, slot, method, url, h, body,
                          body ? strlen(body) : 0, flags, &r);
    api_slot_release(c, slot);
    if (c->o.hooks.on_response)
        c->o.hooks.on_response(c->o.hooks.opaque, method, path, r.status,
                               sfc_now_us() - t0);
    if (rc != SFC_OK) {
        if ((flags & API_NONIDEMPOTENT) && r.maybe_sent) {
            a->e = sfc_api_error_new(SFC_ERR_AMBIGUOUS, 0, NULL, NULL,
                                     "%s %s: %s after the request was sent; "
                                     "it may or may not have been applied",
                                     method, path, r.errbuf);
        } else {
            a->e = sfc_api_error_new(rc, 0, NULL, NULL, "%s %s: %s", method,
                                     path, r.errbuf);
            if (rc != SFC_ERR_CLOSED)
                a->retry =
                    rc == SFC_ERR_TIMEOUT ? "timeout" : "transport error";
        }
        goto out_free;
    }
    a->status = r.status;
    if (r.status >= 300) {
        a->e = sfc_api_error_from_response(r.status, r.body.data, r.body.len);
        a->relogin = session_expired(r.status, a->e);
        if (a->e->code != SFC_ERR_LIMIT)
            a->retry = retry_reason(r.status, a->e);
        goto out_free;
    }
    if (r.body.len) {
        char err[128];

        a->json = sfc_json_parse(r.body.data, r.body.len, 0, err, sizeof(err));
        if (!a->json)
            a->e = sfc_api_error_new(SFC_ERR_PARSE, r.status, NULL, NULL,
                                     "%s %s: malformed response body: %s",
                                     method, path, err);
    }
out_free:
    curl_slist_free_all(h);
    api_response_free(&r);
    free(url);
}

sfc_err_t api_call(struct sfc_api_client *c,
                   const char *method,
                   const char *path,
                   const char *body,
                   unsigned flags,
                   long *status,
                   cJSON **result,
                   struct sfc_api_error **err)
{
    int64_t start = sfc_now_ms();
    bool relogged = false;
    unsigned attempt = 0;
    struct attempt a;

    for (;;) {
        struct api_snapshot s = {0};
        sfc_err_t rc = api_snapshot_take(c, &s, err);
        uint64_t generation = s.generation;
        int64_t delay;

        if (rc != SFC_OK)
            return rc;
        one_attempt(c, &s, method, path, body, flags, &a);
        api_snapshot_clear(&s);
        if (!a.e)
            break;
        if (a.relogin && !relogged && c->o.auth != SFC_API_AUTH_TOKEN) {
            /* One new login (shared with concurrent callers), one resend. */
            relogged = true;
            sfc_api_error_destroy(a.e);
            rc = sfc_api_client_relogin(c, generation, err);
            if (rc != SFC_OK)
                return rc;
            continue;
        }
        if (a.relogin)
            a.e->code = SFC_ERR_AUTH; /* a new session did not cure it */
        delay = sfc_backoff_ms(attempt, c->o.retry_base_ms, c->o.retry_max_ms);
        if (!a.retry || attempt >= c->o.max_retries ||
            (c->o.retry_deadline_ms &&
             sfc_now_ms() + delay - start > c->o.retry_deadline_ms))
            return api_fail(err, a.e);
        attempt++;
        sfc_log(SFC_LOG_DEBUG, API_MOD, "%s %s: %s, retry %u in %lld ms",
                method, path, a.retry, attempt, (long long)delay);
        if (c->o.hooks.on_retry)
            c->o.hooks.on_retry(c->o.hooks.opaque, method, path, attempt, delay,
                                a.retry);
        sfc_api_error_destroy(a.e);
        if (sfc_sleep_ms_unless(delay, c->o.cancel))
            return api_fail(
                err, sfc_api_error_new(SFC_ERR_CLOSED, 0, NULL, NULL,
                                       "%s %s: stopped: the client is shutting "
                                       "down",
                                       method, path));
    }
    if (status)
        *status = a.status;
    if (result)
        *result = a.json;
    else
        cJSON_Delete(a.json);
    return SFC_OK;
}
