/*
 * What rpc_server.c, rpc_client.c and rpc_tls.c share and nobody else sees:
 * gRPC's start-up, the gRPC credentials made from a bw_rpc_tls_t, and the
 * peer's identity.
 */
#ifndef BW_RPC_INTERNAL_H
#define BW_RPC_INTERNAL_H

#include <stddef.h>

#include <grpc/grpc.h>
#include <grpc/grpc_security.h>

#include "rpc.h"

/* Longest identity (certificate common name) a peer may have. */
#define BW_RPC_IDENTITY_MAX 64

/* grpc_init(), the first time with the runtime set as release builds of gRPC
 * set it (see rpc_tls.c). Pair each call with grpc_shutdown(). */
void bw_rpc_grpc_init(void);

/* New credentials (caller owns) that present this process's certificate and
 * accept only peers whose certificate the CA signed. The server ones require
 * a client certificate; the channel ones verify the server's name. */
grpc_server_credentials *bw_rpc_tls_server_creds(const bw_rpc_tls_t *tls);
grpc_channel_credentials *bw_rpc_tls_channel_creds(const bw_rpc_tls_t *tls);

/* The completion queue the poller thread of client polls (see
 * bw_rpc_server_opts_t.io_client). */
grpc_completion_queue *bw_rpc_client_queue(const bw_rpc_client_t *client);

/* Copies the common name of the certificate the peer of call presented into
 * buf: 0, or BW_EAUTH when the peer is not authenticated or has none. */
int bw_rpc_peer_identity(grpc_call *call, char *buf, size_t len);

#endif
