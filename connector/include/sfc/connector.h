/*
 * sfc/connector.h - the daemon: configuration, AMQP side, dispatch table of
 * entrypoints, event proxy, RPC responder wiring, and the command line.
 */
#ifndef SFC_CONNECTOR_H
#define SFC_CONNECTOR_H

#include "sfc/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Runs the sfconnector command line (what main() does). Returns the process
 * exit status. Thread: main thread only; installs signal handlers.
 */
int sfc_connector_main(int argc, char **argv);

#ifdef __cplusplus
}
#endif

#endif
