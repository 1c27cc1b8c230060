/*
 * The AMQP link's connection life: the options and the URI, opening with
 * TLS and its verdicts on the broker's certificate, login, the channel in
 * confirm mode, heartbeats (negotiated at login), and closing or abandoning
 * the connection (see amqp_link.h; the state is in amqp_link_int.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <amqp_ssl_socket.h>
#include <amqp_tcp_socket.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <amqp.h>

#include "amqp_link_int.h"
#include "amqp_uri.h"

static char *dup_or_null(const char *s)
{
    return s ? sfc_xstrdup(s) : NULL;
}

static void link_init(struct amqp_link *l, const struct amqp_link_options *o)
{
    memset(l, 0, sizeof(*l));
    l->o = *o;
    l->o.uri = dup_or_null(o->uri ? o->uri : "amqp://localhost/");
    l->o.ca_file = dup_or_null(o->ca_file);
    l->o.cert_file = dup_or_null(o->cert_file);
    l->o.key_file = dup_or_null(o->key_file);
    if (l->o.connect_timeout_ms <= 0)
        l->o.connect_timeout_ms = 10000;
    if (l->o.write_timeout_ms <= 0)
        l->o.write_timeout_ms = 30000;
    l->interrupt = o->interrupt;
    l->shown_uri = sfc_uri_redact(l->o.uri);
}

struct amqp_link *amqp_link_new(const struct amqp_link_options *o)
{
    struct amqp_link *l = sfc_xmalloc(sizeof(*l));

    link_init(l, o);
    return l;
}

bool amqp_link_is_open(const struct amqp_link *l)
{
    return l->open;
}

const char *amqp_link_shown_uri(const struct amqp_link *l)
{
    return l->shown_uri;
}

void amqp_link_set_interrupt(struct amqp_link *l, const atomic_bool *flag)
{
    l->interrupt = flag;
}

static const char *reply_text(amqp_rpc_reply_t r, char *buf, size_t size)
{
    if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION)
        return amqp_error_string2(r.library_error);
    if (r.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION &&
        r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
        amqp_channel_close_t *c = r.reply.decoded;

        snprintf(buf, size, "%u %.*s", c->reply_code, (int)c->reply_text.len,
                 (char *)c->reply_text.bytes);
        return buf;
    }
    if (r.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION &&
        r.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
        amqp_connection_close_t *c = r.reply.decoded;

        snprintf(buf, size, "%u %.*s", c->reply_code, (int)c->reply_text.len,
                 (char *)c->reply_text.bytes);
        return buf;
    }
    return "unexpected reply";
}

/* Whether the broker refused the login itself (ACCESS_REFUSED for the
 * user or password, NOT_ALLOWED for the vhost), not the connection. */
static bool login_refused(amqp_rpc_reply_t r)
{
    if (r.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION &&
        r.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
        const amqp_connection_close_t *c = r.reply.decoded;

        return c->reply_code == AMQP_ACCESS_REFUSED ||
               c->reply_code == AMQP_NOT_ALLOWED;
    }
    return false;
}

bool link_channel_ok(struct amqp_link *l,
                     char *errstr,
                     size_t errsz,
                     const char *what)
{
    amqp_rpc_reply_t r = amqp_get_rpc_reply(l->conn);
    char buf[256];

    if (r.reply_type == AMQP_RESPONSE_NORMAL)
        return true;
    sfc_errstr_set(errstr, errsz, "%s on %s: %s", what, l->shown_uri,
                   reply_text(r, buf, sizeof(buf)));
    return false;
}

/*
 * OpenSSL's verdict on the broker's certificate, kept as it verifies (the
 * handshake's SSL object is gone when rabbitmq-c reports a failure): the
 * certificate store's callback writes the first error into the int that
 * the context's application data points at.
 * Thread: the link's owner (during amqp_socket_open_noblock).
 */
static int note_verify(int ok, X509_STORE_CTX *x)
{
    SSL *ssl =
        X509_STORE_CTX_get_ex_data(x, SSL_get_ex_data_X509_STORE_CTX_idx());
    int *verdict = ssl ? SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)) : NULL;

    if (!ok && verdict && *verdict == X509_V_OK)
        *verdict = X509_STORE_CTX_get_error(x);
    return ok;
}

/*
 * Whether a failed TLS connection was the broker's certificate being refused
 * (rabbitmq-c: a failed peer or host name check, or a handshake that failed
 * on OpenSSL's verification); if so, says why in @errstr and what to set.
 */
static bool tls_refusal(
    int status, int verdict, const char *host, char *errstr, size_t errsz)
{
    if (status == AMQP_STATUS_SSL_HOSTNAME_VERIFY_FAILED ||
        verdict == X509_V_ERR_HOSTNAME_MISMATCH ||
        verdict == X509_V_ERR_IP_ADDRESS_MISMATCH) {
        sfc_errstr_set(errstr, errsz,
                       "TLS to %s: the broker's certificate does not name "
                       "host %s (connect by a name the certificate carries)",
                       host, host);
        return true;
    }
    if (status != AMQP_STATUS_SSL_PEER_VERIFY_FAILED && verdict == X509_V_OK)
        return false;
    sfc_errstr_set(errstr, errsz,
                   "TLS to %s: the broker's certificate was refused (%s; set "
                   "amqp.ca_file to the CA that signed it)",
                   host,
                   verdict != X509_V_OK ? X509_verify_cert_error_string(verdict)
                                        : "it could not be verified");
    return true;
}

