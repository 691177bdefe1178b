package ebms

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
)

//go:embed xsd/Request/*.xsd xsd/Response/*.xsd
var schemas embed.FS

// ErrNoXmllint: xmllint (Debian's libxml2-utils) is not installed.
var ErrNoXmllint = errors.New("xmllint is not installed (apt-get install libxml2-utils)")

var (
	schemaDirOnce sync.Once
	schemaDir     string
	schemaDirErr  error
)

// Schema files, relative to the extracted schema folder.
const (
	RequestXSD  = "Request/GLOBEBatchRequest.xsd"
	ResponseXSD = "Response/GLOBEBatchResponse.xsd"
)

// Validate checks doc against one of Logius' schemas (RequestXSD or
// ResponseXSD) with xmllint.
func Validate(schema string, doc []byte) error {
	bin, err := exec.LookPath("xmllint")
	if err != nil {
		return ErrNoXmllint
	}
	schemaDirOnce.Do(func() {
		schemaDir, schemaDirErr = os.MkdirTemp("", "koerier-globe-xsd-")
		if schemaDirErr != nil {
			return
		}
		schemaDirErr = fs.WalkDir(schemas, "xsd", func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := schemas.ReadFile(p)
			if err != nil {
				return err
			}
			dst := filepath.Join(schemaDir, p[len("xsd/"):])
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				return err
			}
			return os.WriteFile(dst, b, 0o644)
		})
	})
	if schemaDirErr != nil {
		return schemaDirErr
	}
	f, err := os.CreateTemp("", "koerier-globe-*.xml")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(doc); err != nil {
		f.Close()
		return err
	}
	f.Close()
	out, err := exec.Command(bin, "--noout", "--nonet", "--huge", "--schema", filepath.Join(schemaDir, schema), f.Name()).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %s", schema, out)
	}
	return nil
}
