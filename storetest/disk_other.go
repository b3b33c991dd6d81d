//go:build !unix

package storetest

import "io/fs"

// diskBlocks is the size of a file.
func diskBlocks(fi fs.FileInfo) int64 { return fi.Size() }
