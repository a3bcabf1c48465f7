/* oci_bytes.h - JSON text whose strings carry bytes that are not UTF-8.
 *
 * Lua strings are bytes (argv, env, names, paths) and JSON strings are
 * Unicode. ctr.json writes each byte that is not part of a valid UTF-8
 * sequence as the escape \udcXX (a lone low surrogate: Python's
 * "surrogateescape", so json.loads + os.fsencode give the bytes back); valid
 * UTF-8 is written as it is. libjansson refuses lone surrogates, so
 * ctr_json_loadb_bytes rewrites them before parsing (a lone \udcXX, XX
 * 80..ff, becomes \u0000\u00XX and a real \u0000 becomes \u0000\u0000: a raw
 * NUL cannot be in JSON text, so every NUL jansson decodes comes from these)
 * and maps the decoded strings back afterwards (NUL NUL is a NUL again, NUL
 * followed by U+00XX is the byte XX). Raw bytes that are not UTF-8 (files
 * written before this encoding) are taken the same way. Object keys must be
 * valid UTF-8. Used by the config parser (config.json) and by ctr.json. */
#ifndef CTR_OCI_BYTES_H
#define CTR_OCI_BYTES_H

#include <jansson.h>
#include <stddef.h>

/* json_loadb(text, len, flags | JSON_ALLOW_NUL) with the byte escapes above
 * honoured: the strings of the result hold the original bytes (a string may
 * hold a NUL only where the text had \u0000). NULL on failure (je filled;
 * je->text "out of memory" when the rewrite could not be allocated). */
json_t *ctr_json_loadb_bytes(const char *text, size_t len, size_t flags, json_error_t *je);

/* The length of the valid UTF-8 sequence at s (1..4), or 0 if the byte at s
 * does not start one (overlong forms, surrogates and code points above
 * U+10FFFF are not valid): what the encoder writes as it is. */
size_t ctr_utf8_len(const unsigned char *s, size_t left);

#endif
