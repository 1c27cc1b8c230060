#include "sfc/rpc.h"

const char *sfc_rpc_version(void)
{
    return SFC_VERSION;
}
