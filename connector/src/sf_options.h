/* sf_options.h - the api/ client options that a configuration describes. */
#ifndef SFC_CONNECTOR_SF_OPTIONS_H
#define SFC_CONNECTOR_SF_OPTIONS_H

#include "sfc/api.h"
#include "config.h"

/*
 * Fills @o from the salesforce section of @cfg. The strings are borrowed
 * from @cfg (sfc_api_client_new() copies them).
 */
void connector_api_options(const struct sfc_config *cfg,
                           struct sfc_api_options *o);

#endif
