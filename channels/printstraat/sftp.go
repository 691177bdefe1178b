package printstraat

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path"
	"path/filepath"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"

	"github.com/mijnservices/koerier/channels/batch"
	"github.com/mijnservices/koerier/internal/event"
)

// SFTP is the SFTP sink of a profile. The host key is pinned: a server
// that shows another key is refused.
type SFTP struct {
	// Addr is host:port (port 22 when left out).
	Addr string
	User string
	// HostKey is the server's public key, as in known_hosts or
	// authorized_keys ("ssh-ed25519 AAAA…", an optional host name first).
	HostKey string
	// Key is a PEM private key (key auth); Password is used when Key is
	// empty. Set at least one.
	Key      []byte
	Password string
	// Dir is the remote folder the print street reads.
	Dir string
	// Timeout bounds the connection set-up (default 30 s).
	Timeout time.Duration
}

type sftpSink struct {
	cfg  SFTP
	conf *ssh.ClientConfig
}

// ParseHostKey reads a pinned host key in authorized_keys or known_hosts
// form.
func ParseHostKey(s string) (ssh.PublicKey, error) {
	if k, _, _, _, err := ssh.ParseAuthorizedKey([]byte(s)); err == nil {
		return k, nil
	}
	_, _, k, _, _, err := ssh.ParseKnownHosts([]byte(s))
	if err != nil {
		return nil, fmt.Errorf("host_key: not an SSH public key (hint: the line of ssh-keyscan HOST): %w", err)
	}
	return k, nil
}

func newSFTPSink(c SFTP) (*sftpSink, error) {
	if c.Addr == "" || c.User == "" || c.Dir == "" {
		return nil, errors.New("sftp: set addr, user and dir")
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		c.Addr = net.JoinHostPort(c.Addr, "22")
	}
	if c.HostKey == "" {
		return nil, errors.New("sftp: set host_key: the server's key is pinned, never trusted on first use")
	}
	hk, err := ParseHostKey(c.HostKey)
	if err != nil {
		return nil, fmt.Errorf("sftp: %w", err)
	}
	var auth []ssh.AuthMethod
	if len(c.Key) > 0 {
		signer, err := ssh.ParsePrivateKey(c.Key)
		if err != nil {
			return nil, fmt.Errorf("sftp: private key: %w", err)
		}
		auth = append(auth, ssh.PublicKeys(signer))
	}
	if c.Password != "" {
		auth = append(auth, ssh.Password(c.Password))
	}
	if len(auth) == 0 {
		return nil, errors.New("sftp: set a private key or a password")
	}
	if c.Timeout <= 0 {
		c.Timeout = 30 * time.Second
	}
	return &sftpSink{cfg: c, conf: &ssh.ClientConfig{User: c.User, Auth: auth, HostKeyCallback: ssh.FixedHostKey(hk), Timeout: c.Timeout}}, nil
}

func (s *sftpSink) dial(ctx context.Context) (*sftp.Client, func(), error) {
	d := net.Dialer{Timeout: s.cfg.Timeout}
	nc, err := d.DialContext(ctx, "tcp", s.cfg.Addr)
	if err != nil {
		return nil, nil, fmt.Errorf("printstraat: sftp %s: %w", s.cfg.Addr, err)
	}
	cc, chans, reqs, err := ssh.NewClientConn(nc, s.cfg.Addr, s.conf)
	if err != nil {
		nc.Close()
		return nil, nil, fmt.Errorf("printstraat: sftp %s: %w", s.cfg.Addr, err)
	}
	sc := ssh.NewClient(cc, chans, reqs)
	cl, err := sftp.NewClient(sc)
	if err != nil {
		sc.Close()
		return nil, nil, fmt.Errorf("printstraat: sftp %s: %w", s.cfg.Addr, err)
	}
	// A cancelled context closes the connection, so a hung upload ends.
	stop := context.AfterFunc(ctx, func() { sc.Close() })
	return cl, func() { stop(); cl.Close(); sc.Close() }, nil
}

// hand builds the batch in a local staging folder (the same files as the
// folder sink), uploads it to Dir/.<batch>.tmp and renames that to
// Dir/<batch>: the print street never sees half a batch. A batch already
// on the server is not uploaded again.
func (s *sftpSink) hand(ctx context.Context, b batch.Sealed, letter func(event.Delivery) (Letter, error), win Window) ([]batch.Result, error) {
	cl, closeFn, err := s.dial(ctx)
	if err != nil {
		return nil, err
	}
	defer closeFn()
	final := path.Join(s.cfg.Dir, b.ID)
	if _, err := cl.Stat(final); err == nil {
		f, err := cl.Open(path.Join(final, "manifest.json"))
		if err != nil {
			return nil, fmt.Errorf("printstraat: sftp: batch %s exists but its manifest cannot be read: %w", b.ID, err)
		}
		raw, err := io.ReadAll(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("printstraat: sftp: batch %s: %w", b.ID, err)
		}
		return handedPerManifest(raw, b)
	}
	stage, err := os.MkdirTemp("", "koerier-print-")
	if err != nil {
		return nil, fmt.Errorf("printstraat: %w", err)
	}
	defer os.RemoveAll(stage)
	results, err := writeFolder(ctx, stage, b, letter, win)
	if err != nil {
		return nil, err
	}
	local := filepath.Join(stage, b.ID)
	entries, err := os.ReadDir(local)
	if err != nil {
		return nil, fmt.Errorf("printstraat: %w", err)
	}
	tmp := path.Join(s.cfg.Dir, "."+b.ID+".tmp")
	if err := cl.RemoveAll(tmp); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("printstraat: sftp: clear %s: %w", tmp, err)
	}
	if err := cl.MkdirAll(tmp); err != nil {
		return nil, fmt.Errorf("printstraat: sftp: %w", err)
	}
	for _, e := range entries {
		if err := upload(ctx, cl, filepath.Join(local, e.Name()), path.Join(tmp, e.Name())); err != nil {
			return nil, err
		}
	}
	if err := cl.Rename(tmp, final); err != nil {
		return nil, fmt.Errorf("printstraat: sftp: publish batch %s: %w", b.ID, err)
	}
	for i := range results {
		if results[i].Status == event.OutcomeHandedOver {
			results[i].Reason += " via SFTP " + s.cfg.Addr
		}
	}
	return results, nil
}

func upload(ctx context.Context, cl *sftp.Client, local, remote string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	src, err := os.Open(local)
	if err != nil {
		return fmt.Errorf("printstraat: %w", err)
	}
	defer src.Close()
	dst, err := cl.Create(remote)
	if err != nil {
		return fmt.Errorf("printstraat: sftp: create %s: %w", remote, err)
	}
	if _, err := dst.ReadFrom(src); err != nil {
		dst.Close()
		return fmt.Errorf("printstraat: sftp: write %s: %w", remote, err)
	}
	if err := dst.Close(); err != nil {
		return fmt.Errorf("printstraat: sftp: close %s: %w", remote, err)
	}
	return nil
}
