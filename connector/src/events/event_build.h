/*
 * event_build.h - what every Nameko event made of a Salesforce event has,
 * whatever its entrypoint: the body and the message id (the channel and
 * the routing key are the entrypoint kind's: entrypoint.h). Pure
 * functions.
 */
#ifndef SFC_CONNECTOR_EVENT_BUILD_H
#define SFC_CONNECTOR_EVENT_BUILD_H

#include "sfc/streaming.h"

/* The body consumers receive (the stream's record of @ev, see
 * sfc_stream_event_record()) as a copy; caller frees. */
char *event_body(struct sfc_stream_event *ev);

/* "<channel>:<replay id>": the same event always gets the same id. Written
 * to @out (room for the channel and 23 bytes), NUL-terminated; returns its
 * length. */
size_t event_message_id(char *out, const struct sfc_stream_event *ev);

#endif
