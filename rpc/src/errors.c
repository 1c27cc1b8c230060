/* The error objects RPC replies carry, Nameko's and simple-salesforce's. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rpc_int.h"

void rpc_quote(char *out, size_t size, const char *s)
{
    size_t n = strlen(s), keep = n;

    if (size < 8) {
        if (size)
            out[0] = '\0';
        return;
    }
    if (keep > size - 4) {
        keep = size - 4;
        while (keep > 0 && ((unsigned char)s[keep] & 0xc0) == 0x80)
            keep--;
    }
    memcpy(out, s, keep);
    if (keep < n)
        memcpy(out + keep, "...", 4);
    else
        out[keep] = '\0';
}

cJSON *rpc_err_malformed(const char *why)
{
    return sfc_rpc_error("MalformedRequest", NAMEKO_EXC "MalformedRequest",
                         why);
}

cJSON *rpc_err_signature(const char *why)
{
    return sfc_rpc_error("IncorrectSignature", NAMEKO_EXC "IncorrectSignature",
                         why);
}

static cJSON *
vmake(const char *type, const char *path, const char *fmt, va_list ap)
{
    char msg[512];

    vsnprintf(msg, sizeof(msg), fmt, ap);
    return sfc_rpc_error(type, path, msg);
}

cJSON *rpc_err_value(const char *fmt, ...)
{
    va_list ap;
    cJSON *e;

    va_start(ap, fmt);
    e = vmake("ValueError", "builtins.ValueError", fmt, ap);
    va_end(ap);
    return e;
}

cJSON *rpc_err_not_allowed(const char *fmt, ...)
{
    va_list ap;
    cJSON *e;

    va_start(ap, fmt);
    e = vmake("NotAllowed", SFC_EXC "NotAllowed", fmt, ap);
    va_end(ap);
    return e;
}

/* simple-salesforce's exception class per HTTP status. */
static const char *sf_class(long status)
{
    switch (status) {
    case 300:
        return "SalesforceMoreThanOneRecord";
    case 400:
        return "SalesforceMalformedRequest";
    case 401:
        return "SalesforceExpiredSession";
    case 403:
        return "SalesforceRefusedRequest";
    case 404:
        return "SalesforceResourceNotFound";
    default:
        return "SalesforceGeneralError";
    }
}

/* No answer from Salesforce: a value refused before any request, a
 * transport failure or timeout, or a write of unknown outcome. */
static cJSON *unanswered(const struct sfc_api_error *e)
{
    if (e->code == SFC_ERR_INVALID_ARG)
        return sfc_rpc_error("ValueError", "builtins.ValueError", e->message);
    if (e->code == SFC_ERR_AMBIGUOUS)
        return sfc_rpc_error("SalesforceAmbiguousOutcome",
                             SFC_EXC "SalesforceAmbiguousOutcome", e->message);
    return sfc_rpc_error("SalesforceConnectionError",
                         SFC_EXC "SalesforceConnectionError", e->message);
}

cJSON *rpc_salesforce_error(const struct sfc_api_error *e, const char *resource)
{
    cJSON *err, *args, *content, *item, *fields;
    char path[128], status[16], *value, *copy, *save = NULL;

    if (e->http_status == 0)
        return unanswered(e);
    err = cJSON_CreateObject();
    snprintf(path, sizeof(path), "simple_salesforce.exceptions.%s",
             sf_class(e->http_status));
    snprintf(status, sizeof(status), "%ld", e->http_status);
    cJSON_AddStringToObject(err, "exc_type", sf_class(e->http_status));
    cJSON_AddStringToObject(err, "exc_path", path);
    args = cJSON_AddArrayToObject(err, "exc_args");
    cJSON_AddItemToArray(args, cJSON_CreateString(resource));
    cJSON_AddItemToArray(args, cJSON_CreateString(status));
    cJSON_AddItemToArray(args, cJSON_CreateString(resource));
    content = cJSON_CreateArray();
    item = cJSON_CreateObject();
    cJSON_AddStringToObject(item, "message", e->message);
    cJSON_AddStringToObject(item, "errorCode", e->error_code);
    fields = cJSON_AddArrayToObject(item, "fields");
    copy = sfc_xstrdup(e->fields);
    for (char *f = strtok_r(copy, ",", &save); f;
         f = strtok_r(NULL, ",", &save))
        cJSON_AddItemToArray(fields, cJSON_CreateString(f));
    free(copy);
    cJSON_AddItemToArray(content, item);
    cJSON_AddItemToArray(args, content);
    value = sfc_xasprintf("%s %s: %s (HTTP %ld)", e->error_code, resource,
                          e->message, e->http_status);
    cJSON_AddStringToObject(err, "value", value);
    free(value);
    return err;
}
