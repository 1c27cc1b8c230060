/*
 * event_build.h - how a Salesforce event becomes a Nameko event: the
 * channel an entrypoint listens on, the routing key (event type) and the
 * body. Pure functions.
 */
#ifndef SFC_CONNECTOR_EVENT_BUILD_H
#define SFC_CONNECTOR_EVENT_BUILD_H

#include "config.h"
#include "sfc/streaming.h"

/* The channel @ep subscribes to; caller frees. */
char *event_channel_of(const struct sfc_config_entrypoint *ep);

/* The sObject of a PushTopic query ("... FROM Contact WHERE ..."); caller
 * frees; NULL when there is none. */
char *event_query_object(const char *query);

/*
 * The routing key for @ev delivered to @ep:
 * salesforce_<sobject>_<created|updated|deleted|undeleted> for PushTopics,
 * salesforce_<entity>_<changetype> for CDC (lower case), the event name for
 * platform events, event_type (or salesforce_<name>) for the rest. Caller
 * frees.
 */
char *event_routing_key(const struct sfc_config_entrypoint *ep,
                        const struct sfc_stream_event *ev);

/* The body consumers receive (data.sobject, data.payload, or data);
 * caller frees. */
char *event_body(struct sfc_stream_event *ev);

/*
 * The body without a copy where it can be: a span of ev->data_json, valid
 * while the event is (*owned = NULL), or one printed from the tree (*owned,
 * the caller frees it; the tree is built then if the event came without).
 * *len: its length.
 */
const char *
event_body_view(struct sfc_stream_event *ev, char **owned, size_t *len);

/* "<channel>:<replay id>": the same event always gets the same id. Written
 * to @out (room for the channel and 23 bytes), NUL-terminated; returns its
 * length. */
size_t event_message_id(char *out, const struct sfc_stream_event *ev);

#endif
