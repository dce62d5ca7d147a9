/* auth.h — who may talk to a LeadOps process over ZeroMQ.
 *
 * CurveZMQ, configured by the `security` keys. auth_security_from_config
 * turns them into the zutil_security_t every socket of a process is made
 * with (services and leadopsctl use the deployment key pair both to serve
 * and to connect). A process that binds CURVE sockets runs one ZAP handler
 * (ZeroMQ RFC 27) per ZeroMQ context, started before its first bind:
 * auth_zap_start binds inproc://zeromq.zap.01 in that context and answers,
 * in a thread of its own, every handshake of the context's server sockets.
 * Allowed: the deployment's own public key and security.curve_client_keys.
 * Anything else is denied (status 400: the client's messages are never
 * delivered), counted and logged with the peer address, never the key.
 *
 * HTTP bearer tokens are httpd's (httpd_set_tokens). Secret keys and tokens
 * never appear in a log line or an error message of this module. */
#ifndef LEADOPS_AUTH_H
#define LEADOPS_AUTH_H

#include <stdint.h>

#include "config.h"
#include "err.h"
#include "zutil.h"

/* The inproc endpoint libzmq sends ZAP requests to (RFC 27). */
#define AUTH_ZAP_ENDPOINT "inproc://zeromq.zap.01"

typedef struct auth_zap auth_zap_t;

/* Fills *SECURITY from CFG: curve off when security.curve_public_key is
 * empty, else the deployment pair as this process's pair and as the server
 * key. Returns 0, or -1 with *err set (ERR_CONFIG) when the keys are not
 * Z85, are not one pair, or this libzmq has no CURVE. */
int auth_security_from_config(const config_t *cfg, zutil_security_t *security, err_t *err);

/* Starts the ZAP handler of ZMQ_CTX (borrowed; it must outlive the handler)
 * with the keys CFG allows (copied). When CFG configures no CurveZMQ, the
 * handle is inert: nothing is bound, nothing runs. Returns the handle, or
 * NULL with *err set (a key that is not Z85, a ZAP handler already bound in
 * this context, a thread that cannot start). */
auth_zap_t *auth_zap_start(void *zmq_ctx, const config_t *cfg, err_t *err);

/* Stops the handler thread (which closes its sockets, so zmq_ctx_term does
 * not wait for them) and frees the handle. Close the CURVE server sockets
 * first: without a ZAP handler libzmq would let any client in. NULL-safe,
 * idempotent. */
void auth_zap_stop(auth_zap_t **self_p);

/* Replaces the allowed client keys with those of CFG (a reloaded config),
 * atomically for the handler thread. Returns 0 when applied, 1 when applied
 * as far as possible but CFG changes the deployment key pair or turns
 * CurveZMQ on or off, which takes a restart (the sockets keep their
 * mechanism), or -1 with *err set when a key is not Z85 (nothing changed). */
int auth_zap_allow(auth_zap_t *self, const config_t *cfg, err_t *err);

/* Handshakes denied since the start; readable from any thread. */
uint64_t auth_zap_denied_count(const auth_zap_t *self);

#endif
