/* Salesforce event -> Nameko event: channel, routing key, body, id. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "event_build.h"

static char *lower(char *s)
{
    for (char *p = s; p && *p; p++)
        *p = (char)tolower((unsigned char)*p);
    return s;
}

char *event_channel_of(const struct sfc_config_entrypoint *ep)
{
    switch (ep->kind) {
    case SFC_EP_SUBSCRIBE:
        return sfc_xstrdup(ep->channel);
    case SFC_EP_HANDLE_NOTIFICATION:
        return sfc_xasprintf("/topic/%s", ep->name);
    case SFC_EP_HANDLE_SOBJECT_NOTIFICATION:
        return sfc_xasprintf("/topic/%s%s", ep->sobject_type,
                             ep->record_type ? ep->record_type : "");
    case SFC_EP_CDC: {
        size_t n;

        if (ep->channel && *ep->channel)
            return sfc_xstrdup(ep->channel);
        n = strlen(ep->sobject_type);
        if (n > 3 && strcmp(ep->sobject_type + n - 3, "__c") == 0)
            return sfc_xasprintf("/data/%.*s__ChangeEvent", (int)(n - 3),
                                 ep->sobject_type);
        return sfc_xasprintf("/data/%sChangeEvent", ep->sobject_type);
    }
    case SFC_EP_PLATFORM_EVENT:
        if (ep->channel && *ep->channel)
            return sfc_xstrdup(ep->channel);
        return sfc_xasprintf("/event/%s", ep->name);
    }
    return sfc_xstrdup("");
}

char *event_query_object(const char *query)
{
    const char *p = query ? strcasestr(query, " FROM ") : NULL;
    size_t n;

    if (!p)
        return NULL;
    p += 6;
    p += strspn(p, " ");
    n = strcspn(p, " ,;");
    return n ? sfc_xstrndup(p, n) : NULL;
}

char *event_routing_key(const struct sfc_config_entrypoint *ep,
                        const struct sfc_stream_event *ev)
{
    const char *type = ev->event_type ? ev->event_type : "event";
    const char *slash = strrchr(ev->channel, '/');
    const char *name = slash ? slash + 1 : ev->channel;
    char *obj = NULL, *rk;

    if (ep->event_type && *ep->event_type)
        return sfc_xstrdup(ep->event_type);
    switch (ev->kind) {
    case SFC_STREAM_KIND_PUSHTOPIC:
        if (ep->kind == SFC_EP_HANDLE_SOBJECT_NOTIFICATION)
            obj = sfc_xstrdup(ep->sobject_type);
        else if (ep->kind == SFC_EP_HANDLE_NOTIFICATION)
            obj = event_query_object(ep->query);
        if (!obj)
            obj = sfc_xstrdup(name);
        rk = sfc_xconcat("salesforce_", obj, "_", type, NULL);
        free(obj);
        return lower(rk);
    case SFC_STREAM_KIND_CDC:
        rk = sfc_xconcat("salesforce_", ev->entity ? ev->entity : name, "_",
                         type, NULL);
        return lower(rk);
    case SFC_STREAM_KIND_PLATFORM_EVENT:
        return sfc_xstrdup(name);
    default:
        return lower(sfc_xconcat("salesforce_", name, NULL));
    }
}

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
