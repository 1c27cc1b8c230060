/* The AMQP link: rabbitmq-c on one thread, publisher confirms. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <amqp_ssl_socket.h>
#include <amqp_tcp_socket.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <amqp.h>

#include "amqp_link.h"
#include "amqp_uri.h"

#define AMQP_MOD "amqp"
#define CHANNEL  1
/* A frame: type, channel, payload size; the payload; the end octet. */
#define FRAME_HEAD 7
#define FRAME_OVER 8
/* What precedes the encoded arguments or properties in a method frame's
 * payload (the method id) and in a content header's (class, weight, body
 * size). */
#define METHOD_PRE 4
#define HEADER_PRE 12

/* Thread: the owner (see amqp_link.h). Locks: none. */
struct amqp_link {
    amqp_connection_state_t conn;
    bool open;
    uint64_t next_tag;          /* delivery tag of the next publish */
    struct amqp_link_options o; /* strings owned */
    char *shown_uri;            /* the URI with its password masked */
    bool mismatch_told;         /* the 406 was reported once */
    /* Plain TCP: publishes are framed here and written together (one send
     * per batch rather than rabbitmq-c's three per message). NULL under
     * TLS, where rabbitmq-c writes them. */
    unsigned char *out;
    size_t out_len, out_cap;
    bool holding; /* inside amqp_link_batch(on) */
    /* Set (the owner is stopping): see amqp_link_options.interrupt. */
    const atomic_bool *interrupt;
};

/* A delivery's properties are rabbitmq-c's: struct amqp_link_props is
 * never defined, only converted to and from. */
static const amqp_basic_properties_t *
props_of(const struct amqp_link_delivery *d)
{
    return (const amqp_basic_properties_t *)(const void *)d->props;
}

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

static bool
channel_ok(struct amqp_link *l, char *errstr, size_t errsz, const char *what)
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
    if (!channel_ok(l, errstr, errsz, "channel.open"))
        goto out_free;
    amqp_confirm_select(l->conn, CHANNEL);
    if (!channel_ok(l, errstr, errsz, "confirm.select"))
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

/* After the broker closed the channel (406): confirm, and open it again. */
static sfc_err_t channel_reopen(struct amqp_link *l, char *errstr, size_t errsz)
{
    amqp_channel_close_ok_t ok = {0};

    amqp_send_method(l->conn, CHANNEL, AMQP_CHANNEL_CLOSE_OK_METHOD, &ok);
    amqp_channel_open(l->conn, CHANNEL);
    if (!channel_ok(l, errstr, errsz, "channel.open"))
        return SFC_ERR_AMQP;
    amqp_confirm_select(l->conn, CHANNEL);
    if (!channel_ok(l, errstr, errsz, "confirm.select"))
        return SFC_ERR_AMQP;
    l->next_tag = 1;
    return SFC_OK;
}

sfc_err_t amqp_link_declare_exchange(struct amqp_link *l,
                                     const char *name,
                                     const char *type,
                                     bool auto_delete,
                                     char *errstr,
                                     size_t errsz)
{
    amqp_rpc_reply_t r;

    amqp_exchange_declare(l->conn, CHANNEL, amqp_cstring_bytes(name),
                          amqp_cstring_bytes(type), 0, 1, auto_delete, 0,
                          amqp_empty_table);
    r = amqp_get_rpc_reply(l->conn);
    if (r.reply_type == AMQP_RESPONSE_NORMAL)
        return SFC_OK;
    if (r.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION &&
        r.reply.id == AMQP_CHANNEL_CLOSE_METHOD &&
        ((amqp_channel_close_t *)r.reply.decoded)->reply_code == 406) {
        if (!l->mismatch_told && strcmp(type, "topic") != 0)
            sfc_log(SFC_LOG_WARN, AMQP_MOD,
                    "exchange %s exists with another type or other flags "
                    "than a durable %s exchange; using it as it is",
                    name, type);
        else if (!l->mismatch_told)
            sfc_log(SFC_LOG_WARN, AMQP_MOD,
                    "exchange %s exists with other flags (auto_delete is not "
                    "%s, as Nameko versions disagree); using it as it is — "
                    "set amqp.exchange_auto_delete = %s to match it",
                    name, auto_delete ? "true" : "false",
                    auto_delete ? "false" : "true");
        l->mismatch_told = true;
        /* The channel is closed by the broker: confirm and reopen it. */
        if (channel_reopen(l, errstr, errsz) != SFC_OK)
            return SFC_ERR_AMQP;
        amqp_exchange_declare(l->conn, CHANNEL, amqp_cstring_bytes(name),
                              amqp_cstring_bytes(type), 1, 0, 0, 0,
                              amqp_empty_table);
        return channel_ok(l, errstr, errsz, "exchange.declare (passive)")
                   ? SFC_OK
                   : SFC_ERR_AMQP;
    }
    channel_ok(l, errstr, errsz, "exchange.declare");
    return SFC_ERR_AMQP;
}

