/*
 * The rows of the entrypoint table (see entrypoint.h): one per kind, with
 * the functions that make it what it is.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "entrypoint.h"

#define PUSHTOPIC_NAME_MAX 25 /* Salesforce's limit on PushTopic.Name */

static bool empty(const char *s)
{
    return !s || !*s;
}

static char *lower(char *s)
{
    for (char *p = s; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    return s;
}

/* The sObject of a PushTopic query ("... FROM Contact WHERE ..."), or
 * NULL. Caller frees. */
static char *query_object(const char *query)
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

/*
 * The routing key every kind shares: the entry's event_type when set;
 * else by the channel's kind: salesforce_<object>_<type> for PushTopics
 * (@object, or the topic's name), salesforce_<entity>_<changetype> for
 * CDC, the event's name for platform events, salesforce_<name> for the
 * rest; lower case but for platform events.
 */
static char *key_for(const struct sfc_config_entrypoint *ep,
                     const struct sfc_stream_event *ev,
                     const char *object)
{
    const char *type = ev->event_type ? ev->event_type : "event";
    const char *slash = strrchr(ev->channel, '/');
    const char *name = slash ? slash + 1 : ev->channel;

    if (!empty(ep->event_type))
        return sfc_xstrdup(ep->event_type);
    switch (ev->kind) {
    case SFC_STREAM_KIND_PUSHTOPIC:
        return lower(sfc_xconcat("salesforce_", object ? object : name, "_",
                                 type, NULL));
    case SFC_STREAM_KIND_CDC:
        return lower(sfc_xconcat("salesforce_", ev->entity ? ev->entity : name,
                                 "_", type, NULL));
    case SFC_STREAM_KIND_PLATFORM_EVENT:
        return sfc_xstrdup(name);
    default:
        return lower(sfc_xconcat("salesforce_", name, NULL));
    }
}

static bool say(char *why, size_t size, const char *text)
{
    snprintf(why, size, "%s", text);
    return false;
}

/* Handlers of the kinds named by a PushTopic or an event learn that name. */
static void name_describe(const struct sfc_config_entrypoint *ep,
                          struct sfc_connector_entrypoint *out)
{
    out->name = ep->name;
}

/* subscribe: a channel as it is, declared by somebody else. ------------ */

static const char *const subscribe_keys[] = {"channel", NULL};

static bool
subscribe_check(const struct sfc_config_entrypoint *ep, char *why, size_t size)
{
    if (empty(ep->channel) || ep->channel[0] != '/')
        return say(why, size,
                   "kind = subscribe needs a channel starting with /");
    return true;
}

static char *subscribe_channel(const struct sfc_config_entrypoint *ep)
{
    return sfc_xstrdup(ep->channel);
}

static char *subscribe_key(const struct sfc_config_entrypoint *ep,
                           const struct sfc_stream_event *ev)
{
    return key_for(ep, ev, NULL);
}

static void subscribe_describe(const struct sfc_config_entrypoint *ep,
                               struct sfc_connector_entrypoint *out)
{
    out->name = ep->channel;
}

/* handle_notification: a PushTopic by name, declared with the query when
 * one is given, else one that exists already. ---------------------------- */

static const char *const notification_keys[] = {"name",
                                                "query",
                                                "notify_for_fields",
                                                "notify_for_operation_create",
                                                "notify_for_operation_update",
                                                "notify_for_operation_delete",
                                                "notify_for_operation_undelete",
                                                NULL};

static bool topic_name_fits(const char *name, char *why, size_t size)
{
    size_t n = strlen(name);

    if (n <= PUSHTOPIC_NAME_MAX)
        return true;
    snprintf(why, size,
             "the PushTopic name is %zu characters long; Salesforce allows "
             "%d",
             n, PUSHTOPIC_NAME_MAX);
    return false;
}

static bool notification_check(const struct sfc_config_entrypoint *ep,
                               char *why,
                               size_t size)
{
    if (empty(ep->name))
        return say(why, size,
                   "kind = handle_notification needs name (and a query to "
                   "declare the PushTopic)");
    return topic_name_fits(ep->name, why, size);
}

static char *notification_channel(const struct sfc_config_entrypoint *ep)
{
    return sfc_xconcat("/topic/", ep->name, NULL);
}

static void notify_of(const struct sfc_config_entrypoint *ep,
                      struct sfc_pushtopic_notify *n)
{
    n->notify_for_fields = ep->notify_for_fields;
    n->on_create = ep->notify_for_operation_create;
    n->on_update = ep->notify_for_operation_update;
    n->on_delete = ep->notify_for_operation_delete;
    n->on_undelete = ep->notify_for_operation_undelete;
}

static sfc_err_t notification_declare(const struct sfc_config_entrypoint *ep,
                                      struct sfc_api_client *api,
                                      struct sfc_api_error **err)
{
    struct sfc_pushtopic_notify n;

    if (empty(ep->query)) /* an existing PushTopic: nothing to declare */
        return SFC_OK;
    notify_of(ep, &n);
    return sfc_pushtopic_declare(api, ep->name, ep->query, &n, err);
}

static char *notification_key(const struct sfc_config_entrypoint *ep,
                              const struct sfc_stream_event *ev)
{
    char *object = query_object(ep->query);
    char *key = key_for(ep, ev, object);

    free(object);
    return key;
}

/* handle_sobject_notification: a PushTopic built for an sObject (and a
 * record type). -------------------------------------------------------- */

static const char *const sobject_keys[] = {"sobject_type",
                                           "record_type",
                                           "declare",
                                           "exclude_current_user",
                                           "notify_for_fields",
                                           "notify_for_operation_create",
                                           "notify_for_operation_update",
                                           "notify_for_operation_delete",
                                           "notify_for_operation_undelete",
                                           NULL};

static bool
sobject_check(const struct sfc_config_entrypoint *ep, char *why, size_t size)
{
    if (empty(ep->sobject_type))
        return say(why, size,
                   "kind = handle_sobject_notification needs sobject_type");
    return true;
}

static char *sobject_channel(const struct sfc_config_entrypoint *ep)
{
    return sfc_xconcat("/topic/", ep->sobject_type,
                       ep->record_type ? ep->record_type : "", NULL);
}

static sfc_err_t sobject_declare(const struct sfc_config_entrypoint *ep,
                                 struct sfc_api_client *api,
                                 struct sfc_api_error **err)
{
    struct sfc_pushtopic_notify n;
    char *name = NULL, *query = NULL;
    sfc_err_t rc;

    if (!ep->declare) /* an existing PushTopic: nothing to declare */
        return SFC_OK;
    notify_of(ep, &n);
    rc = sfc_pushtopic_sobject_query(api, ep->sobject_type, ep->record_type,
                                     ep->exclude_current_user, &name, &query,
                                     err);
    if (rc == SFC_OK)
        rc = sfc_pushtopic_declare(api, name, query, &n, err);
    free(name);
    free(query);
    return rc;
}

static char *sobject_key(const struct sfc_config_entrypoint *ep,
                         const struct sfc_stream_event *ev)
{
    return key_for(ep, ev, ep->sobject_type);
}

static void sobject_describe(const struct sfc_config_entrypoint *ep,
                             struct sfc_connector_entrypoint *out)
{
    out->sobject_type = ep->sobject_type;
    out->record_type = ep->record_type;
}

/* cdc: Change Data Capture, one object's channel or a given one. ------- */

static const char *const cdc_keys[] = {"channel", "sobject_type", NULL};

static bool
cdc_check(const struct sfc_config_entrypoint *ep, char *why, size_t size)
{
    if (empty(ep->channel) && empty(ep->sobject_type))
        return say(why, size, "kind = cdc needs channel or sobject_type");
    if (!empty(ep->channel) && strncmp(ep->channel, "/data/", 6) != 0)
        return say(why, size, "CDC channels start with /data/");
    return true;
}

static char *cdc_channel(const struct sfc_config_entrypoint *ep)
{
    size_t n;

    if (!empty(ep->channel))
        return sfc_xstrdup(ep->channel);
    n = strlen(ep->sobject_type);
    /* Custom objects: Thing__c changes on /data/Thing__ChangeEvent. */
    if (n > 3 && strcmp(ep->sobject_type + n - 3, "__c") == 0)
        return sfc_xasprintf("/data/%.*s__ChangeEvent", (int)(n - 3),
                             ep->sobject_type);
    return sfc_xconcat("/data/", ep->sobject_type, "ChangeEvent", NULL);
}

static void cdc_describe(const struct sfc_config_entrypoint *ep,
                         struct sfc_connector_entrypoint *out)
{
    out->sobject_type = ep->sobject_type;
}

/* platform_event: /event/<Name>__e. ------------------------------------ */

static const char *const platform_keys[] = {"channel", "name", NULL};

static bool
platform_check(const struct sfc_config_entrypoint *ep, char *why, size_t size)
{
    size_t n = ep->name ? strlen(ep->name) : 0;

    if (empty(ep->channel) && empty(ep->name))
        return say(why, size, "kind = platform_event needs channel or name");
    if (n && (n < 4 || strcmp(ep->name + n - 3, "__e") != 0))
        return say(why, size, "platform event names end in __e");
    return true;
}

static char *platform_channel(const struct sfc_config_entrypoint *ep)
{
    if (!empty(ep->channel))
        return sfc_xstrdup(ep->channel);
    return sfc_xconcat("/event/", ep->name, NULL);
}

/* The table. ----------------------------------------------------------- */

const struct sfc_entrypoint_kind sfc_entrypoint_kinds[] = {
    {
        .name = "subscribe",
        .keys = subscribe_keys,
        .check = subscribe_check,
        .channel_of = subscribe_channel,
        .routing_key_of = subscribe_key,
        .describe = subscribe_describe,
    },
    {
        .name = "handle_notification",
        .keys = notification_keys,
        .check = notification_check,
        .channel_of = notification_channel,
        .declare = notification_declare,
        .routing_key_of = notification_key,
        .describe = name_describe,
    },
    {
        .name = "handle_sobject_notification",
        .keys = sobject_keys,
        .check = sobject_check,
        .channel_of = sobject_channel,
        .declare = sobject_declare,
        .routing_key_of = sobject_key,
        .describe = sobject_describe,
    },
    {
        .name = "cdc",
        .keys = cdc_keys,
        .check = cdc_check,
        .channel_of = cdc_channel,
        .routing_key_of = subscribe_key,
        .describe = cdc_describe,
    },
    {
        .name = "platform_event",
        .keys = platform_keys,
        .check = platform_check,
        .channel_of = platform_channel,
        .routing_key_of = subscribe_key,
        .describe = name_describe,
    },
    {.name = NULL}, /* the end */
};
const size_t sfc_n_entrypoint_kinds =
    sizeof(sfc_entrypoint_kinds) / sizeof(sfc_entrypoint_kinds[0]) - 1;
