package serving

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"modernc.org/sqlite" // also registers the pure-Go "sqlite" driver
	sqlite3 "modernc.org/sqlite/lib"
)

// sqliteBatch is the number of items written in one transaction: large
// enough to amortise the commit (an fsync), small enough not to hold the
// write lock for long against another process (worker and `starter serve`
// may share the file).
const sqliteBatch = 500

const sqliteSchema = `CREATE TABLE IF NOT EXISTS items (
	pk    TEXT NOT NULL,
	sk    TEXT NOT NULL,
	dt    TEXT NOT NULL DEFAULT '',
	attrs TEXT NOT NULL DEFAULT '{}',
	PRIMARY KEY (pk, sk)
) WITHOUT ROWID`

const (
	sqlitePut = `INSERT INTO items (pk, sk, dt, attrs) VALUES (?, ?, ?, ?)
ON CONFLICT (pk, sk) DO UPDATE SET dt = excluded.dt, attrs = excluded.attrs`
	sqlitePutIfNotOlder = sqlitePut + ` WHERE excluded.dt >= items.dt`
	sqliteDelete        = `DELETE FROM items WHERE pk = ? AND sk = ?`
	sqliteDeleteIfNot   = sqliteDelete + ` AND dt <= ?`
)

type sqliteTable struct {
	db   *sql.DB
	path string
}

func openSQLite(ctx context.Context, path string) (*sqliteTable, error) {
	if strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("sqlite serving store %q: the path must not contain '?' or '#'", path)
	}
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("create directory of sqlite serving store %q: %w", path, err)
		}
	}
	// busy_timeout makes another process's write lock a wait, not an
	// error; immediate transactions take the write lock up front so two
	// writers never deadlock upgrading a read lock. WAL is switched on in
	// setUp, not here: see there.
	dsn := path + "?_pragma=busy_timeout(10000)&_pragma=synchronous(NORMAL)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open sqlite serving store %q: %w", path, err)
	}
	// One connection serialises this process's statements: SQLite allows a
	// single writer anyway, and it keeps SQLITE_BUSY out of the process.
	db.SetMaxOpenConns(1)
	t := &sqliteTable{db: db, path: path}
	if err := t.setUp(ctx); err != nil {
		db.Close()
		return nil, notADatabase(path, err)
	}
	return t, nil
}

// notADatabase rewrites SQLite's terse "file is not a database (26)" and
// "database disk image is malformed (11)" into what to do about the file.
func notADatabase(path string, err error) error {
	var sqliteErr *sqlite.Error
	if !errors.As(err, &sqliteErr) {
		return err
	}
	switch sqliteErr.Code() & 0xff {
	case sqlite3.SQLITE_NOTADB:
		return fmt.Errorf("serving store %q is not a SQLite database (%w); point serving.url (METRONOME_SERVING_URL) at another file, or move this one aside to start an empty store", path, err)
	case sqlite3.SQLITE_CORRUPT:
		return fmt.Errorf("serving store %q is a damaged SQLite database (%w); restore it from a backup, or move it aside and rerun the pipeline to rebuild it", path, err)
	}
	return err
}

// setUpWait bounds how long opening waits for other processes that set
// up the same new file at the same moment.
const setUpWait = 10 * time.Second

// setUp switches the file to WAL, which lets readers (the API) run while
// the worker writes, and creates the schema. Workers started together
// open the same new file at once, and SQLite answers some of the locks
// this takes with SQLITE_BUSY at once, without waiting the busy timeout:
// the journal-mode switch, and a read whose WAL snapshot another process's
// commit made stale. Both are safe to repeat, so a busy answer is retried
// until setUpWait has passed.
func (t *sqliteTable) setUp(ctx context.Context) error {
	deadline := time.Now().Add(setUpWait)
	pause := 5 * time.Millisecond
	for {
		err := t.setUpOnce(ctx)
		if err == nil || !isBusy(err) {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w (still locked after %v: is another process holding a write transaction on the file?)", err, setUpWait)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("set up sqlite serving store %q: %w (waiting after: %w)", t.path, ctx.Err(), err)
		case <-time.After(pause):
		}
		pause = min(2*pause, 200*time.Millisecond)
	}
}

