/*
 * The AMQP link's receiving side: declaring exchanges and queues (with
 * arguments, tolerating a mismatch), consuming with a prefetch, acks and
 * rejects, a delivery's headers, and the poll that reads what the broker
 * sends: confirms, returns, deliveries, and closes (see amqp_link.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <amqp.h>

#include "amqp_link_int.h"

/* After the broker closed the channel (406): confirm, and open it again. */
static sfc_err_t channel_reopen(struct amqp_link *l, char *errstr, size_t errsz)
{
    amqp_channel_close_ok_t ok = {0};

    amqp_send_method(l->conn, CHANNEL, AMQP_CHANNEL_CLOSE_OK_METHOD, &ok);
    amqp_channel_open(l->conn, CHANNEL);
    if (!link_channel_ok(l, errstr, errsz, "channel.open"))
        return SFC_ERR_AMQP;
    amqp_confirm_select(l->conn, CHANNEL);
    if (!link_channel_ok(l, errstr, errsz, "confirm.select"))
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
        return link_channel_ok(l, errstr, errsz, "exchange.declare (passive)")
                   ? SFC_OK
                   : SFC_ERR_AMQP;
    }
    link_channel_ok(l, errstr, errsz, "exchange.declare");
    return SFC_ERR_AMQP;
}

static struct amqp_link_bytes from_bytes(amqp_bytes_t b)
{
    struct amqp_link_bytes o = {b.bytes, b.len};

    return o;
}

static const amqp_field_value_t *header(const struct amqp_link_delivery *d,
                                        const char *key)
{
    const amqp_basic_properties_t *p = link_props_of(d);
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
    /* The table's room: its entries and the strings of their arrays. */
    amqp_table_entry_t entries[AMQP_LINK_MAX_HEADERS];
    amqp_field_value_t items[AMQP_LINK_MAX_HEADERS];
    amqp_table_t t;
    amqp_rpc_reply_t r;
    bool passive = false;

    if (link_to_table(args, n_args, entries, items, &t) != SFC_OK) {
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
    if (!link_channel_ok(l, errstr, errsz, "queue.declare"))
        return SFC_ERR_AMQP;
    if (as_is)
        *as_is = passive;
    if (!key)
        return SFC_OK;
    amqp_queue_bind(l->conn, CHANNEL, amqp_cstring_bytes(name),
                    amqp_cstring_bytes(exchange), amqp_cstring_bytes(key),
                    amqp_empty_table);
    return link_channel_ok(l, errstr, errsz, "queue.bind") ? SFC_OK
                                                           : SFC_ERR_AMQP;
}

sfc_err_t amqp_link_consume(struct amqp_link *l,
                            const char *queue,
                            unsigned prefetch,
                            char *errstr,
                            size_t errsz)
{
    if (link_flush_held(l) != SFC_OK) {
        sfc_errstr_set(errstr, errsz, "connection to %s lost", l->shown_uri);
        return SFC_ERR_AMQP;
    }
    amqp_basic_qos(l->conn, CHANNEL, 0,
                   prefetch > UINT16_MAX ? UINT16_MAX : (uint16_t)prefetch, 0);
    if (!link_channel_ok(l, errstr, errsz, "basic.qos"))
        return SFC_ERR_AMQP;
    amqp_basic_consume(l->conn, CHANNEL, amqp_cstring_bytes(queue),
                       amqp_empty_bytes, 0, 0, 0, amqp_empty_table);
    return link_channel_ok(l, errstr, errsz, "basic.consume") ? SFC_OK
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
    amqp_basic_ack_t m = {.delivery_tag = tag, .multiple = 0};

    if (!l->open)
        return SFC_ERR_AMQP;
    if (l->out)
        return link_put_method(l, AMQP_BASIC_ACK_METHOD, &m);
    if (link_flush_held(l) != SFC_OK)
        return SFC_ERR_AMQP;
    return written(l, amqp_basic_ack(l->conn, CHANNEL, tag, 0), "basic.ack");
}

sfc_err_t amqp_link_reject(struct amqp_link *l, uint64_t tag, bool requeue)
{
    amqp_basic_reject_t m = {.delivery_tag = tag, .requeue = requeue};

    if (!l->open)
        return SFC_ERR_AMQP;
    if (l->out)
        return link_put_method(l, AMQP_BASIC_REJECT_METHOD, &m);
    if (link_flush_held(l) != SFC_OK)
        return SFC_ERR_AMQP;
    return written(l, amqp_basic_reject(l->conn, CHANNEL, tag, requeue),
                   "basic.reject");
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
    if (l->out_len && link_flush(l) != SFC_OK)
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
