/* registry.h - handlers by name, and plugins that add them. */
#ifndef SFC_CONNECTOR_REGISTRY_H
#define SFC_CONNECTOR_REGISTRY_H

#include "sfc/connector.h"

struct registry_handler {
    char *name;
    sfc_connector_handler_fn fn;
    void *opaque;
};

struct sfc_connector_registry {
    struct registry_handler *h;
    size_t n;
    void **dl;
    size_t n_dl;
};

struct sfc_connector_registry *registry_new(void);
void registry_destroy(struct sfc_connector_registry *r);
const struct registry_handler *registry_find(struct sfc_connector_registry *r,
                                             const char *name);
/* dlopen()s @path and calls its sfc_plugin_register(). */
sfc_err_t registry_load_plugin(struct sfc_connector_registry *r,
                               const char *path,
                               char *errstr,
                               size_t errsz);

#endif
