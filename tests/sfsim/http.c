/*
 * http.c - the libmicrohttpd glue: one thread per connection, request body
 * accumulation (bounded), sim_request/sim_response conversion, transport
 * faults (dropped connections, truncated bodies).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "sim_int.h"
#include "faults_int.h"
#include "sfc/common.h"

struct conn_ctx {
    char *uri; /* full request URI with query string */
    struct sfc_buf body;
    bool too_big;
    bool started;
};

static void *uri_log(void *cls, const char *uri, struct MHD_Connection *c)
{
    struct conn_ctx *ctx = sfc_xcalloc(1, sizeof(*ctx));
    (void)cls;
    (void)c;
    ctx->uri = sfc_xstrdup(uri);
    sfc_buf_init(&ctx->body, SIM_BODY_MAX);
    return ctx;
}

static void request_done(void *cls,
                         struct MHD_Connection *c,
                         void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct conn_ctx *ctx = *con_cls;
    (void)cls;
    (void)c;
    (void)toe;
    if (!ctx)
        return;
    free(ctx->uri);
    sfc_buf_free(&ctx->body);
    free(ctx);
    *con_cls = NULL;
}

const char *sim_request_header(const struct sim_request *req, const char *name)
{
    if (!req->conn)
        return NULL; /* composite subrequests carry no headers */
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *sim_request_arg(const struct sim_request *req, const char *name)
{
    if (!req->conn) {
        const cJSON *v =
            cJSON_GetObjectItemCaseSensitive(req->synthetic_args, name);
        return cJSON_IsString(v) ? v->valuestring : NULL;
    }
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

static const char *hdr_or_empty(struct MHD_Connection *c, const char *name)
{
    const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
    return v ? v : "";
}

/* Serves the second half of a body for SIM_DROP_MID_BODY: half, then error. */
struct half_body {
    char *data;
    size_t len;
};

static ssize_t half_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct half_body *hb = cls;
    size_t half = hb->len / 2;
    size_t n;

    if (pos >= half)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    n = half - (size_t)pos;
    if (n > max)
        n = max;
    memcpy(buf, hb->data + pos, n);
    return (ssize_t)n;
}

static void half_free(void *cls)
{
    struct half_body *hb = cls;
    free(hb->data);
    free(hb);
}

static enum MHD_Result send_response(struct MHD_Connection *c,
                                     struct sim_response *resp)
{
    struct MHD_Response *r;
    enum MHD_Result ret;
    size_t i;

    if (resp->drop == SIM_DROP_BEFORE_HEADERS)
        return MHD_NO;
    if (resp->drop == SIM_DROP_MID_BODY && resp->body_len > 1) {
        struct half_body *hb = sfc_xcalloc(1, sizeof(*hb));
        hb->data = resp->body;
        hb->len = resp->body_len;
        resp->body = NULL;
        r = MHD_create_response_from_callback(hb->len, 4096, half_reader, hb,
                                              half_free);
    } else if (resp->body) {
        /* The body moves to the response: a long-poll reply is megabytes. */
        r = MHD_create_response_from_buffer(resp->body_len, resp->body,
                                            MHD_RESPMEM_MUST_FREE);
        resp->body = NULL;
    } else {
        r = MHD_create_response_from_buffer(0, (char *)"",
                                            MHD_RESPMEM_PERSISTENT);
    }
    if (resp->content_type[0])
        MHD_add_response_header(r, "Content-Type", resp->content_type);
    for (i = 0; i < resp->n_headers; i++)
        MHD_add_response_header(r, resp->headers[i].name,
                                resp->headers[i].value);
    ret = MHD_queue_response(c, (unsigned)resp->status, r);
    MHD_destroy_response(r);
    return ret;
}

static void split_uri(const char *uri, char **path, const char **query)
{
    const char *q = strchr(uri, '?');
    if (q) {
        *path = sfc_xstrndup(uri, (size_t)(q - uri));
        *query = q + 1;
    } else {
        *path = sfc_xstrdup(uri);
        *query = "";
    }
}

static enum MHD_Result handle(struct sim *sim,
                              struct MHD_Connection *c,
                              const char *method,
                              struct conn_ctx *ctx)
{
    struct sim_request req;
    struct sim_response resp;
    enum MHD_Result ret;
    char *raw_path;
    const char *query;

    split_uri(ctx->uri, &raw_path, &query);
    /* MHD unescapes the path it hands us; keep the same for handlers. */
    MHD_http_unescape(raw_path);
    memset(&req, 0, sizeof(req));
    req.method = method;
    req.path = raw_path;
    req.query = query;
    req.body = ctx->body.data ? ctx->body.data : "";
    req.body_len = ctx->body.len;
    req.host = hdr_or_empty(c, "Host");
    req.authorization = hdr_or_empty(c, "Authorization");
    req.cookie = hdr_or_empty(c, "Cookie");
    req.content_type = hdr_or_empty(c, "Content-Type");
    req.conn = c;

    memset(&resp, 0, sizeof(resp));
    resp.status = 500;
    if (ctx->too_big) {
        sim_response_error(&resp, 413, "REQUEST_TOO_LARGE",
                           "Request body too large", false);
    } else {
        sim_serve(sim, &req, &resp);
    }
    ret = send_response(c, &resp);
    sim_response_clear(&resp);
    free(raw_path);
    return ret;
}

static enum MHD_Result access_cb(void *cls,
                                 struct MHD_Connection *c,
                                 const char *url,
                                 const char *method,
                                 const char *version,
                                 const char *upload,
                                 size_t *upload_size,
                                 void **con_cls)
{
    struct sim *sim = cls;
    struct conn_ctx *ctx = *con_cls;
    (void)version;

    if (!ctx)
        return MHD_NO;
    /* MHD calls once with headers only, then per body chunk, then once
     * more with no data: answer at that last call. */
    if (!ctx->started) {
        ctx->started = true;
        return MHD_YES;
    }
    if (*upload_size) {
        if (!ctx->too_big &&
            sfc_buf_append(&ctx->body, upload, *upload_size) != SFC_OK)
            ctx->too_big = true;
        *upload_size = 0;
        return MHD_YES;
    }
    (void)url; /* the raw URI (with query) comes from uri_log */
    return handle(sim, c, method, ctx);
}

/*
 * Our own listening socket, so the port (and base URL) is known before MHD
 * starts any thread: dual stack so that "localhost" works whether it
 * resolves to ::1 or 127.0.0.1, plain IPv4 where IPv6 is unavailable.
 * Returns the descriptor and the bound port, or -1.
 */
static int listen_socket(int port, unsigned *bound)
{
    struct sockaddr_in6 a6;
    struct sockaddr_in a4;
    struct sockaddr_storage got;
    socklen_t len = sizeof(got);
    int one = 1, zero = 0;
    int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd >= 0) {
        memset(&a6, 0, sizeof(a6));
        a6.sin6_family = AF_INET6;
        a6.sin6_addr = in6addr_any;
        a6.sin6_port = htons((uint16_t)port);
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
        if (bind(fd, (struct sockaddr *)&a6, sizeof(a6)) != 0) {
            close(fd);
            fd = -1;
        }
    }
    if (fd < 0) {
        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return -1;
        memset(&a4, 0, sizeof(a4));
        a4.sin_family = AF_INET;
        a4.sin_addr.s_addr = htonl(INADDR_ANY);
        a4.sin_port = htons((uint16_t)port);
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, (struct sockaddr *)&a4, sizeof(a4)) != 0) {
            close(fd);
            return -1;
        }
    }
    if (listen(fd, 512) != 0 ||
        getsockname(fd, (struct sockaddr *)&got, &len) != 0) {
        close(fd);
        return -1;
    }
    *bound = got.ss_family == AF_INET6
                 ? ntohs(((struct sockaddr_in6 *)&got)->sin6_port)
                 : ntohs(((struct sockaddr_in *)&got)->sin_port);
    return fd;
}

