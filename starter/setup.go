package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/metronome-data/metronome/config"
	"github.com/metronome-data/metronome/internal/analytics"
	"github.com/metronome-data/metronome/internal/devserver"
	"github.com/metronome-data/metronome/internal/serving"
)

func newSetupCommand(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "setup",
		Short: "Prepare a cluster and the backends: search attributes, serving table, analytics tables",
		Long: `setup prepares everything the pipeline needs outside its own code, and may
run any number of times:

  - Temporal: registers the search attributes PipelineDate (Datetime) and
    ArtistCount (Int) on temporal.namespace, unless present (the embedded
    server of "starter dev" has them already);
  - lake: opens lake.url (creating a file:// directory) and checks access;
  - serving store: creates the serving.url table (DynamoDB: PK/SK, on-demand,
    TTL on expires_at) or SQLite file and schema;
  - analytics: with analytics.engine athena, creates the Glue database
    analytics.athena.database and one external table per curated table and
    mart over the s3:// lake; DuckDB reads the lake directly and needs
    nothing.`,
		Example: `  TEMPORAL_ADDRESS=temporal.internal:7233 METRONOME_SERVING_URL=dynamodb://metronome starter setup
  starter setup --athena-database metronome --athena-output s3://my-bucket/athena/`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd, g, setupFlagKeys)
			if err != nil {
				return err
			}
			if cfg.Analytics.Engine == "athena" {
				if err := validateAthena(cfg.Analytics.Athena, cfg.Lake.URL); err != nil {
					return err
				}
			}
			ctx := cmd.Context()
			out := cmd.OutOrStdout()
			var done setupDone
			progress := progressOut(g.output, out)
			report := func(s setupStep) {
				done.Steps = append(done.Steps, s)
				fmt.Fprintf(progress, "✓ %-9s %s\n", s.Step, s.Detail)
			}

			_, c, err := connect(cmd, g, setupFlagKeys)
			if err != nil {
				return err
			}
			defer c.Close()
			detail, err := ensureSearchAttributes(ctx, c, cfg.Temporal.Namespace, devserver.DefaultSearchAttributes)
			if err != nil {
				return err
			}
			report(setupStep{"temporal", detail})

			store, err := openLake(ctx, cfg)
			if err != nil {
				return err
			}
			if _, err := store.List(ctx, "manifests/"); err != nil {
				return fmt.Errorf("list lake.url %s: %w; check the bucket exists and the credentials may read it", cfg.Lake.URL, err)
			}
			report(setupStep{"lake", store.URL() + " readable"})

			if err := serving.CreateTable(ctx, cfg.Serving.URL); err != nil {
				return fmt.Errorf("create the serving store %s: %w", cfg.Serving.URL, err)
			}
			report(setupStep{"serving", cfg.Serving.URL + " ready"})

			detail, err = setupAnalytics(ctx, cfg)
			if err != nil {
				return err
			}
			report(setupStep{"analytics", detail})
			return render(out, g.output, done)
		},
	}
	cmd.Flags().String("athena-database", "", "Glue database of the Athena tables (default analytics.athena.database)")
	cmd.Flags().String("athena-workgroup", "", "Athena workgroup that runs the DDL (default analytics.athena.workgroup)")
	cmd.Flags().String("athena-output", "", "s3:// location of Athena query results (default analytics.athena.output_location)")
	return cmd
}

// setupFlagKeys binds the flags of setup to their config keys.
var setupFlagKeys = map[string]string{
	"analytics.athena.database":        "athena-database",
	"analytics.athena.workgroup":       "athena-workgroup",
	"analytics.athena.output_location": "athena-output",
}

// setupStep is one line of the setup report.
type setupStep struct {
	Step   string `json:"step"`
	Detail string `json:"detail"`
}

// setupDone is what setup shows when every step is done. Its text was
// printed step by step, as each was done.
type setupDone struct {
	Steps []setupStep `json:"steps"`
}

func (setupDone) renderText(io.Writer) error { return nil }

