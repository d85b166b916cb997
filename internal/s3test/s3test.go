// Package s3test runs real S3 servers for tests: versitygw's posix backend
// on a free loopback port over a temporary directory, killed when the test
// ends. Buckets are directories; objects are uploaded through the S3 API,
// so that their ETags are the server's own.
//
// versitygw is found in PATH, then in $GOBIN and $(go env GOPATH)/bin,
// where scripts/deps.sh installs it. When it is missing, tests skip with a
// message, except under CI=true, where they fail.
package s3test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/reelcache/reelcache/internal/testlog"
	"github.com/reelcache/reelcache/internal/testproc"
)

// Credentials of every test server.
const (
	AccessKey = "reelcachetest"
	SecretKey = "reelcache-test-secret-0123456789"
	Region    = "us-east-1"
)

// Server is a running versitygw: Kill, Pause, Resume and Addr are its
// process's. Its methods are for the test goroutine.
type Server struct {
	*testproc.Proc
	tb  testing.TB
	dir string          // buckets are its subdirectories
	log *testlog.Buffer // one line per request
	cl  *s3.Client
}

// Find returns versitygw's path, skipping the test when it is missing, or
// failing it under CI=true.
func Find(tb testing.TB) string {
	tb.Helper()
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p
	}
	var dirs []string
	if d := os.Getenv("GOBIN"); d != "" {
		dirs = append(dirs, d)
	}
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		for p := range strings.SplitSeq(strings.TrimSpace(string(out)), string(os.PathListSeparator)) {
			dirs = append(dirs, filepath.Join(p, "bin"))
		}
	}
	for _, d := range dirs {
		p := filepath.Join(d, "versitygw")
		if fi, err := os.Stat(p); err == nil && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	testproc.Missing(tb, "versitygw not found in PATH or $(go env GOPATH)/bin: run `make deps` (go install github.com/versity/versitygw/cmd/versitygw@v1.8.0)")
	return ""
}

// Start runs versitygw and stops it when the test ends.
func Start(tb testing.TB) *Server {
	tb.Helper()
	bin := Find(tb)
	s := &Server{tb: tb, dir: tb.TempDir(), log: &testlog.Buffer{}}
	s.Proc = testproc.Start(tb, testproc.Options{
		Name: "versitygw",
		Command: func(port int) (*exec.Cmd, error) {
			cmd := exec.Command(bin, "--access", AccessKey, "--secret", SecretKey, "--region", Region,
				"--port", fmt.Sprintf("127.0.0.1:%d", port), "--keep-alive", "posix", s.dir)
			cmd.Stdout, cmd.Stderr = s.log, s.log
			cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY_ID=", "ROOT_SECRET_ACCESS_KEY=")
			return cmd, nil
		},
		Log:     s.log.String,
		Timeout: 15 * time.Second,
	})
	s.cl = s.Client(AccessKey, SecretKey)
	return s
}

// Endpoint returns the S3 endpoint URL (path-style addressing).
func (s *Server) Endpoint() string { return "http://" + s.Addr() }

// Dir returns the directory whose subdirectories are the buckets.
func (s *Server) Dir() string { return s.dir }

// Log returns versitygw's request log so far.
func (s *Server) Log() string { return s.log.String() }

// Env points the standard AWS credential chain of this process at the
// server's credentials for the rest of the test, and shuts every other
// source of the chain (files, instance metadata), so that no test ever
// reaches outside the loopback.
func (s *Server) Env(t *testing.T) {
	t.Helper()
	Isolate(t)
	t.Setenv("AWS_ACCESS_KEY_ID", AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", SecretKey)
}

// Isolate empties the AWS chain of this process for the rest of the test:
// no credentials from the environment, files or instance metadata.
func Isolate(t *testing.T) {
	t.Helper()
	none := filepath.Join(t.TempDir(), "none")
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SESSION_TOKEN": "", "AWS_PROFILE": "",
		"AWS_CONFIG_FILE": none, "AWS_SHARED_CREDENTIALS_FILE": none, "AWS_EC2_METADATA_DISABLED": "true",
		"AWS_REGION": "", "AWS_DEFAULT_REGION": "", "AWS_ENDPOINT_URL": "", "AWS_ENDPOINT_URL_S3": "",
		"AWS_WEB_IDENTITY_TOKEN_FILE": "", "AWS_CONTAINER_CREDENTIALS_FULL_URI": "", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "",
	} {
		t.Setenv(k, v)
	}
}

// Client returns an S3 client of the server with the given credentials.
func (s *Server) Client(access, secret string) *s3.Client {
	return s3.New(s3.Options{
		Region:       Region,
		BaseEndpoint: aws.String(s.Endpoint()),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(access, secret, ""),
		Retryer:      aws.NopRetryer{},
	})
}

// Bucket creates a bucket, as a directory of the posix backend.
func (s *Server) Bucket(name string) {
	s.tb.Helper()
	if err := os.Mkdir(filepath.Join(s.dir, name), 0o755); err != nil {
		s.tb.Fatal(err)
	}
}

// Put uploads data as bucket/key through the S3 API and returns its ETag.
// Its Last-Modified is then set an hour back, so that a cache does not take
// it for an object being rewritten.
func (s *Server) Put(bucket, key string, data []byte) string {
	s.tb.Helper()
	out, err := s.cl.PutObject(context.Background(), &s3.PutObjectInput{
		Bucket: &bucket, Key: &key, Body: bytes.NewReader(data), ContentLength: aws.Int64(int64(len(data))),
	})
	if err != nil {
		s.tb.Fatalf("put %s/%s: %v", bucket, key, err)
	}
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(filepath.Join(s.dir, bucket, filepath.FromSlash(key)), old, old); err != nil {
		s.tb.Fatal(err)
	}
	return aws.ToString(out.ETag)
}
