// Package devserver runs a real Temporal server (frontend, history, matching
// and worker services in one process, persisted in SQLite) and the Temporal
// Web UI, for `starter dev` and end-to-end tests. It composes the public
// packages of go.temporal.io/server the way the Temporal CLI's dev server
// does.
package devserver

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	uiserver "github.com/temporalio/ui-server/v2/server"
	uiconfig "github.com/temporalio/ui-server/v2/server/config"
	uioptions "github.com/temporalio/ui-server/v2/server/server_options"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/server/common/authorization"
	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	serverlog "go.temporal.io/server/common/log"
	"go.temporal.io/server/common/membership/static"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	"go.temporal.io/server/common/primitives"
	sqliteschema "go.temporal.io/server/schema/sqlite"
	"go.temporal.io/server/temporal"
	"go.uber.org/zap"
	"google.golang.org/protobuf/types/known/durationpb"
)

const clusterName = "active"

// DefaultSearchAttributes are the custom search attributes every pipeline
// run sets, so the Web UI and `starter status` can filter runs.
var DefaultSearchAttributes = map[string]enumspb.IndexedValueType{
	"PipelineDate": enumspb.INDEXED_VALUE_TYPE_DATETIME,
	"ArtistCount":  enumspb.INDEXED_VALUE_TYPE_INT,
}

// Options configure the embedded server. The zero value serves an in-memory
// server without UI on free loopback ports.
type Options struct {
	// DatabaseFile persists the server in SQLite; empty keeps it in memory.
	DatabaseFile string
	// IP to listen on; default 127.0.0.1.
	IP string
	// Port of the frontend gRPC service; 0 picks a free one.
	Port int
	// UIPort of the Web UI; 0 picks a free one. Ignored without UI.
	UIPort int
	// UI turns the Web UI on.
	UI bool
	// Namespace registered at start; default "default".
	Namespace string
	// Retention of closed workflows; default 30 days, so earlier runs stay
	// visible in the UI across restarts.
	Retention time.Duration
	// SearchAttributes registered on the namespace; default
	// DefaultSearchAttributes.
	SearchAttributes map[string]enumspb.IndexedValueType
	// CodecEndpoint is the codec server the Web UI decodes payloads with, as
	// the browser reaches it; empty: none.
	CodecEndpoint string
	// TLS, when set, serves the frontend over TLS (tls.go); nil: plain gRPC.
	TLS *TLS
	// Logger receives the server's own logs at warn level and above; nil
	// discards them.
	Logger *zap.Logger
}

// Server is a running embedded Temporal server.
type Server struct {
	server    temporal.Server
	ui        *uiserver.Server
	frontend  string
	uiURL     string
	namespace string

	stopOnce sync.Once
	stopErr  error
}

// Start starts the server and, when asked, the UI, and returns once the
// frontend accepts connections.
func Start(ctx context.Context, opts Options) (*Server, error) {
	if opts.IP == "" {
		opts.IP = "127.0.0.1"
	}
	if opts.Namespace == "" {
		opts.Namespace = "default"
	}
	if opts.Retention == 0 {
		opts.Retention = 30 * 24 * time.Hour
	}
	if opts.SearchAttributes == nil {
		opts.SearchAttributes = DefaultSearchAttributes
	}
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	var err error
	autoPort := opts.Port == 0
	if opts.Port == 0 {
		if opts.Port, err = FreePort(opts.IP); err != nil {
			return nil, err
		}
	}
	if opts.UI && opts.UIPort == 0 {
		if opts.UIPort, err = FreePort(opts.IP); err != nil {
			return nil, err
		}
	}

	// A port found free can be taken by another process before the server
	// binds it; the server then fails (or panics) while starting, and a new
	// set of internal ports is worth a try.
	var srv temporal.Server
	for attempt := 1; ; attempt++ {
		srv, err = startOnFreshPorts(opts)
		if err == nil {
			break
		}
		if attempt == startAttempts || ctx.Err() != nil {
			return nil, err
		}
		opts.Logger.Warn("temporal server did not start, retrying on other ports", zap.Error(err))
		if autoPort {
			if opts.Port, err = FreePort(opts.IP); err != nil {
				return nil, err
			}
		}
	}

	s := &Server{
		server:    srv,
		frontend:  net.JoinHostPort(opts.IP, strconv.Itoa(opts.Port)),
		namespace: opts.Namespace,
	}
	if opts.UI {
		if err := s.startUI(ctx, opts); err != nil {
			return nil, errors.Join(err, s.Stop())
		}
	}
	return s, nil
}

