/* cert.h - the CA, client and server certificates (OpenSSL).
 *
 * New keys are ECDSA P-256 unless CERT_RSA is asked for (RSA-2048, saved as
 * PKCS#1 "RSA PRIVATE KEY" like 0.16.2); an existing CA of either kind is
 * used as it is.  Certificates follow 0.16.2: random 128-bit serial, subject
 * O=<org> only, NotBefore = now truncated to the minute - 5 min, validity
 * 1080 days, SHA-256.  Keys are written 0600 with O_EXCL, certs 0644.
 * Extensions as 0.16.2 (Go) writes them: KeyUsage (critical; KeyEncipherment
 * only for RSA keys), ExtKeyUsage, BasicConstraints (critical), the CA's
 * SubjectKeyId, the others' AuthorityKeyId, SANs.
 */
#ifndef CERT_H
#define CERT_H

#include <jansson.h>

#include "util.h"

enum cert_keytype { CERT_ECDSA = 0, CERT_RSA = 1 };

struct cert_paths {
	const char *cert_dir;      /* certs/ */
	const char *ca_cert, *ca_key, *client_cert, *client_key;
};

/* 0.16.2's BootstrapCertificates: make the CA and the client cert when
 * missing (or expired), logging "Creating CA: <path>" and "Creating client
 * certificate: <path>" to log (stdout for create).  Errors:
 * "certificate authority key already exists", "client key already exists".
 * An expired CA or client cert is made again ("CA certificate is outdated
 * and needs to be regenerated", "Client certificate is outdated ..."); when
 * the CA is made again the client cert is too (0.16.2 kept the stale one).
 * The caller holds the certs lock (store_lock_certs). */
int cert_bootstrap(const struct cert_paths *p, enum cert_keytype kt, FILE *log);

/* Make a server certificate signed by the CA: O=org, EKU serverAuth
 * (+clientAuth when client_auth), SANs: each entry an IP SAN if it parses as
 * an IP, else DNS.  Writes cert_out (0644) and key_out (0600), replacing them
 * atomically. */
int cert_make_server(const char *ca_cert, const char *ca_key, const char *org,
                     const char *const *sans, size_t nsans, int client_auth,
                     enum cert_keytype kt, const char *cert_out, const char *key_out);

/* Describe a certificate file: {"Path","Subject","Issuer","NotBefore",
 * "NotAfter","KeyType","KeyBits","IsCA","SANs":[…],"Expired":bool,"DaysLeft":n}.
 * Subject/Issuer "O=user"; times RFC 3339 UTC; KeyType "ecdsa" or "rsa";
 * DaysLeft rounds down (negative once expired).  New ref in *out. */
int cert_describe(const char *path, json_t **out);

/* The organisation names 0.16.2 uses: $USER, "$USER.<bootstrap>", "$USER.<name>". */
char *cert_org(const char *suffix);   /* suffix NULL for the CA; caller frees */

#endif
