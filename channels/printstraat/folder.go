package printstraat

import (
	"archive/zip"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/mijnservices/koerier/channels/batch"
	"github.com/mijnservices/koerier/internal/event"
)

// ManifestColumns are the columns of manifest.csv, in this order; the
// objects of manifest.json have the same keys.
var ManifestColumns = []string{"file", "delivery_id", "name_line", "address_line_1", "address_line_2", "address_line_3",
	"country", "street", "house_number", "house_letter", "house_number_addition", "postcode", "city", "pages",
	"postage", "language", "reference"}

// Row is one letter of a manifest. It never holds a BSN.
type Row struct {
	File                string `json:"file"`
	DeliveryID          string `json:"delivery_id"`
	NameLine            string `json:"name_line"`
	AddressLine1        string `json:"address_line_1"`
	AddressLine2        string `json:"address_line_2"`
	AddressLine3        string `json:"address_line_3"`
	Country             string `json:"country"`
	Street              string `json:"street"`
	HouseNumber         string `json:"house_number"`
	HouseLetter         string `json:"house_letter"`
	HouseNumberAddition string `json:"house_number_addition"`
	Postcode            string `json:"postcode"`
	City                string `json:"city"`
	Pages               int    `json:"pages"`
	Postage             string `json:"postage"`
	Language            string `json:"language"`
	Reference           string `json:"reference"`
}

func (r Row) csv() []string {
	return []string{r.File, r.DeliveryID, r.NameLine, r.AddressLine1, r.AddressLine2, r.AddressLine3, r.Country, r.Street,
		r.HouseNumber, r.HouseLetter, r.HouseNumberAddition, r.Postcode, r.City, strconv.Itoa(r.Pages), r.Postage, r.Language, r.Reference}
}

var (
	postcodeCity = regexp.MustCompile(`^(\d{4}\s?[A-Z]{2})\s+(.+)$`)
	streetNumber = regexp.MustCompile(`^(.*\S)\s+(\d+)(?:\s*([A-Za-z])\b)?(?:[\s-]+(.+))?$`)
)

// splitAddress derives the KIX fields from a Dutch address's lines
// ("Straat 12 A bis", "1234 AB  PLAATS"). An address abroad is left unsplit.
func splitAddress(r *Row, a event.PostalAddress) {
	if a.Land != "" {
		return
	}
	for i, l := range a.Lines {
		if m := postcodeCity.FindStringSubmatch(strings.TrimSpace(l)); m != nil {
			r.Postcode, r.City = strings.ReplaceAll(m[1], " ", ""), strings.TrimSpace(m[2])
			if i > 0 {
				if s := streetNumber.FindStringSubmatch(strings.TrimSpace(a.Lines[i-1])); s != nil {
					r.Street, r.HouseNumber, r.HouseLetter, r.HouseNumberAddition = s[1], s[2], s[3], s[4]
				}
			}
			return
		}
	}
}

func rowFor(d event.Delivery, l Letter, file string, pages int) Row {
	a := d.Recipient.PostalAddress
	r := Row{File: file, DeliveryID: d.ID, NameLine: a.NameLine, Country: a.Land, Pages: pages, Postage: "standaard",
		Language: "nld", Reference: l.Zaak}
	if l.English {
		r.Language = "eng"
	}
	lines := append(append([]string{}, a.Lines...), "", "", "")
	r.AddressLine1, r.AddressLine2, r.AddressLine3 = lines[0], lines[1], lines[2]
	splitAddress(&r, *a)
	return r
}

