// Package contract is what metronome's workflows and activities exchange:
// the activities' inputs and results, the names the workflows call them by,
// the error types of their failures, the kinds of a run, the states of an
// on-demand request and the few lake keys both sides name.
//
// It is a leaf: it imports only the standard library and the Temporal SDK,
// so that package workflows, which depends on it instead of on package
// activities, links no storage, cloud or Slack code (workflows/deps_test.go
// checks that). Everything here travels through workflow history as JSON:
// a field's JSON name is part of recorded histories and never changes.
//
// Types that mirror a backend package's (a spotify mode, a serving request
// state, curate's report) are plain values here; package activities
// converts, and its tests check the values agree.
package contract
