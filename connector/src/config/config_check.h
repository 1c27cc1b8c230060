/*
 * config_check.h - the checks that span several keys (what each auth
 * method requires, what each entrypoint kind requires), run once every key
 * loaded.
 */
#ifndef SFC_CONNECTOR_CONFIG_CHECK_H
#define SFC_CONNECTOR_CONFIG_CHECK_H

#include "config_report.h"

/* Checks that need several keys at once; reports through cfg_report(). */
void cfg_check(struct cfg_loader *L, config_t *c, struct sfc_config *cfg);

/*
 * True when @v is "latest" or an API version as Salesforce writes it:
 * 60, 60.0, v60, v60.0.
 */
bool cfg_api_version_valid(const char *v);

#endif
