/* oci_bytes.c - JSON strings that carry bytes that are not UTF-8 (see oci_bytes.h). */
#include "oci_bytes.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 200

static int hexval(int c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  c |= 0x20;
  return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* The code unit of the \uXXXX escape at s (s[0] == '\\'), or -1. */
static long escape_unit(const char *s, size_t left) {
  if (left < 6 || s[1] != 'u')
    return -1;
  long v = 0;
  for (int i = 2; i < 6; i++) {
    int h = hexval((unsigned char)s[i]);
    if (h < 0)
      return -1;
    v = v * 16 + h;
  }
  return v;
}

size_t ctr_utf8_len(const unsigned char *s, size_t left) {
  unsigned char c = s[0];
  size_t n = c < 0x80                 ? 1
             : c >= 0xc2 && c <= 0xdf ? 2
             : c >= 0xe0 && c <= 0xef ? 3
             : c >= 0xf0 && c <= 0xf4 ? 4
                                      : 0;
  if (n == 0 || n > left)
    return 0;
  for (size_t i = 1; i < n; i++)
    if ((s[i] & 0xc0) != 0x80)
      return 0;
  if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] > 0x9f) || (c == 0xf0 && s[1] < 0x90) ||
      (c == 0xf4 && s[1] > 0x8f))
    return 0;
  return n;
}

/* Copy n bytes of s to out + *o (when out is not NULL); *o grows by n. */
static void emit(char *out, size_t *o, const char *s, size_t n) {
  if (out)
    memcpy(out + *o, s, n);
  *o += n;
}

/* Rewrite the escapes into out (see oci_bytes.h), and each raw byte that is
 * not valid UTF-8 the same way; returns the length of the result (out NULL:
 * only count it), or 0 when nothing needs rewriting. */
static size_t escape_prepass(const char *s, size_t len, char *out) {
  static const char hex[] = "0123456789abcdef";
  size_t o = 0, changed = 0;
  long prev = -1; /* the code unit of the escape just before, if adjacent */
  for (size_t i = 0; i < len;) {
    long u = s[i] == '\\' ? escape_unit(s + i, len - i) : -1;
    size_t ul = s[i] == '\\' ? 0 : ctr_utf8_len((const unsigned char *)s + i, len - i);
    int high_before = prev >= 0xd800 && prev <= 0xdbff;
    prev = u;
    if (u == 0 || (u >= 0xdc80 && u <= 0xdcff && !high_before) || (s[i] != '\\' && ul == 0)) {
      unsigned c = u > 0 ? (unsigned)(u & 0xff) : (unsigned char)s[i];
      char esc[13] = "\\u0000\\u0000";
      if (u != 0)
        esc[10] = hex[c >> 4], esc[11] = hex[c & 15];
      emit(out, &o, esc, 12);
      i += u >= 0 ? 6 : 1;
      changed = 1;
    } else {
      size_t n = ul ? ul : u >= 0 ? 6 : (i + 1 < len ? 2 : 1);
      emit(out, &o, s + i, n);
      i += n;
    }
  }
  return changed ? o : 0;
}

/* The decoded string s (n bytes) with the NUL pairs mapped back, into out
 * (at least n bytes); returns its length. */
static size_t unescape(const char *s, size_t n, char *out) {
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == 0 && i + 1 < n && s[i + 1] == 0) {
      out[o++] = '\0';
      i++;
    } else if (c == 0 && i + 2 < n && ((unsigned char)s[i + 1] & 0xfe) == 0xc2) {
      out[o++] = (char)((((unsigned char)s[i + 1] & 3) << 6) | ((unsigned char)s[i + 2] & 0x3f));
      i += 2;
    } else {
      out[o++] = (char)c;
    }
  }
  return o;
}

/* Map every string below v back to its bytes; false when out of memory. */
static bool unescape_tree(json_t *v, int depth) {
  if (depth > MAX_DEPTH)
    return true; /* jansson refuses deeper documents already */
  if (json_is_string(v)) {
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (memchr(s, '\0', n) == NULL)
      return true;
    char *buf = malloc(n ? n : 1);
    if (buf == NULL)
      return false;
    size_t m = unescape(s, n, buf);
    int r = json_string_setn_nocheck(v, buf, m);
    free(buf);
    return r == 0;
  }
  if (json_is_array(v)) {
    for (size_t i = 0; i < json_array_size(v); i++)
      if (!unescape_tree(json_array_get(v, i), depth + 1))
        return false;
  } else if (json_is_object(v)) {
    const char *key;
    json_t *val;
    json_object_foreach(v, key, val) {
      if (!unescape_tree(val, depth + 1))
        return false;
    }
  }
  return true;
}

static json_t *out_of_memory(json_error_t *je) {
  memset(je, 0, sizeof *je);
  strcpy(je->text, "out of memory");
  return NULL;
}

json_t *ctr_json_loadb_bytes(const char *text, size_t len, size_t flags, json_error_t *je) {
  size_t relen = escape_prepass(text, len, NULL);
  if (relen == 0)
    return json_loadb(text, len, flags | JSON_ALLOW_NUL, je);
  char *re = malloc(relen);
  if (re == NULL)
    return out_of_memory(je);
  escape_prepass(text, len, re);
  json_t *root = json_loadb(re, relen, flags | JSON_ALLOW_NUL, je);
  free(re);
  if (root != NULL && !unescape_tree(root, 0)) {
    json_decref(root);
    return out_of_memory(je);
  }
  return root;
}