static amqp_bytes_t to_bytes(struct amqp_link_bytes b)
{
    amqp_bytes_t o = {b.len, (void *)b.p};

    return o;
}

static struct amqp_link_bytes from_bytes(amqp_bytes_t b)
{
    struct amqp_link_bytes o = {b.bytes, b.len};

    return o;
}

/* A table of at most AMQP_LINK_MAX_HEADERS entries and the strings of
 * their arrays, pointing at the caller's strings. */
struct table_room {
    amqp_table_entry_t e[AMQP_LINK_MAX_HEADERS];
    amqp_field_value_t items[AMQP_LINK_MAX_HEADERS];
};

/* @h as a table in @room; SFC_ERR_INVALID_ARG past its room. */
static sfc_err_t to_table(const struct amqp_link_header *h,
                          size_t n,
                          struct table_room *room,
                          amqp_table_t *t)
{
    size_t used = 0;

    if (n > AMQP_LINK_MAX_HEADERS)
        return SFC_ERR_INVALID_ARG;
    for (size_t i = 0; i < n; i++) {
        amqp_table_entry_t *e = &room->e[i];

        e->key = amqp_cstring_bytes(h[i].key);
        switch (h[i].kind) {
        case AMQP_LINK_STR:
            e->value.kind = AMQP_FIELD_KIND_UTF8;
            e->value.value.bytes = amqp_cstring_bytes(h[i].str);
            break;
        case AMQP_LINK_I64:
            e->value.kind = AMQP_FIELD_KIND_I64;
            e->value.value.i64 = h[i].i64;
            break;
        case AMQP_LINK_STR_ARRAY:
            if (h[i].n > AMQP_LINK_MAX_HEADERS - used)
                return SFC_ERR_INVALID_ARG;
            e->value.kind = AMQP_FIELD_KIND_ARRAY;
            e->value.value.array.num_entries = (int)h[i].n;
            e->value.value.array.entries = room->items + used;
            for (size_t k = 0; k < h[i].n; k++) {
                room->items[used].kind = AMQP_FIELD_KIND_UTF8;
                room->items[used++].value.bytes =
                    amqp_cstring_bytes(h[i].strs[k]);
            }
            break;
        case AMQP_LINK_ABSENT:
            e->value.kind = AMQP_FIELD_KIND_VOID;
            break;
        }
    }
    t->num_entries = (int)n;
    t->entries = room->e;
    return SFC_OK;
}

/* @first's entries (may be NULL) but those @ours names, then @ours but
 * the absent ones (AMQP_LINK_ABSENT), in *out; returns the entries to free
 * (they point into both tables). */
