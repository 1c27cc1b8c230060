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
 * A handler gets every event of the entrypoints that name it. Returning
 * SFC_OK means the event was handled: once every handler of an event did,
 * its replay id may be committed. Any other status stops the daemon (the
 * event is not committed, so it comes back after a restart). ev->data is
 * the event's data as a tree (built for handlers only: the proxy forwards
 * the text, ev->data_json).
 * Thread: called on the daemon's dispatch thread, one event at a time.
 */
typedef sfc_err_t (*sfc_connector_handler_fn)(
    void *opaque, const char *entrypoint, const struct sfc_stream_event *ev);

/*
 * Registers @fn under @name (the config's entrypoint "handler" key). A name
 * may be registered once. @opaque is passed back on every call.
 */
sfc_err_t sfc_connector_register_handler(struct sfc_connector_registry *r,
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
