package analytics

import (
	"fmt"
	"strings"

	"github.com/metronome-data/metronome/internal/tables"
)

// Column is a column of a curated table or a mart with its Hive type, as
// Athena declares it (string, int, bigint, array<string>, …): what a
// lineage schema facet lists.
type Column struct {
	Name string
	Type string
}

// Columns are the columns of a curated table (from its row type in
// internal/tables) or of a mart (its declared result columns), in file
// order.
func Columns(table string) ([]Column, error) {
	cols, err := tableColumns(table)
	if err != nil {
		return nil, err
	}
	out := make([]Column, len(cols))
	for i, c := range cols {
		out[i] = Column{Name: c.name, Type: c.typ}
	}
	return out, nil
}

func tableColumns(table string) ([]column, error) {
	if cols, ok := martColumns[table]; ok {
		return cols, nil
	}
	row, ok := curatedRow[table]
	if !ok {
		known := append(append([]string{}, tables.All...), Marts...)
		return nil, fmt.Errorf("table %q: not a curated table or mart (known: %s)", table, strings.Join(known, ", "))
	}
	fields, err := rowColumns(row)
	if err != nil {
		return nil, fmt.Errorf("curated table %q: %w", table, err)
	}
	cols := make([]column, len(fields))
	for i, f := range fields {
		typ, err := f.hiveType()
		if err != nil {
			return nil, fmt.Errorf("curated table %q, column %s: %w", table, f.name, err)
		}
		cols[i] = column{name: f.name, typ: typ}
	}
	return cols, nil
}