// countingWriter counts what the ZIP has written so far.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// writeFolder writes batch b as dir/<batch>/: <batch>-<n>.zip, manifest.csv,
// manifest.json and SHA256SUMS. It builds under a hidden temporary name,
// fsyncs and renames, so the print street never sees half a batch. PDFs
// are streamed into the ZIP one at a time (memory stays flat).
func writeFolder(ctx context.Context, dir string, b batch.Sealed, letter func(event.Delivery) (Letter, error), win Window) ([]batch.Result, error) {
	final := filepath.Join(dir, b.ID)
	if _, err := os.Stat(final); err == nil {
		return alreadyHanded(final, b)
	}
	tmp := filepath.Join(dir, "."+b.ID+".tmp")
	if err := os.RemoveAll(tmp); err != nil {
		return nil, fmt.Errorf("printstraat: %w", err)
	}
	if err := os.MkdirAll(tmp, 0o750); err != nil {
		return nil, fmt.Errorf("printstraat: %w", err)
	}
	var (
		rows    []Row
		results []batch.Result
		files   []string
		zf      *os.File
		zw      *zip.Writer
		cw      *countingWriter
		inZIP   int
	)
	closeZIP := func() error {
		if zw == nil {
			return nil
		}
		err := errors.Join(zw.Close(), zf.Sync(), zf.Close())
		zw = nil
		return err
	}
	for _, d := range b.Deliveries {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		l, err := letter(d)
		if err == nil {
			err = checkRecipient(d.Recipient)
		}
		if err != nil {
			results = append(results, batch.Result{DeliveryID: d.ID, Status: event.OutcomePermanent, Reason: "geen brief gemaakt: " + err.Error()})
			continue
		}
		if zw == nil || inZIP >= MaxLettersPerZIP || cw.n >= MaxBytesPerZIP {
			if err := closeZIP(); err != nil {
				return nil, fmt.Errorf("printstraat: write zip: %w", err)
			}
			name := fmt.Sprintf("%s-%d.zip", b.ID, len(files)+1)
			files = append(files, name)
			if zf, err = os.Create(filepath.Join(tmp, name)); err != nil {
				return nil, fmt.Errorf("printstraat: %w", err)
			}
			cw = &countingWriter{w: zf}
			zw, inZIP = zip.NewWriter(cw), 0
		}
		file := d.ID + ".pdf"
		w, err := zw.Create(file)
		if err != nil {
			return nil, fmt.Errorf("printstraat: write zip: %w", err)
		}
		pages, err := Render(w, l, win)
		if err != nil {
			return nil, err
		}
		inZIP++
		rows = append(rows, rowFor(d, l, file, pages))
		results = append(results, batch.Result{DeliveryID: d.ID, Status: event.OutcomeHandedOver, ProviderID: b.ID,
			Reason: fmt.Sprintf("brief (%d pagina's) overgedragen aan de printstraat in batch %s (%s)", pages, b.ID, files[len(files)-1])})
	}
	if err := closeZIP(); err != nil {
		return nil, fmt.Errorf("printstraat: write zip: %w", err)
	}
	if err := writeManifests(tmp, rows); err != nil {
		return nil, err
	}
	files = append(files, "manifest.csv", "manifest.json")
	if err := writeSums(tmp, files); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, final); err != nil {
		return nil, fmt.Errorf("printstraat: publish batch: %w", err)
	}
	if err := syncDir(dir); err != nil {
		return nil, err
	}
	return results, nil
}

func writeFile(path string, write func(w io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("printstraat: %w", err)
	}
	if err := errors.Join(write(f), f.Sync(), f.Close()); err != nil {
		return fmt.Errorf("printstraat: write %s: %w", filepath.Base(path), err)
	}
	return nil
}

func writeManifests(dir string, rows []Row) error {
	if rows == nil {
		rows = []Row{}
	}
	err := writeFile(filepath.Join(dir, "manifest.csv"), func(w io.Writer) error {
		cw := csv.NewWriter(w)
		cw.Write(ManifestColumns)
		for _, r := range rows {
			cw.Write(r.csv())
		}
		cw.Flush()
		return cw.Error()
	})
	if err != nil {
		return err
	}
	return writeFile(filepath.Join(dir, "manifest.json"), func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rows)
	})
}

func writeSums(dir string, files []string) error {
	sort.Strings(files)
	return writeFile(filepath.Join(dir, "SHA256SUMS"), func(w io.Writer) error {
		for _, name := range files {
			f, err := os.Open(filepath.Join(dir, name))
			if err != nil {
				return err
			}
			h := sha256.New()
			_, err = io.Copy(h, f)
			f.Close()
			if err != nil {
				return err
			}
			fmt.Fprintf(w, "%s  %s\n", hex.EncodeToString(h.Sum(nil)), name)
		}
		return nil
	})
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("printstraat: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("printstraat: sync %s: %w", dir, err)
	}
	return nil
}

// alreadyHanded answers for a batch a previous attempt published: the
// letters in its manifest were handed over, the rest were not made.
func alreadyHanded(final string, b batch.Sealed) ([]batch.Result, error) {
	raw, err := os.ReadFile(filepath.Join(final, "manifest.json"))
	if err != nil {
		return nil, fmt.Errorf("printstraat: batch %s exists but its manifest cannot be read: %w", b.ID, err)
	}
	var rows []Row
	if err := json.Unmarshal(raw, &rows); err != nil {
		return nil, fmt.Errorf("printstraat: batch %s: manifest.json: %w", b.ID, err)
	}
	in := map[string]bool{}
	for _, r := range rows {
		in[r.DeliveryID] = true
	}
	var out []batch.Result
	for _, d := range b.Deliveries {
		if in[d.ID] {
			out = append(out, batch.Result{DeliveryID: d.ID, Status: event.OutcomeHandedOver, ProviderID: b.ID,
				Reason: "brief overgedragen aan de printstraat in batch " + b.ID})
		} else {
			out = append(out, batch.Result{DeliveryID: d.ID, Status: event.OutcomePermanent, Reason: "geen brief gemaakt voor batch " + b.ID})
		}
	}
	return out, nil
}
