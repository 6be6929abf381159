// Package testpki makes throw-away certificates for tests of TLS and mTLS
// connections: a CA, a server certificate, a client certificate and a
// second, unrelated CA, as PEM files in a test's temporary directory.
package testpki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// PKI holds the paths of the PEM files New writes.
type PKI struct {
	CAFile      string // the CA that signs both certificates
	OtherCAFile string // a CA that signed neither
	ServerCert  string
	ServerKey   string
	ClientCert  string
	ClientKey   string
}

// New writes a CA, a server certificate for serverNames (IP addresses or
// DNS names) and a client certificate (common name "metronome-worker").
// The server certificate may authenticate clients too, as a Temporal
// server's own system worker does with it.
func New(t testing.TB, serverNames ...string) PKI {
	t.Helper()
	dir := t.TempDir()
	ca, caKey := newCA(t, "metronome test CA")
	other, _ := newCA(t, "someone else's CA")
	p := PKI{
		CAFile:      filepath.Join(dir, "ca.pem"),
		OtherCAFile: filepath.Join(dir, "other-ca.pem"),
		ServerCert:  filepath.Join(dir, "server.pem"),
		ServerKey:   filepath.Join(dir, "server-key.pem"),
		ClientCert:  filepath.Join(dir, "client.pem"),
		ClientKey:   filepath.Join(dir, "client-key.pem"),
	}
	writePEM(t, p.CAFile, "CERTIFICATE", ca.Raw)
	writePEM(t, p.OtherCAFile, "CERTIFICATE", other.Raw)
	server := &x509.Certificate{
		Subject:     pkix.Name{CommonName: serverNames[0]},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	for _, name := range serverNames {
		if ip := net.ParseIP(name); ip != nil {
			server.IPAddresses = append(server.IPAddresses, ip)
		} else {
			server.DNSNames = append(server.DNSNames, name)
		}
	}
	leaf(t, ca, caKey, server, p.ServerCert, p.ServerKey)
	client := &x509.Certificate{
		Subject:     pkix.Name{CommonName: "metronome-worker"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	leaf(t, ca, caKey, client, p.ClientCert, p.ClientKey)
	return p
}

func newCA(t testing.TB, name string) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	check(t, err)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	check(t, err)
	cert, err := x509.ParseCertificate(der)
	check(t, err)
	return cert, key
}

// leaf signs tmpl (subject, names and usages set) with the CA.
func leaf(t testing.TB, ca *x509.Certificate, caKey *ecdsa.PrivateKey, tmpl *x509.Certificate, certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	check(t, err)
	tmpl.SerialNumber = big.NewInt(time.Now().UnixNano())
	tmpl.NotBefore = time.Now().Add(-time.Hour)
	tmpl.NotAfter = time.Now().Add(time.Hour)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	check(t, err)
	writePEM(t, certFile, "CERTIFICATE", der)
	keyDER, err := x509.MarshalECPrivateKey(key)
	check(t, err)
	writePEM(t, keyFile, "EC PRIVATE KEY", keyDER)
}

func writePEM(t testing.TB, path, typ string, der []byte) {
	t.Helper()
	check(t, os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600))
}

func check(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
