/*
 * impcore - Standard Webhooks signatures: key from the secret, HMAC-SHA256.
 *
 * https://www.standardwebhooks.com/ : the key is the base64 part of a
 * "whsec_" secret; the signature header is "v1," + base64 of the HMAC of
 * "<id>.<timestamp>.<body>".  OpenSSL 3's EVP_MAC (HMAC_CTX_* is
 * deprecated and -Werror would refuse it): the MAC is fetched and keyed
 * once per key, and each signature only re-initialises that context.  The
 * one-shot HMAC() fetches the algorithm and sets the key on every call,
 * about 40% more per webhook body; it stays as the fallback should the
 * context not be made.
 */
#include "config.h"

#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "lib/mem.h"
#include "webhook/whk_sign.h"

#define WHK_KEY_MAGIC	0x574b4559u	/* "WKEY" */
#define WHK_PREFIX	"whsec_"

struct whk_key {
	unsigned	magic;
	EVP_MAC_CTX	*ctx;		/* keyed HMAC-SHA256, or NULL: HMAC() */
	int		len;
	unsigned char	bytes[];
};

/* A keyed HMAC-SHA256 context for k, NULL when OpenSSL will not make one. */
static EVP_MAC_CTX *
whk_mac_new(const struct whk_key *k)
{
	static char sha256[] = "SHA256";	/* OpenSSL wants it writable */
	OSSL_PARAM params[2];
	EVP_MAC_CTX *ctx = NULL;
	EVP_MAC *mac;

	mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (mac == NULL)
		return (NULL);
	ctx = EVP_MAC_CTX_new(mac);
	/* the context holds its own reference */
	EVP_MAC_free(mac);
	if (ctx == NULL)
		return (NULL);
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	    sha256, 0);
	params[1] = OSSL_PARAM_construct_end();
	if (!EVP_MAC_init(ctx, k->bytes, (size_t)k->len, params)) {
		EVP_MAC_CTX_free(ctx);
		return (NULL);
	}
	return (ctx);
}

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
	k->ctx = whk_mac_new(k);
	return (k);
}

void
whk_key_free(struct whk_key *k)
{
	if (k == NULL)
		return;
	EVP_MAC_CTX_free(k->ctx);
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
	size_t mdsz = 0;

	sig[0] = '\0';
	if (k == NULL || k->magic != WHK_KEY_MAGIC)
		return (-1);
	if (k->ctx != NULL) {
		/* a NULL key: the same key again, the digest state reset */
		if (!EVP_MAC_init(k->ctx, NULL, 0, NULL) ||
		    !EVP_MAC_update(k->ctx, (const unsigned char *)content, len) ||
		    !EVP_MAC_final(k->ctx, md, &mdsz, sizeof md) || mdsz != 32)
			return (-1);
		mdlen = (unsigned int)mdsz;
	} else if (HMAC(EVP_sha256(), k->bytes, k->len,
	    (const unsigned char *)content, len, md, &mdlen) == NULL ||
	    mdlen != 32)
		return (-1);
	memcpy(sig, "v1,", 3);
	/* 32 bytes -> 44 base64 characters + NUL: fits WHK_SIG_MAX */
	EVP_EncodeBlock((unsigned char *)sig + 3, md, (int)mdlen);
	return (0);
}
