/* "host:port" -> socket address (see listen_addr.h). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "listen_addr.h"

static bool parse_port(const char *p, uint16_t *port)
{
    char *end;
    long v;

    if (*p < '0' || *p > '9')
        return false;
    v = strtol(p, &end, 10);
    if (*end || v < 1 || v > 65535)
        return false;
    *port = (uint16_t)v;
    return true;
}

sfc_err_t listen_addr_parse(const char *text,
                            struct listen_addr *out,
                            char *errstr,
                            size_t errstr_size)
{
    const char *colon = text ? strrchr(text, ':') : NULL;
    char host[INET6_ADDRSTRLEN + 8];
    size_t host_len;
    uint16_t port;

    if (!colon) {
        sfc_errstr_set(errstr, errstr_size,
                       "expected host:port, e.g. 127.0.0.1:9102");
        return SFC_ERR_CONFIG;
    }
    if (!parse_port(colon + 1, &port)) {
        sfc_errstr_set(errstr, errstr_size,
                       "the port must be a number from 1 to 65535");
        return SFC_ERR_CONFIG;
    }
    host_len = (size_t)(colon - text);
    memset(out, 0, sizeof(*out));
    if (host_len >= 2 && text[0] == '[' && text[host_len - 1] == ']' &&
        host_len - 2 < sizeof(host)) {
        struct sockaddr_in6 *sa6 = (struct sockaddr_in6 *)&out->sa;

        memcpy(host, text + 1, host_len - 2);
        host[host_len - 2] = '\0';
        if (inet_pton(AF_INET6, host, &sa6->sin6_addr) != 1) {
            sfc_errstr_set(errstr, errstr_size,
                           "the host in brackets must be an IPv6 address");
            return SFC_ERR_CONFIG;
        }
        sa6->sin6_family = AF_INET6;
        sa6->sin6_port = htons(port);
        out->len = sizeof(*sa6);
        return SFC_OK;
    }
    if (host_len == 0 || host_len >= sizeof(host)) {
        sfc_errstr_set(errstr, errstr_size,
                       "expected host:port, e.g. 127.0.0.1:9102");
        return SFC_ERR_CONFIG;
    }
    memcpy(host, text, host_len);
    host[host_len] = '\0';
    if (strchr(host, ':')) {
        sfc_errstr_set(errstr, errstr_size,
                       "write an IPv6 address in brackets, e.g. [::1]:9102");
        return SFC_ERR_CONFIG;
    }
    {
        struct sockaddr_in *sa4 = (struct sockaddr_in *)&out->sa;

        if (strcmp(host, "localhost") == 0)
            sa4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        else if (inet_pton(AF_INET, host, &sa4->sin_addr) != 1) {
            sfc_errstr_set(errstr, errstr_size,
                           "the host must be an IP address or localhost");
            return SFC_ERR_CONFIG;
        }
        sa4->sin_family = AF_INET;
        sa4->sin_port = htons(port);
        out->len = sizeof(*sa4);
    }
    return SFC_OK;
}
