package lake

import (
	"errors"
	"fmt"
	"syscall"
)

// diskFull adds what to do to a write error of the file store whose
// filesystem is full (ENOSPC), naming the lake's directory: the error
// itself names only the temporary file that could not be written. The
// write is retried by the activity, so freeing space is all it takes.
func diskFull(root string, err error) error {
	if !errors.Is(err, syscall.ENOSPC) {
		return err
	}
	return fmt.Errorf("%w: the filesystem of the lake %s is full; free space there (the activity retries the write)", err, root)
}
