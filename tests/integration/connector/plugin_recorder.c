/* A handler plugin for the tests: writes "<entrypoint id> <channel>
 * <replay> kind=<kind> name=<name> sobject_type=<type> record_type=<type>"
 * (- for what the entrypoint does not have) for every event to the file
 * named by $SFC_TEST_PLUGIN_OUT. */
#include <stdio.h>
#include <stdlib.h>

#include "sfc/connector.h"

int sfc_plugin_register(struct sfc_connector_registry *r);

static const char *or_dash(const char *s)
{
    return s ? s : "-";
}

static sfc_err_t record(void *opaque,
                        const struct sfc_connector_entrypoint *ep,
                        const struct sfc_stream_event *ev)
{
    const char *path = getenv("SFC_TEST_PLUGIN_OUT");
    FILE *f;

    (void)opaque;
    if (!path)
        return SFC_ERR_CONFIG;
    f = fopen(path, "a");
    if (!f)
        return SFC_ERR_IO;
    fprintf(f, "%s %s %lld kind=%s name=%s sobject_type=%s record_type=%s\n",
            ep->id, ev->channel, (long long)ev->replay_id, ep->kind,
            or_dash(ep->name), or_dash(ep->sobject_type),
            or_dash(ep->record_type));
    fclose(f);
    return SFC_OK;
}

int sfc_plugin_register(struct sfc_connector_registry *r)
{
    return sfc_connector_handler_register(r, "recorder", record, NULL) == SFC_OK
               ? 0
               : 1;
}
