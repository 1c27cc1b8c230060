/* Salesforce event -> Nameko event: the body and the message id. */
#include <stdlib.h>
#include <string.h>

#include "event_build.h"

static const cJSON *body_part(struct sfc_stream_event *ev)
{
    const cJSON *data = sfc_stream_event_data(ev), *part = NULL;

    if (ev->kind == SFC_STREAM_KIND_PUSHTOPIC)
        part = cJSON_GetObjectItemCaseSensitive(data, "sobject");
    else if (ev->kind != SFC_STREAM_KIND_OTHER)
        part = cJSON_GetObjectItemCaseSensitive(data, "payload");
    return part ? part : data;
}

/*
 * The body as Salesforce wrote it, cut out of the event's "data" text:
 * no tree is printed, and numbers keep every digit. False when the event
 * has no text or the member cannot be found without a parser.
 */
static bool body_as_received(const struct sfc_stream_event *ev,
                             const char **body,
                             size_t *len)
{
    const char *key = ev->kind == SFC_STREAM_KIND_PUSHTOPIC ? "sobject"
                      : ev->kind != SFC_STREAM_KIND_OTHER   ? "payload"
                                                            : NULL;

    if (!ev->data_json)
        return false;
    if (key && ev->record_len) { /* found by the stream already */
        *body = ev->data_json + ev->record_at;
        *len = ev->record_len;
        return true;
    }
    if (!key) {
        *body = ev->data_json;
        *len = ev->data_json_len;
        return true;
    }
    /* False: absent, or behind an escaped key; the tree decides. */
    return sfc_json_member_span(ev->data_json, ev->data_json_len, key, body,
                                len);
}

const char *
event_body_view(struct sfc_stream_event *ev, char **owned, size_t *len)
{
    const char *body;

    *owned = NULL;
    if (body_as_received(ev, &body, len))
        return body;
    *owned = sfc_json_print(body_part(ev));
    *len = strlen(*owned);
    return *owned;
}

char *event_body(struct sfc_stream_event *ev)
{
    char *owned;
    size_t len;
    const char *body = event_body_view(ev, &owned, &len);

    return owned ? owned : sfc_xstrndup(body, len);
}

size_t event_message_id(char *out, const struct sfc_stream_event *ev)
{
    size_t n = strlen(ev->channel);

    memcpy(out, ev->channel, n);
    out[n++] = ':';
    return n + sfc_fmt_i64(out + n, ev->replay_id);
}
