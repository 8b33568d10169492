/*
 * impcore - Standard Webhooks signatures: key from the secret, HMAC-SHA256.
 *
 * https://www.standardwebhooks.com/ : the key is the base64 part of a
 * "whsec_" secret; the signature header is "v1," + base64 of the HMAC of
 * "<id>.<timestamp>.<body>".  OpenSSL's one-shot HMAC() (HMAC_CTX_* is
 * deprecated in OpenSSL 3 and -Werror would refuse it).
 */
#include "config.h"

#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "common/mem.h"
#include "webhook/whk_sign.h"

#define WHK_KEY_MAGIC	0x574b4559u	/* "WKEY" */
#define WHK_PREFIX	"whsec_"

struct whk_key {
	unsigned	magic;
	int		len;
	unsigned char	bytes[];
};

/*
 * Base64-decode s (standard alphabet, padding optional) into out, which
 * has room for 3/4 of strlen(s) + 3.  Returns the decoded length or -1.
 */
static int
whk_b64_decode(const char *s, unsigned char *out)
{
	size_t n = strlen(s), pad = 0;
	char *tmp;
	int len;

	/* EVP_DecodeBlock wants whole quads: restore the padding some omit */
	tmp = imp_malloc(n + 4);
	memcpy(tmp, s, n);
	while (n % 4 != 0)
		tmp[n++] = '=';
	tmp[n] = '\0';
	if (n >= 1 && tmp[n - 1] == '=')
		pad++;
	if (n >= 2 && tmp[n - 2] == '=')
		pad++;
	len = n > 0 ? EVP_DecodeBlock(out, (const unsigned char *)tmp, (int)n) : 0;
	imp_free(tmp);
	/* EVP_DecodeBlock counts the padding as zero bytes: take them off */
	if (len < 0 || (size_t)len < pad)
		return (-1);
	return (len - (int)pad);
}

struct whk_key *
whk_key_new(const char *secret, const char **warn)
{
	struct whk_key *k;
	size_t n;
	int len = -1;

	*warn = NULL;
	if (secret == NULL || *secret == '\0')
		return (NULL);
	n = strlen(secret);
	k = imp_calloc(1, sizeof *k + n + 4);
	k->magic = WHK_KEY_MAGIC;
	if (strncmp(secret, WHK_PREFIX, strlen(WHK_PREFIX)) == 0) {
		len = whk_b64_decode(secret + strlen(WHK_PREFIX), k->bytes);
		if (len <= 0)
			*warn = "the whsec_ part of -webhook-secret is not "
			    "base64: signing with the secret's raw bytes";
	}
	if (len <= 0) {
		memcpy(k->bytes, secret, n);
		len = (int)n;
	}
	k->len = len;
	return (k);
}

void
whk_key_free(struct whk_key *k)
{
	if (k == NULL)
		return;
	/* a key is a secret: do not leave it in freed heap */
	OPENSSL_cleanse(k->bytes, (size_t)k->len);
	imp_free(k);
}

int
whk_sign(const struct whk_key *k, const char *content, size_t len,
    char sig[WHK_SIG_MAX])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	sig[0] = '\0';
	if (k == NULL || k->magic != WHK_KEY_MAGIC)
		return (-1);
	if (HMAC(EVP_sha256(), k->bytes, k->len, (const unsigned char *)content,
	    len, md, &mdlen) == NULL || mdlen != 32)
		return (-1);
	memcpy(sig, "v1,", 3);
	/* 32 bytes -> 44 base64 characters + NUL: fits WHK_SIG_MAX */
	EVP_EncodeBlock((unsigned char *)sig + 3, md, (int)mdlen);
	return (0);
}
