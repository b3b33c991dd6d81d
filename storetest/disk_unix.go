//go:build unix

package storetest

import (
	"io/fs"
	"syscall"
)

// diskBlocks is the space allocated to a file, which for a sparse or
// preallocated file differs from its size.
func diskBlocks(fi fs.FileInfo) int64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Blocks * 512
	}
	return fi.Size()
}
