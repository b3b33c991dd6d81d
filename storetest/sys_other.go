//go:build !unix

package storetest

import (
	"io/fs"
	"time"
)

// diskBlocks is the size of a file.
func diskBlocks(fi fs.FileInfo) int64 { return fi.Size() }

// cpuTime is not measured on this platform.
func cpuTime() time.Duration { return 0 }
