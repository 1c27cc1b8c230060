/*
 * rpc_fixture.h - an api client for RPC tests without Salesforce: a static
 * token on an address that refuses connections, no retries, so a call that
 * gets past every check fails at once with SalesforceConnectionError.
 */
#ifndef SFC_TEST_RPC_FIXTURE_H
#define SFC_TEST_RPC_FIXTURE_H

#include "sfc/api.h"

/* @on_request (may be NULL) is the client's on_request hook. NULL when the
 * client cannot be made. Free with sfc_api_client_destroy(). */
struct sfc_api_client *rpc_fixture_api(void (*on_request)(void *opaque,
                                                          const char *method,
                                                          const char *path));

#endif
