/*
 * config_check.h - the loader's state and the checks that span several keys
 * (what each auth method requires, what each entrypoint kind requires).
 */
#ifndef SFC_CONNECTOR_CONFIG_CHECK_H
#define SFC_CONNECTOR_CONFIG_CHECK_H

#include <libconfig.h>

#include "config.h"

struct cfg_loader {
    const char *path;
    struct sfc_buf errors; /* "file:line: key: message\n" lines */
    int n_errors;
};

/* Records one problem; @s (may be NULL) gives the file and line. */
void cfg_report(struct cfg_loader *L,
                const config_setting_t *s,
                const char *key,
                const char *fmt,
                ...) __attribute__((format(printf, 4, 5)));

/* Checks that need several keys at once; reports through cfg_report(). */
void cfg_check(struct cfg_loader *L, config_t *c, struct sfc_config *cfg);

/*
 * True when @v is "latest" or an API version as Salesforce writes it:
 * 60, 60.0, v60, v60.0.
 */
bool cfg_api_version_valid(const char *v);

#endif