static amqp_table_entry_t *
join(const amqp_table_t *first, const amqp_table_t *ours, amqp_table_t *out)
{
    int n = first && first->num_entries > 0 ? first->num_entries : 0;
    amqp_table_entry_t *e =
        sfc_xcalloc((size_t)n + (size_t)ours->num_entries + 1, sizeof(*e));
    int k = 0;

    for (int i = 0; i < n; i++) {
        const amqp_table_entry_t *x = &first->entries[i];
        bool mine = false;

        for (int m = 0; m < ours->num_entries && !mine; m++)
            mine = x->key.len == ours->entries[m].key.len &&
                   memcmp(x->key.bytes, ours->entries[m].key.bytes,
                          x->key.len) == 0;
        if (!mine)
            e[k++] = *x;
    }
    for (int m = 0; m < ours->num_entries; m++)
        if (ours->entries[m].value.kind != AMQP_FIELD_KIND_VOID)
            e[k++] = ours->entries[m];
    out->num_entries = k;
    out->entries = e;
    return e;
}

static const amqp_field_value_t *header(const struct amqp_link_delivery *d,
                                        const char *key)
{
    const amqp_basic_properties_t *p = props_of(d);
    size_t n = strlen(key);

    if (!(p->_flags & AMQP_BASIC_HEADERS_FLAG))
        return NULL;
    for (int i = 0; i < p->headers.num_entries; i++)
        if (p->headers.entries[i].key.len == n &&
            memcmp(p->headers.entries[i].key.bytes, key, n) == 0)
            return &p->headers.entries[i].value;
    return NULL;
}

bool amqp_link_header_int(const struct amqp_link_delivery *d,
                          const char *key,
                          int64_t *out)
{
    const amqp_field_value_t *v = header(d, key);

    if (!v)
        return false;
    switch (v->kind) {
    case AMQP_FIELD_KIND_I8:
        *out = v->value.i8;
        return true;
    case AMQP_FIELD_KIND_U8:
        *out = v->value.u8;
        return true;
    case AMQP_FIELD_KIND_I16:
        *out = v->value.i16;
        return true;
    case AMQP_FIELD_KIND_U16:
        *out = v->value.u16;
        return true;
    case AMQP_FIELD_KIND_I32:
        *out = v->value.i32;
        return true;
    case AMQP_FIELD_KIND_U32:
        *out = v->value.u32;
        return true;
    case AMQP_FIELD_KIND_I64:
        *out = v->value.i64;
        return true;
    case AMQP_FIELD_KIND_U64:
        *out = v->value.u64 > INT64_MAX ? INT64_MAX : (int64_t)v->value.u64;
        return true;
    default:
        return false;
    }
}

bool amqp_link_header_bytes(const struct amqp_link_delivery *d,
                            const char *key,
                            struct amqp_link_bytes *out)
{
    const amqp_field_value_t *v = header(d, key);

    if (!v ||
        (v->kind != AMQP_FIELD_KIND_UTF8 && v->kind != AMQP_FIELD_KIND_BYTES))
        return false;
    *out = from_bytes(v->value.bytes);
    return true;
}

sfc_err_t amqp_link_declare_queue(struct amqp_link *l,
                                  const char *name,
                                  const struct amqp_link_header *args,
                                  size_t n_args,
                                  const char *exchange,
                                  const char *key,
                                  bool *as_is,
                                  char *errstr,
                                  size_t errsz)
{
    struct table_room room;
    amqp_table_t t;
    amqp_rpc_reply_t r;
    bool passive = false;

    if (to_table(args, n_args, &room, &t) != SFC_OK) {
        sfc_errstr_set(errstr, errsz, "queue %s: too many arguments", name);
        return SFC_ERR_INVALID_ARG;
    }
    amqp_queue_declare(l->conn, CHANNEL, amqp_cstring_bytes(name), 0, 1, 0, 0,
                       t);
    r = amqp_get_rpc_reply(l->conn);
    if (r.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION &&
        r.reply.id == AMQP_CHANNEL_CLOSE_METHOD &&
        ((amqp_channel_close_t *)r.reply.decoded)->reply_code == 406) {
        if (channel_reopen(l, errstr, errsz) != SFC_OK)
            return SFC_ERR_AMQP;
        sfc_log(SFC_LOG_INFO, AMQP_MOD,
                "queue %s exists with arguments of its own; using it as it "
                "is",
                name);
        amqp_queue_declare(l->conn, CHANNEL, amqp_cstring_bytes(name), 1, 0, 0,
                           0, amqp_empty_table);
        passive = true;
    }
    if (!channel_ok(l, errstr, errsz, "queue.declare"))
        return SFC_ERR_AMQP;
    if (as_is)
        *as_is = passive;
    if (!key)
        return SFC_OK;
    amqp_queue_bind(l->conn, CHANNEL, amqp_cstring_bytes(name),
                    amqp_cstring_bytes(exchange), amqp_cstring_bytes(key),
                    amqp_empty_table);
    return channel_ok(l, errstr, errsz, "queue.bind") ? SFC_OK : SFC_ERR_AMQP;
}

