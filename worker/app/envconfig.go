package app

import (
	"crypto/tls"
	"fmt"
	"sync"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/contrib/envconfig"
	"go.uber.org/zap"

	"github.com/metronome-data/metronome/config"
)

// connectionOptions are the SDK client options of the connection to
// Temporal that t describes (address, namespace, API key, TLS, headers,
// authority), built by Temporal's own client configuration package so
// that they mean what they mean to the Temporal CLI and every SDK.
// remoteCodec adds t's codec server as the data converter.
func connectionOptions(t config.TemporalConfig, remoteCodec bool) (client.Options, error) {
	profile := clientProfile(t)
	opts, err := profile.ToClientOptions(envconfig.ToClientOptionsRequest{IncludeRemoteCodec: remoteCodec})
	if err != nil {
		return opts, fmt.Errorf("temporal.tls (cert %s, key %s, CA %s): %w",
			source(t.TLS.CertFile, t.TLS.CertData), source(t.TLS.KeyFile, t.TLS.KeyData), source(t.TLS.CAFile, t.TLS.CAData), err)
	}
	if opts.ConnectionOptions.TLS != nil {
		opts.ConnectionOptions.TLS.MinVersion = tls.VersionTLS12
	}
	return opts, nil
}

// source names where a TLS file comes from, for errors: never PEM text.
func source(file, data string) string {
	switch {
	case file != "" && data != "":
		return fmt.Sprintf("%q and PEM data", file)
	case file != "":
		return fmt.Sprintf("%q", file)
	case data != "":
		return "PEM data"
	}
	return "none"
}

// clientProfile is t as a profile of Temporal's client configuration.
func clientProfile(t config.TemporalConfig) envconfig.ClientConfigProfile {
	p := envconfig.ClientConfigProfile{
		Address:   t.Address,
		Namespace: t.Namespace,
		APIKey:    t.APIKey,
		Authority: t.Authority,
		GRPCMeta:  t.GRPCMeta,
	}
	if len(p.GRPCMeta) == 0 {
		p.GRPCMeta = nil
	}
	if t.Codec.Endpoint != "" {
		p.Codec = &envconfig.ClientConfigCodec{Endpoint: t.Codec.Endpoint, Auth: t.Codec.Auth}
	}
	c := t.TLS
	switch {
	case c.Disabled:
		p.TLS = &envconfig.ClientConfigTLS{Disabled: true}
	case c.Enabled || c.CertFile != "" || c.CertData != "" || c.KeyFile != "" || c.KeyData != "" ||
		c.CAFile != "" || c.CAData != "" || c.ServerName != "" || c.DisableHostVerification:
		// Without a TLS table an API key still turns TLS on (envconfig).
		p.TLS = &envconfig.ClientConfigTLS{
			ClientCertPath:          c.CertFile,
			ClientCertData:          []byte(c.CertData),
			ClientKeyPath:           c.KeyFile,
			ClientKeyData:           []byte(c.KeyData),
			ServerCACertPath:        c.CAFile,
			ServerCACertData:        []byte(c.CAData),
			ServerName:              c.ServerName,
			DisableHostVerification: c.DisableHostVerification,
		}
	}
	return p
}

// loggedNotices are the deprecation notices this process logged.
var loggedNotices sync.Map

// logDeprecations logs each notice once per process, however many clients
// the process makes.
func logDeprecations(logger *zap.Logger, notices []string) {
	for _, n := range notices {
		if _, seen := loggedNotices.LoadOrStore(n, true); !seen {
			logger.Warn(n)
		}
	}
}