// validateAthena refuses what Athena would refuse, before anything runs.
func validateAthena(a config.AthenaConfig, lakeURL string) error {
	if _, err := analytics.TableDDL(a.Database, lakeURL); err != nil {
		return usagef("analytics.athena.database (--athena-database) %q: %v", a.Database, err)
	}
	if a.OutputLocation != "" && !strings.HasPrefix(a.OutputLocation, "s3://") {
		return usagef("analytics.athena.output_location (--athena-output) %q: want s3://bucket/prefix", a.OutputLocation)
	}
	return nil
}

// setupAnalytics creates the Athena database and tables; DuckDB needs none.
func setupAnalytics(ctx context.Context, cfg *config.Config) (string, error) {
	if cfg.Analytics.Engine != "athena" {
		return "duckdb reads the lake's Parquet directly: nothing to create", nil
	}
	a := cfg.Analytics.Athena
	engine, err := analytics.NewAthena(ctx, analytics.AthenaConfig{
		Database: a.Database, WorkGroup: a.WorkGroup, OutputLocation: a.OutputLocation,
	})
	if err != nil {
		return "", fmt.Errorf("connect to Athena: %w", err)
	}
	if err := engine.Exec(ctx, "CREATE DATABASE IF NOT EXISTS "+a.Database); err != nil {
		return "", fmt.Errorf("create Glue database %s: %w", a.Database, err)
	}
	stmts, err := analytics.TableDDL(a.Database, cfg.Lake.URL)
	if err != nil {
		return "", err
	}
	for _, stmt := range stmts {
		if err := engine.Exec(ctx, stmt); err != nil {
			return "", fmt.Errorf("create Athena table (%s): %w", firstLine(stmt), err)
		}
	}
	return fmt.Sprintf("athena database %s: %d tables over %s", a.Database, len(stmts), cfg.Lake.URL), nil
}

// ensureSearchAttributes registers the wanted custom search attributes that
// the namespace lacks, and refuses one registered with another type.
func ensureSearchAttributes(ctx context.Context, c client.Client, namespace string, want map[string]enumspb.IndexedValueType) (string, error) {
	resp, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		return "", fmt.Errorf("list search attributes of namespace %s: %w", namespace, err)
	}
	have := resp.GetCustomAttributes()
	names := make([]string, 0, len(want))
	for n := range want {
		names = append(names, n)
	}
	sort.Strings(names)
	missing := map[string]enumspb.IndexedValueType{}
	var present, added []string
	for _, n := range names {
		t, ok := have[n]
		switch {
		case !ok:
			missing[n] = want[n]
			added = append(added, describeAttr(n, want[n]))
		case t != want[n]:
			return "", fmt.Errorf("search attribute %s of namespace %s has type %s, want %s: remove it (temporal operator search-attribute remove) or use another namespace",
				n, namespace, typeName(t), typeName(want[n]))
		default:
			present = append(present, describeAttr(n, t))
		}
	}
	if len(missing) > 0 {
		_, err := c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
			Namespace: namespace, SearchAttributes: missing,
		})
		var denied *serviceerror.PermissionDenied
		var unimplemented *serviceerror.Unimplemented
		if errors.As(err, &denied) || errors.As(err, &unimplemented) {
			return "", fmt.Errorf("add search attributes %s to namespace %s: %w; on Temporal Cloud add them with `tcld namespace search-attributes add`",
				strings.Join(added, ", "), namespace, err)
		}
		if err != nil {
			return "", fmt.Errorf("add search attributes %s to namespace %s: %w", strings.Join(added, ", "), namespace, err)
		}
	}
	var parts []string
	if len(added) > 0 {
		parts = append(parts, "added "+strings.Join(added, ", "))
	}
	if len(present) > 0 {
		parts = append(parts, "present "+strings.Join(present, ", "))
	}
	return fmt.Sprintf("namespace %s: search attributes %s", namespace, strings.Join(parts, "; ")), nil
}

func describeAttr(name string, t enumspb.IndexedValueType) string {
	return fmt.Sprintf("%s (%s)", name, typeName(t))
}

func typeName(t enumspb.IndexedValueType) string {
	return strings.TrimPrefix(t.String(), "IndexedValueType")
}
