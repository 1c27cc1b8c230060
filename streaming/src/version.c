#include "sfc/streaming.h"

const char *sfc_streaming_version(void)
{
    return SFC_VERSION;
}
