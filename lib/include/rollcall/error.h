/* error.h - the one error enum every Rollcall module returns (0 = ok). */
#ifndef ROLLCALL_ERROR_H
#define ROLLCALL_ERROR_H

typedef enum {
    RC_OK = 0,
    RC_EINVAL,    /* input failed validation (bad code, bad UPN, bad date...) */
    RC_EPARSE,    /* input is not well formed (CSV quoting, JSON syntax, protobuf) */
    RC_ERANGE,    /* a number or date is outside its allowed bounds */
    RC_ETOOBIG,   /* input exceeds a size cap */
    RC_ENOMEM,    /* allocation failed */
    RC_ENOTFOUND, /* a looked-up thing does not exist */
    RC_EIO,       /* a file, socket or server failed; see errno or the log */
    RC_ESTATE,    /* the call is not valid in the object's current state */
    RC__ERR_COUNT
} rc_err_t;

/* rc_strerror returns a short static description of err; never NULL. */
const char *rc_strerror(rc_err_t err);

#endif
