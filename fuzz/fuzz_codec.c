/* fuzz_codec.c - any bytes into codec_decode; what decodes must re-encode and decode back equal. */
#include <stdint.h>
#include <stdlib.h>

#include "rollcall/codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* LLVMFuzzerTestOneInput aborts when a decoded message fails to re-encode or
 * comes back different; everything else (rejections included) is fine. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static wire_msg_t first, second; /* large: keep them off the fuzzer's stack */
    uint8_t *buf = NULL;
    size_t len = 0;

    if (codec_decode(data, size, &first, NULL) != RC_OK)
        return 0;
    if (codec_encode(&first, &buf, &len, NULL) != RC_OK)
        abort(); /* decode accepted what encode refuses */
    if (codec_decode(buf, len, &second, NULL) != RC_OK || !codec_msg_equal(&first, &second))
        abort();
    free(buf);
    return 0;
}
