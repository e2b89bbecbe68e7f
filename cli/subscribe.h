/* subscribe.h - `rollcall subscribe`: an LA's live referral feed as JSON
 * lines, resuming after a restart with no gaps and no repeats; and
 * `rollcall keygen`, the CURVE key pairs the feed's ends use.
 *
 * rollcall-reports (docs/la-feed.md) keeps each LA's referrals in a log
 * numbered 1, 2, 3... and publishes each as [referral.<la>.<urn>.][JSON with
 * id and prev]. The subscriber prints an entry only when its id is one more
 * than the last it printed, then records that id in the state file (written
 * to a temporary file and renamed, so a kill leaves the old or the new id,
 * never a torn one). At start, on a gap in the live ids, and every --poll
 * seconds (the last live messages may be lost with nothing after them to
 * show it) it asks the replay endpoint for everything after its last id.
 * Live messages it has printed already are dropped.
 *
 * A kill after a line is written but before the state file is renamed
 * would print that line again at the next start. When stdout is a regular
 * file (`>> la909.jsonl`) the file itself settles it: at start the id of its
 * last complete line wins over an older state (and a line torn by a kill
 * mid-write is cut off), so the file holds each referral exactly once. On a
 * pipe that one line may repeat; each line carries its id to drop it by.
 */
#ifndef ROLLCALL_CLI_SUBSCRIBE_H
#define ROLLCALL_CLI_SUBSCRIBE_H

#include <stdint.h>

#include "rollcall/error.h"

#define SUBSCRIBE_KEY_Z85 40   /* characters of a Z85 CURVE key */
#define SUBSCRIBE_ERR_MAX 1200 /* bytes of an error message, paths included */

/* subscribe_key_read reads a key file (40 Z85 characters, one trailing
 * newline allowed) into out. RC_EIO when it cannot be read, RC_EINVAL when
 * it does not hold a key; err (SUBSCRIBE_ERR_MAX bytes) says which, never the key. */
rc_err_t subscribe_key_read(const char *path, char out[SUBSCRIBE_KEY_Z85 + 1], char *err);

/* subscribe_state_read reads the state file at path ("<la> <last id>\n")
 * into *last; a missing file is 0. RC_EINVAL when it names another LA than
 * la or is not a state file, RC_EIO when it cannot be read; err (SUBSCRIBE_ERR_MAX bytes)
 * says which. */
rc_err_t subscribe_state_read(const char *path, const char *la, uint64_t *last, char *err);

/* subscribe_state_write replaces the state file at path with la and last
 * (via path.tmp, fsync and rename). RC_EIO with err set on failure. */
rc_err_t subscribe_state_write(const char *path, const char *la, uint64_t last, char *err);

/* subscribe_main runs `rollcall subscribe ARGS` (argv[0] is "subscribe");
 * returns the process's exit status: 0 after SIGINT/SIGTERM, 1 when the
 * server refuses this key, 2 for usage, 3 for other failures. */
int subscribe_main(int argc, char **argv);

/* keygen_main runs `rollcall keygen NAME`: writes a new CURVE key pair as
 * NAME.key (the secret, mode 0600) and NAME.pub (the public key), refusing
 * to overwrite either. Returns the exit status. */
int keygen_main(int argc, char **argv);

#endif
