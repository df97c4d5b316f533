// OpenSSL's libcrypto, for SHA-256 only: its implementation uses the processor's SHA extensions where present,
// several times faster than libsodium's portable one on the hashes every entry needs (leaf and payload).
#include <openssl/evp.h>
