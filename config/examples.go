package config

import "embed"

// Examples are the example events and recipients under config/examples,
// built into the binary so that the console's rule tester offers them on
// any installation.
//
//go:embed examples/events examples/recipients
var Examples embed.FS
