package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// writeTestCert writes a self-signed certificate for 127.0.0.1 and returns
// the file names and a pool that trusts it.
func writeTestCert(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "localhost"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:     []string{"localhost"},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

func TestTLSServesHTTPSAndWSS(t *testing.T) {
	certFile, keyFile, pool := writeTestCert(t)
	s := startServer(t, "-tls-cert", certFile, "-tls-key", keyFile)
	base := "https://" + s.addr
	tlsConf := &tls.Config{RootCAs: pool}
	c := newHTTPClient(t)
	c.Transport = &http.Transport{TLSClientConfig: tlsConf}

	if code, body := postJSON(t, c, base+"/register", map[string]string{"username": "tina", "password": "correct horse"}); code != http.StatusCreated {
		t.Fatalf("register over https: %d %v", code, body)
	}
	req, _ := http.NewRequest(http.MethodPost, base+"/login", strings.NewReader(`{"username":"tina","password":"correct horse"}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var cookie *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == "parley_session" {
			cookie = ck
		}
	}
	if cookie == nil || !cookie.Secure || !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode {
		t.Fatalf("session cookie over TLS: %+v", cookie)
	}
	if resp.Header.Get("Strict-Transport-Security") == "" {
		t.Error("no HSTS header over TLS")
	}
	code, body := postJSON(t, c, base+"/ticket", nil)
	if code != http.StatusOK {
		t.Fatalf("ticket: %d %v", code, body)
	}
	d := websocket.Dialer{TLSClientConfig: tlsConf, HandshakeTimeout: 10 * time.Second}
	h := http.Header{"Origin": []string{base}}
	conn, _, err := d.Dial("wss://"+s.addr+"/ws?ticket="+body["ticket"].(string), h)
	if err != nil {
		t.Fatalf("wss dial: %v", err)
	}
	w := &wsConn{t: t, conn: conn}
	t.Cleanup(func() { conn.Close() })
	w.expect("room_joined")
	w.say("over tls", "1")
}
