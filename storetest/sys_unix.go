//go:build unix

package storetest

import (
	"io/fs"
	"syscall"
	"time"
)

// diskBlocks is the space allocated to a file, which for a sparse or
// preallocated file differs from its size.
func diskBlocks(fi fs.FileInfo) int64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Blocks * 512
	}
	return fi.Size()
}

// cpuTime is the CPU time this process has used, user and system. Unlike
// wall time it hardly changes when other processes compete for the CPU.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
