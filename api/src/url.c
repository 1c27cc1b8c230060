/*
 * The plain-http guard: credentials and sessions go over https, or over
 * http only to this machine. URLs are read by libcurl's URL parser, the
 * one that decides where a transfer connects, so user info, odd spellings
 * and look-alike names are judged by the host they really name.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api_int.h"

/* Whether @host (as libcurl gives it: IPv6 in brackets) is loopback. */
static bool host_is_loopback(const char *host)
{
    struct in_addr a4;
    struct in6_addr a6;
    char v6[INET6_ADDRSTRLEN + 2];
    size_t n = strlen(host);

    if (strcasecmp(host, "localhost") == 0)
        return true;
    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (n > 2 && n < sizeof(v6) && host[0] == '[' && host[n - 1] == ']') {
        memcpy(v6, host + 1, n - 2);
        v6[n - 2] = '\0';
        return inet_pton(AF_INET6, v6, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
    }
    return false;
}

/*
 * Parses @url; *scheme and *host get libcurl's reading (free with
 * curl_free). Returns the parser's code.
 */
static CURLUcode parse(const char *url, char **scheme, char **host)
{
    CURLU *u = curl_url();
    CURLUcode rc;

    *scheme = *host = NULL;
    rc = curl_url_set(u, CURLUPART_URL, url, 0);
    if (rc == CURLUE_OK)
        rc = curl_url_get(u, CURLUPART_SCHEME, scheme, 0);
    if (rc == CURLUE_OK)
        rc = curl_url_get(u, CURLUPART_HOST, host, 0);
    curl_url_cleanup(u);
    return rc;
}

bool api_url_insecure(const char *url)
{
    char *scheme, *host;
    bool insecure = true;

    if (parse(url, &scheme, &host) == CURLUE_OK)
        insecure = strcasecmp(scheme, "https") != 0 &&
                   !(strcasecmp(scheme, "http") == 0 && host_is_loopback(host));
    curl_free(scheme);
    curl_free(host);
    return insecure;
}

/* @url without its user info (it may hold a password), for messages. */
static char *shown(const char *url)
{
    CURLU *u = curl_url();
    char *got = NULL, *out;

    if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK) {
        curl_url_set(u, CURLUPART_USER, NULL, 0);
        curl_url_set(u, CURLUPART_PASSWORD, NULL, 0);
        curl_url_get(u, CURLUPART_URL, &got, 0);
    }
    out = sfc_xstrdup(got ? got : "the URL");
    curl_free(got);
    curl_url_cleanup(u);
    return out;
}

sfc_err_t sfc_api_url_check(const char *url,
                            bool allow_insecure_http,
                            char *errstr,
                            size_t errstr_size)
{
    char *scheme, *host, *show;
    CURLUcode rc = parse(url, &scheme, &host);
    sfc_err_t ret = SFC_OK;

    if (rc != CURLUE_OK) {
        sfc_errstr_set(errstr, errstr_size, "not a URL: %s",
                       curl_url_strerror(rc));
        ret = SFC_ERR_CONFIG;
        goto out_free;
    }
    show = shown(url);
    if (strcasecmp(scheme, "https") != 0 && strcasecmp(scheme, "http") != 0) {
        sfc_errstr_set(errstr, errstr_size,
                       "%s: only https:// (or http:// to this machine) is "
                       "supported",
                       show);
        ret = SFC_ERR_CONFIG;
    } else if (!allow_insecure_http && api_url_insecure(url)) {
        sfc_errstr_set(errstr, errstr_size,
                       "refusing to send credentials over plain http to %s, "
                       "which is not this machine (use https, or "
                       "allow_insecure_http)",
                       show);
        ret = SFC_ERR_CONFIG;
    }
    free(show);
out_free:
    curl_free(scheme);
    curl_free(host);
    return ret;
}