int sim_http_start(struct sim *sim, char *errstr, size_t sz)
{
    /* One thread per connection: handlers (held long polls) may block.
     * poll() lifts select()'s descriptor limit. */
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD |
                     MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL |
                     MHD_USE_ERROR_LOG;
    unsigned port = 0;
    int fd = listen_socket(sim->opt.port, &port);

    if (fd < 0) {
        sfc_errstr_set(errstr, sz, "cannot listen on port %d", sim->opt.port);
        return -1;
    }
    if (sim_base_url_set(sim, port, errstr, sz) < 0) {
        close(fd);
        return -1;
    }
    if (sim->tls_cert_pem)
        sim->mhd = MHD_start_daemon(
            flags | MHD_USE_TLS, 0, NULL, NULL, access_cb, sim,
            MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_URI_LOG_CALLBACK, uri_log,
            sim, MHD_OPTION_NOTIFY_COMPLETED, request_done, sim,
            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)600,
            MHD_OPTION_HTTPS_MEM_CERT, sim->tls_cert_pem,
            MHD_OPTION_HTTPS_MEM_KEY, sim->tls_key_pem, MHD_OPTION_END);
    else
        sim->mhd = MHD_start_daemon(
            flags, 0, NULL, NULL, access_cb, sim, MHD_OPTION_LISTEN_SOCKET, fd,
            MHD_OPTION_URI_LOG_CALLBACK, uri_log, sim,
            MHD_OPTION_NOTIFY_COMPLETED, request_done, sim,
            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)600, MHD_OPTION_END);
    if (!sim->mhd) {
        close(fd);
        sfc_errstr_set(errstr, sz, "cannot start the HTTP server%s",
                       sim->tls_cert_pem ? " (bad TLS certificate/key?)" : "");
        return -1;
    }
    return 0;
}

void sim_http_stop(struct sim *sim)
{
    if (sim->mhd) {
        MHD_stop_daemon(sim->mhd);
        sim->mhd = NULL;
    }
}
