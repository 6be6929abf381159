package serving

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// openSQLiteEnv makes the test binary a process that opens the SQLite file
// it names and exits: TestOpenSQLiteFromManyProcesses runs several at once.
const openSQLiteEnv = "METRONOME_TEST_OPEN_SQLITE"

func TestMain(m *testing.M) {
	if path := os.Getenv(openSQLiteEnv); path != "" {
		tbl, err := openSQLite(context.Background(), path)
		if err == nil {
			err = tbl.close()
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// Workers started together open the same new SQLite file at once: each
// must wait for the others' schema creation, not fail with SQLITE_BUSY.
func TestOpenSQLiteFromManyProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	for round := range 10 {
		path := filepath.Join(t.TempDir(), "serving.db")
		const openers = 6
		cmds := make([]*exec.Cmd, openers)
		outs := make([][]byte, openers)
		done := make(chan int, openers)
		for i := range openers {
			cmds[i] = exec.Command(os.Args[0], "-test.run=^$")
			cmds[i].Env = append(os.Environ(), openSQLiteEnv+"="+path)
			go func() {
				outs[i], _ = cmds[i].CombinedOutput()
				done <- i
			}()
		}
		for range openers {
			i := <-done
			if !cmds[i].ProcessState.Success() {
				t.Errorf("round %d, process %d: %s", round, i, outs[i])
			}
		}
	}
}
