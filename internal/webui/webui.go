// Package webui builds links into the Temporal Web UI.
package webui

import (
	"fmt"
	"net/url"
	"strings"
)

// RunURL is the page of one workflow run (its event history) in the Web UI
// at base, such as http://localhost:8233.
func RunURL(base, namespace, workflowID, runID string) string {
	return fmt.Sprintf("%s/namespaces/%s/workflows/%s/%s/history", strings.TrimSuffix(base, "/"),
		url.PathEscape(namespace), url.PathEscape(workflowID), url.PathEscape(runID))
}

// WorkflowsURL is the list of workflows of namespace.
func WorkflowsURL(base, namespace string) string {
	return fmt.Sprintf("%s/namespaces/%s/workflows", strings.TrimSuffix(base, "/"), url.PathEscape(namespace))
}