sfc_err_t amqp_link_open(struct amqp_link *l, char *errstr, size_t errsz)
{
    struct amqp_uri ci;
    amqp_socket_t *sock;
    amqp_rpc_reply_t r;
    struct timeval tv = {.tv_sec = l->o.connect_timeout_ms / 1000,
                         .tv_usec = (l->o.connect_timeout_ms % 1000) * 1000};
    char buf[256];
    int st, verdict = X509_V_OK;
    SSL_CTX *ctx = NULL;
    sfc_err_t rc = SFC_ERR_AMQP;

    amqp_link_close(l);
    if (amqp_uri_parse(l->o.uri, &ci, buf, sizeof(buf)) != SFC_OK) {
        sfc_errstr_set(errstr, errsz, "%s %s", l->shown_uri, buf);
        return SFC_ERR_AMQP;
    }
    l->conn = amqp_new_connection();
    sock = ci.tls ? amqp_ssl_socket_new(l->conn) : amqp_tcp_socket_new(l->conn);
    if (ci.tls) {
        if (l->o.ca_file)
            amqp_ssl_socket_set_cacert(sock, l->o.ca_file);
        if (l->o.cert_file && l->o.key_file)
            amqp_ssl_socket_set_key(sock, l->o.cert_file, l->o.key_file);
        amqp_ssl_socket_set_verify_peer(sock, l->o.verify_peer);
        amqp_ssl_socket_set_verify_hostname(sock, l->o.verify_peer);
        ctx = amqp_ssl_socket_get_context(sock);
        SSL_CTX_set_app_data(ctx, &verdict);
        X509_STORE_set_verify_cb(SSL_CTX_get_cert_store(ctx), note_verify);
    }
    st = amqp_socket_open_noblock(sock, ci.host, ci.port, &tv);
    if (ci.tls) /* verdict lives on this stack */
        SSL_CTX_set_app_data(ctx, NULL);
    if (st != AMQP_STATUS_OK) {
        if (ci.tls && l->o.verify_peer &&
            tls_refusal(st, verdict, ci.host, errstr, errsz)) {
            rc = SFC_ERR_AMQP; /* connected: not a network failure */
            goto out_free;
        }
        sfc_errstr_set(errstr, errsz, "cannot connect to %s:%d", ci.host,
                       ci.port);
        rc = SFC_ERR_TRANSPORT;
        goto out_free;
    }
    /* A broker that accepts the connection but never answers (stopped,
     * or blocked by an alarm) must not hang the caller: every handshake
     * and RPC (declares, closes) gets the connect timeout. */
    amqp_set_handshake_timeout(l->conn, &tv);
    amqp_set_rpc_timeout(l->conn, &tv);
    r = amqp_login(l->conn, ci.vhost, 0, 131072, l->o.heartbeat_s,
                   AMQP_SASL_METHOD_PLAIN, ci.user, ci.password);
    if (r.reply_type != AMQP_RESPONSE_NORMAL) {
        sfc_errstr_set(errstr, errsz, "login to %s refused: %s", l->shown_uri,
                       reply_text(r, buf, sizeof(buf)));
        if (login_refused(r))
            rc = SFC_ERR_AUTH;
        goto out_free;
    }
    amqp_channel_open(l->conn, CHANNEL);
    if (!link_channel_ok(l, errstr, errsz, "channel.open"))
        goto out_free;
    amqp_confirm_select(l->conn, CHANNEL);
    if (!link_channel_ok(l, errstr, errsz, "confirm.select"))
        goto out_free;
    l->open = true;
    l->next_tag = 1;
    if (!ci.tls) {
        /* A frame never exceeds the negotiated frame_max (0: none). */
        int fm = amqp_get_frame_max(l->conn);

        l->out_cap = fm > 0 ? (size_t)fm : 131072;
        l->out = sfc_xmalloc(l->out_cap);
        l->out_len = 0;
    }
    rc = SFC_OK;
out_free:
    amqp_uri_free(&ci);
    if (rc != SFC_OK)
        amqp_link_close(l);
    return rc;
}

static void drop_output(struct amqp_link *l)
{
    free(l->out);
    l->out = NULL;
    l->out_len = l->out_cap = 0;
}

void amqp_link_abandon(struct amqp_link *l)
{
    drop_output(l);
    if (!l->conn)
        return;
    amqp_destroy_connection(l->conn);
    l->conn = NULL;
    l->open = false;
}

void amqp_link_close(struct amqp_link *l)
{
    /* Publishes still held were not sent: they are not confirmed either. */
    drop_output(l);
    if (!l->conn)
        return;
    if (l->open) {
        struct timeval tv = {.tv_sec = 0, .tv_usec = AMQP_LINK_CLOSE_MS * 1000};

        /* connection.close closes the channel with it: one round trip. */
        amqp_set_rpc_timeout(l->conn, &tv);
        amqp_connection_close(l->conn, AMQP_REPLY_SUCCESS);
    }
    amqp_destroy_connection(l->conn);
    l->conn = NULL;
    l->open = false;
}

static void link_fini(struct amqp_link *l)
{
    amqp_link_close(l);
    free(l->shown_uri);
    l->shown_uri = NULL;
    sfc_free_secret((char *)l->o.uri); /* the password is in it */
    free((char *)l->o.ca_file);
    free((char *)l->o.cert_file);
    free((char *)l->o.key_file);
    memset(&l->o, 0, sizeof(l->o));
}

void amqp_link_destroy(struct amqp_link *l)
{
    if (!l)
        return;
    link_fini(l);
    free(l);
}

bool amqp_link_buffered(const struct amqp_link *l)
{
    return l->open &&
           (amqp_frames_enqueued(l->conn) || amqp_data_in_buffer(l->conn));
}

int amqp_link_fd(const struct amqp_link *l)
{
    return l->open ? amqp_get_sockfd(l->conn) : -1;
}
