/* Writes config text to a temporary file and loads it. */
#ifndef CONFIG_FIXTURE_H
#define CONFIG_FIXTURE_H

#include "config.h"

struct cfgfix {
    char dir[256];
    char path[300];
    char err[8192];
};

/* Writes @text to a fresh file; returns its path (inside @f). */
const char *cfgfix_write(struct cfgfix *f, const char *text);

/* Writes and loads @text; NULL with f->err on failure. */
struct sfc_config *cfgfix_load(struct cfgfix *f, const char *text);

void cfgfix_cleanup(struct cfgfix *f);

/* The minimal valid salesforce section for auth = password. */
#define CFG_SF_OK                                                              \
    "salesforce = { username = \"u@example.com\"; password = \"pw-secret\";"   \
    " client_id = \"cid\"; client_secret = \"cs-secret\"; };\n"

#endif
