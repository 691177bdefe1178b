// Package printstraat is a fake print street for tests and the demo. It
// has the two faces Koerier hands letters to besides a folder: the REST
// API Notify NL uses for a municipality's print street (POST one letter
// as base64 PDF with an Idempotency-Key), wrapped in a fault.Injector,
// and an SFTP server on loopback with its own host key and password or
// key auth. It shares no code with channels/printstraat.
package printstraat

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"

	"github.com/mijnservices/koerier/internal/sandbox/fault"
)

// LettersPath is the REST endpoint's path.
const LettersPath = "/api/v1/letters"

// Letter is one letter the REST face accepted.
type Letter struct {
	IdempotencyKey string
	Filename       string
	Reference      string
	NotificationID string
	PDF            []byte
}

// Server is the REST face.
type Server struct {
	Faults *fault.Injector
	// APIKeyHeader and APIKey, when set, are required on every request.
	APIKeyHeader, APIKey string

	mu      sync.Mutex
	letters []Letter
	byKey   map[string]int
	posts   int
	handler http.Handler
}

// NewServer returns an empty REST print street.
func NewServer() *Server {
	s := &Server{Faults: &fault.Injector{}, byKey: map[string]int{}}
	s.handler = s.Faults.Wrap(http.HandlerFunc(s.serve))
	return s
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Letters returns the letters accepted, each once, in order.
func (s *Server) Letters() []Letter {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Letter(nil), s.letters...)
}

// Posts is the number of POSTs that reached the handler (faults not counted).
func (s *Server) Posts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.posts
}

func problem(w http.ResponseWriter, status int, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"status": status, "title": http.StatusText(status), "detail": detail})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != LettersPath {
		problem(w, http.StatusNotFound, "unknown path")
		return
	}
	if r.Method != http.MethodPost {
		problem(w, http.StatusMethodNotAllowed, "POST only")
		return
	}
	if s.APIKey != "" && r.Header.Get(s.APIKeyHeader) != s.APIKey {
		problem(w, http.StatusUnauthorized, "missing or wrong API key")
		return
	}
	key := r.Header.Get("Idempotency-Key")
	if key == "" {
		problem(w, http.StatusBadRequest, "Idempotency-Key header is required")
		return
	}
	var in struct {
		Filename       string `json:"filename"`
		Content        string `json:"content"`
		Reference      string `json:"reference"`
		NotificationID string `json:"notificationId"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 64<<20)).Decode(&in); err != nil {
		problem(w, http.StatusBadRequest, "body: "+err.Error())
		return
	}
	pdf, err := base64.StdEncoding.DecodeString(in.Content)
	switch {
	case err != nil:
		problem(w, http.StatusBadRequest, "content is not base64")
		return
	case !strings.HasPrefix(string(pdf), "%PDF-"):
		problem(w, http.StatusBadRequest, "content is not a PDF")
		return
	case in.Filename == "" || in.Reference == "":
		problem(w, http.StatusBadRequest, "filename and reference are required")
		return
	}
	s.mu.Lock()
	s.posts++
	_, seen := s.byKey[key]
	if !seen {
		s.byKey[key] = len(s.letters)
		s.letters = append(s.letters, Letter{IdempotencyKey: key, Filename: in.Filename, Reference: in.Reference, NotificationID: in.NotificationID, PDF: pdf})
	}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if seen {
		w.WriteHeader(http.StatusOK)
	} else {
		w.WriteHeader(http.StatusCreated)
	}
	_ = json.NewEncoder(w).Encode(map[string]string{"id": key})
}

// SFTPServer is the SFTP face: an SSH server on loopback that serves the
// sftp subsystem over the real file system (use absolute paths under a
// test's temporary folder).
type SFTPServer struct {
	// Addr is host:port.
	Addr string
	// HostKey is the server's public key in authorized_keys form, to pin.
	HostKey string

	ln    net.Listener
	wg    sync.WaitGroup
	mu    sync.Mutex
	fail  int
	conns map[net.Conn]bool
}

// SFTPOptions configure the SFTP face: a user with a password and/or an
// authorized public key.
type SFTPOptions struct {
	User, Password string
	AuthorizedKey  ssh.PublicKey
}

// StartSFTP listens on 127.0.0.1 with a fresh ed25519 host key.
func StartSFTP(o SFTPOptions) (*SFTPServer, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		return nil, err
	}
	conf := &ssh.ServerConfig{}
	if o.Password != "" {
		conf.PasswordCallback = func(c ssh.ConnMetadata, pw []byte) (*ssh.Permissions, error) {
			if c.User() == o.User && string(pw) == o.Password {
				return nil, nil
			}
			return nil, errors.New("wrong user or password")
		}
	}
	if o.AuthorizedKey != nil {
		want := o.AuthorizedKey.Marshal()
		conf.PublicKeyCallback = func(c ssh.ConnMetadata, k ssh.PublicKey) (*ssh.Permissions, error) {
			if c.User() == o.User && string(k.Marshal()) == string(want) {
				return nil, nil
			}
			return nil, errors.New("key not authorized")
		}
	}
	conf.AddHostKey(signer)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &SFTPServer{Addr: ln.Addr().String(), HostKey: strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey()))), ln: ln, conns: map[net.Conn]bool{}}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			if s.fail > 0 {
				s.fail--
				s.mu.Unlock()
				nc.Close()
				continue
			}
			s.conns[nc] = true
			s.mu.Unlock()
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				s.handle(nc, conf)
				s.mu.Lock()
				delete(s.conns, nc)
				s.mu.Unlock()
			}()
		}
	}()
	return s, nil
}

// DropNext closes the next n connections at once (a fault: the print
// street's server is down).
func (s *SFTPServer) DropNext(n int) {
	s.mu.Lock()
	s.fail += n
	s.mu.Unlock()
}

func (s *SFTPServer) handle(nc net.Conn, conf *ssh.ServerConfig) {
	defer nc.Close()
	_, chans, reqs, err := ssh.NewServerConn(nc, conf)
	if err != nil {
		return
	}
	go ssh.DiscardRequests(reqs)
	for nch := range chans {
		if nch.ChannelType() != "session" {
			_ = nch.Reject(ssh.UnknownChannelType, "session only")
			continue
		}
		ch, rs, err := nch.Accept()
		if err != nil {
			return
		}
		go func() {
			for req := range rs {
				ok := req.Type == "subsystem" && len(req.Payload) >= 4 && string(req.Payload[4:]) == "sftp"
				_ = req.Reply(ok, nil)
				if !ok {
					continue
				}
				srv, err := sftp.NewServer(ch)
				if err != nil {
					ch.Close()
					return
				}
				_ = srv.Serve()
				srv.Close()
				ch.Close()
				return
			}
		}()
	}
}

// Close stops the server and its connections.
func (s *SFTPServer) Close() error {
	err := s.ln.Close()
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return err
}

// String names the server for logs.
func (s *SFTPServer) String() string { return fmt.Sprintf("sftp://%s", s.Addr) }
