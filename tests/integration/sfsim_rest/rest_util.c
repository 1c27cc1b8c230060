/* Helpers for the sfsim REST conformance tests. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "rest_util.h"
#include "sfc/common.h"

static size_t sink(char *data, size_t size, size_t n, void *opaque)
{
    if (sfc_buf_append(opaque, data, size * n) != SFC_OK)
        return 0;
    return size * n;
}

long rt_req(const char *method,
            const char *url,
            const char *token,
            const char *ctype,
            const char *body,
            const char *extra,
            struct rt_resp *out)
{
    CURL *h = curl_easy_init();
    struct curl_slist *hl = NULL;
    struct sfc_buf b, hd;
    char line[1024];

    memset(out, 0, sizeof(*out));
    out->status = -1;
    sfc_buf_init(&b, 0);
    sfc_buf_init(&hd, 0);
    if (token) {
        snprintf(line, sizeof(line), "Authorization: Bearer %s", token);
        hl = curl_slist_append(hl, line);
    }
    if (body) {
        snprintf(line, sizeof(line), "Content-Type: %s",
                 ctype ? ctype : "application/json");
        hl = curl_slist_append(hl, line);
    }
    if (extra)
        hl = curl_slist_append(hl, extra);
    hl = curl_slist_append(hl, "Expect:");
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, sink);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &hd);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    if (body)
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    out->curl_code = (int)curl_easy_perform(h);
    if (out->curl_code == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->status);
    curl_slist_free_all(hl);
    curl_easy_cleanup(h);
    out->body = b.data ? sfc_buf_steal(&b) : sfc_xstrdup("");
    out->headers = hd.data ? sfc_buf_steal(&hd) : sfc_xstrdup("");
    out->json = cJSON_Parse(out->body);
    return out->status;
}

void rt_free(struct rt_resp *r)
{
    free(r->body);
    free(r->headers);
    cJSON_Delete(r->json);
    memset(r, 0, sizeof(*r));
}

char *rt_header(const struct rt_resp *r, const char *name)
{
    size_t n = strlen(name);
    const char *p = r->headers;

    while (p && *p) {
        if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
            const char *v = p + n + 1;
            while (*v == ' ')
                v++;
            return sfc_xstrndup(v, strcspn(v, "\r\n"));
        }
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    return NULL;
}

char *rt_cookie_header(const struct rt_resp *r)
{
    struct sfc_buf b;
    const char *p = r->headers;

    sfc_buf_init(&b, 0);
    while (p && *p) {
        if (strncasecmp(p, "Set-Cookie:", 11) == 0) {
            const char *v = p + 11;

            while (*v == ' ')
                v++;
            sfc_buf_appendf(&b, "%s%.*s",
                            b.len ? "; " : "Cookie: ", (int)strcspn(v, ";\r\n"),
                            v);
        }
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    return b.data ? sfc_buf_steal(&b) : NULL;
}

char *rt_url(const struct sfsim_proc *p, const char *path)
{
    return sfc_xasprintf("%s/services/data/v60.0%s", p->url, path);
}

long rt_password_login(const struct sfsim_proc *p, struct rt_resp *r)
{
    char *url = sfc_xasprintf("%s/services/oauth2/token", p->url);
    long status =
        rt_req("POST", url, NULL, "application/x-www-form-urlencoded",
               "grant_type=password&client_id=sfsim-client-id&client_secret="
               "sfsim-client-secret&username=demo%40sfsim.local&password="
               "demo-passwordDEMOTOKEN",
               NULL, r);

    free(url);
    return status;
}

char *rt_login(const struct sfsim_proc *p)
{
    struct rt_resp r;
    const cJSON *tok;
    char *out = NULL;

    rt_password_login(p, &r);
    tok = cJSON_GetObjectItemCaseSensitive(r.json, "access_token");
    if (r.status == 200 && cJSON_IsString(tok))
        out = sfc_xstrdup(tok->valuestring);
    rt_free(&r);
    return out;
}

char *rt_token;

int rt_start(const char *const *args)
{
    if (sfsim_start(&tu_sim, args) != 0)
        return -1;
    rt_token = rt_login(&tu_sim);
    return rt_token ? 0 : -1;
}

int rt_write_seed(
    const char *json, char *dir, size_t dir_size, char *path, size_t path_size)
{
    FILE *f;

    if (tu_tmpdir(dir, dir_size) != 0)
        return -1;
    snprintf(path, path_size, "%s/seed.json", dir);
    f = fopen(path, "w");
    if (!f)
        return -1;
    fputs(json, f);
    fclose(f);
    return 0;
}

int rt_setup(void **state)
{
    (void)state;
    return rt_start(NULL);
}

int rt_teardown(void **state)
{
    free(rt_token);
    rt_token = NULL;
    return tu_sim_teardown(state);
}

char *rt_create(const struct sfsim_proc *p,
                const char *token,
                const char *obj,
                const char *json)
{
    char *path = sfc_xasprintf("/sobjects/%s/", obj);
    char *url = rt_url(p, path);
    struct rt_resp r;
    char *id = NULL;
    const cJSON *j;

    rt_req("POST", url, token, NULL, json, NULL, &r);
    j = cJSON_GetObjectItemCaseSensitive(r.json, "id");
    if (r.status == 201 && cJSON_IsString(j))
        id = sfc_xstrdup(j->valuestring);
    rt_free(&r);
    free(url);
    free(path);
    return id;
}

long rt_delete(const struct sfsim_proc *p,
               const char *token,
               const char *obj,
               const char *id)
{
    char *path = sfc_xasprintf("/sobjects/%s/%s", obj, id);
    char *url = rt_url(p, path);
    struct rt_resp r;
    long status = rt_req("DELETE", url, token, NULL, NULL, NULL, &r);

    rt_free(&r);
    free(url);
    free(path);
    return status;
}

const char *rt_error_code(const struct rt_resp *r)
{
    const cJSON *e = cJSON_GetArrayItem(r->json, 0);
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(e, "errorCode");
    return cJSON_IsString(c) ? c->valuestring : NULL;
}

long rt_fault(const struct sfsim_proc *p, const char *json)
{
    return sfsim_control(p, "/_sim/fault", json, NULL);
}

long long rt_stat(const struct sfsim_proc *p, const char *name)
{
    char *body = NULL;
    cJSON *j, *c;
    long long v = 0;

    if (sfsim_control(p, "/_sim/stats", NULL, &body) != 200) {
        free(body);
        return -1;
    }
    j = cJSON_Parse(body);
    c = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(j, "counters"), name);
    if (cJSON_IsNumber(c))
        v = (long long)c->valuedouble;
    cJSON_Delete(j);
    free(body);
    return v;
}
