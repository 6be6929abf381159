package activities

import (
	"reflect"
	"slices"
	"testing"

	"github.com/metronome-data/metronome/internal/contract"
	"github.com/metronome-data/metronome/internal/serving"
	"github.com/metronome-data/metronome/internal/spotify"
)

// TestContractActivityNamesAreTheRegisteredOnes: Register registers every
// exported method of *Activities under its method name, and the workflows
// call them by contract's names, so the two lists must be the same.
func TestContractActivityNamesAreTheRegisteredOnes(t *testing.T) {
	typ := reflect.TypeOf(&Activities{})
	var methods []string
	for i := range typ.NumMethod() {
		methods = append(methods, typ.Method(i).Name)
	}
	names := slices.Clone(contract.ActivityNames)
	slices.Sort(methods)
	slices.Sort(names)
	if !slices.Equal(methods, names) {
		t.Errorf("the methods of *Activities are not contract.ActivityNames:\nmethods: %v\ncontract: %v", methods, names)
	}
}

// TestContractMirrorsAgree: contract keeps the values of backend types as
// plain strings so workflows need not link the backend; they must stay the
// values the backend uses.
func TestContractMirrorsAgree(t *testing.T) {
	tests := []struct {
		name, contract, backend string
	}{
		{"RequestPending", contract.RequestPending, string(serving.RequestPending)},
		{"RequestCollecting", contract.RequestCollecting, string(serving.RequestCollecting)},
		{"RequestStored", contract.RequestStored, string(serving.RequestStored)},
		{"RequestNotFound", contract.RequestNotFound, string(serving.RequestNotFound)},
		{"RequestFailed", contract.RequestFailed, string(serving.RequestFailed)},
		{"ModeExtended", contract.ModeExtended, string(spotify.ModeExtended)},
		{"ModeDevelopment", contract.ModeDevelopment, string(spotify.ModeDevelopment)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.contract != tt.backend {
				t.Errorf("contract.%s = %q, the backend's is %q", tt.name, tt.contract, tt.backend)
			}
		})
	}
}
