package lake

import (
	"errors"
	"fmt"
	"syscall"
)

// diskFull adds what to do to a write error of the file store whose
// filesystem is full (ENOSPC), naming the lake's directory: the error
// itself names only the temporary file that could not be written. The
// write is retried by the activity while its retry policy allows, and a
// re-run of the date continues after that.
func diskFull(root string, err error) error {
	if !errors.Is(err, syscall.ENOSPC) {
		return err
	}
	return fmt.Errorf("%w: the filesystem of the lake %s is full; free space there; the activity's next retry, or a re-run of the date once the run has failed, continues", err, root)
}
