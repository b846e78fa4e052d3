/*
 * digest.c — SHA-256 helpers (digest.h) over libcrypto's EVP interface.
 */
#include "digest.h"

#include <openssl/evp.h>
#include <stdio.h>

#include "error.h"

int digest_parts(char out[DIGEST_HEX_LEN], int n, const void *const *parts, const size_t *lens)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (!md)
        return OBLIGO_ENOMEM;
    static const unsigned char sep = 0x1f;
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    for (int i = 0; i < n; i++) {
        EVP_DigestUpdate(md, parts[i], lens[i]);
        EVP_DigestUpdate(md, &sep, 1);
    }
    unsigned char d[32];
    unsigned int len = 0;
    EVP_DigestFinal_ex(md, d, &len);
    EVP_MD_CTX_free(md);
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        out[2 * i] = hex[d[i] >> 4];
        out[2 * i + 1] = hex[d[i] & 15];
    }
    out[64] = '\0';
    return 0;
}
