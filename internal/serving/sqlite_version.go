package serving

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
)

// sqliteVersion tells when the SQLite file changed, for the view cache.
//
// PRAGMA data_version changes whenever another connection, in this
// process or another one, has committed to the file. It is read on a
// connection of its own: the store's one connection does the writes of
// this process, which that connection's own data_version would not show.
// The value is only comparable on one connection, so a new connection
// (after an error) counts as a change too.
type sqliteVersion struct {
	path string

	mu     sync.Mutex
	db     *sql.DB
	conn   *sql.Conn
	stmt   *sql.Stmt
	last   int64
	n      uint64 // grows with every change seen
	closed bool   // by the Store's Close: no reconnecting after it
}

func newSQLiteVersion(path string) *sqliteVersion { return &sqliteVersion{path: path} }

// version returns a number that grows whenever the file has changed.
func (v *sqliteVersion) version(ctx context.Context) (uint64, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed {
		return 0, fmt.Errorf("sqlite serving store %q: closed", v.path)
	}
	fresh := false
	if v.stmt == nil {
		if err := v.connect(ctx); err != nil {
			return 0, err
		}
		fresh = true
	}
	var dv int64
	if err := v.stmt.QueryRowContext(ctx).Scan(&dv); err != nil {
		v.disconnect()
		return 0, fmt.Errorf("sqlite serving store %q: read data_version: %w", v.path, err)
	}
	if fresh || dv != v.last {
		v.n++
		v.last = dv
	}
	return v.n, nil
}

func (v *sqliteVersion) connect(ctx context.Context) error {
	if v.db == nil {
		db, err := sql.Open("sqlite", v.path+"?_pragma=busy_timeout(10000)")
		if err != nil {
			return fmt.Errorf("sqlite serving store %q: open a version connection: %w", v.path, err)
		}
		db.SetMaxOpenConns(1)
		v.db = db
	}
	conn, err := v.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("sqlite serving store %q: open a version connection: %w", v.path, err)
	}
	stmt, err := conn.PrepareContext(ctx, "PRAGMA data_version")
	if err != nil {
		conn.Close()
		return fmt.Errorf("sqlite serving store %q: prepare data_version: %w", v.path, err)
	}
	v.conn, v.stmt = conn, stmt
	return nil
}

func (v *sqliteVersion) disconnect() {
	if v.stmt != nil {
		v.stmt.Close()
		v.conn.Close()
	}
	v.conn, v.stmt = nil, nil
}

func (v *sqliteVersion) close() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.closed = true
	v.disconnect()
	if v.db == nil {
		return nil
	}
	err := v.db.Close()
	v.db = nil
	return err
}
