/* A broker URI read as kombu reads it, through libcurl's URL API. */
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "amqp_uri.h"

/* One part of @h, decoded; NULL when the URI has none. */
static char *part(CURLU *h, CURLUPart what, unsigned flags)
{
    char *v = NULL, *copy;

    if (curl_url_get(h, what, &v, flags) != CURLUE_OK || !v)
        return NULL;
    copy = sfc_xstrdup(v);
    /* The password part is a secret: wipe libcurl's copy too. */
    if (what == CURLUPART_PASSWORD)
        explicit_bzero(v, strlen(v));
    curl_free(v);
    return copy;
}

sfc_err_t
amqp_uri_parse(const char *text, struct amqp_uri *u, char *errstr, size_t errsz)
{
    CURLU *h = curl_url();
    char *scheme = NULL, *port = NULL, *path = NULL, *query = NULL;
    sfc_err_t rc = SFC_ERR_CONFIG;
    long pn;
    char *end;

    memset(u, 0, sizeof(*u));
    if (!h)
        abort(); /* out of memory, as sfc_xmalloc() treats it */
    /* amqp is no scheme libcurl speaks; the path is kept as written, so
     * "//" stays the vhost "/". */
    if (!text || curl_url_set(h, CURLUPART_URL, text,
                              CURLU_NON_SUPPORT_SCHEME | CURLU_PATH_AS_IS) !=
                     CURLUE_OK) {
        sfc_errstr_set(errstr, errsz,
                       "is not a URI of the form "
                       "amqp[s]://user:password@host:port/vhost");
        goto out;
    }
    scheme = part(h, CURLUPART_SCHEME, 0);
    if (!scheme || (strcmp(scheme, "amqp") != 0 && strcmp(scheme, "amqps"))) {
        sfc_errstr_set(errstr, errsz, "must start with amqp:// or amqps://");
        goto out;
    }
    u->tls = strcmp(scheme, "amqps") == 0;
    query = part(h, CURLUPART_QUERY, 0);
    if (query) {
        sfc_errstr_set(errstr, errsz,
                       "carries query options, which are not read: set "
                       "amqp.heartbeat and the amqp TLS keys instead");
        goto out;
    }
    u->user = part(h, CURLUPART_USER, CURLU_URLDECODE);
    u->password = part(h, CURLUPART_PASSWORD, CURLU_URLDECODE);
    u->host = part(h, CURLUPART_HOST, CURLU_URLDECODE);
    if (!u->user)
        u->user = sfc_xstrdup("guest");
    if (!u->password)
        u->password = sfc_xstrdup("guest");
    if (!u->host || !*u->host) {
        free(u->host);
        u->host = sfc_xstrdup("localhost");
    } else if (u->host[0] == '[') {
        size_t n = strlen(u->host);

        memmove(u->host, u->host + 1, n - 1);
        u->host[n - 2] = '\0'; /* the closing bracket */
    }
    u->port = u->tls ? 5671 : 5672;
    port = part(h, CURLUPART_PORT, 0);
    if (port) {
        pn = strtol(port, &end, 10);
        if (*end || pn < 1 || pn > 65535) {
            sfc_errstr_set(errstr, errsz, "has a port out of range");
            goto out;
        }
        u->port = (int)pn;
    }
    /* kombu: the path without its first "/", decoded; none means "/". */
    path = part(h, CURLUPART_PATH, CURLU_URLDECODE);
    if (path && path[0] == '/' && path[1])
        u->vhost = sfc_xstrdup(path + 1);
    else
        u->vhost = sfc_xstrdup("/");
    rc = SFC_OK;
out:
    free(scheme);
    free(port);
    free(path);
    free(query);
    curl_url_cleanup(h);
    if (rc != SFC_OK)
        amqp_uri_free(u);
    return rc;
}

void amqp_uri_free(struct amqp_uri *u)
{
    free(u->user);
    sfc_free_secret(u->password);
    free(u->host);
    free(u->vhost);
    memset(u, 0, sizeof(*u));
}
