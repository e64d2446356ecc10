package ingestauth

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"

	"google.golang.org/grpc/credentials"
)

// ServerTLS loads a server's TLS configuration: the PEM certificate chain
// certFile and key keyFile, and, when clientCAFile is set, the PEM CAs
// that must have signed every client's certificate
// (tls.RequireAndVerifyClientCert: mutual TLS). It returns nil and no
// error when certFile is "" (TLS off). TLS 1.2 is the minimum.
func ServerTLS(certFile, keyFile, clientCAFile string) (*tls.Config, error) {
	if certFile == "" {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("load tls_cert_file/tls_key_file: %w", err)
	}
	tc := &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{cert},
	}
	if clientCAFile != "" {
		pem, err := os.ReadFile(clientCAFile)
		if err != nil {
			return nil, fmt.Errorf("load tls_client_ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("load tls_client_ca_file: %w", invalid("%s holds no PEM certificate", clientCAFile))
		}
		tc.ClientCAs = pool
		tc.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return tc, nil
}

// CountHandshakeFailures wraps gRPC transport credentials so that every
// failed server handshake (no or an untrusted client certificate under
// mutual TLS, plain text on a TLS port) calls failed, e.g. a counter's Inc.
func CountHandshakeFailures(creds credentials.TransportCredentials, failed func()) credentials.TransportCredentials {
	return countingCreds{TransportCredentials: creds, failed: failed}
}

// countingCreds are transport credentials that report failed server
// handshakes.
type countingCreds struct {
	credentials.TransportCredentials
	failed func()
}

var _ credentials.TransportCredentials = countingCreds{}

func (c countingCreds) ServerHandshake(conn net.Conn) (net.Conn, credentials.AuthInfo, error) {
	out, info, err := c.TransportCredentials.ServerHandshake(conn)
	if err != nil {
		c.failed()
	}
	return out, info, err
}

func (c countingCreds) Clone() credentials.TransportCredentials {
	return countingCreds{TransportCredentials: c.TransportCredentials.Clone(), failed: c.failed}
}

// LoopbackOnly reports whether addr (host:port) binds to loopback only;
// stages warn when they listen beyond it without authentication.
func LoopbackOnly(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
