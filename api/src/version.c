#include "sfc/api.h"

const char *sfc_api_version(void)
{
    return SFC_VERSION;
}
