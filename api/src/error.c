/* The error object: one allocation, built from parts or from a response. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_int.h"

static struct sfc_api_error *make(sfc_err_t code,
                                  long status,
                                  const char *error_code,
                                  const char *fields,
                                  const char *message)
{
    size_t lc = strlen(error_code ? error_code : "") + 1;
    size_t lf = strlen(fields ? fields : "") + 1;
    size_t lm = strlen(message && *message ? message : sfc_err2str(code)) + 1;
    struct sfc_api_error *e = sfc_xmalloc(sizeof(*e) + lc + lf + lm);
    char *p = (char *)(e + 1);

    e->code = code;
    e->http_status = status;
    memcpy(p, error_code ? error_code : "", lc);
    e->error_code = p;
    p += lc;
    memcpy(p, fields ? fields : "", lf);
    e->fields = p;
    p += lf;
    memcpy(p, message && *message ? message : sfc_err2str(code), lm);
    e->message = p;
    return e;
}

struct sfc_api_error *sfc_api_error_new(sfc_err_t code,
                                        long http_status,
                                        const char *error_code,
                                        const char *fields,
                                        const char *fmt,
                                        ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return make(code, http_status, error_code, fields, msg);
}

void sfc_api_error_destroy(struct sfc_api_error *err)
{
    free(err);
}

sfc_err_t api_fail(struct sfc_api_error **err, struct sfc_api_error *e)
{
    sfc_err_t code = e->code;

    if (err)
        *err = e;
    else
        sfc_api_error_destroy(e);
    return code;
}

/* The status Salesforce's answer maps to. */
static sfc_err_t classify(long status, const char *error_code)
{
    if (strcmp(error_code, "REQUEST_LIMIT_EXCEEDED") == 0)
        return SFC_ERR_LIMIT;
    if (status == 401 || strcmp(error_code, "INVALID_SESSION_ID") == 0 ||
        strcmp(error_code, "invalid_grant") == 0 ||
        strcmp(error_code, "invalid_client") == 0 ||
        strcmp(error_code, "invalid_client_id") == 0)
        return SFC_ERR_AUTH;
    if (status == 404 && !*error_code)
        return SFC_ERR_NOT_FOUND;
    return SFC_ERR_SALESFORCE;
}

/*
 * Finds the next element named @tag (any namespace prefix) from @p. Sets
 * *closing for an end tag and returns the position after its '>'.
 */
static const char *
next_tag(const char *p, const char *tag, bool *closing, const char **lt)
{
    size_t tl = strlen(tag);

    for (p = strchr(p, '<'); p; p = strchr(p + 1, '<')) {
        const char *name = p + 1, *end, *colon;

        *closing = *name == '/';
        if (*closing)
            name++;
        end = name + strcspn(name, " \t\r\n/>");
        colon = memchr(name, ':', (size_t)(end - name));
        if (colon)
            name = colon + 1;
        if ((size_t)(end - name) == tl && memcmp(name, tag, tl) == 0) {
            const char *gt = strchr(end, '>');

            *lt = p;
            return gt ? gt + 1 : NULL;
        }
    }
    return NULL;
}

/* Text of the first <tag> element (namespace prefix ignored), or NULL. */
static char *xml_text(const char *xml, const char *tag)
{
    bool closing = true;
    const char *lt, *start = xml, *end;

    while (start && closing)
        start = next_tag(start, tag, &closing, &lt);
    if (!start)
        return NULL;
    end = start;
    do {
        end = next_tag(end, tag, &closing, &lt);
    } while (end && !closing);
    if (!end)
        return NULL;
    return sfc_xstrndup(start, (size_t)(lt - start));
}

char *api_xml_text(const char *xml, const char *tag)
{
    return xml_text(xml, tag);
}

static struct sfc_api_error *from_json(long status, const cJSON *root)
{
    const cJSON *first =
        cJSON_IsArray(root) ? cJSON_GetArrayItem(root, 0) : root;
    const char *code = "", *msg = NULL;
    struct sfc_buf fields;
    const cJSON *fl;
    struct sfc_api_error *e;

    if (!cJSON_IsObject(first))
        return NULL;
    sfc_json_get_str_opt(first, "errorCode", &code, NULL, 0);
    sfc_json_get_str_opt(first, "message", &msg, NULL, 0);
    if (!*code) {
        /* OAuth: {"error": "...", "error_description": "..."} */
        sfc_json_get_str_opt(first, "error", &code, NULL, 0);
        sfc_json_get_str_opt(first, "error_description", &msg, NULL, 0);
    }
    if (!*code && !msg)
        return NULL;
    sfc_buf_init(&fields, 4096);
    sfc_buf_append(&fields, "", 0);
    fl = cJSON_GetObjectItemCaseSensitive(first, "fields");
    for (const cJSON *f = cJSON_IsArray(fl) ? fl->child : NULL; f; f = f->next)
        if (cJSON_IsString(f))
            sfc_buf_appendf(&fields, "%s%s", fields.len ? "," : "",
                            f->valuestring);
    e = make(classify(status, code), status, code, fields.data, msg);
    sfc_buf_free(&fields);
    return e;
}

struct sfc_api_error *
sfc_api_error_from_response(long http_status, const char *body, size_t len)
{
    struct sfc_api_error *e = NULL;
    cJSON *root;

    if (body && len) {
        root = cJSON_ParseWithLength(body, len);
        if (root) {
            e = from_json(http_status, root);
            cJSON_Delete(root);
        } else if (strstr(body, "Fault>")) {
            char *code = xml_text(body, "faultcode");
            char *msg = xml_text(body, "faultstring");
            const char *c = code ? strchr(code, ':') : NULL;

            c = c ? c + 1 : code;
            e = make(classify(http_status, c ? c : ""), http_status, c, NULL,
                     msg);
            free(code);
            free(msg);
        }
    }
    if (!e) {
        char snippet[160];
        size_t n = body && len ? (len < 120 ? len : 120) : 0;

        /* Plain text or HTML from a proxy or load balancer. */
        snprintf(snippet, sizeof(snippet), "%.*s", (int)n, body ? body : "");
        for (char *p = snippet; *p; p++)
            if (*p == '\n' || *p == '\r')
                *p = ' ';
        e = sfc_api_error_new(http_status >= 500 ? SFC_ERR_HTTP
                                                 : classify(http_status, ""),
                              http_status, NULL, NULL, "HTTP %ld%s%s",
                              http_status, n ? ": " : "", snippet);
    }
    return e;
}
