/* A handler plugin for the tests: writes "<entrypoint> <channel> <replay>"
 * for every event to the file named by $SFC_TEST_PLUGIN_OUT. */
#include <stdio.h>
#include <stdlib.h>

#include "sfc/connector.h"

int sfc_plugin_register(struct sfc_connector_registry *r);

static sfc_err_t
record(void *opaque, const char *entrypoint, const struct sfc_stream_event *ev)
{
    const char *path = getenv("SFC_TEST_PLUGIN_OUT");
    FILE *f;

    (void)opaque;
    if (!path)
        return SFC_ERR_CONFIG;
    f = fopen(path, "a");
    if (!f)
        return SFC_ERR_IO;
    fprintf(f, "%s %s %lld\n", entrypoint, ev->channel,
            (long long)ev->replay_id);
    fclose(f);
    return SFC_OK;
}

int sfc_plugin_register(struct sfc_connector_registry *r)
{
    return sfc_connector_register_handler(r, "recorder", record, NULL) == SFC_OK
               ? 0
               : 1;
}
