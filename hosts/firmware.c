/*
 * firmware.c: firmware banners of serial consoles and DMI's BIOS words
 * (firmware.h).
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "firmware.h"
#include "banned.h"

/*
 * The banners, by the text before their version. A version that must
 * start with a digit keeps prose out ("U-Boot SPL", "iPXE (http://...)",
 * a kernel line naming U-Boot); SeaBIOS and EDK II versions are words
 * of their own ("rel-1.16.3-0-g...", "edk2-stable202302"). "U-Boot SPL"
 * comes before "U-Boot" so that the SPL is named as such.
 */
static const struct banner {
	const char *marker;   /* the text before the version */
	const char *name;     /* what the record says before it */
	const char *prefix;   /* kept before the version ("v") */
	int digit;            /* the version starts with a digit */
} banners[] = {
	{ "SeaBIOS (version ", "SeaBIOS", "", 0 },
	{ "U-Boot SPL ", "U-Boot SPL", "", 1 },
	{ "U-Boot ", "U-Boot", "", 1 },
	{ "OpenSBI v", "OpenSBI", "v", 1 },
	{ "iPXE ", "iPXE", "", 1 },
	{ "UEFI firmware (version ", "EDK II", "", 0 },
};

static int version_char(int c)
{
	return isalnum(c) || (c && strchr("._+~:-", c));
}

/* The length of the version word at p (0: none), at most the bound. */
static size_t version_len(const char *p, int digit)
{
	size_t n = 0;

	if (digit && !isdigit((unsigned char)*p))
		return 0;
	while (n < FIRMWARE_VERSION_MAX && version_char((unsigned char)p[n]))
		n++;
	/* "v1.2:" or "2023.01-" ends a sentence, not the version */
	while (n > 0 && (p[n - 1] == ':' || p[n - 1] == '-' || p[n - 1] == '.'))
		n--;
	return n;
}

int firmware_banner(const char *line, char *out, size_t outlen)
{
	for (size_t i = 0; i < sizeof(banners) / sizeof(banners[0]); i++) {
		const struct banner *b = &banners[i];
		size_t mlen = strlen(b->marker);

		for (const char *p = strstr(line, b->marker); p;
		     p = strstr(p + 1, b->marker)) {
			size_t n = version_len(p + mlen, b->digit);

			if (!n)
				continue;
			if (outlen)
				snprintf(out, outlen, "%s %s%.*s", b->name,
					 b->prefix, (int)n, p + mlen);
			return 1;
		}
	}
	return 0;
}

void firmware_scan_init(struct firmware_scan *s)
{
	memset(s, 0, sizeof(*s));
}

/* Whether text (", "-joined) holds word as one of its items. */
static int scan_has(const char *text, const char *word)
{
	size_t len = strlen(word);

	for (const char *p = text; *p;) {
		const char *end = strstr(p, ", ");
		size_t n = end ? (size_t)(end - p) : strlen(p);

		if (n == len && !memcmp(p, word, len))
			return 1;
		if (!end)
			break;
		p = end + 2;
	}
	return 0;
}

void firmware_scan_line(struct firmware_scan *s, const char *line)
{
	char word[FIRMWARE_MAX + 1];
	size_t have = strlen(s->text), len;

	if (!firmware_banner(line, word, sizeof(word)) || scan_has(s->text, word))
		return;
	len = strlen(word);
	if (have + (have ? 2 : 0) + len > FIRMWARE_MAX)
		return;
	if (have) {
		memcpy(s->text + have, ", ", 2);
		have += 2;
	}
	memcpy(s->text + have, word, len + 1);
	s->n++;
}

/* Appends s to out at *len, trimmed, each control byte or run of spaces
 * one space; stops at the bound. */
static void dmi_add(char *out, size_t outlen, size_t *len, const char *s)
{
	int space = *len > 0;

	if (!s)
		return;
	for (; *s && *len + 1 < outlen; s++) {
		unsigned char c = (unsigned char)*s;

		if (isspace(c) || iscntrl(c) || c >= 0x7f) {
			space = *len > 0;
			continue;
		}
		if (space && *len + 2 < outlen)
			out[(*len)++] = ' ';
		space = 0;
		out[(*len)++] = (char)c;
	}
	out[*len] = '\0';
}

int firmware_dmi(const char *vendor, const char *version, char *out,
		 size_t outlen)
{
	char buf[FIRMWARE_MAX + 1];
	size_t len = 0;

	buf[0] = '\0';
	dmi_add(buf, sizeof(buf), &len, vendor);
	dmi_add(buf, sizeof(buf), &len, version);
	if (!len || !outlen)
		return 0;
	snprintf(out, outlen, "%s", buf);
	return 1;
}
