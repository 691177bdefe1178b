package router

import "github.com/mijnservices/koerier/internal/failure"

// Errors are classified once, where they arise, with the failure package
// (see its doc for what each kind means); the router asks only
// failure.Classify. temporary and deadLetter are the stages' short names for
// its constructors.

func temporary(err error) error { return failure.Temporary(err) }

func deadLetter(reason string, err error) error { return failure.DeadLetter(reason, err) }

// isTemporary reports whether err is worth trying again later.
func isTemporary(err error) bool {
	return failure.Classify(err).Kind == failure.KindTemporary
}
