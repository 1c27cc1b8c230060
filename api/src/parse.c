/* Pure parsers: token and SOAP login responses, versions, Sforce-Limit-Info. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "api_int.h"

bool sfc_api_version_normalize(const char *in, char *out, size_t out_size)
{
    const char *p = in;

    if (!p)
        return false;
    if (*p == 'v' || *p == 'V')
        p++;
    if (!isdigit((unsigned char)p[0]) || !isdigit((unsigned char)p[1]))
        return false;
    if (p[2] != '\0' && strcmp(p + 2, ".0") != 0)
        return false;
    snprintf(out, out_size, "%c%c.0", p[0], p[1]);
    return true;
}

bool sfc_api_parse_limit_info(const char *value, int64_t *used, int64_t *limit)
{
    const char *p = value;
    long long u, l;
    char *end;

    /* The first part is ours; per-app parts after ';' are ignored. */
    while (p && (p = strstr(p, "api-usage=")) != NULL) {
        if (p == value || p[-1] == ' ' || p[-1] == ';')
            break;
        p += 10;
    }
    if (!p)
        return false;
    p += strlen("api-usage=");
    u = strtoll(p, &end, 10);
    if (end == p || *end != '/')
        return false;
    p = end + 1;
    l = strtoll(p, &end, 10);
    if (end == p || u < 0 || l < 0)
        return false;
    *used = u;
    *limit = l;
    return true;
}

void api_session_free(struct api_session *s)
{
    free(s->instance_url);
    sfc_free_secret(s->access_token);
    free(s->user_id);
    free(s->org_id);
    memset(s, 0, sizeof(*s));
}

/* ".../id/<org>/<user>" -> org and user ids. */
static void ids_from_identity_url(const char *url, struct api_session *out)
{
    const char *p = url ? strstr(url, "/id/") : NULL;
    const char *slash;

    if (!p)
        return;
    p += 4;
    slash = strchr(p, '/');
    if (!slash)
        return;
    out->org_id = sfc_xstrndup(p, (size_t)(slash - p));
    out->user_id = sfc_xstrdup(slash + 1);
}

sfc_err_t api_parse_token_response(const char *body,
                                   size_t len,
                                   struct api_session *out,
                                   char *errstr,
                                   size_t errstr_size)
{
    cJSON *root = sfc_json_parse(body, len, 1 << 20, errstr, errstr_size);
    const char *token = NULL, *instance = NULL, *id = NULL;
    int64_t expires_in = 0;
    struct api_session s = {0};
    sfc_err_t rc;

    if (!root)
        return SFC_ERR_PARSE;
    rc = sfc_json_get_str(root, "access_token", &token, errstr, errstr_size);
    if (rc == SFC_OK)
        rc = sfc_json_get_str(root, "instance_url", &instance, errstr,
                              errstr_size);
    if (rc == SFC_OK)
        rc = sfc_json_get_str_opt(root, "id", &id, errstr, errstr_size);
    if (rc == SFC_OK) {
        /* Not sent by Salesforce's standard flows; honoured when present. */
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(root, "expires_in");

        if (cJSON_IsNumber(e))
            expires_in = (int64_t)e->valuedouble;
        else if (cJSON_IsString(e))
            expires_in = strtoll(e->valuestring, NULL, 10);
    }
    if (rc == SFC_OK && (!*token || !*instance)) {
        sfc_errstr_set(errstr, errstr_size,
                       "empty access_token or instance_url");
        rc = SFC_ERR_PARSE;
    }
    if (rc == SFC_OK) {
        s.access_token = sfc_xstrdup(token);
        s.instance_url = sfc_xstrdup(instance);
        ids_from_identity_url(id, &s);
        if (expires_in > 0)
            s.expires_at_ms = sfc_now_ms() + expires_in * 1000;
        *out = s;
    }
    cJSON_Delete(root);
    return rc;
}

sfc_err_t api_parse_soap_login(const char *body,
                               struct api_session *out,
                               char *errstr,
                               size_t errstr_size)
{
    char *server = NULL, *sid = NULL;
    struct api_session s = {0};
    const char *p;

    if (strstr(body, "Fault>")) {
        char *msg = api_xml_text(body, "faultstring");

        sfc_errstr_set(errstr, errstr_size, "SOAP login refused: %s",
                       msg ? msg : "fault without a message");
        free(msg);
        return SFC_ERR_AUTH;
    }
    server = api_xml_text(body, "serverUrl");
    sid = api_xml_text(body, "sessionId");
    if (!server || !sid || !*sid) {
        sfc_errstr_set(errstr, errstr_size,
                       "SOAP login response lacks serverUrl or sessionId");
        free(server);
        sfc_free_secret(sid);
        return SFC_ERR_PARSE;
    }
    /* The instance is the scheme and host of serverUrl. */
    p = strstr(server, "://");
    p = p ? strchr(p + 3, '/') : NULL;
    s.instance_url =
        p ? sfc_xstrndup(server, (size_t)(p - server)) : sfc_xstrdup(server);
    s.access_token = sid;
    s.user_id = api_xml_text(body, "userId");
    s.org_id = api_xml_text(body, "organizationId");
    {
        char *valid = api_xml_text(body, "sessionSecondsValid");

        if (valid && atoll(valid) > 0)
            s.expires_at_ms = sfc_now_ms() + atoll(valid) * 1000;
        free(valid);
    }
    free(server);
    *out = s;
    return SFC_OK;
}

bool api_parse_latest_version(const char *body,
                              size_t len,
                              char *out,
                              size_t out_size)
{
    cJSON *root = sfc_json_parse(body, len, 1 << 20, NULL, 0);
    double best = 0;
    const cJSON *v;

    if (!cJSON_IsArray(root)) {
        cJSON_Delete(root);
        return false;
    }
    cJSON_ArrayForEach(v, root)
    {
        const char *s = NULL;

        if (sfc_json_get_str(v, "version", &s, NULL, 0) == SFC_OK &&
            atof(s) > best) {
            best = atof(s);
            snprintf(out, out_size, "%s", s);
        }
    }
    cJSON_Delete(root);
    return best > 0;
}
