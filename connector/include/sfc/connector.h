/*
 * sfc/connector.h - the daemon: configuration, AMQP side, dispatch table of
 * entrypoints, event proxy, RPC responder wiring, and the command line.
 */
#ifndef SFC_CONNECTOR_H
#define SFC_CONNECTOR_H

#include "sfc/common.h"
#include "sfc/streaming.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Runs the sfconnector command line (what main() does). Returns the process
 * exit status. Thread: main thread only; installs signal handlers.
 */
int sfc_connector_main(int argc, char **argv);

/* ------------------------------------------------------------------------ */
/* Handlers: the dispatch table of entrypoints                              */
/* ------------------------------------------------------------------------ */

/*
 * The registry handlers are added to: by the daemon (the built-in "proxy"),
 * by programs that embed us, and by plugins named in the config.
 */
struct sfc_connector_registry;

/*
 * The entrypoint an event came through, as its handler sees it: what
 * nameko-salesforce hands its handlers as first arguments (the channel for
 * subscribe, the PushTopic name for handle_notification, sobject_type and
 * record_type for handle_sobject_notification). Strings are borrowed for
 * the daemon's lifetime; absent ones are NULL.
 */
struct sfc_connector_entrypoint {
    const char *id;      /* "<service>.<kind>": its Nameko call id prefix */
    const char *kind;    /* "handle_sobject_notification", ... */
    const char *channel; /* "/topic/Contact", as subscribed */
    /* subscribe: the channel; handle_notification: the PushTopic name;
     * platform_event: the event's name ("Order_Event__e") when configured
     * by name; NULL for the others. */
    const char *name;
    const char *sobject_type; /* handle_sobject_notification, cdc */
    const char *record_type;  /* handle_sobject_notification */
};

/*
 * A handler gets every event of the entrypoints that name it, with the
 * entrypoint it came through (@ep, borrowed for the daemon's lifetime).
 * Returning SFC_OK means the event was handled: once every handler of an
 * event did, its replay id may be committed. Any other status stops the
 * daemon (the event is not committed, so it comes back after a restart).
 * ev->data is the event's data as a tree (built for handlers only: the
 * proxy forwards the text, ev->data_json).
 * Thread: called on the daemon's dispatch thread, one event at a time.
 */
typedef sfc_err_t (*sfc_connector_handler_fn)(
    void *opaque,
    const struct sfc_connector_entrypoint *ep,
    const struct sfc_stream_event *ev);

/*
 * Registers @fn under @name (the config's entrypoint "handler" key). A name
 * may be registered once; SFC_ERR_INVALID_ARG otherwise (or for a NULL or
 * empty name or a NULL @fn). @opaque is passed back on every call.
 * Thread: the main thread, before the daemon runs (plugins register from
 * sfc_plugin_register()).
 */
sfc_err_t sfc_connector_handler_register(struct sfc_connector_registry *r,
                                         const char *name,
                                         sfc_connector_handler_fn fn,
                                         void *opaque);

/*
 * What a plugin shared object exports (the config lists plugins under
 * streaming.plugins): it registers its handlers and returns 0.
 */
typedef int (*sfc_plugin_register_fn)(struct sfc_connector_registry *r);
#define SFC_PLUGIN_REGISTER_SYMBOL "sfc_plugin_register"

#ifdef __cplusplus
}
#endif

#endif