/* A write that makes no progress this long is logged (once a flush). */
#define STALL_WARN_MS 1000

/*
 * Writes the framed publishes. Waits for the socket to take them for up to
 * amqp.confirm_timeout_ms (a broker blocked by an alarm stops reading), or
 * one more second once the owner is stopping; a frame cut short leaves the
 * stream unusable, so any failure drops the connection. A wait past
 * STALL_WARN_MS is logged: the operator learns of a blocked broker when it
 * happens, not when the timeout ends.
 */
static sfc_err_t flush(struct amqp_link *l)
{
    int fd = amqp_get_sockfd(l->conn);
    int64_t until = sfc_now_ms() + l->o.write_timeout_ms;
    int64_t progress = sfc_now_ms();
    size_t done = 0;
    const char *why = NULL;
    bool stopping = false, warned = false;

    while (done < l->out_len && !why) {
        ssize_t n = send(fd, l->out + done, l->out_len - done,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        int64_t left = until - sfc_now_ms();
        struct pollfd pfd = {.fd = fd, .events = POLLOUT};

        if (n >= 0) {
            done += (size_t)n;
            progress = sfc_now_ms();
            if (!stopping) /* the timeout runs from the last progress */
                until = progress + l->o.write_timeout_ms;
        } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            why = strerror(errno);
        } else if (left <= 0) {
            why = stopping ? "stopping, and the broker is not reading"
                           : "the broker took nothing for "
                             "amqp.confirm_timeout_ms";
        } else if (!stopping && l->interrupt && atomic_load(l->interrupt)) {
            stopping = true; /* one more second, not confirm_timeout_ms */
            if (left > 1000)
                until = sfc_now_ms() + 1000;
        } else if (poll(&pfd, 1, left > 100 ? 100 : (int)left) < 0 &&
                   errno != EINTR) {
            why = strerror(errno);
        } else if (!warned && sfc_now_ms() - progress >= STALL_WARN_MS) {
            warned = true;
            sfc_log(SFC_LOG_WARN, AMQP_MOD,
                    "the broker at %s has read nothing for %d ms (a resource "
                    "alarm blocks publishers?); waiting up to %lld ms more",
                    l->shown_uri, STALL_WARN_MS,
                    (long long)(until - sfc_now_ms()));
        }
    }
    l->out_len = 0;
    if (!why)
        return SFC_OK;
    sfc_log(SFC_LOG_WARN, AMQP_MOD, "publishing to %s failed: %s", l->shown_uri,
            why);
    amqp_link_abandon(l);
    return SFC_ERR_AMQP;
}

static void put_u16(unsigned char *p, uint16_t v)
{
    p[0] = (unsigned char)(v >> 8);
    p[1] = (unsigned char)v;
}

static void put_u32(unsigned char *p, uint32_t v)
{
    put_u16(p, (uint16_t)(v >> 16));
    put_u16(p + 2, (uint16_t)v);
}

/* Closes the frame whose payload (@len bytes) is in place at the end. */
static void end_frame(struct amqp_link *l, uint8_t type, size_t len)
{
    unsigned char *f = l->out + l->out_len;

    f[0] = type;
    put_u16(f + 1, CHANNEL);
    put_u32(f + 3, (uint32_t)len);
    f[FRAME_HEAD + len] = AMQP_FRAME_END;
    l->out_len += FRAME_OVER + len;
}

