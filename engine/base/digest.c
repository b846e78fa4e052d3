/*
 * digest.c — SHA-256 helpers (digest.h) over libcrypto's EVP interface.
 */
#include "digest.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "error.h"

/* OpenSSL 3 looks an algorithm up in its providers, under a lock, every
 * time EVP_sha256() is used to initialise a digest; on the journal's hot
 * path (a hash per event) that lookup costs more than hashing the event.
 * The algorithm is therefore fetched once and reused. It lives as long as
 * the process, as the library's own default does. */
static EVP_MD *digest_sha256;
static pthread_once_t digest_once = PTHREAD_ONCE_INIT;
/* Each thread keeps one context and resets it per digest, rather than
 * allocating and freeing one per event; it is freed when the thread ends. */
static pthread_key_t digest_ctx_key;

static void digest_ctx_free(void *md)
{
    EVP_MD_CTX_free(md);
}

static void digest_fetch(void)
{
    digest_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    pthread_key_create(&digest_ctx_key, digest_ctx_free);
}

static EVP_MD_CTX *digest_ctx(void)
{
    EVP_MD_CTX *md = pthread_getspecific(digest_ctx_key);
    if (!md && (md = EVP_MD_CTX_new()) && pthread_setspecific(digest_ctx_key, md) != 0) {
        EVP_MD_CTX_free(md);
        md = NULL;
    }
    return md;
}

int digest_chain_step(char prev[DIGEST_HEX_LEN], const char *prev_hash, const char *want,
                      const char *hash)
{
    int broken = 0;
    if (strcmp(prev_hash, prev) != 0)
        broken |= DIGEST_CHAIN_UNLINKED;
    if (strcmp(want, hash) != 0)
        broken |= DIGEST_CHAIN_ALTERED;
    snprintf(prev, DIGEST_HEX_LEN, "%s", hash);
    return broken;
}

/* SHA-256 of the parts, each followed by sep when with_sep. */
static int digest_hex(char out[DIGEST_HEX_LEN], int n, const void *const *parts, const size_t *lens,
                      int with_sep)
{
    pthread_once(&digest_once, digest_fetch);
    EVP_MD_CTX *md = digest_ctx();
    if (!md)
        return OBLIGO_ENOMEM;
    static const unsigned char sep = 0x1f;
    if (!EVP_DigestInit_ex2(md, digest_sha256 ? digest_sha256 : EVP_sha256(), NULL))
        return OBLIGO_ENOMEM;
    for (int i = 0; i < n; i++) {
        EVP_DigestUpdate(md, parts[i], lens[i]);
        if (with_sep)
            EVP_DigestUpdate(md, &sep, 1);
    }
    unsigned char d[32];
    unsigned int len = 0;
    int ok = EVP_DigestFinal_ex(md, d, &len);
    if (!ok)
        return OBLIGO_ENOMEM;
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < 32; i++) {
        out[2 * i] = hex[d[i] >> 4];
        out[2 * i + 1] = hex[d[i] & 15];
    }
    out[64] = '\0';
    return 0;
}

int digest_parts(char out[DIGEST_HEX_LEN], int n, const void *const *parts, const size_t *lens)
{
    return digest_hex(out, n, parts, lens, 1);
}

int digest_bytes(char out[DIGEST_HEX_LEN], const void *p, size_t n)
{
    const void *parts[] = {p ? p : ""};
    return digest_hex(out, 1, parts, &n, 0);
}
