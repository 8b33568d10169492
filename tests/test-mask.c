/*
 * impcore - lib/mask.c: URL passwords and query values masked in free
 * text (log lines, impctl, /debug/info, cmdline), in place for argv, and
 * which keys name secrets.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "lib/mask.h"

static int	nfail, nchecked;

static void
text(const char *in, const char *want)
{
	char out[512], ip[512];
	size_t n;

	nchecked++;
	n = mask_str(in, out, sizeof out);
	if (strcmp(out, want) != 0 || n != strlen(want)) {
		printf("not ok: mask_str(\"%s\") = \"%s\", want \"%s\"\n", in,
		    out, want);
		nfail++;
	}
	/* in place: same length, '*' where mask_str wrote "***" */
	snprintf(ip, sizeof ip, "%s", in);
	mask_inplace(ip);
	if (strlen(ip) != strlen(in) || (strcmp(in, want) == 0) !=
	    (strcmp(ip, in) == 0)) {
		printf("not ok: mask_inplace(\"%s\") = \"%s\"\n", in, ip);
		nfail++;
	}
}

static void
key(const char *k, int want)
{
	nchecked++;
	if (mask_secret_key(k) != want) {
		printf("not ok: mask_secret_key(%s) != %d\n", k, want);
		nfail++;
	}
}

int
main(void)
{
	char small[8], ip[64];

	text("http://hook:pw@127.0.0.1:9/h", "http://hook:***@127.0.0.1:9/h");
	text("https://TOKEN@example.com/x", "https://***@example.com/x");
	text("https://u:p@ss@host", "https://u:***@host");
	text("https://host/path", "https://host/path");
	text("https://host:8443/p?token=abc&x=1#frag",
	    "https://host:8443/p?token=***&x=***#frag");
	text("https://a:b@host?k=v", "https://a:***@host?k=***");
	text("GET /health?token=s3cret 200 0.1ms 127.0.0.1",
	    "GET /health?token=*** 200 0.1ms 127.0.0.1");
	text("GET /x?a&b=&c=1 200", "GET /x?a&b=&c=*** 200");
	text("what? a=b", "what? a=b");
	text("?a=b", "?a=b");
	text("redirect to \"http://u:pw@h/p?q=1\" refused",
	    "redirect to \"http://u:***@h/p?q=***\" refused");
	text("-webhook-url=http://h:9/p?sig=xyz",
	    "-webhook-url=http://h:9/p?sig=***");
	text("http://:pw@h/", "http://:***@h/");
	text("http://u:@h/", "http://u:@h/");
	text("no url here: 1 + 2 = 3", "no url here: 1 + 2 = 3");
	text("", "");
	text("x://", "x://");
	text("a://@", "a://@");

	/* truncation: always NUL-terminated, never past cap */
	nchecked++;
	if (mask_str("http://u:password@h/", small, sizeof small) != 7 ||
	    strcmp(small, "http://") != 0) {
		printf("not ok: truncated to \"%s\"\n", small);
		nfail++;
	}
	nchecked++;
	snprintf(ip, sizeof ip, "-webhook-url=http://u:pw@h/?t=abc");
	if (!mask_inplace(ip) ||
	    strcmp(ip, "-webhook-url=http://u:**@h/?t=***") != 0) {
		printf("not ok: in place \"%s\"\n", ip);
		nfail++;
	}

	key("api-token", 1);
	key("webhook-secret", 1);
	key("webhook_secret", 1);
	key("db-password", 1);
	key("api-token-file", 0);
	key("webhook-secret-file", 0);
	key("webhook-url", 0);
	key("threads", 0);

	printf("%d checks, %d failed\n", nchecked, nfail);
	return (nfail != 0);
}