// startAttempts bounds the starts tried on fresh internal ports.
const startAttempts = 3

// startOnFreshPorts builds and starts the server on fresh internal ports. A bind
// failure surfaces inside the server's dependency graph as a panic, which
// is returned as an error here.
func startOnFreshPorts(opts Options) (srv temporal.Server, err error) {
	defer func() {
		if r := recover(); r != nil {
			srv, err = nil, fmt.Errorf("start temporal server on %s:%d: %v", opts.IP, opts.Port, r)
		}
	}()
	ports, err := freePorts(opts.IP, 4)
	if err != nil {
		return nil, err
	}
	cfg, err := serverConfig(opts, ports)
	if err != nil {
		return nil, err
	}
	if err := prepareDatabase(cfg.Persistence.DataStores["sqlite"].SQL, opts); err != nil {
		return nil, err
	}

	// The server's warnings are about its own internals (membership,
	// shutdown dials); a dev server reports only its errors.
	logger := serverlog.NewZapLogger(opts.Logger.WithOptions(zap.IncreaseLevel(zap.ErrorLevel)).Named("temporal"))
	authorizer, err := authorization.GetAuthorizerFromConfig(&cfg.Global.Authorization)
	if err != nil {
		return nil, fmt.Errorf("create authorizer: %w", err)
	}
	claimMapper, err := authorization.GetClaimMapperFromConfig(&cfg.Global.Authorization, logger)
	if err != nil {
		return nil, fmt.Errorf("create claim mapper: %w", err)
	}
	host := func(service primitives.ServiceName) static.Hosts {
		return static.SingleLocalHost(net.JoinHostPort(opts.IP, strconv.Itoa(cfg.Services[string(service)].RPC.GRPCPort)))
	}
	srv, err = temporal.NewServer(
		temporal.WithConfig(cfg),
		temporal.ForServices(temporal.DefaultServices),
		// Static hosts instead of ringpop: a restart after a crash does not
		// wait for the dead member to age out of the ring (~55 s otherwise).
		temporal.WithStaticHosts(map[primitives.ServiceName]static.Hosts{
			primitives.FrontendService: host(primitives.FrontendService),
			primitives.HistoryService:  host(primitives.HistoryService),
			primitives.MatchingService: host(primitives.MatchingService),
			primitives.WorkerService:   host(primitives.WorkerService),
		}),
		temporal.WithLogger(logger),
		temporal.WithAuthorizer(authorizer),
		temporal.WithClaimMapper(func(*config.Config) authorization.ClaimMapper { return claimMapper }),
		temporal.WithDynamicConfigClient(dynamicConfig()),
	)
	if err != nil {
		return nil, fmt.Errorf("create temporal server: %w", err)
	}
	if err := srv.Start(); err != nil {
		return nil, fmt.Errorf("start temporal server on %s:%d: %w", opts.IP, opts.Port, err)
	}
	return srv, nil

}

// FrontendAddress is the HOST:PORT that clients and workers dial.
func (s *Server) FrontendAddress() string { return s.frontend }

// Namespace is the namespace registered at start.
func (s *Server) Namespace() string { return s.namespace }

// UIURL is the Web UI's base URL, or "" without UI.
func (s *Server) UIURL() string { return s.uiURL }

// Stop stops the UI and the server. It is safe to call more than once: a
// test stops a server early (to restart it) and again when it ends.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() {
		if s.ui != nil {
			s.ui.Stop()
		}
		if err := s.server.Stop(); err != nil {
			s.stopErr = fmt.Errorf("stop temporal server: %w", err)
		}
	})
	return s.stopErr
}

