/*
 * listen_addr.h - a "host:port" the daemon listens on (metrics.listen),
 * parsed once by one function for check-config and for the listener, so
 * that what the first accepts the second can bind.
 */
#ifndef SFC_CONNECTOR_LISTEN_ADDR_H
#define SFC_CONNECTOR_LISTEN_ADDR_H

#include <sys/socket.h>

#include "sfc/common.h"

struct listen_addr {
    struct sockaddr_storage sa; /* sockaddr_in or sockaddr_in6 */
    socklen_t len;
};

/*
 * Parses @text: "IPv4:port", "[IPv6]:port" or "localhost:port" (the IPv4
 * loopback), port 1..65535. Names other than localhost are refused: a
 * listener's address does not depend on a resolver. On failure returns
 * SFC_ERR_CONFIG and says what is wrong in @errstr without quoting @text
 * (the caller decides how to show it). Thread: any.
 */
sfc_err_t listen_addr_parse(const char *text,
                            struct listen_addr *out,
                            char *errstr,
                            size_t errstr_size);

#endif
