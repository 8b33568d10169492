/*
 * impcore - secrets out of what we print.
 *
 * One rule for every output (log lines, impctl, /debug/info,
 * /debug/pprof/cmdline, the process's own argv): the password of a URL's
 * userinfo and the value of every query parameter are secrets.
 * "https://hook:pw@example.com/r?token=abc&x=1" prints as
 * "https://hook:***@example.com/r?token=***&x=***".  A userinfo without a
 * password ("https://TOKEN@host/") is masked whole: that is where tokens go.
 * Every query value is masked, not only those of names that look secret:
 * "sig", "code", "X-Amz-Signature" or "k" cannot be told apart from
 * harmless names.
 */
#ifndef IMP_MASK_H
#define IMP_MASK_H

#include <stddef.h>

#define MASK_STARS	"***"

/*
 * Copy the n bytes at in to out (cap bytes, always NUL-terminated when cap
 * > 0), each URL in them masked.  in is free text: every "scheme://" and
 * every '?' inside a word is looked at.  Returns the length written.
 * Masking may lengthen the text ("?a=1" -> "?a=***"): 3 * n + 1 bytes
 * always suffice; a smaller out truncates.
 */
size_t mask_text(const char *in, size_t n, char *out, size_t cap);
/* mask_text of a NUL-terminated s into out. */
size_t mask_str(const char *s, char *out, size_t cap);
/*
 * In place, keeping the length: the bytes of every secret become '*'.  For
 * argv, whose memory is what ps shows and cannot grow.  Returns 1 when
 * something was masked.
 */
int mask_inplace(char *s);
/*
 * The key (a flag or config key) holds a secret: its value is never shown,
 * only whether it is set.  "api-token", "webhook-secret", anything with
 * token, secret, passw, credential, api-key or private in it; a key ending
 * in "-file" names where a secret is kept, not the secret, and is shown.
 */
int mask_secret_key(const char *key);

#endif /* IMP_MASK_H */