func (s *Server) startUI(ctx context.Context, opts Options) error {
	s.ui = uiserver.NewServer(uioptions.WithConfigProvider(&uiconfig.Config{
		Host:                opts.IP,
		Port:                opts.UIPort,
		TemporalGRPCAddress: s.frontend,
		EnableUI:            true,
		CORS:                uiconfig.CORS{CookieInsecure: true},
		HideLogs:            true,
		DisableNewsFetch:    true,
		DefaultNamespace:    opts.Namespace,
		Codec:               uiconfig.Codec{Endpoint: opts.CodecEndpoint},
		TLS:                 opts.TLS.uiTLS(),
	}))
	errc := make(chan error, 1)
	go func() { errc <- s.ui.Start() }()
	s.uiURL = "http://" + net.JoinHostPort(uiHost(opts.IP), strconv.Itoa(opts.UIPort))

	// Start blocks while serving, so readiness is seen from outside.
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-errc:
			return fmt.Errorf("start web UI on port %d: %w", opts.UIPort, err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		resp, err := http.Get(s.uiURL + "/")
		if err == nil {
			resp.Body.Close()
			return nil
		}
	}
	return fmt.Errorf("web UI on port %d did not answer within 10s", opts.UIPort)
}

func uiHost(ip string) string {
	if ip == "0.0.0.0" || ip == "" {
		return "localhost"
	}
	return ip
}

func serverConfig(opts Options, ports []int) (*config.Config, error) {
	frontend := net.JoinHostPort(opts.IP, strconv.Itoa(opts.Port))
	var cfg config.Config
	cfg.Global.Membership.MaxJoinDuration = 30 * time.Second
	cfg.Global.Membership.BroadcastAddress = opts.IP
	cfg.Persistence.DefaultStore = "sqlite"
	cfg.Persistence.VisibilityStore = "sqlite"
	cfg.Persistence.NumHistoryShards = 1
	cfg.Persistence.DataStores = map[string]config.DataStore{"sqlite": {SQL: sqlConfig(opts)}}
	cfg.ClusterMetadata = &cluster.Config{
		FailoverVersionIncrement: 10,
		MasterClusterName:        clusterName,
		CurrentClusterName:       clusterName,
		ClusterInformation: map[string]cluster.ClusterInformation{
			clusterName: {
				Enabled:                true,
				InitialFailoverVersion: 1,
				RPCAddress:             frontend,
				HTTPAddress:            net.JoinHostPort(opts.IP, strconv.Itoa(ports[3])),
				ClusterID:              "metronome-dev",
			},
		},
	}
	cfg.DCRedirectionPolicy.Policy = "noop"
	service := func(grpcPort, httpPort int) config.Service {
		var s config.Service
		s.RPC.GRPCPort = grpcPort
		s.RPC.HTTPPort = httpPort
		s.RPC.BindOnIP = opts.IP
		return s
	}
	cfg.Services = map[string]config.Service{
		"frontend": service(opts.Port, ports[3]),
		"history":  service(ports[0], 0),
		"matching": service(ports[1], 0),
		"worker":   service(ports[2], 0),
	}
	cfg.Archival.History.State = "disabled"
	cfg.Archival.Visibility.State = "disabled"
	cfg.NamespaceDefaults.Archival.History.State = "disabled"
	cfg.NamespaceDefaults.Archival.Visibility.State = "disabled"
	cfg.PublicClient.HostPort = frontend
	cfg.Global.TLS = opts.TLS.serverTLS()
	return &cfg, nil
}

func sqlConfig(opts Options) *config.SQL {
	c := &config.SQL{
		PluginName: sqliteplugin.PluginName,
		// One connection: more gave "database is locked" and lower
		// throughput on this workload.
		MaxConns:     1,
		MaxIdleConns: 1,
	}
	if opts.DatabaseFile == "" {
		c.ConnectAttributes = map[string]string{"mode": "memory", "cache": "shared"}
		c.DatabaseName = "metronome-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	} else {
		c.ConnectAttributes = map[string]string{"mode": "rwc"}
		c.DatabaseName = opts.DatabaseFile
	}
	// WAL with synchronous=NORMAL ran ~3x the workflows/s of the default
	// journal. The plugin takes pragmas as attributes without underscore.
	c.ConnectAttributes["journal_mode"] = "wal"
	c.ConnectAttributes["synchronous"] = "1"
	return c
}