func (t *sqliteTable) setUpOnce(ctx context.Context) error {
	if _, err := t.db.ExecContext(ctx, "PRAGMA journal_mode=WAL"); err != nil {
		return fmt.Errorf("switch sqlite serving store %q to WAL: %w", t.path, err)
	}
	return t.createTable(ctx)
}

// isBusy reports whether err is SQLite's SQLITE_BUSY, in any of its
// extended forms.
func isBusy(err error) bool {
	var sqliteErr *sqlite.Error
	return errors.As(err, &sqliteErr) && sqliteErr.Code()&0xff == sqlite3.SQLITE_BUSY
}

// createTable creates the schema in an immediate transaction: outside a
// transaction, CREATE ... IF NOT EXISTS reads the schema first and only
// then asks for the write lock, which a concurrent creator can make fail.
func (t *sqliteTable) createTable(ctx context.Context) error {
	tx, err := t.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("create schema of sqlite serving store %q: %w", t.path, err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, sqliteSchema); err != nil {
		return fmt.Errorf("create schema of sqlite serving store %q: %w", t.path, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("create schema of sqlite serving store %q: %w", t.path, err)
	}
	return nil
}

func (t *sqliteTable) close() error {
	if err := t.db.Close(); err != nil {
		return fmt.Errorf("close sqlite serving store %q: %w", t.path, err)
	}
	return nil
}

func (t *sqliteTable) put(ctx context.Context, items []Item) error {
	_, err := t.writeItems(ctx, sqlitePut, items)
	return err
}

func (t *sqliteTable) putIfNotOlder(ctx context.Context, items []Item) ([]bool, error) {
	return t.writeItems(ctx, sqlitePutIfNotOlder, items)
}

// writeItems runs an upsert per item, sqliteBatch items per transaction,
// and reports which items changed a row.
func (t *sqliteTable) writeItems(ctx context.Context, stmt string, items []Item) ([]bool, error) {
	written := make([]bool, 0, len(items))
	for chunk := range slices.Chunk(items, sqliteBatch) {
		err := t.inTx(ctx, stmt, func(st *sql.Stmt) error {
			for _, it := range chunk {
				blob, err := encodeJSONAttrs(it.Attrs)
				if err != nil {
					return fmt.Errorf("encode item (%q, %q): %w", it.PK, it.SK, err)
				}
				res, err := st.ExecContext(ctx, it.PK, it.SK, it.DT, blob)
				if err != nil {
					return fmt.Errorf("write item (%q, %q): %w", it.PK, it.SK, err)
				}
				n, err := res.RowsAffected()
				if err != nil {
					return fmt.Errorf("write item (%q, %q): %w", it.PK, it.SK, err)
				}
				written = append(written, n > 0)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return written, nil
}

func (t *sqliteTable) delete(ctx context.Context, keys []key) error {
	for chunk := range slices.Chunk(keys, sqliteBatch) {
		err := t.inTx(ctx, sqliteDelete, func(st *sql.Stmt) error {
			for _, k := range chunk {
				if _, err := st.ExecContext(ctx, k.PK, k.SK); err != nil {
					return fmt.Errorf("delete item (%q, %q): %w", k.PK, k.SK, err)
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func (t *sqliteTable) deleteIfNotNewer(ctx context.Context, keys []key, dt string) (int, error) {
	deleted := 0
	for chunk := range slices.Chunk(keys, sqliteBatch) {
		err := t.inTx(ctx, sqliteDeleteIfNot, func(st *sql.Stmt) error {
			for _, k := range chunk {
				res, err := st.ExecContext(ctx, k.PK, k.SK, dt)
				if err != nil {
					return fmt.Errorf("delete item (%q, %q): %w", k.PK, k.SK, err)
				}
				n, err := res.RowsAffected()
				if err != nil {
					return fmt.Errorf("delete item (%q, %q): %w", k.PK, k.SK, err)
				}
				deleted += int(n)
			}
			return nil
		})
		if err != nil {
			return 0, err
		}
	}
	return deleted, nil
}

// inTx runs fn with stmt prepared inside one transaction.
func (t *sqliteTable) inTx(ctx context.Context, stmt string, fn func(*sql.Stmt) error) error {
	tx, err := t.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite serving store %q: begin: %w", t.path, err)
	}
	st, err := tx.PrepareContext(ctx, stmt)
	if err == nil {
		err = fn(st)
		st.Close()
	}
	if err != nil {
		tx.Rollback()
		return fmt.Errorf("sqlite serving store %q: %w", t.path, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite serving store %q: commit: %w", t.path, err)
	}
	return nil
}

func (t *sqliteTable) get(ctx context.Context, k key) (Item, bool, error) {
	items, err := t.selectItems(ctx, `SELECT pk, sk, dt, attrs FROM items WHERE pk = ? AND sk = ?`, k.PK, k.SK)
	if err != nil || len(items) == 0 {
		return Item{}, false, err
	}
	return items[0], true, nil
}

// sqliteSKPrefix selects the rows of one partition (pk) whose SK starts
// with a prefix (given three times), in SK order. length() and substr()
// both count characters, so the prefix test is exact for any UTF-8 prefix.
const sqliteSKPrefix = `WHERE pk = ? AND sk >= ? AND substr(sk, 1, length(?)) = ? ORDER BY sk`

func (t *sqliteTable) query(ctx context.Context, pk, skPrefix string) ([]Item, error) {
	return t.selectItems(ctx, `SELECT pk, sk, dt, attrs FROM items `+sqliteSKPrefix, pk, skPrefix, skPrefix, skPrefix)
}

func (t *sqliteTable) queryKeys(ctx context.Context, pk, skPrefix string) ([]key, error) {
	rows, err := t.db.QueryContext(ctx, `SELECT sk FROM items `+sqliteSKPrefix, pk, skPrefix, skPrefix, skPrefix)
	if err != nil {
		return nil, fmt.Errorf("sqlite serving store %q: query keys of %q under %q: %w", t.path, pk, skPrefix, err)
	}
	defer rows.Close()
	var keys []key
	for rows.Next() {
		k := key{PK: pk}
		if err := rows.Scan(&k.SK); err != nil {
			return nil, fmt.Errorf("sqlite serving store %q: read key: %w", t.path, err)
		}
		keys = append(keys, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite serving store %q: read keys: %w", t.path, err)
	}
	return keys, nil
}

func (t *sqliteTable) scan(ctx context.Context, pkPrefix string) ([]Item, error) {
	return t.selectItems(ctx, `SELECT pk, sk, dt, attrs FROM items
WHERE pk >= ? AND substr(pk, 1, length(?)) = ? ORDER BY pk, sk`, pkPrefix, pkPrefix, pkPrefix)
}

func (t *sqliteTable) selectItems(ctx context.Context, q string, args ...any) ([]Item, error) {
	rows, err := t.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite serving store %q: query %v: %w", t.path, args, err)
	}
	defer rows.Close()
	var items []Item
	for rows.Next() {
		var it Item
		var blob string
		if err := rows.Scan(&it.PK, &it.SK, &it.DT, &blob); err != nil {
			return nil, fmt.Errorf("sqlite serving store %q: read row: %w", t.path, err)
		}
		if it.Attrs, err = decodeJSONAttrs(blob); err != nil {
			return nil, fmt.Errorf("sqlite serving store %q: item (%q, %q): %w", t.path, it.PK, it.SK, err)
		}
		items = append(items, it)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite serving store %q: read rows: %w", t.path, err)
	}
	return items, nil
}

func encodeJSONAttrs(a map[string]any) (string, error) {
	if len(a) == 0 {
		return "{}", nil
	}
	b, err := json.Marshal(a)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

func decodeJSONAttrs(blob string) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader([]byte(blob)))
	dec.UseNumber()
	var raw map[string]any
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("decode attributes: %w", err)
	}
	out := make(map[string]any, len(raw))
	for name, v := range raw {
		switch v := v.(type) {
		case string, bool:
			out[name] = v
		case json.Number:
			n, err := parseNumber(v.String())
			if err != nil {
				return nil, fmt.Errorf("attribute %q: %w", name, err)
			}
			out[name] = n
		case []any:
			list := make([]string, len(v))
			for i, e := range v {
				s, ok := e.(string)
				if !ok {
					return nil, fmt.Errorf("attribute %q: list element %d is %T, want string", name, i, e)
				}
				list[i] = s
			}
			out[name] = list
		case nil:
		default:
			return nil, fmt.Errorf("attribute %q: unsupported JSON value %T", name, v)
		}
	}
	return out, nil
}
