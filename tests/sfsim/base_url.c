/*
 * base_url.c - the base of every URL sfsim hands out (instance_url, the
 * identity URL, SOAP serverUrl, --url-file): http(s)://127.0.0.1:<port>, or
 * --public-url (e.g. http://localhost:8765, the port filled in when it has
 * none) for clients that refuse cookies from IP hosts or reach sfsim through
 * a proxy. Parsed with libcurl's URL API.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "sim_int.h"
#include "sfc/common.h"

/* scheme://host[:port] from @url, the port defaulting to @port. */
static int public_url(const char *url,
                      unsigned port,
                      char *out,
                      size_t out_size,
                      char *errstr,
                      size_t sz)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *uport = NULL, *path = NULL;
    char *query = NULL, *frag = NULL, *user = NULL;
    int rc = -1;

    /* No default scheme: "localhost:80" is refused, not guessed at. */
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
        sfc_errstr_set(errstr, sz, "--public-url %s is not a URL", url);
        goto out;
    }
    curl_url_get(u, CURLUPART_PORT, &uport, 0);
    curl_url_get(u, CURLUPART_PATH, &path, 0);
    curl_url_get(u, CURLUPART_QUERY, &query, 0);
    curl_url_get(u, CURLUPART_FRAGMENT, &frag, 0);
    curl_url_get(u, CURLUPART_USER, &user, 0);
    if (strcasecmp(scheme, "http") != 0 && strcasecmp(scheme, "https") != 0) {
        sfc_errstr_set(errstr, sz, "--public-url %s: http or https only", url);
    } else if ((path && strcmp(path, "/") != 0) || query || frag || user) {
        sfc_errstr_set(errstr, sz,
                       "--public-url %s: only scheme, host and port (sfsim "
                       "serves from the root)",
                       url);
    } else if ((size_t)snprintf(out, out_size, "%s://%s:%s", scheme, host,
                                uport ? uport : "") >= out_size) {
        sfc_errstr_set(errstr, sz, "--public-url %s is too long", url);
    } else {
        if (!uport)
            snprintf(out + strlen(out), out_size - strlen(out), "%u", port);
        rc = 0;
    }
out:
    curl_free(scheme);
    curl_free(host);
    curl_free(uport);
    curl_free(path);
    curl_free(query);
    curl_free(frag);
    curl_free(user);
    curl_url_cleanup(u);
    return rc;
}

int sim_base_url_set(struct sim *sim, unsigned port, char *errstr, size_t sz)
{
    if (sim->opt.public_url)
        return public_url(sim->opt.public_url, port, sim->base_url,
                          sizeof(sim->base_url), errstr, sz);
    snprintf(sim->base_url, sizeof(sim->base_url), "%s://127.0.0.1:%u",
             sim->tls_cert_pem ? "https" : "http", port);
    return 0;
}
