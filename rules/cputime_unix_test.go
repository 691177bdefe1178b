//go:build unix

package rules

import "syscall"

// processCPU is the CPU time the process has used (user and system, all
// threads, so the garbage collector's work counts too). On a shared machine
// it measures a decision's cost better than wall time, which includes
// waiting for a CPU.
func processCPU() (ns int64, ok bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return ru.Utime.Nano() + ru.Stime.Nano(), true
}
