/*
 * An sfconnector handler plugin: "audit" logs one line per event (the
 * entrypoint it came through, its channel, replay id and the record's Id)
 * through the daemon's logger, and appends the same line to the file named
 * by $SFC_AUDIT_FILE when that is set.
 *
 * Build it against an installed sfconnector (see CMakeLists.txt here, or
 * cc -shared -fPIC audit.c $(pkg-config --cflags sfconnector-plugin)),
 * list it in streaming.plugins and name "audit" as an entrypoint's handler.
 */
#include <stdio.h>
#include <stdlib.h>

#include <sfc/connector.h>

int sfc_plugin_register(struct sfc_connector_registry *r);

/* The record's Id: data.sobject.Id (PushTopic) or data.payload's
 * ChangeEventHeader.recordIds[0] (Change Data Capture); "-" otherwise. */
static const char *record_id(const cJSON *data)
{
    const cJSON *rec = cJSON_GetObjectItemCaseSensitive(data, "sobject");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(rec, "Id");
    const cJSON *payload, *header, *ids;

    if (cJSON_IsString(id))
        return id->valuestring;
    payload = cJSON_GetObjectItemCaseSensitive(data, "payload");
    header = cJSON_GetObjectItemCaseSensitive(payload, "ChangeEventHeader");
    ids = cJSON_GetObjectItemCaseSensitive(header, "recordIds");
    id = cJSON_GetArrayItem(ids, 0);
    return cJSON_IsString(id) ? id->valuestring : "-";
}

/*
 * Called on the daemon's dispatch thread for every event of the
 * entrypoints naming "audit". SFC_OK lets the event be committed; any
 * other status stops the daemon without committing it.
 */
static sfc_err_t audit(void *opaque,
                       const struct sfc_connector_entrypoint *ep,
                       const struct sfc_stream_event *ev)
{
    const char *path = opaque;
    const char *id = record_id(ev->data);
    FILE *f;

    sfc_log(SFC_LOG_INFO, "audit", "%s %s replay %lld record %s", ep->id,
            ev->channel, (long long)ev->replay_id, id);
    if (!path)
        return SFC_OK;
    f = fopen(path, "a");
    if (!f)
        return SFC_ERR_IO; /* not recorded: stop, the event comes back */
    fprintf(f, "%s %s %lld %s\n", ep->id, ev->channel, (long long)ev->replay_id,
            id);
    return fclose(f) == 0 ? SFC_OK : SFC_ERR_IO;
}

int sfc_plugin_register(struct sfc_connector_registry *r)
{
    void *path = getenv("SFC_AUDIT_FILE");

    return sfc_connector_handler_register(r, "audit", audit, path) == SFC_OK
               ? 0
               : 1;
}
