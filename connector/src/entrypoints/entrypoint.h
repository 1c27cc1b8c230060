/*
 * entrypoint.h - the dispatch table of entrypoint kinds: one row per kind
 * (subscribe, handle_notification, handle_sobject_notification, cdc,
 * platform_event) saying what an entry of that kind needs in the config,
 * which channel it listens on, what it declares at Salesforce, and how its
 * events become Nameko events. Adding a kind is one row in
 * entrypoint_kinds.c and its functions (DEVELOPERS.md has the checklist).
 *
 * The rows are constant; every function is pure except declare(), which
 * calls Salesforce. Thread: any.
 */
#ifndef SFC_CONNECTOR_ENTRYPOINT_H
#define SFC_CONNECTOR_ENTRYPOINT_H

#include <stdbool.h>
#include <stddef.h>

#include "sfc/api.h"
#include "sfc/connector.h"
#include "sfc/streaming.h"

struct sfc_entrypoint_kind;

/* One entry of streaming.entrypoints as loaded (strings owned by the
 * config; NULL when not set). */
struct sfc_config_entrypoint {
    int line; /* line of the entry in its file, for later messages */
    const struct sfc_entrypoint_kind *kind; /* a row of the table */
    char *channel;
    char *name;
    char *query;
    char *sobject_type;
    char *record_type;
    bool declare; /* handle_sobject_notification: declare the PushTopic */
    bool exclude_current_user;
    char *notify_for_fields;
    bool notify_for_operation_create;
    bool notify_for_operation_update;
    bool notify_for_operation_delete;
    bool notify_for_operation_undelete;
    enum sfc_stream_start replay;
    char *event_type;
    char *handler;
};

struct sfc_entrypoint_kind {
    const char *name; /* as written in the config; the first member */
    /* The entry keys the kind reads besides kind, replay, event_type and
     * handler (NULL-terminated), for --help-config. */
    const char *const *keys;
    /* False, with what is missing in @why (never a value of @ep: it may
     * have come from the environment), when @ep cannot work. */
    bool (*check)(const struct sfc_config_entrypoint *ep,
                  char *why,
                  size_t why_size);
    /* The channel to subscribe to. Caller frees. */
    char *(*channel_of)(const struct sfc_config_entrypoint *ep);
    /* Declares at Salesforce what the channel needs (a PushTopic), before
     * the subscription; NULL when the kind needs nothing declared.
     * *err is set on failure (the caller destroys it). */
    sfc_err_t (*declare)(const struct sfc_config_entrypoint *ep,
                         struct sfc_api_client *api,
                         struct sfc_api_error **err);
    /* The routing key (Nameko event type) of @ev. Caller frees. */
    char *(*routing_key_of)(const struct sfc_config_entrypoint *ep,
                            const struct sfc_stream_event *ev);
    /* The published body of @ev: a span valid while @ev is (*owned NULL),
     * or text the caller frees (*owned). NULL for the stream's record
     * (sfc_stream_event_record), which a kind publishes unless it sets
     * something else here. */
    const char *(*body_of)(struct sfc_stream_event *ev,
                           char **owned,
                           size_t *len);
    /* What handlers are told about @ep besides its channel (the arguments
     * nameko-salesforce hands its handlers): name, sobject_type and
     * record_type of @out, borrowed from @ep. */
    void (*describe)(const struct sfc_config_entrypoint *ep,
                     struct sfc_connector_entrypoint *out);
};

/* The table (its last row, named NULL, ends it), and how many kinds. */
extern const struct sfc_entrypoint_kind sfc_entrypoint_kinds[];
extern const size_t sfc_n_entrypoint_kinds;

#endif
