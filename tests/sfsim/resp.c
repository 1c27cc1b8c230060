/*
 * resp.c - sim_response setters.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_int.h"
#include "sfc/common.h"

#define JSON_CT "application/json;charset=UTF-8"

void sim_response_set(struct sim_response *resp,
                      int status,
                      const char *content_type,
                      const char *body,
                      size_t len)
{
    free(resp->body);
    resp->body = NULL;
    resp->body_len = 0;
    if (body) {
        resp->body = sfc_xmalloc(len + 1);
        memcpy(resp->body, body, len);
        resp->body[len] = '\0';
        resp->body_len = len;
    }
    resp->status = status;
    snprintf(resp->content_type, sizeof(resp->content_type), "%s",
             content_type ? content_type : "");
}

void sim_response_take(struct sim_response *resp,
                       int status,
                       const char *content_type,
                       char *body,
                       size_t len)
{
    sim_response_set(resp, status, content_type, NULL, 0);
    resp->body = body;
    resp->body_len = len;
}

void sim_response_json(struct sim_response *resp, int status, cJSON *json)
{
    char *s = json ? sfc_json_print(json) : sfc_xstrdup("null");
    cJSON_Delete(json);
    free(resp->body);
    resp->body = s;
    resp->body_len = strlen(s);
    resp->status = status;
    snprintf(resp->content_type, sizeof(resp->content_type), "%s", JSON_CT);
}

void sim_response_error(struct sim_response *resp,
                        int status,
                        const char *error_code,
                        const char *message,
                        bool with_fields)
{
    cJSON *arr = cJSON_CreateArray();
    cJSON *e = cJSON_CreateObject();

    cJSON_AddStringToObject(e, "message", message);
    cJSON_AddStringToObject(e, "errorCode", error_code);
    if (with_fields)
        cJSON_AddArrayToObject(e, "fields");
    cJSON_AddItemToArray(arr, e);
    sim_response_json(resp, status, arr);
}

void sim_response_add_header(struct sim_response *resp,
                             const char *name,
                             const char *value)
{
    if (resp->n_headers >= SIM_RESP_MAX_HEADERS)
        return;
    resp->headers[resp->n_headers].name = sfc_xstrdup(name);
    resp->headers[resp->n_headers].value = sfc_xstrdup(value);
    resp->n_headers++;
}

void sim_response_clear(struct sim_response *resp)
{
    size_t i;
    free(resp->body);
    for (i = 0; i < resp->n_headers; i++) {
        free(resp->headers[i].name);
        free(resp->headers[i].value);
    }
    memset(resp, 0, sizeof(*resp));
    resp->status = 500;
}
