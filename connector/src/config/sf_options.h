/*
 * sf_options.h - the options of the api/ client and of AMQP links that a
 * configuration describes (the transports know nothing of the file).
 */
#ifndef SFC_CONNECTOR_SF_OPTIONS_H
#define SFC_CONNECTOR_SF_OPTIONS_H

#include "amqp_link.h"
#include "config.h"
#include "sfc/api.h"

/*
 * Fills @o from the salesforce section of @cfg. The strings are borrowed
 * from @cfg (sfc_api_client_new() copies them).
 */
void connector_api_options(const struct sfc_config *cfg,
                           struct sfc_api_options *o);

/*
 * Fills @o from the amqp section of @cfg: its URI and TLS files (borrowed
 * from @cfg; amqp_link_new() copies them), heartbeat, and write timeout
 * (amqp.confirm_timeout_ms). No interrupt flag.
 */
void connector_amqp_options(const struct sfc_config *cfg,
                            struct amqp_link_options *o);

#endif
