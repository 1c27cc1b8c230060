/*
 * The pool of keep-alive curl handles and one HTTP exchange. Handles share
 * DNS and TLS sessions through a CURLSH (never the connection cache), and
 * each is used by one thread at a time.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "api_int.h"

void api_response_init(struct api_response *r, size_t max_body)
{
    memset(r, 0, sizeof(*r));
    sfc_buf_init(&r->body, max_body);
}

void api_response_free(struct api_response *r)
{
    sfc_buf_free(&r->body);
}

bool api_cancelled(const struct sfc_api_client *c)
{
    return c->o.cancel && atomic_load(c->o.cancel);
}

/* libcurl calls it at least once a second during a transfer, also while
 * no byte moves: a non-zero return aborts the transfer. */
static int on_progress(void *opaque,
                       curl_off_t dltotal,
                       curl_off_t dlnow,
                       curl_off_t ultotal,
                       curl_off_t ulnow)
{
    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    return api_cancelled(opaque);
}

void api_curl_common(struct sfc_api_client *c, CURL *h)
{
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_SHARE, c->share);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, c->o.verify_peer ? 1L : 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, c->o.verify_peer ? 2L : 0L);
    if (c->o.ca_file)
        curl_easy_setopt(h, CURLOPT_CAINFO, c->o.ca_file);
    if (c->o.ca_dir)
        curl_easy_setopt(h, CURLOPT_CAPATH, c->o.ca_dir);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                     (long)c->o.connect_timeout_ms);
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
    /* A body too large for libcurl to send with the headers (64 KB and
     * up, with libcurl 7.88) goes out through its upload buffer, allocated
     * per transfer: at its default 64 KB it lies past the daemon's mmap
     * threshold and costs an mmap and a munmap every such request. 16 KB
     * (libcurl's least) stays in the heap; a large body takes a few more
     * writes. */
    curl_easy_setopt(h, CURLOPT_UPLOAD_BUFFERSIZE, 16384L);
    /* One kept connection per handle: a fresh one replaces it. */
    curl_easy_setopt(h, CURLOPT_MAXCONNECTS, 1L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "sfconnector/" SFC_VERSION);
}

struct api_slot *api_slot_acquire(struct sfc_api_client *c)
{
    int64_t until = sfc_now_ms() + c->o.pool_acquire_timeout_ms;
    struct api_slot *got = NULL;

    pthread_mutex_lock(&c->pool_lock);
    while (!api_cancelled(c)) {
        int64_t left = until - sfc_now_ms();
        struct timespec ts;

        for (unsigned i = 0; i < c->n_slots && !got; i++)
            if (!c->slots[i].busy)
                got = &c->slots[i];
        if (got) {
            got->busy = true;
            break;
        }
        if (left <= 0)
            break;
        /* In slices, so that a cancel is seen. */
        ts = sfc_deadline_ts(left < 100 ? left : 100);
        pthread_cond_timedwait(&c->pool_cond, &c->pool_lock, &ts);
    }
    pthread_mutex_unlock(&c->pool_lock);
    return got;
}

void api_slot_release(struct sfc_api_client *c, struct api_slot *s)
{
    pthread_mutex_lock(&c->pool_lock);
    s->busy = false;
    pthread_cond_signal(&c->pool_cond);
    pthread_mutex_unlock(&c->pool_lock);
}

static size_t on_body(char *data, size_t size, size_t n, void *opaque)
{
    struct api_response *r = opaque;

    /* Returning short makes curl fail the transfer: the bound holds. */
    return sfc_buf_append(&r->body, data, size * n) == SFC_OK ? size * n : 0;
}

static size_t on_header(char *data, size_t size, size_t n, void *opaque)
{
    struct sfc_api_client *c = opaque;
    static const char name[] = "sforce-limit-info:";
    size_t len = size * n;
    int64_t used, limit;

    if (len > sizeof(name) && strncasecmp(data, name, sizeof(name) - 1) == 0) {
        char value[256];
        size_t vl = len - (sizeof(name) - 1);

        if (vl >= sizeof(value))
            vl = sizeof(value) - 1;
        memcpy(value, data + sizeof(name) - 1, vl);
        value[vl] = '\0';
        if (sfc_api_parse_limit_info(value + strspn(value, " "), &used,
                                     &limit)) {
            atomic_store(&api_owner(c)->usage_used, used);
            atomic_store(&api_owner(c)->usage_limit, limit);
            if (c->o.hooks.on_api_usage)
                c->o.hooks.on_api_usage(c->o.hooks.opaque, used, limit);
        }
    }
    return len;
}

