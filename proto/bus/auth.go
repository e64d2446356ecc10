package bus

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"strings"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nkeys"
)

// tlsTimeout is the embedded server's TLS handshake timeout in seconds;
// the server's default of 2 s is short for a loaded machine.
const tlsTimeout = 5

// ServerAuth says who may connect to the embedded server. The zero value
// lets anyone connect, which is fine while the server listens on loopback
// only (or not at all). In-process clients authenticate like TCP clients,
// so ConnConfig must carry the same credentials.
type ServerAuth struct {
	// User and Password, together: a client connects with them
	// (ConnConfig.User, ConnConfig.Password).
	User     string
	Password string
	// Token: a client connects with it (ConnConfig.Token). It cannot be
	// combined with User or NKeys.
	Token string
	// NKeys are the public user keys (U...) allowed to connect; a client
	// proves it holds the matching seed (ConnConfig.NKeySeedFile). See
	// NKeyPublicKey.
	NKeys []string
}

// enabled says whether the server requires authentication.
func (a ServerAuth) enabled() bool {
	return a.User != "" || a.Password != "" || a.Token != "" || len(a.NKeys) > 0
}

// apply sets the authentication options of opts.
func (a ServerAuth) apply(opts *server.Options) error {
	if (a.User == "") != (a.Password == "") {
		return fmt.Errorf("%w: auth user and password go together", ErrServerConfig)
	}
	if a.Token != "" && (a.User != "" || len(a.NKeys) > 0) {
		return fmt.Errorf("%w: auth token cannot be combined with a user or nkeys", ErrServerConfig)
	}
	if a.User != "" {
		opts.Users = append(opts.Users, &server.User{Username: a.User, Password: a.Password})
	}
	for _, k := range a.NKeys {
		if !nkeys.IsValidPublicUserKey(k) {
			return fmt.Errorf("%w: nkey %q is not a public user key (U...)", ErrServerConfig, k)
		}
		opts.Nkeys = append(opts.Nkeys, &server.NkeyUser{Nkey: k})
	}
	opts.Authorization = a.Token
	return nil
}

// ServerTLS configures TLS for the embedded server's client listener. The
// zero value serves plain TCP. In-process clients never use TLS: nothing
// leaves the process.
type ServerTLS struct {
	// CertFile and KeyFile (PEM), together, turn TLS on.
	CertFile string
	KeyFile  string
	// ClientCAFile (PEM) turns on mutual TLS: a client must present a
	// certificate signed by one of these CAs.
	ClientCAFile string
	// AllowNonTLS also accepts plain TCP clients beside TLS ones; by
	// default TLS is required.
	AllowNonTLS bool
}

// enabled says whether the server serves TLS.
func (t ServerTLS) enabled() bool { return t.CertFile != "" || t.KeyFile != "" || t.ClientCAFile != "" }

// apply sets the TLS options of opts.
func (t ServerTLS) apply(opts *server.Options) error {
	if !t.enabled() {
		return nil
	}
	if t.CertFile == "" || t.KeyFile == "" {
		return fmt.Errorf("%w: tls cert file and key file go together (a client ca file needs them too)", ErrServerConfig)
	}
	cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
	if err != nil {
		return fmt.Errorf("%w: tls cert/key (%s, %s): %w", ErrServerConfig, t.CertFile, t.KeyFile, err)
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	if t.ClientCAFile != "" {
		pool, err := loadCertPool(t.ClientCAFile)
		if err != nil {
			return fmt.Errorf("%w: tls client ca file: %w", ErrServerConfig, err)
		}
		tc.ClientCAs = pool
		tc.ClientAuth = tls.RequireAndVerifyClientCert
		opts.TLSVerify = true
	}
	opts.TLSConfig = tc
	opts.TLSTimeout = tlsTimeout
	opts.AllowNonTLS = t.AllowNonTLS
	return nil
}

// loadCertPool reads PEM certificates from path.
func loadCertPool(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s: no PEM certificates", path)
	}
	return pool, nil
}

// NKeyPublicKey reads an NKey user seed (SU...), bare or in a decorated
// credentials file, and returns its public key (U...), the key the
// embedded server allows in ServerAuth.NKeys. The seed is never returned
// nor put in an error.
func NKeyPublicKey(seedFile string) (string, error) {
	b, err := os.ReadFile(seedFile)
	if err != nil {
		return "", fmt.Errorf("read nkey seed: %w", err)
	}
	defer wipe(b)
	kp, err := nkeys.ParseDecoratedNKey(b)
	if err != nil {
		return "", fmt.Errorf("read nkey seed %s: no user seed found", seedFile)
	}
	defer kp.Wipe()
	pub, err := kp.PublicKey()
	if err != nil || !strings.HasPrefix(pub, "U") {
		return "", fmt.Errorf("read nkey seed %s: not a user seed (want SU...)", seedFile)
	}
	return pub, nil
}

// wipe overwrites b, so the seed does not linger in memory.
func wipe(b []byte) {
	for i := range b {
		b[i] = 'x'
	}
}
