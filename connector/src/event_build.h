/*
 * event_build.h - what every Nameko event made of a Salesforce event has,
 * whatever its entrypoint: the body and the message id (the channel and
 * the routing key are the entrypoint kind's: entrypoint.h). Pure
 * functions.
 */
#ifndef SFC_CONNECTOR_EVENT_BUILD_H
#define SFC_CONNECTOR_EVENT_BUILD_H

#include "sfc/streaming.h"

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
