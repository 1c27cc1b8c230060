/*
 * The AMQP link's send path: publishes with our headers or a request's
 * properties, framed here on plain TCP (method, content header and body
 * frames encoded into one buffer, held while a batch is on) and written
 * together, with a stalled broker logged and timed out; under TLS
 * rabbitmq-c frames and writes them (see amqp_link.h).
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <amqp.h>

#include "amqp_link_int.h"

/* A frame: type, channel, payload size; the payload; the end octet. */
#define FRAME_HEAD 7
#define FRAME_OVER 8
/* What precedes the encoded arguments or properties in a method frame's
 * payload (the method id) and in a content header's (class, weight, body
 * size). */
#define METHOD_PRE 4
#define HEADER_PRE 12

const struct amqp_basic_properties_t_ *
link_props_of(const struct amqp_link_delivery *d)
{
    return (const amqp_basic_properties_t *)(const void *)d->props;
}

static amqp_bytes_t to_bytes(struct amqp_link_bytes b)
{
    amqp_bytes_t o = {b.len, (void *)b.p};

    return o;
}

sfc_err_t link_to_table(const struct amqp_link_header *h,
                        size_t n,
                        amqp_table_entry_t *entries,
                        amqp_field_value_t *items,
                        amqp_table_t *t)
{
    size_t used = 0;

    if (n > AMQP_LINK_MAX_HEADERS)
        return SFC_ERR_INVALID_ARG;
    for (size_t i = 0; i < n; i++) {
        amqp_table_entry_t *e = &entries[i];

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
            e->value.value.array.entries = items + used;
            for (size_t k = 0; k < h[i].n; k++) {
                items[used].kind = AMQP_FIELD_KIND_UTF8;
                items[used++].value.bytes = amqp_cstring_bytes(h[i].strs[k]);
            }
            break;
        case AMQP_LINK_ABSENT:
            e->value.kind = AMQP_FIELD_KIND_VOID;
            break;
        }
    }
    t->num_entries = (int)n;
    t->entries = entries;
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
sfc_err_t link_flush(struct amqp_link *l)
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
 * Appends a method frame (@header NULL: method @id with its arguments
 * @method, as rabbitmq-c decodes them) or the content header carrying
 * @header, encoded by rabbitmq-c. When the room left is too small the
 * output is sent first; one frame always fits an empty buffer unless it
 * exceeds frame_max.
 */
static sfc_err_t put_encoded(struct amqp_link *l,
                             uint32_t id,
                             void *method,
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
            n = header ? amqp_encode_properties(AMQP_BASIC_CLASS, header, e)
                       : amqp_encode_method(id, method, e);
        if (n >= 0) {
            if (header) {
                put_u16(p, AMQP_BASIC_CLASS);
                put_u16(p + 2, 0); /* weight */
                put_u32(p + 4, (uint32_t)(body_size >> 32));
                put_u32(p + 8, (uint32_t)body_size);
            } else {
                put_u32(p, id);
            }
            end_frame(l, header ? AMQP_FRAME_HEADER : AMQP_FRAME_METHOD,
                      pre + (size_t)n);
            return SFC_OK;
        }
        if (!l->out_len)
            break;
        if (link_flush(l) != SFC_OK)
            return SFC_ERR_AMQP;
    }
    sfc_log(SFC_LOG_WARN, AMQP_MOD,
            "a frame to %s could not be encoded (more than frame_max %zu "
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

        if (l->out_cap - l->out_len < n + FRAME_OVER && link_flush(l) != SFC_OK)
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
    if (put_encoded(l, AMQP_BASIC_PUBLISH_METHOD, m, NULL, 0) != SFC_OK ||
        put_encoded(l, 0, NULL, props, len) != SFC_OK ||
        put_body(l, body, len) != SFC_OK)
        return SFC_ERR_AMQP;
    return l->holding ? SFC_OK : link_flush(l);
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
    /* The table's room: its entries and the strings of their arrays. */
    amqp_table_entry_t entries[AMQP_LINK_MAX_HEADERS];
    amqp_field_value_t items[AMQP_LINK_MAX_HEADERS];
    amqp_table_t ours, h;
    amqp_table_entry_t *joined;
    amqp_basic_properties_t props = {0};
    sfc_err_t rc;

    if (!l->open)
        return SFC_ERR_AMQP;
    if (link_to_table(m->headers, m->n_headers, entries, items, &ours) !=
        SFC_OK)
        return SFC_ERR_INVALID_ARG;
    if (m->headers_of) {
        const amqp_basic_properties_t *of = link_props_of(m->headers_of);

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
        props = *link_props_of(m->headers_of);
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

sfc_err_t link_put_method(struct amqp_link *l, uint32_t id, void *method)
{
    if (put_encoded(l, id, method, NULL, 0) != SFC_OK) {
        if (l->open)
            amqp_link_abandon(l);
        return SFC_ERR_AMQP;
    }
    return l->holding ? SFC_OK : link_flush(l);
}

sfc_err_t link_flush_held(struct amqp_link *l)
{
    if (!l->open)
        return SFC_ERR_AMQP;
    return l->out_len ? link_flush(l) : SFC_OK;
}
void amqp_link_batch(struct amqp_link *l, bool on)
{
    int v = on;

    l->holding = on;
    if (!l->open)
        return;
    if (l->out) {
        if (!on && l->out_len)
            link_flush(l);
        return;
    }
    /*
     * rabbitmq-c writes each publish as three sends, the last one pushed:
     * a segment per message, each a separate read for the broker. Corking
     * leaves that to the kernel; uncorking sends the rest at once.
     */
    setsockopt(amqp_get_sockfd(l->conn), IPPROTO_TCP, TCP_CORK, &v, sizeof(v));
}
