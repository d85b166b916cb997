package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reelcache/reelcache/internal/testlog"
)

// selfSigned writes a self-signed P-256 certificate and key to dir.
func selfSigned(t *testing.T, dir, name string, serial int64) (string, string) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), DNSNames: []string{"localhost"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalPKCS8PrivateKey(key)
	c, k := filepath.Join(dir, name+".pem"), filepath.Join(dir, name+".key")
	os.WriteFile(c, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(k, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600)
	return c, k
}

func serialOf(t *testing.T, f *File) int64 {
	t.Helper()
	c, _ := f.GetCertificate(nil)
	return c.Leaf.SerialNumber.Int64()
}

// TestFileReload: a hang-up reloads at once (the poll is an hour); a pair
// caught half-written (new certificate, old key) is refused and the old
// one kept; the next reload with both files takes.
func TestFileReload(t *testing.T) {
	dir := t.TempDir()
	cert, key := selfSigned(t, dir, "live", 1)
	logs := &testlog.Buffer{} // Run logs from its goroutine
	f, err := NewFile(FileOptions{CertFile: cert, KeyFile: key, Poll: time.Hour, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	hup := make(chan os.Signal)
	go f.Run(t.Context(), hup)
	nc, nk := selfSigned(t, dir, "next", 2)
	os.Rename(nc, cert) // the key not yet
	hup <- os.Interrupt
	hup <- os.Interrupt // the first is handled once Run takes the second
	if s := serialOf(t, f); s != 1 {
		t.Fatalf("serving %d after a half-written pair, want the old 1", s)
	}
	if !strings.Contains(logs.String(), "not reloaded") {
		t.Errorf("the refused pair was not logged: %s", logs.String())
	}
	os.Rename(nk, key)
	hup <- os.Interrupt
	hup <- os.Interrupt
	if s := serialOf(t, f); s != 2 {
		t.Fatalf("serving %d after the pair was complete and SIGHUP, want 2", s)
	}
}

// TestLoadPairNamesTheFile: each way a pair can be wrong names its file.
func TestLoadPairNamesTheFile(t *testing.T) {
	dir := t.TempDir()
	ca, ka := selfSigned(t, dir, "a", 1)
	_, kb := selfSigned(t, dir, "b", 2)
	for _, tt := range []struct {
		name, cert, key, which, file string
		is                           error
	}{
		{"mismatch", ca, kb, "key", kb, ErrMismatch},
		{"missing cert", filepath.Join(dir, "none"), ka, "cert", filepath.Join(dir, "none"), os.ErrNotExist},
		{"missing key", ca, filepath.Join(dir, "none"), "key", filepath.Join(dir, "none"), os.ErrNotExist},
		{"key for cert", ka, ka, "cert", ka, nil},
	} {
		_, err := LoadPair(tt.cert, tt.key)
		var pe *PairError
		if !errors.As(err, &pe) || pe.Which != tt.which || pe.File != tt.file || (tt.is != nil && !errors.Is(err, tt.is)) {
			t.Errorf("%s: %v, want a %s error naming %s", tt.name, err, tt.which, tt.file)
		}
	}
}