/*
 * Appends a basic.publish method frame (@header NULL) or the content header
 * carrying @header, encoded by rabbitmq-c. When the room left is too small
 * the output is sent first; one frame always fits an empty buffer unless it
 * exceeds frame_max.
 */
static sfc_err_t put_encoded(struct amqp_link *l,
                             amqp_basic_publish_t *method,
                             amqp_basic_properties_t *header,
                             uint64_t body_size)
{
    size_t pre = header ? HEADER_PRE : METHOD_PRE;

    for (int attempt = 0; attempt < 2; attempt++) {
        unsigned char *p = l->out + l->out_len + FRAME_HEAD;
        size_t room = l->out_cap - l->out_len;
        amqp_bytes_t e = {room - FRAME_OVER - pre, p + pre};
        int n = -1;

        if (room > FRAME_OVER + pre)
            n = header
                    ? amqp_encode_properties(AMQP_BASIC_CLASS, header, e)
                    : amqp_encode_method(AMQP_BASIC_PUBLISH_METHOD, method, e);
        if (n >= 0) {
            if (header) {
                put_u16(p, AMQP_BASIC_CLASS);
                put_u16(p + 2, 0); /* weight */
                put_u32(p + 4, (uint32_t)(body_size >> 32));
                put_u32(p + 8, (uint32_t)body_size);
            } else {
                put_u32(p, AMQP_BASIC_PUBLISH_METHOD);
            }
            end_frame(l, header ? AMQP_FRAME_HEADER : AMQP_FRAME_METHOD,
                      pre + (size_t)n);
            return SFC_OK;
        }
        if (!l->out_len)
            break;
        if (flush(l) != SFC_OK)
            return SFC_ERR_AMQP;
    }
    sfc_log(SFC_LOG_WARN, AMQP_MOD,
            "a publish to %s could not be framed (more than frame_max %zu "
            "bytes of method or properties)",
            l->shown_uri, l->out_cap);
    return SFC_ERR_AMQP;
}

/* Appends the body in frames of at most frame_max. */
static sfc_err_t put_body(struct amqp_link *l, const char *body, size_t len)
{
    size_t most = l->out_cap - FRAME_OVER;

    for (size_t at = 0; at < len;) {
        size_t n = len - at < most ? len - at : most;

        if (l->out_cap - l->out_len < n + FRAME_OVER && flush(l) != SFC_OK)
            return SFC_ERR_AMQP;
        memcpy(l->out + l->out_len + FRAME_HEAD, body + at, n);
        end_frame(l, AMQP_FRAME_BODY, n);
        at += n;
    }
    return SFC_OK;
}

static sfc_err_t frame_publish(struct amqp_link *l,
                               amqp_basic_publish_t *m,
                               amqp_basic_properties_t *props,
                               const char *body,
                               size_t len)
{
    if (put_encoded(l, m, NULL, 0) != SFC_OK ||
        put_encoded(l, NULL, props, len) != SFC_OK ||
        put_body(l, body, len) != SFC_OK)
        return SFC_ERR_AMQP;
    return l->holding ? SFC_OK : flush(l);
}

static sfc_err_t publish(struct amqp_link *l,
                         const char *exchange,
                         const char *routing_key,
                         amqp_basic_properties_t *props,
                         const char *body,
                         size_t len,
                         bool mandatory,
                         uint64_t *tag)
{
    amqp_basic_publish_t m = {.exchange = amqp_cstring_bytes(exchange),
                              .routing_key = amqp_cstring_bytes(routing_key),
                              .mandatory = mandatory};
    amqp_bytes_t b = {len, (void *)body};
    int st;

    if (l->out) {
        if (frame_publish(l, &m, props, body, len) != SFC_OK) {
            if (l->open)
                amqp_link_abandon(l);
            return SFC_ERR_AMQP;
        }
        *tag = l->next_tag++;
        return SFC_OK;
    }
    st = amqp_basic_publish(l->conn, CHANNEL, m.exchange, m.routing_key,
                            mandatory, 0, props, b);
    if (st != AMQP_STATUS_OK) {
        sfc_log(SFC_LOG_WARN, AMQP_MOD, "publish failed: %s",
                amqp_error_string2(st));
        amqp_link_close(l);
        return SFC_ERR_AMQP;
    }
    *tag = l->next_tag++;
    return SFC_OK;
}

