#include <curl/curl.h>

#include "sfc/connector.h"

int main(int argc, char **argv)
{
    int rc;

    curl_global_init(CURL_GLOBAL_DEFAULT);
    rc = sfc_connector_main(argc, argv);
    curl_global_cleanup();
    return rc;
}