// prepareDatabase creates the schema of a new database file and registers
// the namespace with its search attributes; both are no-ops when present.
func prepareDatabase(c *config.SQL, opts Options) error {
	if opts.DatabaseFile != "" {
		if err := os.MkdirAll(filepath.Dir(opts.DatabaseFile), 0o755); err != nil {
			return fmt.Errorf("create directory of %s: %w", opts.DatabaseFile, err)
		}
		if _, err := os.Stat(opts.DatabaseFile); errors.Is(err, os.ErrNotExist) {
			if err := sqliteschema.SetupSchema(c); err != nil {
				return fmt.Errorf("create temporal schema in %s: %w", opts.DatabaseFile, err)
			}
		}
	}
	// An in-memory database gets its schema from the sqlite plugin itself.
	ns, err := sqliteschema.NewNamespaceConfig(clusterName, opts.Namespace, false, opts.SearchAttributes)
	if err != nil {
		return fmt.Errorf("namespace %q: %w", opts.Namespace, err)
	}
	ns.Detail.Config.Retention = durationpb.New(opts.Retention)
	if err := sqliteschema.CreateNamespaces(c, ns); err != nil {
		return fmt.Errorf("register namespace %q: %w", opts.Namespace, err)
	}
	return nil
}

func dynamicConfig() dynamicconfig.StaticClient {
	dc := dynamicconfig.StaticClient{}
	// One partition per task queue doubled parallel activity throughput on
	// 2 cores against the default of 4.
	dc[dynamicconfig.MatchingNumTaskqueueReadPartitions.Key()] = 1
	dc[dynamicconfig.MatchingNumTaskqueueWritePartitions.Key()] = 1
	dc[dynamicconfig.FrontendMaxNamespaceVisibilityRPSPerInstance.Key()] = 100
	dc[dynamicconfig.HistoryCacheHostLevelMaxSize.Key()] = 8192
	// Task-queue priorities need the priority matcher (on by default in
	// server 1.32, set so it stays what docs/OPERATIONS.md asks of a
	// self-hosted server); fairness keys need fairness on.
	dc[dynamicconfig.MatchingUseNewMatcher.Key()] = true
	dc[dynamicconfig.MatchingEnableFairness.Key()] = true
	return dc
}

// FreePort returns a TCP port on ip that was free a moment ago.
func FreePort(ip string) (int, error) {
	ports, err := freePorts(ip, 1)
	if err != nil {
		return 0, err
	}
	return ports[0], nil
}

// freePorts holds n listeners open at once so the ports differ.
//
// The ports come from below the kernel's ephemeral range when it can: a
// port picked with ":0" is an ephemeral one, and between our close and the
// server's bind any outgoing connection on the machine may take it. The
// Temporal server cannot report such a lost bind for its internal services
// (their Serve runs on a nil listener and the process crashes), so the
// window matters most there.
func freePorts(ip string, n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	low := ephemeralLow()
	ports := make([]int, 0, n)
	for range n {
		l, err := listenBelow(ip, low)
		if err != nil {
			return nil, fmt.Errorf("find a free port on %s: %w", ip, err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// minPickedPort is the lowest port freePorts picks outside the ephemeral
// range: above the well-known and common service ports.
const minPickedPort = 20000

// listenBelow listens on a random free port in [minPickedPort, low), or on
// an ephemeral one when none is found in a few tries.
func listenBelow(ip string, low int) (net.Listener, error) {
	for range 20 {
		if low-minPickedPort < 1000 {
			break
		}
		port := minPickedPort + rand.IntN(low-minPickedPort)
		if l, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port))); err == nil {
			return l, nil
		}
	}
	return net.Listen("tcp", net.JoinHostPort(ip, "0"))
}

// ephemeralLow is the first port of the kernel's ephemeral range (Linux),
// or 0 when it cannot be read, which makes listenBelow use ":0".
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 0
	}
	fields := strings.Fields(string(b))
	if len(fields) != 2 {
		return 0
	}
	low, err := strconv.Atoi(fields[0])
	if err != nil {
		return 0
	}
	return low
}
