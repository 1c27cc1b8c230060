/* The handler registry and plugin loading (dlopen). */
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include "registry.h"

struct sfc_connector_registry *registry_new(void)
{
    return sfc_xcalloc(1, sizeof(struct sfc_connector_registry));
}

void registry_destroy(struct sfc_connector_registry *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++)
        free(r->h[i].name);
    free(r->h);
    /* Plugins stay loaded until exit: their code may still be referenced
     * by destructors run at exit. */
    free(r->dl);
    free(r);
}

sfc_err_t sfc_connector_handler_register(struct sfc_connector_registry *r,
                                         const char *name,
                                         sfc_connector_handler_fn fn,
                                         void *opaque)
{
    if (!name || !*name || !fn || registry_find(r, name))
        return SFC_ERR_INVALID_ARG;
    r->h = sfc_xrealloc(r->h, (r->n + 1) * sizeof(*r->h));
    r->h[r->n].name = sfc_xstrdup(name);
    r->h[r->n].fn = fn;
    r->h[r->n].opaque = opaque;
    r->n++;
    return SFC_OK;
}

const struct registry_handler *registry_find(struct sfc_connector_registry *r,
                                             const char *name)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->h[i].name, name) == 0)
            return &r->h[i];
    return NULL;
}

sfc_err_t registry_load_plugin(struct sfc_connector_registry *r,
                               const char *path,
                               char *errstr,
                               size_t errsz)
{
    void *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    sfc_plugin_register_fn reg;
    int rc;

    if (!dl) {
        sfc_errstr_set(errstr, errsz, "cannot load plugin %s: %s", path,
                       dlerror());
        return SFC_ERR_IO;
    }
    *(void **)&reg = dlsym(dl, SFC_PLUGIN_REGISTER_SYMBOL);
    if (!reg) {
        sfc_errstr_set(errstr, errsz, "plugin %s does not export %s", path,
                       SFC_PLUGIN_REGISTER_SYMBOL);
        dlclose(dl);
        return SFC_ERR_INVALID_ARG;
    }
    rc = reg(r);
    if (rc != 0) {
        sfc_errstr_set(errstr, errsz, "plugin %s failed to register (%d)", path,
                       rc);
        dlclose(dl);
        return SFC_ERR_INVALID_ARG;
    }
    r->dl = sfc_xrealloc(r->dl, (r->n_dl + 1) * sizeof(void *));
    r->dl[r->n_dl++] = dl;
    sfc_log(SFC_LOG_INFO, "connector", "plugin %s loaded", path);
    return SFC_OK;
}
