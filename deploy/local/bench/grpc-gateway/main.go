// Command bulwark-grpc-gateway is the peer of `make bench`: grpc-gateway
// (Debian's v1.6.4), with the code protoc-gen-grpc-gateway generates at bench
// time from proto/bulwark/scoping/v1/scoping.proto and scoping.yaml, in front
// of Bulwark's scoping service, to compare Bulwark's gateway with the usual
// Go transcoder on the same requests.
//
// It dials scoping over mutual TLS with a certificate of the deployment's CA
// whose identity is "gateway" (the only identity scoping serves every method),
// and does no authentication of its own: the tenant, principal and roles come
// from Grpc-Metadata-* request headers, which grpc-gateway forwards as gRPC
// metadata. Replies are proto3 JSON with lowerCamelCase names and every field,
// defaults too, as Bulwark's gateway writes them.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"io/ioutil"
	"log"
	"net/http"

	"github.com/grpc-ecosystem/grpc-gateway/runtime"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	scoping "bulwark/scoping/v1"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:8081", "HTTP listen address")
	backend := flag.String("backend", "127.0.0.1:50051", "the scoping service's gRPC address")
	caFile := flag.String("ca", "", "the deployment's CA certificate (PEM)")
	certFile := flag.String("cert", "", "this process's certificate (PEM), common name gateway")
	keyFile := flag.String("key", "", "its private key (PEM)")
	serverName := flag.String("server-name", "scoping", "the identity scoping's certificate must name")
	flag.Parse()

	pair, err := tls.LoadX509KeyPair(*certFile, *keyFile)
	if err != nil {
		log.Fatalf("certificate: %v", err)
	}
	caPEM, err := ioutil.ReadFile(*caFile)
	if err != nil {
		log.Fatalf("CA: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		log.Fatalf("CA: no certificate in %s", *caFile)
	}
	creds := credentials.NewTLS(&tls.Config{
		Certificates: []tls.Certificate{pair},
		RootCAs:      pool,
		ServerName:   *serverName,
		MinVersion:   tls.VersionTLS12,
	})

	mux := runtime.NewServeMux(runtime.WithMarshalerOption(runtime.MIMEWildcard,
		&runtime.JSONPb{OrigName: false, EmitDefaults: true}))
	err = scoping.RegisterScopingServiceHandlerFromEndpoint(context.Background(), mux, *backend,
		[]grpc.DialOption{grpc.WithTransportCredentials(creds)})
	if err != nil {
		log.Fatalf("dial %s: %v", *backend, err)
	}
	log.Printf("listening on %s, scoping at %s", *listen, *backend)
	log.Fatal(http.ListenAndServe(*listen, mux))
}