sfc_err_t amqp_link_send(struct amqp_link *l,
                         const struct amqp_link_msg *m,
                         uint64_t *tag)
{
    struct table_room room;
    amqp_table_t ours, h;
    amqp_table_entry_t *joined;
    amqp_basic_properties_t props = {0};
    sfc_err_t rc;

    if (!l->open)
        return SFC_ERR_AMQP;
    if (to_table(m->headers, m->n_headers, &room, &ours) != SFC_OK)
        return SFC_ERR_INVALID_ARG;
    if (m->headers_of) {
        const amqp_basic_properties_t *of = props_of(m->headers_of);

        joined =
            join(of->_flags & AMQP_BASIC_HEADERS_FLAG ? &of->headers : NULL,
                 &ours, &h);
    } else {
        /* Our own headers alone (each event): no allocation. */
        int k = 0;

        for (int i = 0; i < ours.num_entries; i++)
            if (ours.entries[i].value.kind != AMQP_FIELD_KIND_VOID)
                ours.entries[k++] = ours.entries[i];
        ours.num_entries = k;
        h = ours;
        joined = NULL;
    }
    if (m->headers_of && m->all_properties) {
        props = *props_of(m->headers_of);
    } else {
        props._flags = AMQP_BASIC_CONTENT_TYPE_FLAG |
                       AMQP_BASIC_CONTENT_ENCODING_FLAG |
                       AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_PRIORITY_FLAG;
        props.content_type = m->content_type
                                 ? to_bytes(*m->content_type)
                                 : amqp_cstring_bytes("application/json");
        props.content_encoding = amqp_cstring_bytes("utf-8");
        props.delivery_mode = 2;
        props.priority = 0;
        if (m->message_id) {
            props._flags |= AMQP_BASIC_MESSAGE_ID_FLAG;
            props.message_id = amqp_cstring_bytes(m->message_id);
        }
        if (m->correlation_id.len) {
            props._flags |= AMQP_BASIC_CORRELATION_ID_FLAG;
            props.correlation_id = to_bytes(m->correlation_id);
        }
        if (m->reply_to.len) {
            props._flags |= AMQP_BASIC_REPLY_TO_FLAG;
            props.reply_to = to_bytes(m->reply_to);
        }
        if (m->expiration) {
            props._flags |= AMQP_BASIC_EXPIRATION_FLAG;
            props.expiration = amqp_cstring_bytes(m->expiration);
        }
    }
    props._flags |= AMQP_BASIC_HEADERS_FLAG;
    props.headers = h;
    rc = publish(l, m->exchange, m->routing_key, &props, m->body, m->len,
                 m->mandatory, tag);
    free(joined);
    return rc;
}

/* Sends what is held before a method rabbitmq-c writes itself. */
static sfc_err_t flush_held(struct amqp_link *l)
{
    if (!l->open)
        return SFC_ERR_AMQP;
    return l->out_len ? flush(l) : SFC_OK;
}

sfc_err_t amqp_link_consume(struct amqp_link *l,
                            const char *queue,
                            unsigned prefetch,
                            char *errstr,
                            size_t errsz)
{
    if (flush_held(l) != SFC_OK) {
        sfc_errstr_set(errstr, errsz, "connection to %s lost", l->shown_uri);
        return SFC_ERR_AMQP;
    }
    amqp_basic_qos(l->conn, CHANNEL, 0,
                   prefetch > UINT16_MAX ? UINT16_MAX : (uint16_t)prefetch, 0);
    if (!channel_ok(l, errstr, errsz, "basic.qos"))
        return SFC_ERR_AMQP;
    amqp_basic_consume(l->conn, CHANNEL, amqp_cstring_bytes(queue),
                       amqp_empty_bytes, 0, 0, 0, amqp_empty_table);
    return channel_ok(l, errstr, errsz, "basic.consume") ? SFC_OK
                                                         : SFC_ERR_AMQP;
}

