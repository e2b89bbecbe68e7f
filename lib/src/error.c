/* error.c - descriptions for rc_err_t. */
#include "rollcall/error.h"

const char *rc_strerror(rc_err_t err)
{
    switch (err) {
    case RC_OK:
        return "ok";
    case RC_EINVAL:
        return "invalid value";
    case RC_EPARSE:
        return "malformed input";
    case RC_ERANGE:
        return "value out of range";
    case RC_ETOOBIG:
        return "input too large";
    case RC_ENOMEM:
        return "out of memory";
    case RC_ENOTFOUND:
        return "not found";
    case RC_EIO:
        return "input/output error";
    case RC_ESTATE:
        return "invalid state";
    case RC__ERR_COUNT:
        break;
    }
    return "unknown error";
}
