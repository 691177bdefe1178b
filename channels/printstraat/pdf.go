package printstraat

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/go-pdf/fpdf"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"

	"github.com/mijnservices/koerier/internal/clock"
	"github.com/mijnservices/koerier/internal/event"
)

// Window is where the address must stand so that it shows through the
// envelope's window, in mm from the page's top-left corner.
type Window struct {
	Left, Top, Width, Height float64
}

// DefaultWindow fits a standard Dutch window envelope with the window on
// the left (EA5/4 and C5/6 venster links: 20 mm from the left, 50 mm from
// the top, 90 × 40 mm), with a margin inside it.
var DefaultWindow = Window{Left: 22, Top: 52, Width: 85, Height: 35}

// Letter is what one PDF says.
type Letter struct {
	Address   event.PostalAddress
	Sender    []string // the gemeente's sender block, top right
	Logo      []byte   // PNG or JPEG; nil for none
	LogoType  string   // "PNG" or "JPG"
	Date      time.Time
	Zaak      string // zaak identificatie, for the reference line
	Reference string // our delivery id
	Body      string // rendered letter template; "# " starts a heading
	English   bool
}

// labels in the recipient's language.
func labels(en bool) (date, zaak, ref, page string) {
	if en {
		return "Date", "Case", "Our reference", "Page %d of {nb}"
	}
	return "Datum", "Zaak", "Ons kenmerk", "Pagina %d van {nb}"
}

var monthsNL = [...]string{"januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september", "oktober", "november", "december"}

func formatDate(t time.Time, en bool) string {
	t = t.In(clock.Amsterdam)
	if en {
		return t.Format("2 January 2006")
	}
	return fmt.Sprintf("%d %s %d", t.Day(), monthsNL[t.Month()-1], t.Year())
}

// AddressLines are the lines in the window: the name, the address lines
// and, abroad, the country.
func AddressLines(a event.PostalAddress) []string {
	out := []string{a.NameLine}
	out = append(out, a.Lines...)
	if a.Land != "" {
		out = append(out, strings.ToUpper(a.Land))
	}
	return out
}

// Render writes the letter as an A4 PDF with its fonts embedded and
// returns its page count.
func Render(w io.Writer, l Letter, win Window) (int, error) {
	dateL, zaakL, refL, pageL := labels(l.English)
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.SetCreator("Koerier", true)
	// TrueType fonts are embedded (subset); the PDF core fonts would not be.
	pdf.AddUTF8FontFromBytes("go", "", goregular.TTF)
	pdf.AddUTF8FontFromBytes("go", "B", gobold.TTF)
	pdf.SetMargins(win.Left, 20, 20)
	pdf.SetAutoPageBreak(true, 25)
	pdf.AliasNbPages("{nb}")
	pdf.SetFooterFunc(func() {
		pdf.SetY(-15)
		pdf.SetFont("go", "", 8)
		pdf.CellFormat(0, 5, fmt.Sprintf(pageL, pdf.PageNo()), "", 0, "R", false, 0, "")
	})
	pdf.AddPage()
	if len(l.Logo) > 0 {
		tp := l.LogoType
		if tp == "" {
			tp = "PNG"
		}
		pdf.RegisterImageOptionsReader("logo", fpdf.ImageOptions{ImageType: tp}, bytes.NewReader(l.Logo))
		pdf.ImageOptions("logo", win.Left, 12, 0, 18, false, fpdf.ImageOptions{ImageType: tp}, 0, "")
	}
	pdf.SetFont("go", "", 9)
	y := 15.0
	for _, s := range l.Sender {
		pdf.SetXY(130, y)
		pdf.CellFormat(60, 4, s, "", 0, "L", false, 0, "")
		y += 4
	}
	// The address block, inside the window.
	pdf.SetFont("go", "", 10)
	y = win.Top
	for _, s := range AddressLines(l.Address) {
		pdf.SetXY(win.Left, y)
		pdf.CellFormat(win.Width, 5, s, "", 0, "L", false, 0, "")
		y += 5
	}
	pdf.SetFont("go", "", 9)
	pdf.SetXY(win.Left, win.Top+win.Height+12)
	pdf.CellFormat(0, 5, fmt.Sprintf("%s: %s", dateL, formatDate(l.Date, l.English)), "", 1, "L", false, 0, "")
	if l.Zaak != "" {
		pdf.CellFormat(0, 5, fmt.Sprintf("%s: %s", zaakL, l.Zaak), "", 1, "L", false, 0, "")
	}
	pdf.CellFormat(0, 5, fmt.Sprintf("%s: %s", refL, l.Reference), "", 1, "L", false, 0, "")
	pdf.Ln(8)
	for _, para := range strings.Split(strings.ReplaceAll(l.Body, "\r\n", "\n"), "\n\n") {
		para = strings.TrimSpace(para)
		if para == "" {
			continue
		}
		if h, ok := strings.CutPrefix(para, "# "); ok {
			pdf.SetFont("go", "B", 11)
			pdf.MultiCell(0, 6, h, "", "L", false)
		} else {
			pdf.SetFont("go", "", 10)
			pdf.MultiCell(0, 5, strings.ReplaceAll(para, "\n", " "), "", "L", false)
		}
		pdf.Ln(3)
	}
	pages := pdf.PageNo()
	if err := pdf.Output(w); err != nil {
		return 0, fmt.Errorf("printstraat: render pdf: %w", err)
	}
	return pages, nil
}
