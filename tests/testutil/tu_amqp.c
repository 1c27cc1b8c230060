/* tu_amqp.c - see tu_amqp.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <amqp_tcp_socket.h>
#include <curl/curl.h>

#include "testutil.h"
#include "tu_amqp.h"

/* A part of @u, URL-decoded, into @out; @dflt when the URI has none. */
static void
url_part(CURLU *u, CURLUPart what, const char *dflt, char *out, size_t size)
{
    char *v = NULL;

    if (curl_url_get(u, what, &v, CURLU_URLDECODE) == CURLUE_OK && v && *v)
        snprintf(out, size, "%s", v);
    else
        snprintf(out, size, "%s", dflt);
    curl_free(v);
}

amqp_connection_state_t tu_amqp_connect(void)
{
    char host[256], port[16], user[128], password[128], path[256] = "";
    const char *vhost = "/";
    amqp_connection_state_t c = NULL;
    amqp_socket_t *s;
    amqp_rpc_reply_t r;
    CURLU *u = curl_url();
    char *raw = NULL;

    if (!u || curl_url_set(u, CURLUPART_URL, tu_amqp_uri(),
                           CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK) {
        fprintf(stderr, "tu_amqp_connect: cannot read the broker URI\n");
        goto out;
    }
    url_part(u, CURLUPART_HOST, "127.0.0.1", host, sizeof(host));
    url_part(u, CURLUPART_PORT, "5672", port, sizeof(port));
    url_part(u, CURLUPART_USER, "guest", user, sizeof(user));
    url_part(u, CURLUPART_PASSWORD, "guest", password, sizeof(password));
    /* The vhost: the path after its first '/', then decoded ("//" is "/"). */
    if (curl_url_get(u, CURLUPART_PATH, &raw, 0) == CURLUE_OK && raw &&
        raw[0] == '/' && raw[1]) {
        char *dec = curl_easy_unescape(NULL, raw + 1, 0, NULL);

        snprintf(path, sizeof(path), "%s", dec ? dec : "");
        curl_free(dec);
        vhost = path;
    }
    curl_free(raw);
    c = amqp_new_connection();
    s = amqp_tcp_socket_new(c);
    if (!s || amqp_socket_open(s, host, atoi(port)) != AMQP_STATUS_OK) {
        fprintf(stderr, "tu_amqp_connect: cannot reach the broker at %s:%s\n",
                host, port);
        goto fail;
    }
    r = amqp_login(c, vhost, 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, user,
                   password);
    if (r.reply_type != AMQP_RESPONSE_NORMAL) {
        fprintf(stderr,
                "tu_amqp_connect: the broker at %s:%s refused the login of "
                "%s to vhost %s\n",
                host, port, user, vhost);
        goto fail;
    }
    amqp_channel_open(c, 1);
    if (amqp_get_rpc_reply(c).reply_type != AMQP_RESPONSE_NORMAL) {
        fprintf(stderr, "tu_amqp_connect: cannot open a channel\n");
        goto fail;
    }
    goto out;
fail:
    amqp_destroy_connection(c);
    c = NULL;
out:
    curl_url_cleanup(u);
    return c;
}

void tu_amqp_bind_consume(amqp_connection_state_t c,
                          const char *exchange,
                          const char *key)
{
    amqp_queue_declare_ok_t *q;

    amqp_exchange_declare(c, 1, amqp_cstring_bytes(exchange),
                          amqp_cstring_bytes("topic"), 0, 1, 0, 0,
                          amqp_empty_table);
    q = amqp_queue_declare(c, 1, amqp_empty_bytes, 0, 0, 0, 1,
                           amqp_empty_table);
    amqp_queue_bind(c, 1, q->queue, amqp_cstring_bytes(exchange),
                    amqp_cstring_bytes(key), amqp_empty_table);
    amqp_basic_consume(c, 1, q->queue, amqp_empty_bytes, 0, 1, 0,
                       amqp_empty_table);
}

void tu_amqp_event_props(amqp_basic_properties_t *p,
                         amqp_table_entry_t hdr[3],
                         amqp_field_value_t *item,
                         const char *mid,
                         const char *call_id,
                         int64_t replay,
                         const char *client_id)
{
    *p = (amqp_basic_properties_t){0};
    p->_flags = AMQP_BASIC_CONTENT_TYPE_FLAG |
                AMQP_BASIC_CONTENT_ENCODING_FLAG |
                AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_PRIORITY_FLAG |
                AMQP_BASIC_MESSAGE_ID_FLAG | AMQP_BASIC_HEADERS_FLAG;
    p->content_type = amqp_cstring_bytes("application/json");
    p->content_encoding = amqp_cstring_bytes("utf-8");
    p->delivery_mode = 2;
    p->message_id = amqp_cstring_bytes(mid);
    item->kind = AMQP_FIELD_KIND_UTF8;
    item->value.bytes = amqp_cstring_bytes(call_id);
    hdr[0].key = amqp_cstring_bytes("nameko.call_id_stack");
    hdr[0].value.kind = AMQP_FIELD_KIND_ARRAY;
    hdr[0].value.value.array.num_entries = 1;
    hdr[0].value.value.array.entries = item;
    hdr[1].key = amqp_cstring_bytes("nameko.replay_id");
    hdr[1].value.kind = AMQP_FIELD_KIND_I64;
    hdr[1].value.value.i64 = replay;
    hdr[2].key = amqp_cstring_bytes("nameko.client_id");
    hdr[2].value.kind = AMQP_FIELD_KIND_UTF8;
    hdr[2].value.value.bytes = amqp_cstring_bytes(client_id);
    p->headers.num_entries = 3;
    p->headers.entries = hdr;
}