/* A method written by rabbitmq-c failed: the stream is unusable. */
static sfc_err_t written(struct amqp_link *l, int st, const char *what)
{
    if (st == AMQP_STATUS_OK)
        return SFC_OK;
    sfc_log(SFC_LOG_WARN, AMQP_MOD, "%s to %s failed: %s", what, l->shown_uri,
            amqp_error_string2(st));
    amqp_link_abandon(l);
    return SFC_ERR_AMQP;
}

sfc_err_t amqp_link_ack(struct amqp_link *l, uint64_t tag)
{
    if (flush_held(l) != SFC_OK)
        return SFC_ERR_AMQP;
    return written(l, amqp_basic_ack(l->conn, CHANNEL, tag, 0), "basic.ack");
}

sfc_err_t amqp_link_reject(struct amqp_link *l, uint64_t tag, bool requeue)
{
    if (flush_held(l) != SFC_OK)
        return SFC_ERR_AMQP;
    return written(l, amqp_basic_reject(l->conn, CHANNEL, tag, requeue),
                   "basic.reject");
}

void amqp_link_batch(struct amqp_link *l, bool on)
{
    int v = on;

    l->holding = on;
    if (!l->open)
        return;
    if (l->out) {
        if (!on && l->out_len)
            flush(l);
        return;
    }
    /*
     * rabbitmq-c writes each publish as three sends, the last one pushed:
     * a segment per message, each a separate read for the broker. Corking
     * leaves that to the kernel; uncorking sends the rest at once.
     */
    setsockopt(amqp_get_sockfd(l->conn), IPPROTO_TCP, TCP_CORK, &v, sizeof(v));
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

/* Reads the content that follows a basic.return and reports it. */
static sfc_err_t on_return(struct amqp_link *l,
                           amqp_frame_t *f,
                           const struct amqp_link_events *ev)
{
    amqp_basic_return_t *ret = f->payload.method.decoded;
    char rk[256], id[512] = "";
    amqp_message_t msg;
    amqp_rpc_reply_t r;

    snprintf(rk, sizeof(rk), "%.*s", (int)ret->routing_key.len,
             (char *)ret->routing_key.bytes);
    r = amqp_read_message(l->conn, CHANNEL, &msg, 0);
    if (r.reply_type != AMQP_RESPONSE_NORMAL)
        return SFC_ERR_AMQP;
    if (msg.properties._flags & AMQP_BASIC_MESSAGE_ID_FLAG)
        snprintf(id, sizeof(id), "%.*s", (int)msg.properties.message_id.len,
                 (char *)msg.properties.message_id.bytes);
    amqp_destroy_message(&msg);
    if (ev->returned)
        ev->returned(ev->opaque, rk, id);
    return SFC_OK;
}

/* Reads the content that follows a basic.deliver and hands it over. */
static sfc_err_t on_deliver(struct amqp_link *l,
                            amqp_frame_t *f,
                            const struct amqp_link_events *ev)
{
    amqp_basic_deliver_t *dm = f->payload.method.decoded;
    struct amqp_link_delivery d = {.tag = dm->delivery_tag,
                                   .redelivered = dm->redelivered};
    /* The method lives in the frame pool, which reading recycles. */
    amqp_bytes_t ex = amqp_bytes_malloc_dup(dm->exchange);
    amqp_bytes_t rk = amqp_bytes_malloc_dup(dm->routing_key);
    const amqp_basic_properties_t *p;
    amqp_message_t msg;
    amqp_rpc_reply_t r;

    r = amqp_read_message(l->conn, CHANNEL, &msg, 0);
    if (r.reply_type != AMQP_RESPONSE_NORMAL) {
        amqp_bytes_free(ex);
        amqp_bytes_free(rk);
        return SFC_ERR_AMQP;
    }
    p = &msg.properties;
    d.exchange = from_bytes(ex);
    d.routing_key = from_bytes(rk);
    d.body = from_bytes(msg.body);
    d.has_content_type = p->_flags & AMQP_BASIC_CONTENT_TYPE_FLAG;
    if (d.has_content_type)
        d.content_type = from_bytes(p->content_type);
    if (p->_flags & AMQP_BASIC_REPLY_TO_FLAG)
        d.reply_to = from_bytes(p->reply_to);
    if (p->_flags & AMQP_BASIC_CORRELATION_ID_FLAG)
        d.correlation_id = from_bytes(p->correlation_id);
    d.props = (const struct amqp_link_props *)(const void *)p;
    if (ev->delivered)
        ev->delivered(ev->opaque, &d);
    amqp_destroy_message(&msg);
    amqp_bytes_free(ex);
    amqp_bytes_free(rk);
    return SFC_OK;
}

sfc_err_t amqp_link_poll(struct amqp_link *l,
                         int timeout_ms,
                         const struct amqp_link_events *ev)
{
    struct timeval tv = {.tv_sec = timeout_ms / 1000,
                         .tv_usec = (timeout_ms % 1000) * 1000};
    struct timeval zero = {0, 0};

    if (!l->open)
        return SFC_ERR_AMQP;
    /* rabbitmq-c may send (a heartbeat): held publishes go first. */
    if (l->out_len && flush(l) != SFC_OK)
        return SFC_ERR_AMQP;
    for (int i = 0;; i++) {
        amqp_frame_t f;
        int st;

        /* A callback may have published, and lost the connection. */
        if (!l->open)
            return SFC_ERR_AMQP;
        /* After the first frame only what is already read is taken: the
         * caller polls the socket (a read finding nothing costs two
         * system calls). */
        if (i > 0 && !amqp_link_buffered(l))
            return SFC_OK;
        /* Decoded frames live in rabbitmq-c's pools until released. */
        amqp_maybe_release_buffers(l->conn);
        st = amqp_simple_wait_frame_noblock(l->conn, &f, i == 0 ? &tv : &zero);
        if (st == AMQP_STATUS_TIMEOUT)
            return SFC_OK;
        if (st != AMQP_STATUS_OK) {
            sfc_log(SFC_LOG_WARN, AMQP_MOD, "connection to %s lost: %s",
                    l->shown_uri, amqp_error_string2(st));
            amqp_link_close(l);
            return SFC_ERR_AMQP;
        }
        if (f.frame_type != AMQP_FRAME_METHOD)
            continue;
        switch (f.payload.method.id) {
        case AMQP_BASIC_ACK_METHOD: {
            amqp_basic_ack_t *a = f.payload.method.decoded;

            ev->acked(ev->opaque, a->delivery_tag, a->multiple);
            break;
        }
        case AMQP_BASIC_NACK_METHOD: {
            amqp_basic_nack_t *n = f.payload.method.decoded;

            ev->nacked(ev->opaque, n->delivery_tag, n->multiple);
            break;
        }
        case AMQP_BASIC_RETURN_METHOD:
            if (on_return(l, &f, ev) != SFC_OK) {
                amqp_link_close(l);
                return SFC_ERR_AMQP;
            }
            break;
        case AMQP_BASIC_DELIVER_METHOD:
            if (on_deliver(l, &f, ev) != SFC_OK) {
                sfc_log(SFC_LOG_WARN, AMQP_MOD,
                        "connection to %s lost while reading a delivery",
                        l->shown_uri);
                amqp_link_close(l);
                return SFC_ERR_AMQP;
            }
            break;
        case AMQP_CHANNEL_CLOSE_METHOD:
        case AMQP_CONNECTION_CLOSE_METHOD:
            sfc_log(SFC_LOG_WARN, AMQP_MOD, "broker closed the %s",
                    f.payload.method.id == AMQP_CHANNEL_CLOSE_METHOD
                        ? "channel"
                        : "connection");
            amqp_link_close(l);
            return SFC_ERR_AMQP;
        default:
            break;
        }
    }
}
