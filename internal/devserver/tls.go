package devserver

import (
	uiconfig "github.com/temporalio/ui-server/v2/server/config"
	"go.temporal.io/server/common/config"
)

// TLS serves the frontend (gRPC and HTTP) over TLS, for tests of clients
// that connect with TLS or mTLS. One CA signs the server's certificate and
// the clients'.
type TLS struct {
	// CertFile and KeyFile are the frontend's certificate and key (PEM),
	// naming the server's IP. The server's own system worker and Web UI
	// present the same certificate when they connect to the frontend, so
	// under RequireClientCert it needs the client-auth usage too.
	CertFile, KeyFile string
	// CAFile is the CA (PEM) that signed CertFile and the clients'
	// certificates.
	CAFile string
	// RequireClientCert refuses clients without a certificate CAFile
	// signed: mutual TLS.
	RequireClientCert bool
}

// serverTLS is the server's TLS configuration: the frontend listens with
// TLS and its system worker connects to it as a TLS client. Internode
// traffic stays plain: it never leaves the process's loopback.
func (t *TLS) serverTLS() config.RootTLS {
	if t == nil {
		return config.RootTLS{}
	}
	server := config.ServerTLS{CertFile: t.CertFile, KeyFile: t.KeyFile, RequireClientAuth: t.RequireClientCert}
	if t.RequireClientCert {
		server.ClientCAFiles = []string{t.CAFile}
	}
	return config.RootTLS{
		Frontend: config.GroupTLS{Server: server},
		SystemWorker: config.WorkerTLS{
			CertFile: t.CertFile, KeyFile: t.KeyFile,
			Client: config.ClientTLS{RootCAFiles: []string{t.CAFile}},
		},
	}
}

// uiTLS is how the Web UI server connects to a TLS frontend.
func (t *TLS) uiTLS() uiconfig.TLS {
	if t == nil {
		return uiconfig.TLS{}
	}
	return uiconfig.TLS{CaFile: t.CAFile, CertFile: t.CertFile, KeyFile: t.KeyFile, EnableHostVerification: true}
}
