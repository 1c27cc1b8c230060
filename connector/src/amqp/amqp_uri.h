/*
 * amqp_uri.h - a broker URI read as kombu (and so Nameko) reads it:
 * amqp[s]://user:password@host:port/vhost, where the path after the first
 * "/" is the virtual host, percent-decoded ("//" and "/%2F" are "/", an
 * empty path is "/"), and what is left out takes kombu's defaults (guest,
 * guest, localhost, 5672 or 5671 with TLS). Parsed by libcurl's URL API.
 *
 * Thread: any. Locks: none.
 */
#ifndef SFC_CONNECTOR_AMQP_URI_H
#define SFC_CONNECTOR_AMQP_URI_H

#include <stdbool.h>
#include <stddef.h>

#include "sfc/common.h"

struct amqp_uri {
    bool tls;       /* amqps:// */
    char *user;     /* decoded */
    char *password; /* decoded; a secret: freed with sfc_free_secret */
    char *host;     /* without an IPv6 literal's brackets */
    int port;
    char *vhost; /* decoded */
};

/*
 * Fills @u from @text; SFC_OK, or SFC_ERR_CONFIG with the reason in
 * @errstr (never the URI's password). Refuses other schemes, a port out of
 * range and query options (amqp.heartbeat and the TLS keys are the
 * configuration's). On failure @u holds nothing to free.
 */
sfc_err_t amqp_uri_parse(const char *text,
                         struct amqp_uri *u,
                         char *errstr,
                         size_t errsz);

/* Frees what amqp_uri_parse() filled in; accepts a zeroed @u. */
void amqp_uri_free(struct amqp_uri *u);

#endif
