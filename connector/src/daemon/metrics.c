/* The metrics and health endpoint (see metrics.h). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "listen_addr.h"
#include "metrics.h"

#define METRICS_MAX_CONNECTIONS        256
#define METRICS_MAX_CONNECTIONS_PER_IP 16
#define METRICS_IDLE_S                 10

struct metrics {
    struct MHD_Daemon *d;
    pthread_mutex_t lock;
    char *text;
    bool healthy;
    char *why;          /* the reason when not healthy */
    int64_t updated_ms; /* monotonic; 0 before the first snapshot */
};

/* The /healthz answer from the snapshot. Lock held. */
static char *health_body(const struct metrics *m, int64_t age_ms, bool *ok)
{
    *ok = false;
    if (!m->updated_ms)
        return sfc_xstrdup("unhealthy: starting\n");
    if (age_ms > METRICS_STALE_MS)
        return sfc_xasprintf(
            "unhealthy: the daemon's state was not refreshed for %.1f s (its "
            "dispatch thread is waiting, e.g. on a broker that does not "
            "read)\n",
            (double)age_ms / 1000.0);
    if (!m->healthy)
        return sfc_xasprintf("unhealthy: %s\n", m->why);
    *ok = true;
    return sfc_xstrdup("ok\n");
}

static enum MHD_Result answer(void *cls,
                              struct MHD_Connection *conn,
                              const char *url,
                              const char *method,
                              const char *version,
                              const char *data,
                              size_t *size,
                              void **ptr)
{
    struct metrics *m = cls;
    struct MHD_Response *r;
    enum MHD_Result rc;
    unsigned status = MHD_HTTP_OK;
    char *body;
    int64_t age_ms;
    bool ok;

    (void)version;
    (void)data;
    (void)size;
    (void)ptr;
    pthread_mutex_lock(&m->lock);
    age_ms = sfc_now_ms() - m->updated_ms;
    if (strcmp(method, "GET") != 0) {
        status = MHD_HTTP_METHOD_NOT_ALLOWED;
        body = sfc_xstrdup("method not allowed\n");
    } else if (strcmp(url, "/metrics") == 0) {
        body = sfc_xasprintf("%s# TYPE sfconnector_metrics_age_seconds "
                             "gauge\nsfconnector_metrics_age_seconds %.3f\n",
                             m->text ? m->text : "",
                             m->updated_ms ? (double)age_ms / 1000.0 : 0.0);
    } else if (strcmp(url, "/healthz") == 0) {
        body = health_body(m, age_ms, &ok);
        status = ok ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE;
    } else {
        status = MHD_HTTP_NOT_FOUND;
        body = sfc_xstrdup("not found\n");
    }
    pthread_mutex_unlock(&m->lock);
    r = MHD_create_response_from_buffer(strlen(body), body,
                                        MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(r, "Content-Type",
                            "text/plain; version=0.0.4; charset=utf-8");
    rc = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return rc;
}

struct metrics *metrics_start(const char *listen, char *errstr, size_t errsz)
{
    struct listen_addr la;
    struct metrics *m;
    char err[160];
    /* epoll where there is one: no FD_SETSIZE ceiling on descriptors. */
    unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD;

    /* The parser check-config uses: what it accepts is listened on. */
    if (listen_addr_parse(listen, &la, err, sizeof(err)) != SFC_OK) {
        sfc_errstr_set(errstr, errsz, "metrics.listen %s: %s", listen, err);
        return NULL;
    }
    if (la.sa.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    m = sfc_xcalloc(1, sizeof(*m));
    pthread_mutex_init(&m->lock, NULL);
    /*
     * Bounded, so that idle or slow connections cannot starve the health
     * check: a few per client address (a scraper and a health checker use
     * one or two), a ceiling well below the process's descriptor limit,
     * and connections idle for METRICS_IDLE_S closed.
     */
    errno = 0;
    m->d = MHD_start_daemon(
        flags, 0, NULL, NULL, answer, m, MHD_OPTION_SOCK_ADDR, &la.sa,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)METRICS_MAX_CONNECTIONS,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT,
        (unsigned)METRICS_MAX_CONNECTIONS_PER_IP, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)METRICS_IDLE_S, MHD_OPTION_END);
    if (!m->d) {
        /* libmicrohttpd leaves errno at the call that failed (bind,
         * eventfd, pthread_create). */
        int e = errno;

        sfc_errstr_set(errstr, errsz, "cannot listen on %s for metrics%s%s",
                       listen, e ? ": " : "", e ? strerror(e) : "");
        pthread_mutex_destroy(&m->lock);
        free(m);
        return NULL;
    }
    sfc_log(SFC_LOG_INFO, "connector", "metrics on http://%s/metrics", listen);
    return m;
}

void metrics_update(struct metrics *m,
                    const char *text,
                    bool healthy,
                    const char *why)
{
    if (!m)
        return;
    pthread_mutex_lock(&m->lock);
    free(m->text);
    m->text = sfc_xstrdup(text);
    m->healthy = healthy;
    free(m->why);
    m->why = sfc_xstrdup(why && *why ? why : "unknown");
    m->updated_ms = sfc_now_ms();
    pthread_mutex_unlock(&m->lock);
}

void metrics_stop(struct metrics *m)
{
    if (!m)
        return;
    MHD_stop_daemon(m->d);
    free(m->text);
    free(m->why);
    pthread_mutex_destroy(&m->lock);
    free(m);
}
