/*
 * impcore - Standard Webhooks signatures (webhook-signature: v1,<base64>).
 *
 * Kept apart from the delivery code so the key handling and the signed
 * content can be read (and checked) on their own.
 */
#ifndef IMP_WHK_SIGN_H
#define IMP_WHK_SIGN_H

#include <stddef.h>

struct whk_key;

/* Longest header value: "v1," + base64 of 32 bytes (44) + NUL. */
#define WHK_SIG_MAX	48

/*
 * Make a signing key from a -webhook-secret value: "whsec_<base64>" is
 * base64-decoded, anything else is used as raw bytes (as the spec's
 * libraries do).  NULL when secret is NULL or "".  *warn is set to a static
 * text when the whsec_ form did not decode and the raw bytes were used.
 */
struct whk_key *whk_key_new(const char *secret, const char **warn);
void whk_key_free(struct whk_key *k);

/*
 * sig = "v1," base64(HMAC-SHA256(key, content)), where content is the
 * spec's signed content "<webhook-id>.<webhook-timestamp>.<body>" (the
 * caller renders the body right after that prefix, so nothing is copied).
 * 0 ok, -1 when OpenSSL failed (sig is then "").
 */
int whk_sign(const struct whk_key *k, const char *content, size_t len,
    char sig[WHK_SIG_MAX]);

#endif /* IMP_WHK_SIGN_H */
