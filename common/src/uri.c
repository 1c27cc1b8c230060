/* URIs in messages: the password of the user info masked. */
#include <string.h>

#include "sfc/common.h"

char *sfc_uri_redact(const char *uri)
{
    const char *scheme, *auth, *at, *colon;

    if (!uri)
        return NULL;
    scheme = strstr(uri, "://");
    auth = scheme ? scheme + 3 : uri;
    at = strchr(auth, '@');
    if (!at)
        return sfc_xstrdup(uri);
    /* The last '@' before the path ends the userinfo. */
    for (const char *p = at; *p && *p != '/'; p++)
        if (*p == '@')
            at = p;
    colon = memchr(auth, ':', (size_t)(at - auth));
    if (!colon)
        return sfc_xstrdup(uri);
    return sfc_xasprintf("%.*s****%s", (int)(colon + 1 - uri), uri, at);
}