/*
 * libcurl sends a request again, on a new connection, when a reused one
 * died before any byte of the answer (before 8.16 no option turns that
 * off). Every attempt goes through the pre-request callback first: the
 * second one is refused, so a write the server may have applied is never
 * sent twice. The body itself is handed over whole (CURLOPT_POSTFIELDS),
 * so that the request leaves in one write with its headers.
 */
struct send_once {
    unsigned attempts;
};

static int once_prereq(void *opaque,
                       char *primary_ip,
                       char *local_ip,
                       int primary_port,
                       int local_port)
{
    struct send_once *o = opaque;

    (void)primary_ip;
    (void)local_ip;
    (void)primary_port;
    (void)local_port;
    return ++o->attempts > 1 ? CURL_PREREQFUNC_ABORT : CURL_PREREQFUNC_OK;
}

/* Failures where the request cannot have reached the server. */
static bool never_sent(CURLcode rc)
{
    return rc == CURLE_COULDNT_RESOLVE_HOST || rc == CURLE_COULDNT_CONNECT ||
           rc == CURLE_COULDNT_RESOLVE_PROXY || rc == CURLE_SSL_CONNECT_ERROR ||
           rc == CURLE_PEER_FAILED_VERIFICATION ||
           rc == CURLE_SSL_CACERT_BADFILE || rc == CURLE_URL_MALFORMAT ||
           rc == CURLE_UNSUPPORTED_PROTOCOL;
}

sfc_err_t api_http_perform(struct sfc_api_client *c,
                           struct api_slot *slot,
                           const char *method,
                           const char *url,
                           struct curl_slist *headers,
                           const char *body,
                           size_t body_len,
                           unsigned flags,
                           struct api_response *r)
{
    CURL *h = slot->h;
    struct send_once once = {0};
    CURLcode rc;
    long sent = 0;

    slot->errbuf[0] = '\0';
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)c->o.request_timeout_ms);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, c);
    /* The owner's cancel ends the transfer (the client's own handles only:
     * a handle lent to another module keeps that module's rules). */
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, c);
    if (body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    } else {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    }
    /* A write goes out once (see send_once); a read may go again. */
    if (flags & API_NONIDEMPOTENT) {
        curl_easy_setopt(h, CURLOPT_PREREQFUNCTION, once_prereq);
        curl_easy_setopt(h, CURLOPT_PREREQDATA, &once);
    }
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST,
                     strcmp(method, body ? "POST" : "GET") == 0 ? NULL
                                                                : method);
    rc = api_cancelled(c) ? CURLE_ABORTED_BY_CALLBACK : curl_easy_perform(h);
    /* The second attempt refused: reported as a connection that died
     * after the request was sent. */
    if (rc == CURLE_ABORTED_BY_CALLBACK && once.attempts > 1)
        rc = CURLE_SEND_FAIL_REWIND;
    r->curl_code = rc;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
    curl_easy_getinfo(h, CURLINFO_REQUEST_SIZE, &sent);
    r->maybe_sent = !never_sent(rc) && (sent > 0 || rc != CURLE_OK);
    /* Drop references to the caller's data. */
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, NULL);
    curl_easy_setopt(h, CURLOPT_PREREQFUNCTION, NULL);
    curl_easy_setopt(h, CURLOPT_PREREQDATA, NULL);
    if (rc == CURLE_SEND_FAIL_REWIND)
        sfc_log(SFC_LOG_WARN, API_MOD,
                "%s %s: the connection died after the request was sent; "
                "not resending it",
                method, url);
    if (rc == CURLE_OK)
        return SFC_OK;
    snprintf(r->errbuf, sizeof(r->errbuf), "%s",
             slot->errbuf[0] ? slot->errbuf : curl_easy_strerror(rc));
    if (rc == CURLE_ABORTED_BY_CALLBACK) {
        snprintf(r->errbuf, sizeof(r->errbuf),
                 "stopped: the client is "
                 "shutting down");
        r->status = 0;
        return SFC_ERR_CLOSED;
    }
    if (rc == CURLE_WRITE_ERROR && r->body.max && r->body.len >= r->body.max)
        snprintf(r->errbuf, sizeof(r->errbuf), "response larger than %zu bytes",
                 r->body.max);
    r->status = 0;
    return rc == CURLE_OPERATION_TIMEDOUT ? SFC_ERR_TIMEOUT : SFC_ERR_TRANSPORT;
}
