package httpapi

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/google/uuid"
)

// Problem is an RFC 9457 problem document in the shape the ZGW APIs use
// (their Fout and ValidatieFout schemas): the RFC's members plus a machine
// readable code and, for 400s, the list of invalid parameters. Open
// Notificaties and admin tooling read these, so we speak the same dialect.
type Problem struct {
	Type          string         `json:"type"`
	Code          string         `json:"code"`
	Title         string         `json:"title"`
	Status        int            `json:"status"`
	Detail        string         `json:"detail,omitempty"`
	Instance      string         `json:"instance"`
	InvalidParams []InvalidParam `json:"invalidParams,omitempty"`
}

// InvalidParam names one field of a request that failed validation, as the
// ZGW FieldValidationError does: name is the JSON field (dotted for nested
// fields, e.g. "subject.bsn"), code a stable machine code, reason a sentence.
type InvalidParam struct {
	Name   string `json:"name"`
	Code   string `json:"code"`
	Reason string `json:"reason"`
}

// Codes used in InvalidParam.Code, following the ZGW APIs where they have one.
const (
	CodeRequired = "required"
	CodeInvalid  = "invalid"
	CodeMaxLen   = "max_length"
	CodeMaxItems = "max_items"
	CodeURL      = "bad-url"
	CodeDate     = "invalid-datetime"
	CodeType     = "invalid-type"
)

// problemCodes maps a status to the ZGW "code" of the whole problem.
var problemCodes = map[int]string{
	http.StatusBadRequest:            "invalid",
	http.StatusUnauthorized:          "not_authenticated",
	http.StatusForbidden:             "permission_denied",
	http.StatusNotFound:              "not_found",
	http.StatusMethodNotAllowed:      "method_not_allowed",
	http.StatusRequestEntityTooLarge: "too_large",
	http.StatusUnsupportedMediaType:  "unsupported_media_type",
	http.StatusUnprocessableEntity:   "unprocessable",
	http.StatusInternalServerError:   "error",
	http.StatusServiceUnavailable:    "unavailable",
}

// WriteProblem answers with an application/problem+json document. title is
// short and the same for every occurrence of the problem; detail says what
// was wrong with this request. It never echoes request values that could be
// personal data: callers put field names in invalidParams, not values.
func WriteProblem(w http.ResponseWriter, status int, title, detail string, invalidParams ...InvalidParam) {
	code, ok := problemCodes[status]
	if !ok {
		code = "http_" + strconv.Itoa(status)
	}
	WriteProblemDoc(w, Problem{
		Type:          "urn:koerier:problem:" + code,
		Code:          code,
		Title:         title,
		Status:        status,
		Detail:        detail,
		InvalidParams: invalidParams,
	})
}

// WriteProblemDoc writes p as is, filling Instance when empty. Status must
// be set.
func WriteProblemDoc(w http.ResponseWriter, p Problem) {
	if p.Instance == "" {
		p.Instance = "urn:uuid:" + uuid.NewString()
	}
	if p.Type == "" {
		p.Type = "about:blank"
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}
