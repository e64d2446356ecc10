package config

import "strconv"

// validateSecurity checks the bus section's authentication and TLS keys,
// reporting each problem through bad.
func (b Bus) validateSecurity(bad func(key string, value any, want string)) {
	methods := 0
	for _, set := range []bool{b.User != "" || b.Password != "", b.Token != "", b.NKeySeedFile != "", b.CredsFile != ""} {
		if set {
			methods++
		}
	}
	if methods > 1 {
		bad("bus.user", strconv.Quote(b.User), "want one way to authenticate: bus.user and bus.password, bus.token, bus.nkey_seed_file or bus.creds_file")
	}
	if (b.TLSCert == "") != (b.TLSKey == "") {
		bad("bus.tls_key_file", strconv.Quote(b.TLSKey), "want tls_cert_file and tls_key_file together")
	}
	if (b.ServerTLSCert == "") != (b.ServerTLSKey == "") {
		bad("bus.server_tls_key_file", strconv.Quote(b.ServerTLSKey), "want server_tls_cert_file and server_tls_key_file together")
	}
	if b.ServerTLSClientCA != "" && b.ServerTLSCert == "" {
		bad("bus.server_tls_client_ca_file", strconv.Quote(b.ServerTLSClientCA), "want server_tls_cert_file and server_tls_key_file too (mutual TLS needs TLS)")
	}
}
